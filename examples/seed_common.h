/* seed_common.h: what the ports of the course notes share: opening the
 * client, the notes' timer lines, and printing lists as Python does. */
#ifndef CEL_EXAMPLES_SEED_COMMON_H
#define CEL_EXAMPLES_SEED_COMMON_H

#include <cel/clock.h>
#include <cel/producer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Opens a client on $CELERIAC_BROKER_URL and $CELERIAC_QUEUE, or exits. */
static inline cel_client_t *
seed_open(const char *prog)
{
    cel_client_t *c;
    cel_error_t err;

    if (cel_client_open(NULL, &c, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.text);
        exit(1);
    }
    return c;
}

/* Seconds since t0_ms, for the notes' "Finished: = 1.234" lines. */
static inline double
seed_elapsed(int64_t t0_ms)
{
    return (double)(cel_clock_now_ms() - t0_ms) / 1000.0;
}

/* Prints a JSON array as Python prints a list: [1, 2, 3]. */
static inline void
seed_print_list(const json_t *list)
{
    size_t i;
    json_t *v;

    putchar('[');
    json_array_foreach (list, i, v) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s%s", i ? ", " : "", text ? text : "?");
        free(text);
    }
    puts("]");
}

/* Reports a failed call and exits: the examples stop at the first error. */
static inline void
seed_die(const char *what, const char *text)
{
    fprintf(stderr, "%s: %s\n", what, text);
    exit(1);
}

/* --quick: smaller inputs and shorter sleeps, for the test suite. */
static inline int
seed_quick(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[argc - 1], "--quick") == 0;
}

#endif
