/* json_write.c: the compact JSON writer of json_internal.h, and the UTF-8
 * checks it and the rest of celeriac use. */
#include <cel/message.h>

#include "json_internal.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than jansson's parser accepts (2048), so anything that was read
 * can be written back; a cycle runs into it and fails, as in json_dumps. */
#define WRITE_MAX_DEPTH 4096

static bool
reserve(cel__buf_t *b, size_t n)
{
    if (b->failed) {
        return false;
    }
    if (b->cap - b->len > n) {
        return true;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= n) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *data = realloc(b->data, cap);
    if (data == NULL) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

void
cel__buf_raw(cel__buf_t *b, const char *s, size_t n)
{
    if (reserve(b, n)) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
    }
}

void
cel__buf_lit(cel__buf_t *b, const char *s)
{
    cel__buf_raw(b, s, strlen(s));
}

/* The escapes of jansson's dumper without JSON_ENSURE_ASCII or
 * JSON_ESCAPE_SLASH: quote, backslash and control characters only; UTF-8
 * passes as it is. */
void
cel__buf_string(cel__buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;

    cel__buf_raw(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        cel__buf_raw(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        cel__buf_raw(b, esc, len);
    }
    cel__buf_raw(b, s + run, n - run);
    cel__buf_raw(b, "\"", 1);
}

size_t
cel__utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80) {
        return 1;
    } else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2, cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3, cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4, cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
        return 0;
    }
    return len;
}

/* A C string may hold anything (a task's error message cut at a byte
 * limit, say); bytes that are not UTF-8 become U+FFFD, so that the text
 * still reaches its reader as JSON. Returns s itself when it is clean, else
 * the cleaned copy in *clean (NULL when out of memory). */
static const char *
clean_utf8(const char *s, size_t *n, cel__buf_t *clean)
{
    size_t len;

    if (cel_utf8_valid(s, *n)) {
        return s;
    }
    for (size_t i = 0; i < *n; i += len ? len : 1) {
        len = cel__utf8_sequence((const unsigned char *)s + i, *n - i);
        cel__buf_raw(clean, len ? s + i : "\xEF\xBF\xBD", len ? len : 3);
    }
    *n = clean->len;
    return clean->failed ? NULL : clean->data;
}

bool
cel_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    while (p < end) {
        if (*p < 0x80) { /* ASCII, nearly all of a header */
            p++;
            continue;
        }
        size_t len = cel__utf8_sequence(p, (size_t)(end - p));
        if (len == 0) {
            return false;
        }
        p += len;
    }
    return true;
}

void
cel__buf_nullable(cel__buf_t *b, const char *s)
{
    if (s == NULL) {
        cel__buf_raw(b, "null", 4);
        return;
    }
    cel__buf_t clean = {0};
    size_t n = strlen(s);
    const char *text = clean_utf8(s, &n, &clean);
    if (text == NULL) {
        b->failed = true;
    } else {
        cel__buf_string(b, text, n);
    }
    free(clean.data);
}

json_t *
cel__json_text(const char *s)
{
    cel__buf_t clean = {0};
    size_t n = strlen(s);
    const char *text = clean_utf8(s, &n, &clean);
    json_t *v = text != NULL ? json_stringn_nocheck(text, n) : NULL;

    free(clean.data);
    return v;
}

const char *
cel__int_text(json_int_t v, char buf[CEL__INT_SIZE], size_t *len)
{
    size_t i = CEL__INT_SIZE;
    /* Through unsigned, so that the most negative value has a magnitude. */
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        buf[--i] = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (v < 0) {
        buf[--i] = '-';
    }
    *len = CEL__INT_SIZE - i;
    return buf + i;
}

static void
write_integer(cel__buf_t *b, json_int_t v)
{
    char buf[CEL__INT_SIZE];
    size_t len;
    const char *text = cel__int_text(v, buf, &len);

    cel__buf_raw(b, text, len);
}

/* Reals are rare in task traffic and jansson's formatting of them (17
 * digits, ".0" added, exponent trimmed) is worth keeping exactly: a scalar
 * goes through json_dumpb, which makes no cycle check and no allocation. */
static void
write_real(cel__buf_t *b, const json_t *v)
{
    char text[64];
    size_t n = json_dumpb(v, text, sizeof(text),
                          JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (n == 0 || n > sizeof(text)) {
        b->failed = true; /* NaN or infinity: not JSON */
        return;
    }
    cel__buf_raw(b, text, n);
}

static void write_value(cel__buf_t *b, const json_t *v, int depth);

static void
write_array(cel__buf_t *b, const json_t *v, int depth)
{
    size_t n = json_array_size(v);

    cel__buf_raw(b, "[", 1);
    for (size_t i = 0; i < n && !b->failed; i++) {
        if (i > 0) {
            cel__buf_raw(b, ",", 1);
        }
        write_value(b, json_array_get(v, i), depth + 1);
    }
    cel__buf_raw(b, "]", 1);
}

static void
write_object(cel__buf_t *b, const json_t *v, int depth)
{
    bool first = true;

    cel__buf_raw(b, "{", 1);
    for (void *it = json_object_iter((json_t *)v); it != NULL && !b->failed;
         it = json_object_iter_next((json_t *)v, it)) {
        if (!first) {
            cel__buf_raw(b, ",", 1);
        }
        first = false;
        cel__buf_string(b, json_object_iter_key(it),
                        json_object_iter_key_len(it));
        cel__buf_raw(b, ":", 1);
        write_value(b, json_object_iter_value(it), depth + 1);
    }
    cel__buf_raw(b, "}", 1);
}

static void
write_value(cel__buf_t *b, const json_t *v, int depth)
{
    if (v == NULL || depth > WRITE_MAX_DEPTH) {
        b->failed = true;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: cel__buf_raw(b, "null", 4); break;
    case JSON_TRUE: cel__buf_raw(b, "true", 4); break;
    case JSON_FALSE: cel__buf_raw(b, "false", 5); break;
    case JSON_INTEGER: write_integer(b, json_integer_value(v)); break;
    case JSON_REAL: write_real(b, v); break;
    case JSON_STRING:
        cel__buf_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY: write_array(b, v, depth); break;
    case JSON_OBJECT: write_object(b, v, depth); break;
    }
}

void
cel__buf_json(cel__buf_t *b, const json_t *value)
{
    write_value(b, value, 0);
}

char *
cel__buf_take(cel__buf_t *b, size_t *len)
{
    char *text = b->failed ? NULL : b->data;

    if (text == NULL) {
        free(b->data);
    } else if (len != NULL) {
        *len = b->len;
    }
    memset(b, 0, sizeof(*b));
    return text;
}
