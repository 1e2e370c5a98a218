/* declare.c: the synchronous methods: exchanges, queues, bindings, QoS and
 * consumers. Each returns the broker's reply text on failure, which is what
 * a user needs to see for a PRECONDITION_FAILED or NOT_FOUND. */
#include "broker_internal.h"

#include <stdio.h>
#include <string.h>

int
cel__broker_usable(cel_broker_t *b, cel_error_t *err)
{
    if (b->closed) {
        return cel_error_set(err, CEL_ECLOSED,
                             "the broker connection is "
                             "closed");
    }
    /* Every call here waits for an answer: a corked request would sit in
     * the kernel until the cork's timeout before the broker saw it. */
    cel_broker_cork(b, false);
    return 0;
}

static int
reply(cel_broker_t *b, const char *what, cel_error_t *err)
{
    return cel__broker_check(b, amqp_get_rpc_reply(b->conn), what, err);
}

int
cel_broker_declare_exchange(cel_broker_t *b, const char *name, const char *type,
                            bool durable, bool auto_delete, cel_error_t *err)
{
    int r = cel__broker_usable(b, err);
    if (r != 0) {
        return r;
    }
    amqp_exchange_declare(b->conn, b->channel, amqp_cstring_bytes(name),
                          amqp_cstring_bytes(type), 0, durable, auto_delete, 0,
                          amqp_empty_table);
    return reply(b, "exchange.declare", err);
}

static void
add_str(amqp_table_entry_t *e, int *n, const char *key, const char *value)
{
    e[*n].key = amqp_cstring_bytes(key);
    e[*n].value.kind = AMQP_FIELD_KIND_UTF8;
    e[*n].value.value.bytes = amqp_cstring_bytes(value);
    (*n)++;
}

static void
add_arg(amqp_table_entry_t *e, int *n, const char *key, int64_t value)
{
    e[*n].key = amqp_cstring_bytes(key);
    /* 'I' (int32) as kombu sends them; older brokers compare types. */
    e[*n].value.kind = AMQP_FIELD_KIND_I32;
    e[*n].value.value.i32 = (int32_t)value;
    (*n)++;
}

int
cel_broker_declare_queue(cel_broker_t *b, const char *name,
                         const cel_queue_opts_t *o, cel_error_t *err)
{
    amqp_table_entry_t entries[7];
    int n = 0;
    int r = cel__broker_usable(b, err);

    if (r != 0) {
        return r;
    }
    if (o->expires_ms > 0) {
        add_arg(entries, &n, "x-expires", o->expires_ms);
    }
    if (o->message_ttl_ms > 0) {
        add_arg(entries, &n, "x-message-ttl", o->message_ttl_ms);
    }
    if (o->max_priority > 0) {
        add_arg(entries, &n, "x-max-priority", o->max_priority);
    }
    if (o->dead_letter_exchange != NULL) {
        add_str(entries, &n, "x-dead-letter-exchange", o->dead_letter_exchange);
    }
    if (o->dead_letter_routing_key != NULL) {
        add_str(entries, &n, "x-dead-letter-routing-key",
                o->dead_letter_routing_key);
    }
    if (o->queue_type != NULL) {
        add_str(entries, &n, "x-queue-type", o->queue_type);
    }
    if (o->delivery_limit > 0) {
        add_arg(entries, &n, "x-delivery-limit", o->delivery_limit);
    }
    amqp_table_t args = {n, n ? entries : NULL};
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(
        b->conn, b->channel, amqp_cstring_bytes(name), o->passive, o->durable,
        o->exclusive, o->auto_delete, args);
    b->last_consumers = ok != NULL ? (int64_t)ok->consumer_count : -1;
    return reply(b, "queue.declare", err);
}

int64_t
cel_broker_last_consumers(const cel_broker_t *b)
{
    return b->last_consumers;
}

int
cel_broker_bind(cel_broker_t *b, const char *queue, const char *exchange,
                const char *routing_key, cel_error_t *err)
{
    int r = cel__broker_usable(b, err);
    if (r != 0) {
        return r;
    }
    amqp_queue_bind(b->conn, b->channel, amqp_cstring_bytes(queue),
                    amqp_cstring_bytes(exchange),
                    amqp_cstring_bytes(routing_key), amqp_empty_table);
    return reply(b, "queue.bind", err);
}

int
cel_broker_delete_queue(cel_broker_t *b, const char *name, cel_error_t *err)
{
    int r = cel__broker_usable(b, err);
    if (r != 0) {
        return r;
    }
    amqp_queue_delete(b->conn, b->channel, amqp_cstring_bytes(name), 0, 0);
    return reply(b, "queue.delete", err);
}

int
cel_broker_declare_task_queue(cel_broker_t *b, const char *name,
                              cel_error_t *err)
{
    cel_queue_opts_t opts = CEL_TASK_QUEUE_OPTS;
    static const cel_queue_opts_t exists = {.passive = true};
    cel_error_t e = CEL_ERROR_INIT;

    opts.queue_type = b->task_queue_type[0] ? b->task_queue_type : NULL;
    opts.delivery_limit = b->task_delivery_limit;
    int r = cel_broker_declare_exchange(b, name, "direct", true, false, &e);
    if (r == 0) {
        r = cel_broker_declare_queue(b, name, &opts, &e);
        if (r != 0 && strstr(e.text, "PRECONDITION_FAILED") != NULL) {
            r = cel_broker_declare_queue(b, name, &exists, &e);
        }
    }
    if (r == 0) {
        r = cel_broker_bind(b, name, name, name, &e);
    }
    if (r != 0 && err != NULL) {
        *err = e;
    }
    return r;
}

int
cel_broker_qos(cel_broker_t *b, int prefetch_count, bool global,
               cel_error_t *err)
{
    int r = cel__broker_usable(b, err);
    if (r != 0) {
        return r;
    }
    if (prefetch_count < 0 || prefetch_count > 65535) {
        prefetch_count = 0; /* kombu: counts past 16 bits mean unlimited */
    }
    amqp_basic_qos(b->conn, b->channel, 0, (uint16_t)prefetch_count, global);
    return reply(b, "basic.qos", err);
}

int
cel_broker_consume(cel_broker_t *b, const char *queue, bool no_ack, char *tag,
                   size_t size, cel_error_t *err)
{
    int r = cel__broker_usable(b, err);
    if (r != 0) {
        return r;
    }
    amqp_basic_consume_ok_t *ok =
        amqp_basic_consume(b->conn, b->channel, amqp_cstring_bytes(queue),
                           amqp_empty_bytes, 0, no_ack, 0, amqp_empty_table);
    r = reply(b, "basic.consume", err);
    if (r == 0 && tag != NULL && size > 0) {
        snprintf(tag, size, "%.*s", (int)ok->consumer_tag.len,
                 (const char *)ok->consumer_tag.bytes);
    }
    return r;
}

int
cel_broker_cancel(cel_broker_t *b, const char *tag, cel_error_t *err)
{
    int r = cel__broker_usable(b, err);
    if (r != 0) {
        return r;
    }
    amqp_basic_cancel(b->conn, b->channel, amqp_cstring_bytes(tag));
    return reply(b, "basic.cancel", err);
}
