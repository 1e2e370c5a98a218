/* canvas.h: chains, links and errbacks carried in a task's embed, sent on
 * by the child that ran the task (canvas.c). */
#ifndef CEL_WORKER_CANVAS_H
#define CEL_WORKER_CANVAS_H

#include "child.h"
#include "signature.h"

/* cel__canvas_send publishes step as a task message whose parent is m,
 * appending its result tuple to children (if not NULL). Returns 0, a
 * broker error, or an encoding error with the reason in err. */
int cel__canvas_send(cel_child_t *c, const cel_delivery_t *d,
                     const cel_task_msg_t *m, const cel_step_t *step,
                     json_t *children, cel_error_t *err);

/* cel__canvas_success sends m's links and its chain's next step with value
 * (borrowed), naming them in children. Returns 0 or a broker error. */
int cel__canvas_success(cel_child_t *c, const cel_delivery_t *d,
                        const cel_task_msg_t *m, const json_t *value,
                        json_t *children);

/* cel__canvas_failure fails the rest of m's chain with exc (borrowed) and
 * sends its errbacks. Returns 0 or a broker error. */
int cel__canvas_failure(cel_child_t *c, const cel_delivery_t *d,
                        const cel_task_msg_t *m, const json_t *exc,
                        const char *traceback);

/* cel__canvas_fail_chain answers every step of chain (an array of
 * signatures) with a FAILURE of exc. Returns 0 or a broker error. */
int cel__canvas_fail_chain(cel_child_t *c, const json_t *chain,
                           const json_t *exc, const char *traceback);

/* cel__canvas_is_chord: does m carry a chord? cel__canvas_refuse_chord
 * answers the chord's body with exc. */
bool cel__canvas_is_chord(const cel_task_msg_t *m);
int cel__canvas_refuse_chord(cel_child_t *c, const cel_task_msg_t *m,
                             const json_t *exc);

#endif
