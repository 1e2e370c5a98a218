/* The canvas built by the C producer, run by workerd: chains (the last
 * step's value, each earlier step's through cel_result_parent), immutable
 * steps, a failing step (the last step's get fails with its exception),
 * links and errbacks (their results through cel_result_link and
 * cel_result_errback; the one that cannot come ends at once) and groups
 * of signatures, values in order, chords built by the producer, and all
 * of it from several threads on one client. The
 * client's default queue has no worker: everything goes where opts.queue or a
 * signature's queue says. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <cel/broker.h>
#include <cel/id.h>

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 20000

static cel_client_t *client;
static char queue[80];

static int64_t
value_of(cel_result_t *r)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;

    CHECK(r != NULL);
    CHECK_OK(cel_result_get(r, WAIT_MS, &v, &err));
    CHECK(json_is_integer(v));
    return json_integer_value(v);
}

static cel_result_t *
chain3(cel_sig_t *a, cel_sig_t *b, cel_sig_t *c, const cel_opts_t *o)
{
    const cel_sig_t *sigs[] = {a, b, c};
    cel_opts_t with_queue = CEL_OPTS_INIT;

    if (o != NULL) {
        with_queue = *o;
    }
    with_queue.queue = queue;
    CHECK(a != NULL && b != NULL && c != NULL);
    cel_result_t *r = cel_chain_apply_async(client, sigs, 3, &with_queue);
    CHECK(r != NULL);
    cel_sig_free(a);
    cel_sig_free(b);
    cel_sig_free(c);
    return r;
}

/* chain(add.s(2, 2), add.s(4), add.s(8)) gives 16; its parents 8 and 4. */
static void
test_chain(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_result_t *r = chain3(add_s(2, 2), add_sp(4), add_sp(8), NULL);

    CHECK_EQ_INT(value_of(r), 16);
    cel_result_t *p = cel_result_parent(r);
    CHECK(strcmp(cel_result_id(r), cel_result_id(p)) != 0);
    CHECK_EQ_INT(value_of(p), 8);
    CHECK_EQ_INT(value_of(cel_result_parent(p)), 4);
    CHECK(cel_result_parent(cel_result_parent(p)) == NULL);
    /* A step's result is its chain's: not the program's to free or give
     * to a group. */
    cel_result_free(p);
    cel_group_t *g = cel_group_new(client);
    CHECK_EQ_INT(cel_group_add(g, p), CEL_EINVAL);
    cel_group_free(g);
    CHECK_EQ_INT(value_of(p), 8);
    cel_result_free(r);

    /* One step is a plain task; the step's own queue option routes it. */
    cel_sig_t *s = add_s(1, 2);
    const cel_sig_t *one[] = {s};
    CHECK_OK(cel_sig_set_queue(s, queue));
    r = cel_chain_apply_async(client, one, 1, NULL);
    CHECK_EQ_INT(value_of(r), 3);
    CHECK(cel_result_parent(r) == NULL);
    cel_result_free(r);
    cel_sig_free(s);

    /* opts.task_id is the last step's id, as in Celery. */
    char last_id[80];
    cel_opts_t o = CEL_OPTS_INIT;
    test_unique_name("last", last_id, sizeof(last_id));
    o.task_id = last_id;
    r = chain3(add_s(1, 1), add_sp(1), add_sp(1), &o);
    CHECK_STR_EQ(cel_result_id(r), last_id);
    CHECK_EQ_INT(value_of(r), 4);
    cel_result_free(r);

    /* No steps is refused. */
    CHECK(cel_chain_apply_async(client, one, 0, NULL) == NULL);
    CHECK_CONTAINS(cel_client_error(client), "at least one step");
}

/* A chain of 200 steps: every step's result is tracked and walked back. */
static void
test_long_chain(void)
{
    enum { N = 200 };
    cel_sig_t *sigs[N];
    cel_opts_t o = CEL_OPTS_INIT;

    sigs[0] = add_s(0, 0);
    for (int i = 1; i < N; i++) {
        sigs[i] = add_sp(1);
        CHECK(sigs[i] != NULL);
    }
    o.queue = queue;
    cel_result_t *r =
        cel_chain_apply_async(client, (const cel_sig_t *const *)sigs, N, &o);
    CHECK_EQ_INT(value_of(r), N - 1);
    cel_result_t *p = r;
    int steps = 1;
    while (cel_result_parent(p) != NULL) {
        p = cel_result_parent(p);
        steps++;
    }
    CHECK_EQ_INT(steps, N);
    CHECK_EQ_INT(value_of(p), 0);
    cel_result_free(r);
    for (int i = 0; i < N; i++) {
        cel_sig_free(sigs[i]);
    }
}

/* An immutable step keeps its own args; the chain goes on from it. */
static void
test_immutable(void)
{
    cel_result_t *r = chain3(add_s(1, 1), add_si(10, 10), add_sp(1), NULL);

    CHECK_EQ_INT(value_of(r), 21);
    CHECK_EQ_INT(value_of(cel_result_parent(r)), 20);
    cel_result_free(r);
}

static void
on_done(cel_result_t *r, void *arg)
{
    int *calls = arg;
    (void)r;
    ++*calls;
}

/* A failing step fails every later one with its exception; the chain's
 * error_callback runs once, on the last step. */
static void
test_failing_step(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    const json_t *v;
    int calls = 0;

    o.error_callback = on_done;
    o.callback_arg = &calls;
    cel_result_t *r = chain3(add_s(0, 0), broken_function_sp(), add_sp(1), &o);
    CHECK_EQ_INT(cel_result_get(r, WAIT_MS, &v, &err), CEL_ETASK);
    CHECK_CONTAINS(err.text, "ValueError: Called broken function");
    cel_result_t *p = cel_result_parent(r);
    CHECK_EQ_INT(cel_result_get(p, WAIT_MS, &v, &err), CEL_ETASK);
    CHECK_CONTAINS(err.text, "ValueError");
    CHECK_EQ_INT(value_of(cel_result_parent(p)), 0); /* sleeps 0 s */
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
    CHECK_EQ_INT(calls, 1);
    cel_result_free(r);
}

/* add.apply_async((3, 4), link=add.s(100), link_error=echo.s()). */
static void
test_links(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    const json_t *v;

    o.queue = queue;
    o.link = add_sp(100);
    o.link_error = echo_sp();
    cel_result_t *r = add_apply_async(client, &o, 3, 4);
    CHECK_EQ_INT(value_of(r), 7);
    CHECK_EQ_INT(value_of(cel_result_link(r)), 107);
    CHECK_EQ_INT(cel_result_wait(cel_result_errback(r), WAIT_MS, &err),
                 CEL_ECLOSED);
    CHECK_CONTAINS(err.text, "errback of a task that ended the other way");
    cel_result_free(r);

    /* On failure the errback gets the failed task's id. */
    r = broken_function_apply_async(client, &o, 0.01);
    CHECK(r != NULL);
    CHECK_EQ_INT(cel_result_get(r, WAIT_MS, &v, &err), CEL_ETASK);
    CHECK_OK(cel_result_get(cel_result_errback(r), WAIT_MS, &v, &err));
    CHECK_STR_EQ(json_string_value(v), cel_result_id(r));
    CHECK_EQ_INT(cel_result_wait(cel_result_link(r), WAIT_MS, &err),
                 CEL_ECLOSED);
    cel_result_free(r);
    CHECK_EQ_INT(cel_client_pending(client), 0);
    cel_sig_free((cel_sig_t *)o.link);
    cel_sig_free((cel_sig_t *)o.link_error);
}

/* chain(...).apply_async(link=add.s(100), link_error=echo.s()): the link
 * after the last step; the errback after the step that fails, given its
 * id. */
static void
test_chain_links(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    const json_t *v;

    o.link = add_sp(100);
    o.link_error = echo_sp();
    cel_result_t *r = chain3(add_s(1, 1), add_sp(1), add_sp(1), &o);
    CHECK_EQ_INT(value_of(r), 4);
    CHECK_EQ_INT(value_of(cel_result_link(r)), 104);
    CHECK_EQ_INT(cel_result_wait(cel_result_errback(r), WAIT_MS, &err),
                 CEL_ECLOSED);
    cel_result_free(r);

    r = chain3(add_s(0, 0), broken_function_sp(), add_sp(1), &o);
    CHECK_EQ_INT(cel_result_get(r, WAIT_MS, &v, &err), CEL_ETASK);
    CHECK_OK(cel_result_get(cel_result_errback(r), WAIT_MS, &v, &err));
    CHECK_STR_EQ(json_string_value(v), cel_result_id(cel_result_parent(r)));
    CHECK_EQ_INT(cel_result_wait(cel_result_link(r), WAIT_MS, &err),
                 CEL_ECLOSED);
    cel_result_free(r);

    /* A lone step takes them as any task does. */
    cel_sig_t *s = add_s(2, 3);
    const cel_sig_t *one[] = {s};
    o.queue = queue;
    r = cel_chain_apply_async(client, one, 1, &o);
    CHECK_EQ_INT(value_of(r), 5);
    CHECK_EQ_INT(value_of(cel_result_link(r)), 105);
    cel_result_free(r);
    cel_sig_free(s);
    cel_sig_free((cel_sig_t *)o.link);
    cel_sig_free((cel_sig_t *)o.link_error);
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
}

/* group(add.s(i, i) for i in range(5)): values in the members' order. */
static void
test_group(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_sig_t *sigs[5];
    cel_result_t *rs[5];

    for (int i = 0; i < 5; i++) {
        sigs[i] = add_s(i, i);
        CHECK(sigs[i] != NULL);
    }
    o.queue = queue;
    CHECK_OK(cel_group_send(client, (const cel_sig_t *const *)sigs, 5, &o, rs,
                            &err));
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(value_of(rs[i]), 2 * i);
        cel_result_free(rs[i]);
        cel_sig_free(sigs[i]);
    }
}

static cel_result_t *
chord_of(cel_sig_t **header, size_t n, cel_sig_t *body, const cel_opts_t *o)
{
    cel_opts_t with_queue = CEL_OPTS_INIT;

    if (o != NULL) {
        with_queue = *o;
    }
    with_queue.queue = queue;
    cel_result_t *r = cel_chord_apply_async(
        client, (const cel_sig_t *const *)header, n, body, &with_queue);
    CHECK(r != NULL);
    for (size_t i = 0; i < n; i++) {
        cel_sig_free(header[i]);
    }
    cel_sig_free(body);
    return r;
}

/* chord(add.s(i, i) for i in range(5))(echo.s()): the body gets the
 * header's values in order; a failing member fails the chord; an
 * immutable body keeps its args; the chord's callback runs once. */
static void
test_chord(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    const json_t *v;
    cel_sig_t *h[5];
    int calls = 0;

    for (int i = 0; i < 5; i++) {
        h[i] = add_s(i, i);
    }
    o.callback = on_done;
    o.callback_arg = &calls;
    cel_result_t *r = chord_of(h, 5, echo_sp(), &o);
    CHECK_OK(cel_result_get(r, WAIT_MS, &v, &err));
    json_t *want = json_pack("[iiiii]", 0, 2, 4, 6, 8);
    CHECK(json_equal(v, want));
    json_decref(want);
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
    CHECK_EQ_INT(calls, 1);
    cel_result_free(r);

    h[0] = add_s(1, 1);
    h[1] = broken_function_s(0.01);
    h[2] = add_s(2, 2);
    r = chord_of(h, 3, echo_sp(), NULL);
    CHECK_EQ_INT(cel_result_get(r, WAIT_MS, &v, &err), CEL_ETASK);
    CHECK_CONTAINS(err.text, "ValueError: Called broken function");
    cel_result_free(r);

    h[0] = add_s(1, 1);
    cel_sig_t *body = add_si(20, 22);
    CHECK_OK(cel_sig_set_task_id(body, "chord-body-id-1"));
    r = chord_of(h, 1, body, NULL);
    CHECK_STR_EQ(cel_result_id(r), "chord-body-id-1");
    CHECK_EQ_INT(value_of(r), 42);
    cel_result_free(r);

    CHECK(cel_chord_apply_async(client, NULL, 0, NULL, NULL) == NULL);
    CHECK_CONTAINS(cel_client_error(client), "at least one header task");
}

/* Several threads send chains and chords on one client and wait for
 * them at once. */
static void *
sender(void *arg)
{
    int64_t base = (int64_t)(intptr_t)arg;

    for (int64_t i = 0; i < 20; i++) {
        cel_result_t *r = chain3(add_s(base, i), add_sp(1), add_sp(1), NULL);
        cel_sig_t *h[2] = {add_s(i, 0), add_s(base, 0)};
        cel_result_t *ch = chord_of(h, 2, echo_sp(), NULL);
        CHECK_EQ_INT(value_of(r), base + i + 2);
        CHECK_EQ_INT(value_of(cel_result_parent(cel_result_parent(r))),
                     base + i);
        cel_error_t err = CEL_ERROR_INIT;
        const json_t *v;
        CHECK_OK(cel_result_get(ch, WAIT_MS, &v, &err));
        CHECK_EQ_INT(json_integer_value(json_array_get(v, 1)), base);
        cel_result_free(r);
        cel_result_free(ch);
    }
    return NULL;
}

static void
test_threads(void)
{
    pthread_t t[4];

    for (intptr_t i = 0; i < 4; i++) {
        CHECK_EQ_INT(pthread_create(&t[i], NULL, sender, (void *)(i * 1000)),
                     0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(pthread_join(t[i], NULL), 0);
    }
}

/* What the client puts on the wire, read from a queue no worker serves:
 * chain(fun.s(1), fun.s()) as in task_chain.json (the body byte for byte,
 * the last step's id and the reply queue in its options), and a group's
 * members, each with the same group header and group_index null. */
static void
test_wire(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_broker_opts_t bo = CEL_BROKER_OPTS_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_broker_t *b;
    cel_delivery_t d;
    char q[80], rq[CEL_ID_SIZE], want[512];

    test_unique_name("test-canvas-wire", q, sizeof(q));
    CHECK_OK(cel_broker_open(test_broker_url(), &bo, &b, &err));
    o.queue = q;
    cel_sig_t *sigs[2] = {fun_s(1), fun_sp()};
    cel_result_t *r =
        cel_chain_apply_async(client, (const cel_sig_t *const *)sigs, 2, &o);
    CHECK(r != NULL);
    cel_client_reply_queue(client, rq, sizeof(rq));
    test_read_raw(b, q, WAIT_MS, &d);
    const char *first = cel_result_id(cel_result_parent(r));
    snprintf(want, sizeof(want),
             "[[1],{},{\"callbacks\":null,\"errbacks\":null,\"chain\":[{"
             "\"task\":\"fun\",\"args\":[],\"kwargs\":{},\"options\":{"
             "\"task_id\":\"%s\",\"reply_to\":\"%s\"},\"subtask_type\":"
             "null,\"immutable\":false}],\"chord\":null}]",
             cel_result_id(r), rq);
    CHECK_EQ_INT(d.env.body_len, strlen(want));
    CHECK(memcmp(d.env.body, want, d.env.body_len) == 0);
    json_t *h = d.env.headers;
    CHECK_STR_EQ(json_string_value(json_object_get(h, "id")), first);
    CHECK_STR_EQ(json_string_value(json_object_get(h, "root_id")), first);
    CHECK(json_is_null(json_object_get(h, "parent_id")));
    CHECK(json_is_null(json_object_get(h, "group")));
    CHECK_STR_EQ(d.env.reply_to, rq);
    CHECK_STR_EQ(d.env.correlation_id, first);
    cel_delivery_clear(&d);
    cel_result_free(r);

    cel_result_t *rs[2];
    CHECK_OK(cel_group_send(client, (const cel_sig_t *const *)sigs, 2, &o, rs,
                            &err));
    char gid[CEL_SHORTSTR_SIZE] = "";
    for (int i = 0; i < 2; i++) {
        test_read_raw(b, q, WAIT_MS, &d);
        const char *g =
            json_string_value(json_object_get(d.env.headers, "group"));
        CHECK(g != NULL && (gid[0] == '\0' || strcmp(g, gid) == 0));
        cel_copy_str(gid, sizeof(gid), g);
        CHECK(json_is_null(json_object_get(d.env.headers, "group_index")));
        cel_delivery_clear(&d);
        cel_result_forget(rs[i]);
    }
    cel_sig_free(sigs[0]);
    cel_sig_free(sigs[1]);
    CHECK_OK(cel_broker_delete_queue(b, q, &err));
    cel_broker_close(b);
}

/* Results freed before their replies come are dropped quietly. */
static void
test_free_early(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;

    cel_result_free(chain3(add_s(1, 1), add_sp(1), add_sp(1), NULL));
    o.queue = queue;
    o.link = add_sp(1);
    cel_result_free(add_apply_async(client, &o, 1, 1));
    cel_sig_free((cel_sig_t *)o.link);
    cel_sig_t *h[2] = {add_s(1, 1), add_s(2, 2)};
    cel_result_free(chord_of(h, 2, echo_sp(), NULL));
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
    CHECK_EQ_INT(cel_client_pending(client), 0);
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;

    test_unique_name("test-canvas-c", queue, sizeof(queue));
    pid_t w = test_workerd_start(queue, 2, NULL, NULL);
    /* Tasks go where opts.queue says: the default queue has no worker. */
    char idle[100];
    snprintf(idle, sizeof(idle), "%s-idle", queue);
    co.queue = idle;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &client, &err));
    test_chain();
    test_immutable();
    test_long_chain();
    test_failing_step();
    test_links();
    test_chain_links();
    test_group();
    test_chord();
    test_threads();
    test_wire();
    test_free_early();
    cel_client_close(client);
    int status = test_workerd_stop(w, SIGTERM, 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    puts("ok");
    return 0;
}
