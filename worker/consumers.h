/* consumers.h: a child's consumers of its task queues. They start on each
 * new connection with the window the run times call for (window.h); the
 * watcher stops them while a long task runs (watch.h), and the child
 * starts them again after it, or when its window or its held eta tasks
 * call for a fresh one. */
#ifndef CEL_WORKER_CONSUMERS_H
#define CEL_WORKER_CONSUMERS_H

#include "child.h"

/* cel__consumers_start sets the window (basic.qos) and consumes each
 * queue; with declare, on a new connection, it declares them first.
 * Returns 0 or a broker error, with the reason in err. */
int cel__consumers_start(cel_child_t *c, bool declare, cel_error_t *err);

/* cel__consumers_stop cancels every consumer. Deliveries already sent
 * stay on the connection, to be read. Returns 0 or a broker error. */
int cel__consumers_stop(cel_child_t *c, cel_error_t *err);

/* cel__consumers_tend starts the consumers again when they were stopped
 * or their window is stale. Returns 0 or a broker error, with the reason
 * in err. */
int cel__consumers_tend(cel_child_t *c, cel_error_t *err);

/* cel__consumers_restart stops and starts them: a new consumer's window
 * counts only its own deliveries. Returns 0 or a broker error, with the
 * reason in err. */
int cel__consumers_restart(cel_child_t *c, cel_error_t *err);

/* cel__consumers_lost notes that the broker cancelled a consumer (why
 * says so, for the log): the consumers start again, their queues declared
 * first, at the next cel__consumers_tend. */
void cel__consumers_lost(cel_child_t *c, const char *why);

#endif
