/* Header tables between JSON and AMQP, without a broker. The writer
 * (cel__table_from_json) and the reader (cel__table_to_json) must agree on
 * every limit in broker_internal.h, so that headers celeriac accepted can
 * always be republished (issue 11): hand-picked edges and random tables
 * from a fixed seed go JSON -> amqp_table_t -> wire bytes -> amqp_table_t
 * -> JSON and must come back equal, and one step past each limit must be
 * refused both ways with a code and a text that name the limit. */
#include "broker_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "support/json_same.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL; /* fixed seed: xorshift64 */

static uint32_t
below(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32) % n;
}

static json_t *
decode_encoded(const amqp_table_t *table, amqp_pool_t *pool, cel_error_t *err)
{
    static unsigned char wire[1 << 20];
    amqp_table_t back;
    size_t n = 0, m = 0;

    CHECK_EQ_INT(amqp_encode_table((amqp_bytes_t){sizeof(wire), wire},
                                   (amqp_table_t *)table, &n),
                 AMQP_STATUS_OK);
    CHECK_EQ_INT(amqp_decode_table((amqp_bytes_t){n, wire}, pool, &back, &m),
                 AMQP_STATUS_OK);
    CHECK_EQ_INT(m, n);
    return cel__table_to_json(&back, err);
}

/* headers must survive the writer, rabbitmq-c's bytes and the reader. */
static void
check_round_trip(const json_t *headers)
{
    cel_error_t err = CEL_ERROR_INIT;
    amqp_pool_t pool;
    amqp_table_t table;

    init_amqp_pool(&pool, 4096);
    CHECK_OK(cel__table_from_json(headers, &pool, &table, &err));
    json_t *again = decode_encoded(&table, &pool, &err);
    if (again == NULL || !test_json_same(headers, again)) {
        char *a = cel_json_dump(headers, NULL), *b = cel_json_dump(again, NULL);
        CHECK_FAIL_("round trip changed %.300s into %.300s (%s)", a,
                    b ? b : "NULL", err.text);
    }
    json_decref(again);
    empty_amqp_pool(&pool);
}

/* A writer refusal must carry code, and a text that has every piece. */
static void
check_write_fails(const json_t *headers, int code, const char *const *pieces)
{
    cel_error_t err = CEL_ERROR_INIT;
    amqp_pool_t pool;
    amqp_table_t table;

    init_amqp_pool(&pool, 4096);
    CHECK_EQ_INT(cel__table_from_json(headers, &pool, &table, &err), code);
    CHECK_EQ_INT(err.code, code);
    for (; *pieces != NULL; pieces++) {
        CHECK_CONTAINS(err.text, *pieces);
    }
    printf("refused as expected: %s\n", err.text);
    empty_amqp_pool(&pool);
}

static void
check_read_fails(const amqp_table_t *table, const char *piece)
{
    cel_error_t err = CEL_ERROR_INIT;

    CHECK(cel__table_to_json(table, &err) == NULL);
    CHECK_EQ_INT(err.code, CEL_EPROTO);
    CHECK_CONTAINS(err.text, piece);
    printf("refused as expected: %s\n", err.text);
}

static json_t *
name_of(const char *unit, size_t count)
{
    size_t len = strlen(unit);
    char *s = malloc(len * count + 1);

    CHECK(s != NULL);
    for (size_t i = 0; i < count; i++) {
        memcpy(s + i * len, unit, len);
    }
    json_t *headers = json_object();
    json_t *inner = json_pack("{s:[{s:i}]}", "retries", "k", 1);
    CHECK(headers != NULL && inner != NULL);
    CHECK(json_object_setn_new(headers, s, len * count, json_string("v")) == 0);
    CHECK(json_object_setn_new(
              json_array_get(json_object_get(inner, "retries"), 0), s,
              len * count, json_integer(7)) == 0);
    CHECK(json_object_set_new(headers, "nested", inner) == 0);
    free(s);
    return headers;
}

/* A custom header named with 200 bytes came in, so it must go out again;
 * 255 is the most a shortstr holds, in ASCII or in three-byte '€'. */
static void
test_long_names(void)
{
    json_t *ok[] = {name_of("k", 200), name_of("k", 255),
                    name_of("\xe2\x82\xac", 85)};
    json_t *bad[] = {name_of("k", 256), name_of("\xe2\x82\xac", 86)};
    static const char *const says256[] = {"256 bytes", "255", "kkkk", NULL};
    static const char *const says258[] = {"258 bytes", "255", NULL};

    for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        check_round_trip(ok[i]);
        json_decref(ok[i]);
    }
    check_write_fails(bad[0], CEL_EINVAL, says256);
    check_write_fails(bad[1], CEL_EINVAL, says258);
    /* The same name one level down, inside an array, is refused too. */
    json_t *deep = json_pack("{s:[{s:O}]}", "a", "b", bad[0]);
    check_write_fails(deep, CEL_EINVAL, says256);
    json_decref(deep);
    json_decref(bad[0]);
    json_decref(bad[1]);
}

/* A shortstr cannot hold 256 bytes, but an amqp_table_t built in memory
 * can: the reader refuses what the writer would refuse. */
static void
test_long_name_read(void)
{
    static char name[256];
    amqp_table_entry_t e = {{sizeof(name), name}, {.kind = 'V'}};
    amqp_table_t table = {1, &e};

    memset(name, 'k', sizeof(name));
    check_read_fails(&table, "256 bytes");
}

/* {"h": [{"h": [... 1]}]}, whose innermost 1 sits inside depth
 * containers, counting the headers table. */
static json_t *
nested(int depth)
{
    json_t *v = json_integer(1);

    for (int d = depth; d > 1; d--) {
        v = d % 2 ? json_pack("{s:o}", "h", v) : json_pack("[o]", v);
    }
    return json_pack("{s:o}", "h", v);
}

static void
test_depth(void)
{
    static const char *const says[] = {"\"h\"", "32", NULL};
    cel_error_t err = CEL_ERROR_INIT;
    json_t *ok = nested(CEL_TABLE_MAX_DEPTH);
    json_t *bad = nested(CEL_TABLE_MAX_DEPTH + 1);
    amqp_pool_t pool;
    amqp_table_t inner;

    check_round_trip(ok);
    check_write_fails(bad, CEL_EINVAL, says);
    /* The reader, given one table more around the deepest good one. */
    init_amqp_pool(&pool, 4096);
    CHECK_OK(cel__table_from_json(ok, &pool, &inner, &err));
    amqp_table_entry_t e = {amqp_cstring_bytes("h"), {.kind = 'F'}};
    e.value.value.table = inner;
    amqp_table_t outer = {1, &e};
    check_read_fails(&outer, "32");
    empty_amqp_pool(&pool);
    json_decref(ok);
    json_decref(bad);
}

#define ENTRY(k, kind_, field, v)                                              \
    {                                                                          \
        {sizeof(k) - 1, k},                                                    \
        {                                                                      \
            .kind = (kind_), .value.field = (v)                                \
        }                                                                      \
    }

/* Every kind the reader turns into JSON must be writable, and stay equal
 * through another round trip. */
static void
test_reader_kinds(void)
{
    static char bytes[] = "raw", nul[] = "a\0b";
    amqp_table_entry_t e[] = {
        ENTRY("t", 't', boolean, 1),
        ENTRY("b", 'b', i8, -8),
        ENTRY("B", 'B', u8, 200),
        ENTRY("s", 's', i16, -300),
        ENTRY("u", 'u', u16, 60000),
        ENTRY("I", 'I', i32, INT32_MIN),
        ENTRY("i", 'i', u32, UINT32_MAX),
        ENTRY("l", 'l', i64, INT64_MIN),
        ENTRY("L", 'L', u64, UINT64_MAX),
        ENTRY("T", 'T', u64, 1700000000),
        ENTRY("f", 'f', f32, 1.5f),
        ENTRY("d", 'd', f64, -2.5e300),
        ENTRY("D", 'D', decimal, ((amqp_decimal_t){2, 12345})),
        ENTRY("x", 'x', bytes, ((amqp_bytes_t){3, bytes})),
        ENTRY("S", 'S', bytes, ((amqp_bytes_t){3, nul})),
        ENTRY("V", 'V', boolean, 0),
        ENTRY("a\0b", 'S', bytes, ((amqp_bytes_t){0, NULL})),
    };
    amqp_table_t table = {sizeof(e) / sizeof(*e), e};
    cel_error_t err = CEL_ERROR_INIT;
    json_t *got = cel__table_to_json(&table, &err);

    CHECK(got != NULL);
    CHECK_EQ_INT(json_object_size(got), sizeof(e) / sizeof(*e));
    CHECK_EQ_INT(json_integer_value(json_object_get(got, "L")), -1);
    CHECK(json_real_value(json_object_get(got, "D")) == 123.45);
    CHECK_EQ_INT(json_string_length(json_object_get(got, "S")), 3);
    CHECK(json_object_getn(got, "a\0b", 3) != NULL);
    check_round_trip(got);
    json_decref(got);
}

/* What JSON cannot hold is refused with a reason, never a bare NULL. */
static void
test_reader_refusals(void)
{
    static char bad_utf8[] = "\xff";
    amqp_table_entry_t e[] = {
        ENTRY("nan", 'd', f64, NAN),
        ENTRY("inf", 'f', f32, INFINITY),
        ENTRY("s", 'S', bytes, ((amqp_bytes_t){1, bad_utf8})),
        ENTRY("q", 'Q', u64, 0),
        ENTRY("\xff", 'V', boolean, 0),
    };
    static const char *const says[] = {"\"nan\"", "\"inf\"", "\"s\"", "'Q'",
                                       "name"};

    for (size_t i = 0; i < sizeof(e) / sizeof(*e); i++) {
        amqp_table_t table = {1, &e[i]};
        check_read_fails(&table, says[i]);
    }
}

static int allocs_left; /* jansson allocations before one fails */

static void *
chaos_malloc(size_t n)
{
    return allocs_left-- > 0 ? malloc(n) : NULL;
}

/* Out of memory at each of the reader's allocations in turn: a NULL
 * always comes with CEL_ENOMEM, and nothing leaks (under ASan). */
static void
test_out_of_memory(void)
{
    json_t *headers =
        json_pack("{s:[i,s,{s:f}],s:n}", "a", 1, "two", "b", 2.5, "c");
    cel_error_t err = CEL_ERROR_INIT;
    amqp_pool_t pool;
    amqp_table_t table;
    json_t *got = NULL;

    init_amqp_pool(&pool, 4096);
    CHECK_OK(cel__table_from_json(headers, &pool, &table, &err));
    for (int n = 0; got == NULL; n++) {
        cel_error_clear(&err);
        allocs_left = n;
        json_set_alloc_funcs(chaos_malloc, free);
        got = cel__table_to_json(&table, &err);
        json_set_alloc_funcs(malloc, free);
        CHECK(got != NULL || err.code == CEL_ENOMEM);
        CHECK(n < 100);
    }
    CHECK(test_json_same(headers, got));
    json_decref(got);
    json_decref(headers);
    empty_amqp_pool(&pool);
}

static void
test_not_object(void)
{
    static const char *const says[] = {"object", NULL};
    json_t *arr = json_array();

    check_write_fails(arr, CEL_EINVAL, says);
    json_decref(arr);
}

/* Text of at most max bytes, from pieces that JSON strings and AMQP keys
 * both allow, NUL and four-byte characters included. */
static json_t *
random_string(size_t max, bool key, json_t *obj, json_t *value)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         "0",
                                         "_",
                                         ".",
                                         " ",
                                         "\"",
                                         "\\",
                                         "\n",
                                         "",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x90\x8d"};
    char buf[512];
    size_t want = below((uint32_t)max + 1), n = 0;

    while (n < want) {
        const char *p = pieces[below(sizeof(pieces) / sizeof(*pieces))];
        size_t len = *p ? strlen(p) : 1;
        if (n + len > want) {
            break;
        }
        memcpy(buf + n, p, len);
        n += len;
    }
    if (key) {
        CHECK(json_object_setn_new(obj, buf, n, value) == 0);
        return obj;
    }
    return json_stringn(buf, n);
}

static json_t *random_value(int depth);

static json_t *
random_container(int depth, bool object)
{
    json_t *c = object ? json_object() : json_array();

    for (uint32_t i = below(6); i > 0; i--) {
        json_t *v = random_value(depth + 1);
        if (object) {
            random_string(below(8) ? 16 : CEL_TABLE_MAX_KEY_BYTES, true, c, v);
        } else {
            CHECK(json_array_append_new(c, v) == 0);
        }
    }
    return c;
}

static json_t *
random_number(void)
{
    static const json_int_t edges[] = {
        0,         INT32_MIN, INT32_MAX, (json_int_t)INT32_MAX + 1,
        INT64_MIN, INT64_MAX, -1,        (json_int_t)INT32_MIN - 1};
    uint64_t bits = ((uint64_t)below(UINT32_MAX) << 32) | below(UINT32_MAX);
    double d;

    switch (below(3)) {
    case 0: return json_integer((json_int_t)below(2000) - 1000);
    case 1: return json_integer(edges[below(sizeof(edges) / sizeof(*edges))]);
    }
    memcpy(&d, &bits, sizeof(d));
    return json_real(isfinite(d) ? d : 0.5);
}

static json_t *
random_value(int depth)
{
    switch (below(depth < 5 ? 8 : 6)) {
    case 0: return json_null();
    case 1: return json_boolean(below(2));
    case 2:
    case 3: return random_number();
    case 4:
    case 5: return random_string(below(10) ? 24 : 300, false, NULL, NULL);
    case 6: return random_container(depth, false);
    }
    return random_container(depth, true);
}

static void
test_random(void)
{
    for (int i = 0; i < 3000; i++) {
        json_t *headers = random_container(0, true);
        check_round_trip(headers);
        json_decref(headers);
    }
}

int
main(void)
{
    test_long_names();
    test_long_name_read();
    test_depth();
    test_reader_kinds();
    test_reader_refusals();
    test_not_object();
    test_out_of_memory();
    test_random();
    printf("header tables: limits agree both ways\n");
    return 0;
}
