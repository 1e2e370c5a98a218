/* producer_internal.h: the client, its results, and the table that maps
 * task ids to the results still waiting for a reply. */
#ifndef CEL_PRODUCER_INTERNAL_H
#define CEL_PRODUCER_INTERNAL_H

#include <cel/broker.h>
#include <cel/id.h>
#include <cel/producer.h>

struct cel_result {
    cel_client_t *client; /* NULL once ready, or after the client closed */
    char id[CEL_ID_SIZE];
    cel_state_t state;
    json_t *value;     /* the result, or the exception object */
    char *exc_message; /* malloc'd, for FAILURE and REVOKED */
    char *traceback;   /* malloc'd or NULL */
};

/* Open addressing with linear probing over result pointers, keyed by id. */
typedef struct {
    cel_result_t **slots;
    size_t cap; /* a power of two */
    size_t count;
} cel_pending_t;

int cel__pending_init(cel_pending_t *p);
void cel__pending_clear(cel_pending_t *p);
int cel__pending_add(cel_pending_t *p, cel_result_t *r);
cel_result_t *cel__pending_find(const cel_pending_t *p, const char *id);
void cel__pending_remove(cel_pending_t *p, const cel_result_t *r);

#define CEL_MAX_DECLARED 16

struct cel_client {
    cel_broker_t *broker;
    char reply_queue[CEL_ID_SIZE];
    char default_queue[CEL_SHORTSTR_SIZE];
    char *declared[CEL_MAX_DECLARED]; /* task queues declared already */
    int ndeclared;
    cel_pending_t pending;
    unsigned sends; /* for draining replies every so often while sending */
    cel_error_t last;
};

/* cel__client_drain reads replies for up to timeout_ms (0: only what has
 * arrived) and settles their results. Returns 0, CEL_ETIMEDOUT when
 * nothing came, or a broker error. */
int cel__client_drain(cel_client_t *c, int timeout_ms, cel_error_t *err);

/* cel__result_settle stores a reply in r. */
void cel__result_settle(cel_result_t *r, const cel_result_msg_t *m);

#endif
