/* broker.h: celeriac's one door to RabbitMQ. Everything that speaks AMQP
 * lives behind this header; no AMQP type crosses it.
 *
 * A cel_broker_t is one connection with one channel. It is not thread-safe:
 * use it from one thread at a time, and never across fork(). Errors come
 * back as CEL_E* codes with the broker's own reply text in err, e.g.
 * "queue.declare: PRECONDITION_FAILED - inequivalent arg 'durable' ...".
 * After a channel-level error the channel is reopened, so the connection
 * stays usable, but consumers and QoS set before it are gone. */
#ifndef CEL_BROKER_CLIENT_BROKER_H
#define CEL_BROKER_CLIENT_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include <cel/error.h>
#include <cel/message.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cel_broker cel_broker_t;

typedef struct {
    int heartbeat_s;        /* AMQP heartbeat; 0 disables it */
    int connect_timeout_ms; /* the whole open: TCP connect, AMQP handshake,
                               login and channel.open */
    int rpc_timeout_ms;     /* any synchronous method (declare, qos, ...) */
    const char *name;       /* connection_name shown by rabbitmqctl; NULL ok */
    int first_node;         /* of a failover list, the entry tried first
                               (counted modulo its length) */
    const char *queue_type; /* task queues declared as "quorum", or NULL:
                               classic, no arguments (kombu's way) */
    int delivery_limit;     /* x-delivery-limit of quorum task queues; 0:
                               the broker's default */
} cel_broker_opts_t;

/* Heartbeats are off unless asked for: rabbitmq-c sends them only inside
 * its own calls, so a program that goes long without one would have its
 * connection closed under it (workerd's children ask, and keep them while
 * a task runs; see cel_broker_beat). */
#define CEL_BROKER_OPTS_INIT                                                   \
    {                                                                          \
        0, 5000, 15000, NULL, 0, NULL, 0                                       \
    }

/* cel_broker_open connects to url (amqp://user:pass@host:port/vhost),
 * logs in and opens a channel, all within opts->connect_timeout_ms. url
 * may be a failover list (URLs separated by ';', as in Celery): each node
 * is tried in turn, from opts->first_node, each within the timeout, and
 * the first that opens is kept (cel_broker_node says which). On
 * success *out owns the connection; free it with cel_broker_close.
 * Returns CEL_EURL, CEL_ECONN, CEL_EAUTH (the login was refused: wrong
 * user, password or vhost) or CEL_EBROKER. err tells a refused login
 * ("login refused ... (wrong user, password or vhost?)") from a server
 * that is not an AMQP broker: one that does not answer the handshake in
 * time, hangs up, or answers in another protocol. The broker is asked to
 * cancel consumers whose queue is deleted (consumer_cancel_notify); see
 * cel_delivery_t.cancelled. */
CEL_NODISCARD int cel_broker_open(const char *url,
                                  const cel_broker_opts_t *opts,
                                  cel_broker_t **out, cel_error_t *err);

/* cel_broker_node is b's place in its failover list (0 for a lone URL),
 * with its URL, password hidden, in redacted (size bytes; NULL: not
 * wanted). cel_broker_nodes is the list's length. */
int cel_broker_node(const cel_broker_t *b, char *redacted, size_t size);
int cel_broker_nodes(const cel_broker_t *b);

/* cel_broker_reopened counts the channels the broker closed on b (a
 * channel error: a refused declare, a publish to a missing exchange) and
 * b opened again in their place. The consumers started on a closed
 * channel are gone: a caller that sees the count move starts its own
 * again. */
unsigned cel_broker_reopened(const cel_broker_t *b);

/* cel_broker_close closes the channel and the connection politely and frees
 * b. Unacked deliveries go back to their queues. NULL is a no-op. */
void cel_broker_close(cel_broker_t *b);

/* cel_broker_abandon frees b without talking to the broker, for a process
 * that inherited a connection it must not use (e.g. after fork). */
void cel_broker_abandon(cel_broker_t *b);

typedef struct {
    bool passive;
    bool durable;
    bool exclusive;
    bool auto_delete;
    int64_t expires_ms;                  /* x-expires, 0 for none */
    int64_t message_ttl_ms;              /* x-message-ttl, 0 for none */
    int max_priority;                    /* x-max-priority, 0 for none */
    const char *dead_letter_exchange;    /* x-dead-letter-exchange or NULL */
    const char *dead_letter_routing_key; /* x-dead-letter-routing-key */
    const char *queue_type;              /* x-queue-type or NULL */
    int delivery_limit;                  /* x-delivery-limit, 0 for none */
} cel_queue_opts_t;

/* The flags kombu gives a Celery task queue: durable, no arguments. */
#define CEL_TASK_QUEUE_OPTS                                                    \
    {                                                                          \
        false, true, false, false, 0, 0, 0, NULL, NULL, NULL, 0                \
    }

/* Declarations, each one synchronous method: 0, CEL_EBROKER with the
 * broker's words when it refuses (e.g. PRECONDITION_FAILED for a queue that
 * exists with other arguments; the channel is opened again, so b stays
 * usable), or a connection error. The strings are borrowed for the call.
 * cel_broker_declare_exchange: an exchange of type ("direct", "topic",
 * "fanout", "headers"). cel_broker_declare_queue: a queue as opts (not
 * NULL) says; cel_broker_last_consumers then gives its consumer count.
 * cel_broker_bind: queue to exchange under routing_key.
 * cel_broker_delete_queue: queue and what it holds, whatever its
 * consumers. */
CEL_NODISCARD int cel_broker_declare_exchange(cel_broker_t *b, const char *name,
                                              const char *type, bool durable,
                                              bool auto_delete,
                                              cel_error_t *err);
CEL_NODISCARD int cel_broker_declare_queue(cel_broker_t *b, const char *name,
                                           const cel_queue_opts_t *opts,
                                           cel_error_t *err);
CEL_NODISCARD int cel_broker_bind(cel_broker_t *b, const char *queue,
                                  const char *exchange, const char *routing_key,
                                  cel_error_t *err);
CEL_NODISCARD int cel_broker_delete_queue(cel_broker_t *b, const char *name,
                                          cel_error_t *err);

/* cel_broker_last_consumers is how many consumers the broker said the last
 * queue declared on b had (its queue.declare-ok), or -1 when none came. */
int64_t cel_broker_last_consumers(const cel_broker_t *b);

/* cel_broker_declare_task_queue declares a Celery task queue exactly as
 * kombu does for Queue(name, Exchange(name, 'direct'), routing_key=name):
 * the durable direct exchange, the durable queue with no arguments (or,
 * when b was opened with opts.queue_type "quorum", x-queue-type quorum and
 * the delivery limit asked for), and the binding. Celery's default queue
 * "celery" is the case name = "celery". A
 * queue that exists already with other arguments (a dead-letter exchange,
 * a TTL, a queue type set by its owner) is used as it is, where kombu
 * would fail with PRECONDITION_FAILED. */
CEL_NODISCARD int cel_broker_declare_task_queue(cel_broker_t *b,
                                                const char *name,
                                                cel_error_t *err);

/* cel_broker_qos sets basic.qos prefetch_count (0: unlimited). */
CEL_NODISCARD int cel_broker_qos(cel_broker_t *b, int prefetch_count,
                                 bool global, cel_error_t *err);

/* cel_broker_consume starts a consumer on queue. With no_ack the broker
 * forgets each message once sent. The consumer tag is written to tag (size
 * bytes) if tag is not NULL. */
CEL_NODISCARD int cel_broker_consume(cel_broker_t *b, const char *queue,
                                     bool no_ack, char *tag, size_t size,
                                     cel_error_t *err);
/* cel_broker_cancel stops the consumer tag (from cel_broker_consume);
 * deliveries already sent to it still arrive through cel_broker_next. */
CEL_NODISCARD int cel_broker_cancel(cel_broker_t *b, const char *tag,
                                    cel_error_t *err);

/* cel_broker_publish sends env to exchange with routing_key. Publishing is
 * asynchronous: success means the frames were written, not that the broker
 * took them; for that, use confirm mode and cel_broker_wait_confirms. A
 * message that no queue takes is dropped by the broker. */
CEL_NODISCARD int cel_broker_publish(cel_broker_t *b, const char *exchange,
                                     const char *routing_key,
                                     const cel_envelope_t *env,
                                     cel_error_t *err);

/* cel_broker_publish_mandatory is cel_broker_publish with AMQP's mandatory
 * flag: a message that no queue takes (its routing key names no queue,
 * e.g. a reply queue that was deleted) comes back whole on this channel,
 * and a later cel_broker_next returns it (CEL_BROKER_RETURNED) instead of
 * the broker dropping it. A message that is routed costs the same. */
CEL_NODISCARD int cel_broker_publish_mandatory(cel_broker_t *b,
                                               const char *exchange,
                                               const char *routing_key,
                                               const cel_envelope_t *env,
                                               cel_error_t *err);

/* cel_broker_confirm_select puts the channel in publisher-confirm mode
 * (once; later calls do nothing). From then on the broker confirms every
 * publish; cel_broker_wait_confirms waits until all publishes so far are
 * confirmed: 0, CEL_EBROKER when the broker refused one (basic.nack), or
 * CEL_ETIMEDOUT. A channel that only publishes must be in this mode for
 * publishes to be confirmed; the confirms of publishes nobody waits for
 * are read and counted along the way. */
CEL_NODISCARD int cel_broker_confirm_select(cel_broker_t *b, cel_error_t *err);
CEL_NODISCARD int cel_broker_wait_confirms(cel_broker_t *b, int timeout_ms,
                                           cel_error_t *err);

/* cel_broker_drain reads, without waiting, what the broker sent on a
 * connection that only publishes (confirms, or a close that would
 * otherwise go unnoticed until a later publish vanished). Returns 0, or
 * CEL_ECLOSED / CEL_EBROKER when the broker closed it. */
CEL_NODISCARD int cel_broker_drain(cel_broker_t *b, cel_error_t *err);

/* cel_broker_heartbeat_s is the heartbeat interval the broker and b
 * agreed on (seconds; 0: none). */
int cel_broker_heartbeat_s(const cel_broker_t *b);

/* cel_broker_beat sends one heartbeat frame, for a thread that keeps the
 * connection alive while its owner is busy elsewhere (the caller makes
 * sure nothing else uses b meanwhile). A no-op without heartbeats.
 * Returns 0 or a connection error. */
CEL_NODISCARD int cel_broker_beat(cel_broker_t *b, cel_error_t *err);

/* cel_broker_blocked: has the broker said it blocks what this connection
 * publishes (connection.blocked: a memory or disk alarm), and not yet that
 * it stopped? As of the frames read so far (cel_broker_drain reads them on
 * a connection that only publishes). With why (size bytes), the broker's
 * reason, e.g. "low on memory". A blocked connection is closed without the
 * close handshake, which the broker would not read. */
bool cel_broker_blocked(const cel_broker_t *b, char *why, size_t size);

/* cel_broker_sync waits until the broker has handled everything sent on
 * the channel so far (a passive declare of amq.direct, which every AMQP
 * broker has). The broker returns an unroutable mandatory message as it
 * handles its publish, so after a sync the return of every earlier
 * publish, if any, is read: it comes out of cel_broker_next before
 * anything read later, and once cel_broker_pending is false it has come
 * out. Returns 0, or the error that closed the channel or connection. */
CEL_NODISCARD int cel_broker_sync(cel_broker_t *b, cel_error_t *err);

/* One message received from a consumer. env owns its headers and body.
 * cancelled is set, with CEL_EBROKER and no message, when the broker
 * cancelled a consumer of the channel (basic.cancel: its queue was
 * deleted); the connection and the channel still work, so declaring the
 * queue and consuming again is enough. returned is set, with
 * CEL_BROKER_RETURNED, for a message of ours published with mandatory
 * that no queue took (basic.return): env is that message (owned, as for
 * a delivery), exchange and routing_key are where it was published,
 * reply_code and reply_text say why (312 NO_ROUTE), and delivery_tag is 0
 * (there is nothing to ack). */
typedef struct {
    cel_envelope_t env;
    uint64_t delivery_tag;
    bool redelivered;
    bool cancelled;
    bool returned;
    int reply_code;
    char reply_text[64]; /* cut */
    char exchange[CEL_SHORTSTR_SIZE];
    char routing_key[CEL_SHORTSTR_SIZE];
} cel_delivery_t;

/* cel_broker_next's answer for a returned message: positive, so that a
 * caller that never publishes with mandatory (and never sees it) still
 * takes any non-zero answer for "no delivery". */
#define CEL_BROKER_RETURNED 1

/* cel_broker_next waits up to timeout_ms (0: just look, -1: forever) for a
 * delivery. Returns 0 with *d filled (release it with cel_delivery_clear),
 * CEL_BROKER_RETURNED with *d holding a returned message (d->returned;
 * release it the same way; its headers are left out if they cannot be
 * read), CEL_ETIMEDOUT when nothing came, CEL_ECLOSED when the broker
 * closed the connection, or CEL_EBROKER (d->cancelled when a consumer was
 * cancelled, "basic.cancel: the broker cancelled consumer TAG (its queue
 * was deleted?)"). CEL_EPROTO means a delivery came whose
 * headers cannot be read (strings that are not UTF-8, nesting too deep):
 * *d then has its tag, body and the other properties, but no headers, and
 * the connection is fine; the caller should reject the message. */
CEL_NODISCARD int cel_broker_next(cel_broker_t *b, int timeout_ms,
                                  cel_delivery_t *d, cel_error_t *err);
/* cel_delivery_clear frees what *d owns (its body and headers) and
 * zeroes it; a cleared or zeroed delivery may be cleared again. */
void cel_delivery_clear(cel_delivery_t *d);

/* cel_broker_ack settles delivery_tag (with multiple, every tag up to it)
 * as done; cel_broker_reject gives it back, to its queue with requeue,
 * else to the queue's dead-letter exchange or nowhere. Both are written
 * without waiting for an answer (a tag the channel does not know closes
 * it, which a later call reports). 0 or a connection error. */
CEL_NODISCARD int cel_broker_ack(cel_broker_t *b, uint64_t delivery_tag,
                                 bool multiple, cel_error_t *err);
CEL_NODISCARD int cel_broker_reject(cel_broker_t *b, uint64_t delivery_tag,
                                    bool requeue, cel_error_t *err);

/* cel_broker_cork holds back (on) or lets go (off) what is written, so a
 * burst of small publishes and acks leaves in full TCP segments: fewer
 * packets for the broker to read. Uncork before waiting for an answer. */
void cel_broker_cork(cel_broker_t *b, bool on);

/* cel_broker_fd returns the socket, for poll(); -1 when closed. */
int cel_broker_fd(const cel_broker_t *b);

/* cel_broker_socket_fd returns the connection's descriptor even after an
 * error, until cel_broker_close; -1 once rabbitmq-c has closed it itself
 * (a missed heartbeat, an RPC timeout). */
int cel_broker_socket_fd(const cel_broker_t *b);

/* cel_broker_pending is true when frames are already read and buffered, so
 * cel_broker_next(b, 0, ...) can return one without touching the socket. */
bool cel_broker_pending(const cel_broker_t *b);

/* cel_broker_caught_up is true when everything the broker sent until
 * about now has been handed out by cel_broker_next: nothing is buffered
 * and the socket holds nothing unread. It costs a system call (ioctl). */
bool cel_broker_caught_up(const cel_broker_t *b);

/* cel_broker_queue_inspect asks the broker about queue without creating
 * it (a passive queue.declare): 0 with the messages ready in it (not
 * those delivered and unacked) in *messages and its consumers in
 * *consumers; CEL_ENOTFOUND ("no queue named Q") when there is no such
 * queue; CEL_EINVAL for a name that is empty or over 255 bytes;
 * CEL_EBROKER with the broker's words (e.g. RESOURCE_LOCKED, another
 * connection's exclusive queue), or a connection error. The method goes
 * on a channel of its own, so whatever the answer, b's channel keeps its
 * consumers, QoS and confirm mode. */
CEL_NODISCARD int cel_broker_queue_inspect(cel_broker_t *b, const char *queue,
                                           int64_t *messages,
                                           int64_t *consumers,
                                           cel_error_t *err);

/* cel_broker_queue_purge deletes the messages ready in queue (queue.purge;
 * those delivered and unacked stay) and sets *purged to how many went.
 * Never creates the queue. Returns what cel_broker_queue_inspect does;
 * *purged is set also when only the closing of the side channel failed
 * (the messages went nonetheless). */
CEL_NODISCARD int cel_broker_queue_purge(cel_broker_t *b, const char *queue,
                                         int64_t *purged, cel_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
