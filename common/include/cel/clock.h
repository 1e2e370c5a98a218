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
 * of microseconds, so fewer digits would mean something else. Every value
 * cel_clock_parse_iso returns comes out in a form it reads back. */
void cel_clock_format_iso(int64_t wall_us, char out[CEL_ISO_SIZE]);

/* cel_clock_parse_iso reads an eta or expires header as Celery 5.2's
 * parse_iso8601 reads it, into microseconds since the epoch in wall_us.
 * The whole text must be: YYYY-M-D (four-digit year, one- or two-digit
 * month and day), optionally followed by any one character other than a
 * newline ("T", "t", " ", any UTF-8 character) and HH:MM, then optionally
 * :SS, then (only after :SS) optionally "." and one or more digits, then
 * optionally "Z" or +HH:MM / -HH:MM, or at the very end ISO 8601's basic
 * +HHMM / +HH (Celery's regex drops these and reads the time as UTC;
 * celeriac applies the offset written). No zone means UTC. Celery takes the
 * fraction's digits as a whole number of microseconds, so ".5" is 5 us
 * and ".000001" 1 us; a value over 999999 or more than 4300 digits is
 * refused. The fields must make a real date-time: year 1..9999, a day that
 * exists in its month, hour 0..23, minute and second 0..59 (no leap
 * second); a zone's minutes may be 00..99 but the offset must be under
 * 24 hours. Returns 0, or CEL_EINVAL for anything else: that includes text
 * of which Celery would read only a prefix and drop the rest (a
 * lower-case "z", a comma fraction, a one-digit hour, "T-1:00", trailing
 * text) and instants outside 0001-01-01..9999-12-31 UTC, which
 * Celery's worker cannot convert. */
int cel_clock_parse_iso(const char *text, int64_t *wall_us);

/* A duration this long (31 years) is as good as never: longer ones are
 * clamped to it, never wrapped. */
#define CEL_CLOCK_NEVER_S 1e9

/* cel_clock_span_s returns seconds clamped to [0, CEL_CLOCK_NEVER_S]:
 * 0 for a negative or NaN duration. */
double cel_clock_span_s(double seconds);

/* cel_clock_sleep_ms sleeps for ms milliseconds, resuming after signals
 * unless *stop becomes non-zero (stop may be NULL). Returns 0 when the full
 * time passed, 1 (not an error) when stopped early. */
int cel_clock_sleep_ms(int64_t ms, volatile int *stop);

#ifdef __cplusplus
}
#endif
#endif
