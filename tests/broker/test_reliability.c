/* workerd's delivery options against a real broker: expired tasks are
 * revoked unrun, countdown tasks are held without blocking the child,
 * retries with backoff and their limit, soft and hard time limits (from
 * the message), --max-tasks-per-child and --max-memory-per-child recycle
 * children without losing tasks, --acks-early still reports a task whose
 * child died, and --reject-on-worker-lost runs a lost task again, but not
 * forever. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <cel/clock.h>

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#define WAIT_MS 30000

static cel_result_t *
wait_ready(cel_result_t *r)
{
    cel_error_t err = CEL_ERROR_INIT;

    CHECK(r != NULL);
    CHECK_OK(cel_result_wait(r, WAIT_MS, &err));
    return r;
}

static void
check_failure(cel_result_t *r, cel_state_t state, const char *type,
              const char *message)
{
    wait_ready(r);
    CHECK_EQ_INT(cel_result_state(r), state);
    CHECK_STR_EQ(cel_result_exc_type(r), type);
    CHECK_CONTAINS(cel_result_exc_message(r), message);
    cel_result_free(r);
}

static void
test_timing(void)
{
    test_worker_t w;
    cel_opts_t o = CEL_OPTS_INIT;

    test_worker_open(&w, "test-rel-timing", 1, false, NULL);
    /* Expired before it is read: REVOKED, never run. */
    o.expires_at = (double)cel_clock_wall_us() / 1e6 - 5;
    check_failure(add_apply_async(w.client, &o, 1, 1), CEL_STATE_REVOKED,
                  "TaskRevokedError", "expired");

    /* A countdown task is held; tasks sent after it run first, on the
     * same single child. */
    o = (cel_opts_t)CEL_OPTS_INIT;
    o.countdown = 1.5;
    int64_t t0 = cel_clock_now_ms();
    cel_result_t *later = add_apply_async(w.client, &o, 2, 2);
    cel_result_t *now = add_delay(w.client, 3, 3);
    test_expect_int(now, 6, WAIT_MS);
    CHECK(!cel_result_ready(later));
    CHECK(cel_clock_now_ms() - t0 < 1400);
    test_expect_int(later, 4, WAIT_MS);
    CHECK(cel_clock_now_ms() - t0 >= 1400);

    /* Retries with backoff: two failures, then the value. */
    cel_result_t *r = flaky_delay(w.client, 2, 5);
    test_expect_int(r, 2, WAIT_MS);
    /* More failures than retries allowed: the task's own exception. */
    check_failure(flaky_delay(w.client, 5, 2), CEL_STATE_FAILURE,
                  "ConnectionError", "attempt 3 failed");

    /* Soft limit from the message: the task notices and cleans up. */
    o = (cel_opts_t)CEL_OPTS_INIT;
    o.soft_time_limit = 0.3;
    t0 = cel_clock_now_ms();
    check_failure(sleepy_apply_async(w.client, &o, 20.0), CEL_STATE_FAILURE,
                  "SoftTimeLimitExceeded", "cleaned up");
    CHECK(cel_clock_now_ms() - t0 < 10000);

    /* Hard limit from the message: the child is killed, the task fails
     * with TimeLimitExceeded, the child is replaced and work goes on. */
    o = (cel_opts_t)CEL_OPTS_INIT;
    o.time_limit = 0.5;
    t0 = cel_clock_now_ms();
    check_failure(slow_sum_apply_async(w.client, &o, 20.0, 1, 1),
                  CEL_STATE_FAILURE, "TimeLimitExceeded", "Time limit");
    CHECK(cel_clock_now_ms() - t0 < 15000);
    test_expect_int(add_delay(w.client, 4, 4), 8, WAIT_MS);
    CHECK_EQ_INT(test_count_children(w.pid), 1);
    test_worker_close(&w);
}

static void
test_recycling(void)
{
    const char *per_tasks[] = {"--max-tasks-per-child", "5", NULL};
    const char *per_memory[] = {"--max-memory-per-child", "30000", NULL};
    test_worker_t w;
    cel_result_t *rs[30];
    int pids[30], distinct = 0;

    test_worker_open(&w, "test-rel-tasks", 1, false, per_tasks);
    for (int i = 0; i < 30; i++) {
        rs[i] = fun_delay(w.client, i);
    }
    for (int i = 0; i < 30; i++) {
        const json_t *v;
        cel_error_t err = CEL_ERROR_INIT;
        CHECK_OK(cel_result_get(rs[i], WAIT_MS, &v, &err));
        CHECK_EQ_INT(json_integer_value(json_array_get(v, 1)), i * i);
        pids[i] = (int)json_integer_value(json_array_get(v, 2));
        distinct += i == 0 || pids[i] != pids[i - 1];
        cel_result_free(rs[i]);
    }
    CHECK(distinct >= 6); /* a new child every 5 tasks, none lost */
    test_worker_close(&w);

    test_worker_open(&w, "test-rel-memory", 1, false, per_memory);
    const json_t *v;
    cel_error_t err = CEL_ERROR_INIT;
    cel_result_t *big = hog_delay(w.client, 64);
    CHECK_OK(cel_result_get(big, WAIT_MS, &v, &err));
    long long hog_pid = json_integer_value(v);
    cel_result_t *next = fun_delay(w.client, 2);
    CHECK_OK(cel_result_get(next, WAIT_MS, &v, &err));
    CHECK(json_integer_value(json_array_get(v, 2)) != hog_pid);
    cel_result_free(big);
    cel_result_free(next);
    test_worker_close(&w);
}

static void
test_lost(void)
{
    const char *early[] = {"--acks-early", NULL};
    const char *rerun[] = {"--reject-on-worker-lost", NULL};
    char marker[128];
    test_worker_t w;

    /* Acked before it ran, so no redelivery: the next child reports it. */
    test_worker_open(&w, "test-rel-early", 1, false, early);
    check_failure(crash_delay(w.client), CEL_STATE_FAILURE, "WorkerLostError",
                  "signal 9");
    test_expect_int(add_delay(w.client, 5, 5), 10, WAIT_MS);
    test_worker_close(&w);

    /* Run again after its child died; a task that always kills its child
     * is given up after a few runs. */
    test_worker_open(&w, "test-rel-rerun", 1, false, rerun);
    snprintf(marker, sizeof(marker), "/tmp/celeriac-crash-once-%d",
             (int)getpid());
    unlink(marker);
    cel_result_t *r = wait_ready(crash_once_delay(w.client, marker));
    CHECK(cel_result_successful(r));
    cel_result_free(r);
    unlink(marker);
    check_failure(crash_delay(w.client), CEL_STATE_FAILURE, "WorkerLostError",
                  "signal 9");
    test_expect_int(add_delay(w.client, 6, 6), 12, WAIT_MS);
    test_worker_close(&w);
}

int
main(void)
{
    test_timing();
    test_recycling();
    test_lost();
    puts("ok");
    return 0;
}
