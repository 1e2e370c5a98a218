/* workerd -c 4 with the example tasks, driven through the producer
 * library: values, failures held in their results, argument errors,
 * unknown tasks, timeouts told apart from failures, and the work spread
 * over the children. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/support.h"

#include <signal.h>
#include <unistd.h>

#define WAIT_MS 20000

static cel_client_t *client;
static char queue[80];

static cel_result_t *
send_json(const char *name, const char *args, const char *kwargs)
{
    cel_opts_t o = CEL_OPTS_INIT;
    json_t *a = args ? json_loads(args, 0, NULL) : NULL;
    json_t *k = kwargs ? json_loads(kwargs, 0, NULL) : NULL;

    o.queue = queue;
    cel_result_t *r = cel_apply_async(client, name, a, k, &o);
    if (r == NULL) {
        CHECK_FAIL_("send %s: %s", name, cel_client_error(client));
    }
    json_decref(a);
    json_decref(k);
    return r;
}

static json_t *
call_ok(const char *name, const char *args, const char *kwargs)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;
    cel_result_t *r = send_json(name, args, kwargs);

    CHECK_OK(cel_result_get(r, WAIT_MS, &v, &err));
    CHECK(cel_result_ready(r) && cel_result_successful(r));
    CHECK(!cel_result_failed(r));
    CHECK_EQ_INT(cel_result_state(r), CEL_STATE_SUCCESS);
    CHECK(cel_result_exc_type(r) == NULL);
    json_t *copy = json_deep_copy(v);
    cel_result_free(r);
    return copy;
}

static void
call_fails(const char *name, const char *args, const char *kwargs,
           const char *type, const char *message)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;
    cel_result_t *r = send_json(name, args, kwargs);

    CHECK_EQ_INT(cel_result_get(r, WAIT_MS, &v, &err), CEL_ETASK);
    CHECK(v == NULL);
    CHECK(cel_result_ready(r) && cel_result_failed(r));
    CHECK(!cel_result_successful(r));
    CHECK_EQ_INT(cel_result_state(r), CEL_STATE_FAILURE);
    CHECK_STR_EQ(cel_result_exc_type(r), type);
    CHECK_CONTAINS(cel_result_exc_message(r), message);
    CHECK_CONTAINS(err.text, type);
    cel_result_free(r);
}

static void
check_int(json_t *v, long long want)
{
    CHECK(json_is_integer(v));
    CHECK_EQ_INT(json_integer_value(v), want);
    json_decref(v);
}

static void
test_values(void)
{
    check_int(call_ok("add", "[2, 3]", NULL), 5);
    check_int(call_ok("add", "[]", "{\"x\": 4611686018427387904, \"y\": 7}"),
              4611686018427387911LL);
    check_int(call_ok("add", "[-9]", "{\"y\": 4}"), -5);
    check_int(call_ok("sum_all_values", "[1000000]", NULL), 500000500000LL);
    check_int(call_ok("slow_sum", "[0.05, 40, 2]", NULL), 42);
    check_int(call_ok("slow_diff", "[0, 40, 2]", NULL), 38);
    check_int(call_ok("count_primes", "[0, 100000]", NULL), 9592);
    check_int(call_ok("count_primes", "[1000000, 1000100]", NULL), 6);

    const char *values[] = {
        "[\"h\\u00e9llo \\u2603 \\ud83d\\ude00\"]",
        "[{\"a\": [1, [2, [3, {\"b\": null}]]], \"t\": true, \"f\": false}]",
        "[9223372036854775807]",
        "[-9223372036854775808]",
        "[1.5e300]",
        "[0.1]",
        "[[]]",
        "[{}]",
        "[\"\"]",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        json_t *want = json_loads(values[i], 0, NULL);
        json_t *got = call_ok("echo", values[i], NULL);
        CHECK(json_equal(got, json_array_get(want, 0)));
        json_decref(got);
        json_decref(want);
    }
}

static void
test_failures(void)
{
    call_fails("broken_function", "[0.01]", NULL, "ValueError",
               "Called broken function");
    call_fails("add", "[1]", NULL, "TypeError",
               "add() missing 1 required positional argument: 'y'");
    call_fails("add", "[1, 2, 3]", NULL, "TypeError",
               "add() takes 2 positional arguments but 3 were given");
    call_fails("add", "[\"1\", 2]", NULL, "TypeError",
               "argument 'x' must be int, not str");
    call_fails("add", "[1]", "{\"x\": 2}", "TypeError",
               "multiple values for argument 'x'");
    call_fails("add", "[1, 2]", "{\"z\": 2}", "TypeError",
               "unexpected keyword argument 'z'");
    call_fails("add", "[9223372036854775807, 1]", NULL, "OverflowError",
               "64 bits");
    call_fails("fun", "[1.5]", NULL, "TypeError", "must be int, not float");
    call_fails("no_such_task", "[]", NULL, "NotRegistered", "no_such_task");

    /* The traceback names the task and the child that ran it. */
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;
    cel_result_t *r = send_json("broken_function", "[0]", NULL);
    CHECK_EQ_INT(cel_result_get(r, WAIT_MS, &v, &err), CEL_ETASK);
    CHECK_CONTAINS(cel_result_traceback(r), "broken_function");
    CHECK_CONTAINS(cel_result_traceback(r), "ValueError: Called broken");
    cel_result_free(r);
}

static void
test_timeout_is_not_failure(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;
    cel_result_t *r = send_json("slow_sum", "[1.0, 1, 2]", NULL);

    CHECK(!cel_result_ready(r));
    CHECK_EQ_INT(cel_result_state(r), CEL_STATE_PENDING);
    CHECK(!cel_result_successful(r) && !cel_result_failed(r));
    CHECK_EQ_INT(cel_result_get(r, 100, &v, &err), CEL_ETIMEDOUT);
    CHECK(v == NULL);
    CHECK_EQ_INT(cel_result_wait(r, 100, &err), CEL_ETIMEDOUT);
    CHECK_OK(cel_result_wait(r, WAIT_MS, &err));
    CHECK_OK(cel_result_get(r, 0, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 3);
    cel_result_free(r);
    /* A result freed before its reply comes is forgotten cleanly. */
    cel_result_free(send_json("slow_sum", "[0.2, 1, 2]", NULL));
}

/* Typed stubs from examples/tasks.h, and the spread over four children. */
static void
test_spread(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_result_t *rs[40];
    int pids[40], distinct = 0;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_client_t *typed;

    co.queue = queue;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &typed, &err));
    for (int x = 0; x < 40; x++) {
        /* slow enough that one child cannot take them all */
        rs[x] = x % 2 ? fun_delay(typed, x) : slow_sum_delay(typed, 0.05, x, 1);
        CHECK(rs[x] != NULL);
    }
    for (int x = 0; x < 40; x++) {
        const json_t *v;
        CHECK_OK(cel_result_get(rs[x], WAIT_MS, &v, &err));
        if (x % 2) {
            CHECK_EQ_INT(json_integer_value(json_array_get(v, 0)), x);
            CHECK_EQ_INT(json_integer_value(json_array_get(v, 1)), x * x);
            int pid = (int)json_integer_value(json_array_get(v, 2));
            int seen = 0;
            for (int i = 0; i < distinct; i++) {
                seen |= pids[i] == pid;
            }
            if (!seen) {
                pids[distinct++] = pid;
            }
        } else {
            CHECK_EQ_INT(json_integer_value(v), x + 1);
        }
        cel_result_free(rs[x]);
    }
    CHECK(distinct >= 2);
    cel_client_close(typed);
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;

    test_unique_name("test-worker", queue, sizeof(queue));
    pid_t w = test_workerd_start(queue, 4, NULL, NULL);
    co.queue = queue;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &client, &err));
    test_values();
    test_failures();
    test_timeout_is_not_failure();
    test_spread();
    cel_client_close(client);
    int status = test_workerd_stop(w, SIGTERM, 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    puts("ok");
    return 0;
}
