/* log.c: one formatted line per write(2), in Celery's format:
 * "[2026-12-02 12:00:00,123: WARNING/MainProcess] message" (local time,
 * a comma before the milliseconds, the level's name, the role). Lines
 * longer than the buffer are cut, never split across writes. A message
 * carries text from outside (task names, ids, a task's exception), so
 * bytes that are not UTF-8 and control characters (which could forge a
 * line or drive the terminal) are written as \xNN escapes. */
#include <cel/log.h>

#include "json_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int cel_log_threshold = CEL_LOG_INFO;
static char log_role[48] = "MainProcess";
static int log_fd = STDERR_FILENO;

void
cel_log_set_level(cel_log_level_t level)
{
    cel_log_threshold = (int)level;
}

int
cel_log_parse_level(const char *name, cel_log_level_t *out)
{
    static const struct {
        const char *name;
        cel_log_level_t level;
    } names[] = {
        {"critical", CEL_LOG_CRITICAL}, {"error", CEL_LOG_ERROR},
        {"warning", CEL_LOG_WARN},      {"warn", CEL_LOG_WARN},
        {"info", CEL_LOG_INFO},         {"debug", CEL_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return CEL_EINVAL;
}

void
cel_log_set_role(const char *role)
{
    snprintf(log_role, sizeof(log_role), "%s", role);
}

void
cel_log_set_fd(int fd)
{
    log_fd = fd;
}

/* Python's logging level names, as Celery prints them. */
static const char *
level_name(int level)
{
    static const char *const names[] = {"CRITICAL", "ERROR", "WARNING", "INFO",
                                        "DEBUG"};

    if (level < CEL_LOG_CRITICAL) {
        level = CEL_LOG_CRITICAL;
    }
    if (level > CEL_LOG_DEBUG) {
        level = CEL_LOG_DEBUG;
    }
    return names[level - CEL_LOG_CRITICAL];
}

/* "[2026-12-02 12:00:00,123: INFO/MainProcess] ": Python's logging
 * asctime (local time, milliseconds after a comma), as Celery's worker
 * writes it. */
static size_t
format_prefix(char *buf, size_t size, int level)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    int n = snprintf(buf, size, "[%s,%03ld: %s/%s] ", stamp,
                     ts.tv_nsec / 1000000L, level_name(level), log_role);
    return n < 0 ? 0 : (size_t)n;
}

static void
emit(char *buf, size_t len, size_t size)
{
    if (len >= size - 1) {
        len = size - 2;
    }
    buf[len++] = '\n';
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(log_fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        p += w;
        len -= (size_t)w;
    }
}

/* Does text[0..n) need escaping? */
static bool
unclean(const char *text, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch < 0x20 || ch == 0x7f ||
            (ch >= 0x80 &&
             cel__utf8_sequence((const unsigned char *)text + i, n - i) == 0)) {
            return true;
        }
    }
    return false;
}

/* Rewrites buf[from..*len) with control characters and bytes that are not
 * UTF-8 as \xNN; the line may then be cut at size. */
static void
clean(char *buf, size_t from, size_t *len, size_t size)
{
    char copy[2048];
    size_t n = *len - from, o = from;

    if (!unclean(buf + from, n) || n > sizeof(copy)) {
        return;
    }
    memcpy(copy, buf + from, n);
    for (size_t i = 0; i < n && o + 4 < size;) {
        const unsigned char *p = (const unsigned char *)copy + i;
        size_t seq = *p >= 0x80 ? cel__utf8_sequence(p, n - i) : 1;
        if (seq == 0 || *p < 0x20 || *p == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
            i++;
            continue;
        }
        memcpy(buf + o, p, seq);
        o += seq;
        i += seq;
    }
    *len = o;
}

static void log_vwrite(int level, const char *where, const char *fmt,
                       va_list ap, const char *suffix) CEL_PRINTF(3, 0);

static void
log_vwrite(int level, const char *where, const char *fmt, va_list ap,
           const char *suffix)
{
    char buf[2048];
    int saved = errno;
    size_t len = format_prefix(buf, sizeof(buf), level);

    size_t start = len;
    int n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
    if (n > 0) {
        len +=
            (size_t)n < sizeof(buf) - len ? (size_t)n : sizeof(buf) - len - 1;
    }
    if (len < sizeof(buf) && (suffix != NULL || where != NULL)) {
        n = snprintf(buf + len, sizeof(buf) - len, "%s%s%s", suffix ? ": " : "",
                     suffix ? suffix : "", where ? where : "");
        if (n > 0) {
            len += (size_t)n < sizeof(buf) - len ? (size_t)n
                                                 : sizeof(buf) - len - 1;
        }
    }
    clean(buf, start, &len, sizeof(buf));
    emit(buf, len, sizeof(buf));
    errno = saved;
}

void
cel_log_write(int level, const char *file, int line, const char *fmt, ...)
{
    char where[96];
    va_list ap;

    const char *w = NULL;
    if (level >= CEL_LOG_DEBUG) {
        const char *base = strrchr(file, '/');
        snprintf(where, sizeof(where), " (%s:%d)", base ? base + 1 : file,
                 line);
        w = where;
    }
    va_start(ap, fmt);
    log_vwrite(level, w, fmt, ap, NULL);
    va_end(ap);
}

void
cel_log_errno(int level, int errnum, const char *fmt, ...)
{
    va_list ap;

    if (level > cel_log_threshold) {
        return;
    }
    va_start(ap, fmt);
    log_vwrite(level, NULL, fmt, ap, strerror(errnum));
    va_end(ap);
}
