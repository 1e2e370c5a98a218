/* execute.c: one task message, from delivery to ack.
 *
 * Order of events (at-least-once): run the task, publish its result, then
 * ack. Messages that can never succeed (malformed, unknown task, lost with
 * a dead child) are answered with a FAILURE where a reply queue is known and
 * rejected without requeue, so a dead-letter exchange on the queue gets
 * them and they never loop. */
#include "child.h"
#include "task_ctx.h"

#include <cel/clock.h>
#include <cel/log.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
publish_result(cel_child_t *c, const cel_task_msg_t *m, cel_state_t state,
               const json_t *result, const char *traceback)
{
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;

    if (m->reply_to == NULL || m->id == NULL) {
        return 0; /* nobody asked for a result */
    }
    int r = cel_result_encode(m->id, m->correlation_id, state, result,
                              traceback, &env, &err);
    if (r == 0) {
        r = cel_broker_publish(c->broker, "", m->reply_to, &env, &err);
        cel_envelope_clear(&env);
    }
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot publish result of %s: %s", m->id,
                err.text);
    }
    return r;
}

static int
publish_exc(cel_child_t *c, const cel_task_msg_t *m, const char *type,
            const char *module, const char *message, const char *traceback)
{
    json_t *exc = cel_exc_new(type, module, message);
    int r = publish_result(c, m, CEL_STATE_FAILURE, exc, traceback);
    json_decref(exc);
    return r;
}

static int
settle(cel_child_t *c, const cel_delivery_t *d, bool ack)
{
    cel_error_t err = CEL_ERROR_INIT;
    int r = ack ? cel_broker_ack(c->broker, d->delivery_tag, false, &err)
                : cel_broker_reject(c->broker, d->delivery_tag, false, &err);
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot %s message: %s", ack ? "ack" : "reject",
                err.text);
    }
    return r;
}

/* A message we will never run: answer the caller with exception type
 * (module) and why, then drop it without requeue. The caller logs. */
static int
refuse(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
       const char *type, const char *module, const char *why)
{
    int r = publish_exc(c, m, type, module, why, NULL);
    int s = settle(c, d, false);
    return r != 0 ? r : s;
}

static void
format_traceback(const cel_child_t *c, const cel_task_ctx_t *ctx, char *out,
                 size_t size)
{
    snprintf(out, size,
             "Traceback (most recent call last):\n"
             "  File \"celeriac\", task %s[%s] in %s child-%d (pid %d)\n"
             "%s: %s\n",
             ctx->name, ctx->id, c->cfg->hostname, c->slot + 1, (int)getpid(),
             ctx->exc_type, ctx->exc_message);
}

static int
run_task(cel_child_t *c, const cel_task_msg_t *m, cel_task_fn fn)
{
    cel_task_ctx_t ctx = {.id = m->id,
                          .name = m->task,
                          .hostname = c->cfg->hostname,
                          .retries = m->retries};
    char tb[1600];

    CEL_LOG(CEL_LOG_INFO, "Task %s[%s] received", m->task, m->id);
    int64_t t0 = cel_clock_now_ms();
    cel__board_begin(c->board, c->slot, m->id, m->task);
    json_t *value = fn(&ctx, m->args, m->kwargs);
    double secs = (double)(cel_clock_now_ms() - t0) / 1000.0;
    int r;
    if (value != NULL && !ctx.failed) {
        CEL_LOG(CEL_LOG_INFO, "Task %s[%s] succeeded in %.3fs", m->task, m->id,
                secs);
        r = m->ignore_result
                ? 0
                : publish_result(c, m, CEL_STATE_SUCCESS, value, NULL);
    } else {
        if (!ctx.failed) {
            cel_task_fail(&ctx, "RuntimeError", "task returned no result");
        }
        CEL_LOG(CEL_LOG_WARN, "Task %s[%s] raised %s: %s", m->task, m->id,
                ctx.exc_type, ctx.exc_message);
        format_traceback(c, &ctx, tb, sizeof(tb));
        r = publish_exc(c, m, ctx.exc_type, ctx.exc_module, ctx.exc_message,
                        tb);
    }
    json_decref(value);
    return r;
}

static int
dispatch(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m)
{
    char reason[160];

    if (d->redelivered &&
        cel__board_was_lost(c->board, c->slot, m->id, reason, sizeof(reason))) {
        CEL_LOG(CEL_LOG_ERROR,
                "Task %s[%s] killed its child before: %s; not "
                "running it again",
                m->task, m->id, reason);
        int r = publish_exc(c, m, "WorkerLostError", "billiard.exceptions",
                            reason, NULL);
        return r != 0 ? r : settle(c, d, true);
    }
    cel_task_fn fn = cel__registry_find(c->reg, m->task);
    if (fn == NULL) {
        CEL_LOG(CEL_LOG_ERROR,
                "Received unregistered task of type '%s'. The "
                "message has been ignored and discarded.",
                m->task);
        return refuse(c, d, m, "NotRegistered", "celery.exceptions", m->task);
    }
    int r = run_task(c, m, fn);
    cel__board_end(c->board, c->slot);
    c->tasks_done++;
    /* Without a published result there is nothing to ack: leave the
     * message to the broker, which redelivers it after we reconnect. */
    return r != 0 ? r : settle(c, d, true);
}

int
cel__execute(cel_child_t *c, cel_delivery_t *d)
{
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;
    int r;

    if (cel_task_decode(&d->env, c->cfg->max_message_bytes, &m, &err) != 0) {
        bool big = err.code == CEL_ETOOBIG;
        CEL_LOG(CEL_LOG_ERROR, "rejected task message %s[%s]: %s",
                m.task ? m.task : "?", m.id ? m.id : "?", err.text);
        r = refuse(c, d, &m, big ? "ContentDisallowed" : "InvalidTaskError",
                   big ? "kombu.exceptions" : "celery.exceptions", err.text);
    } else {
        r = dispatch(c, d, &m);
    }
    cel_task_msg_clear(&m);
    return r;
}
