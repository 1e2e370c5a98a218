/* inflight.c: how much a pending result costs. Sends N add tasks (default
 * 1,000,000) to a fresh queue no worker reads, so all N are in flight at
 * once, and prints the producer's heap and RSS growth per pending result
 * and its peak RSS. With --collect it then waits for every result (start
 * workers on the printed queue) and checks them; otherwise it deletes the
 * queue and its messages.
 * Usage: bench_inflight [N] [--collect]   (broker: $CELERIAC_BROKER_URL) */
#include <cel/broker.h>
#include <cel/clock.h>
#include <cel/id.h>
#include <cel/producer.h>

#include "tasks.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static size_t
heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static size_t
rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        fclose(f);
    }
    return (size_t)resident * 4096;
}

static int
drop_queue(const char *queue)
{
    cel_broker_t *b;
    cel_error_t err;
    cel_broker_opts_t bo = CEL_BROKER_OPTS_INIT;
    const char *url = getenv("CELERIAC_BROKER_URL");

    /* Deleting a queue of a million persistent messages takes the broker
     * minutes on a slow disk: wait for it, as long as the bench allows. */
    bo.rpc_timeout_ms = 30 * 60 * 1000;

    if (cel_broker_open(url ? url : "amqp://guest:guest@localhost:5672//", &bo,
                        &b, &err) != 0 ||
        cel_broker_delete_queue(b, queue, &err) != 0) {
        fprintf(stderr, "bench_inflight: deleting %s: %s\n", queue, err.text);
        return 1;
    }
    cel_broker_close(b);
    return 0;
}

static int
collect(cel_client_t *c, cel_result_t **rs, long n)
{
    cel_error_t err;
    long bad = 0;
    int64_t t0 = cel_clock_now_ms();

    for (long i = 0; i < n; i++) {
        const json_t *v;
        if (cel_result_get(rs[i], -1, &v, &err) != 0 ||
            json_integer_value(v) != i + 1) {
            bad++;
        }
        cel_result_free(rs[i]);
    }
    printf("collected %ld results in %.1f s, %ld wrong\n", n,
           (double)(cel_clock_now_ms() - t0) / 1000.0, bad);
    cel_client_close(c);
    return bad != 0;
}

int
main(int argc, char **argv)
{
    long n = argc > 1 && argv[1][0] != '-' ? atol(argv[1]) : 1000000;
    bool want_collect = strcmp(argv[argc - 1], "--collect") == 0;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_client_t *c;
    cel_error_t err;
    char queue[80] = "bench-inflight-";

    cel_id_new(queue + strlen(queue));
    co.queue = queue;
    if (n < 1 || cel_client_open(&co, &c, &err) != 0) {
        fprintf(stderr, "bench_inflight: %s\n",
                n < 1 ? "usage: bench_inflight [N] [--collect]" : err.text);
        return 2;
    }
    /* The program's own array of handles is made and touched first, so
     * the growth measured below is the library's alone. */
    cel_result_t **rs = calloc((size_t)n, sizeof(*rs));
    memset(rs, 0xff, (size_t)n * sizeof(*rs));
    size_t heap0 = heap_bytes(), rss0 = rss_bytes();
    int64_t t0 = cel_clock_now_ms();
    for (long i = 0; i < n; i++) {
        rs[i] = add_delay(c, i, 1);
        if (rs[i] == NULL) {
            fprintf(stderr, "bench_inflight: task %ld: %s\n", i,
                    cel_client_error(c));
            return 1;
        }
    }
    double secs = (double)(cel_clock_now_ms() - t0) / 1000.0;
    size_t pending = cel_client_pending(c);
    size_t heap1 = heap_bytes(), rss1 = rss_bytes();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("queue %s\n", queue);
    printf("%zu tasks in flight, sent in %.1f s (%.0f tasks/s)\n", pending,
           secs, (double)n / (secs > 0 ? secs : 1e-3));
    printf("bytes per pending result: %.1f (heap), %.1f (RSS)\n",
           (double)(heap1 - heap0) / (double)n,
           (double)(rss1 - rss0) / (double)n);
    printf("producer peak RSS: %.1f MiB (of which %.1f MiB is the "
           "program's own array of %ld handles)\n",
           (double)ru.ru_maxrss / 1024.0, (double)n * sizeof(*rs) / 1048576.0,
           n);
    fflush(stdout);
    if (want_collect) {
        int r = collect(c, rs, n);
        free(rs);
        return drop_queue(queue) || r;
    }
    for (long i = 0; i < n; i++) {
        cel_result_free(rs[i]);
    }
    free(rs);
    cel_client_close(c);
    return drop_queue(queue);
}
