/* table.c: JSON <-> AMQP field tables, with the type letters py-amqp and
 * Celery use. Writing: strings S, null V, bools t, ints I when they fit in
 * 32 bits (else L, which py-amqp reads as signed 64), reals d, lists A,
 * objects F. Reading: every numeric kind, with L reinterpreted as signed. */
#include "broker_internal.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 32

static int value_from_json(const json_t *v, amqp_pool_t *pool,
                           amqp_field_value_t *out, int depth,
                           cel_error_t *err);

static int
array_from_json(const json_t *arr, amqp_pool_t *pool, amqp_array_t *out,
                int depth, cel_error_t *err)
{
    size_t n = json_array_size(arr);

    out->num_entries = (int)n;
    out->entries = n ? amqp_pool_alloc(pool, n * sizeof(*out->entries)) : NULL;
    if (n && out->entries == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "out of memory for headers");
    }
    for (size_t i = 0; i < n; i++) {
        int r = value_from_json(json_array_get(arr, i), pool, &out->entries[i],
                                depth + 1, err);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

static int
table_from_json(const json_t *obj, amqp_pool_t *pool, amqp_table_t *out,
                int depth, cel_error_t *err)
{
    size_t n = json_object_size(obj), i = 0;
    const char *key;
    json_t *v;

    out->num_entries = (int)n;
    out->entries = n ? amqp_pool_alloc(pool, n * sizeof(*out->entries)) : NULL;
    if (n && out->entries == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "out of memory for headers");
    }
    json_object_foreach ((json_t *)obj, key, v) {
        if (strlen(key) > 128) {
            return cel_error_set(err, CEL_EINVAL, "header name too long");
        }
        out->entries[i].key = amqp_cstring_bytes(key);
        int r =
            value_from_json(v, pool, &out->entries[i].value, depth + 1, err);
        if (r != 0) {
            return r;
        }
        i++;
    }
    return 0;
}

static int
value_from_json(const json_t *v, amqp_pool_t *pool, amqp_field_value_t *out,
                int depth, cel_error_t *err)
{
    if (depth > MAX_DEPTH) {
        return cel_error_set(err, CEL_EINVAL, "headers nested too deeply");
    }
    switch (json_typeof(v)) {
    case JSON_NULL: out->kind = AMQP_FIELD_KIND_VOID; return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = AMQP_FIELD_KIND_BOOLEAN;
        out->value.boolean = json_is_true(v);
        return 0;
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (i >= INT32_MIN && i <= INT32_MAX) {
            out->kind = AMQP_FIELD_KIND_I32;
            out->value.i32 = (int32_t)i;
        } else {
            out->kind = AMQP_FIELD_KIND_U64; /* 'L' on the wire */
            out->value.u64 = (uint64_t)i;
        }
        return 0;
    }
    case JSON_REAL:
        out->kind = AMQP_FIELD_KIND_F64;
        out->value.f64 = json_real_value(v);
        return 0;
    case JSON_STRING:
        out->kind = AMQP_FIELD_KIND_UTF8;
        out->value.bytes.len = json_string_length(v);
        out->value.bytes.bytes = (void *)json_string_value(v);
        return 0;
    case JSON_ARRAY:
        out->kind = AMQP_FIELD_KIND_ARRAY;
        return array_from_json(v, pool, &out->value.array, depth, err);
    case JSON_OBJECT:
        out->kind = AMQP_FIELD_KIND_TABLE;
        return table_from_json(v, pool, &out->value.table, depth, err);
    }
    return cel_error_set(err, CEL_EINVAL, "unknown JSON type in headers");
}

int
cel__table_from_json(const json_t *obj, amqp_pool_t *pool, amqp_table_t *out,
                     cel_error_t *err)
{
    if (!json_is_object(obj)) {
        return cel_error_set(err, CEL_EINVAL, "headers must be an object");
    }
    return table_from_json(obj, pool, out, 0, err);
}

static json_t *value_to_json(const amqp_field_value_t *v, int depth,
                             cel_error_t *err);

static json_t *
table_to_json(const amqp_table_t *t, int depth, cel_error_t *err)
{
    json_t *obj = json_object();

    for (int i = 0; obj != NULL && i < t->num_entries; i++) {
        const amqp_table_entry_t *e = &t->entries[i];
        json_t *v = value_to_json(&e->value, depth + 1, err);
        if (v == NULL) {
            json_decref(obj);
            return NULL;
        }
        /* The key with its length: an AMQP key may hold any bytes, and
         * one that is not UTF-8 is refused like such a value. */
        const char *key = e->key.len ? (const char *)e->key.bytes : "";
        if (!cel_utf8_valid(key, e->key.len)) {
            cel_error_set(err, CEL_EPROTO, "a header name is not valid UTF-8");
            json_decref(v);
            json_decref(obj);
            return NULL;
        }
        if (json_object_setn_new_nocheck(obj, key, e->key.len, v) != 0) {
            cel_error_set(err, CEL_ENOMEM, "out of memory for headers");
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static json_t *
array_to_json(const amqp_array_t *a, int depth, cel_error_t *err)
{
    json_t *arr = json_array();

    for (int i = 0; arr != NULL && i < a->num_entries; i++) {
        json_t *v = value_to_json(&a->entries[i], depth + 1, err);
        if (v == NULL || json_array_append_new(arr, v) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *
bytes_to_json(const amqp_bytes_t *b, cel_error_t *err)
{
    /* An empty string may come with no buffer at all. */
    const char *text = b->len ? (const char *)b->bytes : "";

    if (!cel_utf8_valid(text, b->len)) {
        cel_error_set(err, CEL_EPROTO, "a header string is not valid UTF-8");
        return NULL;
    }
    json_t *s = json_stringn_nocheck(text, b->len);
    if (s == NULL) {
        cel_error_set(err, CEL_ENOMEM, "out of memory for headers");
    }
    return s;
}

static json_t *
value_to_json(const amqp_field_value_t *v, int depth, cel_error_t *err)
{
    if (depth > MAX_DEPTH) {
        cel_error_set(err, CEL_EPROTO, "headers nested too deeply");
        return NULL;
    }
    switch (v->kind) {
    case AMQP_FIELD_KIND_BOOLEAN: return json_boolean(v->value.boolean);
    case AMQP_FIELD_KIND_I8: return json_integer(v->value.i8);
    case AMQP_FIELD_KIND_U8: return json_integer(v->value.u8);
    case AMQP_FIELD_KIND_I16: return json_integer(v->value.i16);
    case AMQP_FIELD_KIND_U16: return json_integer(v->value.u16);
    case AMQP_FIELD_KIND_I32: return json_integer(v->value.i32);
    case AMQP_FIELD_KIND_U32: return json_integer(v->value.u32);
    case AMQP_FIELD_KIND_I64: return json_integer(v->value.i64);
    case AMQP_FIELD_KIND_U64: return json_integer((json_int_t)v->value.u64);
    case AMQP_FIELD_KIND_TIMESTAMP:
        return json_integer((json_int_t)v->value.u64);
    case AMQP_FIELD_KIND_F32: return json_real(v->value.f32);
    case AMQP_FIELD_KIND_F64: return json_real(v->value.f64);
    case AMQP_FIELD_KIND_DECIMAL: {
        double d = v->value.decimal.value;
        for (int i = 0; i < v->value.decimal.decimals; i++) {
            d /= 10;
        }
        return json_real(d);
    }
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES: return bytes_to_json(&v->value.bytes, err);
    case AMQP_FIELD_KIND_ARRAY:
        return array_to_json(&v->value.array, depth, err);
    case AMQP_FIELD_KIND_TABLE:
        return table_to_json(&v->value.table, depth, err);
    case AMQP_FIELD_KIND_VOID: return json_null();
    }
    cel_error_set(err, CEL_EPROTO, "unknown header field kind %d", v->kind);
    return NULL;
}

json_t *
cel__table_to_json(const amqp_table_t *table, cel_error_t *err)
{
    return table_to_json(table, 0, err);
}
