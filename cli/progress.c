/* progress.c: the progress bar of progress.h. It writes only to stderr,
 * only when asked to (the caller decides: a terminal, or --progress), and
 * each draw is one write of the whole line, so a bar is never seen half
 * drawn. */
#include "progress.h"

#include <cel/clock.h>

#include <stdio.h>
#include <string.h>

#define BAR_WIDTH 20
#define REDRAW_MS 100 /* ten times a second at most */

void
cel__progress_init(cel_progress_t *p, bool on, int64_t total)
{
    memset(p, 0, sizeof(*p));
    p->on = on;
    p->total = total;
    p->started_at_ms = cel_clock_now_ms();
    p->drawn_at_ms = p->started_at_ms - REDRAW_MS;
}

/* "0:07", "12:34" or "1:02:03". */
static void
format_eta(char *out, size_t size, double seconds)
{
    long long s = (long long)(seconds + 0.5);

    if (s >= 3600) {
        snprintf(out, size, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60,
                 s % 60);
    } else {
        snprintf(out, size, "%lld:%02lld", s / 60, s % 60);
    }
}

void
cel__progress_format(char *out, size_t size, int64_t done, int64_t total,
                     int64_t elapsed_ms)
{
    double rate = elapsed_ms > 0 ? (double)done * 1000.0 / elapsed_ms : 0;
    char bar[BAR_WIDTH + 1], eta[32] = "-:--";

    if (total < 0) {
        snprintf(out, size, "%lld done  %.0f/s", (long long)done, rate);
        return;
    }
    int64_t fill = total > 0 ? done * BAR_WIDTH / total : BAR_WIDTH;
    for (int i = 0; i < BAR_WIDTH; i++) {
        bar[i] = i < fill ? '#' : '.';
    }
    bar[BAR_WIDTH] = '\0';
    if (rate > 0) {
        format_eta(eta, sizeof(eta), (double)(total - done) / rate);
    }
    snprintf(out, size, "[%s]  %lld/%lld  %lld%%  %.0f/s  ETA %s", bar,
             (long long)done, (long long)total,
             (long long)(total > 0 ? done * 100 / total : 100), rate, eta);
}

static void
draw(cel_progress_t *p, int64_t now_ms)
{
    char line[160];

    /* \r back to the start, then the bar, then erase what a longer
     * line drawn before may have left. */
    line[0] = '\r';
    cel__progress_format(line + 1, sizeof(line) - 8, p->done, p->total,
                         now_ms - p->started_at_ms);
    strcat(line, "\033[K");
    fputs(line, stderr);
    fflush(stderr);
    p->shown = true;
    p->drawn_at_ms = now_ms;
}

void
cel__progress_update(cel_progress_t *p, int64_t done)
{
    p->done = done;
    if (!p->on) {
        return;
    }
    int64_t now = cel_clock_now_ms();
    if (now - p->drawn_at_ms >= REDRAW_MS) {
        draw(p, now);
    }
}

void
cel__progress_clear(cel_progress_t *p)
{
    if (p->on && p->shown) {
        fputs("\r\033[K", stderr);
        p->shown = false;
        p->drawn_at_ms = cel_clock_now_ms() - REDRAW_MS; /* draw again soon */
    }
}

void
cel__progress_finish(cel_progress_t *p)
{
    if (p->on) {
        draw(p, cel_clock_now_ms());
        fputc('\n', stderr);
        p->shown = false;
    }
}
