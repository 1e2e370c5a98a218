/* The chain continuation workerd sends (worker/signature.c), built from
 * the first task of a chain as Celery 5.2.6 sent it, against the
 * continuation Celery's own worker published: the next step's name, its
 * pre-assigned id and reply queue, parent_id and root_id, the value first
 * in its args, the rest of the chain ([] when none) in its embed, and the
 * same header names. Also the embeds workerd refuses.
 * Usage: test_signature task_chain.json continuation.json */
#include "signature.h"

#include "check.h"
#include "support/vectors.h"

#include <string.h>

static json_t *first_rec, *next_rec;

static void
keep_first(const json_t *rec)
{
    first_rec = first_rec ? first_rec : json_incref((json_t *)rec);
}

static void
keep_next(const json_t *rec)
{
    next_rec = next_rec ? next_rec : json_incref((json_t *)rec);
}

static const char *
header(const cel_envelope_t *env, const char *key)
{
    return json_string_value(json_object_get(env->headers, key));
}

/* Every header Celery's worker wrote is in ours, and no other. */
static void
same_header_names(const json_t *ours, const json_t *theirs)
{
    const char *k;
    const json_t *v;

    json_object_foreach ((json_t *)theirs, k, v) {
        (void)v;
        CHECK(json_object_get(ours, k) != NULL);
    }
    CHECK_EQ_INT(json_object_size(ours), json_object_size(theirs));
}

static void
check_continuation(const cel_task_msg_t *m, const cel_envelope_t *celery)
{
    const json_t *chain = json_object_get(m->embed, "chain");
    const json_t *sig = json_array_get(chain, json_array_size(chain) - 1);
    json_t *four = json_integer(4), *rest = json_array();
    cel_step_t step = {sig, four, rest};
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;
    char id[CEL_SHORTSTR_SIZE];

    CHECK_OK(cel__sig_encode(&step, m, &env, id, sizeof(id), &err));
    CHECK_STR_EQ(header(&env, "task"),
                 json_string_value(json_object_get(sig, "task")));
    CHECK_STR_EQ(id, cel__sig_opt(sig, "task_id"));
    CHECK_STR_EQ(header(&env, "id"), id);
    CHECK_STR_EQ(header(&env, "parent_id"), m->id);
    CHECK_STR_EQ(header(&env, "root_id"), m->root_id);
    CHECK_STR_EQ(env.reply_to, cel__sig_opt(sig, "reply_to"));
    CHECK_STR_EQ(env.correlation_id, id);
    same_header_names(env.headers, celery->headers);
    json_t *ours = json_loadb(env.body, env.body_len, 0, NULL);
    json_t *theirs = json_loadb(celery->body, celery->body_len, 0, NULL);
    CHECK(ours != NULL && json_equal(ours, theirs)); /* [[4], {}, chain []] */
    json_decref(ours);
    json_decref(theirs);
    cel_envelope_clear(&env);

    /* An immutable step keeps its own args. */
    json_t *frozen = json_deep_copy(sig);
    json_object_set_new(frozen, "immutable", json_true());
    json_object_set_new(frozen, "args", json_pack("[i]", 7));
    step.sig = frozen;
    CHECK_OK(cel__sig_encode(&step, m, &env, id, sizeof(id), &err));
    CHECK(strncmp(env.body, "[[7],", 5) == 0);
    cel_envelope_clear(&env);
    json_decref(frozen);
    json_decref(four);
    json_decref(rest);
}

/* m's embed replaced by text; returns what the check says. */
static int
check_embed(cel_task_msg_t *m, const char *text)
{
    cel_error_t err = CEL_ERROR_INIT;
    json_t *saved = m->embed;

    m->embed = json_loads(text, 0, NULL);
    CHECK(m->embed != NULL);
    int r = cel__sig_check_embed(m, &err);
    CHECK(r == 0 || err.text[0] != '\0');
    json_decref(m->embed);
    m->embed = saved;
    return r;
}

static void
check_refusals(cel_task_msg_t *m)
{
    CHECK_EQ_INT(check_embed(m, "{\"chain\": 5}"), CEL_EPROTO);
    CHECK_EQ_INT(check_embed(m, "{\"chain\": [{\"args\": []}]}"), CEL_EPROTO);
    CHECK_EQ_INT(check_embed(m, "{\"callbacks\": [7]}"), CEL_EPROTO);
    CHECK_EQ_INT(check_embed(m, "{\"errbacks\": {\"task\": 1}}"), CEL_EPROTO);
    CHECK_EQ_INT(check_embed(m, "{\"chain\": [], \"callbacks\": {\"task\": "
                                "\"add\"}, \"errbacks\": null}"),
                 0);
    json_t *big = json_pack("{s:[]}", "chain");
    for (int i = 0; i <= CEL_CHAIN_MAX; i++) {
        json_array_append_new(json_object_get(big, "chain"),
                              json_pack("{s:s}", "task", "add"));
    }
    char *text = json_dumps(big, 0);
    CHECK_EQ_INT(check_embed(m, text), CEL_ETOOBIG);
    json_array_remove(json_object_get(big, "chain"), 0);
    free(text);
    text = json_dumps(big, 0);
    CHECK_EQ_INT(check_embed(m, text), 0);
    free(text);
    json_decref(big);
}

int
main(int argc, char **argv)
{
    cel_envelope_t first, next;
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;

    CHECK(argc == 3);
    CHECK(test_vectors_walk(argv[1], "body_utf8", keep_first) >= 1);
    CHECK(test_vectors_walk(argv[2], "body_utf8", keep_next) >= 1);
    test_vectors_envelope(first_rec, &first);
    test_vectors_envelope(next_rec, &next);
    CHECK_OK(cel_task_decode(&first, 0, &m, &err));
    CHECK(json_array_size(json_object_get(m.embed, "chain")) == 1);
    check_continuation(&m, &next);
    check_refusals(&m);
    cel_task_msg_clear(&m);
    cel_envelope_clear(&first);
    cel_envelope_clear(&next);
    json_decref(first_rec);
    json_decref(next_rec);
    puts("ok");
    return 0;
}
