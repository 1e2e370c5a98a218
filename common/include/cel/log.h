/* log.h: the daemon's logger, in the format of a Celery worker's log
 * (Celery's `[%(asctime)s: %(levelname)s/%(processName)s] %(message)s`):
 *   [2026-12-02 12:00:00,123: INFO/ForkPoolWorker-1] message
 * local time with a comma before the milliseconds, the level's name, the
 * process's role. One line per write(2) to stderr or to the descriptor
 * given to cel_log_set_fd, so lines from many children never interleave.
 * Libraries (producer, broker-client) never log; they return errors. */
#ifndef CEL_COMMON_LOG_H
#define CEL_COMMON_LOG_H

#include <cel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CEL_LOG_CRITICAL = -1,
    CEL_LOG_ERROR = 0,
    CEL_LOG_WARN = 1,
    CEL_LOG_INFO = 2,
    CEL_LOG_DEBUG = 3,
} cel_log_level_t;

/* The current threshold; read by CEL_LOG before it evaluates arguments. */
extern int cel_log_threshold;

/* CEL_LOG logs fmt at level if the level is enabled; the arguments are not
 * evaluated otherwise. Debug lines carry file:line. */
#define CEL_LOG(level, ...)                                                    \
    do {                                                                       \
        if ((level) <= cel_log_threshold) {                                    \
            cel_log_write((level), __FILE__, __LINE__, __VA_ARGS__);           \
        }                                                                      \
    } while (0)

/* cel_log_set_level sets the threshold. */
void cel_log_set_level(cel_log_level_t level);

/* cel_log_parse_level maps Celery's level names "critical", "error",
 * "warning" (or "warn"), "info", "debug" (any case) to a level in *out:
 * 0, or CEL_EINVAL for an unknown name. */
CEL_NODISCARD int cel_log_parse_level(const char *name, cel_log_level_t *out);

/* cel_log_set_role sets the role printed on each line, Celery's
 * processName: "MainProcess" for workerd's master, "ForkPoolWorker-N" for
 * its child N; any text (cut at 47 bytes). The string is copied. */
void cel_log_set_role(const char *role);

/* cel_log_set_fd makes the logger write to fd instead of stderr (2). The
 * descriptor stays the caller's to close; processes forked afterwards
 * write to it too. */
void cel_log_set_fd(int fd);

/* cel_log_write formats and writes one line; use CEL_LOG instead. */
void cel_log_write(int level, const char *file, int line, const char *fmt, ...)
    CEL_PRINTF(4, 5);

/* cel_log_errno logs fmt followed by ": strerror(errnum)". */
void cel_log_errno(int level, int errnum, const char *fmt, ...)
    CEL_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif
#endif
