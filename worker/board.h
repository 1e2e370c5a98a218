/* board.h: the memory the master shares with its children (one anonymous
 * shared mapping made before the first fork).
 *
 * Each child writes the task it is running into its slot; when a child
 * dies, the master reads that slot and records the task as lost. A child
 * that is then handed the redelivered message finds it in the lost list and
 * reports WorkerLostError instead of running it again, so one task that
 * kills its child cannot kill child after child. The fields that two
 * processes read and write are C11 atomics (lock-free on the platforms
 * workerd builds for, so they work across the shared mapping); the text
 * beside them is published by a release fence before busy is set. */
#ifndef CEL_WORKER_BOARD_H
#define CEL_WORKER_BOARD_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <cel/message.h>

#include "ops.h"

#define CEL_LOST_MAX    64
#define CEL_SCHED_SHOWN 16 /* held eta tasks each slot shows */

/* A task id of any length, as the board keeps it: its length and a hash of
 * all its bytes beside the first CEL_SHORTSTR_SIZE - 1 of them. Two ids
 * match when all three agree, so an id longer than the buffer is still
 * found again (a false match needs a 64-bit hash collision between ids of
 * the same length and prefix, and would fail a task, never loop it). */
typedef struct {
    uint64_t hash;
    size_t len;
} cel_task_key_t;

typedef struct {
    atomic_int busy;               /* written by the child only */
    _Atomic pid_t pid;             /* the child that set busy */
    atomic_int consuming;          /* the child's consumers are up */
    atomic_int retiring;           /* the child leaves on purpose (max
                                      tasks or memory): replace it at once.
                                      Never read from an exit code, which a
                                      task can choose too. */
    _Atomic int64_t started_ms;    /* monotonic, when the task began */
    _Atomic int64_t hard_limit_ms; /* the task's hard limit, 0: none */
    atomic_int acked;              /* acked early: no redelivery will come */
    atomic_int killed_at_limit;    /* the master killed the child
                                      at the task's hard limit */
    atomic_uint run;               /* tasks begun in this slot */
    atomic_int terminate_sig;      /* revoke(terminate=True): the signal
                                      the control process sends for run
                                      terminate_run; the child dies of it
                                      (child.c), even of SIGTERM, which
                                      otherwise stops it warm. Cleared as
                                      a task ends and as a new child takes
                                      the slot; run moving on voids it. */
    atomic_uint terminate_run;
    cel_task_key_t key;              /* the task's whole id, hashed */
    char task_id[CEL_SHORTSTR_SIZE]; /* its first bytes, for logs */
    char why[96]; /* why a child left mid-task on purpose, "" if not */
    /* The last task whose finishing (publishing its canvas, result or ack)
     * broke this child's connection, and how often: the broker closes a
     * channel for a message it cannot route or take, and the task, unacked,
     * comes back. Written by the child only. */
    cel_task_key_t broke_key;
    char broke_id[CEL_SHORTSTR_SIZE];
    int broke_count;
    char broke_why[96];
    char task_name[128];
    char reply_to[CEL_SHORTSTR_SIZE]; /* where to report it, "" for nowhere */
    char correlation_id[CEL_SHORTSTR_SIZE];
    /* For remote control's active and query_task (control.h), with the
     * text above, under info_seq (seqlock.h; the child writes it): */
    atomic_uint info_seq;
    int64_t started_wall_us;
    char args_repr[128], kwargs_repr[128]; /* cut, as Celery's argsrepr */
    char exchange[128], routing_key[128];
    int priority;
    bool redelivered;
    /* The eta tasks the child holds (held.c), for remote control's
     * scheduled: the first CEL_SCHED_SHOWN of nsched, under sched_seq
     * (odd while the child writes them). */
    atomic_uint sched_seq;
    int nsched;
    struct {
        char id[64], name[64];
        int64_t eta_us; /* wall clock */
    } sched[CEL_SCHED_SHOWN];
} cel_slot_state_t;

/* Why a task was lost. */
typedef enum {
    CEL_LOST_DIED = 1, /* its child died (crash, kill, OOM) */
    CEL_LOST_TIMEOUT,  /* the master killed it at its hard time limit */
    CEL_LOST_REVOKED,  /* revoke(terminate=True) killed its child */
} cel_lost_kind_t;

typedef struct {
    atomic_uint seq;   /* odd while the master writes the entry */
    int kind;          /* cel_lost_kind_t */
    int count;         /* how many times this task was lost */
    atomic_int report; /* 1: a child must report it (it was acked early,
                          so no redelivery will); 2: claimed */
    cel_task_key_t key;
    char task_id[CEL_SHORTSTR_SIZE];
    char reason[160];
    char reply_to[CEL_SHORTSTR_SIZE];
    char correlation_id[CEL_SHORTSTR_SIZE];
} cel_lost_t;

typedef struct {
    cel_lost_kind_t kind;
    int count;
    char reason[160];
} cel_lost_info_t;

typedef struct {
    atomic_size_t result_limit; /* the broker's max message size, learned
                                   from its refusal of a result; 0: not yet */
    atomic_uint next_lost;
    atomic_int unreported; /* entries with report == 1 */
    /* When the master will next look at the board on its own (monotonic
     * ms; 0: not until a signal), and its pid: a child whose task has a
     * hard limit due sooner wakes it (SIGUSR1). */
    atomic_int_fast64_t master_wakes_ms;
    pid_t master;
    cel_ops_t ops; /* what remote control changes (ops.h) */
    cel_lost_t lost[CEL_LOST_MAX];
    int nslots;
    cel_slot_state_t slots[];
} cel_board_t;

/* cel__board_new maps a board for nslots children; NULL on failure. */
cel_board_t *cel__board_new(int nslots);
void cel__board_free(cel_board_t *board);

/* Child side: announce the task a slot runs (with its hard time limit in
 * ms, 0 for none, which the master enforces), and clear it afterwards. A
 * task acked before it runs also leaves where its failure goes, since no
 * redelivery will tell anyone that it was lost. */
typedef struct {
    const char *id, *name;
    int64_t hard_limit_ms;
    bool acked;
    const char *reply_to, *correlation_id; /* NULL when none */
    const json_t *args, *kwargs;           /* for remote control */
    const char *exchange, *routing_key;
    int priority;
    bool redelivered;
} cel_board_task_t;

void cel__board_begin(cel_board_t *board, int slot, const cel_board_task_t *t);
void cel__board_end(cel_board_t *board, int slot);

/* Child side: marks the slot's last task as running again (its data is
 * still there), for a child that finds, after the task, that the task
 * broke it. */
void cel__board_resume(cel_board_t *board, int slot);

/* Child side: the slot's last task broke the connection while it was
 * being finished, for the reason why. */
void cel__board_broke(cel_board_t *board, int slot, const char *why);

/* Child side: how many times finishing task id broke a connection, in
 * every slot; the last reason is copied into why. */
int cel__board_broke_count(cel_board_t *board, const char *id, char *why,
                           size_t why_size);

/* Child side: the child leaves with its task unfinished, for the reason
 * why (which the master adds to the task's WorkerLostError). */
void cel__board_leave(cel_board_t *board, int slot, const char *why);

/* Master side: if the dead child in slot was running a task, record it as
 * lost (kind, reason; counting earlier losses of the same task), clear the
 * slot and return true (copying the id and name for the log). */
bool cel__board_reap(cel_board_t *board, int slot, cel_lost_kind_t kind,
                     const char *reason, char *id, size_t id_size, char *name,
                     size_t name_size);

/* Master side: marks that the master kills slot's child at its task's
 * hard time limit (before the kill, so a child that gets the task
 * redelivered before the master reaps the dead one reports the limit). */
void cel__board_killing(cel_board_t *board, int slot);

/* Master side: true when slot's task has run past its hard limit. */
bool cel__board_overdue(const cel_board_t *board, int slot, int64_t now_ms);

/* Child side: if task id was lost with a dead child, copy the reason and
 * return true. Besides the lost list it looks at the other slots: a
 * redelivered task still marked busy by a child that is dead but not yet
 * reaped was lost too (the broker can be faster than SIGCHLD). */
bool cel__board_was_lost(cel_board_t *board, int self, const char *id,
                         cel_lost_info_t *info);

/* Child side: claims one lost task that must be reported (acked early),
 * copying it into out. Returns false when there is none. */
bool cel__board_claim_report(cel_board_t *board, cel_lost_t *out);

#endif
