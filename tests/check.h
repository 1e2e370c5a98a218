/* check.h: the test suite's assertions. On failure each prints file:line,
 * the expression and both values, then aborts, so ctest reports the test as
 * failed with the reason in its output. */
#ifndef CEL_TESTS_CHECK_H
#define CEL_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_FAIL_(...)                                                       \
    do {                                                                       \
        fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);          \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        fflush(NULL);                                                          \
        abort();                                                               \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            CHECK_FAIL_("%s", #cond);                                          \
        }                                                                      \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            CHECK_FAIL_("%s == %s (%lld == %lld)", #a, #b, a_, b_);            \
        }                                                                      \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                     \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                 \
            CHECK_FAIL_("%s == %s (\"%s\" == \"%s\")", #a, #b,                 \
                        a_ ? a_ : "(null)", b_ ? b_ : "(null)");               \
        }                                                                      \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                            \
    do {                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                \
        if (h_ == NULL || strstr(h_, n_) == NULL) {                            \
            CHECK_FAIL_("%s contains %s (\"%s\" lacks \"%s\")", #hay, #needle, \
                        h_ ? h_ : "(null)", n_);                               \
        }                                                                      \
    } while (0)

/* CHECK_OK(expr): expr returns 0, else the code and err.text are shown.
 * Expects a cel_error_t named err in scope. */
#define CHECK_OK(expr)                                                         \
    do {                                                                       \
        int r_ = (expr);                                                       \
        if (r_ != 0) {                                                         \
            CHECK_FAIL_("%s returned %d (%s)", #expr, r_, err.text);           \
        }                                                                      \
    } while (0)

#endif
