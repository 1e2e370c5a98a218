/* log.h: the daemon's logger. One line per write(2) to stderr, so lines
 * from many children never interleave:
 *   2025-01-02T03:04:05.678Z 1234 child-3 W message
 * Libraries (producer, broker-client) never log; they return errors. */
#ifndef CEL_COMMON_LOG_H
#define CEL_COMMON_LOG_H

#include <cel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
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

/* cel_log_parse_level maps "error", "warn"/"warning", "info", "debug"
 * (any case; also Celery's "critical") to a level in *out: 0, or
 * CEL_EINVAL for an unknown name. */
CEL_NODISCARD int cel_log_parse_level(const char *name, cel_log_level_t *out);

/* cel_log_set_role sets the role printed on each line, e.g. "main" or
 * "child-3". The string is copied. */
void cel_log_set_role(const char *role);

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
