/* tasks.c: bench_tasks, the producer side of scripts/bench. Each mode
 * prints one JSON object on stdout.
 *
 *   bench_tasks throughput N QUEUE [transient|persistent [BYTES]]
 *                                   send N add(i, i) as fast as possible,
 *                                   collect and check every result:
 *                                   tasks/s from first send to last result;
 *                                   with BYTES, N echo(a string of BYTES)
 *                                   instead (the result is as large), and
 *                                   MB/s of task and result bodies too
 *   bench_tasks fill N QUEUE        queue N add(i, i) with ignore_result
 *                                   for a worker to drain later (the last
 *                                   one confirmed by the broker)
 *   bench_tasks fair QUEUE LONG_S   the mixed load: one slow_sum(LONG_S)
 *                                   then at once 12 add: the slowest add's
 *                                   latency in ms, and whether the slow
 *                                   task was still running then
 *   bench_tasks latency N QUEUE [transient]
 *                                   N sequential add round trips (after 20
 *                                   to warm up): p50, p99 and max in ms
 *   bench_tasks cpu QUEUE           the notes' CPU-bound work through the
 *                                   workers: 16 sum_all_values(1e8 + i)
 *                                   and count_primes(0, 3e6) in 12 chunks
 *   bench_tasks inline              the same work in this process
 *   bench_tasks inline2             the same work split between two
 *                                   processes, every other item each, with
 *                                   no queue: the most -c 2 could reach
 *
 * Broker: $CELERIAC_BROKER_URL. */
#include <cel/clock.h>
#include <cel/producer.h>

#include "kernels.h"
#include "tasks.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUM_BASE     100000000
#define SUM_CALLS    16
#define PRIMES_TO    3000000
#define PRIMES_PARTS 12

static void
die(const char *what, const char *why)
{
    fprintf(stderr, "bench_tasks: %s: %s\n", what, why);
    exit(1);
}

static cel_client_t *
open_client(const char *queue)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_client_t *c;
    cel_error_t err;

    co.queue = queue;
    if (cel_client_open(&co, &c, &err) != 0) {
        die("connect", err.text);
    }
    return c;
}

static long wrong, arrived;

static void
on_result(cel_result_t *r, void *arg)
{
    arrived++;
    wrong += json_integer_value(cel_result_value(r)) != 2 * (intptr_t)arg;
}

static void
on_failure(cel_result_t *r, void *arg)
{
    (void)r;
    (void)arg;
    arrived++;
    wrong++;
}

static void
on_echo(cel_result_t *r, void *arg)
{
    arrived++;
    wrong += json_string_length(cel_result_value(r)) != (size_t)arg;
}

/* One task: add(i, i), or echo of payload (a string) when it is set. */
static cel_result_t *
send_one(cel_client_t *c, cel_opts_t *o, intptr_t i, json_t *payload)
{
    if (payload == NULL) {
        o->callback_arg = (void *)i;
        return add_apply_async(c, o, (int64_t)i, (int64_t)i);
    }
    o->callback = on_echo;
    o->callback_arg = (void *)json_string_length(payload);
    return echo_apply_async(c, o, payload);
}

static int
throughput(long n, const char *queue, bool transient, size_t bytes)
{
    cel_client_t *c = open_client(queue);
    cel_opts_t o = CEL_OPTS_INIT;
    cel_error_t err;
    char *text = bytes > 0 ? malloc(bytes + 1) : NULL;
    json_t *payload = NULL;

    if (text != NULL) {
        memset(text, 'x', bytes);
        text[bytes] = '\0';
        payload = json_string(text);
        free(text);
    }
    o.delivery_mode = transient ? 1 : 2;
    o.callback = on_result;
    o.error_callback = on_failure;
    int64_t t0 = cel_clock_now_us();
    for (intptr_t i = 0; i < n; i++) {
        cel_result_t *r = send_one(c, &o, i, payload);
        if (r == NULL) {
            die("send", cel_client_error(c));
        }
        cel_result_free(r); /* the callback checks it */
    }
    int64_t t1 = cel_clock_now_us();
    if (cel_client_join(c, 600000, &err) != 0) {
        die("join", err.text);
    }
    int64_t t2 = cel_clock_now_us();
    double rate = (double)n * 1e6 / (double)(t2 - t0);
    printf("{\"n\": %ld, \"tasks_per_s\": %.1f, \"send_per_s\": %.1f, "
           "\"payload_bytes\": %zu, \"mb_per_s\": %.2f, "
           "\"wrong\": %ld, \"missing\": %ld}\n",
           n, rate, (double)n * 1e6 / (double)(t1 - t0), bytes,
           rate * 2.0 * (double)bytes / 1e6, wrong, n - arrived);
    json_decref(payload);
    cel_client_close(c);
    return wrong != 0 || arrived != n;
}

static int
fill(long n, const char *queue)
{
    cel_client_t *c = open_client(queue);
    cel_opts_t o = CEL_OPTS_INIT;

    o.ignore_result = true;
    int64_t t0 = cel_clock_now_us();
    for (long i = 0; i < n; i++) {
        o.confirm = i == n - 1; /* in order: all are in when it is */
        cel_result_t *r = add_apply_async(c, &o, (int64_t)i, (int64_t)i);
        if (r == NULL) {
            die("send", cel_client_error(c));
        }
        cel_result_free(r);
    }
    printf("{\"n\": %ld, \"fill_per_s\": %.1f}\n", n,
           (double)n * 1e6 / (double)(cel_clock_now_us() - t0));
    cel_client_close(c);
    return 0;
}

#define FAIR_SHORT 12

static int64_t fair_done_us[FAIR_SHORT];

static void
on_fair(cel_result_t *r, void *arg)
{
    (void)r;
    fair_done_us[(intptr_t)arg] = cel_clock_now_us();
    arrived++;
}

/* The mixed load: a long task, then at once FAIR_SHORT short
 * ones, on an idle worker. */
static int
fair(const char *queue, double long_s)
{
    cel_client_t *c = open_client(queue);
    cel_opts_t o = CEL_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    int64_t sent[FAIR_SHORT];

    cel_result_t *slow = slow_sum_delay(c, long_s, 0, 0);
    o.callback = on_fair;
    o.error_callback = on_failure;
    for (intptr_t i = 0; i < FAIR_SHORT; i++) {
        o.callback_arg = (void *)i;
        sent[i] = cel_clock_now_us();
        cel_result_t *r = add_apply_async(c, &o, (int64_t)i, 1);
        if (r == NULL || slow == NULL) {
            die("send", cel_client_error(c));
        }
        cel_result_free(r);
    }
    while (arrived < FAIR_SHORT) {
        if (cel_client_poll(c, 1000, &err) != 0) {
            die("poll", err.text);
        }
    }
    bool long_running = !cel_result_ready(slow);
    int64_t worst = 0;
    for (int i = 0; i < FAIR_SHORT; i++) {
        int64_t us = fair_done_us[i] - sent[i];
        worst = us > worst ? us : worst;
    }
    if (cel_result_wait(slow, 600000, &err) != 0) {
        die("wait", err.text);
    }
    printf("{\"long_s\": %.1f, \"short\": %d, \"slowest_ms\": %.1f, "
           "\"long_still_running\": %s}\n",
           long_s, FAIR_SHORT, (double)worst / 1000.0,
           long_running ? "true" : "false");
    cel_result_free(slow);
    cel_client_close(c);
    return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int
latency(long n, const char *queue, bool transient)
{
    cel_client_t *c = open_client(queue);
    int64_t *us = calloc((size_t)n, sizeof(*us));
    cel_opts_t o = CEL_OPTS_INIT;
    cel_error_t err;

    o.delivery_mode = transient ? 1 : 2;
    for (long i = -20; i < n; i++) {
        json_t *args = json_pack("[II]", (json_int_t)i, (json_int_t)i), *v;
        int64_t t0 = cel_clock_now_us();
        if (cel_apply(c, "add", args, NULL, &o, 30000, &v, &err) != 0) {
            die("apply", err.text);
        }
        if (i >= 0) {
            us[i] = cel_clock_now_us() - t0;
        }
        if (json_integer_value(v) != 2 * i) {
            die("apply", "wrong value");
        }
        json_decref(v);
        json_decref(args);
    }
    qsort(us, (size_t)n, sizeof(*us), cmp_i64);
    printf("{\"n\": %ld, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": "
           "%.3f}\n",
           n, (double)us[n / 2] / 1000.0, (double)us[n * 99 / 100] / 1000.0,
           (double)us[n - 1] / 1000.0);
    free(us);
    cel_client_close(c);
    return 0;
}

static json_t *
cpu_items(bool primes)
{
    json_t *items = json_array();

    for (int i = 0; i < (primes ? PRIMES_PARTS : SUM_CALLS); i++) {
        json_array_append_new(
            items,
            primes ? json_pack("[II]", (json_int_t)PRIMES_TO * i / PRIMES_PARTS,
                               (json_int_t)PRIMES_TO * (i + 1) / PRIMES_PARTS)
                   : json_integer(SUM_BASE + i));
    }
    return items;
}

/* The items i with i % parts == part, run in this process. */
static int64_t
run_inline(bool primes, json_t *items, int part, int parts)
{
    int64_t total = 0;
    size_t i;
    json_t *it;

    json_array_foreach (items, i, it) {
        if ((int)(i % (size_t)parts) != part) {
            continue;
        }
        total +=
            primes
                ? kernel_count_primes(json_integer_value(json_array_get(it, 0)),
                                      json_integer_value(json_array_get(it, 1)))
                : kernel_sum_all_values(json_integer_value(it));
    }
    return total;
}

/* run_inline in two processes at once; returns the sum of their totals. */
static int64_t
run_split(bool primes, json_t *items)
{
    int fds[2];
    int64_t total = 0;
    pid_t kids[2];

    if (pipe(fds) != 0) {
        die("pipe", strerror(errno));
    }
    for (int part = 0; part < 2; part++) {
        kids[part] = fork();
        if (kids[part] < 0) {
            die("fork", strerror(errno));
        }
        if (kids[part] == 0) {
            int64_t t = run_inline(primes, items, part, 2);
            _exit(write(fds[1], &t, sizeof(t)) == sizeof(t) ? 0 : 1);
        }
    }
    for (int part = 0; part < 2; part++) {
        int64_t t = 0;
        if (read(fds[0], &t, sizeof(t)) != sizeof(t)) {
            die("inline2", "a process failed");
        }
        total += t;
        waitpid(kids[part], NULL, 0);
    }
    close(fds[0]);
    close(fds[1]);
    return total;
}

/* queue: through the workers; NULL: in this process (split in two
 * processes when split). */
static int
cpu(const char *queue, bool split)
{
    cel_client_t *c = queue ? open_client(queue) : NULL;
    double secs[2];
    int64_t total[2] = {0, 0};

    for (int k = 0; k < 2; k++) {
        json_t *items = cpu_items(k == 1), *values = NULL;
        cel_error_t err;
        int64_t t0 = cel_clock_now_us();
        if (c != NULL) {
            int r = k == 0 ? cel_map(c, "sum_all_values", items, NULL, -1,
                                     &values, &err)
                           : cel_starmap(c, "count_primes", items, NULL, -1,
                                         &values, &err);
            if (r != 0) {
                die("map", err.text);
            }
        } else {
            int64_t t = split ? run_split(k == 1, items)
                              : run_inline(k == 1, items, 0, 1);
            values = json_pack("[I]", (json_int_t)t);
        }
        secs[k] = (double)(cel_clock_now_us() - t0) / 1e6;
        size_t i;
        json_t *v;
        json_array_foreach (values, i, v) {
            total[k] += json_integer_value(v);
        }
        json_decref(values);
        json_decref(items);
    }
    printf("{\"sum_all_values_s\": %.4f, \"count_primes_s\": %.4f, "
           "\"sum_check\": %lld, \"primes\": %lld}\n",
           secs[0], secs[1], (long long)total[0], (long long)total[1]);
    if (c != NULL) {
        cel_client_close(c);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";

    if (strcmp(mode, "throughput") == 0 && argc >= 4 && argc <= 6) {
        return throughput(atol(argv[2]), argv[3],
                          argc >= 5 && strcmp(argv[4], "transient") == 0,
                          argc == 6 ? (size_t)atol(argv[5]) : 0);
    }
    if (strcmp(mode, "fill") == 0 && argc == 4) {
        return fill(atol(argv[2]), argv[3]);
    }
    if (strcmp(mode, "fair") == 0 && argc == 4) {
        return fair(argv[2], atof(argv[3]));
    }
    if (strcmp(mode, "latency") == 0 && (argc == 4 || argc == 5)) {
        return latency(atol(argv[2]), argv[3],
                       argc == 5 && strcmp(argv[4], "transient") == 0);
    }
    if (strcmp(mode, "cpu") == 0 && argc == 3) {
        return cpu(argv[2], false);
    }
    if (strcmp(mode, "inline") == 0 || strcmp(mode, "inline2") == 0) {
        return cpu(NULL, strcmp(mode, "inline2") == 0);
    }
    fprintf(stderr, "usage: bench_tasks throughput N QUEUE [transient|"
                    "persistent [BYTES]] | fill N QUEUE | fair QUEUE LONG_S | "
                    "latency N "
                    "QUEUE [transient] | cpu QUEUE | inline | inline2\n");
    return 2;
}
