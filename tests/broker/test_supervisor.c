/* The master's supervision: a child that dies is replaced (and its task
 * reported as WorkerLostError, not run again), SIGTERM is a warm shutdown
 * that finishes running tasks and loses none of the prefetched ones, and a
 * second signal is a cold shutdown whose unfinished tasks another worker
 * completes. */
#include <cel/clock.h>
#include <cel/producer.h>

#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <signal.h>
#include <unistd.h>

#define WAIT_MS 30000

static cel_client_t *client;
static char queue[80];

static cel_result_t *
send_call(const char *name, const char *args)
{
    cel_opts_t o = CEL_OPTS_INIT;
    json_t *a = json_loads(args, 0, NULL);

    o.queue = queue;
    cel_result_t *r = cel_apply_async(client, name, a, NULL, &o);
    CHECK(r != NULL);
    json_decref(a);
    return r;
}

static void
wait_children(pid_t master, int want)
{
    int64_t deadline = cel_clock_now_ms() + 10000;
    int n;

    while ((n = test_count_children(master)) != want &&
           cel_clock_now_ms() < deadline) {
        cel_clock_sleep_ms(50, NULL);
    }
    CHECK_EQ_INT(n, want);
}

/* crash() SIGKILLs its child: the caller gets WorkerLostError, the master
 * replaces the child, and the other tasks all complete. */
static void
test_crash(pid_t w)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;
    cel_result_t *adds[20];

    wait_children(w, 4);
    cel_result_t *r = send_call("crash", "[]");
    for (int i = 0; i < 20; i++) {
        char args[32];
        snprintf(args, sizeof(args), "[%d, 1]", i);
        adds[i] = send_call("add", args);
    }
    CHECK_EQ_INT(cel_result_get(r, WAIT_MS, &v, &err), CEL_ETASK);
    CHECK_STR_EQ(cel_result_exc_type(r), "WorkerLostError");
    CHECK_CONTAINS(cel_result_exc_message(r), "Worker exited prematurely");
    cel_result_free(r);
    for (int i = 0; i < 20; i++) {
        test_expect_int(adds[i], i + 1, WAIT_MS);
    }
    wait_children(w, 4);
}

/* A child killed from outside mid-task: the same, for a task that would
 * have succeeded. */
static void
test_killed_child(pid_t w)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;

    cel_result_t *r = send_call("fun", "[1]");
    CHECK_OK(cel_result_get(r, WAIT_MS, &v, &err));
    pid_t victim = (pid_t)json_integer_value(json_array_get(v, 2));
    cel_result_free(r);
    /* Keep every child busy long enough for the kill to land mid-task. */
    cel_result_t *slow[4];
    for (int i = 0; i < 4; i++) {
        slow[i] = send_call("slow_sum", "[1.0, 2, 3]");
    }
    cel_clock_sleep_ms(300, NULL);
    CHECK_EQ_INT(kill(victim, SIGKILL), 0);
    int lost = 0;
    for (int i = 0; i < 4; i++) {
        int rc = cel_result_get(slow[i], WAIT_MS, &v, &err);
        if (rc == CEL_ETASK) {
            CHECK_STR_EQ(cel_result_exc_type(slow[i]), "WorkerLostError");
            lost++;
        } else {
            CHECK_OK(rc);
            CHECK_EQ_INT(json_integer_value(v), 5);
        }
        cel_result_free(slow[i]);
    }
    CHECK_EQ_INT(lost, 1);
    wait_children(w, 4);
}

/* SIGTERM while tasks run: they finish and report; the ones not started
 * stay queued and a second worker runs them. Exit code 0. */
static void
test_warm_shutdown(pid_t w)
{
    cel_result_t *rs[16];

    for (int i = 0; i < 16; i++) {
        char args[48];
        snprintf(args, sizeof(args), "[0.6, %d, 100]", i);
        rs[i] = send_call("slow_sum", args);
    }
    cel_clock_sleep_ms(300, NULL); /* four are running, the rest wait */
    int status = test_workerd_stop(w, SIGTERM, 15000);
    CHECK(status != -1);
    CHECK(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 0);
    pid_t w2 = test_workerd_start(queue, 2, NULL, NULL);
    for (int i = 0; i < 16; i++) {
        test_expect_int(rs[i], i + 100, WAIT_MS);
    }
    /* Cold shutdown: a second signal ends it at once; the task it was
     * running goes back to the queue and a third worker finishes it. */
    cel_result_t *slow = send_call("slow_sum", "[3.0, 1, 1]");
    cel_clock_sleep_ms(300, NULL);
    kill(w2, SIGTERM);
    cel_clock_sleep_ms(100, NULL);
    int64_t t0 = cel_clock_now_ms();
    status = test_workerd_stop(w2, SIGTERM, 15000);
    CHECK(status != -1 && WIFEXITED(status));
    CHECK(cel_clock_now_ms() - t0 < 2000);
    pid_t w3 = test_workerd_start(queue, 1, NULL, NULL);
    test_expect_int(slow, 2, WAIT_MS);
    status = test_workerd_stop(w3, SIGTERM, 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;

    test_unique_name("test-supervisor", queue, sizeof(queue));
    co.queue = queue;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &client, &err));
    /* One unacked message per child, so four slow tasks occupy all four. */
    static const char *const extra[] = {"--prefetch-multiplier", "1", NULL};
    pid_t w = test_workerd_start(queue, 4, NULL, extra);
    test_crash(w);
    test_killed_child(w);
    test_warm_shutdown(w);
    cel_client_close(client);
    puts("ok");
    return 0;
}
