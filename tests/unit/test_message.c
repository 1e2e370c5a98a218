/* Task and result messages: what we encode decodes back to the same call,
 * and every kind of malformed input gives CEL_EPROTO (or CEL_ETOOBIG) with a
 * reason, while the id, task and reply_to are still read where possible. */
#include <cel/message.h>

#include <stdint.h>

#include "check.h"

static void
set_body(cel_envelope_t *env, const char *body)
{
    env->body = body;
    env->body_len = strlen(body);
}

static cel_envelope_t
v2_envelope(const char *body)
{
    cel_envelope_t env;

    cel_envelope_init(&env);
    strcpy(env.content_type, "application/json");
    strcpy(env.content_encoding, "utf-8");
    strcpy(env.reply_to, "reply-q");
    env.headers = json_pack("{s:s, s:s}", "id", "tid-1", "task", "add");
    set_body(&env, body);
    return env;
}

static void
expect_bad(cel_envelope_t *env, int code, const char *reason)
{
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;

    CHECK_EQ_INT(cel_task_decode(env, 1024, &m, &err), code);
    CHECK_CONTAINS(err.text, reason);
    if (json_is_string(json_object_get(env->headers, "id"))) {
        CHECK_STR_EQ(m.id, "tid-1");
        CHECK_STR_EQ(m.reply_to, "reply-q");
    }
    cel_task_msg_clear(&m);
    cel_envelope_clear(env);
}

static void
test_roundtrip(void)
{
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t env;
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;
    char id[64];

    json_t *args = json_pack("[I, s, f, n, {s:[i]}]", (json_int_t)1 << 62,
                             "h\xc3\xa9llo \"q\" 'x'", 2.5, "k", 1);
    json_t *kwargs = json_pack("{s:b}", "flag", 1);
    spec.name = "echo";
    spec.args = args;
    spec.kwargs = kwargs;
    spec.reply_to = "rq";
    spec.time_limit = 30;
    spec.soft_time_limit = 20.5;
    CHECK_OK(cel_task_encode(&spec, &env, id, sizeof(id), &err));
    CHECK_EQ_INT(strlen(id), 36);
    CHECK_STR_EQ(env.correlation_id, id);
    CHECK_STR_EQ(json_string_value(json_object_get(env.headers, "argsrepr")),
                 "(4611686018427387904, 'h\xc3\xa9llo \"q\" \\'x\\'', 2.5, "
                 "None, {'k': [1]})");
    CHECK_STR_EQ(json_string_value(json_object_get(env.headers, "kwargsrepr")),
                 "{'flag': True}");
    CHECK_OK(cel_task_decode(&env, 0, &m, &err));
    CHECK_STR_EQ(m.id, id);
    CHECK_STR_EQ(m.task, "echo");
    CHECK_STR_EQ(m.root_id, id);
    CHECK(json_equal(m.args, args));
    CHECK(json_equal(m.kwargs, kwargs));
    CHECK(m.time_limit == 30 && m.soft_time_limit == 20.5);
    cel_task_msg_clear(&m);
    cel_envelope_clear(&env);
    spec.name = NULL;
    CHECK_EQ_INT(cel_task_encode(&spec, &env, id, sizeof(id), &err),
                 CEL_EINVAL);
    json_decref(args);
    json_decref(kwargs);
}

/* argsrepr is cut at 1024 bytes, as Celery's saferepr cuts; a cut inside a
 * multi-byte character made the header invalid UTF-8 and the task could
 * not be sent at all. Every alignment of 2-, 3- and 4-byte characters. */
static void
test_long_unicode_args(void)
{
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80"};
    cel_error_t err = CEL_ERROR_INIT;

    for (size_t k = 0; k < 3; k++) {
        for (size_t shift = 0; shift < 4; shift++) {
            char text[2100] = "";
            memset(text, 'a', shift);
            for (size_t n = shift; n + 5 < sizeof(text);
                 n += strlen(chars[k])) {
                strcpy(text + n, chars[k]);
            }
            json_t *args = json_pack("[s]", text);
            cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
            cel_envelope_t env;
            spec.name = "echo";
            spec.args = args;
            CHECK_OK(cel_task_encode(&spec, &env, NULL, 0, &err));
            const char *repr =
                json_string_value(json_object_get(env.headers, "argsrepr"));
            CHECK(repr != NULL && strlen(repr) <= 1023);
            CHECK_CONTAINS(repr, "...");
            cel_envelope_clear(&env);
            json_decref(args);
        }
    }
}

static void
test_repr_integers(void)
{
    char repr[128];
    json_t *args = json_pack("[i, I, i, I]", -1, (json_int_t)INT64_MIN, 0,
                             (json_int_t)INT64_MAX);

    cel_pyrepr(args, true, repr, sizeof(repr));
    CHECK_STR_EQ(repr, "(-1, -9223372036854775808, 0, 9223372036854775807)");
    json_decref(args);
}

/* Floats as Python's repr() writes them (the values are Python's own):
 * fixed notation from 1e-4 up to 1e16, with ".0" for whole numbers, and
 * the fewest digits that read back. */
static void
test_repr_reals(void)
{
    char repr[256];
    json_t *args =
        json_pack("[ffffffffffffffff]", 100.0, 1e16, 1e22, 0.5, 12345678.0,
                  1e-05, 0.000312, 2.0, 1.5e-07, 123.456, -0.0,
                  9999999999999998.0, 0.1, 1.0 / 3, -2.5e-300, 0.0001);

    cel_pyrepr(args, true, repr, sizeof(repr));
    CHECK_STR_EQ(repr, "(100.0, 1e+16, 1e+22, 0.5, 12345678.0, 1e-05, "
                       "0.000312, 2.0, 1.5e-07, 123.456, -0.0, "
                       "9999999999999998.0, 0.1, 0.3333333333333333, "
                       "-2.5e-300, 0.0001)");
    json_decref(args);
}

static void
test_v1(void)
{
    cel_envelope_t env;
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;

    cel_envelope_init(&env);
    env.headers = json_object();
    set_body(&env, "{\"task\":\"add\",\"id\":\"v1-id\",\"args\":[2,3],"
                   "\"kwargs\":null,\"retries\":0,\"eta\":null,"
                   "\"timelimit\":[null,null]}");
    CHECK_OK(cel_task_decode(&env, 0, &m, &err));
    CHECK_EQ_INT(m.protocol, 1);
    CHECK_STR_EQ(m.id, "v1-id");
    CHECK_EQ_INT(json_integer_value(json_array_get(m.args, 1)), 3);
    CHECK(json_is_object(m.kwargs));
    cel_task_msg_clear(&m);
    cel_envelope_clear(&env);
}

static void
test_malformed(void)
{
    cel_envelope_t env = v2_envelope("[[1], {}, null]");
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;

    CHECK_OK(cel_task_decode(&env, 0, &m, &err)); /* null embed is fine */
    cel_task_msg_clear(&m);
    cel_envelope_clear(&env);

    env = v2_envelope("[[1], {}");
    expect_bad(&env, CEL_EPROTO, "invalid JSON");
    env = v2_envelope("[\"\xff\xfe\", {}, {}]");
    expect_bad(&env, CEL_EPROTO, "invalid JSON");
    env = v2_envelope("{\"not\": \"a task\"}");
    expect_bad(&env, CEL_EPROTO, "not a list");
    env = v2_envelope("[[1], {}]");
    expect_bad(&env, CEL_EPROTO, "[args, kwargs, embed]");
    env = v2_envelope("[[1], null, {}]");
    expect_bad(&env, CEL_EPROTO, "not a mapping");
    env = v2_envelope("[7, {}, {}]");
    expect_bad(&env, CEL_EPROTO, "not a list");
    env = v2_envelope("[[NaN], {}, {}]");
    expect_bad(&env, CEL_EPROTO, "invalid JSON");
    env = v2_envelope("[[], {}, {}]");
    env.body_len = 2000;
    expect_bad(&env, CEL_ETOOBIG, "over the limit");
    env = v2_envelope("[[], {}, {}]");
    strcpy(env.content_type, "application/x-python-serialize");
    expect_bad(&env, CEL_EPROTO, "not accepted");
    env = v2_envelope("[[], {}, {}]");
    json_object_set_new(env.headers, "eta", json_string("undefined"));
    expect_bad(&env, CEL_EPROTO, "ISO-8601");
    env = v2_envelope("[[], {}, {}]");
    json_object_set_new(env.headers, "retries", json_string("3"));
    expect_bad(&env, CEL_EPROTO, "retries");
    env = v2_envelope("[[], {}, {}]");
    json_object_set_new(env.headers, "timelimit", json_pack("[s]", "x"));
    expect_bad(&env, CEL_EPROTO, "timelimit");
    env = v2_envelope("[[], {}, {}]");
    json_object_set_new(env.headers, "id", json_integer(5));
    expect_bad(&env, CEL_EPROTO, "header id");
    env = v2_envelope("[[], {}, {}]");
    json_object_set_new(env.headers, "compression", json_string("zlib"));
    expect_bad(&env, CEL_EPROTO, "compressed");

    /* Nesting far deeper than any real task: rejected, not a crash. */
    static char deep[40000];
    size_t n = 0;
    deep[n++] = '[';
    for (int i = 0; i < 10000; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 10000; i++) {
        deep[n++] = ']';
    }
    strcpy(deep + n, ", {}, {}]");
    env = v2_envelope(deep);
    CHECK_EQ_INT(cel_task_decode(&env, 0, &m, &err), CEL_EPROTO);
    CHECK_CONTAINS(err.text, "depth");
    cel_task_msg_clear(&m);
    cel_envelope_clear(&env);

    cel_envelope_init(&env); /* no task header, body not a v1 task */
    set_body(&env, "[1, 2, 3]");
    CHECK_EQ_INT(cel_task_decode(&env, 0, &m, &err), CEL_EPROTO);
    CHECK_CONTAINS(err.text, "no task header");
    cel_task_msg_clear(&m);
}

static void
test_results(void)
{
    cel_envelope_t env;
    cel_result_msg_t r;
    cel_error_t err = CEL_ERROR_INIT;
    const char *type;
    char text[100];

    json_t *exc =
        cel_exc_new("ValueError", "builtins", "Called broken function");
    CHECK_OK(cel_result_encode("t1", NULL, CEL_STATE_FAILURE, exc, "tb", &env,
                               &err));
    CHECK_STR_EQ(env.correlation_id, "t1");
    CHECK_EQ_INT(env.delivery_mode, 1);
    CHECK_OK(cel_result_decode(env.body, env.body_len, &r, &err));
    CHECK_EQ_INT(r.state, CEL_STATE_FAILURE);
    CHECK_STR_EQ(r.traceback, "tb");
    CHECK_OK(cel_exc_describe(r.result, &type, text, sizeof(text)));
    CHECK_STR_EQ(type, "ValueError");
    CHECK_STR_EQ(text, "Called broken function");
    cel_result_msg_clear(&r);
    cel_envelope_clear(&env);
    json_decref(exc);

    /* A task's message cut inside a character still makes an exception. */
    exc = cel_exc_new("ValueError", "builtins", "bad \xc3");
    CHECK(exc != NULL);
    CHECK_OK(cel_exc_describe(exc, &type, text, sizeof(text)));
    CHECK_STR_EQ(text, "bad \xef\xbf\xbd");
    json_decref(exc);

    exc = json_pack("{s:s, s:[i, s]}", "exc_type", "KeyError", "exc_message", 1,
                    "a");
    CHECK_OK(cel_exc_describe(exc, &type, text, sizeof(text)));
    CHECK_STR_EQ(text, "(1, 'a')");
    json_decref(exc);

    CHECK_EQ_INT(cel_result_decode("[1]", 3, &r, &err), CEL_EPROTO);
    cel_result_msg_clear(&r);
    CHECK_EQ_INT(cel_result_decode("{\"task_id\":\"x\",\"status\":\"WAT\"}", 31,
                                   &r, &err),
                 CEL_EPROTO);
    cel_result_msg_clear(&r);
    CHECK_STR_EQ(cel_state_name(CEL_STATE_REVOKED), "REVOKED");
    /* One error convention: 0 or a CEL_E* code, never a bare -1. */
    cel_state_t st = CEL_STATE_PENDING;
    CHECK_OK(cel_state_parse("REVOKED", &st));
    CHECK_EQ_INT(st, CEL_STATE_REVOKED);
    CHECK_EQ_INT(cel_state_parse("NOPE", &st), CEL_EINVAL);
    CHECK_EQ_INT(cel_state_parse(NULL, &st), CEL_EINVAL);
    CHECK_EQ_INT(st, CEL_STATE_REVOKED);
    CHECK(cel_state_ready(CEL_STATE_REVOKED));
    CHECK(!cel_state_ready(CEL_STATE_STARTED));
}

int
main(void)
{
    test_roundtrip();
    test_long_unicode_args();
    test_repr_integers();
    test_repr_reals();
    test_v1();
    test_malformed();
    test_results();
    puts("ok");
    return 0;
}
