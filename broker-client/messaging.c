/* messaging.c: publish, receive, ack and reject. Receiving reads one frame
 * sequence at a time with a timeout, so callers can check their own flags
 * (shutdown, deadlines) between calls; frames that are not deliveries
 * (confirms, closes, cancels) are handled here, and a returned message
 * goes to the caller like a delivery. */
#include "broker_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cel/clock.h>

/* Reads the frames that arrive within timeout_ms on a publish-only
 * channel, counting confirms. Returns 0 after a frame, CEL_ETIMEDOUT when
 * none came, or a connection error. */
static int
read_confirms(cel_broker_t *b, int timeout_ms, cel_error_t *err)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000L};
    amqp_frame_t f;
    int got = 0;

    amqp_maybe_release_buffers(b->conn);
    for (;;) {
        int status = amqp_simple_wait_frame_noblock(
            b->conn, &f, got ? &(struct timeval){0} : &tv);
        if (status == AMQP_STATUS_TIMEOUT) {
            return got ? 0 : CEL_ETIMEDOUT;
        }
        if (status != AMQP_STATUS_OK) {
            return cel__broker_status(b, status, "publisher confirms", err);
        }
        got++;
        if (f.frame_type != AMQP_FRAME_METHOD) {
            continue;
        }
        amqp_method_t *m = &f.payload.method;
        if (cel__broker_note_blocked(b, m)) {
            continue;
        }
        if (m->id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *a = m->decoded;
            b->confirmed =
                a->delivery_tag > b->confirmed ? a->delivery_tag : b->confirmed;
        } else if (m->id == AMQP_BASIC_NACK_METHOD) {
            amqp_basic_nack_t *n = m->decoded;
            uint64_t upto =
                n->delivery_tag > b->confirmed ? n->delivery_tag : b->confirmed;
            b->refused += n->multiple ? upto - b->confirmed : 1;
            b->confirmed = upto;
        } else if (m->id == AMQP_CHANNEL_CLOSE_METHOD ||
                   m->id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_rpc_reply_t r = {.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION,
                                  .reply = *m};
            return cel__broker_check(b, r, "publish", err);
        }
    }
}

static int
publish(cel_broker_t *b, const char *exchange, const char *routing_key,
        bool mandatory, const cel_envelope_t *env, cel_error_t *err)
{
    amqp_basic_properties_t props;
    amqp_bytes_t body = {env->body_len, (void *)env->body};

    if (b->closed) {
        return cel_error_set(err, CEL_ECLOSED,
                             "basic.publish: the broker "
                             "connection is closed");
    }
    int r = cel__props_from_envelope(env, &b->pool, &props, err);
    if (r == 0) {
        int status = amqp_basic_publish(
            b->conn, b->channel, amqp_cstring_bytes(exchange),
            amqp_cstring_bytes(routing_key), mandatory, 0, &props, body);
        r = cel__broker_status(b, status, "basic.publish", err);
    }
    recycle_amqp_pool(&b->pool);
    if (r == 0 && b->confirming) {
        b->published++;
        /* Read the confirms that have come, so they never pile up. */
        r = read_confirms(b, 0, err);
        r = r == CEL_ETIMEDOUT ? 0 : r;
    }
    return r;
}

int
cel_broker_publish(cel_broker_t *b, const char *exchange,
                   const char *routing_key, const cel_envelope_t *env,
                   cel_error_t *err)
{
    return publish(b, exchange, routing_key, false, env, err);
}

int
cel_broker_publish_mandatory(cel_broker_t *b, const char *exchange,
                             const char *routing_key, const cel_envelope_t *env,
                             cel_error_t *err)
{
    return publish(b, exchange, routing_key, true, env, err);
}

int
cel_broker_sync(cel_broker_t *b, cel_error_t *err)
{
    if (b->closed) {
        return cel_error_set(err, CEL_ECLOSED, "sync: connection closed");
    }
    cel_broker_cork(b, false); /* an answer is awaited */
    amqp_exchange_declare(b->conn, b->channel, amqp_cstring_bytes("amq.direct"),
                          amqp_cstring_bytes("direct"), 1, 0, 0, 0,
                          amqp_empty_table);
    return cel__broker_check(b, amqp_get_rpc_reply(b->conn), "sync", err);
}

bool
cel__broker_note_blocked(cel_broker_t *b, const amqp_method_t *m)
{
    if (m->id == AMQP_CONNECTION_BLOCKED_METHOD) {
        const amqp_connection_blocked_t *x = m->decoded;
        b->blocked = true;
        cel__copy_bytes(b->blocked_why, sizeof(b->blocked_why), &x->reason);
        return true;
    }
    if (m->id == AMQP_CONNECTION_UNBLOCKED_METHOD) {
        b->blocked = false;
        return true;
    }
    return false;
}

bool
cel_broker_blocked(const cel_broker_t *b, char *why, size_t size)
{
    if (b == NULL || !b->blocked) {
        return false;
    }
    if (why != NULL && size > 0) {
        snprintf(why, size, "%s", b->blocked_why[0] ? b->blocked_why : "?");
    }
    return true;
}

int
cel_broker_drain(cel_broker_t *b, cel_error_t *err)
{
    if (b->closed) {
        return cel_error_set(err, CEL_ECLOSED, "the connection is closed");
    }
    int r = read_confirms(b, 0, err);
    return r == CEL_ETIMEDOUT ? 0 : r;
}

int
cel_broker_confirm_select(cel_broker_t *b, cel_error_t *err)
{
    if (b->confirming) {
        return 0;
    }
    if (b->closed) {
        return cel_error_set(err, CEL_ECLOSED,
                             "confirm.select: connection closed");
    }
    cel_broker_cork(b, false); /* an answer is awaited */
    amqp_confirm_select(b->conn, b->channel);
    int r = cel__broker_check(b, amqp_get_rpc_reply(b->conn), "confirm.select",
                              err);
    if (r == 0) {
        b->confirming = true;
        b->published = b->confirmed = 0;
    }
    return r;
}

int
cel_broker_wait_confirms(cel_broker_t *b, int timeout_ms, cel_error_t *err)
{
    cel_broker_cork(b, false); /* the publishes must leave to be confirmed */
    int64_t deadline = cel_clock_now_ms() + timeout_ms;
    int r = 0;

    while (r == 0 && b->confirmed < b->published && b->refused == 0) {
        int64_t left = deadline - cel_clock_now_ms();
        if (b->blocked) { /* no confirm comes until the alarm clears */
            return cel_error_set(
                err, CEL_EBLOCKED,
                "%llu message(s) not confirmed: the broker "
                "is blocking publishing (%s)",
                (unsigned long long)(b->published - b->confirmed),
                b->blocked_why);
        }
        r = left > 0 ? read_confirms(b, (int)left, err)
                     : cel_error_set(
                           err, CEL_ETIMEDOUT,
                           "the broker did not confirm %llu "
                           "message(s) within %d ms",
                           (unsigned long long)(b->published - b->confirmed),
                           timeout_ms);
    }
    if (r == 0 && b->refused > 0) {
        r = cel_error_set(err, CEL_EBROKER,
                          "the broker refused %llu message(s) (basic.nack)",
                          (unsigned long long)b->refused);
        b->refused = 0;
    }
    return r;
}

static void
fill_delivery(amqp_envelope_t *e, cel_delivery_t *d)
{
    cel__copy_bytes(d->exchange, sizeof(d->exchange), &e->exchange);
    cel__copy_bytes(d->routing_key, sizeof(d->routing_key), &e->routing_key);
    d->delivery_tag = e->delivery_tag;
    d->redelivered = e->redelivered;
    /* Take the body over instead of copying it: rabbitmq-c malloc'd it. */
    d->env.body_owned = e->message.body.bytes;
    d->env.body_len = e->message.body.len;
    d->env.body = d->env.body_owned ? d->env.body_owned : "";
    e->message.body = amqp_empty_bytes;
}

/* A message of ours, published with mandatory, that no queue took: the
 * broker sends it back whole (basic.return, then its header and body).
 * d gets it as it would a delivery, its body taken over. Headers that
 * cannot be read are left out: what we published can be read back. */
static int
returned(cel_broker_t *b, const amqp_frame_t *f, cel_delivery_t *d,
         cel_error_t *err)
{
    const amqp_basic_return_t *m = f->payload.method.decoded;
    amqp_message_t msg;

    /* Copied first: reading the content may reuse the frame's memory. */
    d->returned = true;
    d->reply_code = m->reply_code;
    cel__copy_bytes(d->reply_text, sizeof(d->reply_text), &m->reply_text);
    cel__copy_bytes(d->exchange, sizeof(d->exchange), &m->exchange);
    cel__copy_bytes(d->routing_key, sizeof(d->routing_key), &m->routing_key);
    amqp_rpc_reply_t r = amqp_read_message(b->conn, f->channel, &msg, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        return cel__broker_check(b, r, "basic.return", err);
    }
    d->env.body_owned = msg.body.bytes;
    d->env.body_len = msg.body.len;
    d->env.body = d->env.body_owned ? d->env.body_owned : "";
    msg.body = amqp_empty_bytes;
    (void)cel__envelope_from_props(&msg.properties, &d->env, NULL);
    amqp_destroy_message(&msg);
    return CEL_BROKER_RETURNED;
}

/* The broker stopped a consumer (its queue was deleted, or its node went
 * down): no more deliveries come for it, and no answer is due. */
static int
cancelled(const amqp_method_t *m, cel_delivery_t *d, cel_error_t *err)
{
    const amqp_basic_cancel_t *c = m->decoded;
    char tag[CEL_SHORTSTR_SIZE];

    cel__copy_bytes(tag, sizeof(tag), &c->consumer_tag);
    d->cancelled = true;
    return cel_error_set(err, CEL_EBROKER,
                         "basic.cancel: the broker cancelled consumer %.80s "
                         "(its queue was deleted?)",
                         tag);
}

/* Handles a frame that arrived where a delivery was expected. Returns 0
 * when the caller may just wait again, CEL_BROKER_RETURNED, or an
 * error. */
static int
other_frame(cel_broker_t *b, cel_delivery_t *d, cel_error_t *err)
{
    amqp_frame_t f;
    amqp_rpc_reply_t r = {0};

    int status = amqp_simple_wait_frame(b->conn, &f);
    if (status != AMQP_STATUS_OK) {
        return cel__broker_status(b, status, "receive", err);
    }
    if (f.frame_type != AMQP_FRAME_METHOD) {
        return 0;
    }
    if (cel__broker_note_blocked(b, &f.payload.method)) {
        return 0;
    }
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD:
    case AMQP_BASIC_NACK_METHOD: return 0;
    case AMQP_BASIC_RETURN_METHOD: return returned(b, &f, d, err);
    case AMQP_BASIC_CANCEL_METHOD: return cancelled(&f.payload.method, d, err);
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
        r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
        r.reply = f.payload.method;
        return cel__broker_check(b, r, "receive", err);
    }
    return 0;
}

int
cel_broker_next(cel_broker_t *b, int timeout_ms, cel_delivery_t *d,
                cel_error_t *err)
{
    amqp_envelope_t e;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000L};

    memset(d, 0, sizeof(*d));
    cel_envelope_init(&d->env);
    for (;;) {
        if (b->closed) {
            return cel_error_set(err, CEL_ECLOSED,
                                 "receive: the broker "
                                 "connection is closed");
        }
        amqp_maybe_release_buffers(b->conn);
        amqp_rpc_reply_t r =
            amqp_consume_message(b->conn, &e, timeout_ms < 0 ? NULL : &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            fill_delivery(&e, d);
            int rc =
                cel__envelope_from_props(&e.message.properties, &d->env, err);
            amqp_destroy_envelope(&e);
            return rc;
        }
        if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION ||
            r.library_error != AMQP_STATUS_UNEXPECTED_STATE) {
            return cel__broker_check(b, r, "receive", err);
        }
        int rc = other_frame(b, d, err);
        if (rc != 0) {
            return rc;
        }
        if (timeout_ms >= 0) {
            return cel_error_set(err, CEL_ETIMEDOUT, "receive: timed out");
        }
    }
}

bool
cel_broker_caught_up(const cel_broker_t *b)
{
    struct pollfd p = {.fd = cel_broker_fd(b), .events = POLLIN};

    if (p.fd < 0 || cel_broker_pending(b)) {
        return false;
    }
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR) {
    }
    return n == 0;
}

void
cel_delivery_clear(cel_delivery_t *d)
{
    cel_envelope_clear(&d->env);
}

int
cel_broker_ack(cel_broker_t *b, uint64_t delivery_tag, bool multiple,
               cel_error_t *err)
{
    if (b->closed) {
        return cel_error_set(err, CEL_ECLOSED, "basic.ack: connection closed");
    }
    int status = amqp_basic_ack(b->conn, b->channel, delivery_tag, multiple);
    return cel__broker_status(b, status, "basic.ack", err);
}

int
cel_broker_reject(cel_broker_t *b, uint64_t delivery_tag, bool requeue,
                  cel_error_t *err)
{
    if (b->closed) {
        return cel_error_set(err, CEL_ECLOSED,
                             "basic.reject: connection closed");
    }
    int status = amqp_basic_reject(b->conn, b->channel, delivery_tag, requeue);
    return cel__broker_status(b, status, "basic.reject", err);
}
