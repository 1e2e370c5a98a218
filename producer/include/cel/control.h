/* control.h: Celery's remote control, the client side (`app.control`,
 * `celery inspect`, `celery control`): broadcast a command to the workers'
 * mailboxes and collect what they answer.
 *
 * The command goes to the fanout exchange celery.pidbox, which every
 * Celery worker (and workerd) binds its <nodename>.celery.pidbox queue to;
 * answers come back through the direct exchange reply.celery.pidbox to a
 * queue of the call's own, one JSON object {nodename: answer} each.
 *
 *   json_t *replies;
 *   if (cel_control_call(c, "ping", NULL, NULL, &replies, &err) == 0) {
 *       // [{"celery@host": {"ok": "pong"}}, ...]
 *       json_decref(replies);
 *   }
 *
 * Threads: safe from any thread, several at once on one client. The
 * command is published on the client's publishing connection under the
 * same lock as sends (reconnecting it first if it was lost); the answers
 * are read on a connection each call opens for itself and closes before
 * it returns, so a call costs one connection (a few milliseconds on a
 * LAN) and never reads the client's task replies or runs its callbacks.
 * The call blocks its thread for up to timeout_ms after the publish. */
#ifndef CEL_PRODUCER_CONTROL_H
#define CEL_PRODUCER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <cel/error.h>
#include <cel/producer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How long answers are waited for by default: Celery's 1 s. */
#define CEL_CONTROL_TIMEOUT_MS 1000

/* How a command is sent. Every pointer is borrowed for the call. */
typedef struct {
    const char *const *destination; /* node names ("celery@host") that
                                       should act, ndestination of them;
                                       NULL: every worker */
    size_t ndestination;
    int64_t timeout_ms;  /* answers are waited for this long after the
                            publish; 0: CEL_CONTROL_TIMEOUT_MS */
    size_t limit;        /* stop after this many answers; 0: no limit */
    bool reply;          /* false: send and return at once, asking for no
                            answer (Celery's cast; for shutdown, whose
                            workers never answer) */
    const char *mailbox; /* Celery's control_exchange: the exchanges are
                            MAILBOX.pidbox and reply.MAILBOX.pidbox;
                            NULL: "celery" */
} cel_control_opts_t;

#define CEL_CONTROL_OPTS_INIT                                                  \
    {                                                                          \
        NULL, 0, CEL_CONTROL_TIMEOUT_MS, 0, true, NULL                         \
    }

/* cel_control_call broadcasts method (a name in Celery's control registry:
 * "ping", "stats", "revoke", "rate_limit", ...) with arguments (an object
 * of the registry's argument names, e.g. {"task_id": [ID], "terminate":
 * false}; NULL: {}) to the workers opts names (opts NULL: the defaults
 * above, every worker), and collects their answers.
 *
 * The wait ends at the first of: timeout_ms after the publish; every node
 * in destination has answered; limit answers came. Answers to other calls
 * (another ticket) are dropped.
 *
 * Returns 0 with *replies a new JSON array (the caller decrefs it) of the
 * answers in the order they came, each {nodename: answer}; empty when no
 * worker answered in time, which is not an error (compare the array with
 * destination to see who is missing). With opts->reply false *replies is
 * an empty array (replies may then be NULL). Otherwise a negative code
 * with *replies NULL and err filled: CEL_EINVAL for an empty method,
 * arguments that are not an object, an empty destination name (or a
 * name or method that is not UTF-8), a negative timeout, a mailbox name
 * empty or over 205 bytes, or replies NULL when answers are wanted;
 * CEL_ECLOSED after cel_client_close; CEL_EBLOCKED when the broker blocks
 * publishing; CEL_EBROKER (e.g. an exchange that exists with other flags)
 * or a connection error. */
CEL_NODISCARD int cel_control_call(cel_client_t *c, const char *method,
                                   const json_t *arguments,
                                   const cel_control_opts_t *opts,
                                   json_t **replies, cel_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
