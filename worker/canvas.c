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

#include <cel/clock.h>
#include <cel/log.h>

#include <stdio.h>
#include <string.h>

#define MAX_COUNTDOWN_S 1e9 /* as retry.c: later than 31 years is never */

static const char *
opt_str(const json_t *opts, const char *key)
{
    return json_string_value(json_object_get(opts, key));
}

static bool
sig_valid(const json_t *sig)
{
    const json_t *args = json_object_get(sig, "args");
    const json_t *kwargs = json_object_get(sig, "kwargs");
    const json_t *opts = json_object_get(sig, "options");

    return json_is_object(sig) &&
           json_is_string(json_object_get(sig, "task")) &&
           (args == NULL || json_is_null(args) || json_is_array(args)) &&
           (kwargs == NULL || json_is_null(kwargs) || json_is_object(kwargs)) &&
           (opts == NULL || json_is_null(opts) || json_is_object(opts));
}

/* A list of signatures: null, absent, or an array of valid ones. A link
 * given as one signature rather than a list is taken as a list of one. */
static bool
sigs_valid(const json_t *list)
{
    size_t i;
    const json_t *sig;

    if (list == NULL || json_is_null(list)) {
        return true;
    }
    if (json_is_object(list)) {
        return sig_valid(list);
    }
    if (!json_is_array(list)) {
        return false;
    }
    json_array_foreach (list, i, sig) {
        if (!sig_valid(sig)) {
            return false;
        }
    }
    return true;
}

int
cel__canvas_check(const cel_task_msg_t *m, cel_error_t *err)
{
    static const char *const lists[] = {"callbacks", "errbacks", "chain"};
    const json_t *chain = json_object_get(m->embed, "chain");

    for (size_t i = 0; m->embed != NULL && i < 3; i++) {
        const json_t *list = json_object_get(m->embed, lists[i]);
        if (!sigs_valid(list) || (i == 2 && json_is_object(list))) {
            return cel_error_set(err, CEL_EPROTO,
                                 "embed %s is not a list of signatures (each "
                                 "an object with a task name)",
                                 lists[i]);
        }
    }
    if (json_array_size(chain) > CEL_CHAIN_MAX) {
        /* Each step sends the rest on: n steps cost n * n / 2 signatures. */
        return cel_error_set(err, CEL_ETOOBIG,
                             "a chain of %zu more steps, over the %d workerd "
                             "runs",
                             json_array_size(chain), CEL_CHAIN_MAX);
    }
    return 0;
}

/* Times from the step's options: countdown or eta, expires (seconds from
 * now, or an ISO-8601 time). */
static void
sig_times(const json_t *opts, cel_task_spec_t *spec)
{
    int64_t now = cel_clock_wall_us(), at;
    const json_t *countdown = json_object_get(opts, "countdown");
    const json_t *expires = json_object_get(opts, "expires");
    double s;

    if (opt_str(opts, "eta") != NULL &&
        cel_clock_parse_iso(opt_str(opts, "eta"), &at) == 0) {
        spec->eta_us = at;
    } else if (json_is_number(countdown) &&
               (s = json_number_value(countdown)) > 0) {
        s = s < MAX_COUNTDOWN_S ? s : MAX_COUNTDOWN_S;
        spec->eta_us = now + (int64_t)(s * 1e6);
    }
    if (json_is_string(expires) &&
        cel_clock_parse_iso(json_string_value(expires), &at) == 0) {
        spec->expires_us = at;
    } else if (json_is_number(expires) &&
               (s = json_number_value(expires)) > 0) {
        s = s < MAX_COUNTDOWN_S ? s : MAX_COUNTDOWN_S;
        spec->expires_us = now + (int64_t)(s * 1e6);
    }
}

/* The spec of a step from its signature (borrowed: valid while sig is). */
static void
sig_spec(const json_t *sig, const cel_task_msg_t *m, cel_task_spec_t *spec)
{
    const json_t *opts = json_object_get(sig, "options");
    const json_t *priority = json_object_get(opts, "priority");
    const json_t *limit = json_object_get(opts, "time_limit");
    const json_t *soft = json_object_get(opts, "soft_time_limit");

    spec->name = json_string_value(json_object_get(sig, "task"));
    spec->id = opt_str(opts, "task_id");
    /* A chain step names its reply queue; a link or an errback sent by
     * Celery's client does not, and its result would go to the sending
     * worker's own queue, out of the caller's reach: workerd sends it to
     * the caller's, where Celery's client keeps it for a later get(). */
    spec->reply_to = opt_str(opts, "reply_to");
    spec->reply_to = spec->reply_to ? spec->reply_to : m->reply_to;
    spec->group = opt_str(opts, "group_id");
    spec->parent_id = m->id;
    spec->root_id = m->root_id ? m->root_id : m->id;
    spec->priority = json_is_integer(priority)
                         ? (int)json_integer_value(priority) & 0xff
                         : 0;
    spec->time_limit = json_is_number(limit) ? json_number_value(limit) : 0;
    spec->soft_time_limit = json_is_number(soft) ? json_number_value(soft) : 0;
    sig_times(opts, spec);
}

/* The step's arguments: the parent's value first, unless the signature is
 * immutable (.si()). A new reference. */
static json_t *
sig_args(const json_t *sig, const json_t *first)
{
    const json_t *own = json_object_get(sig, "args");
    json_t *args = json_array();

    if (first != NULL && !json_is_true(json_object_get(sig, "immutable"))) {
        json_array_append(args, (json_t *)first);
    }
    if (json_is_array(own)) {
        json_array_extend(args, (json_t *)own);
    }
    return args;
}

/* The step's own embed: the rest of the chain, and its links. A new
 * reference. */
static json_t *
sig_embed(const json_t *sig, json_t *rest)
{
    const json_t *opts = json_object_get(sig, "options");
    json_t *e = json_object();

    json_object_set(e, "callbacks", json_object_get(opts, "link"));
    json_object_set(e, "errbacks", json_object_get(opts, "link_error"));
    json_object_set(e, "chain", rest);
    return e;
}

/* Declares a queue a step names, once in a row (RabbitMQ drops, silently,
 * a message for a queue that does not exist). */
static int
declare(cel_child_t *c, const char *queue, cel_error_t *err)
{
    static char last[CEL_SHORTSTR_SIZE]; /* one child, one thread */

    if (strcmp(last, queue) == 0) {
        return 0;
    }
    int r = cel_broker_declare_task_queue(c->broker, queue, err);
    if (r == 0) {
        cel_copy_str(last, sizeof(last), queue);
    }
    return r;
}

/* gen<pid>@<host>, as Celery's worker writes it, computed once. */
static const char *
origin(void)
{
    static char text[300];

    if (text[0] == '\0') {
        cel_task_origin(text, sizeof(text));
    }
    return text;
}

/* Sends the step where its options route it, else where d came from. */
static int
route(cel_child_t *c, const cel_delivery_t *d, const json_t *sig,
      const cel_envelope_t *env, cel_error_t *err)
{
    const json_t *opts = json_object_get(sig, "options");
    const char *queue = opt_str(opts, "queue");
    const char *exchange = opt_str(opts, "exchange");
    const char *key = opt_str(opts, "routing_key");

    if (queue != NULL && exchange == NULL) {
        int r = declare(c, queue, err);
        return r != 0 ? r
                      : cel_broker_publish(c->broker, "", key ? key : queue,
                                           env, err);
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
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t env;
    char id[CEL_SHORTSTR_SIZE];

    sig_spec(step->sig, m, &spec);
    json_t *args = sig_args(step->sig, step->first_arg);
    json_t *embed = sig_embed(step->sig, step->rest);
    spec.args = args;
    spec.kwargs = json_object_get(step->sig, "kwargs");
    spec.kwargs = json_is_object(spec.kwargs) ? spec.kwargs : NULL;
    spec.embed = embed;
    spec.origin = origin();
    int r = cel_task_encode(&spec, &env, id, sizeof(id), err);
    json_decref(args);
    json_decref(embed);
    if (r == 0) {
        r = route(c, d, step->sig, &env, err);
        cel_envelope_clear(&env);
    }
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
        const json_t *opts = json_object_get(sig, "options");
        const char *id = opt_str(opts, "task_id");
        if (r == 0 && id != NULL) {
            r = cel__reply_publish(c, opt_str(opts, "reply_to"), id, id,
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
    const json_t *opts = json_object_get(body, "options");
    const char *id = opt_str(opts, "task_id");

    const char *reply_to = opt_str(opts, "reply_to");

    return id == NULL
               ? 0
               : cel__reply_publish(c, reply_to ? reply_to : m->reply_to, id,
                                    id, CEL_STATE_FAILURE, exc, NULL);
}
