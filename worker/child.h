/* child.h: one executor process. It owns its own broker connection (made
 * after fork; a connection never crosses a fork), consumes the task queues,
 * runs each task, publishes the result to the caller's reply queue, and
 * only then acks, so a child killed mid-task leaves its message to be
 * redelivered. */
#ifndef CEL_WORKER_CHILD_H
#define CEL_WORKER_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cel/broker.h>

#include "board.h"
#include "config.h"
#include "events.h"
#include "registry.h"
#include "window.h"

typedef struct cel_returned cel_returned_t;

typedef struct {
    const cel_worker_config_t *cfg;
    const cel_registry_t *reg;
    cel_board_t *board;
    int slot;
    cel_broker_t *broker;
    cel_returned_t *returned; /* results the broker returned; NULL: none */
    uint64_t tasks_done;
    uint64_t ack_upto; /* tasks done up to this tag, their ack not sent */
    int acks_due;      /* how many */
    bool holding;      /* eta tasks are held: ack one by one */
    char tags[CEL_MAX_QUEUES][CEL_SHORTSTR_SIZE]; /* consumer tags */
    bool consuming;      /* the consumers run (the watcher may stop them) */
    bool window_stale;   /* start them again with window.want */
    bool redeclare;      /* and declare their queues first */
    bool channel_reset;  /* the broker closed the channel under a task: the
                            deliveries held on it are gone */
    cel_window_t window; /* their prefetch window */
    int node; /* the broker of a failover list last connected to; -1 */
    struct cel_watch *watch; /* owned; NULL: none (watch.h) */
    bool finishing;          /* a task finished since the last good read: a
                                broken connection now is laid at its door */
    char last_err[160];      /* the broker's last error text */
    char declared[CEL_SHORTSTR_SIZE]; /* the queue a chain step was last
                                         sent to, declared on this
                                         connection ("" after a connect) */
    int sock_fd;                      /* the broker connection's descriptor, */
    uint64_t sock_ino; /* and its inode, to see a task replace it */
    /* The queues consumed, as the board's list (ops.h) stood at
     * queues_gen: add_consumer and cancel_consumer change it. */
    char queues[CEL_MAX_QUEUES][CEL_SHORTSTR_SIZE];
    int nqueues;
    unsigned queues_gen;
    cel_event_batch_t events; /* task events not sent yet */
    bool rerun;               /* the delivery comes from held.c again */
    /* Rate limits (rate.h) reserve a run's turn when they hold a task:
     * hold_turn is the turn cel__execute held the delivery for (held.c
     * keeps it with the delivery, and gives it back if the delivery
     * leaves unrun), rerun_turn the turn of the delivery held.c hands
     * back in; 0 for none. */
    int hold_turn, rerun_turn;
} cel_child_t;

/* Task events (task_events.c): each does nothing while they are off. */
void cel__tev_received(cel_child_t *c, const cel_task_msg_t *m);
void cel__tev_started(cel_child_t *c, const cel_task_msg_t *m);
void cel__tev_succeeded(cel_child_t *c, const cel_task_msg_t *m,
                        const json_t *value, double runtime_s);
/* type: "task-failed" or "task-retried". */
void cel__tev_failed(cel_child_t *c, const char *type, const cel_task_msg_t *m,
                     const char *exc_type, const char *message,
                     const char *traceback);
void cel__tev_revoked(cel_child_t *c, const cel_task_msg_t *m, bool terminated,
                      int signum, bool expired);
void cel__tev_rejected(cel_child_t *c, const cel_task_msg_t *m, bool requeue);
/* A task lost with its child, known by id alone (it was acked early):
 * task-revoked (terminated) or task-failed with exc_type(reason). */
void cel__tev_lost(cel_child_t *c, const char *id, bool revoked,
                   const char *exc_type, const char *reason);
/* cel__tev_flush sends the batch; 0 or the broker error (logged). */
int cel__tev_flush(cel_child_t *c);

/* cel__child_main runs a child until a warm shutdown; returns its exit
 * code. Called right after fork. */
int cel__child_main(const cel_worker_config_t *cfg, const cel_registry_t *reg,
                    cel_board_t *board, int slot, pid_t master);

/* cel__execute handles one delivery: decode, run, publish, ack or reject.
 * Returns 0; CEL__HOLD when the task's eta is still ahead (the caller
 * keeps d and calls again at *hold_until_us, wall clock); or a broker error
 * after which the connection must be rebuilt (the message is then
 * redelivered by the broker). */
#define CEL__HOLD 1
int cel__execute(cel_child_t *c, cel_delivery_t *d, int64_t *hold_until_us);

/* cel__flush_acks sends the acks of finished tasks batched so far (one
 * basic.ack multiple). Returns 0 or a broker error. */
int cel__flush_acks(cel_child_t *c);

/* cel__refuse_unreadable answers and rejects (without requeue) a delivery
 * whose headers could not be read. Returns 0 or a broker error. */
int cel__refuse_unreadable(cel_child_t *c, const cel_delivery_t *d,
                           const char *why);

/* cel__report_lost publishes the failures of tasks lost after they were
 * acked early (no redelivery will report them). Returns 0 or a broker
 * error. */
int cel__report_lost(cel_child_t *c);

/* guard.c: cel__guard_init sets the child up to reap what its tasks
 * leave and to know a fork of its own (at start); cel__guard_connected
 * notes the connection's descriptor (after each connect); cel__guard_check
 * runs after each task and does not return in a process the task forked;
 * cel__guard_broken runs after a broker error and does not return when the
 * last task closed the connection's descriptor (the task is then reported
 * lost). */
void cel__guard_init(void);
void cel__guard_connected(cel_child_t *c);
void cel__guard_check(void);
void cel__guard_broken(cel_child_t *c);

/* cel__guard_intact: is the connection's descriptor still the socket the
 * child opened (a task may have closed it, and the number may now be
 * another file's)? */
bool cel__guard_intact(const cel_child_t *c);

/* cel__reply_publish sends a task's outcome (state, result and traceback,
 * borrowed; either may be NULL) to reply_to, unless nobody asked for it
 * (reply_to or id NULL or ""). A result that cannot be encoded, or is over
 * --max-result-size, is replaced by a FAILURE saying why. It is published
 * with mandatory: if reply_to does not exist, the broker returns it (see
 * returned.c). Returns 0, or a broker error after which the connection
 * must be rebuilt. */
int cel__reply_publish(cel_child_t *c, const char *reply_to, const char *id,
                       const char *correlation_id, cel_state_t state,
                       const json_t *result, const char *traceback);

/* cel__reply_bound is the largest message body the broker takes, as far
 * as is known: --max-result-size, or the limit learned from a refusal. */
size_t cel__reply_bound(const cel_child_t *c);

/* cel__reply_send is cel__reply_publish from a result spec (which can
 * name the task's children). */
int cel__reply_send(cel_child_t *c, const char *reply_to,
                    const cel_result_spec_t *outcome);

/* returned.c: results whose reply queue did not exist, which the broker
 * returned (cel__reply_publish uses mandatory), published again for
 * CEL_RETURN_WINDOW_MS. cel__returned_add keeps d's message (a returned
 * one), and clears d; cel__returned_run_due publishes what is due and
 * lowers *timeout_ms to the time until the next, returning 0 or a broker
 * error; cel__returned_connected, at each new connection, has what the
 * old one published go again; cel__returned_free logs what was never
 * delivered and frees it (NULL is a no-op). */
void cel__returned_add(cel_child_t *c, cel_delivery_t *d);
int cel__returned_run_due(cel_child_t *c, int *timeout_ms);
void cel__returned_connected(cel_child_t *c);
void cel__returned_free(cel_returned_t *rt);

/* cel__retry_send publishes m again for its retry in countdown_s seconds.
 * Returns 0, a broker error (see cel__broker_broken), or another code
 * with the reason in err when the message cannot be sent again. */
int cel__retry_send(cel_child_t *c, const cel_delivery_t *d,
                    const cel_task_msg_t *m, double countdown_s,
                    cel_error_t *err);

/* cel__broker_broken: does code say the connection must be rebuilt (as
 * opposed to one message being refused before it left)? */
static inline bool
cel__broker_broken(int code)
{
    return code == CEL_EBROKER || code == CEL_ECONN || code == CEL_ECLOSED ||
           code == CEL_ETIMEDOUT;
}

/* cel__reply_learn_limit reads the broker's maximum message size from the
 * text of its refusal (PRECONDITION_FAILED "... larger than configured max
 * size N"), if that is what broker_text is, and holds results to it. */
void cel__reply_learn_limit(cel_child_t *c, const char *broker_text);

/* The child's warm-shutdown flag, set by its SIGTERM handler. */
extern volatile sig_atomic_t cel__child_stop;

/* cel__child_terminate kills the child with sig, as revoke(terminate=True)
 * would have, after sending the acks and events of what it finished: for
 * a task revoked so while its child was starting it. */
void cel__child_terminate(cel_child_t *c, int sig);

#endif
