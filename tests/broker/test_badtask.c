/* One bad task costs that task alone: a poison id, a task that exits,
 * closes its descriptors or forks, a result the broker cannot take,
 * durations that do not fit, held eta tasks, text that is not UTF-8, and
 * the operator's mistakes (a malformed URL, SIGHUP). Each case checks the
 * caller gets an answer and the worker goes on serving. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <cel/broker.h>
#include <cel/clock.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 30000

/* A worker with the bad tasks too, logging every task (info). */
static void
start(test_worker_t *w, const char *prefix, int n, const char *const *more)
{
    char bad[512];
    const char *extra[16] = {"-A", bad, "-l", "info"};
    int k = 4;

    test_build_path("lib", "libbad_tasks.so", bad, sizeof(bad));
    for (int i = 0; more != NULL && more[i] != NULL && k < 15; i++) {
        extra[k++] = more[i];
    }
    test_worker_open(w, prefix, n, true, extra);
}

static cel_result_t *
call(test_worker_t *w, const char *task, const char *args, const cel_opts_t *o)
{
    json_t *a = json_loads(args, 0, NULL);

    CHECK(a != NULL);
    cel_result_t *r = cel_apply_async(w->client, task, a, NULL, o);
    json_decref(a);
    CHECK(r != NULL);
    return r;
}

static void
expect_failure(cel_result_t *r, const char *type, const char *message)
{
    cel_error_t err = CEL_ERROR_INIT;

    CHECK(r != NULL);
    CHECK_OK(cel_result_wait(r, WAIT_MS, &err));
    CHECK_STR_EQ(cel_state_name(cel_result_state(r)), "FAILURE");
    CHECK_STR_EQ(cel_result_exc_type(r), type);
    CHECK_CONTAINS(cel_result_exc_message(r), message);
    cel_result_free(r);
}

/* How many times the worker started a task called name. */
static int
runs(const test_worker_t *w, const char *name)
{
    char needle[128];
    int n = 0;

    snprintf(needle, sizeof(needle), "Task %s[", name);
    char line[16384];
    FILE *f = fopen(w->log, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, needle) != NULL && strstr(line, "] received") != NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

/* The worker still serves: an add on each of its n children. */
static void
expect_serving(test_worker_t *w, int n)
{
    cel_result_t *rs[8];

    for (int i = 0; i < n; i++) {
        rs[i] = add_delay(w->client, i, 100);
    }
    for (int i = 0; i < n; i++) {
        test_expect_int(rs[i], 100 + i, WAIT_MS);
    }
}

/* A task id longer than any fixed buffer: the task that kills its child
 * is reported lost once, not run child after child. */
static void
test_poison_id(void)
{
    test_worker_t w;
    cel_opts_t o = CEL_OPTS_INIT;
    char id[301];

    start(&w, "test-bad-poison", 1, NULL);
    memset(id, 'p', 300);
    id[300] = '\0';
    memcpy(id, "poison-", 7);
    o.task_id = id;
    expect_failure(cel_apply_async(w.client, "crash", NULL, NULL, &o),
                   "WorkerLostError", "signal 9");
    expect_serving(&w, 1);
    CHECK_EQ_INT(test_file_count(w.log, "died ("), 1);
    CHECK_EQ_INT(runs(&w, "crash"), 1);
    test_worker_close(&w);
}

/* A task's own exit, with any code, costs that task alone: the child is
 * replaced and the master never reads the code as a command. */
static void
test_exit(void)
{
    static const char *const calls[] = {"[2, false]", "[2, true]",
                                        "[3, false]", "[0, true]",
                                        "[2, false]", "[1, true]"};
    test_worker_t w;

    start(&w, "test-bad-exit", 1, NULL);
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        expect_failure(call(&w, "quit", calls[i], NULL), "WorkerLostError",
                       "exitcode");
        expect_serving(&w, 1);
    }
    CHECK_EQ_INT(test_count_children(w.pid), 1);
    CHECK_EQ_INT(runs(&w, "quit"), 6);
    test_worker_close(&w);
}

/* A child whose socket closed but that has not died yet: the broker
 * hands its task to the other child at once (as when a fresh worker's
 * first task ends its child and the redelivery beats the death). The task
 * is still reported lost and runs once. */
static void
test_slow_death(void)
{
    test_worker_t w;

    start(&w, "test-bad-race", 2, NULL);
    expect_serving(&w, 2);
    expect_failure(call(&w, "vanish", "[500]", NULL), "WorkerLostError",
                   "exited prematurely");
    expect_serving(&w, 2);
    CHECK_EQ_INT(runs(&w, "vanish"), 1);
    test_worker_close(&w);
}

/* Processes (not zombies) whose parent is pid. */
static int
live_children(pid_t pid)
{
    pid_t kids[64];
    int n = test_child_pids(pid, kids, 64), live = 0;

    for (int i = 0; i < n; i++) {
        char path[64], buf[256];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)kids[i]);
        FILE *f = fopen(path, "r");
        if (f != NULL && fgets(buf, sizeof(buf), f) != NULL) {
            const char *p = strrchr(buf, ')');
            live += p != NULL && p[2] != 'Z';
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    return live;
}

/* A task that closes the child's descriptors gets an outcome, and one
 * that forks leaves no second consumer behind. */
static void
test_process_abuse(void)
{
    test_worker_t w;
    pid_t kids[4];

    start(&w, "test-bad-fds", 1, NULL);
    expect_failure(call(&w, "close_fds", "[3, 63]", NULL), "WorkerLostError",
                   "");
    expect_serving(&w, 1);
    CHECK_EQ_INT(runs(&w, "close_fds"), 1);

    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;
    cel_result_t *r = call(&w, "forker", "[]", NULL);
    CHECK_OK(cel_result_get(r, WAIT_MS, &v, &err));
    cel_result_free(r);
    for (int i = 0; i < 5; i++) {
        expect_serving(&w, 1);
    }
    CHECK_EQ_INT(test_child_pids(w.pid, kids, 4), 1);
    CHECK_EQ_INT(live_children(kids[0]), 0);
    CHECK_EQ_INT(runs(&w, "forker"), 1);
    test_worker_close(&w);
}

/* A result the broker would refuse becomes a FAILURE that it takes, and
 * the task runs once. */
static void
test_big_result(void)
{
    static const char *const bound[] = {"--max-result-size", "65536", NULL};
    test_worker_t w;

    start(&w, "test-bad-big", 1, bound);
    expect_failure(call(&w, "big", "[100000]", NULL), "ResultTooLarge",
                   "65536");
    expect_serving(&w, 1);
    cel_result_t *ok = call(&w, "big", "[1000]", NULL);
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;
    CHECK_OK(cel_result_get(ok, WAIT_MS, &v, &err));
    CHECK_EQ_INT(json_string_length(v), 1000);
    cel_result_free(ok);
    CHECK_EQ_INT(runs(&w, "big"), 2);
    test_worker_close(&w);

    /* The default bound is RabbitMQ's own (128 MiB). */
    start(&w, "test-bad-huge", 1, NULL);
    expect_failure(call(&w, "big", "[136314880]", NULL), "ResultTooLarge",
                   "134217728");
    expect_serving(&w, 1);
    CHECK_EQ_INT(runs(&w, "big"), 1);
    test_worker_close(&w);
}

/* Sets the test broker's max_message_size (bytes) for new channels. */
static void
set_broker_limit(long bytes)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd),
             "CELERIAC_BROKER_PORT=${CELERIAC_BROKER_PORT:-5672} "
             "%s/scripts/broker ctl eval "
             "'application:set_env(rabbit, max_message_size, %ld).' "
             ">/dev/null",
             CEL_SOURCE_DIR, bytes);
    CHECK_EQ_INT(system(cmd), 0);
}

/* A broker whose limit is below --max-result-size refuses the result and
 * closes the channel; the worker learns the limit from the refusal, and
 * the redelivered task's result becomes a ResultTooLarge. Run alone
 * (RUN_SERIAL): it lowers the shared broker's limit for a moment. */
static void
test_broker_limit(void)
{
    test_worker_t w;

    set_broker_limit(1 << 20);
    start(&w, "test-bad-limit", 1, NULL);
    expect_failure(call(&w, "big", "[2000000]", NULL), "ResultTooLarge",
                   "1048576");
    expect_serving(&w, 1);
    CHECK(runs(&w, "big") <= 2);
    CHECK(test_file_count(w.log, "at most 1048576 bytes") >= 1);
    test_worker_close(&w);
    set_broker_limit(134217728);
}

/* Durations that do not fit are refused or clamped, never wrapped. */
static void
test_durations(void)
{
    test_worker_t w;
    cel_opts_t o = CEL_OPTS_INIT;

    start(&w, "test-bad-time", 1, NULL);
    expect_failure(slow_sum_delay(w.client, 1e16, 1, 2), "OverflowError",
                   "sleep");
    expect_failure(slow_sum_delay(w.client, -1, 1, 2), "ValueError",
                   "non-negative");
    o.time_limit = 1e17; /* as good as none */
    test_expect_int(slow_sum_apply_async(w.client, &o, 0.1, 1, 2), 3, WAIT_MS);
    o.time_limit = 0.0001; /* under a millisecond, still a limit */
    expect_failure(slow_sum_apply_async(w.client, &o, 20.0, 1, 2),
                   "TimeLimitExceeded", "Time limit");
    o = (cel_opts_t)CEL_OPTS_INIT;
    o.soft_time_limit = 1e17;
    test_expect_int(slow_sum_apply_async(w.client, &o, 0.1, 2, 2), 4, WAIT_MS);
    expect_serving(&w, 1);
    test_worker_close(&w);
}

/* A message with a header name as long as AMQP allows is retried like any
 * other: what was accepted can be sent again. */
static void
test_retry_headers(void)
{
    test_worker_t w;
    cel_opts_t o = CEL_OPTS_INIT;
    char name[256];

    start(&w, "test-bad-retry", 1, NULL);
    memset(name, 'h', 255);
    name[255] = '\0';
    json_t *headers = json_pack("{s:s, s:s}", name, "long", "x-short", "s");
    name[200] = '\0';
    json_object_set_new(headers, name, json_string("200"));
    o.headers = headers;
    test_expect_int(flaky_apply_async(w.client, &o, 2, 5), 2, WAIT_MS);
    json_decref(headers);
    expect_serving(&w, 1);
    test_worker_close(&w);
}

/* A retry the broker refuses (the exchange the task came through was
 * deleted, so the republish closes the channel) is a broker error, not a
 * message that cannot be retried: the child reconnects, and once finishing
 * the task has broken the connection twice the task fails with the
 * broker's reason. Nothing else is lost. */
static void
test_retry_refused(void)
{
    test_worker_t w;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_broker_opts_t bo = CEL_BROKER_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_broker_t *b = NULL;
    char x[128];

    start(&w, "test-bad-retry-refused", 1, NULL);
    expect_serving(&w, 1); /* its queue is there */
    test_unique_name("celeriac-retry-x", x, sizeof(x));
    CHECK_OK(cel_broker_open(test_broker_url(), &bo, &b, &err));
    CHECK_OK(cel_broker_declare_exchange(b, x, "direct", false, false, &err));
    CHECK_OK(cel_broker_bind(b, w.queue, x, w.queue, &err));
    cel_broker_close(b);
    /* The child is stopped while the task comes and its exchange goes. */
    pid_t child;
    CHECK_EQ_INT(test_child_pids(w.pid, &child, 1), 1);
    CHECK_EQ_INT(kill(child, SIGSTOP), 0);
    o.exchange = x;
    o.routing_key = w.queue;
    cel_result_t *r = flaky_apply_async(w.client, &o, 1, 5);
    CHECK(r != NULL);
    int deleted = test_broker_ctl("eval 'rabbit_exchange:delete(rabbit_misc:"
                                  "r(<<\"/\">>, exchange, <<\"%s\">>), "
                                  "false, <<\"test\">>).'",
                                  x);
    CHECK_EQ_INT(kill(child, SIGCONT), 0);
    CHECK_EQ_INT(deleted, 0);
    CHECK_OK(cel_result_wait(r, WAIT_MS, &err));
    CHECK_STR_EQ(cel_state_name(cel_result_state(r)), "FAILURE");
    CHECK_CONTAINS(cel_result_exc_message(r), "NOT_FOUND - no exchange");
    cel_result_free(r);
    CHECK_EQ_INT(test_file_count(w.log, "protocol 2"), 0);
    expect_serving(&w, 1);
    test_worker_close(&w);
}

/* Held eta tasks never stop a child taking new work. */
static void
test_held_eta(void)
{
    test_worker_t w;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_result_t *held[16];

    start(&w, "test-bad-eta", 2, NULL);
    o.countdown = 60;
    for (int i = 0; i < 16; i++) {
        held[i] = add_apply_async(w.client, &o, i, i);
    }
    expect_serving(&w, 2);
    for (int i = 0; i < 16; i++) {
        CHECK(!cel_result_ready(held[i]));
        cel_result_free(held[i]);
    }
    test_worker_close(&w);

    /* Past what a child holds in full, the rest are held by tag and
     * delivered again when due: every one still runs. */
    enum { N = 4300 };
    static cel_result_t *many[N];
    /* A wider window: fewer consumer restarts, so every task is held well
     * before the first is due, even on a slow machine. */
    static const char *const wide[] = {"--prefetch-multiplier", "64", NULL};
    start(&w, "test-bad-etamany", 1, wide);
    o.countdown = 10; /* all are held before the first is due */
    for (int i = 0; i < N; i++) {
        many[i] = add_apply_async(w.client, &o, i, 1);
    }
    for (int i = 0; i < N; i++) {
        test_expect_int(many[i], i + 1, 60000);
    }
    CHECK(test_file_count(w.log, "by delivery tag only") >= 1);
    test_worker_close(&w);
}

/* A failure message that is not UTF-8 reaches the log cleaned. */
static void
test_log_text(void)
{
    test_worker_t w;
    char line[8192];

    start(&w, "test-bad-text", 1, NULL);
    expect_failure(call(&w, "bad_text", "[]", NULL), "ValueError", "end");
    expect_serving(&w, 1);
    FILE *f = fopen(w.log, "r");
    CHECK(f != NULL);
    int raised = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        raised +=
            strstr(line, "ERROR/ForkPoolWorker-1] Task bad_text[") != NULL &&
            strstr(line, "] raised unexpected: ValueError(") != NULL;
        CHECK(strchr(line, '\xff') == NULL && strchr(line, '\x1b') == NULL);
    }
    fclose(f);
    CHECK_EQ_INT(raised, 1);
    CHECK_EQ_INT(test_file_count(w.log, "TaskPool: apply"), 0); /* info */
    test_worker_close(&w);

    /* -l debug adds what a task is called with and how it came. */
    static const char *const debug[] = {"-l", "debug", NULL};
    start(&w, "test-bad-debug", 1, debug);
    test_expect_int(add_delay(w.client, 2, 3), 5, WAIT_MS);
    CHECK_EQ_INT(test_file_count(w.log, "TaskPool: apply add["), 1);
    CHECK_EQ_INT(test_file_count(w.log, "args:(2, 3) kwargs:{}"), 1);
    CHECK_EQ_INT(test_file_count(w.log, "registered task add "), 1);
    CHECK(test_file_count(w.log, "opening connection") >= 1);
    test_worker_close(&w);
}

/* The operator's mistakes: a URL that cannot work is refused at start
 * (exit 2); SIGHUP restarts, as Celery's worker does. */
static void
test_operator(void)
{
    static const char *const urls[] = {"http://127.0.0.1:5672//",
                                       "amqp://guest:guest@127.0.0.1:99999//",
                                       "amqp://guest:guest@127.0.0.1:x//"};
    char queue[80];
    test_worker_t w;

    test_unique_name("test-bad-url", queue, sizeof(queue));
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        const char *extra[] = {"-b", urls[i], NULL};
        pid_t pid = test_workerd_start(queue, 1, "/dev/null", extra);
        int status = test_workerd_stop(pid, 0, 10000);
        CHECK(status != -1 && WIFEXITED(status));
        CHECK_EQ_INT(WEXITSTATUS(status), 2);
    }
    /* A login refused at start is refused for good: exit 1, with the
     * broker's reason and never the password. */
    char bad[300], log[300];
    const char *at = strchr(test_broker_url(), '@');
    CHECK(at != NULL);
    snprintf(bad, sizeof(bad), "amqp://guest:wrongpass%s", at);
    snprintf(log, sizeof(log), "/tmp/%s.log", queue);
    const char *extra[] = {"-b", bad, NULL};
    pid_t pid = test_workerd_start(queue, 1, log, extra);
    int status = test_workerd_stop(pid, 0, 20000);
    CHECK(status != -1 && WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 1);
    CHECK_EQ_INT(test_file_count(log, "login refused"), 1);
    CHECK_EQ_INT(test_file_count(log, "wrongpass"), 0);
    unlink(log);

    start(&w, "test-bad-hup", 2, NULL);
    expect_serving(&w, 2);
    cel_result_t *running = slow_sum_delay(w.client, 1.0, 5, 5);
    cel_clock_sleep_ms(300, NULL);
    CHECK(kill(w.pid, SIGHUP) == 0);
    test_expect_int(running, 10, WAIT_MS); /* warm: it finishes */
    expect_serving(&w, 2);
    CHECK_EQ_INT(kill(w.pid, 0), 0);
    CHECK(test_file_count(w.log, "restart") >= 1);
    expect_serving(&w, 2);
    test_worker_close(&w);
}

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"poison_id", test_poison_id},         {"exit", test_exit},
        {"process", test_process_abuse},       {"big_result", test_big_result},
        {"durations", test_durations},         {"held_eta", test_held_eta},
        {"log_text", test_log_text},           {"operator", test_operator},
        {"retry_headers", test_retry_headers}, {"slow_death", test_slow_death},
        {"retry_refused", test_retry_refused},
    };
    if (argc > 1 && strcmp(argv[1], "broker_limit") == 0) {
        test_broker_limit(); /* only when asked: see its comment */
        puts("ok");
        return 0;
    }
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0) {
            continue;
        }
        printf("%s\n", tests[i].name);
        fflush(stdout);
        tests[i].fn();
    }
    puts("ok");
    return 0;
}
