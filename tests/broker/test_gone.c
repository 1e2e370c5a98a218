/* A task queue deleted under a running workerd (rabbitmqctl delete_queue;
 * in a cluster, what consumers see when the node holding a classic queue
 * dies). The broker cancels every consumer of the queue (basic.cancel);
 * each child must log it, declare the queue again and consume it on the
 * same connection, so the next task is served at once:
 * - with the worker idle;
 * - while a child runs a long task (its watcher has stopped its consumers
 *   by then): that task's result still arrives, and the queue is back
 *   when it ends.
 * The test orders events by the broker's own queue listing and workerd's
 * log, never by timing. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <cel/clock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 30000

/* How many consumers queue name has; -1 when the broker has no such
 * queue. */
static int
consumers_of(const char *name)
{
    char line[512];

    test_queue_info(name, "consumers", line, sizeof(line));
    return line[0] ? atoi(line + strlen(name) + 1) : -1;
}

static void
wait_consumers(const char *name, int want)
{
    int64_t deadline = cel_clock_now_ms() + WAIT_MS;

    while (consumers_of(name) != want) {
        if (cel_clock_now_ms() > deadline) {
            CHECK_FAIL_("queue %s never had %d consumers again", name, want);
        }
        cel_clock_sleep_ms(100, NULL);
    }
}

static void
wait_log(const char *log, const char *needle, int count)
{
    int64_t deadline = cel_clock_now_ms() + WAIT_MS;

    while (test_file_count(log, needle) < count) {
        if (cel_clock_now_ms() > deadline) {
            CHECK_FAIL_("workerd never logged \"%s\" %d times", needle, count);
        }
        cel_clock_sleep_ms(20, NULL);
    }
}

int
main(void)
{
    static const char *const info[] = {"-l", "info", NULL};
    test_worker_t w;

    test_worker_open(&w, "gone", 2, true, info);
    test_expect_int(add_delay(w.client, 1, 2), 3, WAIT_MS);
    wait_consumers(w.queue, 2);

    /* Idle: both children see the cancel, declare the queue again and
     * consume it, each on the connection it had. */
    CHECK_EQ_INT(test_broker_ctl("delete_queue '%s'", w.queue), 0);
    wait_consumers(w.queue, 2);
    wait_log(w.log, "the broker cancelled consumer", 2);
    CHECK_EQ_INT(test_file_count(w.log, "connected; consuming"), 2);
    test_expect_int(add_delay(w.client, 2, 3), 5, WAIT_MS);

    /* While a long task runs: its result still arrives. */
    cel_result_t *slow = slow_sum_delay(w.client, 1.5, 1, 1);
    CHECK(slow != NULL);
    wait_log(w.log, "Task slow_sum[", 1);
    CHECK_EQ_INT(test_broker_ctl("delete_queue '%s'", w.queue), 0);
    test_expect_int(slow, 2, WAIT_MS);
    wait_consumers(w.queue, 2);
    test_expect_int(add_delay(w.client, 3, 4), 7, WAIT_MS);
    CHECK_EQ_INT(test_file_count(w.log, "connected; consuming"), 2);
    test_worker_close(&w);
    puts("ok");
    return 0;
}
