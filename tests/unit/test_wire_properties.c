/* Real content headers captured from Celery 5.2.6 (the bytes py-amqp put
 * on the wire), decoded by rabbitmq-c and turned into our envelope: every
 * property and header must match what Celery meant; our encoding of that
 * envelope must give back the very same bytes; and a task we encode
 * ourselves must use Celery's type letter for every header.
 * Usage: test_wire_properties FILE.json */
#include "broker_internal.h"

#include <amqp_framing.h>

#include "check.h"
#include "support/vectors.h"

static int checked;

static size_t
b64_decode(const char *in, unsigned char *out, size_t size)
{
    static const char *alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned bits = 0, nbits = 0;
    size_t n = 0;

    for (; *in != '\0' && *in != '='; in++) {
        const char *p = strchr(alphabet, *in);
        CHECK(p != NULL);
        bits = (bits << 6) | (unsigned)(p - alphabet);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            CHECK(n < size);
            out[n++] = (unsigned char)(bits >> nbits);
        }
    }
    return n;
}

static void
check_same_properties(const cel_envelope_t *env, const json_t *props)
{
#define STR(f)                                                                 \
    CHECK_STR_EQ(env->f, json_string_value(json_object_get(props, #f))         \
                             ? json_string_value(json_object_get(props, #f))   \
                             : "")
    STR(content_type);
    STR(content_encoding);
    STR(correlation_id);
    STR(reply_to);
    STR(expiration);
#undef STR
    CHECK_EQ_INT(env->delivery_mode,
                 json_integer_value(json_object_get(props, "delivery_mode")));
    CHECK_EQ_INT(env->priority,
                 json_integer_value(json_object_get(props, "priority")));
    CHECK(json_equal(env->headers, json_object_get(props, "headers")));
}

/* Our own task for the same call uses Celery's letter for each header. */
static void
check_our_letters(const cel_envelope_t *theirs, const json_t *typed)
{
    cel_task_msg_t m;
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t ours;
    cel_error_t err = CEL_ERROR_INIT;
    amqp_basic_properties_t p;
    amqp_pool_t pool;

    CHECK_OK(cel_task_decode(theirs, 0, &m, &err));
    spec.name = m.task;
    spec.id = m.id;
    spec.args = m.args;
    spec.kwargs = m.kwargs;
    spec.reply_to = m.reply_to;
    spec.parent_id = m.parent_id;
    spec.root_id = m.root_id;
    spec.group = m.group;
    spec.eta_us = m.eta ? 1 : 0;
    spec.expires_us = m.expires ? 4102444800000000LL : 0;
    CHECK_OK(cel_task_encode(&spec, &ours, NULL, 0, &err));
    init_amqp_pool(&pool, 4096);
    CHECK_OK(cel__props_from_envelope(&ours, &pool, &p, &err));
    for (int i = 0; i < p.headers.num_entries; i++) {
        amqp_table_entry_t *e = &p.headers.entries[i];
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)e->key.len,
                 (char *)e->key.bytes);
        const char *want = json_string_value(
            json_object_get(json_object_get(typed, key), "type"));
        CHECK(want != NULL);
        if (e->value.kind != want[0]) {
            CHECK_FAIL_("header %s: our type '%c', Celery's '%s'", key,
                        e->value.kind, want);
        }
    }
    empty_amqp_pool(&pool);
    cel_envelope_clear(&ours);
    cel_task_msg_clear(&m);
}

static void
check_record(const json_t *rec)
{
    static unsigned char raw[65536], again[65536];
    const char *b64 =
        json_string_value(json_object_get(rec, "content_header_payload_b64"));
    size_t n = b64_decode(b64, raw, sizeof(raw));
    amqp_pool_t pool;
    amqp_basic_properties_t *decoded, ours;
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;

    CHECK(n > 12);
    init_amqp_pool(&pool, 4096);
    amqp_bytes_t props = {n - 12, raw + 12}; /* skip class, weight, size */
    CHECK_EQ_INT(amqp_decode_properties(AMQP_BASIC_CLASS, &pool, props,
                                        (void **)&decoded),
                 0);
    cel_envelope_init(&env);
    CHECK_OK(cel__envelope_from_props(decoded, &env, &err));
    check_same_properties(&env, json_object_get(rec, "properties"));

    CHECK_OK(cel__props_from_envelope(&env, &pool, &ours, &err));
    amqp_bytes_t out = {sizeof(again), again};
    int len = amqp_encode_properties(AMQP_BASIC_CLASS, &ours, out);
    CHECK_EQ_INT(len, (long long)props.len);
    CHECK(memcmp(again, props.bytes, props.len) == 0);

    if (json_object_get(env.headers, "task") != NULL) {
        env.body = json_string_value(json_object_get(rec, "body_utf8"));
        env.body_len = strlen(env.body);
        check_our_letters(&env, json_object_get(rec, "headers_typed"));
    }
    env.body = NULL;
    cel_envelope_clear(&env);
    empty_amqp_pool(&pool);
    checked++;
}

int
main(int argc, char **argv)
{
    CHECK(argc == 2);
    test_vectors_walk(argv[1], "content_header_payload_b64", check_record);
    printf("%d content headers checked in %s\n", checked, argv[1]);
    CHECK(checked > 0);
    return 0;
}
