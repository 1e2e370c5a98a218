/* error.h: celeriac's error codes and the error detail struct.
 *
 * The one convention of the whole API: a function that can fail returns
 * 0 on success or a negative CEL_E* code, and fills an optional
 * cel_error_t with the code and a readable sentence. Every function that
 * takes one accepts err == NULL. A positive return is never an error: the
 * few functions that have a second way to succeed (a sleep cut short, a
 * --help handled) document it as 1. A function that returns a pointer
 * returns NULL on failure and says where the code is (for the producer,
 * cel_client_errcode). No return value is ever -1 by itself: -1 is
 * CEL_ENOMEM. */
#ifndef CEL_COMMON_ERROR_H
#define CEL_COMMON_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CEL_NODISCARD         __attribute__((warn_unused_result))
#define CEL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* XX(name, value, message) */
#define CEL_ERRNO_MAP(XX)                                                      \
    XX(ENOMEM, -1, "out of memory")                                            \
    XX(EINVAL, -2, "invalid argument")                                         \
    XX(EBROKER, -3, "broker error")                                            \
    XX(ECONN, -4, "cannot connect to the broker")                              \
    XX(ECLOSED, -5, "connection or channel closed")                            \
    XX(ETIMEDOUT, -6, "timed out")                                             \
    XX(EPROTO, -7, "malformed message")                                        \
    XX(ENOTASK, -8, "task not registered")                                     \
    XX(EARGS, -9, "wrong task arguments")                                      \
    XX(ETASK, -10, "the task failed")                                          \
    XX(EURL, -11, "malformed broker URL")                                      \
    XX(ESYS, -12, "system call failed")                                        \
    XX(ETOOBIG, -13, "message too large")                                      \
    XX(ENOTREADY, -14, "result not ready")                                     \
    XX(ERANGE, -15, "value out of range")                                      \
    XX(EBLOCKED, -16, "the broker is blocking publishing")                     \
    XX(EAUTH, -17, "the broker refused the login")                             \
    XX(ENOTFOUND, -18, "no such queue")

typedef enum {
    CEL_OK = 0,
#define CEL__ERR_ENUM(name, value, msg) CEL_##name = (value),
    CEL_ERRNO_MAP(CEL__ERR_ENUM)
#undef CEL__ERR_ENUM
} cel_errno_t;

/* The detail of the last failure: its code and a sentence that says what
 * went wrong, e.g. "queue.declare: PRECONDITION_FAILED - inequivalent arg". */
typedef struct {
    int code;
    char text[160];
} cel_error_t;

#define CEL_ERROR_INIT                                                         \
    {                                                                          \
        0,                                                                     \
        {                                                                      \
            0                                                                  \
        }                                                                      \
    }

/* cel_strerror returns a static description of code ("unknown error" for
 * codes outside the table). */
const char *cel_strerror(int code);

/* cel_err_name returns the code's name, e.g. "CEL_ETIMEDOUT" (a static
 * string, never freed; "CEL_EUNKNOWN" for a code outside the table). */
const char *cel_err_name(int code);

/* cel_error_set fills err (if not NULL) with code and a formatted message,
 * and returns code so callers can write `return cel_error_set(...)`. */
int cel_error_set(cel_error_t *err, int code, const char *fmt, ...)
    CEL_PRINTF(3, 4);

/* cel_error_clear resets err to "no error". NULL is allowed. */
void cel_error_clear(cel_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
