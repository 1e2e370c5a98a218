/* clock.c: time helpers. Deadlines use CLOCK_MONOTONIC so that a wall
 * clock step never fires or stalls a timeout.
 *
 * The ISO-8601 parser follows Celery 5.2's parse_iso8601
 * (celery/utils/iso8601.py): its regex, read left to right the way
 * Python's re.match reads it (every repeat and optional group as long as
 * it matches, nothing taken back), then the range checks of Python's
 * datetime and pytz's FixedOffset. Where the regex would stop early and
 * Celery drop the rest of the text, which can be a zone or a time, we
 * refuse instead. interop_iso8601 compares the two on thousands of strings
 * (tests/unit/iso8601_cases.py). */
#include <cel/clock.h>
#include <cel/error.h>

#include "json_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define US_PER_S 1000000
/* Python's int() refuses longer digit strings (sys.int_max_str_digits). */
#define MAX_FRACTION_DIGITS 4300
/* Python's datetime range, 0001-01-01 to 9999-12-31, in UTC: Celery's
 * worker fails to convert an eta outside it. */
#define MIN_WALL_US (-62135596800000000LL)
#define MAX_WALL_US 253402300799999999LL

/* What Celery's regex captures, before datetime checks the ranges. */
typedef struct {
    int year, month, day, hour, minute, second;
    int64_t us;             /* the fraction's digits as an integer */
    size_t fraction_digits; /* leading zeros included */
    int zone_min;           /* east of UTC */
} iso_fields_t;

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

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, and
 * back, so that neither direction depends on the process's TZ (timegm is
 * not POSIX) or on strftime, whose %Y does not pad years before 1000. */
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

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void
cel_clock_format_iso(int64_t wall_us, char out[CEL_ISO_SIZE])
{
    int64_t secs = wall_us / US_PER_S, us = wall_us % US_PER_S;
    int y, m, d;

    if (us < 0) {
        us += US_PER_S;
        secs -= 1;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    civil_from_days(days, &y, &m, &d);
    /* The casts tell GCC's truncation check what month and day can be. */
    snprintf(out, CEL_ISO_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", y,
             (unsigned char)m, (unsigned char)d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60), (int)us);
}

/* Exactly n ASCII digits (the regex says [0-9], not any Unicode digit). */
static bool
take_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* [0-9]{1,2}: a second digit is taken whenever there is one. */
static bool
take_1_or_2(const char **p, int *out)
{
    int next;

    if (!take_digits(p, 1, out)) {
        return false;
    }
    if (take_digits(p, 1, &next)) {
        *out = *out * 10 + next;
    }
    return true;
}

static bool
take_char(const char **p, char c)
{
    if (**p != c) {
        return false;
    }
    (*p)++;
    return true;
}

/* The regex's "." between date and time: any one character but a newline,
 * which in our UTF-8 text is one well-formed sequence. */
static bool
take_separator(const char **p)
{
    if (**p == '\0' || **p == '\n') {
        return false;
    }
    size_t n = cel__utf8_sequence((const unsigned char *)*p, strnlen(*p, 4));
    *p += n;
    return n > 0;
}

/* "." and one or more digits, which Celery passes to datetime as the
 * microsecond: ".5" is 5 us. The count stops growing past the largest
 * value datetime takes, so any number of digits fits. */
static void
take_fraction(const char **p, iso_fields_t *f)
{
    if (**p != '.' || (*p)[1] < '0' || (*p)[1] > '9') {
        return;
    }
    for ((*p)++; **p >= '0' && **p <= '9'; (*p)++) {
        if (f->us < US_PER_S) {
            f->us = f->us * 10 + (**p - '0');
        }
        f->fraction_digits++;
    }
}

/* Z, or [+-]HH:MM; pytz's FixedOffset then checks only the total, so the
 * minutes may run to 99. Also ISO 8601's basic forms [+-]HHMM and [+-]HH
 * when they end the text: Celery's regex stops before them and reads the
 * time as UTC, which is off by the offset; celeriac reads the offset the
 * sender wrote. */
static void
take_zone(const char **p, iso_fields_t *f)
{
    const char *s = *p + 1, *t;
    int hh, mm = 0;

    if (**p == 'Z') {
        *p = s;
        return;
    }
    if ((**p != '+' && **p != '-') || !take_digits(&s, 2, &hh)) {
        return;
    }
    t = s;
    bool extended = take_char(&t, ':') && take_digits(&t, 2, &mm);
    if (!extended) {
        t = s;
        mm = take_digits(&t, 2, &mm) ? mm : 0;
        if (*t != '\0') {
            return; /* neither form: left unread, so refused */
        }
    }
    f->zone_min = (hh * 60 + mm) * (**p == '-' ? -1 : 1);
    *p = t;
}

/* The date is required whole: Celery's parser raises when the month or the
 * day is missing. */
static bool
take_date(const char **p, iso_fields_t *f)
{
    return take_digits(p, 4, &f->year) && take_char(p, '-') &&
           take_1_or_2(p, &f->month) && take_char(p, '-') &&
           take_1_or_2(p, &f->day);
}

/* Separator, HH:MM, then an optional :SS with an optional fraction, then
 * an optional zone. Each optional part that does not match is left
 * unread, as the regex's optional groups leave it. */
static bool
take_time(const char **p, iso_fields_t *f)
{
    const char *s = *p;

    if (!take_separator(&s) || !take_digits(&s, 2, &f->hour) ||
        !take_char(&s, ':') || !take_digits(&s, 2, &f->minute)) {
        return false;
    }
    const char *t = s;
    if (take_char(&t, ':') && take_digits(&t, 2, &f->second)) {
        s = t;
        take_fraction(&s, f);
    }
    take_zone(&s, f);
    *p = s;
    return true;
}

static int
days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return days[m - 1] + (m == 2 && leap);
}

/* What Python's datetime and pytz's FixedOffset accept. */
static bool
fields_valid(const iso_fields_t *f)
{
    return f->year >= 1 && f->month >= 1 && f->month <= 12 && f->day >= 1 &&
           f->day <= days_in_month(f->year, f->month) && f->hour <= 23 &&
           f->minute <= 59 && f->second <= 59 && f->us < US_PER_S &&
           f->fraction_digits <= MAX_FRACTION_DIGITS &&
           f->zone_min > -24 * 60 && f->zone_min < 24 * 60;
}

int
cel_clock_parse_iso(const char *text, int64_t *wall_us)
{
    iso_fields_t f = {0};
    const char *p = text;

    if (text == NULL || !take_date(&p, &f) ||
        (*p != '\0' && !take_time(&p, &f)) || *p != '\0' || !fields_valid(&f)) {
        return CEL_EINVAL;
    }
    int64_t days = days_from_civil(f.year, f.month, f.day);
    int64_t secs = days * 86400 + (int64_t)f.hour * 3600 +
                   (int64_t)f.minute * 60 + f.second - (int64_t)f.zone_min * 60;
    int64_t us = secs * US_PER_S + f.us;
    if (us < MIN_WALL_US || us > MAX_WALL_US) {
        return CEL_EINVAL;
    }
    *wall_us = us;
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
            return 1;
        }
        struct timespec ts = {.tv_sec = (time_t)(left / 1000),
                              .tv_nsec = (long)(left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

double
cel_clock_span_s(double seconds)
{
    if (!(seconds > 0)) {
        return 0;
    }
    return seconds < CEL_CLOCK_NEVER_S ? seconds : CEL_CLOCK_NEVER_S;
}
