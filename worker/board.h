/* board.h: the memory the master shares with its children (one anonymous
 * shared mapping made before the first fork).
 *
 * Each child writes the task it is running into its slot; when a child
 * dies, the master reads that slot and records the task as lost. A child
 * that is then handed the redelivered message finds it in the lost list and
 * reports WorkerLostError instead of running it again, so one task that
 * kills its child cannot kill child after child. */
#ifndef CEL_WORKER_BOARD_H
#define CEL_WORKER_BOARD_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <cel/message.h>

#define CEL_LOST_MAX 64

typedef struct {
    volatile sig_atomic_t busy;      /* written by the child only */
    volatile pid_t pid;              /* the child that set busy */
    volatile sig_atomic_t consuming; /* the child's consumers are up */
    char task_id[CEL_SHORTSTR_SIZE];
    char task_name[128];
} cel_slot_state_t;

typedef struct {
    atomic_uint seq; /* odd while the master writes the entry */
    char task_id[CEL_SHORTSTR_SIZE];
    char reason[160];
} cel_lost_t;

typedef struct {
    atomic_uint next_lost;
    cel_lost_t lost[CEL_LOST_MAX];
    int nslots;
    cel_slot_state_t slots[];
} cel_board_t;

/* cel__board_new maps a board for nslots children; NULL on failure. */
cel_board_t *cel__board_new(int nslots);
void cel__board_free(cel_board_t *board);

/* Child side: announce the task a slot runs, and clear it afterwards. */
void cel__board_begin(cel_board_t *board, int slot, const char *id,
                      const char *name);
void cel__board_end(cel_board_t *board, int slot);

/* Master side: if the dead child in slot was running a task, record it as
 * lost with reason, clear the slot and return true (copying the id and
 * name for the log). */
bool cel__board_reap(cel_board_t *board, int slot, const char *reason, char *id,
                     size_t id_size, char *name, size_t name_size);

/* Child side: if task id was lost with a dead child, copy the reason and
 * return true. Besides the lost list it looks at the other slots: a
 * redelivered task still marked busy by a child that is dead but not yet
 * reaped was lost too (the broker can be faster than SIGCHLD). */
bool cel__board_was_lost(cel_board_t *board, int self, const char *id,
                         char *reason, size_t size);

#endif
