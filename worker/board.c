/* board.c: the shared scoreboard. The lost list is a ring written only by
 * the master and read by children; a sequence number per entry (odd while
 * it is being written) lets a reader skip an entry it caught mid-write. */
#include "board.h"
#include "seqlock.h"

#include <cel/clock.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DYING_WAIT_MS 2000 /* how long a child waits for another to die */

static cel_task_key_t
task_key(const char *id)
{
    size_t n = 0;
    uint64_t h = cel__id_hash(id, &n);

    return (cel_task_key_t){h, n};
}

/* Is the task kept as (key, prefix) the one with id and want? */
static bool
same_task(const cel_task_key_t *key, const char *prefix,
          const cel_task_key_t *want, const char *id)
{
    return key->hash == want->hash && key->len == want->len &&
           strncmp(prefix, id, strlen(prefix)) == 0;
}

static size_t
board_size(int nslots)
{
    return sizeof(cel_board_t) + (size_t)nslots * sizeof(cel_slot_state_t);
}

cel_board_t *
cel__board_new(int nslots)
{
    void *p = mmap(NULL, board_size(nslots), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    memset(p, 0, board_size(nslots));
    cel_board_t *board = p;
    board->nslots = nslots;
    board->master = getpid();
    return board;
}

void
cel__board_free(cel_board_t *board)
{
    if (board != NULL) {
        munmap(board, board_size(board->nslots));
    }
}

void
cel__board_begin(cel_board_t *board, int slot, const cel_board_task_t *t)
{
    cel_slot_state_t *s = &board->slots[slot];
    unsigned seq = cel__seq_write_begin(&s->info_seq);

    s->key = task_key(t->id);
    cel_copy_str(s->task_id, sizeof(s->task_id), t->id);
    cel_copy_str(s->task_name, sizeof(s->task_name), t->name);
    cel_copy_str(s->reply_to, sizeof(s->reply_to),
                 t->reply_to ? t->reply_to : "");
    cel_copy_str(s->correlation_id, sizeof(s->correlation_id),
                 t->correlation_id ? t->correlation_id : t->id);
    cel_pyrepr(t->args, true, s->args_repr, sizeof(s->args_repr));
    cel_pyrepr(t->kwargs, false, s->kwargs_repr, sizeof(s->kwargs_repr));
    cel_copy_str(s->exchange, sizeof(s->exchange),
                 t->exchange ? t->exchange : "");
    cel_copy_str(s->routing_key, sizeof(s->routing_key),
                 t->routing_key ? t->routing_key : "");
    s->priority = t->priority;
    s->redelivered = t->redelivered;
    s->started_wall_us = cel_clock_wall_us();
    cel__seq_write_end(&s->info_seq, seq);
    static pid_t me; /* 0 in the master, so each child finds its own */

    if (me == 0) {
        me = getpid();
    }
    s->pid = me;
    s->started_ms = cel_clock_now_ms();
    s->hard_limit_ms = t->hard_limit_ms;
    s->acked = t->acked;
    s->killed_at_limit = 0;
    atomic_fetch_add(&s->run, 1); /* a flag for the last run no longer holds */
    atomic_thread_fence(memory_order_release);
    s->busy = 1;
    atomic_thread_fence(memory_order_seq_cst); /* busy, then the master */
    if (t->hard_limit_ms > 0) {
        int64_t due = s->started_ms + t->hard_limit_ms;
        int64_t wakes = atomic_load(&board->master_wakes_ms);
        if (wakes == 0 || wakes > due) {
            kill(board->master, SIGUSR1); /* it would sleep past the limit */
        }
    }
}

void
cel__board_end(cel_board_t *board, int slot)
{
    board->slots[slot].busy = 0;
    atomic_store(&board->slots[slot].terminate_sig, 0);
}

void
cel__board_resume(cel_board_t *board, int slot)
{
    atomic_thread_fence(memory_order_release);
    board->slots[slot].busy = 1;
}

void
cel__board_broke(cel_board_t *board, int slot, const char *why)
{
    cel_slot_state_t *s = &board->slots[slot];

    if (s->broke_count > 0 &&
        same_task(&s->broke_key, s->broke_id, &s->key, s->task_id)) {
        s->broke_count++;
    } else {
        s->broke_key = s->key;
        memcpy(s->broke_id, s->task_id, sizeof(s->broke_id));
        s->broke_count = 1;
    }
    cel_copy_str(s->broke_why, sizeof(s->broke_why), why);
}

int
cel__board_broke_count(cel_board_t *board, const char *id, char *why,
                       size_t why_size)
{
    cel_task_key_t key = task_key(id);
    int n = 0;

    for (int i = 0; i < board->nslots; i++) {
        cel_slot_state_t *s = &board->slots[i];
        if (s->broke_count > 0 &&
            same_task(&s->broke_key, s->broke_id, &key, id)) {
            n += s->broke_count;
            cel_copy_str(why, why_size, s->broke_why);
        }
    }
    return n;
}

void
cel__board_leave(cel_board_t *board, int slot, const char *why)
{
    cel_copy_str(board->slots[slot].why, sizeof(board->slots[slot].why), why);
}

/* How many times the task was lost before, from the newest entry for it. */
static int
lost_before(cel_board_t *board, const cel_task_key_t *key, const char *id)
{
    int count = 0;

    for (int i = 0; i < CEL_LOST_MAX; i++) {
        cel_lost_t *l = &board->lost[i];
        if (atomic_load(&l->seq) != 0 &&
            same_task(&l->key, l->task_id, key, id) && l->count > count) {
            count = l->count;
        }
    }
    return count;
}

bool
cel__board_reap(cel_board_t *board, int slot, cel_lost_kind_t kind,
                const char *reason, char *id, size_t id_size, char *name,
                size_t name_size)
{
    cel_slot_state_t *s = &board->slots[slot];

    if (!s->busy) {
        return false;
    }
    int count = lost_before(board, &s->key, s->task_id) + 1;
    int signum = 0;
    if (cel__ops_revoked_key(&board->ops, s->key.hash, s->key.len, s->task_id,
                             &signum) &&
        signum != 0) {
        kind = CEL_LOST_REVOKED;
        reason = "terminated";
    }
    unsigned i = atomic_fetch_add(&board->next_lost, 1) % CEL_LOST_MAX;
    cel_lost_t *l = &board->lost[i];
    unsigned seq = cel__seq_write_begin(&l->seq);
    l->key = s->key;
    memcpy(l->task_id, s->task_id, sizeof(l->task_id));
    char why[sizeof(s->why)];
    memcpy(why, s->why, sizeof(why));
    why[sizeof(why) - 1] = '\0';
    snprintf(l->reason, sizeof(l->reason), "%s%s%s", reason, why[0] ? " " : "",
             why);
    s->why[0] = '\0';
    l->kind = (int)kind;
    l->count = count;
    memcpy(l->reply_to, s->reply_to, sizeof(l->reply_to));
    memcpy(l->correlation_id, s->correlation_id, sizeof(l->correlation_id));
    bool report = s->acked && s->reply_to[0] != '\0';
    atomic_store(&l->report, report ? 1 : 0);
    cel__seq_write_end(&l->seq, seq);
    if (report) {
        atomic_fetch_add(&board->unreported, 1);
    }
    snprintf(id, id_size, "%s", s->task_id);
    snprintf(name, name_size, "%s", s->task_name);
    s->busy = 0;
    return true;
}

bool
cel__board_overdue(const cel_board_t *board, int slot, int64_t now_ms)
{
    const cel_slot_state_t *s = &board->slots[slot];

    return s->busy && s->hard_limit_ms > 0 &&
           now_ms - s->started_ms > s->hard_limit_ms;
}

/* A process is gone once it no longer exists or is a zombie. */
static bool
process_dead(pid_t pid)
{
    char path[64], buf[256];

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return true;
    }
    bool dead = false;
    if (fgets(buf, sizeof(buf), f) != NULL) {
        const char *p = strrchr(buf, ')');
        dead = p != NULL && (p[2] == 'Z' || p[2] == 'X');
    }
    fclose(f);
    return dead;
}

/* Waits (a little) for the child in slot s, still marked busy with the
 * task, to be gone. The broker redelivers a message as soon as its
 * consumer's socket closes, which a dying process does before it becomes
 * a zombie, so the redelivery can come first. A child that stays alive
 * lost only its connection: its task runs again, as at-least-once allows. */
static bool
dies_holding(const cel_slot_state_t *s, const cel_task_key_t *key,
             const char *id)
{
    pid_t pid = s->pid;
    int64_t until = cel_clock_now_ms() + DYING_WAIT_MS;

    while (s->busy && s->pid == pid &&
           same_task(&s->key, s->task_id, key, id)) {
        if (process_dead(pid)) {
            return true;
        }
        if (cel_clock_now_ms() >= until) {
            return false;
        }
        cel_clock_sleep_ms(5, NULL);
    }
    return false; /* it finished, or the master reaped it: see the list */
}

/* The slot of a dead child still marked running task id, or NULL. */
static const cel_slot_state_t *
held_by_dead_child(cel_board_t *board, int self, const cel_task_key_t *key,
                   const char *id)
{
    for (int i = 0; i < board->nslots; i++) {
        cel_slot_state_t *s = &board->slots[i];
        if (i != self && s->busy && same_task(&s->key, s->task_id, key, id) &&
            dies_holding(s, key, id)) {
            return s;
        }
    }
    return NULL;
}

void
cel__board_killing(cel_board_t *board, int slot)
{
    board->slots[slot].killed_at_limit = 1;
    atomic_thread_fence(memory_order_release);
}

bool
cel__board_was_lost(cel_board_t *board, int self, const char *id,
                    cel_lost_info_t *info)
{
    cel_task_key_t key = task_key(id);
    bool found = false;

    const cel_slot_state_t *dead = held_by_dead_child(board, self, &key, id);
    if (dead != NULL) {
        bool limit = dead->killed_at_limit;
        info->kind = limit ? CEL_LOST_TIMEOUT : CEL_LOST_DIED;
        info->count = lost_before(board, &key, id) + 1;
        if (limit) {
            snprintf(info->reason, sizeof(info->reason),
                     "Time limit (%gs) exceeded",
                     (double)dead->hard_limit_ms / 1000.0);
        } else {
            snprintf(info->reason, sizeof(info->reason),
                     "Worker exited prematurely: the child running it died.");
        }
        return true;
    }
    /* The newest entry for id counts: it has the highest count. */
    info->count = 0;
    for (int i = 0; i < CEL_LOST_MAX; i++) {
        cel_lost_t *l = &board->lost[i];
        unsigned before = cel__seq_read_begin(&l->seq);
        if (before == 0 || (before & 1) ||
            !same_task(&l->key, l->task_id, &key, id) ||
            l->count <= info->count) {
            continue;
        }
        cel_lost_info_t copy = {(cel_lost_kind_t)l->kind, l->count, ""};
        snprintf(copy.reason, sizeof(copy.reason), "%.*s",
                 (int)sizeof(l->reason) - 1, l->reason);
        if (cel__seq_read_ok(&l->seq, before)) {
            *info = copy;
            found = true;
        }
    }
    return found;
}

bool
cel__board_claim_report(cel_board_t *board, cel_lost_t *out)
{
    if (atomic_load(&board->unreported) <= 0) {
        return false;
    }
    for (int i = 0; i < CEL_LOST_MAX; i++) {
        cel_lost_t *l = &board->lost[i];
        int want = 1;
        unsigned seq = atomic_load(&l->seq);
        if ((seq & 1) == 0 &&
            atomic_compare_exchange_strong(&l->report, &want, 2)) {
            atomic_fetch_sub(&board->unreported, 1);
            memcpy(out->task_id, l->task_id, sizeof(out->task_id));
            memcpy(out->reason, l->reason, sizeof(out->reason));
            memcpy(out->reply_to, l->reply_to, sizeof(out->reply_to));
            memcpy(out->correlation_id, l->correlation_id,
                   sizeof(out->correlation_id));
            out->kind = l->kind;
            out->count = l->count;
            return true;
        }
    }
    return false;
}
