/* producer.h: the client library. Send tasks to Celery-compatible workers
 * (workerd or Python Celery) and get their results back as AsyncResults,
 * through one exclusive reply queue per client: Celery's rpc:// backend.
 *
 *   cel_client_t *c;
 *   cel_error_t err;
 *   if (cel_client_open(NULL, &c, &err) != 0) { puts(err.text); ... }
 *   json_t *args = json_pack("[ii]", 2, 3);
 *   cel_result_t *r = cel_apply_async(c, "add", args, NULL, NULL);
 *   json_decref(args);
 *   const json_t *v;
 *   if (cel_result_get(r, 10000, &v, &err) == 0) ...   // v is 5
 *   cel_result_free(r);
 *   cel_client_close(c);
 *
 * Python's Pool, concurrent.futures and Celery, and their calls here:
 *   pool.apply(f, args)            cel_apply
 *   pool.apply_async / f.delay     cel_apply_async, or f_delay(c, x) from
 *   app.send_task(name, ...)         <cel/declare.h>
 *   callback=, error_callback=     cel_opts_t.callback / .error_callback
 *   pool.map / starmap             cel_map / cel_starmap
 *   imap_unordered / as_completed  cel_imap_unordered, cel_group_next
 *   pool.close(); pool.join()      cel_client_join, then cel_client_close
 *   AsyncResult.ready/wait/get/successful/failed/state/traceback/forget
 *                                  cel_result_*
 *
 * Memory: a client holds no thread, lock, descriptor or timer per result;
 * a pending result costs one small allocation and a table slot (the
 * README gives the measured bytes), so millions can be in flight.
 *
 * Callbacks run inside the library calls of the program's own threads
 * (any call on the client or its results that reads replies: apply_async,
 * wait, get, ready, join, poll, group_next), never two at once for one
 * client, and never while the client's lock is held: a callback may call
 * the library, send more tasks for instance, but not cel_client_join (it
 * would wait for the callback that is running).
 *
 * Threads: every call is safe from several threads at once on the same
 * client, its results and its groups, with two exceptions: a result or a
 * group must not be freed while another thread still uses it, and
 * cel_client_close must come after every other call on the client has
 * returned. One thread at a time reads replies for all the others; the
 * client has one lock, not one per result. Errors from the calls that
 * return NULL are kept per thread (cel_client_error). */
#ifndef CEL_PRODUCER_H
#define CEL_PRODUCER_H

/* <cel/declare.h> makes the typed stubs only when this header came first. */
#if defined(CEL_DECLARE_H) && !defined(CEL__DECLARED_STUBS)
#error "include <cel/producer.h> before your tasks header (no stubs made)"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <cel/error.h>
#include <cel/id.h>
#include <cel/log.h>
#include <cel/message.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cel_client cel_client_t;
typedef struct cel_result cel_result_t;
typedef struct cel_group cel_group_t;
typedef struct cel_sig cel_sig_t; /* <cel/canvas.h> */

/* A program's logger for what the client does on its own (reconnecting,
 * redeclaring a deleted reply queue), with level CEL_LOG_WARN or
 * CEL_LOG_INFO (<cel/log.h>) and one line of text, borrowed for the call.
 * Called from whichever thread is in the client at the time, sometimes
 * with the client's lock held: it must not call the client. The library itself
 * never prints; with no logger these events go unreported. */
typedef void cel_client_log_fn(int level, const char *line, void *arg);

typedef struct {
    const char *broker_url;     /* NULL: $CELERIAC_BROKER_URL, else localhost */
    const char *queue;          /* default task queue; NULL:
                                   $CELERIAC_QUEUE, else "celery" */
    int64_t result_expires_ms;  /* reply queue x-expires; 0: one day */
    const char *name;           /* connection name shown by the broker; NULL:
                                   "celeriac producer" (results: name + " results") */
    int64_t connect_timeout_ms; /* cel_client_open's two connections in all
                                   (TCP, AMQP handshake, login), and each
                                   reconnect attempt; 0: 5 s each */
    bool celery_workers;        /* Celery's own workers may run the tasks
                                   (see cel_client_open) */
    const char *queue_type;     /* task queues it declares: "quorum", or
                                   NULL for classic (Celery's default); a
                                   queue that exists is used as it is */
    int delivery_limit;         /* x-delivery-limit of those quorum queues;
                                   0: the broker's default */
    bool failover_shuffle;      /* broker_url a ';' list: after a lost
                                   connection try any node first, not the
                                   next in turn (Celery's shuffle) */
    cel_client_log_fn *log;     /* NULL: silent */
    void *log_arg;              /* passed to log */
} cel_client_opts_t;

#define CEL_CLIENT_OPTS_INIT                                                   \
    {                                                                          \
        NULL, NULL, 0, NULL, 0, false, NULL, 0, false, NULL, NULL              \
    }

/* cel_client_log_stderr is a ready-made logger: one line on stderr,
 * "celeriac: producer: LINE" (arg unused). */
void cel_client_log_stderr(int level, const char *line, void *arg);

/* Fork rule: never use a client across fork(). A child process that needs
 * one opens its own; the parent's copy in the child must not be touched,
 * not even closed (that would close the parent's connection too). */

/* cel_client_open connects and declares the client's reply queue. Returns
 * 0 with *out set (free with cel_client_close), or CEL_EURL, CEL_ECONN,
 * CEL_EAUTH (login refused) or CEL_EBROKER with the reason in err. After
 * a lost connection the client reconnects at the next send (backoff, a
 * line per attempt to the logger in opts, a new
 * reply queue); results pending at the loss fail with CEL_ECONN.
 *
 * When the reply queue is deleted (the broker cancels its consumer), the
 * client declares it again under the same name and consumes it as soon as
 * it reads the cancel. workerd publishes a result that found no queue
 * again for CEL_RETURN_WINDOW_MS, so the results pending then stay
 * pending and arrive, unless the queue may have been gone for longer than
 * that, less a second (the client read nothing for a while: nobody
 * called it), or replies may have waited in the queue when it was deleted
 * (the client was behind in reading them): those results fail at once
 * with CEL_ECONN and the reason. Celery's own workers publish a result
 * once, and one published while the queue was missing is lost (a Celery
 * client would wait for it for ever too): with celery_workers set, the
 * results pending at a deletion always fail at once instead. */
CEL_NODISCARD int cel_client_open(const cel_client_opts_t *opts,
                                  cel_client_t **out, cel_error_t *err);

/* cel_client_close closes the connections. Results not yet ready stay
 * PENDING for good (wait and get return CEL_ECLOSED) and must still be
 * freed; callbacks that have not fired never will. */
void cel_client_close(cel_client_t *c);

/* After a call that returns NULL instead of a pointer (cel_apply_async
 * and the other senders, cel_group_new, cel_group_next, the canvas
 * senders), this thread's failure: cel_client_errcode gives its CEL_E*
 * code, cel_client_error its sentence (owned by the library, valid until
 * this thread's next call into it). Kept per thread, so threads sharing a
 * client do not see each other's. */
int cel_client_errcode(const cel_client_t *c);
const char *cel_client_error(const cel_client_t *c);

/* cel_client_join waits until every result this client sent for has
 * arrived and every callback has run (Pool.join). Returns 0,
 * CEL_ETIMEDOUT, or CEL_ECONN when results were lost with a connection
 * since the last join (err says how many). timeout_ms -1: no limit. */
CEL_NODISCARD int cel_client_join(cel_client_t *c, int64_t timeout_ms,
                                  cel_error_t *err);

/* cel_client_poll reads the replies that arrive within timeout_ms (0: only
 * those already here) and runs their callbacks. For programs that do
 * other work between sends and want callbacks to keep coming. */
CEL_NODISCARD int cel_client_poll(cel_client_t *c, int64_t timeout_ms,
                                  cel_error_t *err);

/* cel_client_pending counts the results sent for and not yet arrived. */
size_t cel_client_pending(cel_client_t *c);

/* cel_client_reply_queue copies the name of c's reply queue, where its
 * results come, into out (size bytes, cut to size - 1; CEL_ID_SIZE is
 * enough). The name changes when a lost connection is replaced, so it is
 * copied, not lent. */
void cel_client_reply_queue(cel_client_t *c, char *out, size_t size);

/* Called with a result that has just become ready, borrowed for the call
 * (the program's own reference, if it kept one, stays valid). The
 * error_callback also runs for a result lost with the connection; its
 * state is then still PENDING and cel_result_wait says why. */
typedef void cel_callback_fn(cel_result_t *r, void *arg);

/* Options of one call, as Celery's apply_async has them. Zero means
 * unset. Times are seconds; eta and expires_at are Unix times. */
typedef struct {
    const char *queue;       /* route to this queue (declared if needed) */
    const char *exchange;    /* publish here instead of the default
                                exchange; the queue is then not declared */
    const char *routing_key; /* NULL: the queue's name */
    const char *task_id;     /* NULL: a new uuid */
    double countdown;        /* run no earlier than this from now */
    double eta;              /* run no earlier than this time */
    double expires;          /* do not run after this long from now */
    double expires_at;       /* do not run after this time */
    double time_limit;       /* hard */
    double soft_time_limit;
    int priority;              /* 0..255 */
    int delivery_mode;         /* 1: transient; 0 or 2: persistent (Celery's
                                  default). Transient tasks cost the broker about
                                  a third less and are lost if it restarts. */
    int retries;               /* the retry count the message starts with */
    const json_t *headers;     /* extra message headers (an object, borrowed);
                                  protocol headers cannot be replaced */
    const char *compression;   /* 'zlib', 'gzip' or 'bzip2': the body sent
                                  compressed, as Celery's compression= option
                                  sends it; NULL: not compressed */
    bool ignore_result;        /* no reply: the result is never ready */
    bool confirm;              /* wait for the broker to take the message
                                  (publisher confirms): one round trip */
    cel_callback_fn *callback; /* on SUCCESS */
    cel_callback_fn *error_callback; /* on FAILURE or REVOKED */
    void *callback_arg;
    const cel_sig_t *link;       /* sent with the value first on SUCCESS */
    const cel_sig_t *link_error; /* sent with the task id on failure */
} cel_opts_t;

#define CEL_OPTS_INIT                                                          \
    {                                                                          \
        0                                                                      \
    }

/* cel_apply_async sends task name with args (a JSON array, NULL for none)
 * and kwargs (an object, NULL for none); both are borrowed. Returns a new
 * result at once (free it with cel_result_free), or NULL with the reason
 * in cel_client_error(c). Sending does not wait for the broker unless
 * opts->confirm is set. */
cel_result_t *cel_apply_async(cel_client_t *c, const char *name,
                              const json_t *args, const json_t *kwargs,
                              const cel_opts_t *opts);

/* cel_apply sends name and waits for its value (Pool.apply): 0 with a new
 * reference in *value, CEL_ETASK when the task failed (the exception in
 * err), CEL_ETIMEDOUT, or a send or connection error. */
CEL_NODISCARD int cel_apply(cel_client_t *c, const char *name,
                            const json_t *args, const json_t *kwargs,
                            const cel_opts_t *opts, int64_t timeout_ms,
                            json_t **value, cel_error_t *err);

/* cel_map runs name once per item of items (each item the one argument)
 * and gives the values in input order in *values (a new array), like
 * Pool.map. cel_starmap does the same with each item an array of
 * arguments. The first failure in input order is returned as CEL_ETASK;
 * the timeout covers the whole call. */
CEL_NODISCARD int cel_map(cel_client_t *c, const char *name,
                          const json_t *items, const cel_opts_t *opts,
                          int64_t timeout_ms, json_t **values,
                          cel_error_t *err);
CEL_NODISCARD int cel_starmap(cel_client_t *c, const char *name,
                              const json_t *items, const cel_opts_t *opts,
                              int64_t timeout_ms, json_t **values,
                              cel_error_t *err);

/* Groups hand results back in the order they finish (as_completed).
 * cel_group_new returns a group of c's results, which the caller owns and
 * frees with cel_group_free before closing c; NULL with CEL_ENOMEM (see
 * cel_client_errcode). */
cel_group_t *cel_group_new(cel_client_t *c);

/* cel_group_add hands r (a result of the group's client) to the group;
 * cel_group_next gives it back once it is ready. Returns 0 or CEL_EINVAL
 * (another client's result, or one already in a group). */
CEL_NODISCARD int cel_group_add(cel_group_t *g, cel_result_t *r);

/* cel_group_apply_async sends like cel_apply_async, into the group. */
CEL_NODISCARD int cel_group_apply_async(cel_group_t *g, const char *name,
                                        const json_t *args,
                                        const json_t *kwargs,
                                        const cel_opts_t *opts,
                                        cel_error_t *err);

/* cel_group_next returns the next result of g to become ready, which the
 * caller then owns (cel_result_free), waiting up to timeout_ms. NULL with
 * the reason in cel_client_errcode: CEL_ETIMEDOUT, CEL_ENOTREADY when every
 * result was handed back already, or the connection's error. */
cel_result_t *cel_group_next(cel_group_t *g, int64_t timeout_ms);

/* cel_group_size: results added and not yet handed back by group_next. */
size_t cel_group_size(cel_group_t *g);

/* cel_group_free frees g and the results it still holds; the replies of
 * those not ready are dropped when they come. */
void cel_group_free(cel_group_t *g);

/* cel_imap_unordered sends name once per item (the one argument) into a
 * new group; read the results with cel_group_next as they finish. Returns
 * 0 with *out set, or an error; on error nothing is left to free. */
CEL_NODISCARD int cel_imap_unordered(cel_client_t *c, const char *name,
                                     const json_t *items,
                                     const cel_opts_t *opts, cel_group_t **out,
                                     cel_error_t *err);

/* Used by the typed stubs of <cel/declare.h>: sends name with the n items
 * as positional arguments, taking ownership of them. */
cel_result_t *cel__send_built(cel_client_t *c, const char *name,
                              const cel_opts_t *opts, json_t **items, size_t n);

/* The AsyncResult. ready/state/successful/failed read the replies that
 * have already arrived and never block. cel_result_id is the task's id,
 * owned by r: valid until cel_result_free (copy it to keep it longer). */
const char *cel_result_id(const cel_result_t *r);
cel_state_t cel_result_state(cel_result_t *r);
bool cel_result_ready(cel_result_t *r);
bool cel_result_successful(cel_result_t *r); /* false while not ready */
bool cel_result_failed(cel_result_t *r);

/* cel_result_wait blocks until r is ready or timeout_ms passes (-1: no
 * limit). Returns 0, CEL_ETIMEDOUT, CEL_ECONN when the connection to the
 * broker was lost, or the reply queue deleted for too long, while r was
 * pending (its reply cannot come, or may have been dropped: the rpc
 * backend keeps no results; see cel_client_open), or CEL_ECLOSED when the
 * client was closed or r was sent with ignore_result. A failed task is
 * ready: wait returns 0 for it. */
CEL_NODISCARD int cel_result_wait(cel_result_t *r, int64_t timeout_ms,
                                  cel_error_t *err);

/* cel_result_get waits like cel_result_wait, then gives the value: 0 with
 * *value borrowed from r (valid until cel_result_free), or CEL_ETASK when
 * the task failed or was revoked, with "ExcType: message" in err, or the
 * codes of cel_result_wait. A timeout is CEL_ETIMEDOUT, never CEL_ETASK. */
CEL_NODISCARD int cel_result_get(cel_result_t *r, int64_t timeout_ms,
                                 const json_t **value, cel_error_t *err);

/* cel_result_value: the value of a SUCCESS result (borrowed), else NULL. */
const json_t *cel_result_value(cel_result_t *r);

/* The failure of a FAILURE or REVOKED result: the Python exception type
 * (e.g. "ValueError"), its message and the worker's traceback text. NULL
 * when the result did not fail. Valid until cel_result_free. */
const char *cel_result_exc_type(cel_result_t *r);
const char *cel_result_exc_message(cel_result_t *r);
const char *cel_result_traceback(cel_result_t *r);

/* cel_result_free releases the program's reference. A result that still
 * has a callback to run is kept by the client until it has run (Python's
 * behaviour when an AsyncResult is dropped); otherwise it is freed now and
 * a reply that comes later is dropped. */
void cel_result_free(cel_result_t *r);

/* cel_result_forget frees r and drops its callbacks: nothing more happens
 * for this task here, whatever comes back. */
void cel_result_forget(cel_result_t *r);

#ifdef __cplusplus
}
#endif

#include <cel/canvas.h>
#endif
