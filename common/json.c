/* json.c: the JSON conventions of Celery's json serializer: any top-level
 * value, NUL allowed inside strings, compact output, and reals printed with
 * enough digits to read back the same double. Values are jansson's json_t;
 * the text is read and written by common's own reader and writer
 * (json_internal.h), which agree with jansson's byte for byte. */
#include <cel/message.h>

#include "json_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *
cel_json_load(const char *text, size_t len, cel_error_t *err)
{
    cel__json_fail_t fail;

    json_t *v = cel__json_read(text, len, &fail);
    if (v == NULL) {
        int line = 1, column = 1;
        for (size_t i = 0; i < fail.offset && i < len; i++) {
            line += text[i] == '\n';
            column = text[i] == '\n' ? 1 : column + 1;
        }
        cel_error_set(err, CEL_EPROTO, "invalid JSON at line %d column %d: %s",
                      line, column, fail.why);
    }
    return v;
}

char *
cel_json_dump(const json_t *value, size_t *len)
{
    cel__buf_t b = {0};

    cel__buf_json(&b, value);
    return cel__buf_take(&b, len);
}

void
cel_copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

void
cel_envelope_init(cel_envelope_t *env)
{
    memset(env, 0, sizeof(*env));
    env->delivery_mode = -1;
    env->priority = -1;
}

void
cel_envelope_clear(cel_envelope_t *env)
{
    json_decref(env->headers);
    free(env->body_owned);
    cel_envelope_init(env);
}
