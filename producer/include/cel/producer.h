/* producer.h: the client library. Send tasks to Celery-compatible workers
 * (workerd or Python Celery) and get their results back as AsyncResults,
 * through one exclusive reply queue per client: Celery's rpc:// backend.
 *
 *   cel_client_t *c;
 *   cel_error_t err;
 *   if (cel_client_open(NULL, &c, &err) != 0) { puts(err.text); ... }
 *   json_t *args = json_pack("[ii]", 2, 3);
 *   cel_result_t *r = cel_send(c, "add", args, NULL, NULL);
 *   json_decref(args);
 *   const json_t *v;
 *   if (cel_result_get(r, 10000, &v, &err) == 0) ...   // v is 5
 *   cel_result_free(r);
 *   cel_client_close(c);
 *
 * Threads: a client and its results belong to one thread at a time; use a
 * client per thread. Results are freed by the caller with cel_result_free,
 * before or after cel_client_close. */
#ifndef CEL_PRODUCER_H
#define CEL_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <cel/error.h>
#include <cel/message.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cel_client cel_client_t;
typedef struct cel_result cel_result_t;

typedef struct {
    const char *broker_url;    /* NULL: $CELERIAC_BROKER_URL, else localhost */
    const char *queue;         /* default task queue; NULL: "celery" */
    int64_t result_expires_ms; /* reply queue x-expires; 0: one day */
} cel_client_opts_t;

#define CEL_CLIENT_OPTS_INIT                                                   \
    {                                                                          \
        NULL, NULL, 0                                                          \
    }

/* cel_client_open connects and declares the client's reply queue. Returns
 * 0 with *out set (free with cel_client_close), or CEL_EURL, CEL_ECONN,
 * CEL_EBROKER with the reason in err. */
CEL_NODISCARD int cel_client_open(const cel_client_opts_t *opts,
                                  cel_client_t **out, cel_error_t *err);

/* cel_client_close closes the connection. Results not yet ready become
 * unusable (wait and get return CEL_ECLOSED) but must still be freed. */
void cel_client_close(cel_client_t *c);

/* cel_client_error returns the text of the client's last failure (for the
 * calls that return NULL), valid until the next call on c. */
const char *cel_client_error(const cel_client_t *c);

/* Options of one call, as Celery's apply_async has them. Zero means unset. */
typedef struct {
    const char *queue;      /* route to this queue */
    const char *task_id;    /* NULL: a new uuid */
    double countdown;       /* seconds from now */
    double expires;         /* seconds from now */
    double time_limit;      /* hard, seconds */
    double soft_time_limit; /* seconds */
    int priority;
    bool ignore_result;
} cel_send_opts_t;

#define CEL_SEND_OPTS_INIT                                                     \
    {                                                                          \
        0                                                                      \
    }

/* cel_send sends task name with args (a JSON array, NULL for none) and
 * kwargs (an object, NULL for none); both are borrowed. Returns a new
 * result (free it with cel_result_free), or NULL with the reason in
 * cel_client_error(c). Sending does not wait for the broker. */
cel_result_t *cel_send(cel_client_t *c, const char *name, const json_t *args,
                       const json_t *kwargs, const cel_send_opts_t *opts);

/* Used by the typed stubs of <cel/declare.h>: sends name with the n items
 * as positional arguments, taking ownership of them. */
cel_result_t *cel__send_built(cel_client_t *c, const char *name, json_t **items,
                              size_t n);

/* The AsyncResult. ready/state/successful/failed look at replies that have
 * already arrived without blocking. */
const char *cel_result_id(const cel_result_t *r);
cel_state_t cel_result_state(cel_result_t *r);
bool cel_result_ready(cel_result_t *r);
bool cel_result_successful(cel_result_t *r); /* false while not ready */
bool cel_result_failed(cel_result_t *r);

/* cel_result_wait blocks until r is ready or timeout_ms passes (-1: no
 * limit). Returns 0, CEL_ETIMEDOUT, or CEL_ECLOSED / CEL_EBROKER if the
 * connection failed. A failed task is ready: wait returns 0 for it. */
CEL_NODISCARD int cel_result_wait(cel_result_t *r, int64_t timeout_ms,
                                  cel_error_t *err);

/* cel_result_get waits like cel_result_wait, then gives the value: 0 with
 * *value borrowed from r (valid until cel_result_free), or CEL_ETASK when
 * the task failed or was revoked, with "ExcType: message" in err, or the
 * codes of cel_result_wait. A timeout is CEL_ETIMEDOUT, never CEL_ETASK. */
CEL_NODISCARD int cel_result_get(cel_result_t *r, int64_t timeout_ms,
                                 const json_t **value, cel_error_t *err);

/* The failure of a FAILURE or REVOKED result: the Python exception type
 * (e.g. "ValueError"), its message and the worker's traceback text. NULL
 * when the result did not fail. Valid until cel_result_free. */
const char *cel_result_exc_type(const cel_result_t *r);
const char *cel_result_exc_message(const cel_result_t *r);
const char *cel_result_traceback(const cel_result_t *r);

/* cel_result_free forgets r; a reply that comes later is dropped. */
void cel_result_free(cel_result_t *r);

#ifdef __cplusplus
}
#endif
#endif
