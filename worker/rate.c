/* rate.c: task rate limits shared by every child (see rate.h). One
 * process writes the table (the master before it forks, then the control
 * process); children read it under each entry's sequence count and take
 * or reserve runs with a compare-and-swap on the entry's theoretical
 * arrival time. */
#include "rate.h"
#include "seqlock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cel__rate_parse(const char *text, double *per_s)
{
    char *end;

    if (text == NULL || *text == '\0') {
        return CEL_EINVAL;
    }
    double n = strtod(text, &end);
    if (end == text || !(n >= 0) || n > 1e9) {
        return CEL_EINVAL;
    }
    double per = 1;
    if (*end == '/') {
        per = strcmp(end, "/s") == 0   ? 1
              : strcmp(end, "/m") == 0 ? 60
              : strcmp(end, "/h") == 0 ? 3600
                                       : 0;
        if (per == 0) {
            return CEL_EINVAL;
        }
    } else if (*end != '\0') {
        return CEL_EINVAL;
    }
    *per_s = n / per;
    return 0;
}

static cel_rate_t *
find(cel_rate_t *table, const char *name, bool claim)
{
    cel_rate_t *free_entry = NULL;

    for (int i = 0; i < CEL_RATE_MAX; i++) {
        if (table[i].name[0] == '\0') {
            free_entry = free_entry ? free_entry : &table[i];
        } else if (strncmp(table[i].name, name, sizeof(table[i].name)) == 0) {
            return &table[i];
        }
    }
    return claim ? free_entry : NULL;
}

int
cel__rate_set(cel_rate_t *table, const char *name, double per_s,
              const char *text)
{
    cel_rate_t *e = find(table, name, per_s > 0);

    if (e == NULL) {
        return per_s > 0 ? CEL_ERANGE : 0;
    }
    unsigned s = cel__seq_write_begin(&e->seq);
    atomic_store(&e->tat_us, 0); /* a new limit starts now */
    atomic_store(&e->credit, 0);
    if (per_s > 0) {
        snprintf(e->name, sizeof(e->name), "%s", name);
        snprintf(e->text, sizeof(e->text), "%s", text);
        atomic_store(&e->interval_us, (int64_t)llround(1e6 / per_s));
    } else {
        atomic_store(&e->interval_us, 0);
        e->text[0] = '\0';
    }
    cel__seq_write_end(&e->seq, s);
    return 0;
}

/* The interval of name's entry, read consistently; 0 when it has none. */
static int64_t
interval_of(cel_rate_t *table, const char *name, cel_rate_t **entry)
{
    for (int tries = 0; tries < CEL_SEQ_TRIES; tries++) {
        cel_rate_t *e = find(table, name, false);
        if (e == NULL) {
            return 0;
        }
        unsigned s = cel__seq_read_begin(&e->seq);
        int64_t us = atomic_load(&e->interval_us);
        bool same = strncmp(e->name, name, sizeof(e->name)) == 0;
        if (cel__seq_read_ok(&e->seq, s)) {
            *entry = e;
            return same ? us : 0;
        }
    }
    return 0; /* a writer that never finishes: run rather than stall */
}

/* A turn given back, if any is: true when this run takes it. */
static bool
take_credit(cel_rate_t *e)
{
    int64_t n = atomic_load(&e->credit);

    while (n > 0) {
        if (atomic_compare_exchange_weak(&e->credit, &n, n - 1)) {
            return true;
        }
    }
    return false;
}

int64_t
cel__rate_take(cel_rate_t *table, const char *name, int64_t now_us, int *turn)
{
    cel_rate_t *e = NULL;
    int64_t interval = interval_of(table, name, &e);

    *turn = 0;
    if (interval <= 0 || take_credit(e)) {
        return 0;
    }
    /* The run's turn is the later of now and the entry's time; the next
     * run's comes an interval after it. */
    int64_t tat = atomic_load(&e->tat_us);
    for (;;) {
        int64_t at = tat > now_us ? tat : now_us;
        if (atomic_compare_exchange_weak(&e->tat_us, &tat, at + interval)) {
            *turn = at > now_us ? (int)(e - table) + 1 : 0;
            return at - now_us;
        }
    }
}

void
cel__rate_give_back(cel_rate_t *table, int turn)
{
    if (turn > 0 && turn <= CEL_RATE_MAX) {
        atomic_fetch_add(&table[turn - 1].credit, 1);
    }
}

void
cel__rate_text(cel_rate_t *table, const char *name, char *out, size_t size)
{
    cel_rate_t *e = NULL;

    out[0] = '\0';
    if (interval_of(table, name, &e) > 0) {
        snprintf(out, size, "%s", e->text);
    }
}
