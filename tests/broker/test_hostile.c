/* Hostile task messages, published raw: each is refused with a clear
 * reason, answered with a FAILURE on the sender's reply queue, rejected
 * without requeue (it never comes back), and the worker goes on: a normal
 * task sent right after each one succeeds. */
#include <cel/broker.h>
#include <cel/id.h>
#include <cel/url.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "check.h"
#include "support/support.h"

#include <signal.h>

static cel_broker_t *b;
static char queue[80], replies[80], dead[80];

static void
publish_raw(const char *id, const json_t *headers, const char *body, size_t len,
            const char *content_type)
{
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;

    cel_envelope_init(&env);
    snprintf(env.content_type, sizeof(env.content_type), "%s", content_type);
    strcpy(env.content_encoding, "utf-8");
    snprintf(env.correlation_id, sizeof(env.correlation_id), "%s", id);
    strcpy(env.reply_to, replies);
    env.delivery_mode = 2;
    env.headers = headers ? json_deep_copy(headers) : NULL;
    env.body = body;
    env.body_len = len;
    CHECK_OK(cel_broker_publish(b, "", queue, &env, &err));
    cel_envelope_clear(&env);
}

static json_t *
headers_for(const char *id, const char *task)
{
    return json_pack("{s:s, s:s, s:i}", "id", id, "task", task, "retries", 0);
}

/* Waits for the reply to id; returns its state and the exception type. */
static cel_state_t
reply_for(const char *id, char *exc_type, size_t size, json_t **result)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_delivery_t d;
    cel_result_msg_t m;

    CHECK_OK(cel_broker_next(b, 20000, &d, &err));
    CHECK_OK(cel_result_decode(d.env.body, d.env.body_len, &m, &err));
    CHECK_STR_EQ(m.task_id, id);
    CHECK_STR_EQ(d.env.correlation_id, id);
    cel_state_t state = m.state;
    snprintf(exc_type, size, "%s",
             json_string_value(json_object_get(m.result, "exc_type"))
                 ? json_string_value(json_object_get(m.result, "exc_type"))
                 : "");
    if (result != NULL) {
        *result = json_incref(m.result);
    }
    cel_result_msg_clear(&m);
    cel_delivery_clear(&d);
    return state;
}

static void
expect_failure(const char *what, const char *id, const char *exc_type)
{
    char type[128];
    json_t *result;

    cel_state_t s = reply_for(id, type, sizeof(type), &result);
    if (s != CEL_STATE_FAILURE || strcmp(type, exc_type) != 0) {
        CHECK_FAIL_("%s: got %s %s, want FAILURE %s", what, cel_state_name(s),
                    type, exc_type);
    }
    const char *msg = json_string_value(
        json_array_get(json_object_get(result, "exc_message"), 0));
    CHECK(msg != NULL && msg[0] != '\0');
    json_decref(result);
}

static void
expect_add_works(void)
{
    char id[CEL_ID_SIZE], type[128];
    json_t *result;
    const char body[] = "[[20, 22], {}, null]";

    cel_id_new(id);
    json_t *h = headers_for(id, "add");
    publish_raw(id, h, body, strlen(body), "application/json");
    json_decref(h);
    CHECK_EQ_INT(reply_for(id, type, sizeof(type), &result), CEL_STATE_SUCCESS);
    CHECK_EQ_INT(json_integer_value(result), 42);
    json_decref(result);
}

static int refused; /* messages the worker must dead-letter */

/* Headers that name a task but give no usable id: the correlation id
 * names the caller's task, so the FAILURE goes there. */
static void
hostile_id(const char *what, const char *id_json)
{
    char id[CEL_ID_SIZE];
    const char body[] = "[[1, 2], {}, {}]";

    cel_id_new(id);
    json_t *h = json_pack("{s:s, s:i}", "task", "add", "retries", 0);
    if (id_json != NULL) {
        json_object_set_new(h, "id",
                            json_loads(id_json, JSON_DECODE_ANY, NULL));
    }
    publish_raw(id, h, body, strlen(body), "application/json");
    json_decref(h);
    expect_failure(what, id, "InvalidTaskError");
    refused++;
    expect_add_works();
}

/* A header string that is not UTF-8 cannot be made from JSON, so this one
 * goes out through rabbitmq-c directly. */
static void
publish_bad_header(const char *id)
{
    cel_url_t u;
    cel_error_t err = CEL_ERROR_INIT;
    amqp_table_entry_t h[3];
    amqp_basic_properties_t p = {0};
    const char bad[] = "\xff\xfe";

    CHECK_OK(cel_url_parse(test_broker_url(), &u, &err));
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    CHECK(amqp_socket_open(sock, u.host, u.port) == AMQP_STATUS_OK);
    CHECK(amqp_login(conn, u.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                     u.user, u.password)
              .reply_type == AMQP_RESPONSE_NORMAL);
    amqp_channel_open(conn, 1);
    h[0].key = amqp_cstring_bytes("id");
    h[0].value.kind = AMQP_FIELD_KIND_UTF8;
    h[0].value.value.bytes = amqp_cstring_bytes(id);
    h[1].key = amqp_cstring_bytes("task");
    h[1].value.kind = AMQP_FIELD_KIND_UTF8;
    h[1].value.value.bytes = amqp_cstring_bytes("add");
    h[2].key = amqp_cstring_bytes("origin");
    h[2].value.kind = AMQP_FIELD_KIND_UTF8;
    h[2].value.value.bytes = (amqp_bytes_t){2, (void *)bad};
    p._flags = AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG |
               AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_REPLY_TO_FLAG;
    p.headers = (amqp_table_t){3, h};
    p.content_type = amqp_cstring_bytes("application/json");
    p.correlation_id = amqp_cstring_bytes(id);
    p.reply_to = amqp_cstring_bytes(replies);
    CHECK(amqp_basic_publish(conn, 1, amqp_cstring_bytes(""),
                             amqp_cstring_bytes(queue), 0, 0, &p,
                             amqp_cstring_bytes("[[1, 2], {}, {}]")) == 0);
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
}

static void
hostile(const char *what, const char *task, const char *body, size_t len,
        const char *content_type, const char *exc_type)
{
    char id[CEL_ID_SIZE];

    cel_id_new(id);
    json_t *h = headers_for(id, task);
    publish_raw(id, h, body, len, content_type);
    json_decref(h);
    expect_failure(what, id, exc_type);
    refused++;
    expect_add_works();
}

/* A good body under the headers given as JSON, plus a fresh id. */
static void
hostile_headers(const char *what, const char *headers, const char *exc_type)
{
    char id[CEL_ID_SIZE];
    const char body[] = "[[1, 2], {}, {}]";

    cel_id_new(id);
    json_t *h = json_loads(headers, 0, NULL);
    CHECK(h != NULL);
    json_object_set_new(h, "id", json_string(id));
    publish_raw(id, h, body, strlen(body), "application/json");
    json_decref(h);
    expect_failure(what, id, exc_type);
    refused++;
    expect_add_works();
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_queue_opts_t q = {0};
    static char big[4096];

    test_unique_name("test-hostile", queue, sizeof(queue));
    test_unique_name("test-hostile-replies", replies, sizeof(replies));
    test_unique_name("test-hostile-dead", dead, sizeof(dead));
    CHECK_OK(cel_broker_open(test_broker_url(), NULL, &b, &err));
    /* The task queue has a dead-letter queue, set up by its owner before
     * any worker: refused messages must land there. */
    cel_queue_opts_t tq = CEL_TASK_QUEUE_OPTS;
    tq.dead_letter_exchange = "";
    tq.dead_letter_routing_key = dead;
    CHECK_OK(cel_broker_declare_queue(b, dead, &(cel_queue_opts_t){0}, &err));
    CHECK_OK(cel_broker_declare_queue(b, queue, &tq, &err));
    CHECK_OK(cel_broker_declare_task_queue(b, queue, &err));
    q.exclusive = q.auto_delete = true;
    CHECK_OK(cel_broker_declare_queue(b, replies, &q, &err));
    CHECK_OK(cel_broker_consume(b, replies, true, NULL, 0, &err));
    static const char *const extra[] = {"--max-message-size", "2048", NULL};
    pid_t w = test_workerd_start(queue, 2, NULL, extra);

    expect_add_works();
    hostile("not JSON", "add", "[[1, 2], {}", 11, "application/json",
            "InvalidTaskError");
    hostile("not UTF-8", "echo", "[[\"\xc3\x28\"], {}, {}]", 17,
            "application/json", "InvalidTaskError");
    hostile("wrong shape", "add", "{\"a\": 1}", 8, "application/json",
            "InvalidTaskError");
    hostile("two elements", "add", "[[1, 2], {}]", 12, "application/json",
            "InvalidTaskError");
    hostile("NaN", "echo", "[[NaN], {}, {}]", 15, "application/json",
            "InvalidTaskError");
    hostile("pickle", "add", "\x80\x04K\x01.", 5,
            "application/x-python-serialize", "InvalidTaskError");
    memset(big, ' ', sizeof(big));
    memcpy(big, "[[1, 2], {}, {}]", 16);
    hostile("oversized", "add", big, sizeof(big), "application/json",
            "ContentDisallowed");
    hostile("unknown task", "nope", "[[], {}, {}]", 12, "application/json",
            "NotRegistered");
    char deep[3000];
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 1000; i++) {
        deep[n++] = ']';
    }
    hostile("deep nesting", "echo", deep, n, "application/json",
            "InvalidTaskError");

    /* Headers missing or of the wrong type. */
    hostile_headers("no task header", "{}", "InvalidTaskError");
    hostile_headers("retries a string",
                    "{\"task\": \"add\", \"retries\": \"x\"}",
                    "InvalidTaskError");
    hostile_headers("timelimit not a pair",
                    "{\"task\": \"add\", \"timelimit\": 5}",
                    "InvalidTaskError");
    hostile_headers("eta not a date", "{\"task\": \"add\", \"eta\": \"soon\"}",
                    "InvalidTaskError");
    hostile_headers("task not a string", "{\"task\": 7}", "InvalidTaskError");
    hostile_id("id missing", NULL);
    hostile_id("id null", "null");
    hostile_id("id an integer", "7");

    /* A header that is not UTF-8: refused, and no reconnect loop. */
    char bad_id[CEL_ID_SIZE];
    cel_id_new(bad_id);
    publish_bad_header(bad_id);
    expect_failure("header not UTF-8", bad_id, "InvalidTaskError");
    refused++;
    expect_add_works();

    /* Protocol 1 is converted and runs. */
    char id[CEL_ID_SIZE], body[256], type[64];
    json_t *result, *empty = json_object();
    cel_id_new(id);
    snprintf(body, sizeof(body),
             "{\"task\": \"add\", \"id\": \"%s\", \"args\": [1, 2], "
             "\"kwargs\": {}, \"retries\": 0, \"eta\": null}",
             id);
    publish_raw(id, empty, body, strlen(body), "application/json");
    json_decref(empty);
    CHECK_EQ_INT(reply_for(id, type, sizeof(type), &result), CEL_STATE_SUCCESS);
    CHECK_EQ_INT(json_integer_value(result), 3);
    json_decref(result);

    /* A protocol 1 task that asks for a retry is retried: RETRY, then its
     * value from the second run. */
    cel_id_new(id);
    snprintf(body, sizeof(body),
             "{\"task\": \"flaky\", \"id\": \"%s\", \"args\": [1, 3], "
             "\"kwargs\": {}, \"retries\": 0, \"eta\": null}",
             id);
    empty = json_object();
    publish_raw(id, empty, body, strlen(body), "application/json");
    json_decref(empty);
    CHECK_EQ_INT(reply_for(id, type, sizeof(type), NULL), CEL_STATE_RETRY);
    CHECK_EQ_INT(reply_for(id, type, sizeof(type), &result), CEL_STATE_SUCCESS);
    CHECK_EQ_INT(json_integer_value(result), 1);
    json_decref(result);

    int status = test_workerd_stop(w, SIGTERM, 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Nothing refused came back: the task queue is empty. */
    cel_delivery_t d;
    CHECK_OK(cel_broker_consume(b, queue, false, NULL, 0, &err));
    CHECK_EQ_INT(cel_broker_next(b, 500, &d, &err), CEL_ETIMEDOUT);
    cel_delivery_clear(&d);
    /* Every refused message went to the dead-letter queue. */
    int dead_count = 0;
    CHECK_OK(cel_broker_consume(b, dead, true, NULL, 0, &err));
    int rc;
    /* The one with the bad header arrives as CEL_EPROTO, tag and all. */
    while ((rc = cel_broker_next(b, 500, &d, &err)) == 0 ||
           (rc == CEL_EPROTO && d.delivery_tag != 0)) {
        dead_count += strcmp(d.routing_key, dead) == 0;
        cel_delivery_clear(&d);
    }
    cel_delivery_clear(&d);
    CHECK_EQ_INT(dead_count, refused);
    CHECK_OK(cel_broker_delete_queue(b, queue, &err));
    CHECK_OK(cel_broker_delete_queue(b, dead, &err));
    cel_broker_close(b);
    puts("ok");
    return 0;
}
