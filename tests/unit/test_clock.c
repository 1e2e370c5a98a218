/* ISO-8601 as Celery writes it: six fraction digits and +00:00, parsed back
 * with zones, without fractions and with fewer digits. */
#include <cel/clock.h>
#include <cel/error.h>

#include "check.h"

int
main(void)
{
    char iso[CEL_ISO_SIZE];
    int64_t us;

    cel_clock_format_iso(1795297876741105LL, iso);
    CHECK_STR_EQ(iso, "2026-11-21T21:51:16.741105+00:00");
    CHECK_EQ_INT(cel_clock_parse_iso(iso, &us), 0);
    CHECK_EQ_INT(us, 1795297876741105LL);
    CHECK_EQ_INT(cel_clock_parse_iso("2026-11-21T21:51:16Z", &us), 0);
    CHECK_EQ_INT(us, 1795297876000000LL);
    CHECK_EQ_INT(cel_clock_parse_iso("2026-11-21T22:51:16.5+01:00", &us), 0);
    CHECK_EQ_INT(us, 1795297876500000LL);
    CHECK_EQ_INT(cel_clock_parse_iso("2026-11-21 21:51:16", &us), 0);
    CHECK_EQ_INT(us, 1795297876000000LL);
    CHECK_EQ_INT(cel_clock_parse_iso("1970-01-01T00:00:00+00:00", &us), 0);
    CHECK_EQ_INT(us, 0);
    CHECK_EQ_INT(cel_clock_parse_iso("undefined", &us), CEL_EINVAL);
    CHECK_EQ_INT(cel_clock_parse_iso("2026-13-01T00:00:00", &us), CEL_EINVAL);
    CHECK_EQ_INT(cel_clock_parse_iso("2026-11-21T21:51:16+0100x", &us),
                 CEL_EINVAL);
    CHECK_EQ_INT(cel_clock_parse_iso("2026-11-21T21:51:16.", &us), CEL_EINVAL);

    int64_t t0 = cel_clock_now_ms();
    CHECK_EQ_INT(cel_clock_sleep_ms(30, NULL), 0);
    CHECK(cel_clock_now_ms() - t0 >= 30);
    puts("ok");
    return 0;
}
