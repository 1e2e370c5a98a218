/* demo.c: the course notes' last example in C. Python:
 *
 *   results = [fun.delay(x) for x in range(1, 5)]
 *   while results:                      # print each result as it is ready
 *       result = results.pop()
 *       if result.ready(): print(result.result)
 *       else: results.append(result)
 *
 * Usage: demo [N]   (x = 1..N, default 12; broker from
 * $CELERIAC_BROKER_URL). Prints "x, x*x, pid" per result as it arrives,
 * then which processes did the work. */
#include <cel/producer.h>

#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_PIDS 64

static void
count_pid(int pid, int *pids, int *counts, int *npids)
{
    for (int i = 0; i < *npids; i++) {
        if (pids[i] == pid) {
            counts[i]++;
            return;
        }
    }
    if (*npids < MAX_PIDS) {
        pids[*npids] = pid;
        counts[(*npids)++] = 1;
    }
}

static int
collect(cel_result_t **results, int n)
{
    int pids[MAX_PIDS], counts[MAX_PIDS], npids = 0, left = n, failed = 0;
    cel_error_t err;

    while (left > 0) {
        for (int i = 0; i < n; i++) {
            const json_t *v;
            if (results[i] == NULL || !cel_result_ready(results[i])) {
                continue;
            }
            if (cel_result_get(results[i], 0, &v, &err) == 0) {
                json_int_t x, sq, pid;
                json_unpack((json_t *)v, "[III]", &x, &sq, &pid);
                printf("[%lld, %lld, %lld]\n", x, sq, pid);
                fflush(stdout);
                count_pid((int)pid, pids, counts, &npids);
            } else {
                printf("task %d failed: %s\n", i + 1, err.text);
                failed++;
            }
            cel_result_free(results[i]);
            results[i] = NULL;
            left--;
        }
        if (left > 0) {
            /* Block for the next reply instead of spinning on ready(). */
            for (int i = 0; i < n; i++) {
                if (results[i] != NULL) {
                    int rc = cel_result_wait(results[i], 50, NULL);
                    (void)rc; /* the loop above looks at every result */
                    break;
                }
            }
        }
    }
    printf("%d results from %d processes:", n - failed, npids);
    for (int i = 0; i < npids; i++) {
        printf(" pid %d ran %d;", pids[i], counts[i]);
    }
    printf("\n");
    return failed;
}

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 12;
    cel_client_t *c;
    cel_error_t err;

    if (n < 1 || n > 100000) {
        fprintf(stderr, "usage: demo [N]   (1 <= N <= 100000)\n");
        return 2;
    }
    if (cel_client_open(NULL, &c, &err) != 0) {
        fprintf(stderr, "demo: %s\n", err.text);
        return 1;
    }
    cel_result_t **results = calloc((size_t)n, sizeof(*results));
    for (int x = 1; x <= n; x++) {
        results[x - 1] = fun_delay(c, x);
        if (results[x - 1] == NULL) {
            fprintf(stderr, "demo: %s\n", cel_client_error(c));
            return 1;
        }
    }
    printf("sent fun(1..%d); results as they arrive:\n", n);
    fflush(stdout);
    int failed = collect(results, n);
    free(results);
    cel_client_close(c);
    return failed ? 1 : 0;
}
