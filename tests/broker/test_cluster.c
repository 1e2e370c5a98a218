/* A three-node RabbitMQ cluster on this machine (private nodes on the
 * suite's port + 5, + 6 and + 7, joined with rabbitmqctl join_cluster),
 * quorum task queues, and clients holding the node list:
 * - workerd -c 2 lists node 1 first, the producer node 2; node 1 is
 *   stopped in the middle of a run: the workers move to a live node, the
 *   quorum queue keeps its tasks (its leader moves), and every result
 *   arrives; the longest gap between two results is printed as the time
 *   to recover;
 * - node 1 comes back; then node 2, the producer's, is stopped while the
 *   producer is idle: its next tasks go through node 3, and their results
 *   come back.
 * The nodes are stopped at the end, also on failure (the checks run in a
 * child process). */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/support.h"

#include <cel/clock.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TASKS   1000
#define WAIT_MS 60000

static int port[3];
static char run_dir[128];

static int node(int i, const char *fmt, ...) CEL_PRINTF(2, 3);

/* Runs scripts/broker ARGS for node i (0..2). */
static int
node(int i, const char *fmt, ...)
{
    char args[512], cmd[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd),
             "CELERIAC_BROKER_PORT=%d CELERIAC_RUN_DIR=%s "
             "CELERIAC_BROKER_KEEP_DATA=1 %s/scripts/broker %s",
             port[i], run_dir, CEL_SOURCE_DIR, args);
    return system(cmd);
}

static void
start_cluster(void)
{
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(node(i, "start >/dev/null"), 0);
    }
    for (int i = 1; i < 3; i++) {
        CHECK_EQ_INT(node(i, "ctl stop_app >/dev/null"), 0);
        CHECK_EQ_INT(node(i, "ctl reset >/dev/null"), 0);
        CHECK_EQ_INT(node(i,
                          "ctl join_cluster celeriac-%d@localhost "
                          ">/dev/null",
                          port[0]),
                     0);
        CHECK_EQ_INT(node(i, "ctl start_app >/dev/null"), 0);
    }
}

/* The node list, starting at node first. */
static void
node_list(int first, char *out, size_t size)
{
    size_t used = 0;

    for (int k = 0; k < 3 && used < size; k++) {
        int i = (first + k) % 3;
        int w = snprintf(out + used, size - used,
                         "%samqp://guest:guest@127.0.0.1:%d//", k ? ";" : "",
                         port[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

static pid_t
start_workers(const char *queue)
{
    static char list[512];

    node_list(0, list, sizeof(list));
    const char *extra[] = {"-b", list, "--queue-type", "quorum", "--heartbeat",
                           "2",  "-l", "info",         NULL};
    return test_workerd_start(queue, 2, NULL, extra);
}

/* Sends n add tasks, stops node stop_at_100 (or none: -1) after 100
 * results, checks every value and returns the longest gap in ms between
 * two results. */
static int64_t
run(cel_client_t *c, int n, int stop_at_100)
{
    static cel_result_t *rs[TASKS];
    cel_error_t err = CEL_ERROR_INIT;
    int64_t last = cel_clock_now_ms(), gap = 0;

    for (int i = 0; i < n; i++) {
        rs[i] = add_delay(c, i, 1);
        CHECK(rs[i] != NULL);
    }
    for (int i = 0; i < n; i++) {
        const json_t *v;
        if (i == 100 && stop_at_100 >= 0) {
            CHECK_EQ_INT(node(stop_at_100, "stop >/dev/null 2>&1"), 0);
        }
        CHECK_OK(cel_result_get(rs[i], WAIT_MS, &v, &err));
        CHECK_EQ_INT(json_integer_value(v), i + 1);
        int64_t now = cel_clock_now_ms();
        gap = now - last > gap ? now - last : gap;
        last = now;
        cel_result_free(rs[i]);
    }
    return gap;
}

static void
checks(void)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    char queue[96], list[512];
    cel_client_t *c;

    start_cluster();
    test_unique_name("cluster", queue, sizeof(queue));
    node_list(1, list, sizeof(list)); /* the producer: node 2 first */
    co.queue = queue;
    co.broker_url = list;
    co.queue_type = "quorum";
    CHECK_OK(cel_client_open(&co, &c, &err));
    pid_t w = start_workers(queue);

    CHECK(run(c, TASKS, -1) >= 0); /* all on their first nodes */
    int64_t gap = run(c, TASKS, 0);
    printf("node 1 (the workers') stopped mid-run: all %d results came, the "
           "longest wait between two %lld ms\n",
           TASKS, (long long)gap);

    CHECK_EQ_INT(node(0, "start >/dev/null"), 0);
    CHECK_EQ_INT(node(1, "stop >/dev/null 2>&1"), 0);
    int64_t t0 = cel_clock_now_ms();
    run(c, 100, -1);
    printf("node 2 (the producer's) stopped: 100 tasks through another "
           "node in %lld ms\n",
           (long long)(cel_clock_now_ms() - t0));
    cel_client_close(c);
    CHECK(test_workerd_stop(w, SIGTERM, 20000) != -1);
}

static void
stop_cluster(void)
{
    char cmd[256];

    for (int i = 0; i < 3; i++) {
        node(i, "stop >/dev/null 2>&1");
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", run_dir);
    CHECK(system(cmd) == 0);
}

int
main(void)
{
    const char *base = getenv("CELERIAC_BROKER_PORT");
    for (int i = 0; i < 3; i++) {
        port[i] = (base ? atoi(base) : 5672) + 5 + i;
    }
    snprintf(run_dir, sizeof(run_dir), "/tmp/celeriac-cluster-%d",
             (int)getpid());
    CHECK_EQ_INT(test_guarded(checks, stop_cluster), 0);
    puts("ok");
    return 0;
}
