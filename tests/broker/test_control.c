/* cel_control_call against a real RabbitMQ, with fake workers played by
 * threads here (a queue bound to the command exchange, answers published
 * as Celery's pidbox publishes them): the command's body, headers and
 * properties are Celery's; the answers of every node come back, and an
 * answer with another ticket does not; the wait ends early once every
 * named node has answered or the limit is reached, and lasts the timeout
 * otherwise; a cast asks for no answer; two threads calling at once on one
 * client each get their own answers; bad arguments are CEL_EINVAL. Most
 * calls use a mailbox of their own, so that real workers on the same
 * broker (Celery's, workerd) never answer them; the wire check uses the
 * default one with a method no worker knows, sent to a fake node only. */
#include <cel/broker.h>
#include <cel/clock.h>
#include <cel/control.h>

#include <pthread.h>
#include <stdatomic.h>

#include "check.h"
#include "support/support.h"

/* A fake worker: its node name and queue, what it last received. */
typedef struct {
    char node[128];
    char exchange[CEL_SHORTSTR_SIZE];
    const char *method; /* only this method counts; NULL: any */
    bool stray;         /* answer with another ticket first */
    cel_broker_t *b;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t lock;
    int commands; /* those it acted on */
    json_t *body; /* the last of them, and its envelope's headers */
    json_t *headers;
    char content_type[CEL_SHORTSTR_SIZE], content_encoding[CEL_SHORTSTR_SIZE];
    int delivery_mode, priority;
} fake_t;

static bool
addressed(const fake_t *f, const json_t *body)
{
    const json_t *dest = json_object_get(body, "destination");
    size_t i;
    json_t *v;

    const char *method = json_string_value(json_object_get(body, "method"));

    if (f->method != NULL && strcmp(method ? method : "", f->method) != 0) {
        return false;
    }
    if (json_is_null(dest)) {
        return true;
    }
    json_array_foreach (dest, i, v) {
        if (strcmp(json_string_value(v), f->node) == 0) {
            return true;
        }
    }
    return false;
}

static void
answer(fake_t *f, const json_t *body, const char *ticket)
{
    const json_t *to = json_object_get(body, "reply_to");
    cel_error_t err = CEL_ERROR_INIT;
    cel_envelope_t env;

    cel_envelope_init(&env);
    snprintf(env.content_type, sizeof(env.content_type), "application/json");
    env.delivery_mode = 1;
    env.headers = json_pack("{s:s,s:i}", "ticket", ticket, "clock", 7);
    json_t *reply = json_pack("{s:{s:s}}", f->node, "ok", "pong");
    env.body_owned = cel_json_dump(reply, &env.body_len);
    env.body = env.body_owned;
    CHECK_OK(cel_broker_publish(
        f->b, json_string_value(json_object_get(to, "exchange")),
        json_string_value(json_object_get(to, "routing_key")), &env, &err));
    json_decref(reply);
    cel_envelope_clear(&env);
}

static void
record(fake_t *f, const cel_delivery_t *d, json_t *body)
{
    pthread_mutex_lock(&f->lock);
    f->commands++;
    json_decref(f->body);
    json_decref(f->headers);
    f->body = json_incref(body);
    f->headers = json_incref(d->env.headers);
    snprintf(f->content_type, sizeof(f->content_type), "%s",
             d->env.content_type);
    snprintf(f->content_encoding, sizeof(f->content_encoding), "%s",
             d->env.content_encoding);
    f->delivery_mode = d->env.delivery_mode;
    f->priority = d->env.priority;
    pthread_mutex_unlock(&f->lock);
}

static void
handle(fake_t *f, const cel_delivery_t *d)
{
    json_t *body = cel_json_load(d->env.body, d->env.body_len, NULL);

    CHECK(json_is_object(body));
    if (addressed(f, body)) {
        record(f, d, body);
        const char *ticket = json_string_value(json_object_get(body, "ticket"));
        if (ticket != NULL && f->stray) {
            answer(f, body, "not-this-call");
        }
        if (ticket != NULL) {
            answer(f, body, ticket);
        }
    }
    json_decref(body);
}

static void *
fake_run(void *arg)
{
    fake_t *f = arg;

    while (!atomic_load(&f->stop)) {
        cel_delivery_t d = {0};
        int r = cel_broker_next(f->b, 50, &d, NULL);
        if (r == 0) {
            handle(f, &d);
        } else {
            CHECK(r == CEL_ETIMEDOUT);
        }
        cel_delivery_clear(&d);
    }
    return NULL;
}

/* A fake worker of mailbox (its exchange MAILBOX.pidbox) named node,
 * that acts on method only (NULL: any), with a stray answer first. */
static void
fake_start(fake_t *f, const char *mailbox, const char *node, const char *method,
           bool stray)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_queue_opts_t q = {0};
    char queue[2 * CEL_SHORTSTR_SIZE];

    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    snprintf(f->node, sizeof(f->node), "%s", node);
    f->method = method;
    f->stray = stray;
    snprintf(f->exchange, sizeof(f->exchange), "%s.pidbox", mailbox);
    snprintf(queue, sizeof(queue), "%s.%s", node, f->exchange);
    q.exclusive = q.auto_delete = true;
    CHECK_OK(cel_broker_open(test_broker_url(), NULL, &f->b, &err));
    CHECK_OK(cel_broker_declare_exchange(f->b, f->exchange, "fanout", false,
                                         false, &err));
    CHECK_OK(cel_broker_declare_queue(f->b, queue, &q, &err));
    CHECK_OK(cel_broker_bind(f->b, queue, f->exchange, "", &err));
    CHECK_OK(cel_broker_consume(f->b, queue, true, NULL, 0, &err));
    CHECK(pthread_create(&f->thread, NULL, fake_run, f) == 0);
}

static void
fake_stop(fake_t *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    cel_broker_close(f->b);
    json_decref(f->body);
    json_decref(f->headers);
    pthread_mutex_destroy(&f->lock);
}

static int
fake_commands(fake_t *f)
{
    pthread_mutex_lock(&f->lock);
    int n = f->commands;
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* Does replies hold an answer from node? */
static bool
answered(const json_t *replies, const char *node)
{
    size_t i;
    json_t *v;

    json_array_foreach (replies, i, v) {
        if (json_object_get(v, node) != NULL) {
            return true;
        }
    }
    return false;
}

/* The command as it left, and the answer through the default mailbox. */
static void
test_wire(cel_client_t *c)
{
    cel_control_opts_t o = CEL_CONTROL_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    char node[96], method[96];
    json_t *replies;
    fake_t f;

    test_unique_name("fake@wire", node, sizeof(node));
    test_unique_name("celeriac_test", method, sizeof(method));
    fake_start(&f, "celery", node, method, false);
    const char *dest[] = {node};
    o.destination = dest;
    o.ndestination = 1;
    o.timeout_ms = 5000;
    json_t *args = json_pack("{s:[s],s:b}", "task_id", "x", "terminate", 0);
    double sent = (double)cel_clock_wall_us() / 1e6;
    CHECK_OK(cel_control_call(c, method, args, &o, &replies, &err));
    CHECK_EQ_INT(json_array_size(replies), 1);
    CHECK_STR_EQ(json_string_value(json_object_get(
                     json_object_get(json_array_get(replies, 0), node), "ok")),
                 "pong");
    json_decref(replies);

    pthread_mutex_lock(&f.lock);
    const json_t *b = f.body;
    CHECK_EQ_INT(json_object_size(b), 7);
    CHECK_STR_EQ(json_string_value(json_object_get(b, "method")), method);
    CHECK(json_equal(json_object_get(b, "arguments"), args));
    CHECK_EQ_INT(json_array_size(json_object_get(b, "destination")), 1);
    CHECK(json_is_null(json_object_get(b, "pattern")));
    CHECK(json_is_null(json_object_get(b, "matcher")));
    CHECK_EQ_INT(strlen(json_string_value(json_object_get(b, "ticket"))), 36);
    const json_t *to = json_object_get(b, "reply_to");
    CHECK_STR_EQ(json_string_value(json_object_get(to, "exchange")),
                 "reply.celery.pidbox");
    CHECK_EQ_INT(strlen(json_string_value(json_object_get(to, "routing_key"))),
                 36);
    CHECK_EQ_INT(json_integer_value(json_object_get(f.headers, "clock")), 1);
    double expires = json_real_value(json_object_get(f.headers, "expires"));
    CHECK(expires > sent + 4.0 && expires < sent + 6.0);
    CHECK_STR_EQ(f.content_type, "application/json");
    CHECK_STR_EQ(f.content_encoding, "utf-8");
    CHECK_EQ_INT(f.delivery_mode, 2);
    CHECK_EQ_INT(f.priority, 0);
    pthread_mutex_unlock(&f.lock);
    json_decref(args);
    fake_stop(&f);
}

/* Every node answers a broadcast; a stray ticket is dropped; with no
 * destination and no limit the wait is the whole timeout. */
static void
test_broadcast(cel_client_t *c, const char *mailbox, fake_t *a, fake_t *b)
{
    cel_control_opts_t o = CEL_CONTROL_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    json_t *replies;

    o.mailbox = mailbox;
    o.timeout_ms = 700;
    int64_t t0 = cel_clock_now_ms();
    CHECK_OK(cel_control_call(c, "ping", NULL, &o, &replies, &err));
    int64_t took = cel_clock_now_ms() - t0;
    CHECK_EQ_INT(json_array_size(replies), 2);
    CHECK(answered(replies, a->node) && answered(replies, b->node));
    CHECK(took >= 650);
    json_decref(replies);
}

/* Named nodes: only they act, and the wait ends when all have answered;
 * a limit ends it too; a node that does not exist leaves it empty. */
static void
test_destination(cel_client_t *c, const char *mailbox, fake_t *a, fake_t *b)
{
    cel_control_opts_t o = CEL_CONTROL_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    json_t *replies;
    int before = fake_commands(b);

    o.mailbox = mailbox;
    o.timeout_ms = 5000;
    const char *dest[] = {a->node};
    o.destination = dest;
    o.ndestination = 1;
    int64_t t0 = cel_clock_now_ms();
    CHECK_OK(cel_control_call(c, "ping", NULL, &o, &replies, &err));
    CHECK(cel_clock_now_ms() - t0 < 3000);
    CHECK_EQ_INT(json_array_size(replies), 1);
    CHECK(answered(replies, a->node));
    CHECK_EQ_INT(fake_commands(b), before);
    json_decref(replies);

    o.destination = NULL;
    o.limit = 1;
    t0 = cel_clock_now_ms();
    CHECK_OK(cel_control_call(c, "ping", NULL, &o, &replies, &err));
    CHECK(cel_clock_now_ms() - t0 < 3000);
    CHECK_EQ_INT(json_array_size(replies), 1);
    json_decref(replies);

    const char *nobody[] = {"nobody@nowhere"};
    o.destination = nobody;
    o.limit = 0;
    o.timeout_ms = 300;
    t0 = cel_clock_now_ms();
    CHECK_OK(cel_control_call(c, "ping", NULL, &o, &replies, &err));
    CHECK(cel_clock_now_ms() - t0 >= 250);
    CHECK_EQ_INT(json_array_size(replies), 0);
    json_decref(replies);
}

/* A cast: no ticket, no reply_to, no wait, an empty array. */
static void
test_cast(cel_client_t *c, const char *mailbox, fake_t *a)
{
    cel_control_opts_t o = CEL_CONTROL_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    json_t *replies;
    int before = fake_commands(a);

    o.mailbox = mailbox;
    o.reply = false;
    o.timeout_ms = 5000;
    int64_t t0 = cel_clock_now_ms();
    CHECK_OK(cel_control_call(c, "heartbeat", NULL, &o, &replies, &err));
    CHECK(cel_clock_now_ms() - t0 < 3000);
    CHECK_EQ_INT(json_array_size(replies), 0);
    json_decref(replies);
    CHECK_OK(cel_control_call(c, "heartbeat", NULL, &o, NULL, &err));
    for (int i = 0; i < 100 && fake_commands(a) < before + 2; i++) {
        (void)cel_clock_sleep_ms(20, NULL);
    }
    CHECK_EQ_INT(fake_commands(a), before + 2);
    pthread_mutex_lock(&a->lock);
    CHECK(json_object_get(a->body, "ticket") == NULL);
    CHECK(json_object_get(a->body, "reply_to") == NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(a->body, "method")),
                 "heartbeat");
    pthread_mutex_unlock(&a->lock);
}

typedef struct {
    cel_client_t *c;
    const char *mailbox;
    size_t got;
} caller_t;

static void *
call_thread(void *arg)
{
    caller_t *k = arg;
    cel_control_opts_t o = CEL_CONTROL_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    json_t *replies;

    o.mailbox = k->mailbox;
    o.timeout_ms = 700;
    CHECK_OK(cel_control_call(k->c, "ping", NULL, &o, &replies, &err));
    k->got = json_array_size(replies);
    json_decref(replies);
    return NULL;
}

/* Two calls at once on one client: each has its own answers. */
static void
test_threads(cel_client_t *c, const char *mailbox)
{
    caller_t k[2] = {{c, mailbox, 0}, {c, mailbox, 0}};
    pthread_t t[2];

    for (int i = 0; i < 2; i++) {
        CHECK(pthread_create(&t[i], NULL, call_thread, &k[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(k[i].got, 2);
    }
}

static void
test_invalid(cel_client_t *c)
{
    cel_control_opts_t o = CEL_CONTROL_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    json_t *list = json_array();
    json_t *replies = list; /* set to NULL by a failing call */
    const char *dest[] = {""};

    CHECK_EQ_INT(cel_control_call(c, "", NULL, NULL, &replies, &err),
                 CEL_EINVAL);
    CHECK(replies == NULL);
    CHECK_EQ_INT(cel_control_call(c, "ping", list, NULL, &replies, &err),
                 CEL_EINVAL);
    CHECK_EQ_INT(cel_control_call(c, "ping", NULL, NULL, NULL, &err),
                 CEL_EINVAL);
    o.destination = dest;
    o.ndestination = 1;
    CHECK_EQ_INT(cel_control_call(c, "ping", NULL, &o, &replies, &err),
                 CEL_EINVAL);
    CHECK_CONTAINS(err.text, "destination");
    json_decref(list);
}

int
main(void)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    char mailbox[64], node_a[96], node_b[96];
    cel_client_t *c;
    fake_t a, b;

    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &c, &err));
    test_invalid(c);
    test_wire(c);

    test_unique_name("ctl", mailbox, sizeof(mailbox));
    test_unique_name("a@test", node_a, sizeof(node_a));
    test_unique_name("b@test", node_b, sizeof(node_b));
    fake_start(&a, mailbox, node_a, NULL, false);
    fake_start(&b, mailbox, node_b, NULL, true);
    test_broadcast(c, mailbox, &a, &b);
    test_destination(c, mailbox, &a, &b);
    test_cast(c, mailbox, &a);
    test_threads(c, mailbox);
    fake_stop(&a);
    fake_stop(&b);

    cel_client_close(c);
    puts("ok");
    return 0;
}
