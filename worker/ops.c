/* ops.c: the run-time state remote control changes (see ops.h). One
 * writer (the master before it forks, then the control process) per
 * entry, under a sequence count; children read, and add to the counts. */
#include "ops.h"
#include "seqlock.h"

#include <stdio.h>
#include <string.h>

#include <cel/clock.h>

uint64_t
cel__id_hash(const char *id, size_t *len)
{
    uint64_t h = 14695981039346656037ULL;
    size_t n = 0;

    for (; id[n] != '\0'; n++) {
        h = (h ^ (unsigned char)id[n]) * 1099511628211ULL;
    }
    *len = n;
    return h;
}

int
cel__ops_init(cel_ops_t *ops, const cel_worker_config_t *cfg)
{
    char name[128];
    double per_s;

    atomic_store(&ops->task_events, cfg->task_events ? 1 : 0);
    atomic_store(&ops->target, cfg->concurrency);
    ops->started_wall_ms = cel_clock_wall_us() / 1000;
    for (int i = 0; i < cfg->nqueues; i++) {
        int r = cel__ops_queue_add(ops, cfg->queues[i]);
        if (r != 0 && r != CEL_EINVAL) { /* a queue named twice is fine */
            return r;
        }
    }
    for (int i = 0; i < cfg->nrate_limits; i++) {
        const char *arg = cfg->rate_limits[i], *eq = strchr(arg, '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
        if (cel__rate_parse(eq + 1, &per_s) != 0 ||
            cel__rate_set(ops->rates, name, per_s, eq + 1) != 0) {
            return CEL_EINVAL;
        }
    }
    return 0;
}

unsigned
cel__ops_tick(cel_ops_t *ops)
{
    return atomic_fetch_add(&ops->clock, 1) + 1;
}

int
cel__ops_queues(cel_ops_t *ops, char out[][CEL_SHORTSTR_SIZE], unsigned *gen)
{
    char copy[CEL_MAX_QUEUES][CEL_SHORTSTR_SIZE];

    for (int tries = 0; tries < CEL_SEQ_TRIES; tries++) {
        unsigned s = cel__seq_read_begin(&ops->queues_seq);
        int n = ops->nqueues;
        n = n < 0 ? 0 : n > CEL_MAX_QUEUES ? CEL_MAX_QUEUES : n;
        memcpy(copy, ops->queues, (size_t)n * CEL_SHORTSTR_SIZE);
        unsigned g = atomic_load(&ops->queues_gen);
        if (cel__seq_read_ok(&ops->queues_seq, s)) {
            for (int i = 0; i < n; i++) {
                memcpy(out[i], copy[i], CEL_SHORTSTR_SIZE);
                out[i][CEL_SHORTSTR_SIZE - 1] = '\0';
            }
            *gen = g;
            return n;
        }
    }
    return CEL_ETIMEDOUT; /* out and *gen untouched: ask again later */
}

static int
queue_index(const cel_ops_t *ops, const char *name)
{
    for (int i = 0; i < ops->nqueues; i++) {
        if (strcmp(ops->queues[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

int
cel__ops_queue_room(const cel_ops_t *ops, const char *name)
{
    if (queue_index(ops, name) >= 0) {
        return CEL_EINVAL;
    }
    if (ops->nqueues == CEL_MAX_QUEUES || strlen(name) >= CEL_SHORTSTR_SIZE) {
        return CEL_ERANGE;
    }
    return 0;
}

int
cel__ops_queue_add(cel_ops_t *ops, const char *name)
{
    int r = cel__ops_queue_room(ops, name);
    if (r != 0) {
        return r;
    }
    unsigned s = cel__seq_write_begin(&ops->queues_seq);
    snprintf(ops->queues[ops->nqueues++], CEL_SHORTSTR_SIZE, "%s", name);
    atomic_fetch_add(&ops->queues_gen, 1);
    cel__seq_write_end(&ops->queues_seq, s);
    return 0;
}

int
cel__ops_queue_remove(cel_ops_t *ops, const char *name)
{
    int i = queue_index(ops, name);

    if (i < 0) {
        return CEL_EINVAL;
    }
    unsigned s = cel__seq_write_begin(&ops->queues_seq);
    memmove(ops->queues[i], ops->queues[i + 1],
            (size_t)(ops->nqueues - i - 1) * CEL_SHORTSTR_SIZE);
    ops->nqueues--;
    atomic_fetch_add(&ops->queues_gen, 1);
    cel__seq_write_end(&ops->queues_seq, s);
    return 0;
}

void
cel__ops_revoke(cel_ops_t *ops, const char *id, int signum)
{
    unsigned i = atomic_fetch_add(&ops->nrevoked, 1) % CEL_REVOKED_MAX;
    cel_revoked_t *e = &ops->revoked[i];

    unsigned s = cel__seq_write_begin(&e->seq);
    e->hash = cel__id_hash(id, &e->len);
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->at_wall_ms = cel_clock_wall_us() / 1000;
    e->signum = signum;
    cel__seq_write_end(&e->seq, s);
}

bool
cel__ops_revoked(cel_ops_t *ops, const char *id, int *signum)
{
    size_t len;

    if (atomic_load(&ops->nrevoked) == 0) {
        return false; /* the common case costs one load */
    }
    uint64_t h = cel__id_hash(id, &len);
    return cel__ops_revoked_key(ops, h, len, id, signum);
}

bool
cel__ops_revoked_key(cel_ops_t *ops, uint64_t hash, size_t len,
                     const char *prefix, int *signum)
{
    unsigned n = atomic_load(&ops->nrevoked);
    size_t plen = strnlen(prefix, CEL_SHORTSTR_SIZE - 1);
    bool found = false;
    int found_sig = 0;

    /* Every entry: an id revoked, then revoked again with terminate,
     * answers with the signal. */
    for (unsigned k = 0; k < n && k < CEL_REVOKED_MAX; k++) {
        cel_revoked_t *e = &ops->revoked[k];
        unsigned s = cel__seq_read_begin(&e->seq);
        bool same = e->hash == hash && e->len == len &&
                    strncmp(e->id, prefix, plen) == 0;
        int sig = e->signum;
        if (same && cel__seq_read_ok(&e->seq, s)) {
            found = true;
            found_sig = sig != 0 ? sig : found_sig;
        }
    }
    if (found && signum != NULL) {
        *signum = found_sig;
    }
    return found;
}

void
cel__ops_revoked_list(cel_ops_t *ops,
                      void (*each)(const char *id, int64_t at_wall_ms,
                                   void *arg),
                      void *arg)
{
    unsigned n = atomic_load(&ops->nrevoked);
    unsigned first = n > CEL_REVOKED_MAX ? n - CEL_REVOKED_MAX : 0;

    for (unsigned k = first; k < n; k++) {
        cel_revoked_t *e = &ops->revoked[k % CEL_REVOKED_MAX];
        each(e->id, e->at_wall_ms, arg); /* the control process wrote it */
    }
}

void
cel__ops_count(cel_ops_t *ops, const char *name)
{
    for (int i = 0; i < CEL_TOTALS_MAX; i++) {
        cel_total_t *t = &ops->totals[i];
        int st = atomic_load(&t->state);
        if (st == 2 && strncmp(t->name, name, sizeof(t->name) - 1) == 0) {
            atomic_fetch_add(&t->count, 1);
            return;
        }
        int free_state = 0;
        if (st == 0 &&
            atomic_compare_exchange_strong(&t->state, &free_state, 1)) {
            snprintf(t->name, sizeof(t->name), "%s", name);
            atomic_store(&t->count, 1);
            atomic_store(&t->state, 2);
            return;
        }
    }
    /* Past CEL_TOTALS_MAX names, runs of new names go uncounted. */
}

static cel_tlimit_t *
limit_entry(cel_ops_t *ops, const char *name, bool claim)
{
    cel_tlimit_t *free_entry = NULL;

    for (int i = 0; i < CEL_LIMITS_MAX; i++) {
        cel_tlimit_t *e = &ops->limits[i];
        if (e->name[0] == '\0') {
            free_entry = free_entry ? free_entry : e;
        } else if (strncmp(e->name, name, sizeof(e->name) - 1) == 0) {
            return e;
        }
    }
    return claim ? free_entry : NULL;
}

int
cel__ops_limit_set(cel_ops_t *ops, const char *name, double soft, double hard)
{
    cel_tlimit_t *e = limit_entry(ops, name, true);

    if (e == NULL) {
        return CEL_ERANGE;
    }
    unsigned s = cel__seq_write_begin(&e->seq);
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->soft = soft;
    e->hard = hard;
    cel__seq_write_end(&e->seq, s);
    return 0;
}

bool
cel__ops_limit_get(cel_ops_t *ops, const char *name, double *soft, double *hard)
{
    for (int tries = 0; tries < CEL_SEQ_TRIES; tries++) {
        cel_tlimit_t *e = limit_entry(ops, name, false);
        if (e == NULL) {
            return false;
        }
        unsigned s = cel__seq_read_begin(&e->seq);
        double so = e->soft, ha = e->hard;
        if (cel__seq_read_ok(&e->seq, s)) {
            *soft = so;
            *hard = ha;
            return so > 0 || ha > 0;
        }
    }
    return false;
}
