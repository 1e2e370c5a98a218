/* The values in workerd's task lines, against what Python and Celery 5.2.6
 * write (the expected strings are Python's own repr() and str()): the
 * runtime of "succeeded in %ss", the result, and the exception of "raised
 * unexpected: %s". */
#include "tasklog.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static void
test_runtime(void)
{
    char out[32];

    CHECK_STR_EQ(cel__tasklog_runtime(0.000312, out, sizeof(out)), "0.000312");
    CHECK_STR_EQ(cel__tasklog_runtime(2.0, out, sizeof(out)), "2.0");
    CHECK_STR_EQ(cel__tasklog_runtime(1e-05, out, sizeof(out)), "1e-05");
    CHECK_STR_EQ(cel__tasklog_runtime(100.0, out, sizeof(out)), "100.0");
    CHECK_STR_EQ(cel__tasklog_runtime(12.5, out, sizeof(out)), "12.5");
}

static void
test_value(void)
{
    char out[CEL_TASKLOG_REPR_SIZE];
    json_t *v = json_pack("{s:[i,f,s,n,b]}", "a", 5, 0.5, "it's", 1);

    CHECK_STR_EQ(cel__tasklog_value(v, out, sizeof(out)),
                 "{'a': [5, 0.5, \"it's\", None, True]}");
    json_decref(v);

    /* A long result is cut to about 1024 characters, as saferepr does. */
    char big[4000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    v = json_string(big);
    cel__tasklog_value(v, out, sizeof(out));
    CHECK_EQ_INT(strlen(out), CEL_TASKLOG_REPR_SIZE - 1);
    CHECK(strncmp(out, "'xxx", 4) == 0);
    CHECK(strcmp(out + strlen(out) - 4, "x...") == 0);
    json_decref(v);
}

static void
test_exc(void)
{
    char out[256];
    json_t *two = json_pack("[ss]", "Task expected to fail", "test");
    json_t *none = json_array();
    json_t *one = json_pack("[i]", 42);

    CHECK_STR_EQ(cel__tasklog_exc("ValueError", NULL, "boom", out, sizeof(out)),
                 "ValueError('boom')");
    CHECK_STR_EQ(
        cel__tasklog_exc("tasks.ExpectedException", two, "x", out, sizeof(out)),
        "ExpectedException('Task expected to fail', 'test')");
    CHECK_STR_EQ(cel__tasklog_exc("KeyError", none, "", out, sizeof(out)),
                 "KeyError()");
    CHECK_STR_EQ(cel__tasklog_exc("KeyError", one, "42", out, sizeof(out)),
                 "KeyError(42)");
    CHECK_STR_EQ(cel__tasklog_exc("ValueError", NULL, "it's", out, sizeof(out)),
                 "ValueError(\"it's\")");
    CHECK_STR_EQ(cel__tasklog_exc("", NULL, "", out, sizeof(out)),
                 "Exception('')");
    /* Not UTF-8: kept as bytes here; the logger writes them as \xNN. */
    CHECK_STR_EQ(cel__tasklog_exc("ValueError", NULL, "\xff", out, sizeof(out)),
                 "ValueError('\xff')");
    /* Cut, never past the buffer. */
    char small[12];
    cel__tasklog_exc("ValueError", NULL, "a long message", small,
                     sizeof(small));
    CHECK(strlen(small) < sizeof(small));
    CHECK(strncmp(small, "ValueError(", 11) == 0);
    json_decref(two);
    json_decref(none);
    json_decref(one);
}

int
main(void)
{
    test_runtime();
    test_value();
    test_exc();
    puts("ok");
    return 0;
}
