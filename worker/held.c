/* held.c: eta tasks waiting in a child, unacked, until they are due, while
 * the child goes on taking other tasks (the child restarts its consumers
 * now and then so that held tasks never fill its prefetch window).
 *
 * What is held in memory is bounded (held.h): past CEL_HELD_MAX_FULL tasks
 * or CEL_HELD_MAX_BYTES of bodies, a task is kept as its delivery tag and
 * due time only, and handed back to the broker when due, to be delivered
 * again and run then. */
#include "held.h"
#include "seqlock.h"

#include <cel/clock.h>
#include <cel/log.h>

#include <stdlib.h>

/* The id and name of a held task, from its protocol 2 headers (protocol
 * 1 keeps them in the body: its correlation id is the id). */
static void
describe(const cel_delivery_t *d, char *id, size_t id_size, char *name,
         size_t name_size)
{
    const char *i = json_string_value(json_object_get(d->env.headers, "id"));
    const char *n = json_string_value(json_object_get(d->env.headers, "task"));

    cel_copy_str(id, id_size, i ? i : d->env.correlation_id);
    cel_copy_str(name, name_size, n ? n : "");
}

void
cel__held_publish(cel_child_t *c, const cel_held_t *h)
{
    cel_slot_state_t *s = &c->board->slots[c->slot];
    int shown = h->nfull < CEL_SCHED_SHOWN ? h->nfull : CEL_SCHED_SHOWN;

    unsigned seq = cel__seq_write_begin(&s->sched_seq);
    for (int i = 0; i < shown; i++) {
        describe(&h->full[i].d, s->sched[i].id, sizeof(s->sched[i].id),
                 s->sched[i].name, sizeof(s->sched[i].name));
        s->sched[i].eta_us = h->full[i].due_us;
    }
    s->nsched = h->nfull + (int)h->nlight;
    cel__seq_write_end(&s->sched_seq, seq);
}

int
cel__held_init(cel_held_t *h)
{
    *h = (cel_held_t){0};
    h->full = calloc(CEL_HELD_MAX_FULL, sizeof(*h->full));
    return h->full != NULL ? 0 : CEL_ENOMEM;
}

void
cel__held_drop(cel_held_t *h)
{
    for (int i = 0; i < h->nfull; i++) {
        cel_delivery_clear(&h->full[i].d);
    }
    h->nfull = 0;
    h->full_bytes = 0;
    h->nlight = 0;
    h->since_consume = 0;
}

void
cel__held_free(cel_held_t *h)
{
    cel__held_drop(h);
    free(h->full);
    free(h->light);
    *h = (cel_held_t){0};
}

static bool
holding(const cel_held_t *h)
{
    return h->nfull > 0 || h->nlight > 0;
}

/* Keeps only d's tag and due time; false when that list is full too. */
static bool
add_light(cel_held_t *h, const cel_delivery_t *d, int64_t due_us, int turn)
{
    if (h->nlight == h->light_cap) {
        size_t cap = h->light_cap ? h->light_cap * 2 : 1024;
        /* Twice the bound: past it no consumer is started again, so only
         * what a window holds can still come. */
        void *p = cap <= 2 * CEL_HELD_MAX_LIGHT
                      ? realloc(h->light, cap * sizeof(*h->light))
                      : NULL;
        if (p == NULL) {
            return false;
        }
        h->light = p;
        h->light_cap = cap;
    }
    if (h->nlight == 0) {
        CEL_LOG(CEL_LOG_WARN,
                "over %d eta tasks (or %zu MiB) held: holding more by "
                "delivery tag only, to be delivered again when due",
                CEL_HELD_MAX_FULL, CEL_HELD_MAX_BYTES >> 20);
    }
    h->light[h->nlight++] = (cel_held_light_t){due_us, d->delivery_tag, turn};
    return true;
}

int
cel__held_add(cel_child_t *c, cel_held_t *h, cel_delivery_t *d, int64_t due_us)
{
    cel_error_t err = CEL_ERROR_INIT;

    /* Acks still batched cover only tags below this one: send them, then
     * ack one by one while anything is held. */
    int r = cel__flush_acks(c);
    int turn = c->hold_turn;

    c->hold_turn = 0;
    c->holding = true;
    h->since_consume++;
    if (h->nfull < CEL_HELD_MAX_FULL &&
        h->full_bytes + d->env.body_len <= CEL_HELD_MAX_BYTES) {
        h->full_bytes += d->env.body_len;
        h->full[h->nfull++] = (cel_held_full_t){due_us, *d, turn}; /* takes d */
        cel__held_publish(c, h);
        return r;
    }
    if (!add_light(h, d, due_us, turn) && r == 0) {
        cel__rate_give_back(c->board->ops.rates, turn);
        r = cel_broker_reject(c->broker, d->delivery_tag, true, &err);
    }
    cel_delivery_clear(d);
    cel__held_publish(c, h);
    return r;
}

static void
note_next(int64_t due_us, int64_t *next_us)
{
    if (*next_us == 0 || due_us < *next_us) {
        *next_us = due_us;
    }
}

/* Hands back the light entries that are due, for the broker to deliver
 * again. */
static int
return_due(cel_child_t *c, cel_held_t *h, int64_t now, int64_t *next_us)
{
    cel_error_t err = CEL_ERROR_INIT;
    int r = 0;

    for (size_t i = 0; i < h->nlight && r == 0;) {
        if (h->light[i].due_us > now) {
            note_next(h->light[i++].due_us, next_us);
            continue;
        }
        r = cel_broker_reject(c->broker, h->light[i].delivery_tag, true, &err);
        cel__rate_give_back(c->board->ops.rates, h->light[i].turn);
        h->light[i] = h->light[--h->nlight];
    }
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot hand back a held task: %s", err.text);
    }
    return r;
}

/* Takes the next task held whole that is due by now out of the table
 * into *out (the scan goes on from *i), noting the due times of those it
 * passes in *next_us. false when none is left. Out of the table before it
 * runs: the watcher gives back what the table holds while a task runs
 * (watch.c). */
static bool
take_due(cel_held_t *h, int64_t now, int *i, int64_t *next_us,
         cel_held_full_t *out)
{
    while (*i < h->nfull) {
        cel_held_full_t *e = &h->full[*i];
        if (e->due_us > now) {
            note_next(e->due_us, next_us);
            ++*i;
            continue;
        }
        *out = *e;
        *e = h->full[--h->nfull];
        h->full_bytes -= out->d.env.body_len;
        return true;
    }
    return false;
}

/* Remote control set a rate limit: the tasks held for turns of the old
 * limits are due now, to take turns of the new ones. */
static void
new_limits(cel_child_t *c, cel_held_t *h, int64_t now)
{
    unsigned gen = atomic_load(&c->board->ops.rates_gen);

    if (gen == h->rates_gen) {
        return;
    }
    h->rates_gen = gen;
    for (int i = 0; i < h->nfull; i++) {
        if (h->full[i].turn > 0) {
            h->full[i].turn = 0;
            h->full[i].due_us = now;
        }
    }
    for (size_t i = 0; i < h->nlight; i++) {
        if (h->light[i].turn > 0) {
            h->light[i].turn = 0;
            h->light[i].due_us = now;
        }
    }
}

int
cel__held_run_due(cel_child_t *c, cel_held_t *h, int64_t *next_us)
{
    int64_t now = cel_clock_wall_us();
    size_t before = (size_t)h->nfull + h->nlight;
    cel_held_full_t e;
    int r = 0;

    *next_us = 0;
    new_limits(c, h, now);
    for (int i = 0; r == 0 && take_due(h, now, &i, next_us, &e);) {
        int64_t again = 0;
        cel__held_publish(c, h);
        c->rerun = true; /* its task-received event went already */
        c->rerun_turn = e.turn;
        r = cel__execute(c, &e.d, &again);
        c->rerun = false;
        c->rerun_turn = 0;
        if (r == CEL__HOLD) { /* not its turn yet (its rate limit, or the
                               * clock went back): hold it again */
            h->full_bytes += e.d.env.body_len;
            h->full[h->nfull++] = (cel_held_full_t){
                again, e.d, c->hold_turn > 0 ? c->hold_turn : e.turn};
            c->hold_turn = 0;
            r = 0;
            continue;
        }
        cel_delivery_clear(&e.d);
    }
    if (r == 0 && h->nlight > 0) {
        r = return_due(c, h, now, next_us);
    }
    c->holding = holding(h);
    if ((size_t)h->nfull + h->nlight != before) {
        cel__held_publish(c, h);
    }
    return r;
}

int
cel__held_give_back(cel_child_t *c, cel_held_t *h, int64_t *next_us, int *n)
{
    cel_error_t err = CEL_ERROR_INIT;
    int64_t now = cel_clock_wall_us();
    size_t nlight = h->nlight;
    cel_held_full_t e;
    int r = 0;

    *next_us = 0;
    for (int i = 0; r == 0 && take_due(h, now, &i, next_us, &e);) {
        r = cel_broker_reject(c->broker, e.d.delivery_tag, true, &err);
        cel__rate_give_back(c->board->ops.rates, e.turn);
        cel_delivery_clear(&e.d);
        ++*n;
    }
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot hand back a held task: %s", err.text);
    }
    if (r == 0 && h->nlight > 0) {
        r = return_due(c, h, now, next_us);
        *n += (int)(nlight - h->nlight);
    }
    c->holding = holding(h);
    cel__held_publish(c, h);
    return r;
}
