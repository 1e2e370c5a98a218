/* broker_internal.h: the connection behind cel_broker_t, and the helpers
 * the broker-client files share. Only this folder includes <amqp.h>. */
#ifndef CEL_BROKER_CLIENT_INTERNAL_H
#define CEL_BROKER_CLIENT_INTERNAL_H

#include <cel/broker.h>

#include <limits.h>
#include <stdint.h>

#include <amqp.h>

#include <cel/url.h>

struct cel_broker {
    amqp_connection_state_t conn;
    amqp_channel_t channel;
    bool closed;        /* the connection is gone; every call fails */
    unsigned reopened;  /* channels the broker closed, opened again */
    amqp_pool_t pool;   /* scratch for header tables, recycled per call */
    bool corked;        /* TCP_CORK is on */
    bool confirming;    /* publisher confirms are on */
    uint64_t published; /* publishes since confirms went on */
    uint64_t confirmed; /* highest delivery tag the broker confirmed */
    uint64_t refused;   /* publishes the broker nacked, not yet reported */
    cel_url_t url;      /* the node connected to */
    int node, nodes;    /* its place in the failover list, and the
                           list's length */
    char task_queue_type[16]; /* "quorum", or "" (classic, no argument) */
    int task_delivery_limit;  /* x-delivery-limit of task queues, 0: none */
    int64_t last_consumers;   /* the last queue.declare-ok's consumer count;
                                 -1: none came */
    bool blocked;             /* connection.blocked came, unblocked not yet */
    char blocked_why[128];    /* its reason (a resource alarm) */
};

/* cel__tls_socket makes the TLS socket for u (tls.c): its CA (or the
 * system's trust store), client certificate, and peer and hostname
 * verification (on unless u turns them off). Returns 0 with *out, or
 * CEL_EURL / CEL_ENOMEM with the reason. */
int cel__tls_socket(amqp_connection_state_t conn, const cel_url_t *u,
                    amqp_socket_t **out, cel_error_t *err);

/* cel__tls_error says why a TLS connection to where (redacted) failed:
 * "certificate verify failed: ..." when verification did. */
int cel__tls_error(const cel_url_t *u, const char *where, int status,
                   cel_error_t *err);

/* cel__broker_note_blocked handles connection.blocked and .unblocked
 * (method m, on channel 0): true when m was one of them. */
bool cel__broker_note_blocked(cel_broker_t *b, const amqp_method_t *m);

/* cel__broker_check translates an RPC reply into 0 or a CEL_E* code, with
 * "what: reply text" in err. A channel close is acknowledged and the
 * channel reopened; a connection close marks b closed. */
int cel__broker_check(cel_broker_t *b, amqp_rpc_reply_t reply, const char *what,
                      cel_error_t *err);

/* cel__broker_usable, before a method that waits for its answer: 0, or
 * CEL_ECLOSED when b's connection is gone. Uncorks b, so the request
 * leaves at once. */
int cel__broker_usable(cel_broker_t *b, cel_error_t *err);

/* cel__broker_status translates a library status code (negative int). */
int cel__broker_status(cel_broker_t *b, int status, const char *what,
                       cel_error_t *err);

/* The limits of a header table, the same for reading and for writing, so
 * that headers celeriac has read can always be written back. A key is an
 * AMQP shortstr; a value sits inside at most CEL_TABLE_MAX_DEPTH tables or
 * arrays, the headers table itself included; a string is a longstr, whose
 * length is 32 bits; amqp_table_t and amqp_array_t count in an int. */
#define CEL_TABLE_MAX_KEY_BYTES    255
#define CEL_TABLE_MAX_DEPTH        32
#define CEL_TABLE_MAX_STRING_BYTES UINT32_MAX
#define CEL_TABLE_MAX_ENTRIES      INT_MAX

/* cel__table_from_json builds an AMQP table from a JSON object in pool.
 * Strings and keys point into obj, which must outlive the table's use.
 * Returns CEL_EINVAL for headers AMQP cannot carry (not an object, a key
 * over CEL_TABLE_MAX_KEY_BYTES, nesting over CEL_TABLE_MAX_DEPTH),
 * CEL_ETOOBIG for a string or a container over its limit, CEL_ENOMEM;
 * err names the header and the limit. */
int cel__table_from_json(const json_t *obj, amqp_pool_t *pool,
                         amqp_table_t *out, cel_error_t *err);

/* cel__table_to_json returns a new JSON object for table, or NULL with the
 * reason in err: CEL_EPROTO for what JSON or the limits above cannot hold
 * (a name or string that is not UTF-8, a NaN, too deep a nesting),
 * CEL_ENOMEM. Whatever it returns, cel__table_from_json accepts. */
json_t *cel__table_to_json(const amqp_table_t *table, cel_error_t *err);

/* cel__copy_bytes copies src into dst as a C string, cut to size - 1. */
void cel__copy_bytes(char *dst, size_t size, const amqp_bytes_t *src);

/* cel__props_from_envelope / cel__envelope_from_props convert the basic
 * properties Celery uses. */
int cel__props_from_envelope(const cel_envelope_t *env, amqp_pool_t *pool,
                             amqp_basic_properties_t *p, cel_error_t *err);
int cel__envelope_from_props(const amqp_basic_properties_t *p,
                             cel_envelope_t *env, cel_error_t *err);

#endif
