/* primes.c: seed 001's prime counting, in C, on workerd: count_primes
 * over 0..N as one task, then over three ranges as three tasks at once,
 * each reported as it finishes, with the elapsed times side by side (the
 * notes ran Process(target=count_prime) three times and joined them).
 *
 * Usage: primes [N]   (default 3,000,000). Broker and queue from
 * $CELERIAC_BROKER_URL and $CELERIAC_QUEUE. */
#include "seed_common.h"

#include "tasks.h"

static long long
run_ranges(cel_client_t *c, int64_t n, int parts)
{
    cel_group_t *g = cel_group_new(c);
    cel_result_t *sent[3];
    long long total = 0;

    for (int i = 0; i < parts; i++) {
        sent[i] = count_primes_delay(c, n * i / parts, n * (i + 1) / parts);
        if (sent[i] == NULL || cel_group_add(g, sent[i]) != 0) {
            seed_die("count_primes", cel_client_error(c));
        }
    }
    /* Report each range as it finishes, as the notes' processes did. */
    cel_result_t *r;
    while ((r = cel_group_next(g, -1)) != NULL) {
        cel_error_t err;
        const json_t *v;
        int i = 0;
        while (sent[i] != r) {
            i++;
        }
        if (cel_result_get(r, 0, &v, &err) != 0) {
            seed_die("count_primes", err.text);
        }
        total += json_integer_value(v);
        printf("Process from %lld to %lld finished: %lld primes\n",
               (long long)(n * i / parts), (long long)(n * (i + 1) / parts),
               (long long)json_integer_value(v));
        cel_result_free(r);
    }
    cel_group_free(g);
    return total;
}

int
main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 3000000;
    cel_client_t *c = seed_open("primes");

    int64_t t0 = cel_clock_now_ms();
    long long single = run_ranges(c, n, 1);
    printf("Elapsed for single %.6f (%lld primes below %lld)\n",
           seed_elapsed(t0), single, (long long)n);

    t0 = cel_clock_now_ms();
    long long multiple = run_ranges(c, n, 3);
    printf("Elapsed for multiprocess %.6f (%lld primes below %lld)\n",
           seed_elapsed(t0), multiple, (long long)n);
    cel_client_close(c);
    return single == multiple ? 0 : 1;
}
