/* ISO-8601 as Celery writes it (six fraction digits and +00:00), and as
 * Celery 5.2's parse_iso8601 reads eta and expires: the accepted table
 * holds Celery's own value for each string (computed with it), and the
 * refused table what it refuses, drops part of, or cannot convert. */
#include <cel/clock.h>

#include <cel/error.h>
#include <math.h>

#include "check.h"

#include <stdint.h>

static const struct {
    const char *text;
    int64_t us;
} accepted[] = {
    {"2026-11-21T21:51:16.741105+00:00", 1795297876741105LL},
    {"2026-11-21T21:51:16Z", 1795297876000000LL},
    {"2026-11-21 21:51:16", 1795297876000000LL},
    {"1970-01-01T00:00:00+00:00", 0},
    /* The fraction is a count of microseconds, not a decimal fraction. */
    {"2026-11-21T22:51:16.5+01:00", 1795297876000005LL},
    {"2020-01-01T00:00:00.000000001", 1577836800000001LL},
    {"2020-01-01T00:00:00.999999", 1577836800999999LL},
    /* A bare date, a month and day of one digit, no seconds. */
    {"2020-01-01", 1577836800000000LL},
    {"2020-1-1", 1577836800000000LL},
    {"2020-01-01T00:00", 1577836800000000LL},
    {"2020-01-01T00:00Z", 1577836800000000LL},
    {"2020-01-01T00:00-05:00", 1577854800000000LL},
    /* Any one character separates date and time, except a newline. Bytes
     * are written in octal, whose escapes end after three digits. */
    {"2020-01-01t00:00:00", 1577836800000000LL},
    {"2020-01-01x00:00:00", 1577836800000000LL},
    {"2020-01-01\t00:00:00", 1577836800000000LL},
    {"2020-01-01\303\25100:00:00", 1577836800000000LL},
    {"2020-01-01\360\237\230\20000:00:00", 1577836800000000LL},
    /* Zones: minutes up to 99, as long as the offset is under 24 hours. */
    {"2020-01-01T00:00:00+05:30", 1577817000000000LL},
    {"2020-01-01T00:00:00+0530", 1577817000000000LL}, /* ISO 8601 basic */
    {"2020-01-01T00:00:00+05", 1577818800000000LL},
    {"2020-01-01T00:00-0130", 1577842200000000LL},
    {"2020-01-01T00:00:00+05:99", 1577812860000000LL},
    {"2020-01-01T00:00:00+23:59", 1577750460000000LL},
    {"2020-01-01T00:00:00-00:30", 1577838600000000LL},
    {"2020-01-01T00:00:00-00:00", 1577836800000000LL},
    {"2024-02-29", 1709164800000000LL},
    {"2000-02-29", 951782400000000LL},
    {"0001-01-01T00:00:00", -62135596800000000LL},
    {"0001-01-01T00:00:00-23:59", -62135510460000000LL},
    {"9999-12-31T23:59:59.999999", 253402300799999999LL},
    {"9999-12-31T23:59:59+23:59", 253402214459000000LL},
};

static const char *const refused[] = {
    "",
    "undefined",
    "2020",
    "2020-01",
    "2020-01-",
    "20200-01-01",
    " 2020-01-01",
    "\357\274\222\357\274\220\357\274\222\357\274\220-01-01",
    /* Fields out of range, as Python's datetime refuses them. */
    "0000-01-01",
    "2020-00-01",
    "2020-13-01",
    "2020-01-00",
    "2020-04-31",
    "2099-02-31T00:00:00",
    "2023-02-29",
    "1900-02-29",
    "2020-01-01T24:00:00",
    "2020-01-01T00:60:00",
    "2020-01-01T00:00:60",
    "2020-01-01T00:00:00.1234567",
    "2020-01-01T00:00:00.9999999999999999999",
    "2020-01-01T00:00:00+24:00",
    "2020-01-01T00:00:00+23:60",
    /* Celery would read a prefix and drop the rest. */
    "2030-01-01T-1:00:00",
    "2020-01-01T0:00:00",
    "2020-01-1112:30",
    "2020-01-01\n00:00:00",
    "2020-01-01 ",
    "2020-01-01T00:00:00.",
    "2020-01-01T00:00:00,5",
    "2020-01-01T00:00.5",
    "2020-01-01T00:00:00z",
    "2020-01-01T00:00:00+053",
    "2020-01-01T00:00:00+05301",
    "2020-01-01T00:00:00+2400",
    "2020-01-01+0530",
    "2026-11-21T21:51:16+0100x",
    "2020-01-01T00:00:00Z ",
    /* The separator is one well-formed UTF-8 character. */
    "2020-01-01\37700:00:00",
    "2020-01-01\303",
    "2020-01-01\355\240\20000:00:00",
    /* Outside 0001-01-01..9999-12-31 once in UTC. */
    "0001-01-01T00:00:00+00:01",
    "9999-12-31T23:59:59.999999-00:01",
};

static void
test_tables(void)
{
    for (size_t i = 0; i < sizeof(accepted) / sizeof(*accepted); i++) {
        int64_t us = -1;
        if (cel_clock_parse_iso(accepted[i].text, &us) != 0) {
            CHECK_FAIL_("refused \"%s\"", accepted[i].text);
        }
        if (us != accepted[i].us) {
            CHECK_FAIL_("\"%s\" read as %lld, not %lld", accepted[i].text,
                        (long long)us, (long long)accepted[i].us);
        }
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
        int64_t us = -1;
        if (cel_clock_parse_iso(refused[i], &us) != CEL_EINVAL) {
            CHECK_FAIL_("accepted \"%s\" as %lld", refused[i], (long long)us);
        }
    }
    int64_t us;
    CHECK_EQ_INT(cel_clock_parse_iso(NULL, &us), CEL_EINVAL);
}

/* Python's int() refuses more than 4300 digits, so Celery refuses such a
 * fraction even when its value is small. */
static void
test_long_fraction(void)
{
    static char text[4400];
    int64_t us;

    for (int digits = 4300; digits <= 4301; digits++) {
        int n = snprintf(text, sizeof(text), "2020-01-01T00:00:00.");
        memset(text + n, '0', (size_t)digits - 1);
        strcpy(text + n + digits - 1, "1");
        CHECK_EQ_INT(cel_clock_parse_iso(text, &us),
                     digits == 4300 ? 0 : CEL_EINVAL);
    }
    CHECK_EQ_INT(us, 1577836800000001LL);
}

/* Formatting then parsing gives the same instant, down to year 1. */
static void
test_round_trip(void)
{
    static const int64_t values[] = {
        1795297876741105LL, 0, -1, -62135596800000000LL, 253402300799999999LL};
    char iso[CEL_ISO_SIZE];
    int64_t us;

    cel_clock_format_iso(1795297876741105LL, iso);
    CHECK_STR_EQ(iso, "2026-11-21T21:51:16.741105+00:00");
    cel_clock_format_iso(-62135596800000000LL, iso);
    CHECK_STR_EQ(iso, "0001-01-01T00:00:00.000000+00:00");
    for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
        cel_clock_format_iso(values[i], iso);
        CHECK_EQ_INT(cel_clock_parse_iso(iso, &us), 0);
        CHECK_EQ_INT(us, values[i]);
    }
}

/* Durations are clamped to [0, CEL_CLOCK_NEVER_S], never wrapped. */
static void
test_span(void)
{
    CHECK(cel_clock_span_s(NAN) == 0);
    CHECK(cel_clock_span_s(-1) == 0);
    CHECK(cel_clock_span_s(0.0001) == 0.0001);
    CHECK(cel_clock_span_s(5) == 5);
    CHECK(cel_clock_span_s(1e17) == CEL_CLOCK_NEVER_S);
}

int
main(void)
{
    test_tables();
    test_span();
    test_long_fraction();
    test_round_trip();

    int64_t t0 = cel_clock_now_ms();
    CHECK_EQ_INT(cel_clock_sleep_ms(30, NULL), 0);
    volatile int stop = 1;
    CHECK_EQ_INT(cel_clock_sleep_ms(30, &stop),
                 1); /* cut short: not an error */
    CHECK(cel_clock_now_ms() - t0 >= 30);
    puts("ok");
    return 0;
}
