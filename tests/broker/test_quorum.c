/* Quorum queues (--queue-type quorum, cel_client_opts_t.queue_type). The
 * task queue is declared with x-queue-type quorum (and x-delivery-limit
 * when asked), and everything workerd does with a classic queue works on
 * it: plain tasks, eta tasks (held unacked; per-consumer prefetch only,
 * as quorum queues have no global QoS), retries (sent again to the same
 * queue), and the hand-back (basic.reject with requeue). A quorum queue
 * that exists already (declared by a Celery 5.5 app, say) serves a
 * workerd left at the classic default as it is. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <stdio.h>
#include <string.h>

#define WAIT_MS 30000

static cel_client_t *
quorum_client(const char *queue, int delivery_limit)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_t *c;

    co.queue = queue;
    co.broker_url = test_broker_url();
    co.queue_type = "quorum";
    co.delivery_limit = delivery_limit;
    CHECK_OK(cel_client_open(&co, &c, &err));
    return c;
}

static void
test_worker_on_quorum(void)
{
    static const char *const opts[] = {"--queue-type", "quorum",
                                       "--delivery-limit", "5", NULL};
    test_worker_t w;
    cel_opts_t o = CEL_OPTS_INIT;
    char line[1024];

    test_worker_open(&w, "quorum", 2, false, opts);
    cel_client_close(w.client); /* one that declares the queue alike */
    w.client = quorum_client(w.queue, 5);
    test_expect_int(add_delay(w.client, 1, 2), 3, WAIT_MS);
    test_queue_info(w.queue, "type arguments", line, sizeof(line));
    CHECK_CONTAINS(line, "quorum");
    CHECK_CONTAINS(line, "x-delivery-limit");

    o.countdown = 0.5;
    cel_result_t *eta = add_apply_async(w.client, &o, 4, 5);
    test_expect_int(flaky_delay(w.client, 2, 5), 2, WAIT_MS); /* 2 retries */
    test_expect_int(eta, 9, WAIT_MS);

    /* The hand-back requeues into the quorum queue. */
    cel_result_t *slow = slow_sum_delay(w.client, 2.0, 1, 1);
    cel_result_t *quick[8];
    for (int i = 0; i < 8; i++) {
        quick[i] = add_delay(w.client, i, i);
    }
    for (int i = 0; i < 8; i++) {
        test_expect_int(quick[i], 2 * i, WAIT_MS);
    }
    test_expect_int(slow, 2, WAIT_MS);
    test_worker_close(&w);
}

static void
test_existing_quorum_queue(void)
{
    char queue[96], line[1024];
    cel_error_t err = CEL_ERROR_INIT;

    test_unique_name("quorum-given", queue, sizeof(queue));
    cel_client_t *c = quorum_client(queue, 0);
    cel_result_t *r = add_delay(c, 20, 22); /* declares it, quorum */
    CHECK(r != NULL);
    test_queue_info(queue, "type arguments", line, sizeof(line));
    CHECK_CONTAINS(line, "quorum");
    pid_t w = test_workerd_start(queue, 1, NULL, NULL); /* classic default */
    test_expect_int(r, 42, WAIT_MS);
    CHECK_OK(cel_client_join(c, WAIT_MS, &err));
    cel_client_close(c);
    CHECK(test_workerd_stop(w, SIGTERM, 20000) != -1);
}

int
main(void)
{
    test_worker_on_quorum();
    test_existing_quorum_queue();
    puts("ok");
    return 0;
}
