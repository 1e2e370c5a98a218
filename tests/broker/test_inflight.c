/* 100,000 tasks in flight at once from one client: all are sent before
 * any worker runs (so every one is pending at the same time, with its
 * callback), then workerd starts and every result must come back once,
 * with the right value. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/support.h"

#include <cel/clock.h>

#include <signal.h>
#include <stdint.h>

#define N 100000

static unsigned char seen[N];
static int wrong;

static void
on_ok(cel_result_t *r, void *arg)
{
    intptr_t i = (intptr_t)arg;

    seen[i]++;
    wrong += json_integer_value(cel_result_value(r)) != (json_int_t)i + 7;
}

static void
on_fail(cel_result_t *r, void *arg)
{
    (void)arg;
    CHECK_FAIL_("task %s failed: %s", cel_result_id(r),
                cel_result_exc_message(r));
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_client_t *client;
    char queue[80];
    const char *extra[] = {"--prefetch-multiplier", "64", NULL};

    test_unique_name("test-inflight", queue, sizeof(queue));
    co.queue = queue;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &client, &err));
    o.callback = on_ok;
    o.error_callback = on_fail;
    int64_t t0 = cel_clock_now_ms();
    for (intptr_t i = 0; i < N; i++) {
        o.callback_arg = (void *)i;
        cel_result_t *r = add_apply_async(client, &o, (int64_t)i, 7);
        if (r == NULL) {
            CHECK_FAIL_("send %ld: %s", (long)i, cel_client_error(client));
        }
        cel_result_free(r); /* the callback is what collects it */
    }
    CHECK_EQ_INT(cel_client_pending(client), N);
    int64_t t1 = cel_clock_now_ms();

    pid_t w = test_workerd_start(queue, 2, NULL, extra);
    CHECK_OK(cel_client_join(client, 600000, &err));
    int64_t t2 = cel_clock_now_ms();
    CHECK_EQ_INT(cel_client_pending(client), 0);
    CHECK_EQ_INT(wrong, 0);
    for (int i = 0; i < N; i++) {
        if (seen[i] != 1) {
            CHECK_FAIL_("task %d: its callback ran %d times", i, seen[i]);
        }
    }
    printf("%d tasks in flight: sent in %lld ms, all collected %lld ms "
           "later\n",
           N, (long long)(t1 - t0), (long long)(t2 - t1));
    cel_client_close(client);
    int status = test_workerd_stop(w, SIGTERM, 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    puts("ok");
    return 0;
}
