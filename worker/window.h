/* window.h: how many unacked tasks each consumer of a child may hold (its
 * basic.qos prefetch count). Unless --prefetch-multiplier fixes it, the
 * window follows the run times of the child's tasks: wide while tasks are
 * short, so the child never waits on the broker, and narrow while they
 * are long, so that no task waits long in a busy child's window. */
#ifndef CEL_WORKER_WINDOW_H
#define CEL_WORKER_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#define CEL_WINDOW_START 4 /* before any task ran */
#define CEL_WINDOW_MAX                                                         \
    256 /* no wider: the benchmark's tuned rows gain                           \
           nothing past it (docs/PERFORMANCE.md) */
#define CEL_WINDOW_TASK_COST_US 50 /* a task's own cost beyond its run */

typedef struct {
    int size;          /* the window the consumers were started with */
    int want;          /* the window the run times call for */
    bool fixed;        /* set by --prefetch-multiplier */
    int64_t mean_us;   /* moving mean of run times; 0 before the first */
    int64_t budget_us; /* the work a full window may stand for */
} cel_window_t;

/* cel__window_init sets a fixed window of fixed_size (> 0), or an adaptive
 * one (0) that holds about budget_us of work. */
void cel__window_init(cel_window_t *w, int fixed_size, int64_t budget_us);

/* cel__window_note counts a task that ran for run_us. Returns true when
 * w->want is far enough from w->size to start the consumers again. */
bool cel__window_note(cel_window_t *w, int64_t run_us);

#endif
