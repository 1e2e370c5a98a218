/* task_events.c: the task events a child sends while task events are on
 * (-E or the enable_events command): task-received, -started,
 * -succeeded, -failed, -retried, -revoked and -rejected, with the fields
 * celery.events.state.State and Flower read. They wait in the child's
 * batch (events.h) and leave as one task.multi list when the child is
 * about to wait for work, or once the batch is full. Off, each costs one
 * atomic load. */
#include "child.h"
#include "events.h"

#include <unistd.h>

#define RESULT_REPR_MAX 1024 /* Celery's resultrepr_maxsize */
#define ARGS_REPR_MAX   1024

static bool
on(cel_child_t *c)
{
    return atomic_load_explicit(&c->board->ops.task_events,
                                memory_order_relaxed) != 0;
}

/* A new task event of type for the task id; NULL without an id, which
 * an event receiver cannot place (State indexes tasks by uuid). */
static json_t *
id_event(cel_child_t *c, const char *type, const char *id)
{
    if (id == NULL || id[0] == '\0') {
        return NULL;
    }
    json_t *ev =
        cel__event_new(&c->board->ops, c->cfg->hostname, type, getpid());
    if (ev != NULL) {
        json_object_set_new(ev, "uuid", json_string(id));
    }
    return ev;
}

static json_t *
task_event(cel_child_t *c, const char *type, const cel_task_msg_t *m)
{
    return id_event(c, type, m->id);
}

static void
add(cel_child_t *c, json_t *ev)
{
    if (ev == NULL) {
        return;
    }
    cel__events_add(&c->events, ev);
    if (c->events.batch != NULL &&
        json_array_size(c->events.batch) >= CEL_EVENTS_BATCH) {
        (void)cel__tev_flush(c); /* a broken connection shows at the read */
    }
}

static json_t *
repr(const json_t *v, bool as_tuple, size_t max)
{
    char buf[RESULT_REPR_MAX + 8];

    cel_pyrepr(v, as_tuple, buf, max + 1 < sizeof(buf) ? max + 1 : sizeof(buf));
    return json_string(buf);
}

static json_t *
opt_str(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

void
cel__tev_received(cel_child_t *c, const cel_task_msg_t *m)
{
    if (!on(c)) {
        return;
    }
    json_t *ev = task_event(c, "task-received", m);
    if (ev != NULL) {
        json_object_set_new(ev, "name", opt_str(m->task));
        json_object_set_new(ev, "args", repr(m->args, true, ARGS_REPR_MAX));
        json_object_set_new(ev, "kwargs",
                            repr(m->kwargs, false, ARGS_REPR_MAX));
        json_object_set_new(ev, "root_id", opt_str(m->root_id));
        json_object_set_new(ev, "parent_id", opt_str(m->parent_id));
        json_object_set_new(ev, "retries", json_integer(m->retries));
        json_object_set_new(ev, "eta", opt_str(m->eta));
        json_object_set_new(ev, "expires", opt_str(m->expires));
    }
    add(c, ev);
}

void
cel__tev_started(cel_child_t *c, const cel_task_msg_t *m)
{
    if (on(c)) {
        add(c, task_event(c, "task-started", m));
    }
}

void
cel__tev_succeeded(cel_child_t *c, const cel_task_msg_t *m, const json_t *value,
                   double runtime_s)
{
    if (!on(c)) {
        return;
    }
    json_t *ev = task_event(c, "task-succeeded", m);
    if (ev != NULL) {
        json_object_set_new(ev, "result", repr(value, false, RESULT_REPR_MAX));
        json_object_set_new(ev, "runtime", json_real(runtime_s));
    }
    add(c, ev);
}

/* exc_type(repr(message)), as Python writes an exception. */
static json_t *
exception_text(const char *exc_type, const char *message)
{
    char msg[512], exc[700];

    json_t *text = json_string(message != NULL ? message : "");
    cel_pyrepr(text, false, msg, sizeof(msg));
    json_decref(text);
    snprintf(exc, sizeof(exc), "%s(%s)", exc_type, msg);
    return json_string(exc);
}

/* type (task-failed or task-retried) for the task id, with
 * exc_type(repr(message)) and the traceback. */
static void
failed_event(cel_child_t *c, const char *type, const char *id,
             const char *exc_type, const char *message, const char *traceback)
{
    json_t *ev = id_event(c, type, id);
    if (ev != NULL) {
        json_object_set_new(ev, "exception", exception_text(exc_type, message));
        json_object_set_new(ev, "traceback", opt_str(traceback));
    }
    add(c, ev);
}

static void
revoked_event(cel_child_t *c, const char *id, bool terminated, int signum,
              bool expired)
{
    json_t *ev = id_event(c, "task-revoked", id);
    if (ev != NULL) {
        json_object_set_new(ev, "terminated", json_boolean(terminated));
        json_object_set_new(ev, "signum",
                            signum ? json_integer(signum) : json_null());
        json_object_set_new(ev, "expired", json_boolean(expired));
    }
    add(c, ev);
}

void
cel__tev_failed(cel_child_t *c, const char *type, const cel_task_msg_t *m,
                const char *exc_type, const char *message,
                const char *traceback)
{
    if (on(c)) {
        failed_event(c, type, m->id, exc_type, message, traceback);
    }
}

void
cel__tev_lost(cel_child_t *c, const char *id, bool revoked,
              const char *exc_type, const char *reason)
{
    if (on(c) && revoked) {
        revoked_event(c, id, true, 0, false);
    } else if (on(c)) {
        failed_event(c, "task-failed", id, exc_type, reason, NULL);
    }
}

void
cel__tev_revoked(cel_child_t *c, const cel_task_msg_t *m, bool terminated,
                 int signum, bool expired)
{
    if (on(c)) {
        revoked_event(c, m->id, terminated, signum, expired);
    }
}

void
cel__tev_rejected(cel_child_t *c, const cel_task_msg_t *m, bool requeue)
{
    if (!on(c)) {
        return;
    }
    json_t *ev = task_event(c, "task-rejected", m);
    if (ev != NULL) {
        json_object_set_new(ev, "requeue", json_boolean(requeue));
    }
    add(c, ev);
}

int
cel__tev_flush(cel_child_t *c)
{
    cel_error_t err = CEL_ERROR_INIT;

    if (c->events.batch == NULL || c->broker == NULL) {
        return 0;
    }
    int r = cel__events_flush(&c->events, c->broker, c->cfg->hostname, &err);
    if (r != 0) {
        CEL_LOG(CEL_LOG_WARN, "task events lost: %s", err.text);
    }
    return r;
}
