/* control.c: cel_control_call, Celery's remote control from the client
 * side, as kombu's Mailbox._broadcast and _collect do it: a reply queue of
 * the call's own is bound before the command leaves (on a connection
 * opened for the call), the command goes to the fanout exchange on the
 * client's publishing connection under send_lock, and the answers that
 * carry the call's ticket are gathered until the deadline, every named
 * node has answered, or the limit is reached. */
#include "producer_internal.h"

#include <cel/clock.h>
#include <cel/control.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Celery's control_queue_expires and control_queue_ttl, which its client
 * gives its reply queue as x-expires and x-message-ttl. */
#define REPLY_EXPIRES_MS 10000
#define REPLY_TTL_MS     300000

/* One call: its names, its reply connection, who has answered. */
typedef struct {
    cel_control_opts_t o;
    char exchange[CEL_SHORTSTR_SIZE];       /* MAILBOX.pidbox */
    char reply_exchange[CEL_SHORTSTR_SIZE]; /* reply.MAILBOX.pidbox */
    char oid[CEL_ID_SIZE];    /* the reply routing key, as kombu's oid */
    char ticket[CEL_ID_SIZE]; /* the answers that are ours carry it */
    cel_broker_t *rx;         /* the answers' connection; NULL for a cast */
    bool *answered;           /* one per destination */
    size_t nanswered;         /* destinations that have answered */
} call_t;

static int
check_call(const char *method, const json_t *arguments, const call_t *k,
           json_t **replies, cel_error_t *err)
{
    if (method == NULL || method[0] == '\0' ||
        !cel_utf8_valid(method, strlen(method))) {
        return cel_error_set(err, CEL_EINVAL,
                             "control: no method, or not UTF-8");
    }
    if (arguments != NULL && !json_is_object(arguments)) {
        return cel_error_set(err, CEL_EINVAL,
                             "control: the arguments must be an object");
    }
    if (replies == NULL && k->o.reply) {
        return cel_error_set(err, CEL_EINVAL,
                             "control: replies is NULL, answers wanted");
    }
    if (k->o.timeout_ms < 0) {
        return cel_error_set(err, CEL_EINVAL, "control: negative timeout");
    }
    for (size_t i = 0; i < k->o.ndestination; i++) {
        const char *d = k->o.destination[i];
        if (d == NULL || d[0] == '\0' || !cel_utf8_valid(d, strlen(d))) {
            return cel_error_set(err, CEL_EINVAL,
                                 "control: an empty destination name, or "
                                 "one not UTF-8");
        }
    }
    return 0;
}

/* Fills k from opts: defaults, the exchange names, a fresh oid and ticket. */
static int
call_init(call_t *k, const cel_control_opts_t *opts, cel_error_t *err)
{
    static const cel_control_opts_t defaults = CEL_CONTROL_OPTS_INIT;

    memset(k, 0, sizeof(*k));
    k->o = opts ? *opts : defaults;
    if (k->o.timeout_ms == 0) {
        k->o.timeout_ms = CEL_CONTROL_TIMEOUT_MS;
    }
    if (k->o.destination == NULL) {
        k->o.ndestination = 0;
    }
    const char *mailbox = k->o.mailbox ? k->o.mailbox : "celery";
    /* The reply queue's name is the longest: OID.reply.MAILBOX.pidbox. */
    if (mailbox[0] == '\0' ||
        strlen(mailbox) + CEL_ID_SIZE + 13 >= CEL_SHORTSTR_SIZE) {
        return cel_error_set(err, CEL_EINVAL,
                             "control: the mailbox name is empty or too long");
    }
    snprintf(k->exchange, sizeof(k->exchange), "%s.pidbox", mailbox);
    snprintf(k->reply_exchange, sizeof(k->reply_exchange), "reply.%s.pidbox",
             mailbox);
    cel_id_new(k->oid);
    cel_id_new(k->ticket);
    if (k->o.ndestination > 0) {
        k->answered = calloc(k->o.ndestination, sizeof(*k->answered));
        if (k->answered == NULL) {
            return cel_error_set(err, CEL_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Opens the answers' connection, on the broker the client last used. */
static int
reply_connect(cel_client_t *c, call_t *k, cel_error_t *err)
{
    cel_broker_opts_t bo = CEL_BROKER_OPTS_INIT;
    char name[CEL_SHORTSTR_SIZE + 16];

    snprintf(name, sizeof(name), "%s control", c->name);
    bo.name = name;
    bo.first_node = atomic_load(&c->node);
    if (c->connect_timeout_ms > 0) {
        bo.connect_timeout_ms = c->connect_timeout_ms < INT_MAX
                                    ? (int)c->connect_timeout_ms
                                    : INT_MAX;
    }
    return cel_broker_open(c->url, &bo, &k->rx, err);
}

/* The reply queue, bound and consumed before the command leaves, so no
 * answer can come before it exists. kombu's is not exclusive; this one is,
 * since only this connection reads it (and RabbitMQ 4.3 refuses transient
 * queues that are not), with kombu's arguments otherwise. */
static int
reply_queue(cel_client_t *c, call_t *k, cel_error_t *err)
{
    cel_queue_opts_t q = {0};
    char queue[CEL_ID_SIZE + CEL_SHORTSTR_SIZE]; /* fits 255 (call_init) */

    q.exclusive = true;
    q.auto_delete = true;
    q.expires_ms = REPLY_EXPIRES_MS;
    q.message_ttl_ms = REPLY_TTL_MS;
    snprintf(queue, sizeof(queue), "%s.%s", k->oid, k->reply_exchange);
    int r = reply_connect(c, k, err);
    if (r == 0) {
        r = cel_broker_declare_exchange(k->rx, k->reply_exchange, "direct",
                                        false, false, err);
    }
    if (r == 0) {
        r = cel_broker_declare_queue(k->rx, queue, &q, err);
    }
    if (r == 0) {
        r = cel_broker_bind(k->rx, queue, k->reply_exchange, k->oid, err);
    }
    if (r == 0) {
        r = cel_broker_consume(k->rx, queue, true, NULL, 0, err);
    }
    return r;
}

/* The body kombu's Mailbox._publish writes: method, arguments,
 * destination, pattern and matcher, and the ticket and reply_to when an
 * answer is wanted. A new reference, or NULL when out of memory. */
static json_t *
command_body(const char *method, const json_t *arguments, const call_t *k)
{
    json_t *dest = json_null();

    if (k->o.ndestination > 0) {
        dest = json_array();
        for (size_t i = 0; dest && i < k->o.ndestination; i++) {
            if (json_array_append_new(dest, json_string(k->o.destination[i]))) {
                json_decref(dest);
                dest = NULL;
            }
        }
    }
    json_t *args = arguments ? json_deep_copy(arguments) : json_object();
    /* "o" steals even when the pack fails, and fails on NULL (no memory). */
    json_t *body =
        json_pack("{s:s,s:o,s:o,s:n,s:n}", "method", method, "arguments", args,
                  "destination", dest, "pattern", "matcher");
    if (body != NULL && k->o.reply &&
        (json_object_set_new(body, "ticket", json_string(k->ticket)) != 0 ||
         json_object_set_new(body, "reply_to",
                             json_pack("{s:s,s:s}", "exchange",
                                       k->reply_exchange, "routing_key",
                                       k->oid)) != 0)) {
        json_decref(body);
        body = NULL;
    }
    return body;
}

/* The envelope of Celery's command: JSON in UTF-8, delivery mode 2 and
 * priority 0 (kombu's defaults), headers clock (Celery's client sends its
 * Lamport clock; this one keeps none and sends 1, as a fresh `celery
 * inspect` does) and expires (epoch seconds, now plus the timeout). */
static int
command_envelope(const char *method, const json_t *arguments, const call_t *k,
                 cel_envelope_t *env, cel_error_t *err)
{
    double expires =
        (double)cel_clock_wall_us() / 1e6 + (double)k->o.timeout_ms / 1000.0;

    cel_envelope_init(env);
    snprintf(env->content_type, sizeof(env->content_type), "%s",
             "application/json");
    snprintf(env->content_encoding, sizeof(env->content_encoding), "%s",
             "utf-8");
    env->delivery_mode = 2;
    env->priority = 0;
    json_t *body = command_body(method, arguments, k);
    if (body != NULL) {
        env->body_owned = cel_json_dump(body, &env->body_len);
        env->body = env->body_owned;
        json_decref(body);
    }
    env->headers = json_pack("{s:i,s:f}", "clock", 1, "expires", expires);
    if (env->body_owned == NULL || env->headers == NULL) {
        cel_envelope_clear(env);
        return cel_error_set(err, CEL_ENOMEM, "out of memory");
    }
    return 0;
}

/* Publishes env to the command exchange (declared as kombu declares it:
 * fanout, not durable, not auto-deleted) on the client's publishing
 * connection. */
static int
command_publish(cel_client_t *c, const call_t *k, const cel_envelope_t *env,
                cel_error_t *err)
{
    char why[128];

    int r = cel__client_take_tx(c, err);
    if (r == 0 && cel_broker_blocked(c->tx, why, sizeof(why))) {
        r = cel_error_set(err, CEL_EBLOCKED,
                          "not sent: the broker is blocking publishing (%s)",
                          why);
    }
    if (r == 0) {
        r = cel_broker_declare_exchange(c->tx, k->exchange, "fanout", false,
                                        false, err);
    }
    if (r == 0) {
        r = cel_broker_publish(c->tx, k->exchange, "", env, err);
    }
    pthread_mutex_unlock(&c->send_lock);
    return r;
}

/* Marks the destinations that answer names as answered. */
static void
note_answer(call_t *k, json_t *answer)
{
    const char *node;
    const json_t *v;

    json_object_foreach (answer, node, v) {
        for (size_t i = 0; i < k->o.ndestination; i++) {
            if (!k->answered[i] && strcmp(node, k->o.destination[i]) == 0) {
                k->answered[i] = true;
                k->nanswered++;
            }
        }
    }
}

/* Keeps d's answer when it is ours: our ticket (or none, which kombu
 * takes for ours too), a JSON object. Anything else is dropped. */
static int
take_answer(call_t *k, const cel_delivery_t *d, json_t *replies)
{
    const json_t *h = d->env.headers;
    const json_t *ticket = h ? json_object_get(h, "ticket") : NULL;

    if (ticket != NULL && (!json_is_string(ticket) ||
                           strcmp(json_string_value(ticket), k->ticket) != 0)) {
        return 0;
    }
    json_t *answer = cel_json_load(d->env.body, d->env.body_len, NULL);
    if (!json_is_object(answer)) {
        json_decref(answer);
        return 0;
    }
    note_answer(k, answer);
    return json_array_append_new(replies, answer) == 0 ? 0 : CEL_ENOMEM;
}

static bool
collected(const call_t *k, const json_t *replies)
{
    return (k->o.limit > 0 && json_array_size(replies) >= k->o.limit) ||
           (k->o.ndestination > 0 && k->nanswered == k->o.ndestination);
}

/* Reads answers into replies until the deadline or until enough came. */
static int
collect(call_t *k, int64_t deadline_ms, json_t *replies, cel_error_t *err)
{
    while (!collected(k, replies)) {
        cel_delivery_t d = {0};
        int64_t left = deadline_ms - cel_clock_now_ms();
        if (left <= 0) {
            return 0;
        }
        int r = cel_broker_next(k->rx, left < INT_MAX ? (int)left : INT_MAX, &d,
                                err);
        if (r == 0) {
            r = take_answer(k, &d, replies);
        } else if (r == CEL_ETIMEDOUT || r == CEL_EPROTO ||
                   r == CEL_BROKER_RETURNED) {
            r = 0; /* nothing, or nothing of ours that can be read */
        }
        cel_delivery_clear(&d);
        if (r != 0) {
            return r == CEL_ENOMEM ? cel_error_set(err, r, "out of memory") : r;
        }
    }
    return 0;
}

/* Sends the command and, when answers are wanted, gathers them. */
static int
call_run(cel_client_t *c, call_t *k, const char *method,
         const json_t *arguments, json_t *replies, cel_error_t *err)
{
    cel_envelope_t env;

    int r = k->o.reply ? reply_queue(c, k, err) : 0;
    if (r == 0) {
        r = command_envelope(method, arguments, k, &env, err);
    }
    if (r != 0) {
        return r;
    }
    r = command_publish(c, k, &env, err);
    cel_envelope_clear(&env);
    if (r == 0 && k->o.reply) {
        r = collect(k, cel_clock_now_ms() + k->o.timeout_ms, replies, err);
    }
    return r;
}

int
cel_control_call(cel_client_t *c, const char *method, const json_t *arguments,
                 const cel_control_opts_t *opts, json_t **replies,
                 cel_error_t *err)
{
    call_t k;
    json_t *list = NULL;

    if (replies != NULL) {
        *replies = NULL;
    }
    int r = call_init(&k, opts, err);
    if (r == 0) {
        r = check_call(method, arguments, &k, replies, err);
    }
    if (r == 0 && (list = json_array()) == NULL) {
        r = cel_error_set(err, CEL_ENOMEM, "out of memory");
    }
    if (r == 0) {
        r = call_run(c, &k, method, arguments, list, err);
    }
    cel_broker_close(k.rx); /* the reply queue goes with it */
    free(k.answered);
    if (r == 0 && replies != NULL) {
        *replies = list;
    } else {
        json_decref(list);
    }
    return r;
}
