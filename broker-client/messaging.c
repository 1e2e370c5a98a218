/* messaging.c: publish, receive, ack and reject. Receiving reads one frame
 * sequence at a time with a timeout, so callers can check their own flags
 * (shutdown, deadlines) between calls; frames that are not deliveries
 * (returns, confirms, closes, cancels) are handled here. */
#include "broker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

int
cel_broker_publish(cel_broker_t *b, const char *exchange,
                   const char *routing_key, const cel_envelope_t *env,
                   cel_error_t *err)
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
            amqp_cstring_bytes(routing_key), 0, 0, &props, body);
        r = cel__broker_status(b, status, "basic.publish", err);
    }
    recycle_amqp_pool(&b->pool);
    return r;
}

static void
fill_delivery(amqp_envelope_t *e, cel_delivery_t *d)
{
    snprintf(d->exchange, sizeof(d->exchange), "%.*s", (int)e->exchange.len,
             (const char *)e->exchange.bytes);
    snprintf(d->routing_key, sizeof(d->routing_key), "%.*s",
             (int)e->routing_key.len, (const char *)e->routing_key.bytes);
    d->delivery_tag = e->delivery_tag;
    d->redelivered = e->redelivered;
    /* Take the body over instead of copying it: rabbitmq-c malloc'd it. */
    d->env.body_owned = e->message.body.bytes;
    d->env.body_len = e->message.body.len;
    d->env.body = d->env.body_owned ? d->env.body_owned : "";
    e->message.body = amqp_empty_bytes;
}

static int
skip_returned(cel_broker_t *b, amqp_channel_t ch)
{
    amqp_message_t msg;
    amqp_rpc_reply_t r = amqp_read_message(b->conn, ch, &msg, 0);

    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        amqp_destroy_message(&msg);
    }
    return 0;
}

/* Handles a frame that arrived where a delivery was expected. Returns 0
 * when the caller may just wait again, or an error. */
static int
other_frame(cel_broker_t *b, cel_error_t *err)
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
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD:
    case AMQP_BASIC_NACK_METHOD: return 0;
    case AMQP_BASIC_RETURN_METHOD: return skip_returned(b, f.channel);
    case AMQP_BASIC_CANCEL_METHOD:
        return cel_error_set(err, CEL_EBROKER,
                             "the broker cancelled the consumer (queue "
                             "deleted?)");
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
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

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
        int rc = other_frame(b, err);
        if (rc != 0) {
            return rc;
        }
        if (timeout_ms >= 0) {
            return cel_error_set(err, CEL_ETIMEDOUT, "receive: timed out");
        }
    }
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
