/* The canvas messages the C producer builds, against the ones Celery's
 * client sent (the captured vectors): the first message of a chain (the
 * same headers and values, and the same body bytes: args, kwargs and the
 * embed with the rest of the chain, last first, each step with its
 * task_id and reply_to options, subtask_type null, immutable false), a
 * group's members (header group = the group id, group_index null), the
 * typed signature constructors and the embed of a link and an errback.
 * Usage: test_canvas_msg task_chain.json task_group.json */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "producer_internal.h"
#include "support/vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *rec;
static int nrec;

static void
keep(const json_t *r)
{
    json_decref(rec);
    rec = json_incref((json_t *)r);
    nrec++;
}

static const char *
header(const json_t *r, const char *key)
{
    const json_t *h =
        json_object_get(json_object_get(r, "properties"), "headers");
    return json_string_value(json_object_get(h, key));
}

/* Ours and Celery's: every header and property alike, and the body the
 * same bytes once Python's ", " and ": " separators are taken out. */
static void
same_message(const cel_envelope_t *ours, const json_t *r)
{
    cel_envelope_t theirs;
    const json_t *body = json_object_get(r, "body_json");

    test_vectors_envelope(r, &theirs);
    /* The one header that tells the sender apart, on purpose. */
    CHECK_STR_EQ(json_string_value(json_object_get(ours->headers, "lang")),
                 "c");
    json_object_set_new(theirs.headers, "lang", json_string("c"));
    if (!json_equal(ours->headers, theirs.headers)) {
        json_dumpf(ours->headers, stderr, JSON_SORT_KEYS);
        fputs("\n", stderr);
        json_dumpf(theirs.headers, stderr, JSON_SORT_KEYS);
        fputs("\n", stderr);
    }
    CHECK(json_equal(ours->headers, theirs.headers));
    CHECK_STR_EQ(ours->reply_to, theirs.reply_to);
    CHECK_STR_EQ(ours->correlation_id, theirs.correlation_id);
    CHECK_STR_EQ(ours->content_type, theirs.content_type);
    CHECK_EQ_INT(ours->delivery_mode, theirs.delivery_mode);
    CHECK_EQ_INT(ours->priority, theirs.priority);
    char *compact = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK(compact != NULL);
    CHECK_EQ_INT(ours->body_len, strlen(compact));
    CHECK(memcmp(ours->body, compact, ours->body_len) == 0);
    free(compact);
    cel_envelope_clear(&theirs);
}

static const json_t *
props(const json_t *r)
{
    return json_object_get(r, "properties");
}

static void
test_chain(const char *path)
{
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;
    char id[CEL_SHORTSTR_SIZE], ids[2][CEL_TID_SIZE];

    nrec = 0;
    CHECK(test_vectors_walk(path, "body_json", keep) >= 1);
    const json_t *body = json_object_get(rec, "body_json");
    const json_t *step =
        json_array_get(json_object_get(json_array_get(body, 2), "chain"), 0);
    const char *reply_to =
        json_string_value(json_object_get(props(rec), "reply_to"));
    json_t *one = json_pack("[i]", 1);
    cel_sig_t *sigs[2] = {cel_sig_new("tasks.fun", one, NULL),
                          cel_sig_new("tasks.fun", NULL, NULL)};
    json_decref(one);
    cel_copy_str(ids[0], CEL_TID_SIZE, header(rec, "id"));
    cel_copy_str(ids[1], CEL_TID_SIZE,
                 json_string_value(json_object_get(
                     json_object_get(step, "options"), "task_id")));

    json_t *chain =
        cel__chain_embed((const cel_sig_t *const *)sigs, 2, ids, reply_to);
    json_t *embed = json_pack("{s:n, s:n, s:o, s:n}", "callbacks", "errbacks",
                              "chain", chain, "chord");
    spec.name = "tasks.fun";
    spec.id = ids[0];
    spec.args = sigs[0]->args;
    spec.reply_to = reply_to;
    spec.origin = header(rec, "origin");
    spec.embed = embed;
    CHECK_OK(cel_task_encode(&spec, &env, id, sizeof(id), &err));
    same_message(&env, rec);
    cel_envelope_clear(&env);
    json_decref(embed);
    cel_sig_free(sigs[0]);
    cel_sig_free(sigs[1]);
}

static void
check_member(const json_t *r)
{
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;
    char id[CEL_SHORTSTR_SIZE];
    const json_t *body = json_object_get(r, "body_json");

    spec.name = header(r, "task");
    spec.id = header(r, "id");
    spec.args = json_array_get(body, 0);
    spec.reply_to = json_string_value(json_object_get(props(r), "reply_to"));
    spec.origin = header(r, "origin");
    spec.group = header(r, "group");
    CHECK(spec.group != NULL);
    CHECK_OK(cel_task_encode(&spec, &env, id, sizeof(id), &err));
    same_message(&env, r);
    cel_envelope_clear(&env);
}

static void
test_group(const char *path)
{
    CHECK_EQ_INT(test_vectors_walk(path, "body_json", check_member), 3);
}

static void
check_sig(cel_sig_t *s, const char *want)
{
    json_t *j = cel_sig_to_json(s);
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

    CHECK(s != NULL && j != NULL && text != NULL);
    CHECK_STR_EQ(text, want);
    free(text);
    json_decref(j);
    cel_sig_free(s);
}

static void
test_typed(void)
{
    cel_error_t err = CEL_ERROR_INIT;

    check_sig(add_s(2, 3), "{\"task\":\"add\",\"args\":[2,3],\"kwargs\":{},"
                           "\"options\":{},\"subtask_type\":null,"
                           "\"immutable\":false}");
    check_sig(add_si(2, 3), "{\"task\":\"add\",\"args\":[2,3],\"kwargs\":{},"
                            "\"options\":{},\"subtask_type\":null,"
                            "\"immutable\":true}");
    check_sig(add_sp(4), "{\"task\":\"add\",\"args\":[4],\"kwargs\":{},"
                         "\"options\":{},\"subtask_type\":null,"
                         "\"immutable\":false}");
    check_sig(fun_sp(), "{\"task\":\"fun\",\"args\":[],\"kwargs\":{},"
                        "\"options\":{},\"subtask_type\":null,"
                        "\"immutable\":false}");
    check_sig(crash_si(), "{\"task\":\"crash\",\"args\":[],\"kwargs\":{},"
                          "\"options\":{},\"subtask_type\":null,"
                          "\"immutable\":true}");
    cel_sig_t *s = slow_sum_sp(1, 2);
    CHECK_OK(cel_sig_set_queue(s, "q"));
    CHECK_OK(cel_sig_set_countdown(s, 1.5));
    check_sig(s, "{\"task\":\"slow_sum\",\"args\":[1,2],\"kwargs\":{},"
                 "\"options\":{\"queue\":\"q\",\"countdown\":1.5},"
                 "\"subtask_type\":null,\"immutable\":false}");
    /* args that are not an array are refused */
    json_t *notlist = json_integer(1);
    CHECK(cel_sig_new("add", notlist, NULL) == NULL);
    json_decref(notlist);
}

/* link= and link_error= as Celery writes them: lists of one signature,
 * each with its own task id (pre-assigned, so its result can be waited
 * for) and the reply queue. */
static void
test_links(void)
{
    cel_opts_t o = CEL_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    char ids[2][CEL_TID_SIZE];
    json_t *x = json_string("x");
    cel_sig_t *link = add_sp(100), *eb = echo_si(x);

    json_decref(x);

    o.link = link;
    json_t *e = cel__embed_links(NULL, &o, "rq", ids);
    CHECK(e != NULL && ids[0][0] != '\0' && ids[1][0] == '\0');
    const json_t *cb = json_array_get(json_object_get(e, "callbacks"), 0);
    CHECK_STR_EQ(json_string_value(json_object_get(cb, "task")), "add");
    const json_t *opts = json_object_get(cb, "options");
    CHECK_STR_EQ(json_string_value(json_object_get(opts, "task_id")), ids[0]);
    CHECK_STR_EQ(json_string_value(json_object_get(opts, "reply_to")), "rq");
    CHECK(json_is_null(json_object_get(e, "errbacks")));
    CHECK(json_is_null(json_object_get(e, "chain")));
    json_decref(e);

    o.link = NULL;
    o.link_error = eb;
    CHECK(eb != NULL);
    CHECK_OK(cel_sig_set_task_id(eb, "my-errback"));
    e = cel__embed_links(NULL, &o, "rq", ids);
    CHECK_STR_EQ(ids[1], "my-errback");
    CHECK(ids[0][0] == '\0');
    CHECK(json_is_null(json_object_get(e, "callbacks")));
    json_decref(e);
    cel_sig_free(link);
    cel_sig_free(eb);
}

/* A signature sent on its own (a chain's first step, a group's or a
 * chord's member) goes with its options where the call leaves them
 * unset. */
static void
test_sig_opts(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t call = CEL_OPTS_INIT, o;
    cel_sig_t *s = add_s(1, 2);
    json_t *opts =
        json_pack("{s:s, s:s, s:f, s:f, s:i}", "exchange", "ex", "routing_key",
                  "rk", "expires", 30.0, "time_limit", 5.0, "priority", 7);
    const char *k;
    json_t *v;

    json_object_foreach (opts, k, v) {
        CHECK_OK(cel_sig_set_option(s, k, v));
    }
    CHECK_OK(cel_sig_set_queue(s, "own"));
    CHECK_OK(cel_sig_set_countdown(s, 2));
    CHECK_OK(cel_sig_set_task_id(s, "tid"));
    call.queue = "call's";
    call.task_id = "ignored";
    cel__sig_opts(s, &call, &o);
    CHECK_STR_EQ(o.queue, "call's");
    CHECK_STR_EQ(o.task_id, "tid");
    CHECK_STR_EQ(o.exchange, "ex");
    CHECK_STR_EQ(o.routing_key, "rk");
    CHECK(o.countdown == 2 && o.expires == 30 && o.time_limit == 5);
    CHECK_EQ_INT(o.priority, 7);
    CHECK_EQ_INT(cel_sig_set_option(s, "x", NULL), CEL_EINVAL);
    json_decref(opts);
    cel_sig_free(s);
}

int
main(int argc, char **argv)
{
    CHECK_EQ_INT(argc, 3);
    test_chain(argv[1]);
    test_group(argv[2]);
    test_typed();
    test_links();
    test_sig_opts();
    json_decref(rec);
    return 0;
}
