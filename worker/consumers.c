/* consumers.c: starting and stopping a child's consumers. A consumer the
 * broker cancels (its queue was deleted, or the node holding it went
 * down) is started again on the same connection, its queue declared
 * again; if that fails the channel closes and the child reconnects with
 * backoff. RabbitMQ's
 * basic.qos (per consumer) applies to consumers started after it, so every
 * change of window goes through a restart; so does a window full of held
 * eta tasks (held.c), since the new consumer's window counts only its own
 * deliveries. */
#include "consumers.h"

#include <cel/log.h>

/* The generation of the board's queue list (ops.h): add_consumer and
 * cancel_consumer move it on. */
static unsigned
queues_gen(cel_child_t *c)
{
    return atomic_load(&c->board->ops.queues_gen);
}

int
cel__consumers_start(cel_child_t *c, bool declare, cel_error_t *err)
{
    int r = 0;

    if (declare || c->window.want != c->window.size) {
        r = cel_broker_qos(c->broker, c->window.want, false, err);
    }
    c->window.size = c->window.want;
    if (c->nqueues == 0 || c->queues_gen != queues_gen(c)) {
        int n = cel__ops_queues(&c->board->ops, c->queues, &c->queues_gen);
        declare = declare || n >= 0;
        c->nqueues = n >= 0 ? n : c->nqueues; /* else again next time */
    }
    for (int i = 0; r == 0 && i < c->nqueues; i++) {
        if (declare) {
            r = cel_broker_declare_task_queue(c->broker, c->queues[i], err);
        }
        if (r == 0) {
            r = cel_broker_consume(c->broker, c->queues[i], false, c->tags[i],
                                   sizeof(c->tags[i]), err);
        }
    }
    c->consuming = r == 0;
    c->window_stale = false;
    return r;
}

int
cel__consumers_stop(cel_child_t *c, cel_error_t *err)
{
    int r = 0;

    for (int i = 0; r == 0 && i < c->nqueues; i++) {
        r = cel_broker_cancel(c->broker, c->tags[i], err);
    }
    c->consuming = false;
    return r;
}

int
cel__consumers_restart(cel_child_t *c, cel_error_t *err)
{
    int r = c->consuming ? cel__consumers_stop(c, err) : 0;
    r = r != 0 ? r : cel__consumers_start(c, c->redeclare, err);
    c->redeclare = c->redeclare && r != 0;
    return r;
}

void
cel__consumers_lost(cel_child_t *c, const char *why)
{
    CEL_LOG(CEL_LOG_WARN,
            "%s: declaring the queues again and consuming them (the "
            "connection stays)",
            why);
    c->redeclare = true;
    c->window_stale = true;
}

int
cel__consumers_tend(cel_child_t *c, cel_error_t *err)
{
    if (c->consuming && !c->window_stale && c->queues_gen == queues_gen(c)) {
        return 0;
    }
    if (c->nqueues > 0 && c->queues_gen != queues_gen(c)) {
        CEL_LOG(CEL_LOG_INFO, "the queues to consume changed (remote control)");
    }
    if (c->window.want != c->window.size) {
        CEL_LOG(CEL_LOG_DEBUG,
                "tasks run %.3f ms on average: window %d instead of %d",
                (double)c->window.mean_us / 1000.0, c->window.want,
                c->window.size);
    }
    return cel__consumers_restart(c, err);
}
