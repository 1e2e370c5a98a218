/* Hostile task messages, published raw: each is refused with a clear
 * reason, answered with a FAILURE on the sender's reply queue, rejected
 * without requeue (it never comes back), and the worker goes on: a normal
 * task sent right after each one succeeds. */
#include <cel/broker.h>
#include <cel/id.h>

#include "check.h"
#include "support/support.h"

#include <signal.h>

static cel_broker_t *b;
static char queue[80], replies[80];

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
    CHECK_OK(cel_broker_open(test_broker_url(), NULL, &b, &err));
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

    int status = test_workerd_stop(w, SIGTERM, 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Nothing refused came back: the task queue is empty. */
    cel_delivery_t d;
    CHECK_OK(cel_broker_consume(b, queue, false, NULL, 0, &err));
    CHECK_EQ_INT(cel_broker_next(b, 500, &d, &err), CEL_ETIMEDOUT);
    cel_delivery_clear(&d);
    CHECK_OK(cel_broker_delete_queue(b, queue, &err));
    cel_broker_close(b);
    puts("ok");
    return 0;
}
