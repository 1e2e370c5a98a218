/* watch.h: a child's watcher, a thread that acts for the child while a
 * task's function runs (the child's own thread is then in the task and
 * reads nothing from the broker). Once a task has run past
 * --hand-back-after, the watcher stops the child's consumers and hands
 * back (basic.reject, requeue) every task the child holds but has not
 * started: the deliveries in its prefetch window and the held eta tasks
 * that fall due while the task runs. Idle siblings run them at once.
 * With beats, it also keeps the connection's heartbeats while a task
 * runs. */
#ifndef CEL_WORKER_WATCH_H
#define CEL_WORKER_WATCH_H

#include "child.h"
#include "held.h"

#include <stdbool.h>

typedef struct cel_watch cel_watch_t;

/* cel__watch_start starts c's watcher, which hands back after after_us of
 * a run (0: never) and gives back held tasks from held (borrowed, c's
 * own), and with beats sends heartbeats while a task runs. Returns a
 * watcher (free it with cel__watch_stop), or NULL when it has nothing to
 * do or on a failure (logged): the child then runs without one. */
cel_watch_t *cel__watch_start(cel_child_t *c, cel_held_t *held,
                              int64_t after_us, bool beats);

/* cel__watch_stop stops and frees w (NULL is fine). */
void cel__watch_stop(cel_watch_t *w);

/* cel__watch_end's answer when the broker closed the channel while the
 * task ran (its consumer_timeout): the channel is open again, but the
 * task's delivery, and every other this child held, went back to the
 * queue. */
#define CEL__WATCH_RESET 2

/* cel__watch_begin is called just before a task's function runs, and
 * cel__watch_end just after, before the child uses its connection again.
 * cel__watch_end returns 0 when the consumers still run, 1 when the
 * watcher stopped them (the child starts them again), CEL__WATCH_RESET
 * (the broker's reason in err), or the broker error
 * that stopped the watcher, with its text in err. name and id (the task's,
 * for the log) are borrowed until cel__watch_end. Both accept NULL. */
void cel__watch_begin(cel_watch_t *w, const char *name, const char *id);
int cel__watch_end(cel_watch_t *w, cel_error_t *err);

#endif
