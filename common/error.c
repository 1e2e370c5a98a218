/* error.c: the table behind cel_strerror and cel_err_name, and the
 * formatting of cel_error_t. */
#include <cel/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
cel_strerror(int code)
{
    switch (code) {
    case CEL_OK: return "success";
#define CEL__ERR_MSG(name, value, msg)                                         \
    case CEL_##name: return msg;
        CEL_ERRNO_MAP(CEL__ERR_MSG)
#undef CEL__ERR_MSG
    }
    return "unknown error";
}

const char *
cel_err_name(int code)
{
    switch (code) {
    case CEL_OK: return "CEL_OK";
#define CEL__ERR_NAME(name, value, msg)                                        \
    case CEL_##name: return "CEL_" #name;
        CEL_ERRNO_MAP(CEL__ERR_NAME)
#undef CEL__ERR_NAME
    }
    return "CEL_EUNKNOWN";
}

int
cel_error_set(cel_error_t *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return code;
    }
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    return code;
}

void
cel_error_clear(cel_error_t *err)
{
    if (err != NULL) {
        err->code = 0;
        err->text[0] = '\0';
    }
}
