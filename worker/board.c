/* board.c: the shared scoreboard. The lost list is a ring written only by
 * the master and read by children; a sequence number per entry (odd while
 * it is being written) lets a reader skip an entry it caught mid-write. */
#include "board.h"

#include <cel/clock.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

    cel_copy_str(s->task_id, sizeof(s->task_id), t->id);
    cel_copy_str(s->task_name, sizeof(s->task_name), t->name);
    cel_copy_str(s->reply_to, sizeof(s->reply_to),
                 t->reply_to ? t->reply_to : "");
    cel_copy_str(s->correlation_id, sizeof(s->correlation_id),
                 t->correlation_id ? t->correlation_id : t->id);
    static pid_t me; /* 0 in the master, so each child finds its own */

    if (me == 0) {
        me = getpid();
    }
    s->pid = me;
    s->started_ms = cel_clock_now_ms();
    s->hard_limit_ms = t->hard_limit_ms;
    s->acked = t->acked;
    atomic_thread_fence(memory_order_release);
    s->busy = 1;
}

void
cel__board_end(cel_board_t *board, int slot)
{
    board->slots[slot].busy = 0;
}

/* How many times id was lost before, from the newest entry for it. */
static int
lost_before(cel_board_t *board, const char *id)
{
    int count = 0;

    for (int i = 0; i < CEL_LOST_MAX; i++) {
        cel_lost_t *l = &board->lost[i];
        if (atomic_load(&l->seq) != 0 && strcmp(l->task_id, id) == 0 &&
            l->count > count) {
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
    int count = lost_before(board, s->task_id) + 1;
    unsigned i = atomic_fetch_add(&board->next_lost, 1) % CEL_LOST_MAX;
    cel_lost_t *l = &board->lost[i];
    atomic_fetch_add(&l->seq, 1); /* odd: being written */
    memcpy(l->task_id, s->task_id, sizeof(l->task_id));
    snprintf(l->reason, sizeof(l->reason), "%s", reason);
    l->kind = (int)kind;
    l->count = count;
    memcpy(l->reply_to, s->reply_to, sizeof(l->reply_to));
    memcpy(l->correlation_id, s->correlation_id, sizeof(l->correlation_id));
    bool report = s->acked && s->reply_to[0] != '\0';
    atomic_store(&l->report, report ? 1 : 0);
    atomic_fetch_add(&l->seq, 1);
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

static bool
held_by_dead_child(cel_board_t *board, int self, const char *id)
{
    for (int i = 0; i < board->nslots; i++) {
        cel_slot_state_t *s = &board->slots[i];
        if (i != self && s->busy && strcmp(s->task_id, id) == 0 &&
            process_dead(s->pid)) {
            return true;
        }
    }
    return false;
}

bool
cel__board_was_lost(cel_board_t *board, int self, const char *id,
                    cel_lost_info_t *info)
{
    bool found = false;

    if (held_by_dead_child(board, self, id)) {
        info->kind = CEL_LOST_DIED;
        info->count = lost_before(board, id) + 1;
        snprintf(info->reason, sizeof(info->reason),
                 "Worker exited prematurely: the child running it died.");
        return true;
    }
    /* The newest entry for id counts: it has the highest count. */
    info->count = 0;
    for (int i = 0; i < CEL_LOST_MAX; i++) {
        cel_lost_t *l = &board->lost[i];
        unsigned before = atomic_load(&l->seq);
        if (before == 0 || (before & 1) || strcmp(l->task_id, id) != 0 ||
            l->count <= info->count) {
            continue;
        }
        cel_lost_info_t copy = {(cel_lost_kind_t)l->kind, l->count, ""};
        snprintf(copy.reason, sizeof(copy.reason), "%s", l->reason);
        if (atomic_load(&l->seq) == before) {
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
