/* futures.c: seed 002's Pool.apply, apply_async and futures, in C, on
 * workerd: apply blocks for the value; apply_async returns at once; a list
 * of futures is polled with ready() until all are done, then successful()
 * and get() tell the values from the failure held in its future.
 *
 * Usage: futures [--quick]   (--quick: the sleeps are a tenth as long).
 * Broker and queue from $CELERIAC_BROKER_URL and $CELERIAC_QUEUE. */
#include "seed_common.h"

#include "tasks.h"

#include <unistd.h>

static void
apply_then_async(cel_client_t *c, double scale)
{
    cel_error_t err;
    json_t *v, *args = json_pack("[fii]", 1.0 * scale, 6, 7);
    const json_t *v1, *v2;

    /* r = pool.apply(slow_sum, [1, 6, 7]) */
    if (cel_apply(c, "slow_sum", args, NULL, NULL, -1, &v, &err) != 0) {
        seed_die("apply", err.text);
    }
    printf("Result is %lld\n", (long long)json_integer_value(v));
    json_decref(v);
    json_decref(args);

    cel_result_t *r1 = slow_sum_delay(c, 1.0 * scale, 6, 7);
    cel_result_t *r2 = slow_sum_delay(c, 1.0 * scale, 2, 3);
    if (cel_result_wait(r1, -1, &err) != 0 ||
        cel_result_get(r1, -1, &v1, &err) != 0) {
        seed_die("r1", err.text);
    }
    printf("Result one is %lld\n", (long long)json_integer_value(v1));
    if (cel_result_wait(r2, -1, &err) != 0 ||
        cel_result_get(r2, -1, &v2, &err) != 0) {
        seed_die("r2", err.text);
    }
    printf("Result two is %lld\n", (long long)json_integer_value(v2));
    cel_result_free(r1);
    cel_result_free(r2);
}

static void
poll_futures(cel_client_t *c, double scale)
{
    cel_result_t *futures[5] = {
        slow_sum_delay(c, 3 * scale, 6, 7),
        slow_diff_delay(c, 2 * scale, 5, 2),
        slow_sum_delay(c, 1 * scale, 8, 1),
        slow_diff_delay(c, 5 * scale, 9, 2),
        broken_function_delay(c, 4 * scale),
    };
    cel_error_t err;

    for (;;) {
        int all_finished = 1;
        puts("\nHave the workers finished?");
        for (int i = 0; i < 5; i++) {
            if (cel_result_ready(futures[i])) {
                printf("Process %d has finished\n", i);
            } else {
                all_finished = 0;
                printf("Process %d is running...\n", i);
            }
        }
        if (all_finished) {
            break;
        }
        (void)cel_clock_sleep_ms((int64_t)(1000 * scale), NULL);
    }
    puts("\nHere are the results.");
    for (int i = 0; i < 5; i++) {
        const json_t *v;
        if (cel_result_successful(futures[i]) &&
            cel_result_get(futures[i], 0, &v, &err) == 0) {
            printf("Process %d was successful. Result is %lld\n", i,
                   (long long)json_integer_value(v));
        } else {
            printf("Process %d failed!\n", i);
            /* the exception held in the future comes out at get() */
            if (cel_result_get(futures[i], 0, &v, &err) == CEL_ETASK) {
                printf("Error = <class '%s'> : %s\n",
                       cel_result_exc_type(futures[i]),
                       cel_result_exc_message(futures[i]));
            }
        }
        cel_result_free(futures[i]);
    }
}

int
main(int argc, char **argv)
{
    double scale = seed_quick(argc, argv) ? 0.1 : 1.0;
    cel_client_t *c = seed_open("futures");

    printf("Master process is PID %d\n", (int)getpid());
    apply_then_async(c, scale);
    poll_futures(c, scale);
    cel_client_close(c);
    return 0;
}
