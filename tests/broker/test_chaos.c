/* Killing things with tasks in flight loses nothing.
 *
 * Chaos: 20,000 tasks through `workerd -c 4 --reject-on-worker-lost` while
 * a killer process SIGKILLs a random child every 150-450 ms. Every task's
 * result must arrive exactly once with the right value, and the children
 * must be back to 4 at the end.
 *
 * Failover: two workerd share a queue; one is killed with SIGKILL (master
 * and, through their death signal, its children) in the middle of a run.
 * The broker redelivers what it had taken, the other finishes it, and
 * every result arrives. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <cel/clock.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHAOS_N 20000

static unsigned char seen[CHAOS_N];
static int wrong, failed;

static void
on_ok(cel_result_t *r, void *arg)
{
    intptr_t i = (intptr_t)arg;

    seen[i]++;
    wrong += json_integer_value(cel_result_value(r)) != (json_int_t)i + 1;
}

static void
on_fail(cel_result_t *r, void *arg)
{
    (void)arg;
    failed++;
    fprintf(stderr, "task %s: %s: %s\n", cel_result_id(r),
            cel_result_exc_type(r) ? cel_result_exc_type(r) : "(lost)",
            cel_result_exc_message(r) ? cel_result_exc_message(r) : "");
}

/* Runs until killed: SIGKILLs a random child of w every 150-450 ms and
 * counts the kills in the exit code's place, a pipe. */
static pid_t
start_killer(pid_t w, int fd)
{
    pid_t k = fork();
    CHECK(k >= 0);
    if (k > 0) {
        return k;
    }
    srand((unsigned)getpid());
    for (;;) {
        pid_t pids[16];
        (void)cel_clock_sleep_ms(150 + rand() % 300, NULL);
        int n = test_child_pids(w, pids, 16);
        if (n > 0 && kill(pids[rand() % (n < 16 ? n : 16)], SIGKILL) == 0) {
            char one = 1;
            if (write(fd, &one, 1) != 1) {
                _exit(1);
            }
        }
    }
}

static void
send_all(cel_client_t *c, int n)
{
    cel_opts_t o = CEL_OPTS_INIT;

    o.callback = on_ok;
    o.error_callback = on_fail;
    for (intptr_t i = 0; i < n; i++) {
        o.callback_arg = (void *)i;
        cel_result_t *r = add_apply_async(c, &o, (int64_t)i, 1);
        if (r == NULL) {
            CHECK_FAIL_("send %ld: %s", (long)i, cel_client_error(c));
        }
        cel_result_free(r);
    }
}

static void
check_all(int n)
{
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(failed, 0);
    for (int i = 0; i < n; i++) {
        if (seen[i] != 1) {
            CHECK_FAIL_("task %d: %d results, want 1", i, seen[i]);
        }
    }
}

static void
test_chaos(void)
{
    static const char *const extra[] = {"--reject-on-worker-lost", NULL};
    cel_error_t err = CEL_ERROR_INIT;
    char queue[80];
    int fds[2];

    test_unique_name("test-chaos", queue, sizeof(queue));
    cel_client_t *c = test_client_open(queue);
    pid_t w = test_workerd_start(queue, 4, NULL, extra);
    CHECK(pipe(fds) == 0);
    pid_t killer = start_killer(w, fds[1]);
    send_all(c, CHAOS_N);
    CHECK_OK(cel_client_join(c, 600000, &err));
    kill(killer, SIGKILL);
    waitpid(killer, NULL, 0);
    close(fds[1]);
    char buf[4096];
    ssize_t kills = 0, got;
    while ((got = read(fds[0], buf, sizeof(buf))) > 0) {
        kills += got;
    }
    close(fds[0]);
    check_all(CHAOS_N);
    printf("chaos: %d tasks, %zd children killed, all results right\n", CHAOS_N,
           kills);
    CHECK(kills > 0);
    /* The master replaces the last ones within its respawn delay. */
    for (int i = 0; i < 100 && test_count_children(w) != 4; i++) {
        (void)cel_clock_sleep_ms(100, NULL);
    }
    CHECK_EQ_INT(test_count_children(w), 4);
    cel_client_close(c);
    int status = test_workerd_stop(w, SIGTERM, 20000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_failover(void)
{
    enum { N = 3000 };
    cel_error_t err = CEL_ERROR_INIT;
    char queue[80];

    memset(seen, 0, sizeof(seen));
    test_unique_name("test-failover", queue, sizeof(queue));
    cel_client_t *c = test_client_open(queue);
    pid_t a = test_workerd_start(queue, 2, NULL, NULL);
    pid_t b = test_workerd_start(queue, 2, NULL, NULL);
    cel_opts_t o = CEL_OPTS_INIT;
    o.callback = on_ok;
    o.error_callback = on_fail;
    /* Slow enough (2 ms each) that a has plenty taken when it dies. */
    for (intptr_t i = 0; i < N; i++) {
        o.callback_arg = (void *)i;
        cel_result_free(slow_sum_apply_async(c, &o, 0.002, (int64_t)i, 1));
    }
    (void)cel_clock_sleep_ms(400, NULL);
    CHECK_OK(cel_client_poll(c, 0, &err));
    size_t left = cel_client_pending(c);
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    CHECK(left > 0);
    CHECK_OK(cel_client_join(c, 600000, &err));
    check_all(N);
    printf("failover: %zu of %d tasks were pending when a workerd was "
           "killed; all results arrived\n",
           left, N);
    cel_client_close(c);
    int status = test_workerd_stop(b, SIGTERM, 20000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int
main(void)
{
    test_chaos();
    test_failover();
    puts("ok");
    return 0;
}
