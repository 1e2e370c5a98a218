/* reader.c: reading replies and running callbacks. One thread at a time
 * reads the reply connection, without the client lock held, decodes a
 * batch of replies, then settles them under the lock and wakes the other
 * waiters. Callbacks run after settling, one at a time, with the lock
 * released, so they may call back into the library. */
#include "producer_internal.h"

#include <cel/clock.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 64

/* What a message costs on the wire besides its body (its deliver and
 * header frames), counted generously: see cel__client_note_read. */
#define MESSAGE_OVERHEAD_BYTES 256

typedef struct {
    char correlation_id[CEL_SHORTSTR_SIZE];
    cel_result_msg_t msg;
} reply_t;

typedef struct {
    reply_t *out;   /* BATCH of them */
    int n;          /* replies read into out */
    size_t bytes;   /* what the messages read cost, overhead included */
    bool cancelled; /* the broker cancelled the reply consumer */
} batch_t;

/* Reads up to BATCH replies into b, waiting up to timeout_ms for the
 * first. A reply that cannot be decoded is dropped: nobody could be told.
 * On an error, b->cancelled says the broker cancelled the reply
 * consumer. */
static int
read_batch(cel_broker_t *rx, int timeout_ms, batch_t *b, cel_error_t *err)
{
    cel_delivery_t d;

    b->n = 0;
    b->bytes = 0;
    b->cancelled = false;
    while (b->n < BATCH) {
        /* After the first, take only what is read already: another look
         * at the socket is a system call the next pump makes anyway. */
        if (b->n > 0 && !cel_broker_pending(rx)) {
            return 0;
        }
        int r = cel_broker_next(rx, b->n ? 0 : timeout_ms, &d, err);
        b->bytes += r == 0 || r == CEL_EPROTO
                        ? d.env.body_len + MESSAGE_OVERHEAD_BYTES
                        : 0;
        if (r == CEL_EPROTO && d.delivery_tag != 0) {
            cel_delivery_clear(&d); /* unreadable headers: not a reply */
            continue;
        }
        if (r != 0) {
            b->cancelled = d.cancelled;
            cel_delivery_clear(&d);
            return r == CEL_ETIMEDOUT && b->n ? 0 : r;
        }
        reply_t *o = &b->out[b->n];
        if (cel_result_decode(d.env.body, d.env.body_len, &o->msg, NULL) == 0) {
            memcpy(o->correlation_id, d.env.correlation_id,
                   sizeof(o->correlation_id));
            b->n++;
        } else {
            cel_result_msg_clear(&o->msg);
        }
        cel_delivery_clear(&d);
    }
    return 0;
}

/* Like Celery, match on the correlation id first, then the body's task_id.
 * A reply for a result already freed or settled is dropped. */
static void
settle(cel_client_t *c, reply_t *rep)
{
    cel_result_t *r = NULL;

    if (rep->correlation_id[0] != '\0') {
        r = cel__pending_find(&c->pending, rep->correlation_id);
    }
    if (r == NULL && rep->msg.task_id != NULL) {
        r = cel__pending_find(&c->pending, rep->msg.task_id);
    }
    if (r != NULL) {
        cel__result_settle(r, &rep->msg);
        if (cel_state_ready(r->state)) {
            cel__pending_remove(&c->pending, r);
            r->flags &= ~R_TRACKED;
            cel__result_ready(r);
        }
    }
    cel_result_msg_clear(&rep->msg);
}

static void
fire_one(cel_client_t *c, cel_result_t *r)
{
    cel_hooks_t *h = r->hooks;
    cel_callback_fn *fn = r->state == CEL_STATE_SUCCESS ? h->ok : h->fail;

    r->hooks = NULL;
    if (fn != NULL) {
        cel__unlock(c);
        fn(r, h->arg);
        cel__lock(c);
    }
    free(h);
    r->flags &= ~R_QUEUED;
    cel__result_hand_over(r);
}

/* Runs the queued callbacks unless another thread is running them. */
static void
fire(cel_client_t *c)
{
    if (c->firing || c->fire_head == NULL) {
        return;
    }
    c->firing = true;
    while (c->fire_head != NULL && !c->closed) {
        cel_result_t *r = c->fire_head;
        c->fire_head = r->next;
        if (c->fire_head == NULL) {
            c->fire_tail = NULL;
        }
        r->next = NULL;
        fire_one(c, r);
    }
    c->firing = false;
    pthread_cond_broadcast(&c->cond);
}

static int
dead_error(cel_client_t *c, cel_error_t *err)
{
    if (c->closed) {
        return cel_error_set(err, CEL_ECLOSED, "the client was closed");
    }
    if (err != NULL) {
        *err = c->dead_err;
    }
    return c->dead;
}

static void
wait_cond(cel_client_t *c, int timeout_ms)
{
    struct timespec ts;

    if (timeout_ms < 0) {
        pthread_cond_wait(&c->cond, &c->lock);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(&c->cond, &c->lock, &ts);
}

/* What a read's error means for the reply connection. A cancelled
 * consumer (the reply queue was deleted) is consumed again at once, while
 * nobody else can read; otherwise the connection is dead. */
static void
after_read_error(cel_client_t *c, int r, bool cancelled, cel_error_t *rerr)
{
    if (cancelled) {
        r = cel__client_redeclare(c, rerr);
    }
    if (r != 0) {
        /* The reply connection is gone: every wait now fails with this,
         * instead of waiting for replies that cannot come. */
        c->dead = r;
        c->dead_err = *rerr;
        cel__lose_pending(c);
    }
}

int
cel__pump(cel_client_t *c, int timeout_ms, cel_error_t *err)
{
    static _Thread_local reply_t replies[BATCH];
    batch_t b = {.out = replies};
    cel_error_t rerr;

    fire(c);
    if (c->closed || c->dead) {
        return dead_error(c, err);
    }
    if (c->reading) {
        if (timeout_ms != 0) {
            wait_cond(c, timeout_ms);
        }
        fire(c);
        return 0;
    }
    c->reading = true;
    cel__unlock(c);
    int r = read_batch(c->rx, timeout_ms, &b, &rerr);
    cel__lock(c);
    for (int i = 0; i < b.n; i++) {
        settle(c, &replies[i]); /* these came before any cancel */
    }
    cel__client_note_read(c, b.bytes, b.cancelled);
    if (r != 0 && r != CEL_ETIMEDOUT) {
        after_read_error(c, r, b.cancelled, &rerr);
        r = c->dead;
    }
    c->reading = false;
    pthread_cond_broadcast(&c->cond);
    fire(c);
    if (r == CEL_ETIMEDOUT) {
        return cel_error_set(err, r, "no reply within %d ms", timeout_ms);
    }
    return r != 0 ? dead_error(c, err) : 0;
}

/* A wait ran out of time: CEL_EBLOCKED when the broker blocks what the
 * client publishes (the task may never have reached it), else
 * CEL_ETIMEDOUT. */
static int
timed_out(cel_client_t *c, const char *what, int64_t timeout_ms,
          cel_error_t *err)
{
    char why[128];

    if (cel__client_blocked(c, why, sizeof(why))) {
        return cel_error_set(err, CEL_EBLOCKED,
                             "%s after %lld ms: the broker is blocking "
                             "publishing (%s), so the task may not have "
                             "reached it",
                             what, (long long)timeout_ms, why);
    }
    char queue[CEL_SHORTSTR_SIZE];
    if (cel__client_unserved(c, queue, sizeof(queue))) {
        return cel_error_set(err, CEL_ETIMEDOUT,
                             "%s after %lld ms; queue %.40s had no consumer "
                             "when first used: its name misspelt?",
                             what, (long long)timeout_ms, queue);
    }
    return cel_error_set(err, CEL_ETIMEDOUT, "%s after %lld ms", what,
                         (long long)timeout_ms);
}

int
cel__wait_for(cel_client_t *c, bool (*done)(cel_client_t *, void *), void *arg,
              int64_t timeout_ms, const char *what, cel_error_t *err)
{
    int64_t deadline = cel_clock_now_ms() + timeout_ms;

    /* Always look at least once, so a zero timeout polls. */
    for (bool first = true;; first = false) {
        fire(c);
        if (done(c, arg)) {
            return 0;
        }
        if (c->closed || c->dead) {
            return dead_error(c, err);
        }
        int64_t left = timeout_ms < 0 ? 1000 : deadline - cel_clock_now_ms();
        if (left <= 0 && !first) {
            return timed_out(c, what, timeout_ms, err);
        }
        left = left < 0 ? 0 : left > 1000 ? 1000 : left;
        int r = cel__pump(c, (int)left, err);
        if (r != 0 && r != CEL_ETIMEDOUT && !c->dead && !c->closed) {
            return r; /* else: look at done() first, then at the loss */
        }
    }
}
