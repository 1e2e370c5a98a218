/* Queues as an operator sees them, against a real RabbitMQ: inspect and
 * purge count what waits; a queue that does not exist is CEL_ENOTFOUND
 * and is still missing afterwards (by the broker's own list); and the 404
 * the broker answers with closes only the side channel those calls use,
 * so a consumer on the main channel keeps receiving and a channel in
 * confirm mode keeps confirming. Then the same through a client. */
#include <cel/broker.h>
#include <cel/queues.h>

#include "check.h"
#include "support/support.h"

static void
publish(cel_broker_t *b, const char *q)
{
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;
    json_t *args = json_pack("[ii]", 1, 2);
    char id[64];

    spec.name = "add";
    spec.args = args;
    CHECK_OK(cel_task_encode(&spec, &env, id, sizeof(id), &err));
    CHECK_OK(cel_broker_publish(b, "", q, &env, &err));
    cel_envelope_clear(&env);
    json_decref(args);
}

static void
check_missing(cel_broker_t *b, const char *missing)
{
    cel_error_t err = CEL_ERROR_INIT;
    int64_t n = -1, k = -1;
    char info[256];

    CHECK_EQ_INT(cel_broker_queue_inspect(b, missing, &n, &k, &err),
                 CEL_ENOTFOUND);
    CHECK_CONTAINS(err.text, "no queue named");
    CHECK_CONTAINS(err.text, missing);
    CHECK(n == -1 && k == -1);
    CHECK_EQ_INT(cel_broker_queue_purge(b, missing, &n, &err), CEL_ENOTFOUND);
    CHECK_EQ_INT(cel_broker_queue_inspect(b, "", &n, &k, &err), CEL_EINVAL);
    test_queue_info(missing, "messages", info, sizeof(info));
    CHECK_STR_EQ(info, "");
}

/* The 404s leave the main channels as they were: the consumer on
 * consumer's keeps receiving, and publisher's (which only publishes, as
 * confirm mode wants) keeps confirming. */
static void
test_main_channel_kept(cel_broker_t *consumer, cel_broker_t *publisher,
                       const char *q, const char *missing)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_delivery_t d;
    int64_t n, k;

    CHECK_OK(cel_broker_declare_task_queue(consumer, q, &err));
    CHECK_OK(cel_broker_consume(consumer, q, false, NULL, 0, &err));
    CHECK_OK(cel_broker_confirm_select(publisher, &err));
    check_missing(consumer, missing);
    check_missing(publisher, missing);
    CHECK_OK(cel_broker_queue_inspect(consumer, q, &n, &k, &err));
    CHECK(n == 0 && k == 1);
    publish(publisher, q);
    CHECK_OK(cel_broker_wait_confirms(publisher, 5000, &err));
    CHECK_OK(cel_broker_next(consumer, 5000, &d, &err));
    CHECK_STR_EQ(d.routing_key, q);
    CHECK_OK(cel_broker_ack(consumer, d.delivery_tag, false, &err));
    cel_delivery_clear(&d);
}

static void
test_counts(cel_broker_t *b, const char *q)
{
    cel_error_t err = CEL_ERROR_INIT;
    int64_t n, k;

    CHECK_OK(cel_broker_declare_task_queue(b, q, &err));
    CHECK_OK(cel_broker_confirm_select(b, &err));
    for (int i = 0; i < 3; i++) {
        publish(b, q);
    }
    CHECK_OK(cel_broker_wait_confirms(b, 5000, &err));
    CHECK_OK(cel_broker_queue_inspect(b, q, &n, &k, &err));
    CHECK(n == 3 && k == 0);
    CHECK_OK(cel_broker_queue_purge(b, q, &n, &err));
    CHECK(n == 3);
    CHECK_OK(cel_broker_queue_inspect(b, q, &n, &k, &err));
    CHECK(n == 0 && k == 0);
}

static void
test_client(const char *q, const char *missing)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_t *c;
    int64_t n = -1, k = -1;

    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &c, &err));
    CHECK_EQ_INT(cel_client_queue_inspect(c, missing, &n, &k, &err),
                 CEL_ENOTFOUND);
    CHECK_EQ_INT(cel_client_queue_purge(c, missing, &n, &err), CEL_ENOTFOUND);
    CHECK(n == -1 && k == -1);
    CHECK_OK(cel_client_queue_inspect(c, q, &n, &k, &err));
    CHECK(n == 0 && k == 0);
    CHECK_OK(cel_client_queue_purge(c, q, &n, &err));
    CHECK(n == 0);
    cel_client_close(c);
}

int
main(void)
{
    cel_broker_t *b, *b2;
    cel_error_t err = CEL_ERROR_INIT;
    char q[80], q2[80], missing[80];

    test_unique_name("test-queues", q, sizeof(q));
    test_unique_name("test-queues-counted", q2, sizeof(q2));
    test_unique_name("test-queues-missing", missing, sizeof(missing));
    CHECK_OK(cel_broker_open(test_broker_url(), NULL, &b, &err));
    CHECK_OK(cel_broker_open(test_broker_url(), NULL, &b2, &err));
    test_main_channel_kept(b, b2, q, missing);
    test_counts(b2, q2);
    test_client(q2, missing);
    check_missing(b2, missing);
    CHECK_OK(cel_broker_delete_queue(b2, q, &err));
    CHECK_OK(cel_broker_delete_queue(b2, q2, &err));
    cel_broker_close(b);
    cel_broker_close(b2);
    puts("ok");
    return 0;
}
