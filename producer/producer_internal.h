/* producer_internal.h: the client, its results and groups.
 *
 * A client has two connections: tx publishes tasks (under send_lock) and
 * rx consumes the reply queue. Everything else, the pending table, every
 * result's state and the callback queue, sits under the one client lock.
 * Replies are read by one thread at a time (the reader) without the lock
 * held; other waiters sleep on the condition variable until the reader
 * has settled a batch. The client is reference counted by its handle and
 * its live results and groups, so a result can outlive cel_client_close. */
#ifndef CEL_PRODUCER_INTERNAL_H
#define CEL_PRODUCER_INTERNAL_H

#include <cel/broker.h>
#include <cel/id.h>
#include <cel/producer.h>

#include <pthread.h>
#include <stdatomic.h>

/* result flags */
#define R_USER    0x01 /* the program holds it (not yet freed) */
#define R_TRACKED 0x02 /* in the pending table, waiting for its reply */
#define R_QUEUED  0x04 /* ready, its callback not yet run */
#define R_LOST    0x08 /* its reply can no longer come: connection lost */
#define R_DROPPED 0x10 /* lost too: its reply queue was deleted meanwhile */
#define R_HELD                                                                 \
    0x20 /* held by another result (canvas.c): not the program's               \
            to free or give to a group */

typedef struct {
    cel_callback_fn *ok, *fail;
    void *arg;
} cel_hooks_t;

typedef struct {
    char *message;
    char *traceback; /* NULL when the worker sent none */
} cel_failure_t;

struct cel_result {
    cel_client_t *client; /* set for the result's whole life */
    json_t *value;        /* the value, or the exception object */
    cel_failure_t *fail;  /* FAILURE and REVOKED only */
    cel_hooks_t *hooks;   /* callbacks not yet run; NULL when none */
    cel_group_t *group;   /* the group holding it, or NULL */
    cel_result_t *next;   /* in the callback queue or a group's done list */
    struct cel_kin *kin;  /* canvas results r holds (canvas.c), or NULL */
    uint8_t state;        /* cel_state_t */
    uint8_t flags;
    char id[]; /* the task id */
};

struct cel_group {
    cel_client_t *client;
    cel_result_t *head, *tail; /* ready, not yet handed back */
    size_t held;               /* results the group holds */
};

/* Open addressing with linear probing over result pointers, keyed by id. */
typedef struct {
    cel_result_t **slots;
    size_t cap; /* a power of two */
    size_t count;
} cel_pending_t;

int cel__pending_init(cel_pending_t *p);
void cel__pending_clear(cel_pending_t *p);
int cel__pending_add(cel_pending_t *p, cel_result_t *r);
cel_result_t *cel__pending_find(const cel_pending_t *p, const char *id);
void cel__pending_remove(cel_pending_t *p, const cel_result_t *r);

/* cel__pending_take_all empties p, calling each with every result it held
 * (already out of the table, R_TRACKED cleared). */
void cel__pending_take_all(cel_pending_t *p, void (*each)(cel_result_t *r));

#define CEL_MAX_DECLARED 16

struct cel_client {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a batch was settled, or a callback has run */
    size_t refs;         /* the handle, live results and groups */
    bool closed;         /* cel_client_close was called */
    bool reading;        /* a thread is reading replies */
    bool firing;         /* a thread is running callbacks */
    int dead;            /* the rx connection's error, 0 while it works */
    cel_error_t dead_err;
    size_t lost;          /* results lost since the last join */
    const char *lost_why; /* how the last of them was lost, for join */
    int64_t read_at_ms;   /* when the reply connection was last read */
    /* When the reply connection was last seen caught up with no cancel
     * (so a deletion of the reply queue came after), what was read since
     * (bytes, a stand-in for frame overhead added per message), and when
     * it was last looked at for that. */
    int64_t ok_at_ms;
    size_t read_since_ok;
    int64_t checked_at_ms;
    bool celery_workers; /* cel_client_opts_t.celery_workers */
    cel_broker_t *rx;
    char reply_queue[CEL_ID_SIZE];
    char deleted_queue[CEL_ID_SIZE]; /* the reply queue last deleted */
    char dropped_why[96];            /* why results pending then were failed */
    char *url;                       /* to reconnect */
    atomic_int node;     /* of a failover list, the broker last connected to
                            (by either connection) */
    char queue_type[16]; /* cel_client_opts_t.queue_type, or "" */
    bool failover_shuffle;
    int delivery_limit;
    cel_client_log_fn *log; /* cel_client_opts_t.log, or NULL */
    void *log_arg;
    char name[CEL_SHORTSTR_SIZE]; /* connection name */
    char origin[160];             /* the origin header of its tasks */
    int64_t result_expires_ms;
    int64_t connect_timeout_ms; /* each open; 0: broker-client's default */
    cel_pending_t pending;
    cel_result_t *fire_head, *fire_tail;

    pthread_mutex_t send_lock; /* tx, declared, sends */
    cel_broker_t *tx;
    atomic_bool tx_suspect; /* the reply connection died: look at tx too */
    char default_queue[CEL_SHORTSTR_SIZE];
    char *declared[CEL_MAX_DECLARED];       /* task queues declared already */
    char unserved_queue[CEL_SHORTSTR_SIZE]; /* one of them the broker said
                                               had no consumer, "" */
    int ndeclared;
    unsigned sends; /* to read replies now and then while sending */
};

/* cel__client_revive, with the lock held: after the reply connection was
 * lost, connects again (with backoff, a log line per attempt) and
 * declares a new reply queue. Returns 0 or the last attempt's error. */
int cel__client_revive(cel_client_t *c, cel_error_t *err);

/* cel__client_redeclare, with the lock held and nobody reading: the
 * broker cancelled the reply consumer (its queue was deleted). Declares
 * the queue again under the same name and consumes it; the results
 * pending now stay pending when their replies will come (see
 * cel_client_open), and fail otherwise. Returns 0 or the error of the
 * declare or consume. */
int cel__client_redeclare(cel_client_t *c, cel_error_t *err);

/* cel__client_note_read, with the lock held by the reader after a batch
 * of replies (bytes read, then whether the broker cancelled the reply
 * consumer): keeps read_at_ms, and ok_at_ms when the connection is caught
 * up, for cel__client_redeclare to judge what a deletion may have lost. */
void cel__client_note_read(cel_client_t *c, size_t bytes, bool cancelled);

/* cel__client_reopen_tx, with send_lock held: replaces a publishing
 * connection that was lost. */
int cel__client_reopen_tx(cel_client_t *c, cel_error_t *err);

/* cel__client_take_tx takes send_lock and makes sure tx works (reads
 * what the broker sent on it, and replaces it when it was lost), for a
 * call that uses the publishing connection outside send.c (queues.c,
 * control.c). Returns 0, CEL_ECLOSED after cel_client_close, or the
 * reconnect's error; the caller unlocks send_lock in every case. */
int cel__client_take_tx(cel_client_t *c, cel_error_t *err);

/* cel__client_blocked: does the broker block the publishing connection
 * (its reason in why)? Reads what it sent first, unless a send holds the
 * connection (then false). Any lock may be held. */
bool cel__client_blocked(cel_client_t *c, char *why, size_t size);

/* cel__client_unserved copies a task queue the broker said had no
 * consumer when this client declared it (false when none did, or when a
 * send holds the lock). Any lock may be held. */
bool cel__client_unserved(cel_client_t *c, char *queue, size_t size);

/* cel__lose_pending, with the lock held: the reply connection died, so
 * every pending result is lost (its wait fails with the reason; its
 * error_callback runs). */
void cel__lose_pending(cel_client_t *c);

/* cel__client_error is the calling thread's last error record. */
cel_error_t *cel__client_error(void);

/* cel__client_log hands one line to the program's logger, if it set one. */
void cel__client_log(const cel_client_t *c, int level, const char *fmt, ...)
    CEL_PRINTF(3, 4);

/* Locking: cel__lock/cel__unlock wrap the client lock. cel__unref drops a
 * reference with the lock held, unlocks, and frees the client when it was
 * the last. */
void cel__lock(cel_client_t *c);
void cel__unlock(cel_client_t *c);
void cel__unref_unlock(cel_client_t *c);

/* cel__pump, with the lock held: reads replies for up to timeout_ms as the
 * reader, or, when another thread is reading, waits up to timeout_ms for
 * it to finish a batch. Runs the callbacks that became due. Returns 0,
 * CEL_ETIMEDOUT, or the dead connection's error (in err). */
int cel__pump(cel_client_t *c, int timeout_ms, cel_error_t *err);

/* cel__wait_for, with the lock held: pumps until done(c, arg) is true or
 * timeout_ms passes (-1: no limit). Returns 0, CEL_ETIMEDOUT (with what in
 * the message), CEL_ECLOSED or the connection's error. */
int cel__wait_for(cel_client_t *c, bool (*done)(cel_client_t *, void *),
                  void *arg, int64_t timeout_ms, const char *what,
                  cel_error_t *err);

/* Result life, with the lock held. cel__result_new makes a result owned by
 * the program (R_USER) and tracked; cel__result_release frees r when
 * nothing holds it any more; cel__result_ready is what follows its
 * settling (callback queue, group, release). */
cel_result_t *cel__result_new(cel_client_t *c, const char *id, bool track,
                              const cel_opts_t *o);
void cel__result_release(cel_result_t *r);
void cel__result_ready(cel_result_t *r);

/* cel__result_hand_over, with the lock held: r waits for nothing more here
 * (its callback ran, or never will): to its group, else released. */
void cel__result_hand_over(cel_result_t *r);
void cel__result_settle(cel_result_t *r, const cel_result_msg_t *m);

/* cel__group_push, with the lock held: r is ready; hand it to its group. */
void cel__group_push(cel_result_t *r);

/* cel__send, without the lock: sends one task; the result is tracked and
 * owned by the program, or by group when given. */
cel_result_t *cel__send(cel_client_t *c, const char *name, const json_t *args,
                        const json_t *kwargs, const cel_opts_t *opts,
                        cel_group_t *group, cel_error_t *err);

/* A call to send: the task, its arguments and, for canvas, the embed and
 * the group id of its message. Every pointer is borrowed. */
typedef struct {
    const char *name;
    const json_t *args, *kwargs;
    const json_t *embed;  /* NULL: none, unless opts has links */
    const char *group_id; /* NULL: none */
} cel_call_t;

/* cel__send_call is cel__send for a whole call. */
cel_result_t *cel__send_call(cel_client_t *c, const cel_call_t *call,
                             const cel_opts_t *opts, cel_group_t *group,
                             cel_error_t *err);

/* cel__send_untracked, without the lock: sends the call with o (which has
 * no links) and the client's reply queue, making no result: its reply
 * settles a result tracked already under o->task_id, if still wanted.
 * Returns 0 or the error. */
int cel__send_untracked(cel_client_t *c, const cel_call_t *call,
                        const cel_opts_t *o, cel_error_t *err);

/* A task id the program chose may be as long as the id header allows. */
#define CEL_TID_SIZE CEL_SHORTSTR_SIZE

/* Canvas (canvas.c). A signature is a value; its JSON parts are its own. */
struct cel_sig {
    json_t *args, *kwargs, *options; /* owned */
    bool immutable;
    char name[];
};

/* The results a canvas result holds, each with R_USER set on its behalf:
 * the chain's previous step, and the link's and errback's results. */
struct cel_kin {
    cel_result_t *parent, *link, *errback;
};

/* cel__embed_links returns a new embed object: chain (borrowed, may be
 * NULL) and o's link and link_error as callbacks and errbacks, each given
 * a new task id (written into ids[0] and ids[1], "" when absent) and
 * reply_to. NULL when out of memory. */
json_t *cel__embed_links(const json_t *chain, const cel_opts_t *o,
                         const char *reply_to, char ids[2][CEL_TID_SIZE]);

/* cel__chain_embed returns a new array: signatures 1..n-1 of a chain, last
 * first, each with options task_id = ids[i] and reply_to, as Celery's
 * client writes a chain's embed. NULL when out of memory. */
json_t *cel__chain_embed(const cel_sig_t *const *sigs, size_t n,
                         char (*ids)[CEL_TID_SIZE], const char *reply_to);

/* cel__kin_links, with the lock held: tracks the results of r's link and
 * errback, of task ids[0] and ids[1] ("" when none). 0 or CEL_ENOMEM. */
int cel__kin_links(cel_result_t *r, char ids[2][CEL_TID_SIZE]);

/* cel__kin_settled, with the lock held: r became ready; the one of its
 * link and errback that can no longer come stops being tracked. */
void cel__kin_settled(cel_result_t *r);

/* cel__sig_opts: the options a signature is sent with: opts (NULL: none)
 * with the signature's own queue, exchange, routing_key, countdown,
 * expires (seconds), time limits and priority where opts leaves them
 * unset, and its task_id; strings borrowed from s and opts. */
void cel__sig_opts(const cel_sig_t *s, const cel_opts_t *opts, cel_opts_t *o);

/* cel__kin_release, with the lock held: r is being destroyed; releases
 * the results it held. */
void cel__kin_release(cel_result_t *r);

#endif
