/* signature.c: Celery signatures (a task name, args, kwargs, options,
 * immutable) as an embed carries them, checked, and turned into the task
 * message Celery's worker would send for one: its args after the parent's
 * value (unless immutable), parent_id the parent, root_id kept, its own
 * task_id, reply_to, group, priority, time limits, countdown or eta and
 * expires from its options, and its links and the rest of its chain in its
 * own embed. Nothing here touches the broker (canvas.c sends). */
#include "signature.h"

#include <cel/clock.h>

#include <string.h>

static const char *
opt_str(const json_t *opts, const char *key)
{
    return json_string_value(json_object_get(opts, key));
}

/* The options that name where a step goes and how it is found: AMQP
 * short strings (at most 255 bytes), and no queue the broker keeps for
 * itself (amq.*), which it would refuse by closing the channel. */
static bool
opts_valid(const json_t *opts)
{
    static const char *const names[] = {"queue", "exchange", "routing_key",
                                        "reply_to", "task_id"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const json_t *v = json_object_get(opts, names[i]);
        if (v != NULL && !json_is_null(v) &&
            (!json_is_string(v) || json_string_length(v) > 255)) {
            return false;
        }
    }
    const char *queue = opt_str(opts, "queue");
    return queue == NULL || strncmp(queue, "amq.", 4) != 0;
}

static bool
sig_valid(const json_t *sig)
{
    const json_t *task = json_object_get(sig, "task");
    const json_t *args = json_object_get(sig, "args");
    const json_t *kwargs = json_object_get(sig, "kwargs");
    const json_t *opts = json_object_get(sig, "options");

    return json_is_object(sig) && json_is_string(task) &&
           json_string_length(task) > 0 &&
           (args == NULL || json_is_null(args) || json_is_array(args)) &&
           (kwargs == NULL || json_is_null(kwargs) || json_is_object(kwargs)) &&
           (opts == NULL || json_is_null(opts) ||
            (json_is_object(opts) && opts_valid(opts)));
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
cel__sig_check_embed(const cel_task_msg_t *m, cel_error_t *err)
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
               (s = cel_clock_span_s(json_number_value(countdown))) > 0) {
        spec->eta_us = now + (int64_t)(s * 1e6);
    }
    if (json_is_string(expires) &&
        cel_clock_parse_iso(json_string_value(expires), &at) == 0) {
        spec->expires_us = at;
    } else if (json_is_number(expires) &&
               (s = cel_clock_span_s(json_number_value(expires))) > 0) {
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

const char *
cel__sig_opt(const json_t *sig, const char *key)
{
    return opt_str(json_object_get(sig, "options"), key);
}

int
cel__sig_encode(const cel_step_t *step, const cel_task_msg_t *parent,
                cel_envelope_t *env, char *id, size_t id_size, cel_error_t *err)
{
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;

    sig_spec(step->sig, parent, &spec);
    json_t *args = sig_args(step->sig, step->first_arg);
    json_t *embed = sig_embed(step->sig, step->rest);
    spec.args = args;
    spec.kwargs = json_object_get(step->sig, "kwargs");
    spec.kwargs = json_is_object(spec.kwargs) ? spec.kwargs : NULL;
    spec.embed = embed;
    spec.origin = origin();
    int r = cel_task_encode(&spec, env, id, id_size, err);
    json_decref(args);
    json_decref(embed);
    return r;
}
