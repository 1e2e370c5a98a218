/* returned.c: results the broker sent back because their reply queue did
 * not exist (results are published with mandatory). A reply queue is
 * missing for good when its client is gone (the exclusive queue went with
 * its connection) or never declared it (a client that reads no results;
 * Celery names a reply queue in every task), or for a moment when it was
 * deleted and its client declares it again under the same name. For that
 * last case the results are kept, per reply queue, and the oldest is
 * published again, with mandatory, 0.25, 0.5, 1, 2, 4 and 8 s after the
 * queue's first result came back (CEL_RETURN_WINDOW_MS, which the producer
 * counts on). A probe the broker keeps means the queue is back: the other
 * results follow it. When the last probe comes back too, the queue's
 * results are dropped with an ERROR line. Results that reached the broker
 * while the queue was missing thus arrive once their client has the queue
 * back within the window, and a queue that never comes back costs six
 * publishes per window, not six per result.
 *
 * Whether a probe came back is known for sure: after the probes, a round
 * trip on the channel (cel_broker_sync) has their returns read, and once
 * the connection's buffer is empty they have come out of cel_broker_next;
 * a probe still out then went through, however busy the child is. A new
 * connection probes again: the returns of the old one went with it.
 *
 * Held in memory: at most CEL_RETURNED_MAX results and
 * CEL_RETURNED_MAX_BYTES of bodies; past either the oldest goes, with an
 * ERROR line (at most one a second, with the count). */
#include "child.h"

#include <cel/clock.h>
#include <cel/log.h>

#include <stdlib.h>
#include <string.h>

#define CEL_RETURNED_MAX       1024
#define CEL_RETURNED_MAX_BYTES ((size_t)64 << 20)
#define FIRST_PROBE_MS         250 /* then doubling up to the window */

/* A reply queue found missing, and its results waiting to go again. */
typedef struct {
    char name[CEL_SHORTSTR_SIZE];
    cel_envelope_t **results; /* owned, oldest first; [0] is the probe */
    size_t n, cap;
    int64_t first_ms;   /* when its first result came back */
    int64_t due_ms;     /* its next probe, while not probing */
    uint64_t probe_seq; /* of its last probe */
    int probes;         /* sent so far */
    bool probing;       /* a probe is out, and nothing came back since */
    bool final;         /* that probe was at the end of the window */
} missing_t;

struct cel_returned {
    missing_t *q; /* owned */
    size_t nq, capq;
    size_t held, bytes; /* results and body bytes held, over all queues */
    size_t dropped;     /* over the bounds, not yet logged */
    int64_t dropped_logged_ms;
    uint64_t probe_seq;  /* probes sent */
    uint64_t synced_seq; /* probes whose return, if any, has been read */
};

static const char *
task_of(const cel_envelope_t *env)
{
    return env->correlation_id[0] ? env->correlation_id : "?";
}

static missing_t *
find_queue(cel_returned_t *rt, const char *name)
{
    for (size_t i = 0; i < rt->nq; i++) {
        if (strcmp(rt->q[i].name, name) == 0) {
            return &rt->q[i];
        }
    }
    return NULL;
}

/* Drops result k of q (the caller logs why); q may be left empty. */
static void
drop_result(cel_returned_t *rt, missing_t *q, size_t k)
{
    rt->held--;
    rt->bytes -= q->results[k]->body_len;
    cel_envelope_clear(q->results[k]);
    free(q->results[k]);
    memmove(&q->results[k], &q->results[k + 1],
            (q->n - k - 1) * sizeof(cel_envelope_t *));
    q->n--;
}

/* Forgets q and its results; the last queue takes its place. */
static void
drop_queue(cel_returned_t *rt, missing_t *q)
{
    while (q->n > 0) {
        drop_result(rt, q, q->n - 1);
    }
    free(q->results);
    *q = rt->q[--rt->nq];
}

static void
give_up(cel_returned_t *rt, missing_t *q, const char *why)
{
    if (q->n == 1) {
        CEL_LOG(CEL_LOG_ERROR,
                "result of task %s could not be delivered: reply queue %s %s",
                task_of(q->results[0]), q->name, why);
    } else if (q->n > 1) {
        CEL_LOG(CEL_LOG_ERROR,
                "results of %zu tasks could not be delivered (task %s and "
                "others): reply queue %s %s",
                q->n, task_of(q->results[0]), q->name, why);
    }
    drop_queue(rt, q);
}

/* Over a bound: the oldest result goes, said at most once a second. */
static void
drop_oldest(cel_returned_t *rt)
{
    missing_t *q = &rt->q[0];
    int64_t now = cel_clock_now_ms();

    for (size_t i = 1; i < rt->nq; i++) {
        q = rt->q[i].first_ms < q->first_ms ? &rt->q[i] : q;
    }
    rt->dropped++;
    if (rt->dropped_logged_ms == 0 || now - rt->dropped_logged_ms >= 1000) {
        CEL_LOG(CEL_LOG_ERROR,
                "result of task %s could not be delivered: reply queue %s "
                "does not exist, and over %d results (or %zu MiB) wait to "
                "be published again (%zu dropped since the last such line)",
                task_of(q->results[0]), q->name, CEL_RETURNED_MAX,
                CEL_RETURNED_MAX_BYTES >> 20, rt->dropped);
        rt->dropped = 0;
        rt->dropped_logged_ms = now;
    }
    drop_result(rt, q, 0);
    if (q->n == 0) {
        drop_queue(rt, q);
    }
}

/* Makes room for a result of body_len bytes; false when it cannot fit. */
static bool
make_room(cel_returned_t *rt, size_t body_len)
{
    if (body_len > CEL_RETURNED_MAX_BYTES) {
        return false;
    }
    while (rt->held > 0 && (rt->held >= CEL_RETURNED_MAX ||
                            rt->bytes + body_len > CEL_RETURNED_MAX_BYTES)) {
        drop_oldest(rt);
    }
    return true;
}

/* When q is probed next: FIRST_PROBE_MS after its first result came back,
 * then twice as long each time, the last at the end of the window. */
static int64_t
next_due(const missing_t *q)
{
    int64_t step = q->probes < 16 ? (int64_t)FIRST_PROBE_MS << q->probes
                                  : CEL_RETURN_WINDOW_MS;

    return q->first_ms +
           (step < CEL_RETURN_WINDOW_MS ? step : CEL_RETURN_WINDOW_MS);
}

/* The entry of the queue d was returned from, added (and said) if new;
 * NULL when out of memory. */
static missing_t *
queue_for(cel_returned_t *rt, const cel_delivery_t *d)
{
    missing_t *q = find_queue(rt, d->routing_key);

    if (q != NULL) {
        CEL_LOG(CEL_LOG_DEBUG,
                "result of task %s returned by the broker too: reply queue "
                "%s still does not exist",
                task_of(&d->env), q->name);
        return q;
    }
    if (rt->nq == rt->capq) {
        size_t cap = rt->capq ? rt->capq * 2 : 8;
        void *p = realloc(rt->q, cap * sizeof(*rt->q));
        if (p == NULL) {
            return NULL;
        }
        rt->q = p;
        rt->capq = cap;
    }
    q = &rt->q[rt->nq++];
    *q = (missing_t){.first_ms = cel_clock_now_ms()};
    memcpy(q->name, d->routing_key, sizeof(q->name));
    q->due_ms = next_due(q);
    CEL_LOG(CEL_LOG_WARN,
            "result of task %s returned by the broker (%d %s): reply queue "
            "%s does not exist; publishing its results again for up to %d s",
            task_of(&d->env), d->reply_code, d->reply_text, q->name,
            CEL_RETURN_WINDOW_MS / 1000);
    return q;
}

/* Keeps d's message at the end of q; false when out of memory. */
static bool
hold(cel_returned_t *rt, missing_t *q, cel_delivery_t *d)
{
    cel_envelope_t *env = malloc(sizeof(*env));

    if (env == NULL) {
        return false;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 4;
        void *p = realloc(q->results, cap * sizeof(cel_envelope_t *));
        if (p == NULL) {
            free(env);
            return false;
        }
        q->results = p;
        q->cap = cap;
    }
    *env = d->env;
    cel_envelope_init(&d->env);
    q->results[q->n++] = env;
    rt->held++;
    rt->bytes += env->body_len;
    return true;
}

/* A result came back from q, which is thus still missing: after the
 * last probe q is given up, else it is probed again when due. */
static void
came_back(cel_returned_t *rt, missing_t *q)
{
    if (q->probing && q->final) {
        give_up(rt, q, "does not exist");
    } else if (q->probing) {
        q->probing = false;
        q->due_ms = next_due(q);
    }
}

/* Holds d's message with the others of its queue; false when it cannot
 * (d keeps it then). */
static bool
keep(cel_returned_t *rt, cel_delivery_t *d)
{
    missing_t *q = NULL;

    if (rt == NULL || !make_room(rt, d->env.body_len) ||
        (q = queue_for(rt, d)) == NULL) {
        return false;
    }
    if (!hold(rt, q, d)) {
        if (q->n == 0) {
            drop_queue(rt, q);
        }
        return false;
    }
    came_back(rt, q);
    return true;
}

void
cel__returned_add(cel_child_t *c, cel_delivery_t *d)
{
    cel_returned_t *rt = c->returned;

    if (rt == NULL) {
        rt = c->returned = calloc(1, sizeof(*rt));
    }
    missing_t *q = rt != NULL ? find_queue(rt, d->routing_key) : NULL;
    if (q != NULL && q->n > 0 &&
        strcmp(q->results[0]->correlation_id, d->env.correlation_id) == 0) {
        came_back(rt, q); /* its probe: held already */
    } else if (!keep(rt, d)) {
        CEL_LOG(CEL_LOG_ERROR,
                "result of task %s could not be delivered: reply queue %s "
                "does not exist, and it cannot be held (%zu bytes)",
                task_of(&d->env), d->routing_key, d->env.body_len);
    }
    cel_delivery_clear(d);
}

/* Publishes result k of q again (results go to the default exchange).
 * Returns 0, or a broker error after which the connection must be
 * rebuilt; a result refused before it left is said and left to the
 * caller. */
static int
send_again(cel_child_t *c, const missing_t *q, size_t k, bool *refused)
{
    cel_error_t err = CEL_ERROR_INIT;

    int r = cel_broker_publish_mandatory(c->broker, "", q->name, q->results[k],
                                         &err);
    *refused = r != 0 && !cel__broker_broken(r);
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot publish the result of task %s: %s",
                task_of(q->results[k]), err.text);
    }
    return *refused ? 0 : r;
}

/* The probe went through, so the queue is back: the other results
 * follow, and q is done with. Any that find the queue missing again come
 * back as new. */
static int
send_rest(cel_child_t *c, missing_t *q)
{
    bool refused;

    CEL_LOG(CEL_LOG_INFO,
            "reply queue %s is back: %zu returned result(s) published again",
            q->name, q->n);
    for (size_t k = 1; k < q->n; k++) {
        int r = send_again(c, q, k, &refused);
        if (r != 0) {
            return r; /* q stays: all go again on the next connection */
        }
    }
    drop_queue(c->returned, q);
    return 0;
}

static int
probe(cel_child_t *c, missing_t *q, int64_t now)
{
    bool refused;

    CEL_LOG(CEL_LOG_DEBUG, "probing reply queue %s with the result of %s",
            q->name, task_of(q->results[0]));
    int r = send_again(c, q, 0, &refused);
    if (r == 0 && refused) {
        drop_result(c->returned, q, 0);
        q->due_ms = now; /* the next one probes */
    } else if (r == 0) {
        q->probes++;
        q->probing = true;
        q->probe_seq = ++c->returned->probe_seq;
        q->final = now - q->first_ms >= CEL_RETURN_WINDOW_MS;
    }
    return r;
}

/* Acts on queue i: sends the rest if its probe went through (drained:
 * every return read so far has come out), probes it if due. Its place
 * may then be taken by the last queue. Lowers *next to its next probe. */
static int
run_queue(cel_child_t *c, size_t i, bool drained, int64_t now, int64_t *next)
{
    cel_returned_t *rt = c->returned;
    missing_t *q = &rt->q[i];

    if (q->n == 0) {
        drop_queue(rt, q);
        return 0;
    }
    if (q->probing) {
        bool through = drained && q->probe_seq <= rt->synced_seq;
        return through ? send_rest(c, q) : 0;
    }
    if (q->due_ms <= now) {
        return probe(c, q, now);
    }
    *next = q->due_ms < *next ? q->due_ms : *next;
    return 0;
}

int
cel__returned_run_due(cel_child_t *c, int *timeout_ms)
{
    cel_returned_t *rt = c->returned;
    int64_t next = INT64_MAX;
    cel_error_t err = CEL_ERROR_INIT;

    if (rt == NULL || rt->nq == 0) {
        return 0;
    }
    int64_t now = cel_clock_now_ms();
    bool drained = !cel_broker_pending(c->broker);
    uint64_t sent = rt->probe_seq;
    /* From the end: a queue done with is replaced by the last one. */
    for (size_t i = rt->nq; i-- > 0;) {
        int r = run_queue(c, i, drained, now, &next);
        if (r != 0) {
            return r;
        }
    }
    if (rt->probe_seq != sent) { /* have the new probes' returns read */
        int r = cel_broker_sync(c->broker, &err);
        if (r != 0) {
            CEL_LOG(CEL_LOG_ERROR, "broker: %s", err.text);
            return r;
        }
        rt->synced_seq = rt->probe_seq;
        next = now; /* look again once they are read */
    }
    if (next - now < *timeout_ms) {
        *timeout_ms = next > now ? (int)(next - now) : 0;
    }
    return 0;
}

void
cel__returned_connected(cel_child_t *c)
{
    cel_returned_t *rt = c->returned;

    for (size_t i = 0; rt != NULL && i < rt->nq; i++) {
        if (rt->q[i].probing) {
            rt->q[i].probing = false;
            rt->q[i].due_ms = 0; /* its return went with the old one */
        }
    }
}

void
cel__returned_free(cel_returned_t *rt)
{
    if (rt == NULL) {
        return;
    }
    while (rt->nq > 0) {
        give_up(rt, &rt->q[rt->nq - 1],
                "did not exist when the worker stopped");
    }
    free(rt->q);
    free(rt);
}
