/* send.c: turning a call into a Celery task message on the task queue.
 * The target queue is declared once per client, as kombu's producer does
 * before its first publish, so a task sent before any worker started is
 * not dropped as unroutable. */
#include "producer_internal.h"

#include <cel/clock.h>

#include <stdlib.h>
#include <string.h>

#define DRAIN_EVERY 64

static int
ensure_queue(cel_client_t *c, const char *queue, cel_error_t *err)
{
    for (int i = 0; i < c->ndeclared; i++) {
        if (strcmp(c->declared[i], queue) == 0) {
            return 0;
        }
    }
    int r = cel_broker_declare_task_queue(c->broker, queue, err);
    if (r == 0 && c->ndeclared < CEL_MAX_DECLARED) {
        c->declared[c->ndeclared] = strdup(queue);
        c->ndeclared += c->declared[c->ndeclared] != NULL;
    }
    return r;
}

static void
fill_spec(cel_client_t *c, const cel_send_opts_t *o, cel_task_spec_t *spec)
{
    int64_t now = o->countdown > 0 || o->expires > 0 ? cel_clock_wall_us() : 0;

    spec->reply_to = o->ignore_result ? NULL : c->reply_queue;
    spec->id = o->task_id;
    if (o->countdown > 0) {
        spec->eta_us = now + (int64_t)(o->countdown * 1e6);
    }
    if (o->expires > 0) {
        spec->expires_us = now + (int64_t)(o->expires * 1e6);
    }
    spec->time_limit = o->time_limit;
    spec->soft_time_limit = o->soft_time_limit;
    spec->priority = o->priority;
    spec->ignore_result = o->ignore_result;
}

static cel_result_t *
new_result(cel_client_t *c, const char *id, bool track)
{
    size_t len = strlen(id);
    cel_result_t *r = calloc(1, sizeof(*r) + len + 1);

    if (r == NULL) {
        return NULL;
    }
    memcpy(r->id, id, len + 1);
    r->state = CEL_STATE_PENDING;
    if (track) {
        if (cel__pending_add(&c->pending, r) != 0) {
            free(r);
            return NULL;
        }
        r->client = c;
    }
    return r;
}

cel_result_t *
cel_send(cel_client_t *c, const char *name, const json_t *args,
         const json_t *kwargs, const cel_send_opts_t *opts)
{
    static const cel_send_opts_t defaults = CEL_SEND_OPTS_INIT;
    const cel_send_opts_t *o = opts ? opts : &defaults;
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t env;
    char id[CEL_SHORTSTR_SIZE];
    const char *queue = o->queue ? o->queue : c->default_queue;

    cel_error_clear(&c->last);
    spec.name = name;
    spec.args = args;
    spec.kwargs = kwargs;
    fill_spec(c, o, &spec);
    if (ensure_queue(c, queue, &c->last) != 0 ||
        cel_task_encode(&spec, &env, id, sizeof(id), &c->last) != 0) {
        return NULL;
    }
    cel_result_t *r = new_result(c, id, !o->ignore_result);
    int rc = r ? cel_broker_publish(c->broker, "", queue, &env, &c->last)
               : cel_error_set(&c->last, CEL_ENOMEM, "out of memory");
    cel_envelope_clear(&env);
    if (rc != 0) {
        cel_result_free(r);
        return NULL;
    }
    /* Let replies in while a long burst is being sent, so the socket's
     * receive side never backs up behind us. */
    if (++c->sends % DRAIN_EVERY == 0) {
        (void)cel__client_drain(c, 0, NULL);
    }
    return r;
}

cel_result_t *
cel__send_built(cel_client_t *c, const char *name, json_t **items, size_t n)
{
    json_t *args = json_array();
    bool ok = args != NULL;

    for (size_t i = 0; i < n; i++) {
        if (items[i] == NULL) {
            cel_error_set(&c->last, CEL_EARGS,
                          "%s(): argument %zu cannot be sent as JSON", name,
                          i + 1);
            ok = false;
        } else if (ok && json_array_append_new(args, items[i]) != 0) {
            ok = false;
        } else if (!ok) {
            json_decref(items[i]);
        }
    }
    cel_result_t *r = ok ? cel_send(c, name, args, NULL, NULL) : NULL;
    json_decref(args);
    return r;
}
