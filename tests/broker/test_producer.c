/* The producer API against a real broker and workerd: apply, apply_async
 * with callbacks (each fires exactly once, also for results freed right
 * after sending), map/starmap in input order, imap_unordered and groups
 * in finishing order, join, timeouts told apart from failures, ignore
 * result, publisher confirms, every apply_async option as it lands in the
 * message, a closed client, and one client shared by several threads. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <cel/broker.h>
#include <cel/clock.h>

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#define WAIT_MS 20000

static cel_client_t *client;
static char queue[80];

static json_t *
J(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    CHECK(v != NULL);
    return v;
}

static void
test_apply(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    json_t *v, *args = J("[2, 3]");

    CHECK_OK(cel_apply(client, "add", args, NULL, NULL, WAIT_MS, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 5);
    json_decref(v);
    json_decref(args);

    args = J("[0.05]");
    CHECK_EQ_INT(cel_apply(client, "broken_function", args, NULL, NULL, WAIT_MS,
                           &v, &err),
                 CEL_ETASK);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.text, "ValueError: Called broken function");
    json_decref(args);

    args = J("[1.0, 1, 2]"); /* takes a second; we give it 100 ms */
    CHECK_EQ_INT(cel_apply(client, "slow_sum", args, NULL, NULL, 100, &v, &err),
                 CEL_ETIMEDOUT);
    CHECK(v == NULL);
    json_decref(args);
    CHECK_OK(cel_client_join(client, WAIT_MS, &err)); /* let it finish */
}

/* One tally per task; a callback that fires twice, or for the wrong
 * outcome, is caught. */
typedef struct {
    int ok, fail;
    long long value;
    char exc[64];
} tally_t;

static void
on_ok(cel_result_t *r, void *arg)
{
    tally_t *t = arg;
    t->ok++;
    t->value = json_integer_value(cel_result_value(r));
    CHECK(cel_result_successful(r));
}

static void
on_fail(cel_result_t *r, void *arg)
{
    tally_t *t = arg;
    t->fail++;
    snprintf(t->exc, sizeof(t->exc), "%s", cel_result_exc_type(r));
}

static void
test_callbacks(void)
{
    enum { N = 300 };
    static tally_t t[N + 1];
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;

    o.callback = on_ok;
    o.error_callback = on_fail;
    for (int i = 0; i < N; i++) {
        o.callback_arg = &t[i];
        /* Freed at once: the client keeps it until its callback ran. */
        cel_result_t *r = sum_all_values_apply_async(client, &o, i);
        CHECK(r != NULL);
        cel_result_free(r);
    }
    o.callback_arg = &t[N];
    json_t *args = J("[0]");
    cel_result_t *bad =
        cel_apply_async(client, "broken_function", args, NULL, &o);
    json_decref(args);
    CHECK(bad != NULL);
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
    CHECK_EQ_INT(cel_client_pending(client), 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(t[i].ok, 1);
        CHECK_EQ_INT(t[i].fail, 0);
        CHECK_EQ_INT(t[i].value, (long long)i * (i + 1) / 2);
    }
    CHECK_EQ_INT(t[N].ok, 0);
    CHECK_EQ_INT(t[N].fail, 1);
    CHECK_STR_EQ(t[N].exc, "ValueError");
    CHECK(cel_result_failed(bad)); /* the program's reference still works */
    cel_result_free(bad);

    /* A forgotten result's callback never fires. */
    tally_t gone = {0};
    o.callback_arg = &gone;
    cel_result_t *r = add_apply_async(client, &o, 1, 1);
    CHECK(r != NULL);
    cel_result_forget(r);
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
    (void)cel_clock_sleep_ms(200, NULL);
    CHECK_OK(cel_client_poll(client, 100, &err));
    CHECK_EQ_INT(gone.ok + gone.fail, 0);
}

static void
test_map(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    json_t *values, *items = json_array();

    for (int x = 1; x <= 40; x++) {
        json_array_append_new(items, json_integer(x));
    }
    CHECK_OK(
        cel_map(client, "sum_all_values", items, NULL, WAIT_MS, &values, &err));
    CHECK_EQ_INT(json_array_size(values), 40);
    for (int x = 1; x <= 40; x++) {
        CHECK_EQ_INT(json_integer_value(json_array_get(values, x - 1)),
                     x * (x + 1) / 2);
    }
    json_decref(values);
    json_decref(items);

    /* Finishing order differs from input order; map keeps input order. */
    items = J("[[0.6, 1, 1], [0.0, 2, 2], [0.3, 3, 3]]");
    CHECK_OK(
        cel_starmap(client, "slow_sum", items, NULL, WAIT_MS, &values, &err));
    json_t *want = J("[2, 4, 6]");
    CHECK(json_equal(values, want));
    json_decref(want);
    json_decref(values);
    json_decref(items);

    /* A failure anywhere fails the map, with the exception. */
    items = J("[[1, 2], [3, \"x\"]]");
    CHECK_EQ_INT(
        cel_starmap(client, "add", items, NULL, WAIT_MS, &values, &err),
        CEL_ETASK);
    CHECK(values == NULL);
    CHECK_CONTAINS(err.text, "TypeError");
    json_decref(items);

    items = J("[[0.2, 1, 1]]"); /* shorter than the slow task below */
    CHECK_EQ_INT(
        cel_starmap(client, "slow_sum", items, NULL, 50, &values, &err),
        CEL_ETIMEDOUT);
    json_decref(items);
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
}

static void
test_unordered(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_group_t *g;
    json_t *items = json_array();
    int seen[51] = {0};

    for (int x = 1; x <= 50; x++) {
        json_array_append_new(items, json_integer(x));
    }
    CHECK_OK(cel_imap_unordered(client, "fun", items, NULL, &g, &err));
    CHECK_EQ_INT(cel_group_size(g), 50);
    for (int i = 0; i < 50; i++) {
        cel_result_t *r = cel_group_next(g, WAIT_MS);
        CHECK(r != NULL);
        const json_t *v = cel_result_value(r);
        int x = (int)json_integer_value(json_array_get(v, 0));
        CHECK(x >= 1 && x <= 50);
        CHECK_EQ_INT(json_integer_value(json_array_get(v, 1)), x * x);
        seen[x]++;
        cel_result_free(r);
    }
    for (int x = 1; x <= 50; x++) {
        CHECK_EQ_INT(seen[x], 1);
    }
    CHECK(cel_group_next(g, 0) == NULL);
    CHECK_EQ_INT(cel_client_errcode(client), CEL_ENOTREADY);
    CHECK_CONTAINS(cel_client_error(client), "handed back");
    cel_group_free(g);
    json_decref(items);

    /* as_completed over results sent one by one: the quick one first. */
    g = cel_group_new(client);
    cel_result_t *slow = slow_sum_delay(client, 0.8, 1, 1);
    cel_result_t *quick = slow_sum_delay(client, 0.0, 2, 2);
    CHECK_OK(cel_group_add(g, slow));
    CHECK_OK(cel_group_add(g, quick));
    CHECK_EQ_INT(cel_group_add(g, quick), CEL_EINVAL); /* once only */
    cel_result_t *first = cel_group_next(g, WAIT_MS);
    CHECK(first == quick);
    CHECK(cel_group_next(g, 50) == NULL); /* the slow one is still out */
    CHECK_EQ_INT(cel_client_errcode(client), CEL_ETIMEDOUT);
    CHECK_CONTAINS(cel_client_error(client), "no result");
    cel_result_t *second = cel_group_next(g, WAIT_MS);
    CHECK(second == slow);
    CHECK_EQ_INT(json_integer_value(cel_result_value(second)), 2);
    cel_result_free(first);
    cel_result_free(second);

    /* A group freed with results still out lets them go. */
    json_t *args = J("[0.3, 1, 1]");
    CHECK_OK(cel_group_apply_async(g, "slow_sum", args, NULL, NULL, &err));
    json_decref(args);
    cel_group_free(g);
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
}

static void
test_result_states(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    const json_t *v;

    cel_result_t *r = slow_sum_delay(client, 0.5, 1, 2);
    CHECK(!cel_result_ready(r));
    CHECK_EQ_INT(cel_result_state(r), CEL_STATE_PENDING);
    CHECK(!cel_result_successful(r) && !cel_result_failed(r));
    CHECK(cel_result_value(r) == NULL && cel_result_exc_type(r) == NULL);
    CHECK_EQ_INT(cel_result_wait(r, 0, &err), CEL_ETIMEDOUT);
    CHECK_EQ_INT(cel_result_get(r, 10, &v, &err), CEL_ETIMEDOUT);
    CHECK_OK(cel_result_wait(r, WAIT_MS, &err));
    CHECK(cel_result_successful(r));
    cel_result_free(r);

    r = broken_function_delay(client, 0.0);
    CHECK_OK(cel_result_wait(r, WAIT_MS, &err)); /* a failure is ready */
    CHECK_EQ_INT(cel_result_state(r), CEL_STATE_FAILURE);
    CHECK_STR_EQ(cel_result_exc_type(r), "ValueError");
    CHECK_STR_EQ(cel_result_exc_message(r), "Called broken function");
    CHECK_CONTAINS(cel_result_traceback(r), "ValueError");
    cel_result_free(r);

    /* ignore_result: nothing will come, and wait says so at once. */
    o.ignore_result = true;
    r = add_apply_async(client, &o, 1, 2);
    CHECK(r != NULL);
    CHECK_EQ_INT(cel_result_wait(r, -1, &err), CEL_ECLOSED);
    cel_result_free(r);
}

static void
test_confirm(void)
{
    cel_opts_t o = CEL_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;

    o.confirm = true;
    cel_result_t *r = add_apply_async(client, &o, 20, 22);
    CHECK(r != NULL);
    CHECK_OK(cel_result_get(r, WAIT_MS, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 42);
    cel_result_free(r);

    /* An exchange that does not exist: an error, not a silent loss, and
     * the client goes on working. */
    o.exchange = "celeriac-no-such-exchange";
    CHECK(add_apply_async(client, &o, 1, 1) == NULL);
    CHECK_EQ_INT(cel_client_errcode(client), CEL_EBROKER);
    CHECK_CONTAINS(cel_client_error(client), "NOT_FOUND");
    r = add_delay(client, 1, 1);
    CHECK_OK(cel_result_get(r, WAIT_MS, &v, &err));
    cel_result_free(r);
}

static double
header_time(const cel_envelope_t *env, const char *key)
{
    int64_t us = 0;
    const char *text = json_string_value(json_object_get(env->headers, key));

    CHECK(text != NULL && cel_clock_parse_iso(text, &us) == 0);
    return (double)us / 1e6;
}

/* Every apply_async option lands in the message where Celery puts it. */
static void
test_options(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_broker_opts_t bo = CEL_BROKER_OPTS_INIT;
    cel_broker_t *b;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_delivery_t d;
    char q[80], ex[80];

    test_unique_name("test-options", q, sizeof(q));
    test_unique_name("test-options-ex", ex, sizeof(ex));
    CHECK_OK(cel_broker_open(test_broker_url(), &bo, &b, &err));
    json_t *headers = J("{\"tenant\": \"acme\", \"attempt\": 3}");
    double now = (double)cel_clock_wall_us() / 1e6;
    o.queue = q;
    o.task_id = "options-0001";
    o.countdown = 60;
    o.expires = 3600;
    o.time_limit = 30;
    o.soft_time_limit = 20;
    o.priority = 7;
    o.retries = 2;
    o.headers = headers;
    cel_result_t *r = add_apply_async(client, &o, 1, 2);
    CHECK(r != NULL);
    CHECK_STR_EQ(cel_result_id(r), "options-0001");
    test_read_raw(b, q, WAIT_MS, &d);
    json_t *h = d.env.headers;
    CHECK_STR_EQ(json_string_value(json_object_get(h, "id")), "options-0001");
    CHECK(header_time(&d.env, "eta") - now > 59 &&
          header_time(&d.env, "eta") - now < 70);
    CHECK(header_time(&d.env, "expires") - now > 3599 &&
          header_time(&d.env, "expires") - now < 3610);
    CHECK_EQ_INT(json_integer_value(json_object_get(h, "retries")), 2);
    json_t *limits = json_object_get(h, "timelimit");
    CHECK_EQ_INT(json_number_value(json_array_get(limits, 0)), 30);
    CHECK_EQ_INT(json_number_value(json_array_get(limits, 1)), 20);
    CHECK_STR_EQ(json_string_value(json_object_get(h, "tenant")), "acme");
    CHECK_EQ_INT(json_integer_value(json_object_get(h, "attempt")), 3);
    CHECK_EQ_INT(d.env.priority, 7);
    CHECK_STR_EQ(d.env.expiration, ""); /* no TTL: the worker revokes */
    CHECK(d.env.reply_to[0] != '\0');
    cel_delivery_clear(&d);
    cel_result_free(r);

    /* eta as a time, ignore_result, and a named exchange with a key. */
    o = (cel_opts_t)CEL_OPTS_INIT;
    CHECK_OK(cel_broker_declare_exchange(b, ex, "direct", false, true, &err));
    CHECK_OK(cel_broker_bind(b, q, ex, "rk-1", &err));
    o.exchange = ex;
    o.routing_key = "rk-1";
    o.eta = now + 7200;
    o.ignore_result = true;
    r = add_apply_async(client, &o, 3, 4);
    CHECK(r != NULL);
    test_read_raw(b, q, WAIT_MS, &d);
    CHECK_STR_EQ(d.exchange, ex);
    CHECK_STR_EQ(d.routing_key, "rk-1");
    CHECK(header_time(&d.env, "eta") - now > 7199 &&
          header_time(&d.env, "eta") - now < 7201);
    CHECK(json_is_true(json_object_get(d.env.headers, "ignore_result")));
    CHECK_STR_EQ(d.env.reply_to, "");
    cel_delivery_clear(&d);
    cel_result_free(r);

    /* A protocol header cannot be replaced. */
    json_t *bad = J("{\"task\": \"other\"}");
    o = (cel_opts_t)CEL_OPTS_INIT;
    o.queue = q;
    o.headers = bad;
    CHECK(add_apply_async(client, &o, 1, 1) == NULL);
    CHECK_EQ_INT(cel_client_errcode(client), CEL_EINVAL);
    CHECK_CONTAINS(cel_client_error(client), "'task'");
    json_decref(bad);
    json_decref(headers);
    CHECK_OK(cel_broker_delete_queue(b, q, &err));
    cel_broker_close(b);
}

typedef struct {
    int base, failures;
} worker_arg_t;

static void *
thread_main(void *arg)
{
    enum { PER_THREAD = 400 };
    worker_arg_t *w = arg;
    cel_result_t *rs[PER_THREAD];
    cel_error_t err;
    const json_t *v;

    for (int i = 0; i < PER_THREAD; i++) {
        rs[i] = add_delay(client, w->base, i);
        w->failures += rs[i] == NULL;
    }
    for (int i = 0; i < PER_THREAD; i++) {
        if (rs[i] == NULL) {
            continue;
        }
        if (cel_result_get(rs[i], WAIT_MS, &v, &err) != 0 ||
            json_integer_value(v) != w->base + i) {
            w->failures++;
        }
        cel_result_free(rs[i]);
    }
    return NULL;
}

static void
test_threads(void)
{
    enum { T = 4 };
    pthread_t th[T];
    worker_arg_t args[T];

    for (int i = 0; i < T; i++) {
        args[i] = (worker_arg_t){(i + 1) * 100000, 0};
        CHECK(pthread_create(&th[i], NULL, thread_main, &args[i]) == 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].failures, 0);
    }
}

static void
test_close(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_client_t *c;
    tally_t t = {0};
    cel_opts_t o = CEL_OPTS_INIT;

    co.queue = queue;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &c, &err));
    cel_result_t *r = slow_sum_delay(c, 0.3, 1, 1);
    o.callback = on_ok;
    o.callback_arg = &t;
    cel_result_free(add_apply_async(c, &o, 1, 1)); /* kept for its callback */
    cel_group_t *g = cel_group_new(c);
    json_t *args = J("[0.3, 1, 1]");
    CHECK_OK(cel_group_apply_async(g, "slow_sum", args, NULL, NULL, &err));
    json_decref(args);
    cel_client_close(c);
    cel_group_free(g); /* what it held goes with it (ASan checks) */
    CHECK_EQ_INT(cel_result_wait(r, 1000, &err), CEL_ECLOSED);
    CHECK(!cel_result_ready(r));
    cel_result_free(r); /* after close: the client's memory goes with it */
    CHECK_EQ_INT(t.ok, 0);
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;

    test_unique_name("test-producer", queue, sizeof(queue));
    pid_t w = test_workerd_start(queue, 2, NULL, NULL);
    co.queue = queue;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &client, &err));
    test_apply();
    test_callbacks();
    test_map();
    test_unordered();
    test_result_states();
    test_confirm();
    test_options();
    test_threads();
    test_close();
    cel_client_close(client);
    int status = test_workerd_stop(w, SIGTERM, 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    puts("ok");
    return 0;
}
