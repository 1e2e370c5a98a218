/* clock.c: time helpers. Deadlines use CLOCK_MONOTONIC so that a wall
 * clock step never fires or stalls a timeout. */
#include <cel/clock.h>
#include <cel/error.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t
cel_clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
cel_clock_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
cel_clock_wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
cel_clock_format_iso(int64_t wall_us, char out[CEL_ISO_SIZE])
{
    time_t secs = (time_t)(wall_us / 1000000);
    long us = (long)(wall_us % 1000000);
    struct tm tm;
    char stamp[24];

    if (us < 0) {
        us += 1000000;
        secs -= 1;
    }
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, CEL_ISO_SIZE, "%s.%06ld+00:00", stamp, us);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, so
 * that parsing does not depend on the process's TZ (timegm is not POSIX). */
static int64_t
days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
parse_fraction(const char **p, int64_t *us)
{
    int64_t scale = 100000;

    *us = 0;
    if (**p != '.' && **p != ',') {
        return 0;
    }
    (*p)++;
    if (**p < '0' || **p > '9') {
        return -1;
    }
    while (**p >= '0' && **p <= '9') {
        *us += (**p - '0') * scale;
        scale /= 10;
        (*p)++;
    }
    return 0;
}

static int
parse_zone(const char *p, int64_t *offset_s)
{
    int hh, mm, n = 0;

    *offset_s = 0;
    if (*p == '\0' || strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
        return 0;
    }
    if ((*p != '+' && *p != '-') ||
        sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || p[1 + n] != '\0' ||
        hh > 23 || mm > 59) {
        return -1;
    }
    *offset_s = (int64_t)(hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
    return 0;
}

int
cel_clock_parse_iso(const char *text, int64_t *wall_us)
{
    int y, mo, d, h, mi, s, n = 0;
    int64_t us, offset_s;

    if (text == NULL ||
        sscanf(text, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
               &s, &n) != 6 ||
        n < 19) {
        return CEL_EINVAL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
        return CEL_EINVAL;
    }
    const char *p = text + n;
    if (parse_fraction(&p, &us) != 0 || parse_zone(p, &offset_s) != 0) {
        return CEL_EINVAL;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    *wall_us = (secs - offset_s) * 1000000 + us;
    return 0;
}

int
cel_clock_sleep_ms(int64_t ms, volatile int *stop)
{
    int64_t deadline = cel_clock_now_ms() + ms;

    for (;;) {
        int64_t left = deadline - cel_clock_now_ms();
        if (left <= 0) {
            return 0;
        }
        if (stop != NULL && *stop) {
            return -1;
        }
        struct timespec ts = {.tv_sec = (time_t)(left / 1000),
                              .tv_nsec = (long)(left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}
