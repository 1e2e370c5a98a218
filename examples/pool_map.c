/* pool_map.c: seed 000's process-pool examples, in C, on workerd.
 *
 *   Example 1  results = pool.map(sum_all_values, range(B, B + 100))
 *   Example 2  results = [pool.apply_async(sum_all_values, args=(x,))
 *                         for x in range(10000, 10000 + 10)]
 *              output = [p.get() for p in results]
 *   Example 3  the same with range(B, B + 100): Python fails here with
 *              "RuntimeError: can't allocate lock"; a result costs no
 *              lock here, so it simply works
 *   Example 4  pool.apply_async(..., callback=log_result) for each x, then
 *              pool.close(); pool.join(); print(result_list)
 *   Example 5  jobs added one by one with a sleep in between, callbacks
 *              collecting the results
 *
 * Usage: pool_map [--quick]  (B = 100,000,000; --quick: B = 100,000 and
 * 0.2 s sleeps). Broker and queue from $CELERIAC_BROKER_URL and
 * $CELERIAC_QUEUE. */
#include "seed_common.h"

#include "tasks.h"

static json_t *
range(int64_t from, int64_t n)
{
    json_t *a = json_array();

    for (int64_t x = from; x < from + n; x++) {
        json_array_append_new(a, json_integer(x));
    }
    return a;
}

static void
example1(cel_client_t *c, int64_t base)
{
    cel_error_t err;
    json_t *values, *items = range(base, 100);
    int64_t t0 = cel_clock_now_ms();

    puts("Example 1: map");
    if (cel_map(c, "sum_all_values", items, NULL, -1, &values, &err) != 0) {
        seed_die("map", err.text);
    }
    printf("Finished:  = %.8f\n", seed_elapsed(t0));
    seed_print_list(values);
    json_decref(values);
    json_decref(items);
}

/* Examples 2 and 3: a list of futures, then a list of their values. */
static void
futures_then_get(cel_client_t *c, int64_t from, int64_t n)
{
    cel_result_t **results = calloc((size_t)n, sizeof(*results));
    json_t *output = json_array();
    int64_t t0 = cel_clock_now_ms();
    cel_error_t err;

    for (int64_t i = 0; i < n; i++) {
        results[i] = sum_all_values_delay(c, from + i);
        if (results[i] == NULL) {
            seed_die("apply_async", cel_client_error(c));
        }
    }
    /* do something else */
    for (int64_t i = 0; i < n; i++) {
        const json_t *v;
        if (cel_result_get(results[i], -1, &v, &err) != 0) {
            seed_die("get", err.text);
        }
        json_array_append(output, (json_t *)v);
        cel_result_free(results[i]);
    }
    printf("Finished:  = %.8f\n", seed_elapsed(t0));
    seed_print_list(output);
    json_decref(output);
    free(results);
}

/* log_result runs in this program's own thread, inside the library's
 * calls, so it can append to a plain list with no lock. */
static void
log_result(cel_result_t *r, void *arg)
{
    json_array_append((json_t *)arg, (json_t *)cel_result_value(r));
}

static void
example4(cel_client_t *c, int64_t base)
{
    json_t *result_list = json_array();
    cel_opts_t o = CEL_OPTS_INIT;
    int64_t t0 = cel_clock_now_ms();
    cel_error_t err;

    puts("Example 4: apply_async with a callback, then close and join");
    o.callback = log_result;
    o.callback_arg = result_list;
    printf("Before For loop = %.8f\n", seed_elapsed(t0));
    for (int64_t i = base; i < base + 100; i++) {
        cel_result_free(sum_all_values_apply_async(c, &o, i));
    }
    printf("After For loop = %.8f\n", seed_elapsed(t0));
    /* Do something while the workers do their work, then: */
    if (cel_client_join(c, -1, &err) != 0) {
        seed_die("join", err.text);
    }
    printf("Finished:  = %.8f\n", seed_elapsed(t0));
    seed_print_list(result_list);
    json_decref(result_list);
}

static void
example5(cel_client_t *c, int64_t base, int64_t sleep_ms)
{
    json_t *result_list = json_array();
    cel_opts_t o = CEL_OPTS_INIT;
    int64_t t0 = cel_clock_now_ms();
    cel_error_t err;

    puts("Example 5: jobs added while the workers run");
    o.callback = log_result;
    o.callback_arg = result_list;
    for (int i = 0; i < 4; i++) {
        if (i > 0) {
            /* Do something: here, sleep. Callbacks of jobs that finish
             * meanwhile run at the next call into the library. */
            (void)cel_clock_sleep_ms(sleep_ms, NULL);
        }
        cel_result_free(sum_all_values_apply_async(c, &o, base + i));
    }
    if (cel_client_join(c, -1, &err) != 0) {
        seed_die("join", err.text);
    }
    printf("Finished:  = %.8f\n", seed_elapsed(t0));
    seed_print_list(result_list);
    json_decref(result_list);
}

int
main(int argc, char **argv)
{
    int quick = seed_quick(argc, argv);
    int64_t base = quick ? 100000 : 100000000;
    cel_client_t *c = seed_open("pool_map");

    example1(c, base);
    puts("Example 2: apply_async, then get");
    futures_then_get(c, 10000, 10);
    puts("Example 3: the same with 100 large jobs in flight");
    futures_then_get(c, base, 100);
    example4(c, base);
    example5(c, base, quick ? 200 : 1000);
    cel_client_close(c);
    return 0;
}
