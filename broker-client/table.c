/* table.c: JSON <-> AMQP field tables, with the type letters py-amqp and
 * Celery use. Writing: strings S, null V, bools t, ints I when they fit in
 * 32 bits (else L, which py-amqp reads as signed 64), reals d, lists A,
 * objects F. Reading: every numeric kind, with L reinterpreted as signed.
 *
 * Both ways enforce the same limits, CEL_TABLE_MAX_* in broker_internal.h,
 * so whatever the reader returns the writer accepts, and a message
 * celeriac took in can always be republished (issue 11):
 * - a key holds at most CEL_TABLE_MAX_KEY_BYTES (255), a shortstr. Keys go
 *   by their length, NUL included. rabbitmq-c writes a key's length as one
 *   byte without a check, so a longer key must never reach it;
 * - a value sits inside at most CEL_TABLE_MAX_DEPTH (32) tables or arrays,
 *   the headers table included;
 * - a string holds at most CEL_TABLE_MAX_STRING_BYTES (a 32-bit longstr),
 *   a table or an array at most CEL_TABLE_MAX_ENTRIES (an int's worth).
 * What JSON cannot hold is refused when reading: a key or a string that is
 * not UTF-8, a NaN or an infinity, an unknown kind. The writer refuses
 * with CEL_EINVAL (CEL_ETOOBIG for a size), the reader with CEL_EPROTO,
 * and each text names the header and the limit. */
#include "broker_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NAME_SHOWN 40 /* bytes of a header name an error text shows */

/* A walk through one table: the innermost key around the current value
 * names it in errors. */
typedef struct {
    amqp_pool_t *pool; /* writing only */
    cel_error_t *err;
    const char *key; /* NULL at the top */
    size_t key_len;
} walk_t;

/* shown_len: how much of a UTF-8 name an error text shows, cut before a
 * NUL and at a character boundary so that the text stays UTF-8. */
static int
shown_len(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && i < NAME_SHOWN && s[i] != '\0') {
        i++;
    }
    while (i > 0 && i < n && ((unsigned char)s[i] & 0xC0) == 0x80) {
        i--;
    }
    return (int)i;
}

static int walk_fail(const walk_t *w, int code, const char *fmt, ...)
    CEL_PRINTF(3, 4);

static int
walk_fail(const walk_t *w, int code, const char *fmt, ...)
{
    char what[120];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (w->key == NULL) {
        return cel_error_set(w->err, code, "headers: %s", what);
    }
    int n = shown_len(w->key, w->key_len);
    return cel_error_set(w->err, code, "header \"%.*s%s\": %s", n, w->key,
                         (size_t)n < w->key_len ? "..." : "", what);
}

static int
nomem(const walk_t *w)
{
    return cel_error_set(w->err, CEL_ENOMEM, "out of memory for headers");
}

static int
check_key(const walk_t *w, const char *key, size_t len, int code)
{
    if (len <= CEL_TABLE_MAX_KEY_BYTES) {
        return 0;
    }
    return cel_error_set(w->err, code,
                         "header name \"%.*s...\" is %zu bytes, over the %d "
                         "an AMQP table key holds",
                         shown_len(key, len), key, len,
                         CEL_TABLE_MAX_KEY_BYTES);
}

static int
check_depth(const walk_t *w, int depth, int code)
{
    if (depth <= CEL_TABLE_MAX_DEPTH) {
        return 0;
    }
    return walk_fail(w, code, "nested deeper than %d tables or arrays",
                     CEL_TABLE_MAX_DEPTH);
}

static int
alloc_entries(const walk_t *w, size_t n, size_t size, void **out)
{
    *out = NULL;
    if (n > (size_t)CEL_TABLE_MAX_ENTRIES) {
        return walk_fail(w, CEL_ETOOBIG, "%zu entries, over the %d allowed", n,
                         CEL_TABLE_MAX_ENTRIES);
    }
    if (n > 0 && (*out = amqp_pool_alloc(w->pool, n * size)) == NULL) {
        return nomem(w);
    }
    return 0;
}

static int value_from_json(const walk_t *w, const json_t *v,
                           amqp_field_value_t *out, int depth);

static int
array_from_json(const walk_t *w, const json_t *arr, amqp_array_t *out,
                int depth)
{
    size_t n = json_array_size(arr);
    void *entries;
    int r = alloc_entries(w, n, sizeof(*out->entries), &entries);

    out->num_entries = (int)n;
    out->entries = entries;
    for (size_t i = 0; r == 0 && i < n; i++) {
        r = value_from_json(w, json_array_get(arr, i), &out->entries[i],
                            depth + 1);
    }
    return r;
}

static int
entry_from_json(const walk_t *w, void *it, amqp_table_entry_t *e, int depth)
{
    const char *key = json_object_iter_key(it);
    size_t len = json_object_iter_key_len(it);
    walk_t inner = {w->pool, w->err, key, len};
    int r = check_key(w, key, len, CEL_EINVAL);

    if (r != 0) {
        return r;
    }
    e->key = (amqp_bytes_t){len, (void *)key};
    return value_from_json(&inner, json_object_iter_value(it), &e->value,
                           depth + 1);
}

static int
table_from_json(const walk_t *w, const json_t *obj, amqp_table_t *out,
                int depth)
{
    size_t n = json_object_size(obj), i = 0;
    void *entries;
    int r = alloc_entries(w, n, sizeof(*out->entries), &entries);

    out->num_entries = (int)n;
    out->entries = entries;
    for (void *it = json_object_iter((json_t *)obj); r == 0 && it != NULL;
         it = json_object_iter_next((json_t *)obj, it)) {
        r = entry_from_json(w, it, &out->entries[i++], depth);
    }
    return r;
}

static int
string_from_json(const walk_t *w, const json_t *v, amqp_field_value_t *out)
{
    size_t n = json_string_length(v);

    if ((uint64_t)n > CEL_TABLE_MAX_STRING_BYTES) {
        return walk_fail(w, CEL_ETOOBIG,
                         "a string of %zu bytes, over the %lu "
                         "a longstr holds",
                         n, (unsigned long)CEL_TABLE_MAX_STRING_BYTES);
    }
    out->kind = AMQP_FIELD_KIND_UTF8;
    out->value.bytes = (amqp_bytes_t){n, (void *)json_string_value(v)};
    return 0;
}

static void
integer_from_json(json_int_t i, amqp_field_value_t *out)
{
    if (i >= INT32_MIN && i <= INT32_MAX) {
        out->kind = AMQP_FIELD_KIND_I32;
        out->value.i32 = (int32_t)i;
    } else {
        out->kind = AMQP_FIELD_KIND_U64; /* 'L' on the wire */
        out->value.u64 = (uint64_t)i;
    }
}

static int
value_from_json(const walk_t *w, const json_t *v, amqp_field_value_t *out,
                int depth)
{
    int r = check_depth(w, depth, CEL_EINVAL);

    if (r != 0) {
        return r;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: out->kind = AMQP_FIELD_KIND_VOID; return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = AMQP_FIELD_KIND_BOOLEAN;
        out->value.boolean = json_is_true(v);
        return 0;
    case JSON_INTEGER: integer_from_json(json_integer_value(v), out); return 0;
    case JSON_REAL:
        out->kind = AMQP_FIELD_KIND_F64;
        out->value.f64 = json_real_value(v);
        return 0;
    case JSON_STRING: return string_from_json(w, v, out);
    case JSON_ARRAY:
        out->kind = AMQP_FIELD_KIND_ARRAY;
        return array_from_json(w, v, &out->value.array, depth);
    case JSON_OBJECT:
        out->kind = AMQP_FIELD_KIND_TABLE;
        return table_from_json(w, v, &out->value.table, depth);
    }
    return walk_fail(w, CEL_EINVAL, "unknown JSON type %d",
                     (int)json_typeof(v));
}

int
cel__table_from_json(const json_t *obj, amqp_pool_t *pool, amqp_table_t *out,
                     cel_error_t *err)
{
    walk_t w = {pool, err, NULL, 0};

    if (!json_is_object(obj)) {
        return cel_error_set(err, CEL_EINVAL, "headers must be an object");
    }
    return table_from_json(&w, obj, out, 0);
}

static int value_to_json(const walk_t *w, const amqp_field_value_t *v,
                         int depth, json_t **out);

static int
entry_to_json(const walk_t *w, const amqp_table_entry_t *e, json_t *obj,
              int depth)
{
    /* An empty key may come with no buffer at all. */
    const char *key = e->key.len ? (const char *)e->key.bytes : "";
    walk_t inner = {NULL, w->err, key, e->key.len};
    json_t *v = NULL;
    int r = check_key(w, key, e->key.len, CEL_EPROTO);

    if (r == 0 && !cel_utf8_valid(key, e->key.len)) {
        r = walk_fail(w, CEL_EPROTO, "a name is not valid UTF-8");
    }
    if (r == 0) {
        r = value_to_json(&inner, &e->value, depth + 1, &v);
    }
    /* The key with its length: it may hold a NUL. */
    if (r == 0 && json_object_setn_new_nocheck(obj, key, e->key.len, v) != 0) {
        r = nomem(w);
    }
    return r;
}

static int
table_to_json(const walk_t *w, const amqp_table_t *t, int depth, json_t **out)
{
    json_t *obj = json_object();
    int r = obj != NULL ? 0 : nomem(w);

    for (int i = 0; r == 0 && i < t->num_entries; i++) {
        r = entry_to_json(w, &t->entries[i], obj, depth);
    }
    if (r != 0) {
        json_decref(obj);
        obj = NULL;
    }
    *out = obj;
    return r;
}

static int
array_to_json(const walk_t *w, const amqp_array_t *a, int depth, json_t **out)
{
    json_t *arr = json_array();
    int r = arr != NULL ? 0 : nomem(w);

    for (int i = 0; r == 0 && i < a->num_entries; i++) {
        json_t *v;
        r = value_to_json(w, &a->entries[i], depth + 1, &v);
        if (r == 0 && json_array_append_new(arr, v) != 0) {
            r = nomem(w);
        }
    }
    if (r != 0) {
        json_decref(arr);
        arr = NULL;
    }
    *out = arr;
    return r;
}

static int
bytes_to_json(const walk_t *w, const amqp_bytes_t *b, json_t **out)
{
    /* An empty string may come with no buffer at all. */
    const char *text = b->len ? (const char *)b->bytes : "";

    if (!cel_utf8_valid(text, b->len)) {
        return walk_fail(w, CEL_EPROTO, "a string is not valid UTF-8");
    }
    *out = json_stringn_nocheck(text, b->len);
    return *out != NULL ? 0 : nomem(w);
}

static int
real_to_json(const walk_t *w, double d, json_t **out)
{
    if (!isfinite(d)) {
        return walk_fail(w, CEL_EPROTO, "a float JSON cannot hold (%g)", d);
    }
    *out = json_real(d);
    return *out != NULL ? 0 : nomem(w);
}

static double
decimal_value(const amqp_decimal_t *dec)
{
    double d = dec->value;

    for (int i = 0; i < dec->decimals; i++) {
        d /= 10;
    }
    return d;
}

static int
integer_to_json(const walk_t *w, const amqp_field_value_t *v, json_t **out)
{
    json_int_t i;

    switch (v->kind) {
    case AMQP_FIELD_KIND_I8: i = v->value.i8; break;
    case AMQP_FIELD_KIND_U8: i = v->value.u8; break;
    case AMQP_FIELD_KIND_I16: i = v->value.i16; break;
    case AMQP_FIELD_KIND_U16: i = v->value.u16; break;
    case AMQP_FIELD_KIND_I32: i = v->value.i32; break;
    case AMQP_FIELD_KIND_U32: i = v->value.u32; break;
    case AMQP_FIELD_KIND_I64: i = v->value.i64; break;
    case AMQP_FIELD_KIND_U64: /* py-amqp's L is signed */
    case AMQP_FIELD_KIND_TIMESTAMP: i = (json_int_t)v->value.u64; break;
    default:
        return walk_fail(w, CEL_EPROTO, "unknown field kind '%c' (0x%02x)",
                         v->kind >= 0x20 && v->kind < 0x7f ? v->kind : '?',
                         v->kind);
    }
    *out = json_integer(i);
    return *out != NULL ? 0 : nomem(w);
}

static int
value_to_json(const walk_t *w, const amqp_field_value_t *v, int depth,
              json_t **out)
{
    int r = check_depth(w, depth, CEL_EPROTO);

    if (r != 0) {
        return r;
    }
    switch (v->kind) {
    case AMQP_FIELD_KIND_BOOLEAN:
        *out = json_boolean(v->value.boolean);
        return 0;
    case AMQP_FIELD_KIND_VOID: *out = json_null(); return 0;
    case AMQP_FIELD_KIND_F32: return real_to_json(w, v->value.f32, out);
    case AMQP_FIELD_KIND_F64: return real_to_json(w, v->value.f64, out);
    case AMQP_FIELD_KIND_DECIMAL:
        return real_to_json(w, decimal_value(&v->value.decimal), out);
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES: return bytes_to_json(w, &v->value.bytes, out);
    case AMQP_FIELD_KIND_ARRAY:
        return array_to_json(w, &v->value.array, depth, out);
    case AMQP_FIELD_KIND_TABLE:
        return table_to_json(w, &v->value.table, depth, out);
    }
    return integer_to_json(w, v, out);
}

json_t *
cel__table_to_json(const amqp_table_t *table, cel_error_t *err)
{
    walk_t w = {NULL, err, NULL, 0};
    json_t *obj;

    return table_to_json(&w, table, 0, &obj) == 0 ? obj : NULL;
}
