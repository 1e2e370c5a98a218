/* client.c: a client's lifecycle: its connection, its exclusive reply
 * queue (declared before any task is sent, as Celery's rpc backend does),
 * and the draining of replies into their results. */
#include "producer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RESULT_EXPIRES_MS 86400000 /* Celery's result_expires */

static int
declare_reply_queue(cel_client_t *c, int64_t expires_ms, cel_error_t *err)
{
    cel_queue_opts_t q = {0};
    char tag[CEL_SHORTSTR_SIZE];

    q.exclusive = true; /* workers publish to it; only we consume it */
    q.auto_delete = true;
    q.expires_ms = expires_ms > 0 ? expires_ms : DEFAULT_RESULT_EXPIRES_MS;
    cel_id_new(c->reply_queue);
    int r = cel_broker_declare_queue(c->broker, c->reply_queue, &q, err);
    if (r == 0) {
        r = cel_broker_consume(c->broker, c->reply_queue, true, tag,
                               sizeof(tag), err);
    }
    return r;
}

int
cel_client_open(const cel_client_opts_t *opts, cel_client_t **out,
                cel_error_t *err)
{
    static const cel_client_opts_t defaults = CEL_CLIENT_OPTS_INIT;
    const cel_client_opts_t *o = opts ? opts : &defaults;
    cel_broker_opts_t bo = CEL_BROKER_OPTS_INIT;
    const char *url = o->broker_url;

    *out = NULL;
    if (url == NULL) {
        url = getenv("CELERIAC_BROKER_URL");
    }
    if (url == NULL || url[0] == '\0') {
        url = "amqp://guest:guest@localhost:5672//";
    }
    cel_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL || cel__pending_init(&c->pending) != 0) {
        free(c);
        return cel_error_set(err, CEL_ENOMEM, "out of memory");
    }
    const char *queue = o->queue ? o->queue : getenv("CELERIAC_QUEUE");
    snprintf(c->default_queue, sizeof(c->default_queue), "%s",
             queue && queue[0] ? queue : "celery");
    bo.name = "celeriac producer";
    int r = cel_broker_open(url, &bo, &c->broker, err);
    if (r == 0) {
        r = declare_reply_queue(c, o->result_expires_ms, err);
    }
    if (r != 0) {
        cel_client_close(c);
        return r;
    }
    *out = c;
    return 0;
}

void
cel_client_close(cel_client_t *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->pending.cap; i++) {
        if (c->pending.slots[i] != NULL) {
            c->pending.slots[i]->client = NULL; /* orphaned, still owned */
        }
    }
    cel__pending_clear(&c->pending);
    for (int i = 0; i < c->ndeclared; i++) {
        free(c->declared[i]);
    }
    cel_broker_close(c->broker);
    free(c);
}

const char *
cel_client_error(const cel_client_t *c)
{
    return c->last.text;
}

static void
handle_reply(cel_client_t *c, const cel_delivery_t *d)
{
    cel_result_msg_t m;

    /* A reply we cannot read, or for a result already freed, is dropped:
     * nobody is waiting for it. Like Celery, match on the correlation id
     * first and fall back to the body's task_id. */
    if (cel_result_decode(d->env.body, d->env.body_len, &m, NULL) == 0) {
        cel_result_t *r = NULL;
        if (d->env.correlation_id[0] != '\0') {
            r = cel__pending_find(&c->pending, d->env.correlation_id);
        }
        if (r == NULL) {
            r = cel__pending_find(&c->pending, m.task_id);
        }
        if (r != NULL) {
            cel__result_settle(r, &m);
            if (cel_state_ready(r->state)) {
                cel__pending_remove(&c->pending, r);
                r->client = NULL;
            }
        }
    }
    cel_result_msg_clear(&m);
}

int
cel__client_drain(cel_client_t *c, int timeout_ms, cel_error_t *err)
{
    cel_delivery_t d;
    int got = 0;

    for (;;) {
        int r = cel_broker_next(c->broker, got ? 0 : timeout_ms, &d, err);
        if (r != 0) {
            cel_delivery_clear(&d);
            return r == CEL_ETIMEDOUT && got ? 0 : r;
        }
        handle_reply(c, &d);
        cel_delivery_clear(&d);
        got++;
    }
}
