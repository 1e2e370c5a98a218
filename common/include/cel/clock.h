/* clock.h: monotonic milliseconds for deadlines, wall-clock microseconds
 * and the ISO-8601 form Celery reads and writes (eta, expires). */
#ifndef CEL_COMMON_CLOCK_H
#define CEL_COMMON_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CEL_ISO_SIZE 40

/* cel_clock_now_ms returns CLOCK_MONOTONIC in milliseconds; _us in
 * microseconds, for measuring. */
int64_t cel_clock_now_ms(void);
int64_t cel_clock_now_us(void);

/* cel_clock_wall_us returns the UTC wall clock in microseconds since the
 * epoch. */
int64_t cel_clock_wall_us(void);

/* cel_clock_format_iso writes wall_us as "YYYY-MM-DDTHH:MM:SS.ffffff+00:00",
 * always with six fraction digits: Celery 5.2 reads the fraction as a count
 * of microseconds, so fewer digits would mean something else. */
void cel_clock_format_iso(int64_t wall_us, char out[CEL_ISO_SIZE]);

/* cel_clock_parse_iso parses an ISO-8601 date-time with an optional
 * fraction and an optional zone (Z or +HH:MM; none means UTC) into wall_us.
 * Returns 0, or CEL_EINVAL if text is not such a date-time. */
int cel_clock_parse_iso(const char *text, int64_t *wall_us);

/* cel_clock_sleep_ms sleeps for ms milliseconds, resuming after signals
 * unless *stop becomes non-zero (stop may be NULL). Returns 0 when the full
 * time passed, -1 when stopped early. */
int cel_clock_sleep_ms(int64_t ms, volatile int *stop);

#ifdef __cplusplus
}
#endif
#endif
