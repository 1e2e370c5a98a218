/* The error table: every code has a name and a message, unknown codes are
 * reported as such, and cel_error_set formats and returns its code. */
#include <cel/error.h>
#include <cel/log.h>

#include "check.h"

int
main(void)
{
    static const int codes[] = {
#define XX(name, value, msg) CEL_##name,
        CEL_ERRNO_MAP(XX)
#undef XX
    };
    cel_error_t err = CEL_ERROR_INIT;

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        CHECK(codes[i] < 0);
        CHECK(strncmp(cel_err_name(codes[i]), "CEL_E", 5) == 0);
        CHECK(strcmp(cel_strerror(codes[i]), "unknown error") != 0);
        for (size_t j = 0; j < i; j++) {
            CHECK(codes[i] != codes[j]);
        }
    }
    CHECK_STR_EQ(cel_err_name(CEL_ETIMEDOUT), "CEL_ETIMEDOUT");
    CHECK_STR_EQ(cel_strerror(-9999), "unknown error");
    CHECK_EQ_INT(cel_error_set(&err, CEL_EPROTO, "bad %d", 7), CEL_EPROTO);
    CHECK_STR_EQ(err.text, "bad 7");
    CHECK_EQ_INT(err.code, CEL_EPROTO);
    CHECK_EQ_INT(cel_error_set(NULL, CEL_ENOMEM, "x"), CEL_ENOMEM);
    cel_error_clear(&err);
    CHECK_EQ_INT(err.code, 0);
    cel_log_level_t level = CEL_LOG_ERROR;
    CHECK_OK(cel_log_parse_level("DEBUG", &level));
    CHECK_EQ_INT(level, CEL_LOG_DEBUG);
    CHECK_EQ_INT(cel_log_parse_level("loud", &level), CEL_EINVAL);
    CHECK_EQ_INT(level, CEL_LOG_DEBUG);
    puts("ok");
    return 0;
}
