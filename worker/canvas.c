/* canvas.c: what a finished task owes the rest of its canvas, done as
 * Celery 5.2's worker does it (celery/app/trace.py, backends/base.py),
 * from the embed of its message:
 * - on success, each link (callbacks) is sent with the result as its first
 *   argument, then the chain's next step (the embed's last element) with
 *   the rest of the chain in its own embed, parent_id this task and
 *   root_id kept; both are named in the result's children. The caller then
 *   publishes the result and acks: a child killed in between may send a
 *   step twice, never drop one.
 * - on failure, every later step of the chain fails with the same
 *   exception on its own reply queue, so that the caller of the chain's
 *   last result gets it, and each link_error (errbacks) is sent with the
 *   failed task's id as its argument (Celery's form for an errback it
 *   cannot call in process).
 * - a chord header cannot reach a worker through rpc:// (Celery's client
 *   refuses chords); one from a client using another backend is answered
 *   with a FAILURE, on its own reply queue and its body's.
 * A step is sent where its options say (queue, or exchange and
 * routing_key), else where the finished task came from. */
#include "canvas.h"
#include "signature.h"

#include <cel/log.h>

#include <stdio.h>
#include <string.h>

/* Declares a queue a step names, once in a row (RabbitMQ drops, silently,
 * a message for a queue that does not exist). */
static int
declare(cel_child_t *c, const char *queue, cel_error_t *err)
{
    if (strcmp(c->declared, queue) == 0) {
        return 0;
    }
    int r = cel_broker_declare_task_queue(c->broker, queue, err);
    if (r == 0) {
        cel_copy_str(c->declared, sizeof(c->declared), queue);
    }
    return r;
}

/* Sends the step where its options route it, else where d came from. */
static int
route(cel_child_t *c, const cel_delivery_t *d, const json_t *sig,
      const cel_envelope_t *env, cel_error_t *err)
{
    const char *queue = cel__sig_opt(sig, "queue");
    const char *exchange = cel__sig_opt(sig, "exchange");
    const char *key = cel__sig_opt(sig, "routing_key");

    if (queue != NULL && exchange == NULL) {
        int r = declare(c, queue, err);
        return r != 0 ? r : cel_broker_publish(c->broker, "", queue, env, err);
    }
    if (exchange != NULL || key != NULL) {
        return cel_broker_publish(c->broker, exchange ? exchange : "",
                                  key ? key : "", env, err);
    }
    return cel_broker_publish(c->broker, d->exchange, d->routing_key, env, err);
}

int
cel__canvas_send(cel_child_t *c, const cel_delivery_t *d,
                 const cel_task_msg_t *m, const cel_step_t *step,
                 json_t *children, cel_error_t *err)
{
    cel_envelope_t env;
    char id[CEL_SHORTSTR_SIZE];

    int r = cel__sig_encode(step, m, &env, id, sizeof(id), err);
    size_t max = cel__reply_bound(c);
    if (r == 0 && max > 0 && env.body_len > max) {
        /* The broker would close the channel for it, and the task come
         * back: the step is refused here, with the reason. */
        r = cel_error_set(err, CEL_ETOOBIG,
                          "%s is %zu bytes, over the %zu bytes the broker "
                          "takes",
                          id, env.body_len, max);
    } else if (r == 0) {
        r = route(c, d, step->sig, &env, err);
    }
    cel_envelope_clear(&env); /* initialised by the encoder, always */
    if (r == 0 && children != NULL) {
        json_array_append_new(children, json_pack("[[s, n], n]", id));
    }
    return r;
}

/* Sends each signature of list (null, one, or an array) with first_arg. */
static int
send_all(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
         const json_t *list, const json_t *first_arg, json_t *children)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_step_t step = {.first_arg = first_arg};
    size_t n = json_is_array(list) ? json_array_size(list) : list != NULL;
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++) {
        step.sig = json_is_array(list) ? json_array_get(list, i) : list;
        if (!json_is_object(step.sig)) {
            continue;
        }
        r = cel__canvas_send(c, d, m, &step, children, &err);
        if (r != 0) {
            CEL_LOG(CEL_LOG_ERROR, "Task %s[%s]: cannot send %s: %s", m->task,
                    m->id, json_string_value(json_object_get(step.sig, "task")),
                    err.text);
        }
        /* One that cannot be sent at all is logged and skipped: only a
         * broken connection stops the task's finishing. */
        r = cel__broker_broken(r) ? r : 0;
    }
    return r;
}

/* The chain but its last element (the next step): a new reference. */
static json_t *
chain_rest(const json_t *chain)
{
    json_t *rest = json_array();
    size_t n = json_array_size(chain);

    for (size_t i = 0; i + 1 < n; i++) {
        json_array_append(rest, json_array_get(chain, i));
    }
    return rest;
}

int
cel__canvas_success(cel_child_t *c, const cel_delivery_t *d,
                    const cel_task_msg_t *m, const json_t *value,
                    json_t *children)
{
    const json_t *chain = json_object_get(m->embed, "chain");
    cel_error_t err = CEL_ERROR_INIT;

    if (m->embed == NULL) {
        return 0;
    }
    int r = send_all(c, d, m, json_object_get(m->embed, "callbacks"), value,
                     children);
    if (r != 0 || !json_is_array(chain) || json_array_size(chain) == 0) {
        return r;
    }
    cel_step_t next = {json_array_get(chain, json_array_size(chain) - 1), value,
                       chain_rest(chain)};
    r = cel__canvas_send(c, d, m, &next, children, &err);
    json_decref(next.rest);
    if (r != 0 && !cel__broker_broken(r)) {
        /* The step cannot be sent at all: the chain ends here, failing. */
        json_t *exc =
            cel_exc_new("InvalidTaskError", "celery.exceptions", err.text);
        r = cel__canvas_fail_chain(c, chain, exc, NULL);
        json_decref(exc);
    }
    return r;
}

int
cel__canvas_fail_chain(cel_child_t *c, const json_t *chain, const json_t *exc,
                       const char *traceback)
{
    size_t i;
    const json_t *sig;
    int r = 0;

    json_array_foreach (chain, i, sig) {
        const char *id = cel__sig_opt(sig, "task_id");
        if (r == 0 && id != NULL) {
            r = cel__reply_publish(c, cel__sig_opt(sig, "reply_to"), id, id,
                                   CEL_STATE_FAILURE, exc, traceback);
        }
    }
    return r;
}

int
cel__canvas_failure(cel_child_t *c, const cel_delivery_t *d,
                    const cel_task_msg_t *m, const json_t *exc,
                    const char *traceback)
{
    if (m->embed == NULL) {
        return 0;
    }
    const json_t *chain = json_object_get(m->embed, "chain");
    int r = json_is_array(chain)
                ? cel__canvas_fail_chain(c, chain, exc, traceback)
                : 0;
    if (r != 0) {
        return r;
    }
    json_t *id = json_string(m->id);
    r = send_all(c, d, m, json_object_get(m->embed, "errbacks"), id, NULL);
    json_decref(id);
    return r;
}

bool
cel__canvas_is_chord(const cel_task_msg_t *m)
{
    const json_t *chord = json_object_get(m->embed, "chord");

    return chord != NULL && !json_is_null(chord);
}

int
cel__canvas_refuse_chord(cel_child_t *c, const cel_task_msg_t *m,
                         const json_t *exc)
{
    const json_t *body = json_object_get(m->embed, "chord");
    const char *id = cel__sig_opt(body, "task_id");

    const char *reply_to = cel__sig_opt(body, "reply_to");

    return id == NULL
               ? 0
               : cel__reply_publish(c, reply_to ? reply_to : m->reply_to, id,
                                    id, CEL_STATE_FAILURE, exc, NULL);
}
