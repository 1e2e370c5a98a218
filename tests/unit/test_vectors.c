/* Decodes every message captured from Celery 5.2.6 in one vector file and
 * re-encodes it: the decoded fields must equal what Celery sent, and our
 * encoding of the same call must give the same headers (in Celery's order,
 * with Python's argsrepr), properties and body, except `lang` and `origin`,
 * which name the sender.
 * Usage: test_vectors FILE.json */
#include <cel/clock.h>
#include <cel/message.h>

#include "check.h"
#include "support/vectors.h"

static int checked;

static int64_t
iso_us(const json_t *v)
{
    int64_t us = 0;

    if (json_is_string(v)) {
        CHECK_EQ_INT(cel_clock_parse_iso(json_string_value(v), &us), 0);
    }
    return us;
}

static void
compare_headers(const json_t *ours, const json_t *theirs)
{
    const char *key;
    json_t *v;
    void *it = json_object_iter((json_t *)ours);

    json_object_foreach ((json_t *)theirs, key, v) {
        CHECK(it != NULL);
        CHECK_STR_EQ(json_object_iter_key(it), key);
        if (strcmp(key, "lang") != 0 && strcmp(key, "origin") != 0 &&
            !json_equal(json_object_iter_value(it), v)) {
            char *a = json_dumps(json_object_iter_value(it), JSON_ENCODE_ANY);
            char *b = json_dumps(v, JSON_ENCODE_ANY);
            CHECK_FAIL_("header %s: ours %s, Celery's %s", key, a, b);
        }
        it = json_object_iter_next((json_t *)ours, it);
    }
    CHECK(it == NULL);
}

static void
reencode_task(const cel_task_msg_t *m, const cel_envelope_t *theirs)
{
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t ours;
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *h = theirs->headers;

    spec.name = m->task;
    spec.id = m->id;
    spec.args = m->args;
    spec.kwargs = m->kwargs;
    spec.reply_to = m->reply_to;
    spec.root_id = m->root_id;
    spec.parent_id = m->parent_id;
    spec.group = m->group;
    spec.retries = (int)m->retries;
    spec.eta_us = iso_us(json_object_get(h, "eta"));
    spec.expires_us = iso_us(json_object_get(h, "expires"));
    CHECK_OK(cel_task_encode(&spec, &ours, NULL, 0, &err));
    compare_headers(ours.headers, h);
    CHECK_STR_EQ(ours.content_type, theirs->content_type);
    CHECK_STR_EQ(ours.content_encoding, theirs->content_encoding);
    CHECK_STR_EQ(ours.correlation_id, theirs->correlation_id);
    CHECK_STR_EQ(ours.reply_to, theirs->reply_to);
    CHECK_EQ_INT(ours.delivery_mode, theirs->delivery_mode);
    CHECK_EQ_INT(ours.priority, theirs->priority);
    CHECK_EQ_INT(ours.expiration[0] != '\0', theirs->expiration[0] != '\0');
    json_t *a = cel_json_load(ours.body, ours.body_len, &err);
    json_t *b = cel_json_load(theirs->body, theirs->body_len, &err);
    /* Celery's continuation of a chain carries an embed we do not build. */
    if (json_is_null(json_object_get(json_array_get(b, 2), "chain"))) {
        CHECK(json_equal(a, b));
    } else {
        CHECK(json_equal(json_array_get(a, 0), json_array_get(b, 0)));
    }
    json_decref(a);
    json_decref(b);
    cel_envelope_clear(&ours);
}

static void
check_task(const json_t *rec, cel_envelope_t *env)
{
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *h = env->headers;
    const json_t *body = json_object_get(rec, "body_json");

    CHECK_OK(cel_task_decode(env, 1 << 20, &m, &err));
    CHECK_EQ_INT(m.protocol, 2);
    CHECK_STR_EQ(m.id, json_string_value(json_object_get(h, "id")));
    CHECK_STR_EQ(m.task, json_string_value(json_object_get(h, "task")));
    CHECK_STR_EQ(m.reply_to, env->reply_to);
    CHECK_STR_EQ(m.correlation_id, env->correlation_id);
    CHECK(json_equal(m.args, json_array_get(body, 0)));
    CHECK(json_equal(m.kwargs, json_array_get(body, 1)));
    CHECK_EQ_INT(m.retries, json_integer_value(json_object_get(h, "retries")));
    CHECK_EQ_INT(m.eta != NULL, json_is_string(json_object_get(h, "eta")));
    reencode_task(&m, env);
    cel_task_msg_clear(&m);
}

static void
check_result(const json_t *rec, cel_envelope_t *env)
{
    cel_result_msg_t m;
    cel_envelope_t ours;
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *body = json_object_get(rec, "body_json");

    CHECK_OK(cel_result_decode(env->body, env->body_len, &m, &err));
    CHECK_STR_EQ(m.task_id,
                 json_string_value(json_object_get(body, "task_id")));
    CHECK_STR_EQ(cel_state_name(m.state),
                 json_string_value(json_object_get(body, "status")));
    CHECK_STR_EQ(m.task_id, env->correlation_id);
    CHECK_OK(cel_result_encode(m.task_id, NULL, m.state, m.result, m.traceback,
                               &ours, &err));
    json_t *a = cel_json_load(ours.body, ours.body_len, &err);
    json_t *b = json_deep_copy(body);
    json_object_del(a, "children");
    json_object_del(b, "children");
    CHECK(json_equal(a, b));
    CHECK_STR_EQ(ours.content_type, env->content_type);
    CHECK_STR_EQ(ours.correlation_id, env->correlation_id);
    CHECK_EQ_INT(ours.delivery_mode, env->delivery_mode);
    if (m.state == CEL_STATE_FAILURE) {
        const char *type;
        char text[200];
        CHECK_EQ_INT(cel_exc_describe(m.result, &type, text, sizeof(text)), 0);
        CHECK_STR_EQ(type, "ValueError");
        CHECK_STR_EQ(text, "boom 7");
    }
    json_decref(a);
    json_decref(b);
    cel_envelope_clear(&ours);
    cel_result_msg_clear(&m);
}

static void
check_record(const json_t *v)
{
    cel_envelope_t env;

    test_vectors_envelope(v, &env);
    if (json_object_get(env.headers, "task") != NULL) {
        check_task(v, &env);
        checked++;
    } else if (json_object_get(json_object_get(v, "body_json"), "status") !=
               NULL) {
        check_result(v, &env);
        checked++;
    }
    cel_envelope_clear(&env);
}

int
main(int argc, char **argv)
{
    CHECK(argc == 2);
    test_vectors_walk(argv[1], "body_utf8", check_record);
    printf("%d messages checked in %s\n", checked, argv[1]);
    CHECK(checked > 0);
    return 0;
}
