/* throughput.c: a quick figure, not a test: sends N add(i, i) tasks as
 * fast as it can, collects and checks every result, and prints tasks/s
 * from the first send to the last result, and the send rate alone.
 * Usage: throughput [N] [QUEUE]   (broker from $CELERIAC_BROKER_URL) */
#include <cel/clock.h>
#include <cel/producer.h>

#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_client_t *c;
    cel_error_t err;

    co.queue = argc > 2 ? argv[2] : NULL;
    if (n < 1 || cel_client_open(&co, &c, &err) != 0) {
        fprintf(stderr, "throughput: %s\n",
                n < 1 ? "usage: throughput [N] [QUEUE]" : err.text);
        return 2;
    }
    cel_result_t **rs = calloc((size_t)n, sizeof(*rs));
    int64_t t0 = cel_clock_now_ms();
    for (int i = 0; i < n; i++) {
        rs[i] = add_delay(c, i, i);
        if (rs[i] == NULL) {
            fprintf(stderr, "throughput: %s\n", cel_client_error(c));
            return 1;
        }
    }
    int64_t t1 = cel_clock_now_ms();
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const json_t *v;
        if (cel_result_get(rs[i], 60000, &v, &err) != 0 ||
            json_integer_value(v) != 2 * (json_int_t)i) {
            bad++;
        }
        cel_result_free(rs[i]);
    }
    int64_t t2 = cel_clock_now_ms();
    double total = (double)(t2 - t0) / 1000.0;
    printf("%d tasks in %.2fs: %.0f tasks/s end to end (sending alone: "
           "%.0f tasks/s); %d wrong or missing\n",
           n, total, n / (total > 0 ? total : 1e-3),
           n / ((double)(t1 - t0) / 1000.0 + 1e-3), bad);
    free(rs);
    cel_client_close(c);
    return bad ? 1 : 0;
}
