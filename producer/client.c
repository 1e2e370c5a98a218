/* client.c: a client's lifecycle. It opens two connections: one that
 * publishes tasks and one that consumes the client's exclusive reply queue
 * (declared before any task is sent, as Celery's rpc backend does), so
 * sending never waits behind reading and the other way round. */
#include "producer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RESULT_EXPIRES_MS 86400000 /* Celery's result_expires */

static _Thread_local cel_error_t thread_error;

cel_error_t *
cel__client_error(void)
{
    return &thread_error;
}

const char *
cel_client_error(const cel_client_t *c)
{
    (void)c; /* kept per thread, so threads sharing c do not mix them up */
    return thread_error.text;
}

void
cel__lock(cel_client_t *c)
{
    pthread_mutex_lock(&c->lock);
}

void
cel__unlock(cel_client_t *c)
{
    pthread_mutex_unlock(&c->lock);
}

static void
destroy(cel_client_t *c)
{
    for (int i = 0; i < c->ndeclared; i++) {
        free(c->declared[i]);
    }
    cel__pending_clear(&c->pending);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->send_lock);
    free(c);
}

void
cel__unref_unlock(cel_client_t *c)
{
    bool last = --c->refs == 0;

    cel__unlock(c);
    if (last) {
        destroy(c);
    }
}

static int
declare_reply_queue(cel_client_t *c, int64_t expires_ms, cel_error_t *err)
{
    cel_queue_opts_t q = {0};
    char tag[CEL_SHORTSTR_SIZE];

    q.exclusive = true; /* workers publish to it; only we consume it */
    q.auto_delete = true;
    q.expires_ms = expires_ms > 0 ? expires_ms : DEFAULT_RESULT_EXPIRES_MS;
    cel_id_new(c->reply_queue);
    int r = cel_broker_declare_queue(c->rx, c->reply_queue, &q, err);
    if (r == 0) {
        r = cel_broker_consume(c->rx, c->reply_queue, true, tag, sizeof(tag),
                               err);
    }
    return r;
}

static cel_client_t *
client_new(void)
{
    cel_client_t *c = calloc(1, sizeof(*c));
    pthread_condattr_t ca;

    if (c == NULL || cel__pending_init(&c->pending) != 0) {
        free(c);
        return NULL;
    }
    /* Waits are measured on the monotonic clock, like every deadline. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->send_lock, NULL);
    c->refs = 1;
    return c;
}

static const char *
broker_url(const cel_client_opts_t *o)
{
    const char *url = o->broker_url;

    if (url == NULL) {
        url = getenv("CELERIAC_BROKER_URL");
    }
    return url && url[0] ? url : "amqp://guest:guest@localhost:5672//";
}

int
cel_client_open(const cel_client_opts_t *opts, cel_client_t **out,
                cel_error_t *err)
{
    static const cel_client_opts_t defaults = CEL_CLIENT_OPTS_INIT;
    const cel_client_opts_t *o = opts ? opts : &defaults;
    cel_broker_opts_t bo = CEL_BROKER_OPTS_INIT;

    *out = NULL;
    cel_client_t *c = client_new();
    if (c == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "out of memory");
    }
    const char *queue = o->queue ? o->queue : getenv("CELERIAC_QUEUE");
    snprintf(c->default_queue, sizeof(c->default_queue), "%s",
             queue && queue[0] ? queue : "celery");
    char rx_name[CEL_SHORTSTR_SIZE];
    bo.name = o->name ? o->name : "celeriac producer";
    snprintf(rx_name, sizeof(rx_name), "%s results", bo.name);
    int r = cel_broker_open(broker_url(o), &bo, &c->tx, err);
    if (r == 0) {
        bo.name = rx_name;
        r = cel_broker_open(broker_url(o), &bo, &c->rx, err);
    }
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

/* Results the program has let go of, kept only for their callbacks, go
 * with the client; those the program or a group still holds stay PENDING
 * and keep the client's memory alive until they are freed. */
static void
drop_pending(cel_client_t *c)
{
    cel_pending_t *p = &c->pending;

    for (size_t i = 0; i < p->cap; i++) {
        cel_result_t *r = p->slots[i];
        if (r != NULL) {
            p->slots[i] = NULL;
            r->flags &= ~R_TRACKED;
            if (r->group != NULL) {
                cel__group_push(r); /* handed back PENDING; freed with it */
            } else {
                cel__result_release(r);
            }
        }
    }
    p->count = 0;
    while (c->fire_head != NULL) {
        cel_result_t *r = c->fire_head;
        c->fire_head = r->next;
        r->next = NULL;
        r->flags &= ~R_QUEUED;
        if (r->group != NULL) {
            cel__group_push(r);
        } else {
            cel__result_release(r);
        }
    }
    c->fire_tail = NULL;
}

void
cel_client_close(cel_client_t *c)
{
    if (c == NULL) {
        return;
    }
    cel__lock(c);
    c->closed = true;
    drop_pending(c);
    cel_broker_close(c->rx);
    cel_broker_close(c->tx);
    c->rx = c->tx = NULL;
    pthread_cond_broadcast(&c->cond);
    cel__unref_unlock(c);
}

static bool
all_arrived(cel_client_t *c, void *arg)
{
    (void)arg;
    return c->pending.count == 0 && c->fire_head == NULL && !c->firing;
}

int
cel_client_join(cel_client_t *c, int64_t timeout_ms, cel_error_t *err)
{
    cel__lock(c);
    int r = cel__wait_for(c, all_arrived, NULL, timeout_ms,
                          "results still pending", err);
    cel__unlock(c);
    return r;
}

int
cel_client_poll(cel_client_t *c, int64_t timeout_ms, cel_error_t *err)
{
    cel__lock(c);
    int r = cel__pump(c, timeout_ms > 1000000 ? 1000000 : (int)timeout_ms, err);
    cel__unlock(c);
    return r == CEL_ETIMEDOUT ? 0 : r;
}

size_t
cel_client_pending(cel_client_t *c)
{
    cel__lock(c);
    size_t n = c->pending.count;
    cel__unlock(c);
    return n;
}
