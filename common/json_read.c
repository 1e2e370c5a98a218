/* json_read.c: the JSON reader of json_internal.h.
 *
 * One pass over the buffer, recursive descent. A string without escapes
 * or control characters goes into its json_t straight from the input;
 * others are decoded into a scratch buffer first. Limits and refusals are
 * jansson's: depth 2048, integers that overflow 64 bits, reals that
 * overflow a double, \u0000 inside a key, lone surrogates. */
#include "json_internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define READ_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

typedef struct {
    const unsigned char *start, *p, *end;
    int depth;
    cel__json_fail_t *fail;
    char *scratch; /* decoded strings with escapes */
    size_t scratch_cap;
} reader_t;

static json_t *
fail_at(reader_t *r, const unsigned char *at, const char *why)
{
    if (r->fail->why == NULL) {
        r->fail->why = why;
        r->fail->offset = (size_t)(at - r->start);
    }
    return NULL;
}

static void
skip_space(reader_t *r)
{
    while (r->p < r->end &&
           (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
        r->p++;
    }
}

static int
hex4(const unsigned char *s)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        int c = s[i], d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

static size_t
put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* After a backslash at s (s[0] == 'u'): the code point of a \uXXXX escape,
 * or of a surrogate pair \uD8xx\uDCxx, with *used set to the bytes read
 * after the backslash; -1 with the reason in *why. */
static int32_t
unicode_escape(const unsigned char *s, const unsigned char *end, size_t *used,
               const char **why)
{
    int hi = end - s >= 5 ? hex4(s + 1) : -1;

    *why = "invalid escape";
    if (hi < 0) {
        return -1;
    }
    *used = 5;
    if (hi >= 0xDC00 && hi <= 0xDFFF) {
        *why = "invalid Unicode: a lone low surrogate";
        return -1;
    }
    if (hi < 0xD800 || hi > 0xDBFF) {
        return hi;
    }
    int lo = end - s >= 11 && s[5] == '\\' && s[6] == 'u' ? hex4(s + 7) : -1;
    if (lo < 0xDC00 || lo > 0xDFFF) {
        *why = "invalid Unicode: a high surrogate without its low half";
        return -1;
    }
    *used = 11;
    return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

static bool
scratch_reserve(reader_t *r, size_t n)
{
    if (n <= r->scratch_cap) {
        return true;
    }
    char *s = realloc(r->scratch, n);
    if (s == NULL) {
        return false;
    }
    r->scratch = s;
    r->scratch_cap = n;
    return true;
}

/* Decodes the string whose opening quote was at r->p - 1, from the first
 * byte that needed more than copying (at `from`), into r->scratch. */
static bool
decode_string(reader_t *r, const unsigned char *from, const char **text,
              size_t *len)
{
    const unsigned char *s = r->p;
    size_t n = (size_t)(from - s);

    /* The decoded text is never longer than its source. */
    if (!scratch_reserve(r, (size_t)(r->end - s) + 1)) {
        fail_at(r, s, "out of memory");
        return false;
    }
    memcpy(r->scratch, s, n);
    for (s = from; s < r->end && *s != '"';) {
        if (*s < 0x20) {
            fail_at(r, s,
                    *s == '\n' ? "unexpected newline"
                               : "control character in string");
            return false;
        }
        if (*s >= 0x80) {
            size_t k = cel__utf8_sequence(s, (size_t)(r->end - s));
            if (k == 0) {
                fail_at(r, s, "invalid UTF-8");
                return false;
            }
            memcpy(r->scratch + n, s, k);
            n += k, s += k;
            continue;
        }
        if (*s != '\\') {
            r->scratch[n++] = (char)*s++;
            continue;
        }
        if (s + 1 >= r->end) {
            break;
        }
        const char *why;
        size_t used = 2;
        switch (s[1]) {
        case '"': r->scratch[n++] = '"'; break;
        case '\\': r->scratch[n++] = '\\'; break;
        case '/': r->scratch[n++] = '/'; break;
        case 'b': r->scratch[n++] = '\b'; break;
        case 'f': r->scratch[n++] = '\f'; break;
        case 'n': r->scratch[n++] = '\n'; break;
        case 'r': r->scratch[n++] = '\r'; break;
        case 't': r->scratch[n++] = '\t'; break;
        case 'u': {
            int32_t cp = unicode_escape(s + 1, r->end, &used, &why);
            if (cp < 0) {
                fail_at(r, s, why);
                return false;
            }
            used += 1;
            n += put_utf8(r->scratch + n, (uint32_t)cp);
            break;
        }
        default: fail_at(r, s, "invalid escape"); return false;
        }
        s += used;
    }
    if (s >= r->end || *s != '"') {
        fail_at(r, s, "premature end of input in a string");
        return false;
    }
    r->p = s + 1;
    *text = r->scratch;
    *len = n;
    return true;
}

/* Reads a string (r->p just after its opening quote): *text points into
 * the input or into r->scratch, valid until the next string is read. */
static bool
read_string(reader_t *r, const char **text, size_t *len)
{
    const unsigned char *s = r->p;

    while (s < r->end && *s != '"' && *s != '\\' && *s >= 0x20 && *s < 0x80) {
        s++;
    }
    if (s < r->end && *s == '"') { /* the common case: copied as it is */
        *text = (const char *)r->p;
        *len = (size_t)(s - r->p);
        r->p = s + 1;
        return true;
    }
    return decode_string(r, s, text, len);
}

static json_t *
read_integer(reader_t *r, const unsigned char *s, const unsigned char *e)
{
    bool neg = *s == '-';
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

    for (const unsigned char *d = s + neg; d < e; d++) {
        unsigned digit = (unsigned)(*d - '0');
        if (v > (limit - digit) / 10) {
            return fail_at(
                r, s, neg ? "too big negative integer" : "too big integer");
        }
        v = v * 10 + digit;
    }
    /* -2^63 has no positive counterpart: negate in unsigned arithmetic. */
    return json_integer(neg ? (json_int_t)(0 - v) : (json_int_t)v);
}

static json_t *
read_real(reader_t *r, const unsigned char *s, const unsigned char *e)
{
    char local[64], *text = local, *end;
    size_t n = (size_t)(e - s);

    if (n >= sizeof(local) && (text = malloc(n + 1)) == NULL) {
        return fail_at(r, s, "out of memory");
    }
    memcpy(text, s, n);
    text[n] = '\0';
    /* strtod reads the locale's decimal point; JSON's is always '.'. */
    const char *point = localeconv()->decimal_point;
    char *dot = memchr(text, '.', n);
    if (dot != NULL && point != NULL && point[0] != '.' && point[1] == '\0') {
        *dot = point[0];
    }
    errno = 0;
    double v = strtod(text, &end);
    /* Overflow fails, as in jansson; underflow gives 0 or a subnormal. */
    bool overflow = errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL);
    if (text != local) {
        free(text);
    }
    if (overflow) {
        return fail_at(r, s, "real number overflow");
    }
    return json_real(v);
}

/* JSON's number grammar exactly: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 */
static json_t *
read_number(reader_t *r)
{
    const unsigned char *s = r->p, *p = s, *end = r->end;
    bool real = false;

#define DIGIT(q) ((q) < end && *(q) >= '0' && *(q) <= '9')
    if (p < end && *p == '-') {
        p++;
    }
    if (!DIGIT(p)) {
        return fail_at(r, s, "invalid token");
    }
    if (*p++ == '0') {
        if (DIGIT(p)) {
            return fail_at(r, s, "invalid token: a leading zero");
        }
    } else {
        while (DIGIT(p)) {
            p++;
        }
    }
    if (p < end && *p == '.') {
        if (!DIGIT(p + 1)) {
            return fail_at(r, s, "invalid token");
        }
        for (p++; DIGIT(p); p++) {
        }
        real = true;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (!DIGIT(p)) {
            return fail_at(r, s, "invalid token");
        }
        while (DIGIT(p)) {
            p++;
        }
        real = true;
    }
#undef DIGIT
    r->p = p;
    return real ? read_real(r, s, p) : read_integer(r, s, p);
}

static json_t *read_value(reader_t *r);

/* After an element or member: a comma (*more: another follows) or the
 * closing bracket (*more false); anything else fails with `expected`. */
static bool
after_item(reader_t *r, unsigned char close, const char *expected, bool *more)
{
    skip_space(r);
    if (r->p < r->end && (*r->p == ',' || *r->p == close)) {
        *more = *r->p++ == ',';
        return true;
    }
    fail_at(r, r->p, expected);
    return false;
}

/* Steps over the opening bracket of the container c (NULL when it could
 * not be made: out of memory). Returns true when items follow. */
static bool
open_container(reader_t *r, const json_t *c, unsigned char close)
{
    r->p++;
    skip_space(r);
    if (c == NULL) {
        fail_at(r, r->p, "out of memory");
        return false;
    }
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return false;
    }
    return true;
}

static json_t *
read_array(reader_t *r)
{
    json_t *a = json_array();
    bool more = open_container(r, a, ']');

    while (more) {
        json_t *v = read_value(r);
        if (v == NULL || json_array_append_new(a, v) != 0 ||
            !after_item(r, ']', "']' expected", &more)) {
            json_decref(a);
            return fail_at(r, r->p, "out of memory");
        }
    }
    return a;
}

/* One "key": value member of the object o, r->p at the key's quote. */
static bool
read_member(reader_t *r, json_t *o)
{
    const char *key;
    size_t len;
    char *copy = NULL;

    if (r->p >= r->end || *r->p != '"') {
        fail_at(r, r->p, "string or '}' expected");
        return false;
    }
    r->p++;
    if (!read_string(r, &key, &len)) {
        return false;
    }
    if (memchr(key, '\0', len) != NULL) {
        fail_at(r, r->p, "NUL byte in object key not supported");
        return false;
    }
    /* A key decoded into the scratch buffer must be kept apart from the
     * value's own strings; one read from the input (nearly every key)
     * stays where it is. On the heap, not the stack: this recurses as
     * deep as the text nests. */
    if (key == r->scratch) {
        if ((copy = malloc(len + 1)) == NULL) {
            fail_at(r, r->p, "out of memory");
            return false;
        }
        memcpy(copy, key, len);
        key = copy;
    }
    skip_space(r);
    bool ok = false;
    if (r->p >= r->end || *r->p != ':') {
        fail_at(r, r->p, "':' expected");
    } else {
        r->p++;
        json_t *v = read_value(r);
        ok = v != NULL && json_object_setn_new_nocheck(o, key, len, v) == 0;
    }
    free(copy);
    return ok;
}

static json_t *
read_object(reader_t *r)
{
    json_t *o = json_object();
    bool more = open_container(r, o, '}');

    while (more) {
        if (!read_member(r, o) || !after_item(r, '}', "'}' expected", &more)) {
            json_decref(o);
            return fail_at(r, r->p, "out of memory");
        }
        skip_space(r);
    }
    return o;
}

static json_t *
read_literal(reader_t *r, const char *word, size_t n, json_t *value)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) {
        return fail_at(r, r->p, "invalid token");
    }
    r->p += n;
    return value;
}

static json_t *
read_value(reader_t *r)
{
    json_t *v;

    skip_space(r);
    if (r->p >= r->end) {
        return fail_at(r, r->p, "premature end of input");
    }
    if (++r->depth > READ_MAX_DEPTH) {
        return fail_at(r, r->p, "maximum parsing depth reached");
    }
    switch (*r->p) {
    case '{': v = read_object(r); break;
    case '[': v = read_array(r); break;
    case '"': {
        const char *text;
        size_t len;
        r->p++;
        v = read_string(r, &text, &len) ? json_stringn_nocheck(text, len)
                                        : NULL;
        break;
    }
    case 't': v = read_literal(r, "true", 4, json_true()); break;
    case 'f': v = read_literal(r, "false", 5, json_false()); break;
    case 'n': v = read_literal(r, "null", 4, json_null()); break;
    default:
        v = *r->p == '-' || (*r->p >= '0' && *r->p <= '9')
                ? read_number(r)
                : fail_at(r, r->p, "invalid token");
    }
    r->depth--;
    return v;
}

json_t *
cel__json_read(const char *text, size_t len, cel__json_fail_t *fail)
{
    reader_t r = {.start = (const unsigned char *)text,
                  .p = (const unsigned char *)text,
                  .end = (const unsigned char *)text + len,
                  .fail = fail};

    fail->why = NULL;
    fail->offset = 0;
    json_t *v = read_value(&r);
    if (v != NULL) {
        skip_space(&r);
        if (r.p != r.end) {
            json_decref(v);
            v = fail_at(&r, r.p, "end of file expected");
        }
    }
    free(r.scratch);
    if (v == NULL && fail->why == NULL) {
        fail_at(&r, r.p, "out of memory");
    }
    return v;
}
