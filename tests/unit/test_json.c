/* common's JSON writer (behind cel_json_dump and the task and result
 * encoders) must write exactly what jansson's compact dumper writes, since
 * that is what Celery reads and what the wire vectors hold; its reader
 * (behind cel_json_load) must accept exactly what jansson's loader
 * accepts, and build an equal value. Both are compared with jansson here
 * over hand-picked edge cases, a few thousand random trees and mutations
 * of their texts; fuzz_decode does the same with libFuzzer's inputs. */
#include <cel/message.h>

#include <stdint.h>

#include "check.h"

#define FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17))

static void
expect_same(const json_t *v)
{
    size_t len = 0;
    char *ours = cel_json_dump(v, &len);
    char *theirs = json_dumps(v, FLAGS);

    CHECK(theirs != NULL);
    CHECK_STR_EQ(ours, theirs);
    CHECK_EQ_INT(len, strlen(theirs));
    free(ours);
    free(theirs);
}

static void
test_scalars(void)
{
    static const double reals[] = {0.0,     -0.0,    0.1,    1.5,
                                   1e300,   -1e-300, 5e-324, 123456789.0,
                                   1.0 / 3, 2.5e15,  1e16,   -7.25e-5};
    static const json_int_t ints[] = {
        0, 1, -1, 9, 10, -10, INT64_MAX, INT64_MIN, 1234567890123};
    static const char strings[][24] = {"",
                                       "plain",
                                       "quo\"te",
                                       "back\\",
                                       "a/b",
                                       "tab\there",
                                       "nl\n",
                                       "\x01\x1f",
                                       "caf\xc3\xa9",
                                       "\xe2\x82\xac",
                                       "\xf0\x9f\x98\x80",
                                       "del\x7f"};

    expect_same(json_null());
    expect_same(json_true());
    expect_same(json_false());
    for (size_t i = 0; i < sizeof(reals) / sizeof(*reals); i++) {
        json_t *v = json_real(reals[i]);
        expect_same(v);
        json_decref(v);
    }
    for (size_t i = 0; i < sizeof(ints) / sizeof(*ints); i++) {
        json_t *v = json_integer(ints[i]);
        expect_same(v);
        json_decref(v);
    }
    for (size_t i = 0; i < sizeof(strings) / sizeof(*strings); i++) {
        json_t *v = json_string(strings[i]);
        CHECK(v != NULL);
        expect_same(v);
        json_decref(v);
    }
    json_t *nul = json_stringn("a\0b", 3); /* NUL inside, as Celery allows */
    expect_same(nul);
    json_t *obj = json_object();
    json_object_setn(obj, "k\0ey", 4, nul); /* and inside a key */
    expect_same(obj);
    json_decref(obj);
    json_decref(nul);
}

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t rng = 0x9e3779b97f4a7c15u;

static unsigned
next(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static json_t *
random_string(void)
{
    static const char alphabet[] = "ab \"\\/\n\t\x01\x7f";
    char text[16];
    size_t n = next(sizeof(text) - 2);

    for (size_t i = 0; i < n; i++) {
        text[i] = alphabet[next(sizeof(alphabet) - 1)];
    }
    if (next(4) == 0) { /* and now and then a two-byte character */
        text[n++] = '\xc3';
        text[n++] = '\xa9';
    }
    return json_stringn(text, n);
}

static json_t *
random_value(int depth)
{
    switch (next(depth > 4 ? 5 : 8)) {
    case 0: return json_null();
    case 1: return json_boolean(next(2));
    case 2: return json_integer((json_int_t)(rng ^ (rng >> 7)));
    case 3: return json_real((double)(int64_t)rng / (1 + next(1000000)));
    case 4: return random_string();
    case 5:
    case 6: {
        json_t *a = json_array();
        for (unsigned i = next(5); i > 0; i--) {
            json_array_append_new(a, random_value(depth + 1));
        }
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = next(5); i > 0; i--) {
            json_t *key = random_string();
            json_object_set_new(o, json_string_value(key),
                                random_value(depth + 1));
            json_decref(key);
        }
        return o;
    }
    }
}

static void
test_random_trees(void)
{
    for (int i = 0; i < 5000; i++) {
        json_t *v = random_value(0);
        CHECK(v != NULL);
        expect_same(v);
        json_decref(v);
    }
}

/* Our reader and jansson's agree on text: both refuse it, or both read
 * values that are equal. */
static void
expect_read_same(const char *text, size_t len)
{
    cel_error_t err = CEL_ERROR_INIT;
    json_t *ours = cel_json_load(text, len, &err);
    json_t *theirs =
        json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    if ((ours == NULL) != (theirs == NULL) ||
        (ours != NULL && !json_equal(ours, theirs))) {
        CHECK_FAIL_("readers disagree on \"%.*s\": ours %s, jansson's %s",
                    (int)len, text, ours ? "read it" : err.text,
                    theirs ? "read it" : "refused it");
    }
    if (ours == NULL) {
        CHECK_CONTAINS(err.text, "invalid JSON at line");
    }
    json_decref(ours);
    json_decref(theirs);
}

static void
test_reader_cases(void)
{
    static const char *const cases[] = {
        "0",
        "-0",
        "1",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "-9223372036854775809",
        "123456789012345678901",
        "01",
        "-",
        "-a",
        "1.",
        ".5",
        "1.5",
        "1e5",
        "1E+5",
        "1e-5",
        "1e",
        "1e+",
        "1.5e300",
        "1e309",
        "-1e309",
        "1e-400",
        "2.2250738585072014e-308",
        "0.1",
        "-0.0",
        "1.0",
        "00",
        "1x",
        "truex",
        "true",
        "false",
        "null",
        "nul",
        "True",
        "\"\"",
        "\"a\"",
        "\"\\u0041\"",
        "\"\\u00e9\"",
        "\"\\uD83D\\uDE00\"",
        "\"\\uD83D\"",
        "\"\\uDE00\"",
        "\"\\uD83Dx\"",
        "\"\\uD83D\\u0041\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"\\x\"",
        "\"\\",
        "\"abc",
        "\"a\\\"b\"",
        "\"\\/\\b\\f\\n\\r\\t\"",
        "\"\\u0000\"",
        "\"tab\there\"",
        "\"nl\nhere\"",
        "\"caf\xc3\xa9\"",
        "\"\xc3\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xf0\x9f\x98\x80\"",
        "\"\x7f\"",
        "[]",
        "[ ]",
        "[1,2]",
        "[1,]",
        "[,1]",
        "[1 2]",
        "[",
        "]",
        "{}",
        "{ }",
        "{\"a\":1}",
        "{\"a\" : 1 }",
        "{\"a\":1,}",
        "{\"a\"}",
        "{\"a\":}",
        "{a:1}",
        "{\"a\":1,\"a\":2}",
        "{\"\\u0000\":1}",
        "{\"k\\u00e9y\":[1,{\"x\":null}]}",
        "[[[]]]",
        "",
        " ",
        " 1 ",
        "1 2",
        "\t\r\n[\n1\n]\n",
        "[1]x",
        "{}{}",
        "\xc3\xa9",
        "[\"a\",\"b\\n\",{\"c\":[true,false,null,1.25,-3]}]"};

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        expect_read_same(cases[i], strlen(cases[i]));
    }
    /* A raw NUL byte is refused anywhere. (jansson drops one it has read
     * one byte too far, reading "9\0" as 9: not compared.) */
    expect_read_same("\"a\0b\"", 5);
    expect_read_same("[1]\0", 4);
    cel_error_t err = CEL_ERROR_INIT;
    CHECK(cel_json_load("9\0", 2, &err) == NULL);
    CHECK(cel_json_load("[1,\0 2]", 7, &err) == NULL);

    /* jansson stops at 2048 levels, counting the innermost value. */
    for (int depth = 2046; depth <= 2050; depth++) {
        char *deep = malloc(2 * (size_t)depth + 2);
        CHECK(deep != NULL);
        memset(deep, '[', (size_t)depth);
        deep[depth] = '1';
        memset(deep + depth + 1, ']', (size_t)depth);
        expect_read_same(deep, 2 * (size_t)depth + 1);
        memset(deep + depth, ']', (size_t)depth); /* and without the 1 */
        expect_read_same(deep, 2 * (size_t)depth);
        free(deep);
    }
}

/* Texts of random trees read back equal, and so do (or fail alike) the
 * same texts with a byte changed or cut short there. */
static void
test_reader_random(void)
{
    static const char noise[] = "[]{}\",:0-.eE+u\\\x80\xc3\xa9 \n\"aZ";

    for (int i = 0; i < 3000; i++) {
        json_t *v = random_value(0);
        char *text =
            json_dumps(v, JSON_ENCODE_ANY | (i % 2 ? JSON_COMPACT : 0));
        size_t len = strlen(text);
        expect_read_same(text, len);
        for (int m = 0; m < 8 && len > 0; m++) {
            size_t at = next((unsigned)len);
            char keep = text[at];
            text[at] = noise[next(sizeof(noise) - 1)];
            expect_read_same(text, len);
            expect_read_same(text, at);
            text[at] = keep;
        }
        free(text);
        json_decref(v);
    }
}

/* cel_utf8_valid against jansson's own check, over random short byte
 * strings weighted towards the bytes where UTF-8 has its edges. */
static void
test_utf8_valid(void)
{
    static const unsigned char edges[] = {
        0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
        0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};

    for (int i = 0; i < 20000; i++) {
        char text[6];
        size_t n = next(sizeof(text) + 1);
        for (size_t k = 0; k < n; k++) {
            text[k] = (char)edges[next(sizeof(edges))];
        }
        json_t *s = json_stringn(text, n);
        CHECK_EQ_INT(cel_utf8_valid(text, n), s != NULL);
        json_decref(s);
    }
}

static void
test_unwritable(void)
{
    json_t *a = json_array(), *b = json_array();

    json_array_append(a, b); /* a cycle: json_dumps refuses it too */
    json_array_append(b, a);
    CHECK(json_dumps(a, FLAGS) == NULL);
    CHECK(cel_json_dump(a, NULL) == NULL);
    json_array_clear(b);
    json_decref(a);
    json_decref(b);

    json_t *nan = json_real(0.0);
    CHECK(json_real_set(nan, 0.0 / 0.0) != 0); /* jansson keeps NaN out */
    expect_same(nan);
    json_decref(nan);
}

/* The encoders write their envelopes by hand: the text must read back as
 * the same message, and a C string that is not UTF-8 (a task's error text
 * cut at a byte limit) must not make the result unreadable. */
static void
test_encoders(void)
{
    cel_envelope_t env;
    cel_result_msg_t r;
    cel_error_t err = CEL_ERROR_INIT;
    json_t *value = json_pack("{s:[i,f,s]}", "x", 1, 2.5, "\"q\"");

    CHECK_OK(cel_result_encode("id-1", NULL, CEL_STATE_SUCCESS, value, NULL,
                               &env, &err));
    CHECK_STR_EQ(env.body,
                 "{\"task_id\":\"id-1\",\"status\":\"SUCCESS\",\"result\":"
                 "{\"x\":[1,2.5,\"\\\"q\\\"\"]},\"traceback\":null,"
                 "\"children\":[]}");
    cel_envelope_clear(&env);

    CHECK_OK(cel_result_encode("id-2", NULL, CEL_STATE_FAILURE, NULL,
                               "cut here: \xc3", &env, &err));
    CHECK_OK(cel_result_decode(env.body, env.body_len, &r, &err));
    CHECK_STR_EQ(r.traceback, "cut here: \xef\xbf\xbd");
    CHECK(json_is_null(r.result));
    cel_result_msg_clear(&r);
    cel_envelope_clear(&env);

    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    spec.name = "tasks.add";
    spec.args = json_pack("[i,s]", 2, "two");
    spec.kwargs = value;
    CHECK_OK(cel_task_encode(&spec, &env, NULL, 0, &err));
    CHECK_STR_EQ(env.body,
                 "[[2,\"two\"],{\"x\":[1,2.5,\"\\\"q\\\"\"]},"
                 "{\"callbacks\":null,\"errbacks\":null,\"chain\":null,"
                 "\"chord\":null}]");
    cel_envelope_clear(&env);
    json_decref((json_t *)spec.args);
    json_decref(value);
}

int
main(void)
{
    test_scalars();
    test_random_trees();
    test_unwritable();
    test_utf8_valid();
    test_reader_cases();
    test_reader_random();
    test_encoders();
    puts("ok");
    return 0;
}
