/* window.c: the adaptive prefetch window. The window stands for about
 * budget_us of work: budget / (mean run time + a task's own cost), as a
 * power of two from 1 to CEL_WINDOW_MAX. RabbitMQ applies a new basic.qos
 * only to consumers started after it, so a change costs a restart of the
 * consumers (two round trips); it is made only when the wanted window is
 * twice the current one or more, or a quarter of it or less, and the mean moves
 * an eighth of the way per task, so the window settles instead of
 * flapping. */
#include "window.h"

void
cel__window_init(cel_window_t *w, int fixed_size, int64_t budget_us)
{
    w->fixed = fixed_size > 0;
    w->size = w->fixed ? fixed_size : CEL_WINDOW_START;
    w->want = w->size;
    w->mean_us = 0;
    w->budget_us = budget_us;
}

static int
wanted(int64_t mean_us, int64_t budget_us)
{
    int64_t fits = budget_us / (mean_us + CEL_WINDOW_TASK_COST_US);
    int n = 1;

    while (n < CEL_WINDOW_MAX && 2 * (int64_t)n <= fits) {
        n *= 2;
    }
    return n;
}

bool
cel__window_note(cel_window_t *w, int64_t run_us)
{
    if (w->fixed) {
        return false;
    }
    run_us = run_us < 0 ? 0 : run_us;
    w->mean_us =
        w->mean_us == 0 ? run_us + 1 : w->mean_us + (run_us - w->mean_us) / 8;
    w->want = wanted(w->mean_us, w->budget_us);
    return w->want >= 2 * w->size || 4 * w->want <= w->size;
}
