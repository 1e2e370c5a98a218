/* json_internal.h: common's own JSON reader and writer (internal to
 * common), for the texts that cross the wire with every task.
 *
 * The writer's output is byte for byte what json_dumps gives with JSON_COMPACT
 * | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17), which is what Celery's json
 * serializer reads. It exists because jansson's dumper checks for cycles by
 * formatting every container's address into a hash table, and that plus
 * building a json_t around each message was half of a client's CPU per
 * task. Cycles are caught here by a depth limit instead. */
#ifndef CEL_JSON_INTERNAL_H
#define CEL_JSON_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A growing text buffer. An allocation failure or an unwritable value
 * sets failed; later writes do nothing, and the caller checks once. */
typedef struct {
    char *data; /* malloc'd, NUL-terminated once anything was written */
    size_t len;
    size_t cap;
    bool failed;
} cel__buf_t;

void cel__buf_raw(cel__buf_t *b, const char *s, size_t n);
void cel__buf_lit(cel__buf_t *b, const char *s); /* a C string, as is */
void cel__buf_string(cel__buf_t *b, const char *s, size_t n); /* quoted */
/* cel__buf_nullable writes a C string quoted, with any bytes that are not
 * UTF-8 replaced by U+FFFD, or null for NULL. */
void cel__buf_nullable(cel__buf_t *b, const char *s);

void cel__buf_json(cel__buf_t *b, const json_t *value);

/* cel__buf_take returns the text (the caller frees it) and its length, or
 * NULL when anything failed; the buffer is empty afterwards either way. */
char *cel__buf_take(cel__buf_t *b, size_t *len);

/* cel__int_text writes v in decimal at the end of buf, without snprintf
 * (integers are most task arguments), and returns where it starts. */
#define CEL__INT_SIZE 24
const char *cel__int_text(json_int_t v, char buf[CEL__INT_SIZE], size_t *len);

/* cel__json_text is a JSON string of s, with any bytes that are not UTF-8
 * replaced by U+FFFD (json_string would refuse s instead); NULL only when
 * out of memory. */
json_t *cel__json_text(const char *s);

/* cel__utf8_sequence is the length of the well-formed UTF-8 sequence at
 * s (at most n bytes), or 0 when there is none: no overlong forms,
 * surrogates or code points above U+10FFFF. */
size_t cel__utf8_sequence(const unsigned char *s, size_t n);

/* The reader accepts exactly what json_loadb(JSON_DECODE_ANY |
 * JSON_ALLOW_NUL) accepts and builds an equal value (unit_json and the
 * fuzz target fuzz_decode check both against jansson), except that a raw
 * NUL byte outside a string is always refused, where jansson reads "9\0"
 * as 9. jansson's loader reads through a byte-at-a-time stream and copies
 * every token; parsing a result body with it took more instructions than
 * everything else a producer did per task. On failure: NULL, with a
 * reason and the byte offset it refers to. */
typedef struct {
    const char *why;
    size_t offset;
} cel__json_fail_t;

json_t *cel__json_read(const char *text, size_t len, cel__json_fail_t *fail);

#endif
