/* held.h: the eta tasks a child holds, unacked, until they are due. */
#ifndef CEL_WORKER_HELD_H
#define CEL_WORKER_HELD_H

#include "child.h"

#include <stddef.h>
#include <stdint.h>

/* Held in full (message and all): at most this many, or this many body
 * bytes. Past either, a task is held by its delivery tag and due time
 * alone (16 bytes) and, when due, handed back to the broker
 * (basic.reject, requeue) to be delivered again and run. Past
 * CEL_HELD_MAX_LIGHT of those, the child stops starting its consumers
 * again: its prefetch window fills with held tasks and it takes no new
 * work until some fall due (the few already on their way are kept too). */
#define CEL_HELD_MAX_FULL  4096
#define CEL_HELD_MAX_BYTES ((size_t)64 << 20)
#define CEL_HELD_MAX_LIGHT ((size_t)1 << 20)

typedef struct {
    int64_t due_us; /* wall clock */
    cel_delivery_t d;
    int turn; /* its rate limit's turn, reserved (child.h); 0: none */
} cel_held_full_t;

typedef struct {
    int64_t due_us;
    uint64_t delivery_tag;
    int turn;
} cel_held_light_t;

typedef struct {
    cel_held_full_t *full; /* owned, CEL_HELD_MAX_FULL entries */
    int nfull;
    size_t full_bytes;
    cel_held_light_t *light; /* owned, grows to CEL_HELD_MAX_LIGHT */
    size_t nlight, light_cap;
    int since_consume;  /* held since the consumers were last started */
    unsigned rates_gen; /* ops.h's, when the turns were last looked at */
} cel_held_t;

/* cel__held_init allocates the table; 0 or CEL_ENOMEM. */
int cel__held_init(cel_held_t *h);

/* cel__held_free releases the table. */
void cel__held_free(cel_held_t *h);

/* cel__held_drop forgets every held task: unacked, they go back to the
 * queue with the connection. Their rate-limit turns are not given back
 * (they lie ahead): those tasks, delivered again, wait behind them. */
void cel__held_drop(cel_held_t *h);

/* cel__held_add holds d until due_us, taking over d's buffers, with
 * c->hold_turn (cleared). Returns 0 or a broker error. */
int cel__held_add(cel_child_t *c, cel_held_t *h, cel_delivery_t *d,
                  int64_t due_us);

/* cel__held_publish shows what h holds in the child's board slot, for
 * remote control's scheduled (held.c calls it whenever h changes; the
 * child after dropping h). */
void cel__held_publish(cel_child_t *c, const cel_held_t *h);

/* cel__held_run_due runs (or hands back) the held tasks that are due, and
 * sets *next_us to the next due time (0 when none is held). Returns 0 or a
 * broker error. */
int cel__held_run_due(cel_child_t *c, cel_held_t *h, int64_t *next_us);

/* cel__held_give_back hands back (basic.reject, requeue) every held task
 * that is due, for another child to run, adds their number to *n and sets
 * *next_us to the next due time (0 when none is held). For the watcher,
 * while the child's own thread runs a task. Returns 0 or a broker error. */
int cel__held_give_back(cel_child_t *c, cel_held_t *h, int64_t *next_us,
                        int *n);

#endif
