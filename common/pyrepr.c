/* pyrepr.c: Python's repr() of JSON values, for the argsrepr and kwargsrepr
 * headers and for exception text. A small bounded writer: output is cut at
 * the buffer's end with "...", as Celery's saferepr cuts at 1024. */
#include <cel/message.h>

#include "json_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *out;
    size_t size;
    size_t len;
    bool full;
} writer_t;

static void
put(writer_t *w, const char *s, size_t n)
{
    if (w->full) {
        return;
    }
    if (w->len + n + 1 > w->size) {
        n = w->size - w->len - 1;
        w->full = true;
    }
    memcpy(w->out + w->len, s, n);
    w->len += n;
    w->out[w->len] = '\0';
}

static void
puts_(writer_t *w, const char *s)
{
    put(w, s, strlen(s));
}

static void
put_real(writer_t *w, double d)
{
    char buf[40];

    if (isnan(d)) {
        puts_(w, "nan");
        return;
    }
    if (isinf(d)) {
        puts_(w, d < 0 ? "-inf" : "inf");
        return;
    }
    int prec = 1;
    for (; prec < 17; prec++) { /* the fewest digits that read back */
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }
    snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
    int exp = atoi(strchr(buf, 'e') + 1);
    if (exp < -4 || exp >= 16) { /* where Python writes 1e-05, 1e+16 */
        puts_(w, buf);
        return;
    }
    int decimals = prec - 1 - exp; /* else 100.0, 0.000312 */
    snprintf(buf, sizeof(buf), "%.*f", decimals > 0 ? decimals : 0, d);
    puts_(w, buf);
    if (decimals <= 0) {
        puts_(w, ".0");
    }
}

static void
put_string(writer_t *w, const char *s, size_t n)
{
    bool has_single = memchr(s, '\'', n) != NULL;
    bool has_double = memchr(s, '"', n) != NULL;
    char q = has_single && !has_double ? '"' : '\'';
    char esc[8];

    put(w, &q, 1);
    for (size_t i = 0; i < n && !w->full; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == (unsigned char)q) {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(w, esc, 2);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            puts_(w, c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            puts_(w, esc);
        } else {
            put(w, (const char *)&s[i], 1);
        }
    }
    put(w, &q, 1);
}

static void put_value(writer_t *w, const json_t *v, bool as_tuple);

static void
put_array(writer_t *w, const json_t *v, bool as_tuple)
{
    size_t i, n = json_array_size(v);

    puts_(w, as_tuple ? "(" : "[");
    for (i = 0; i < n && !w->full; i++) {
        if (i > 0) {
            puts_(w, ", ");
        }
        put_value(w, json_array_get(v, i), false);
    }
    if (as_tuple && n == 1) {
        puts_(w, ",");
    }
    puts_(w, as_tuple ? ")" : "]");
}

static void
put_object(writer_t *w, const json_t *v)
{
    const char *key;
    json_t *item;
    bool first = true;

    puts_(w, "{");
    json_object_foreach ((json_t *)v, key, item) {
        if (!first) {
            puts_(w, ", ");
        }
        first = false;
        put_string(w, key, strlen(key));
        puts_(w, ": ");
        put_value(w, item, false);
    }
    puts_(w, "}");
}

static void
put_value(writer_t *w, const json_t *v, bool as_tuple)
{
    char buf[CEL__INT_SIZE];
    const char *text;
    size_t len;

    switch (json_typeof(v)) {
    case JSON_NULL: puts_(w, "None"); break;
    case JSON_TRUE: puts_(w, "True"); break;
    case JSON_FALSE: puts_(w, "False"); break;
    case JSON_INTEGER:
        text = cel__int_text(json_integer_value(v), buf, &len);
        put(w, text, len);
        break;
    case JSON_REAL: put_real(w, json_real_value(v)); break;
    case JSON_STRING:
        put_string(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY: put_array(w, v, as_tuple); break;
    case JSON_OBJECT: put_object(w, v); break;
    }
}

/* Where to cut s (at most at `cut`) without splitting a UTF-8 sequence:
 * a header must stay valid UTF-8, or the message cannot be encoded. */
static size_t
utf8_cut(const char *s, size_t cut)
{
    size_t lead = cut;

    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80) {
        lead--;
    }
    if (lead == 0 || (unsigned char)s[lead - 1] < 0xC0) {
        return cut; /* no sequence was split */
    }
    unsigned char c = (unsigned char)s[lead - 1];
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    return lead - 1 + need > cut ? lead - 1 : cut;
}

void
cel_pyrepr(const json_t *value, bool as_tuple, char *out, size_t size)
{
    writer_t w = {out, size, 0, false};

    if (size == 0) {
        return;
    }
    out[0] = '\0';
    if (value != NULL) {
        put_value(&w, value, as_tuple);
    } else {
        puts_(&w, "None");
    }
    if (w.full && size > 4) {
        strcpy(out + utf8_cut(out, size - 4), "...");
    }
}
