/* log.c: one formatted line per write(2) on stderr: UTC time with
 * milliseconds, pid, role, level letter, message. Lines longer than the
 * buffer are cut, never split across writes. */
#include <cel/log.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int cel_log_threshold = CEL_LOG_INFO;
static char log_role[32] = "main";

void
cel_log_set_level(cel_log_level_t level)
{
    cel_log_threshold = (int)level;
}

int
cel_log_parse_level(const char *name)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {
        {"critical", CEL_LOG_ERROR}, {"error", CEL_LOG_ERROR},
        {"warning", CEL_LOG_WARN},   {"warn", CEL_LOG_WARN},
        {"info", CEL_LOG_INFO},      {"debug", CEL_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            return names[i].level;
        }
    }
    return -1;
}

void
cel_log_set_role(const char *role)
{
    snprintf(log_role, sizeof(log_role), "%s", role);
}

static size_t
format_prefix(char *buf, size_t size, int level)
{
    static const char letters[] = "EWID";
    struct timespec ts;
    struct tm tm;
    char stamp[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    int n =
        snprintf(buf, size, "%s.%03ldZ %d %s %c ", stamp, ts.tv_nsec / 1000000L,
                 (int)getpid(), log_role, letters[level & 3]);
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
        ssize_t w = write(STDERR_FILENO, p, len);
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

static void log_vwrite(int level, const char *where, const char *fmt,
                       va_list ap, const char *suffix) CEL_PRINTF(3, 0);

static void
log_vwrite(int level, const char *where, const char *fmt, va_list ap,
           const char *suffix)
{
    char buf[2048];
    int saved = errno;
    size_t len = format_prefix(buf, sizeof(buf), level);

    int n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
    if (n > 0) {
        len += (size_t)n;
    }
    if (len < sizeof(buf) && (suffix != NULL || where != NULL)) {
        n = snprintf(buf + len, sizeof(buf) - len, "%s%s%s", suffix ? ": " : "",
                     suffix ? suffix : "", where ? where : "");
        if (n > 0) {
            len += (size_t)n;
        }
    }
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
