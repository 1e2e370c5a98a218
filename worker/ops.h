/* ops.h: what remote control and events change while workerd runs,
 * shared by the master, the control process (control.c) and the children,
 * inside the board's shared mapping (board.h): whether task events are
 * on, the event clock, the children wanted (pool_grow/shrink), the queues
 * consumed (add_consumer/cancel_consumer), the revoked ids, the count of
 * tasks run by name (stats' total), rate limits (rate.h) and time limits
 * set at run time.
 *
 * Writers: the master before it forks, then the control process alone
 * (remote control is one process), except the counts by task name, which
 * children add to, and the rate limits' turns, which they take (rate.h).
 * Every entry that is more than one word carries a sequence count
 * (seqlock.h), odd while it is written, which readers check before and
 * after. */
#ifndef CEL_WORKER_OPS_H
#define CEL_WORKER_OPS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cel/message.h>

#include "config.h"
#include "rate.h"

#define CEL_REVOKED_MAX 4096 /* the newest ids revoked are kept */
#define CEL_TOTALS_MAX  256  /* task names counted */
#define CEL_LIMITS_MAX  64   /* tasks with time limits set at run time */

typedef struct {
    atomic_uint seq;
    uint64_t hash; /* of the whole id (board.h's key) */
    size_t len;
    char id[CEL_SHORTSTR_SIZE]; /* its first bytes */
    int64_t at_wall_ms;         /* when it was revoked */
    int signum;                 /* revoke(terminate=True): the signal */
} cel_revoked_t;

typedef struct {
    atomic_int state; /* 0 free, 1 being claimed, 2 ready */
    char name[128];
    _Atomic int64_t count;
} cel_total_t;

typedef struct {
    atomic_uint seq;
    char name[128]; /* "" for a free entry */
    double soft, hard;
} cel_tlimit_t;

typedef struct {
    atomic_int task_events; /* send task events (-E, enable_events) */
    atomic_uint clock;      /* Lamport clock of events and replies */
    atomic_int target;      /* children wanted (pool_grow, pool_shrink) */
    _Atomic pid_t control;  /* the control process; 0: none */
    int64_t started_wall_ms;
    atomic_uint queues_seq; /* the list below, under a sequence count */
    atomic_uint queues_gen; /* changes whenever the list does */
    int nqueues;
    char queues[CEL_MAX_QUEUES][CEL_SHORTSTR_SIZE];
    atomic_uint nrevoked; /* ids ever revoked: the ring's next entry */
    cel_revoked_t revoked[CEL_REVOKED_MAX];
    cel_total_t totals[CEL_TOTALS_MAX];
    cel_rate_t rates[CEL_RATE_MAX];
    atomic_uint rates_gen; /* moves on when remote control sets a limit */
    cel_tlimit_t limits[CEL_LIMITS_MAX];
} cel_ops_t;

/* cel__id_hash is FNV-1a over the whole id, its length in *len: how the
 * board and the revoked list know an id longer than they keep. */
uint64_t cel__id_hash(const char *id, size_t *len);

/* cel__ops_init fills ops from the configuration (queues, -E, rate
 * limits) in the master before it forks. Returns 0 or CEL_EINVAL. */
int cel__ops_init(cel_ops_t *ops, const cel_worker_config_t *cfg);

/* cel__ops_tick advances the event clock and returns its new value. */
unsigned cel__ops_tick(cel_ops_t *ops);

/* Queues: cel__ops_queues copies the list into out (and its generation
 * into *gen), returning how many, or CEL_ETIMEDOUT with neither touched
 * when the writer kept it busy (or died halfway); cel__ops_queue_add and
 * _remove change it (control process only): 0, CEL_ERANGE when full,
 * CEL_EINVAL for a queue already there (add) or not there (remove).
 * cel__ops_queue_room says whether add would take name (the control
 * process, before it declares the queue). */
int cel__ops_queues(cel_ops_t *ops, char out[][CEL_SHORTSTR_SIZE],
                    unsigned *gen);
int cel__ops_queue_add(cel_ops_t *ops, const char *name);
int cel__ops_queue_remove(cel_ops_t *ops, const char *name);
int cel__ops_queue_room(const cel_ops_t *ops, const char *name);

/* Revoked ids: cel__ops_revoke adds id (signum 0: not terminating);
 * cel__ops_revoked says whether id is revoked, with the signal it asked
 * for in *signum (NULL: not wanted). cel__ops_revoked_list calls each for
 * every id kept, newest last. */
void cel__ops_revoke(cel_ops_t *ops, const char *id, int signum);
bool cel__ops_revoked(cel_ops_t *ops, const char *id, int *signum);
/* The same for an id known by its hash, length and first bytes (the
 * board's key). */
bool cel__ops_revoked_key(cel_ops_t *ops, uint64_t hash, size_t len,
                          const char *prefix, int *signum);
void cel__ops_revoked_list(cel_ops_t *ops,
                           void (*each)(const char *id, int64_t at_wall_ms,
                                        void *arg),
                           void *arg);

/* Counts by task name: cel__ops_count adds one run of name; totals are
 * read straight from ops->totals (state 2 entries; a name may appear in
 * two entries after a race, to be summed). */
void cel__ops_count(cel_ops_t *ops, const char *name);

/* Time limits by task name: set (both 0: cleared) and read (0 for
 * none). cel__ops_limit_set returns 0 or CEL_ERANGE when full. */
int cel__ops_limit_set(cel_ops_t *ops, const char *name, double soft,
                       double hard);
bool cel__ops_limit_get(cel_ops_t *ops, const char *name, double *soft,
                        double *hard);

#endif
