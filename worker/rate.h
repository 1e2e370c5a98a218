/* rate.h: task rate limits, Celery's way ("10/s", "100/m", "5/h", or a
 * number per second), shared by every child of a worker: a limit holds for
 * the worker as a whole, as Celery's does, not for each child.
 *
 * The limits live in the board (board.h), one entry per task name, each a
 * generic cell rate algorithm: the entry keeps the theoretical arrival
 * time of the next run, and a child takes a run by moving it on with one
 * compare-and-swap. A task over the limit gets the next turn reserved the
 * same way, and its child holds it (as an eta task) until then: tasks
 * over a limit run in the order they came, one per interval, with no herd
 * of held tasks waking at once to race for one turn. */
#ifndef CEL_WORKER_RATE_H
#define CEL_WORKER_RATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cel/error.h>

#define CEL_RATE_MAX 64 /* tasks with a limit, per worker */

typedef struct {
    atomic_uint seq;             /* odd while the entry is written */
    char name[128];              /* task name, "" for a free entry */
    _Atomic int64_t interval_us; /* between runs; 0: no limit */
    _Atomic int64_t tat_us;      /* the next run's theoretical time */
    _Atomic int64_t credit;      /* turns given back unused, run first */
    char text[24];               /* as given, e.g. "10/s" */
} cel_rate_t;

/* cel__rate_parse reads "N/s", "N/m", "N/h" or "N" (per second) into runs
 * per second: 0, or CEL_EINVAL. "0" (and "0/s"...) means no limit, as in
 * Celery. */
int cel__rate_parse(const char *text, double *per_s);

/* cel__rate_set sets (or with per_s 0 clears) task name's limit in the
 * table of CEL_RATE_MAX entries, its turns counted afresh (held tasks
 * take theirs again: ops.h's rates_gen). Returns 0, or CEL_ERANGE when
 * the table is full. */
int cel__rate_set(cel_rate_t *table, const char *name, double per_s,
                  const char *text);

/* cel__rate_take counts a run of task name and says when it may start:
 * 0 for now (now_us, monotonic), else in how many microseconds, its turn
 * then reserved and named in *turn (0 when none is): a task held for its
 * turn that leaves without running gives the turn back with
 * cel__rate_give_back, for the next run of its name to take at once. */
int64_t cel__rate_take(cel_rate_t *table, const char *name, int64_t now_us,
                       int *turn);
void cel__rate_give_back(cel_rate_t *table, int turn);

/* cel__rate_text copies name's limit as given into out ("" for none). */
void cel__rate_text(cel_rate_t *table, const char *name, char *out,
                    size_t size);

#endif
