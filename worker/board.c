/* board.c: the shared scoreboard. The lost list is a ring written only by
 * the master and read by children; a sequence number per entry (odd while
 * it is being written) lets a reader skip an entry it caught mid-write. */
#include "board.h"

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
cel__board_begin(cel_board_t *board, int slot, const char *id, const char *name)
{
    cel_slot_state_t *s = &board->slots[slot];

    snprintf(s->task_id, sizeof(s->task_id), "%s", id);
    snprintf(s->task_name, sizeof(s->task_name), "%s", name);
    s->pid = getpid();
    atomic_thread_fence(memory_order_release);
    s->busy = 1;
}

void
cel__board_end(cel_board_t *board, int slot)
{
    board->slots[slot].busy = 0;
}

bool
cel__board_reap(cel_board_t *board, int slot, const char *reason, char *id,
                size_t id_size, char *name, size_t name_size)
{
    cel_slot_state_t *s = &board->slots[slot];

    if (!s->busy) {
        return false;
    }
    unsigned i = atomic_fetch_add(&board->next_lost, 1) % CEL_LOST_MAX;
    cel_lost_t *l = &board->lost[i];
    atomic_fetch_add(&l->seq, 1); /* odd: being written */
    memcpy(l->task_id, s->task_id, sizeof(l->task_id));
    snprintf(l->reason, sizeof(l->reason), "%s", reason);
    atomic_fetch_add(&l->seq, 1);
    snprintf(id, id_size, "%s", s->task_id);
    snprintf(name, name_size, "%s", s->task_name);
    s->busy = 0;
    return true;
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
cel__board_was_lost(cel_board_t *board, int self, const char *id, char *reason,
                    size_t size)
{
    if (held_by_dead_child(board, self, id)) {
        snprintf(reason, size,
                 "Worker exited prematurely: the child running "
                 "it died.");
        return true;
    }
    for (int i = 0; i < CEL_LOST_MAX; i++) {
        cel_lost_t *l = &board->lost[i];
        unsigned before = atomic_load(&l->seq);
        if (before == 0 || (before & 1)) {
            continue;
        }
        bool match = strcmp(l->task_id, id) == 0;
        if (match) {
            snprintf(reason, size, "%s", l->reason);
        }
        if (match && atomic_load(&l->seq) == before) {
            return true;
        }
    }
    return false;
}
