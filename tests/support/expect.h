/* expect.h: the result checks the worker tests share. Header-only, since
 * the support library itself does not link the producer. */
#ifndef CEL_TESTS_EXPECT_H
#define CEL_TESTS_EXPECT_H

#include <cel/producer.h>

#include "check.h"

/* test_expect_int waits up to timeout_ms for r, checks that it succeeded
 * with the integer want, and frees it. */
static inline void
test_expect_int(cel_result_t *r, long long want, int64_t timeout_ms)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;

    CHECK_OK(cel_result_get(r, timeout_ms, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), want);
    cel_result_free(r);
}

#endif
