/* executor.c: seed 003's concurrent.futures example, in C, on workerd:
 * count(x) for x = 1..10 run here in sequence, then submitted to the
 * workers (printed as each finishes), then with map (in input order),
 * each timed.
 *
 * Usage: executor. Broker and queue from $CELERIAC_BROKER_URL and
 * $CELERIAC_QUEUE. */
#include "seed_common.h"

#include "tasks.h"

/* The notes' count(), run here for the sequential case; the workers run
 * the same loop as the count task. */
static int64_t
count_here(int64_t number)
{
    volatile int64_t i = 0;

    for (int64_t k = 0; k < 10000000; k++) {
        i = k + 1;
    }
    return i * number;
}

static void
submit_all(cel_client_t *c)
{
    cel_group_t *g = cel_group_new(c);
    cel_result_t *sent[11], *r;

    for (int item = 1; item <= 10; item++) {
        sent[item] = count_delay(c, item);
        if (sent[item] == NULL || cel_group_add(g, sent[item]) != 0) {
            seed_die("submit", cel_client_error(c));
        }
    }
    while ((r = cel_group_next(g, -1)) != NULL) {
        int item = 1;
        while (sent[item] != r) {
            item++;
        }
        printf("item %d result %lld\n", item,
               (long long)json_integer_value(cel_result_value(r)));
        cel_result_free(r);
    }
    cel_group_free(g);
}

int
main(void)
{
    cel_client_t *c = seed_open("executor");
    cel_error_t err;
    json_t *values, *items = json_array();

    int64_t t0 = cel_clock_now_ms();
    for (int item = 1; item <= 10; item++) {
        printf("item %d result %lld\n", item, (long long)count_here(item));
    }
    printf("Sequential execution in %.6f seconds\n\n", seed_elapsed(t0));

    t0 = cel_clock_now_ms();
    submit_all(c);
    printf("Process pool execution in %.6f seconds\n\n", seed_elapsed(t0));

    t0 = cel_clock_now_ms();
    for (int item = 1; item <= 10; item++) {
        json_array_append_new(items, json_integer(item));
    }
    if (cel_map(c, "count", items, NULL, -1, &values, &err) != 0) {
        seed_die("map", err.text);
    }
    printf("map: ");
    seed_print_list(values);
    printf("Map execution in %.6f seconds\n", seed_elapsed(t0));
    json_decref(values);
    json_decref(items);
    cel_client_close(c);
    return 0;
}
