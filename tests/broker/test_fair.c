/* Fair by default: no task waits behind another while a child of the same
 * worker is idle. workerd runs with its default options; one long task
 * goes first, then at once a burst of short ones. Every short task must
 * be done while the long one still runs: the child busy with the long
 * task must not keep short ones it prefetched, and its idle siblings must
 * take the whole burst at full speed.
 *
 * The cases: -c 2 and -c 4, the burst sent just after the long task; the
 * same after the worker warmed up on a stream of short tasks (its window
 * has grown); and a child that also holds tasks with an eta. The test
 * orders events, never times them: the long task lasts LONG_S seconds,
 * far longer than the burst takes, and the check is that it is not ready
 * when the burst is. The slowest short task's latency is printed (the
 * benchmark judges it). */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <cel/clock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LONG_S  4.0
#define BURST   12
#define WAIT_MS 30000

/* Is r ready, once every reply already here is read? */
static bool
poll_ready(cel_client_t *c, cel_result_t *r)
{
    cel_error_t err = CEL_ERROR_INIT;

    CHECK_OK(cel_client_poll(c, 0, &err));
    return cel_result_ready(r);
}

/* Sends the burst, waits for all of it and checks that the long task r
 * still runs. Returns the slowest short task's latency in ms. */
static int64_t
burst_beats(cel_client_t *c, cel_result_t *slow, int64_t base)
{
    cel_result_t *rs[BURST];
    int64_t sent = cel_clock_now_us();

    for (int i = 0; i < BURST; i++) {
        rs[i] = add_delay(c, base + i, 1);
        CHECK(rs[i] != NULL);
    }
    if (getenv("FAIR_TRACE")) {
        cel_error_t err = CEL_ERROR_INIT;
        bool seen[BURST] = {0};
        int left = BURST;
        while (left > 0) {
            CHECK_OK(cel_client_poll(c, 5, &err));
            for (int i = 0; i < BURST; i++) {
                if (!seen[i] && cel_result_ready(rs[i])) {
                    seen[i] = true;
                    left--;
                    printf("  add %d done at %lld ms\n", i,
                           (long long)(cel_clock_now_us() - sent) / 1000);
                }
            }
        }
    }
    for (int i = 0; i < BURST; i++) {
        test_expect_int(rs[i], base + i + 1, WAIT_MS);
    }
    int64_t slowest = (cel_clock_now_us() - sent) / 1000;
    if (poll_ready(c, slow)) {
        CHECK_FAIL_("the short tasks waited for the long one (%lld ms)",
                    (long long)slowest);
    }
    return slowest;
}

static void
long_then_burst(cel_client_t *c, const char *what)
{
    cel_result_t *slow = slow_sum_delay(c, LONG_S, 1, 2);
    CHECK(slow != NULL);
    int64_t ms = burst_beats(c, slow, 100);
    printf("%s: slowest of %d short tasks after a long one: %lld ms\n", what,
           BURST, (long long)ms);
    test_expect_int(slow, 3, WAIT_MS);
}

/* A stream of short tasks first, so that an adaptive window has grown. */
static void
warm_up(cel_client_t *c)
{
    enum { N = 2000 };
    static cel_result_t *rs[N];

    for (int i = 0; i < N; i++) {
        rs[i] = add_delay(c, i, 0);
        CHECK(rs[i] != NULL);
    }
    for (int i = 0; i < N; i++) {
        test_expect_int(rs[i], i, WAIT_MS);
    }
}

static void
test_fair_at(int n)
{
    test_worker_t w;
    char what[64];

    test_worker_open(&w, "fair", n, false, NULL);
    snprintf(what, sizeof(what), "-c %d, cold", n);
    long_then_burst(w.client, what);
    warm_up(w.client);
    snprintf(what, sizeof(what), "-c %d, warm", n);
    long_then_burst(w.client, what);
    test_worker_close(&w);
}

static void
test_fair_c2(void)
{
    test_fair_at(2);
}

static void
test_fair_c4(void)
{
    test_fair_at(4);
}

static void
send_held(cel_client_t *c, cel_result_t **rs, int n, double countdown, int base)
{
    for (int i = 0; i < n; i++) {
        cel_opts_t o = CEL_OPTS_INIT;
        o.countdown = countdown;
        json_t *args = json_pack("[ii]", i, base);
        CHECK(args != NULL);
        rs[i] = cel_apply_async(c, "add", args, NULL, &o);
        json_decref(args);
        if (rs[i] == NULL) {
            CHECK_FAIL_("%s", cel_client_error(c));
        }
    }
}

/* Each child holds tasks with an eta: some due after the long task (they
 * must stay held and run later), some due while it runs (the busy child
 * must hand its share back, for its idle sibling to run at once). The
 * long task and the burst are then as above. */
static void
test_fair_with_eta(void)
{
    enum { HELD = 6 };
    test_worker_t w;
    cel_result_t *later[HELD], *soon[HELD];

    test_worker_open(&w, "fair_eta", 2, false, NULL);
    send_held(w.client, later, HELD, LONG_S + 2, 1000);
    send_held(w.client, soon, HELD, 1.0, 2000);
    cel_result_t *slow = slow_sum_delay(w.client, LONG_S, 1, 2);
    CHECK(slow != NULL);
    int64_t ms = burst_beats(w.client, slow, 100);
    printf("-c 2, eta tasks held: slowest of %d short tasks after a long "
           "one: %lld ms\n",
           BURST, (long long)ms);
    for (int i = 0; i < HELD; i++) {
        test_expect_int(soon[i], i + 2000, WAIT_MS);
    }
    if (poll_ready(w.client, slow)) {
        CHECK_FAIL_("eta tasks that fell due waited for the long task");
    }
    test_expect_int(slow, 3, WAIT_MS);
    for (int i = 0; i < HELD; i++) {
        test_expect_int(later[i], i + 1000, WAIT_MS);
    }
    test_worker_close(&w);
}

/* An eta task that runs long once due, in a child that holds more eta
 * tasks falling due meanwhile: those are given back, the running one
 * never is (it runs once, and every value arrives). */
static void
test_held_runs_long(void)
{
    static const char *const info[] = {"-l", "info", NULL};
    enum { HELD = 4 };
    test_worker_t w;
    cel_result_t *soon[HELD];
    cel_opts_t o = CEL_OPTS_INIT;

    test_worker_open(&w, "fair_held", 1, true, info);
    o.countdown = 0.5;
    cel_result_t *slow = slow_sum_apply_async(w.client, &o, 1.0, 2, 3);
    CHECK(slow != NULL);
    send_held(w.client, soon, HELD, 0.8, 3000);
    for (int i = 0; i < HELD; i++) {
        test_expect_int(soon[i], i + 3000, WAIT_MS);
    }
    test_expect_int(slow, 5, WAIT_MS);
    CHECK_EQ_INT(test_file_count(w.log, "Task slow_sum["), 2); /* received,
                                                                  succeeded */
    CHECK(test_file_count(w.log, "fell due while task slow_sum[") >= 1);
    test_worker_close(&w);
}

int
main(void)
{
    test_fair_c2();
    test_fair_c4();
    test_fair_with_eta();
    test_held_runs_long();
    puts("ok");
    return 0;
}
