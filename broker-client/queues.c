/* queues.c: looking at a queue and emptying it, for operators: a passive
 * queue.declare (how many messages are ready, how many consumers) and
 * queue.purge. Neither ever creates the queue.
 *
 * A queue that does not exist makes the broker close the channel the
 * method went on (404 NOT_FOUND). So both run on a side channel of their
 * own, opened for the one method and closed after it: the main channel
 * keeps its consumers, QoS and confirm mode whatever the answer, and the
 * connection stays usable. */
#include "broker_internal.h"

#include <stdio.h>
#include <string.h>

/* The side channel's number: the one after the main channel's, so never
 * the main channel's own (reopen_channel counts them the same way). */
static amqp_channel_t
side_channel(const cel_broker_t *b)
{
    return (amqp_channel_t)(b->channel % 2000 + 1);
}

/* The answer to a method on the side channel ch: 0; CEL_ENOTFOUND when
 * the broker has no queue named queue; CEL_EBROKER with the broker's
 * words for another channel error. The broker closed ch then, and the
 * close is answered here. Anything else, connection-level, is
 * cel__broker_check's. */
static int
side_reply(cel_broker_t *b, amqp_channel_t ch, const char *what,
           const char *queue, cel_error_t *err)
{
    amqp_rpc_reply_t rep = amqp_get_rpc_reply(b->conn);

    if (rep.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION ||
        rep.reply.id != AMQP_CHANNEL_CLOSE_METHOD) {
        return cel__broker_check(b, rep, what, err);
    }
    const amqp_channel_close_t *m = rep.reply.decoded;
    amqp_channel_close_ok_t ok = {0};
    int code = m->reply_code;
    char text[128];

    cel__copy_bytes(text, sizeof(text), &m->reply_text);
    amqp_send_method(b->conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    amqp_maybe_release_buffers_on_channel(b->conn, ch);
    if (code == AMQP_NOT_FOUND) {
        return cel_error_set(err, CEL_ENOTFOUND, "no queue named %s", queue);
    }
    return cel_error_set(err, CEL_EBROKER, "%s: %s", what, text);
}

static int
side_open(cel_broker_t *b, const char *queue, cel_error_t *err)
{
    int r = cel__broker_usable(b, err);
    if (r != 0) {
        return r;
    }
    if (queue == NULL || queue[0] == '\0' ||
        strlen(queue) >= CEL_SHORTSTR_SIZE) {
        /* "" would name the channel's last declared queue */
        return cel_error_set(err, CEL_EINVAL, "a queue name is 1 to 255 bytes");
    }
    amqp_channel_open(b->conn, side_channel(b));
    return side_reply(b, side_channel(b), "channel.open", queue, err);
}

/* Closes the side channel after a method that succeeded. */
static int
side_close(cel_broker_t *b, cel_error_t *err)
{
    amqp_channel_t ch = side_channel(b);

    amqp_rpc_reply_t rep = amqp_channel_close(b->conn, ch, AMQP_REPLY_SUCCESS);
    int r = cel__broker_check(b, rep, "channel.close", err);
    amqp_maybe_release_buffers_on_channel(b->conn, ch);
    return r;
}

int
cel_broker_queue_inspect(cel_broker_t *b, const char *queue, int64_t *messages,
                         int64_t *consumers, cel_error_t *err)
{
    int r = side_open(b, queue, err);
    if (r != 0) {
        return r;
    }
    amqp_channel_t ch = side_channel(b);
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(
        b->conn, ch, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    r = side_reply(b, ch, "queue.declare", queue, err);
    if (r != 0) {
        return r;
    }
    int64_t n = ok->message_count, k = ok->consumer_count;
    r = side_close(b, err);
    if (r == 0) {
        *messages = n;
        *consumers = k;
    }
    return r;
}

int
cel_broker_queue_purge(cel_broker_t *b, const char *queue, int64_t *purged,
                       cel_error_t *err)
{
    int r = side_open(b, queue, err);
    if (r != 0) {
        return r;
    }
    amqp_channel_t ch = side_channel(b);
    amqp_queue_purge_ok_t *ok =
        amqp_queue_purge(b->conn, ch, amqp_cstring_bytes(queue));
    r = side_reply(b, ch, "queue.purge", queue, err);
    if (r != 0) {
        return r;
    }
    int64_t n = ok->message_count;
    r = side_close(b, err);
    /* The messages are gone even when the close fails: say how many. */
    *purged = n;
    return r;
}
