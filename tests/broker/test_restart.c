/* The broker restarts in the middle of a run (its own private node, so
 * the rest of the suite is not disturbed). workerd's children reconnect
 * with backoff, logging each attempt, and finish the tasks that waited in
 * the durable queue; the producer's pending results fail with CEL_ECONN
 * instead of hanging (the rpc backend's known limit: a reply queue does
 * not outlive its connection), and its next sends reconnect and work. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/support.h"

#include <cel/clock.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 400

static int port;
static int values_ok, lost;

static int
broker(const char *what)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd),
             "CELERIAC_BROKER_PORT=%d %s/scripts/broker %s >/dev/null", port,
             CEL_SOURCE_DIR, what);
    return system(cmd);
}

/* Messages still in queue (ready or unacked), or -1 if it cannot tell. */
static long
queue_depth(const char *queue)
{
    char cmd[512], line[512];
    long ready, unacked, depth = -1;

    snprintf(cmd, sizeof(cmd),
             "CELERIAC_BROKER_PORT=%d %s/scripts/broker ctl list_queues name "
             "messages_ready messages_unacknowledged",
             port, CEL_SOURCE_DIR);
    FILE *f = popen(cmd, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char name[300];
        if (sscanf(line, "%299s %ld %ld", name, &ready, &unacked) == 3 &&
            strcmp(name, queue) == 0) {
            depth = ready + unacked;
        }
    }
    if (f != NULL) {
        pclose(f);
    }
    return depth;
}

static void
on_ok(cel_result_t *r, void *arg)
{
    values_ok += json_integer_value(cel_result_value(r)) == (intptr_t)arg + 1;
}

static void
on_lost(cel_result_t *r, void *arg)
{
    (void)arg;
    CHECK_EQ_INT(cel_result_state(r), CEL_STATE_PENDING); /* not a failure */
    lost++;
}

static bool
log_has(const char *path, const char *text)
{
    char line[1024];
    bool found = false;
    FILE *f = fopen(path, "r");

    while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
        found = strstr(line, text) != NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    return found;
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_client_t *c;
    char queue[80], log[128], portstr[16];
    const char *base = getenv("CELERIAC_BROKER_PORT");

    port = (base ? atoi(base) : 5672) + 1;
    snprintf(portstr, sizeof(portstr), "%d", port);
    setenv("CELERIAC_BROKER_PORT", portstr, 1); /* test_broker_url */
    unsetenv("CELERIAC_BROKER_URL");
    CHECK(broker("start") == 0);
    test_unique_name("test-restart", queue, sizeof(queue));
    snprintf(log, sizeof(log), "/tmp/celeriac-restart-%d.log", (int)getpid());
    pid_t w = test_workerd_start(queue, 2, log, NULL);
    co.queue = queue;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &c, &err));

    /* Four seconds of work for two children, then the broker restarts. */
    o.callback = on_ok;
    o.error_callback = on_lost;
    for (intptr_t i = 0; i < N; i++) {
        o.callback_arg = (void *)i;
        cel_result_free(slow_sum_apply_async(c, &o, 0.02, (int64_t)i, 1));
    }
    (void)cel_clock_sleep_ms(800, NULL);
    CHECK_OK(cel_client_poll(c, 0, &err));
    CHECK(broker("stop") == 0);
    int64_t t0 = cel_clock_now_ms();
    CHECK_EQ_INT(cel_client_join(c, 60000, &err), CEL_ECONN);
    CHECK(cel_clock_now_ms() - t0 < 10000);
    CHECK_CONTAINS(err.text, "can no longer arrive");
    CHECK(lost > 0 && values_ok + lost == N);
    printf("restart: %d results arrived before the broker stopped, %d "
           "were lost with it\n",
           values_ok, lost);
    CHECK(broker("start") == 0);

    /* Sends fail with a reason until the producer is back, then work. */
    cel_result_t *r = NULL;
    for (int i = 0; i < 120 && r == NULL; i++) {
        r = add_delay(c, 40, 2);
        if (r == NULL) {
            (void)cel_clock_sleep_ms(500, NULL);
        }
    }
    CHECK(r != NULL);
    const json_t *v;
    CHECK_OK(cel_result_get(r, 60000, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 42);
    cel_result_free(r);

    /* The children reconnected (with a log line per attempt) and finish
     * every task that waited in the durable queue. */
    long depth = -1;
    for (int i = 0; i < 120 && depth != 0; i++) {
        depth = queue_depth(queue);
        if (depth != 0) {
            (void)cel_clock_sleep_ms(500, NULL);
        }
    }
    CHECK_EQ_INT(depth, 0);
    CHECK(log_has(log, "retrying in"));
    cel_client_close(c);
    int status = test_workerd_stop(w, SIGTERM, 20000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(log);
    CHECK(broker("stop") == 0);
    puts("ok");
    return 0;
}
