/* progress.h: a progress bar on stderr for long commands (celeriac map),
 * redrawn in place with \r at most ten times a second:
 *
 *   [##########..........]  1200/2000  60%  850/s  ETA 0:01
 *
 * or, with no total known, "1200 done  850/s". */
#ifndef CEL_CLI_PROGRESS_H
#define CEL_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    bool on;               /* drawing at all */
    bool shown;            /* a bar stands on the line now */
    int64_t total;         /* -1: not known */
    int64_t done;          /* as of the last update */
    int64_t started_at_ms; /* for the rate */
    int64_t drawn_at_ms;   /* the last draw, for the ten a second */
} cel_progress_t;

/* cel__progress_init starts p at 0 of total (-1: unknown); it draws
 * nothing unless on. */
void cel__progress_init(cel_progress_t *p, bool on, int64_t total);

/* cel__progress_update notes done and draws, unless it drew less than a
 * tenth of a second ago. */
void cel__progress_update(cel_progress_t *p, int64_t done);

/* cel__progress_clear erases the bar, before a line of other output goes
 * to the same terminal; the next update draws it again. */
void cel__progress_clear(cel_progress_t *p);

/* cel__progress_finish draws the last state and ends the line. */
void cel__progress_finish(cel_progress_t *p);

/* cel__progress_format writes the bar for done of total (-1: unknown)
 * after elapsed_ms into out (size bytes). */
void cel__progress_format(char *out, size_t size, int64_t done, int64_t total,
                          int64_t elapsed_ms);

#endif
