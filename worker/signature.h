/* signature.h: Celery signatures carried in a task's embed, checked and
 * encoded as the task messages they stand for (signature.c). No broker:
 * the unit tests build continuations against the captured vectors. */
#ifndef CEL_WORKER_SIGNATURE_H
#define CEL_WORKER_SIGNATURE_H

#include <stddef.h>

#include <cel/message.h>

/* The longest chain workerd runs: every step sends the rest of the chain
 * on, so a chain of n steps moves n * n / 2 signatures in all. */
#define CEL_CHAIN_MAX 1000

/* One step to send: a signature, the value it gets as its first argument
 * (NULL: none), and the rest of its chain (NULL: none). All borrowed. */
typedef struct {
    const json_t *sig;
    const json_t *first_arg;
    json_t *rest;
} cel_step_t;

/* cel__sig_check_embed refuses an embed whose lists are not lists of
 * signatures (CEL_EPROTO), or a chain over CEL_CHAIN_MAX (CEL_ETOOBIG),
 * with the reason; else 0. */
int cel__sig_check_embed(const cel_task_msg_t *m, cel_error_t *err);

/* cel__sig_opt returns the string option key of sig (borrowed), or NULL. */
const char *cel__sig_opt(const json_t *sig, const char *key);

/* cel__sig_encode builds the message of step, sent by the task parent,
 * into env (release with cel_envelope_clear) and its task id into id.
 * Returns 0, or CEL_EINVAL or CEL_ENOMEM with the reason. */
int cel__sig_encode(const cel_step_t *step, const cel_task_msg_t *parent,
                    cel_envelope_t *env, char *id, size_t id_size,
                    cel_error_t *err);

#endif
