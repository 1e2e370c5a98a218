/* as_completed.c: seed 004's futures read with as_completed, in C, on
 * workerd. Python:
 *
 *   futures = [pool.submit(f, x) for x in numbers]
 *   for future in cf.as_completed(futures):
 *       print("Result: f({:2d}) = {:3d} (from PID: {:6d})"
 *             .format(*future.result()))
 *
 * Usage: as_completed [N]   (N numbers in 1..20, default 10). Broker and
 * queue from $CELERIAC_BROKER_URL and $CELERIAC_QUEUE. */
#include "seed_common.h"

#include "tasks.h"

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;
    cel_client_t *c = seed_open("as_completed");
    cel_group_t *g = cel_group_new(c);
    cel_result_t *r;

    srand(251);
    for (int i = 0; i < n; i++) {
        r = fun_delay(c, 1 + rand() % 20);
        if (r == NULL || cel_group_add(g, r) != 0) {
            seed_die("submit", cel_client_error(c));
        }
    }
    while ((r = cel_group_next(g, -1)) != NULL) {
        json_int_t x, square, pid;
        json_unpack((json_t *)cel_result_value(r), "[III]", &x, &square, &pid);
        printf("Result: f(%2lld) = %3lld (from PID: %6lld)\n", x, square, pid);
        cel_result_free(r);
    }
    cel_group_free(g);
    cel_client_close(c);
    return 0;
}
