/* canvas.h: Celery's canvas from C: signatures, chains, groups of
 * signatures and links, sent as Celery's client sends them.
 *
 *   Python                               C
 *   add.s(2, 2)                          add_s(2, 2), or cel_sig_new
 *   add.si(2, 2)                         add_si(2, 2)
 *   add.s(4) (x from the previous step)  add_sp(4): the first parameter
 *                                        is left for the previous result
 *   chain(a, b, c).apply_async()         cel_chain_apply_async
 *   res.parent                           cel_result_parent
 *   group(a, b).apply_async()            cel_group_send
 *   apply_async(link=s, link_error=e)    cel_opts_t.link, .link_error
 *   chord(header)(body)                  cel_chord_apply_async
 *
 * A signature is a value: the calls that take one borrow it and copy
 * what they keep, so it may be freed right after. This header is included
 * by <cel/producer.h>. */
#ifndef CEL_CANVAS_H
#define CEL_CANVAS_H

#include <cel/producer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cel_sig_new makes a signature of task name with args (an array, NULL
 * for none) and kwargs (an object, NULL for none), both copied. Returns
 * a new signature (free with cel_sig_free), or NULL when out of memory or
 * args/kwargs are not an array/object. */
cel_sig_t *cel_sig_new(const char *name, const json_t *args,
                       const json_t *kwargs);

/* cel_sig_free frees s; NULL is a no-op. */
void cel_sig_free(cel_sig_t *s);

/* cel_sig_set_option sets one of Celery's signature options (queue,
 * countdown, priority, expires, time_limit, ...) to a copy of value.
 * Returns 0, CEL_EINVAL for a NULL value, or CEL_ENOMEM. The setters
 * below are shorthands. */
CEL_NODISCARD int cel_sig_set_option(cel_sig_t *s, const char *key,
                                     const json_t *value);
CEL_NODISCARD int cel_sig_set_queue(cel_sig_t *s, const char *queue);
CEL_NODISCARD int cel_sig_set_task_id(cel_sig_t *s, const char *task_id);
CEL_NODISCARD int cel_sig_set_countdown(cel_sig_t *s, double seconds);

/* cel_sig_set_immutable: an immutable step (Celery's .si()) is not given
 * the previous step's result. */
void cel_sig_set_immutable(cel_sig_t *s, bool immutable);

/* cel_sig_to_json returns a new reference to the signature as Celery
 * writes it: {"task", "args", "kwargs", "options", "subtask_type": null,
 * "immutable"}; NULL when out of memory. */
json_t *cel_sig_to_json(const cel_sig_t *s);

/* cel_chain_apply_async sends the chain of the n (>= 1) signatures as
 * Celery's client does: the first step's message carries the others in
 * its embed, last first, each with its task id chosen here and the
 * client's reply queue. The first step's own options (queue, exchange,
 * routing_key, countdown, expires, time limits, priority) apply where
 * opts leaves them unset; opts->task_id,
 * as in Celery, is the last step's id. Returns the
 * last step's result, new (cel_result_free; it frees the results of the
 * earlier steps too), with opts' callbacks; or NULL with the reason in
 * cel_client_error (CEL_EINVAL for n == 0). opts->link runs after the
 * last step, opts->link_error after whichever step fails (Celery puts it
 * on every step); their results are the last step's cel_result_link and
 * cel_result_errback. Every step's result is tracked: its reply comes to
 * this client. */
cel_result_t *cel_chain_apply_async(cel_client_t *c,
                                    const cel_sig_t *const *sigs, size_t n,
                                    const cel_opts_t *opts);

/* cel_result_parent returns the result of the step before r in its chain,
 * borrowed from r (valid until r is freed; cel_result_free ignores it and
 * cel_group_add refuses it), or NULL for the first step or a result that
 * is not a chain's. */
cel_result_t *cel_result_parent(const cel_result_t *r);

/* cel_result_link and cel_result_errback return the results of the tasks
 * sent with r as opts.link and opts.link_error (borrowed from r), or NULL
 * when it had none. The link's result never comes when r fails, nor the
 * errback's when r succeeds: once r is ready, waiting on that one
 * returns CEL_ECLOSED at once. */
cel_result_t *cel_result_link(const cel_result_t *r);
cel_result_t *cel_result_errback(const cel_result_t *r);

/* cel_group_send sends each of the n signatures as one member of a new
 * group (header group = a new group id, as Celery's group does) and
 * stores each member's result, new (cel_result_free), in results[i].
 * Returns 0, or an error with nothing left to free (members already sent
 * still run). */
CEL_NODISCARD int cel_group_send(cel_client_t *c, const cel_sig_t *const *sigs,
                                 size_t n, const cel_opts_t *opts,
                                 cel_result_t **results, cel_error_t *err);

/* cel_chord_apply_async sends the n (>= 1) header signatures as a group
 * and, once all have succeeded, the body with the list of their values
 * (in header order) prepended to its args (Celery's chord, which its rpc
 * backend refuses). Returns the chord's result, new (cel_result_free),
 * with opts' callbacks and id opts->task_id, else the body's task_id
 * option, else a new one: the body's value, or the first failing header
 * member's exception (CEL_ETASK), or ChordError when the body could not
 * be sent. NULL with the reason in cel_client_error (CEL_EINVAL for
 * n == 0 or opts with a link). No thread runs a chord: it moves on inside
 * the program's calls that read replies (wait, get, poll, join...), as
 * callbacks do; a chord pending when its client is closed never ends. */
cel_result_t *cel_chord_apply_async(cel_client_t *c,
                                    const cel_sig_t *const *header, size_t n,
                                    const cel_sig_t *body,
                                    const cel_opts_t *opts);

/* Used by the typed constructors of <cel/declare.h>: a signature of name
 * with the n items as its args, taking ownership of them. NULL when an
 * item is NULL or memory runs out. */
cel_sig_t *cel__sig_built(const char *name, json_t **items, size_t n,
                          bool immutable);

#ifdef __cplusplus
}
#endif
#endif
