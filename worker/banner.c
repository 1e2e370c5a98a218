/* banner.c: the banner Celery's worker prints as it starts, for workerd:
 *
 *  -------------- celery@host celeriac v1.0.0
 * --- ***** -----
 * -- ******* ---- Linux-6.1.0-x86_64-with-glibc2.36 2026-12-02 12:00:00
 * - *** --- * ---
 * - ** ---------- [config]
 * - ** ---------- .> app:         /usr/lib/tasks.so
 * - ** ---------- .> transport:   amqp://guest:***@localhost:5672//
 * - ** ---------- .> results:     rpc://
 * - *** --- * --- .> concurrency: 4 (prefork)
 * -- ******* ---- .> task events: OFF (enable -E to monitor tasks in ...)
 * --- ***** -----
 *  -------------- [queues]
 *                 .> celery           exchange=celery(direct) key=celery
 *
 * [tasks]
 *   . add
 *
 * The text column and the art are joined as Celery joins them (art, a
 * space, text; 16 spaces once the art runs out), and the task list comes
 * at -l info and debug only, as Celery's does. The broker URL is only
 * ever shown redacted. */
#include "banner.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include <cel/url.h>

#ifndef CEL_VERSION
#define CEL_VERSION "0"
#endif

static const char *const art[] = {
    " --------------", "--- ***** -----", "-- ******* ----", "- *** --- * ---",
    "- ** ----------", "- ** ----------", "- ** ----------", "- ** ----------",
    "- *** --- * ---", "-- ******* ----", "--- ***** -----", " --------------",
};

/* Writes the next line of the banner's text column, after its art. */
static void line(FILE *f, size_t *n, const char *fmt, ...) CEL_PRINTF(3, 4);

static void
line(FILE *f, size_t *n, const char *fmt, ...)
{
    va_list ap;

    if (*n < sizeof(art) / sizeof(art[0])) {
        fprintf(f, "%s ", art[*n]);
    } else {
        fprintf(f, "%16s", "");
    }
    (*n)++;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
}

/* Python's platform.platform() on Linux: "Linux-6.1.0-x86_64-with-glibc2.36".
 */
static void
system_name(char *out, size_t size)
{
    struct utsname u;
    const char *libc = "";

    if (uname(&u) != 0) {
        snprintf(out, size, "unknown");
        return;
    }
#ifdef __GLIBC__
    libc = gnu_get_libc_version();
#endif
    snprintf(out, size, "%s-%s-%s%s%s", u.sysname, u.release, u.machine,
             libc[0] ? "-with-glibc" : "", libc);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The queues, sorted by name, as kombu names their exchanges. */
static void
queues(FILE *f, size_t *n, const cel_worker_config_t *cfg)
{
    const char *sorted[CEL_MAX_QUEUES];
    int count = cfg->nqueues;

    memcpy(sorted, cfg->queues, (size_t)count * sizeof(sorted[0]));
    qsort(sorted, (size_t)count, sizeof(sorted[0]), by_name);
    for (int i = 0; i < count; i++) {
        line(f, n, ".> %-16s exchange=%s(direct) key=%s", sorted[i], sorted[i],
             sorted[i]);
    }
    if (count == 1) {
        line(f, n, "%s", ""); /* Celery leaves one there too */
    }
}

static void
config(FILE *f, size_t *n, const cel_worker_config_t *cfg)
{
    char apps[1024] = "", where[600];
    size_t o = 0;

    for (int i = 0; i < cfg->napps && o < sizeof(apps); i++) {
        int k = snprintf(apps + o, sizeof(apps) - o, "%s%s", i ? ", " : "",
                         cfg->apps[i]);
        o += k > 0 ? (size_t)k : 0;
    }
    cel_url_list_redact(cfg->broker_url, where, sizeof(where));
    line(f, n, ".> app:         %s", apps);
    line(f, n, ".> transport:   %s", where);
    line(f, n, ".> results:     rpc://");
    line(f, n, ".> concurrency: %d (prefork)", cfg->concurrency);
    line(f, n, ".> task events: %s",
         cfg->task_events ? "ON"
                          : "OFF (enable -E to monitor tasks in this worker)");
}

static void
tasks(FILE *f, const cel_registry_t *reg)
{
    const char **names = calloc(reg->count + 1, sizeof(*names));

    if (names == NULL) {
        return;
    }
    for (size_t i = 0; i < reg->count; i++) {
        names[i] = reg->entries[i].name;
    }
    qsort(names, reg->count, sizeof(*names), by_name);
    fputs("\n[tasks]\n", f);
    for (size_t i = 0; i < reg->count; i++) {
        fprintf(f, "  . %s\n", names[i]);
    }
    free(names);
}

static void
compose(FILE *f, const cel_worker_config_t *cfg, const cel_registry_t *reg)
{
    char sys[600], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    size_t n = 0;

    system_name(sys, sizeof(sys));
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    fputs(" \n", f);
    line(f, &n, "%s celeriac v%s", cfg->hostname, CEL_VERSION);
    line(f, &n, "%s", "");
    line(f, &n, "%s %s", sys, stamp);
    line(f, &n, "%s", "");
    line(f, &n, "[config]");
    config(f, &n, cfg);
    line(f, &n, "%s", "");
    line(f, &n, "[queues]");
    queues(f, &n, cfg);
    if (cfg->loglevel >= CEL_LOG_INFO) {
        tasks(f, reg);
    }
    fputc('\n', f);
}

void
cel__banner_print(int fd, const cel_worker_config_t *cfg,
                  const cel_registry_t *reg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f == NULL) {
        return;
    }
    compose(f, cfg, reg);
    if (fclose(f) != 0) {
        free(text);
        return;
    }
    for (const char *p = text; len > 0;) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    free(text);
}
