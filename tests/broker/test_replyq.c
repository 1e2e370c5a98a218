/* A producer whose reply queue is deleted under it (rabbitmqctl
 * delete_queue) while a task is pending. The broker cancels the reply
 * consumer (basic.cancel); the producer must notice, declare the queue
 * again and consume again. The results pending at the cancel may have
 * had their replies dropped while the queue was gone, so they fail with
 * CEL_ECONN at once (a wait with no limit must not hang), and a task sent
 * after the deletion gets its value as usual. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/support.h"

#include <cel/clock.h>
#include <cel/id.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void
delete_queue(const char *name)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "%s/scripts/broker ctl delete_queue '%s' >/dev/null",
             CEL_SOURCE_DIR, name);
    CHECK(system(cmd) == 0);
}

/* Is name a queue the broker knows, with one consumer? */
static bool
consumed_once(const char *name)
{
    char cmd[1024], line[512], want[CEL_ID_SIZE + 8];
    bool found = false;

    snprintf(cmd, sizeof(cmd),
             "%s/scripts/broker ctl list_queues name "
             "consumers",
             CEL_SOURCE_DIR);
    snprintf(want, sizeof(want), "%s\t1\n", name);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f) != NULL) {
        found = found || strcmp(line, want) == 0;
    }
    pclose(f);
    return found;
}

static void
count_lost(cel_result_t *r, void *arg)
{
    CHECK_EQ_INT(cel_result_state(r), CEL_STATE_PENDING);
    ++*(int *)arg;
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_client_t *client;
    char queue[80], replyq[CEL_ID_SIZE], after_q[CEL_ID_SIZE];
    const json_t *v;

    test_unique_name("test-replyq", queue, sizeof(queue));
    /* One child for the slow task, one for the work after the deletion. */
    static const char *const extra[] = {"--prefetch-multiplier", "1", NULL};
    pid_t w = test_workerd_start(queue, 3, NULL, extra);
    co.queue = queue;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &client, &err));
    cel_result_t *quick = add_delay(client, 1, 2);
    CHECK_OK(cel_result_get(quick, 20000, &v, &err));

    int lost_callbacks = 0;
    cel_opts_t o = CEL_OPTS_INIT;
    o.error_callback = count_lost;
    o.callback_arg = &lost_callbacks;
    cel_result_t *slow = slow_sum_apply_async(client, &o, 8.0, 1, 2);
    CHECK(slow != NULL);
    cel_client_reply_queue(client, replyq, sizeof(replyq));
    CHECK_EQ_INT(strlen(replyq), CEL_ID_SIZE - 1);
    delete_queue(replyq);

    /* No limit: the wait must end by itself, with the reason. */
    int64_t t0 = cel_clock_now_ms();
    int rc = cel_result_get(slow, -1, &v, &err);
    fprintf(stderr, "get after the deletion: %d (%s) in %lld ms\n", rc,
            err.text, (long long)(cel_clock_now_ms() - t0));
    CHECK_EQ_INT(rc, CEL_ECONN);
    CHECK_CONTAINS(err.text, replyq);
    CHECK_CONTAINS(err.text, "was deleted while task");
    CHECK_CONTAINS(err.text, cel_result_id(slow));
    CHECK_EQ_INT(lost_callbacks, 1);
    CHECK_EQ_INT(cel_client_join(client, 20000, &err), CEL_ECONN);
    CHECK_CONTAINS(err.text, "1 result(s)");
    CHECK_CONTAINS(err.text, "reply queue");

    /* The queue is back under the same name, consumed again, and a task
     * sent now gets its value. */
    cel_client_reply_queue(client, after_q, sizeof(after_q));
    CHECK_STR_EQ(after_q, replyq);
    CHECK(consumed_once(replyq));
    cel_result_t *after = add_delay(client, 20, 22);
    CHECK(after != NULL);
    CHECK_OK(cel_result_get(after, 20000, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 42);
    cel_result_free(after);
    CHECK_OK(cel_client_join(client, 20000, &err));

    /* Once more, with the client idle: the next call notices. */
    delete_queue(replyq);
    json_t *args = json_pack("[ii]", 2, 3), *sum;
    CHECK_OK(cel_apply(client, "add", args, NULL, NULL, 20000, &sum, &err));
    CHECK_EQ_INT(json_integer_value(sum), 5);
    json_decref(sum);
    json_decref(args);

    cel_result_free(slow);
    cel_result_free(quick);
    cel_client_close(client);
    CHECK(test_workerd_stop(w, SIGQUIT, 15000) != -1);
    delete_queue(queue); /* the slow task went back to it */
    puts("ok");
    return 0;
}
