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

#include "../examples/tasks.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The master's voluntary context switches so far (its wake-ups). */
static long
wakeups(pid_t pid)
{
    char path[64], line[128];
    long n = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0) {
            n = atol(line + 24);
        }
    }
    fclose(f);
    return n;
}

/* An idle worker's master sleeps until a signal: no tick. (A fixed 50 ms
 * tick made 40 wake-ups in these 2 s.) */
static void
test_idle_master(void)
{
    test_worker_t w;

    test_worker_open(&w, "test-idle", 2, false, NULL);
    test_expect_int(add_delay(w.client, 1, 1), 2, WAIT_MS);
    cel_clock_sleep_ms(300, NULL); /* past the "ready" polling */
    long before = wakeups(w.pid);
    cel_clock_sleep_ms(2000, NULL);
    long woke = wakeups(w.pid) - before;
    printf("idle master: %ld wake-ups in 2 s\n", woke);
    CHECK(woke <= 4);
    /* A hard limit still comes on time: the child wakes the master. */
    cel_opts_t o = CEL_OPTS_INIT;
    o.time_limit = 0.5;
    cel_result_t *r = slow_sum_apply_async(w.client, &o, 20.0, 1, 1);
    const json_t *v;
    cel_error_t err = CEL_ERROR_INIT;
    CHECK_EQ_INT(cel_result_get(r, WAIT_MS, &v, &err), CEL_ETASK);
    CHECK_STR_EQ(cel_result_exc_type(r), "TimeLimitExceeded");
    cel_result_free(r);
    test_worker_close(&w);
}

/* --shutdown-timeout: a warm shutdown that outlasts it turns cold. */
static void
test_shutdown_timeout(void)
{
    static const char *const extra[] = {"--shutdown-timeout", "1", NULL};
    test_worker_t w;

    test_worker_open(&w, "test-grace", 1, false, extra);
    cel_result_t *slow = slow_sum_delay(w.client, 60.0, 1, 1);
    CHECK(slow != NULL);
    cel_clock_sleep_ms(500, NULL); /* it runs */
    int64_t t0 = cel_clock_now_ms();
    int status = test_workerd_stop(w.pid, SIGTERM, 20000);
    int64_t took = cel_clock_now_ms() - t0;
    printf("warm shutdown with a 60 s task and --shutdown-timeout 1: done "
           "in %lld ms\n",
           (long long)took);
    CHECK(status != -1 && WIFEXITED(status));
    CHECK(took < 15000); /* not the task's 60 s */
    cel_result_free(slow);
    cel_client_close(w.client);
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
    test_idle_master();
    test_shutdown_timeout();
    puts("ok");
    return 0;
}
