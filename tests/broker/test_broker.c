/* The broker client against a real RabbitMQ: connection errors, Celery's
 * declarations (and the PRECONDITION_FAILED a mismatch gives), publish,
 * consume with QoS, header types kept across the wire, ack and reject. */
#include <cel/broker.h>

#include "check.h"
#include "support/support.h"

static void
test_connect_errors(void)
{
    cel_broker_t *b;
    cel_error_t err = CEL_ERROR_INIT;

    CHECK_EQ_INT(cel_broker_open("http://nope", NULL, &b, &err), CEL_EURL);
    CHECK(b == NULL);
    CHECK_EQ_INT(
        cel_broker_open("amqp://guest:s3cret@127.0.0.1:1//", NULL, &b, &err),
        CEL_ECONN);
    CHECK_CONTAINS(err.text, "cannot connect");
    CHECK(strstr(err.text, "s3cret") == NULL);

    char url[300];
    snprintf(url, sizeof(url), "%s", test_broker_url());
    char *at = strchr(url + 7, '@');
    CHECK(at != NULL);
    char bad[400];
    snprintf(bad, sizeof(bad), "amqp://guest:wrongpass%s", at);
    CHECK_EQ_INT(cel_broker_open(bad, NULL, &b, &err), CEL_EAUTH);
    CHECK_CONTAINS(err.text, "login refused");
    CHECK(strstr(err.text, "wrongpass") == NULL);
}

static void
test_declarations(cel_broker_t *b, const char *q)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_queue_opts_t prio = CEL_TASK_QUEUE_OPTS;

    CHECK_OK(cel_broker_declare_task_queue(b, q, &err));
    CHECK_OK(cel_broker_declare_task_queue(b, q, &err)); /* idempotent */
    prio.max_priority = 10;
    CHECK_EQ_INT(cel_broker_declare_queue(b, q, &prio, &err), CEL_EBROKER);
    CHECK_CONTAINS(err.text, "PRECONDITION_FAILED");
    CHECK_CONTAINS(err.text, "x-max-priority");
    /* The channel was reopened: the connection goes on working. */
    CHECK_OK(cel_broker_declare_task_queue(b, q, &err));
}

static void
publish_task(cel_broker_t *b, const char *q, char *id, size_t size)
{
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;
    json_t *args = json_pack("[I, f, s]", (json_int_t)1 << 40, 0.25, "x");

    spec.name = "add";
    spec.args = args;
    spec.reply_to = "nobody";
    spec.time_limit = 7;
    CHECK_OK(cel_task_encode(&spec, &env, id, size, &err));
    CHECK_OK(cel_broker_publish(b, "", q, &env, &err));
    cel_envelope_clear(&env);
    json_decref(args);
}

static void
test_roundtrip(cel_broker_t *b, const char *q)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_delivery_t d;
    cel_task_msg_t m;
    char id[64];

    publish_task(b, q, id, sizeof(id));
    CHECK_OK(cel_broker_qos(b, 10, false, &err));
    CHECK_OK(cel_broker_consume(b, q, false, NULL, 0, &err));
    CHECK_OK(cel_broker_next(b, 5000, &d, &err));
    CHECK(!d.redelivered);
    CHECK_STR_EQ(d.routing_key, q);
    CHECK_STR_EQ(d.env.correlation_id, id);
    CHECK_EQ_INT(d.env.delivery_mode, 2);
    CHECK_EQ_INT(d.env.priority, 0);
    CHECK(json_is_integer(json_object_get(d.env.headers, "retries")));
    CHECK(json_is_false(json_object_get(d.env.headers, "ignore_result")));
    CHECK(json_is_null(json_object_get(d.env.headers, "eta")));
    CHECK_OK(cel_task_decode(&d.env, 0, &m, &err));
    CHECK_STR_EQ(m.id, id);
    CHECK_EQ_INT(json_integer_value(json_array_get(m.args, 0)), 1LL << 40);
    CHECK(m.time_limit == 7);
    cel_task_msg_clear(&m);
    uint64_t tag = d.delivery_tag;
    cel_delivery_clear(&d);

    /* Rejected with requeue: it comes back, marked redelivered. */
    CHECK_OK(cel_broker_reject(b, tag, true, &err));
    CHECK_OK(cel_broker_next(b, 5000, &d, &err));
    CHECK(d.redelivered);
    CHECK_STR_EQ(d.env.correlation_id, id);
    CHECK_OK(cel_broker_ack(b, d.delivery_tag, false, &err));
    cel_delivery_clear(&d);
    CHECK_EQ_INT(cel_broker_next(b, 200, &d, &err), CEL_ETIMEDOUT);
    cel_delivery_clear(&d);
}

int
main(void)
{
    cel_broker_t *b;
    cel_error_t err = CEL_ERROR_INIT;
    char q[80];

    test_connect_errors();
    CHECK_OK(cel_broker_open(test_broker_url(), NULL, &b, &err));
    test_unique_name("test-broker", q, sizeof(q));
    test_declarations(b, q);
    test_roundtrip(b, q);
    CHECK_OK(cel_broker_delete_queue(b, q, &err));
    cel_broker_close(b);
    puts("ok");
    return 0;
}
