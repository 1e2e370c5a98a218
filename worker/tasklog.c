/* tasklog.c: Python's text for the values in the task lines: a float as
 * str() prints it, a result's repr() cut as Celery's saferepr cuts it, an
 * exception's repr(). Pure formatting: no I/O, nothing kept. */
#include "tasklog.h"

#include <stdio.h>
#include <string.h>

#include <cel/message.h>

const char *
cel__tasklog_runtime(double secs, char *out, size_t size)
{
    json_t *v = json_real(secs);

    if (v == NULL) { /* out of memory, or not a number */
        snprintf(out, size, "%g", secs);
        return out;
    }
    cel_pyrepr(v, false, out, size);
    json_decref(v);
    return out;
}

const char *
cel__tasklog_value(const json_t *value, char *out, size_t size)
{
    cel_pyrepr(value, false, out, size);
    return out;
}

const char *
cel__tasklog_exc(const char *type, const json_t *args, const char *message,
                 char *out, size_t size)
{
    const char *dot = type != NULL ? strrchr(type, '.') : NULL;
    const char *name = dot != NULL ? dot + 1 : type;
    size_t n;

    snprintf(out, size, "%s", name != NULL && name[0] ? name : "Exception");
    n = strlen(out);
    if (args != NULL && json_array_size(args) != 1) {
        cel_pyrepr(args, true, out + n, size - n); /* (1, 2) or () */
        return out;
    }
    /* One argument: Python writes ValueError('boom'), not ('boom',). The
     * message may hold bytes that are not UTF-8; the log escapes them. */
    json_t *msg = args != NULL
                      ? json_incref(json_array_get(args, 0))
                      : json_stringn_nocheck(message ? message : "",
                                             message ? strlen(message) : 0);
    snprintf(out + n, size - n, "(");
    n = strlen(out);
    cel_pyrepr(msg, false, out + n, size - n > 1 ? size - n - 1 : 1);
    json_decref(msg);
    n = strlen(out);
    snprintf(out + n, size - n, ")");
    return out;
}
