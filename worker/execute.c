/* execute.c: one task message, from delivery to ack.
 *
 * Order of events (at-least-once, the default): run the task, publish its
 * result, then ack. With --acks-early the ack comes first (at most once).
 * Messages that can never succeed (malformed, unknown task, lost with a
 * dead child) are answered with a FAILURE where a reply queue is known and
 * rejected without requeue, so a dead-letter exchange on the queue gets
 * them and they never loop. A message whose eta is still ahead is handed
 * back to the child to hold; an expired one is revoked unrun. */
#include "canvas.h"
#include "child.h"
#include "task_ctx.h"
#include "tasklog.h"
#include "watch.h"

#include <cel/clock.h>
#include <cel/log.h>

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define LOST_RERUNS                                                            \
    3 /* --reject-on-worker-lost runs a lost task again                        \
         at most this many times */
#define NO_CHORDS                                                              \
    "workerd answers through the rpc:// result backend, which does not "       \
    "support chords: this chord's header task is not run"
#define BROKE_RERUNS                                                           \
    2 /* a task whose finishing broke the connection this
                           often is not run again */ /* a time limit this long (31 years) never comes */

/* An exception to answer with: Python type, module, message, and the
 * traceback text (or NULL). */
typedef struct {
    const char *type, *module, *message, *traceback;
    const json_t *args; /* the exception's args, NULL: [message] */
} cel_exc_t;

static int
publish_result(cel_child_t *c, const cel_task_msg_t *m, cel_state_t state,
               const json_t *result, const char *traceback)
{
    return cel__reply_publish(c, m->reply_to, m->id, m->correlation_id, state,
                              result, traceback);
}

/* Answers m with an exception. A FAILURE or REVOKED ends m's canvas too:
 * the rest of its chain fails with the same exception and its errbacks are
 * sent (canvas.c); a RETRY does not. */
static int
publish_exc(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
            cel_state_t state, const cel_exc_t *e)
{
    json_t *exc = cel_exc_new(e->type, e->module, e->message);
    if (e->args != NULL) {
        json_object_set(exc, "exc_message", (json_t *)e->args);
    }
    int r = publish_result(c, m, state, exc, e->traceback);
    if (r == 0 && state != CEL_STATE_RETRY && m->id != NULL) {
        r = cel__canvas_failure(c, d, m, exc, e->traceback);
    }
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

int
cel__flush_acks(cel_child_t *c)
{
    cel_error_t err = CEL_ERROR_INIT;

    if (c->acks_due == 0) {
        return 0;
    }
    c->acks_due = 0;
    int r = cel_broker_ack(c->broker, c->ack_upto, true, &err);
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot ack messages: %s", err.text);
    }
    return r;
}

/* Acks a finished task: at once while eta tasks are held (a multiple ack
 * would take them too), else with the next batch. */
static int
ack_done(cel_child_t *c, const cel_delivery_t *d)
{
    int batch = c->window.size / 2;

    if (c->holding) {
        return settle(c, d, true);
    }
    /* Every tag below this one is done or refused (nothing is held), so
     * one multiple ack settles them all. */
    c->ack_upto = d->delivery_tag;
    return ++c->acks_due >= (batch > 64 ? 64 : batch) ? cel__flush_acks(c) : 0;
}

/* Acks a message after its outcome was published, unless it was acked
 * before it ran. A failed publish leaves the message to the broker, which
 * redelivers it after we reconnect. */
static int
finish(cel_child_t *c, const cel_delivery_t *d, int published)
{
    if (published != 0) {
        return published;
    }
    return c->cfg->acks_early ? 0 : ack_done(c, d);
}

/* A message we will never run: answer the caller with exception type
 * (module) and why, then drop it without requeue. The caller logs. */
static int
refuse(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
       const char *type, const char *module, const char *why)
{
    /* Without a usable id, the correlation id names the caller's task. */
    const char *corr = d->env.correlation_id;
    const char *id = m->id ? m->id : corr[0] ? corr : NULL;
    json_t *exc = cel_exc_new(type, module, why);
    int r =
        cel__reply_publish(c, m->reply_to, id, m->id ? m->correlation_id : id,
                           CEL_STATE_FAILURE, exc, NULL);
    const json_t *chain = json_object_get(m->embed, "chain");
    if (r == 0 && m->id != NULL) {
        r = cel__canvas_failure(c, d, m, exc, NULL); /* chain, errbacks */
    } else if (r == 0 && json_is_array(chain)) {
        r = cel__canvas_fail_chain(c, chain, exc, NULL);
    }
    json_decref(exc);
    cel__tev_rejected(c, m, false);
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

/* The limits that apply to m: its own (the timelimit header), else
 * workerd's; anything but a positive number means none. */
static void
limits(const cel_child_t *c, const cel_task_msg_t *m, double *hard,
       double *soft)
{
    double set_soft = 0, set_hard = 0; /* by remote control (time_limit) */

    (void)cel__ops_limit_get(&c->board->ops, m->task, &set_soft, &set_hard);
    *hard = m->time_limit > 0 ? m->time_limit
            : set_hard > 0    ? set_hard
                              : c->cfg->time_limit;
    *soft = m->soft_time_limit > 0 ? m->soft_time_limit
            : set_soft > 0         ? set_soft
                                   : c->cfg->soft_time_limit;
    *hard = *hard > 0 ? *hard : 0;
    *soft = *soft > 0 ? *soft : 0;
}

/* A limit in whole milliseconds, rounded up so that a limit under a
 * millisecond still is one, and clamped (never wrapped) to a time that
 * never comes. 0: none. */
static int64_t
limit_ms(double seconds)
{
    seconds = cel_clock_span_s(seconds);
    int64_t ms = (int64_t)(seconds * 1000.0);
    return (double)ms < seconds * 1000.0 ? ms + 1 : ms;
}

static void
arm_soft_limit(double seconds)
{
    static bool armed; /* a timer to cancel: skip the system calls if not */
    struct itimerval it = {{0, 0}, {0, 0}};

    cel__soft_limit_hit = 0;
    if (seconds <= 0 && !armed) {
        return;
    }
    armed = seconds > 0;
    seconds = cel_clock_span_s(seconds);
    if (seconds > 0) {
        it.it_value.tv_sec = (time_t)seconds;
        it.it_value.tv_usec =
            (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6);
        if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) {
            it.it_value.tv_usec = 1;
        }
    }
    setitimer(ITIMER_REAL, &it, NULL); /* zero disarms */
}

/* Runs fn with m's arguments under its time limits. Returns the value (or
 * NULL with the failure or retry in ctx). */
static json_t *
run_task(cel_child_t *c, const cel_task_msg_t *m, cel_task_fn fn,
         cel_task_ctx_t *ctx)
{
    double hard, soft;

    limits(c, m, &hard, &soft);
    cel_board_task_t bt = {.id = m->id,
                           .name = m->task,
                           .hard_limit_ms = limit_ms(hard),
                           .acked = c->cfg->acks_early,
                           .reply_to = m->reply_to,
                           .correlation_id = m->correlation_id,
                           .args = m->args,
                           .kwargs = m->kwargs,
                           .exchange = ctx->delivery.exchange,
                           .routing_key = ctx->delivery.routing_key,
                           .priority = ctx->delivery.priority,
                           .redelivered = ctx->delivery.redelivered};
    cel__board_begin(c->board, c->slot, &bt);
    /* revoke(terminate=True) looks for the task on the board after adding
     * it to the revoked ids, and the child looks at the ids after putting
     * it on the board (seq_cst on both sides): one of the two sees the
     * other. A plain revoke that comes this late lets the task run. */
    int sig = 0;
    if (cel__ops_revoked(&c->board->ops, m->id, &sig) && sig != 0) {
        cel__child_terminate(c, sig);
    }
    arm_soft_limit(soft);
    json_t *value = fn(ctx, m->args, m->kwargs);
    arm_soft_limit(0);
    if (value == NULL && !ctx->failed && !ctx->retry && cel__soft_limit_hit) {
        cel_task_fail(ctx, "billiard.exceptions.SoftTimeLimitExceeded",
                      "SoftTimeLimitExceeded(%g,)", soft);
    }
    return value;
}

/* Sends m again for its retry (retry.c) and tells the caller RETRY.
 * Returns 0, a broker error, or 1 when m cannot be sent again: the task
 * then fails with the reason, in ctx. */
static int
republish(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
          cel_task_ctx_t *ctx)
{
    cel_error_t err = CEL_ERROR_INIT;
    char why[1200];

    int r = cel__retry_send(c, d, m, ctx->retry_countdown, &err);
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot send %s[%s] again: %s", m->task, m->id,
                err.text);
        if (cel__broker_broken(r)) {
            return r;
        }
        cel_task_fail(ctx,
                      r == CEL_ENOMEM ? "MemoryError"
                                      : "kombu.exceptions.EncodeError",
                      "cannot send the retry: %s", err.text);
        return 1;
    }
    snprintf(why, sizeof(why), "Retry in %gs: %s", ctx->retry_countdown,
             ctx->exc_message);
    CEL_LOG(CEL_LOG_INFO, "Task %s[%s] retry: %s", m->task, m->id, why);
    cel_exc_t e = {"Retry", "celery.exceptions", why, NULL, NULL};
    return publish_exc(c, d, m, CEL_STATE_RETRY, &e);
}

/* Sends the task's canvas on (its links, its chain's next step), then its
 * value, naming what it sent as its children, as Celery's worker does. */
static int
publish_success(cel_child_t *c, const cel_delivery_t *d,
                const cel_task_msg_t *m, const json_t *value)
{
    json_t *children = m->embed != NULL ? json_array() : NULL;
    int r = cel__canvas_success(c, d, m, value, children);

    if (r == 0 && !m->ignore_result) {
        cel_result_spec_t o = {
            m->id, m->correlation_id, CEL_STATE_SUCCESS, value, NULL, children};
        r = cel__reply_send(c, m->reply_to, &o);
    }
    json_decref(children);
    return r;
}

/* Publishes what the run came to: the value, a retry, or the failure. */
static int
report(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
       cel_task_ctx_t *ctx, json_t *value, double secs)
{
    char tb[1600], text[CEL_TASKLOG_REPR_SIZE], took[32];

    if (value != NULL && !ctx->failed) {
        cel__tev_succeeded(c, m, value, secs);
        CEL_LOG(CEL_LOG_INFO, "Task %s[%s] succeeded in %ss: %s", m->task,
                m->id, cel__tasklog_runtime(secs, took, sizeof(took)),
                cel__tasklog_value(value, text, sizeof(text)));
        return publish_success(c, d, m, value);
    }
    if (ctx->retry && !ctx->failed) {
        int r = republish(c, d, m, ctx);
        if (r <= 0) {
            cel__tev_failed(c, "task-retried", m, "Retry", ctx->exc_message,
                            NULL);
            return r;
        }
    }
    if (!ctx->failed) {
        cel_task_fail(ctx, "RuntimeError", "task returned no result");
    }
    CEL_LOG(CEL_LOG_ERROR, "Task %s[%s] raised unexpected: %s", m->task, m->id,
            cel__tasklog_exc(ctx->exc_type, ctx->exc_args, ctx->exc_message,
                             text, sizeof(text)));
    format_traceback(c, ctx, tb, sizeof(tb));
    cel__tev_failed(c, "task-failed", m, ctx->exc_type, ctx->exc_message, tb);
    cel_exc_t e = {ctx->exc_type, ctx->exc_module, ctx->exc_message, tb,
                   ctx->exc_args};
    return publish_exc(c, d, m, CEL_STATE_FAILURE, &e);
}

/* What the watcher did while m ran: 0, or the broker error that broke
 * the connection under it (m is then not reported: unacked, it runs again
 * after the reconnect; acked early, it is lost with the connection). The
 * consumers it stopped start again in the child's loop. */
static int
watched(cel_child_t *c, const cel_task_msg_t *m)
{
    cel_error_t err = CEL_ERROR_INIT;

    int r = cel__watch_end(c->watch, &err);
    if (r < 0) {
        CEL_LOG(CEL_LOG_ERROR,
                "the connection broke while task %s[%s] ran (%s); it is "
                "not reported",
                m->task, m->id, err.text);
        return r;
    }
    if (r == CEL__WATCH_RESET) {
        CEL_LOG(CEL_LOG_WARN,
                "the broker closed the channel while task %s[%s] ran (%s): "
                "the task ran longer than its consumer_timeout (30 min by "
                "default; raise it in rabbitmq.conf for tasks this long). "
                "The broker requeued the task, so it may run again; its "
                "result goes out now",
                m->task, m->id, err.text);
        c->channel_reset = true;
        c->acks_due = 0; /* of the old channel */
    }
    return 0;
}

/* -l debug: what the task is called with and how it came, as Celery's
 * "TaskPool: Apply" line shows it. */
static void
log_apply(const cel_delivery_t *d, const cel_task_msg_t *m)
{
    char args[256], kwargs[256];

    if (cel_log_threshold < CEL_LOG_DEBUG) {
        return;
    }
    cel_pyrepr(m->args, true, args, sizeof(args));
    cel_pyrepr(m->kwargs, false, kwargs, sizeof(kwargs));
    CEL_LOG(CEL_LOG_DEBUG,
            "TaskPool: apply %s[%s] args:%s kwargs:%s (delivery %llu from "
            "%s/%s%s, retries %lld%s%s)",
            m->task, m->id, args, kwargs, (unsigned long long)d->delivery_tag,
            d->exchange[0] ? d->exchange : "''", d->routing_key,
            d->redelivered ? ", redelivered" : "", (long long)m->retries,
            m->eta ? ", eta " : "", m->eta ? m->eta : "");
}

static int
end_run(cel_child_t *c, json_t *value, cel_task_ctx_t *ctx, int r)
{
    json_decref(value);
    json_decref(ctx->exc_args);
    cel__board_end(c->board, c->slot);
    c->tasks_done++;
    return r;
}

static int
run(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
    cel_task_fn fn)
{
    cel_task_ctx_t ctx = {
        .msg = m,
        .delivery = {d->exchange, d->routing_key,
                     d->env.priority > 0 ? d->env.priority : 0, d->redelivered},
        .id = m->id,
        .name = m->task,
        .hostname = c->cfg->hostname,
        .retries = m->retries};

    int r = c->cfg->acks_early ? settle(c, d, true) : 0;
    if (r != 0) {
        return r; /* not acked: it will be redelivered, run it then */
    }
    CEL_LOG(CEL_LOG_INFO, "Task %s[%s] received", m->task, m->id);
    log_apply(d, m);
    cel__tev_started(c, m);
    cel__watch_begin(c->watch, m->task, m->id);
    int64_t t0 = cel_clock_now_us();
    json_t *value = run_task(c, m, fn, &ctx);
    int64_t run_us = cel_clock_now_us() - t0;
    cel__guard_check();
    r = watched(c, m); /* first: until then the watcher may act */
    if (r != 0) {
        return end_run(c, value, &ctx, r);
    }
    c->window_stale |= cel__window_note(&c->window, run_us);
    cel__ops_count(&c->board->ops, m->task);
    c->finishing = true;
    r = report(c, d, m, &ctx, value, (double)run_us / 1e6);
    if (cel__broker_broken(r)) {
        cel__guard_broken(c); /* with the task still marked running */
    }
    r = end_run(c, value, &ctx, r);
    /* Its tag died with the old channel: acking it would close the new. */
    return c->channel_reset ? r : finish(c, d, r);
}

/* A task whose child revoke(terminate=True) killed: REVOKED. */
static int
revoked_lost(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
             int *rc)
{
    int signum = 0;

    (void)cel__ops_revoked(&c->board->ops, m->id, &signum);
    CEL_LOG(CEL_LOG_WARN, "Task %s[%s] was terminated by revoke (signal %d)",
            m->task, m->id, signum);
    cel__tev_revoked(c, m, true, signum, false);
    cel_exc_t e = {"TaskRevokedError", "celery.exceptions", "terminated", NULL,
                   NULL};
    int r = publish_exc(c, d, m, CEL_STATE_REVOKED, &e);
    *rc = r != 0 ? r : settle(c, d, true);
    return 1;
}

/* A redelivered task that was running when its child died. Returns 1 when
 * it should run again (--reject-on-worker-lost, a few times at most), else
 * reports it and returns 0 or a broker error. */
static int
lost_again(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
           int *rc)
{
    cel_lost_info_t lost;

    if (!d->redelivered ||
        !cel__board_was_lost(c->board, c->slot, m->id, &lost)) {
        return 0;
    }
    bool timeout = lost.kind == CEL_LOST_TIMEOUT;
    if (lost.kind == CEL_LOST_REVOKED) {
        return revoked_lost(c, d, m, rc);
    }
    if (!timeout && c->cfg->reject_on_worker_lost &&
        lost.count <= LOST_RERUNS) {
        CEL_LOG(CEL_LOG_WARN,
                "Task %s[%s] was lost with its child (%s); running it "
                "again (%d of %d)",
                m->task, m->id, lost.reason, lost.count, LOST_RERUNS);
        return 0;
    }
    CEL_LOG(CEL_LOG_ERROR, "Task %s[%s] %s: %s; not running it again", m->task,
            m->id, timeout ? "hit its hard time limit" : "killed its child",
            lost.reason);
    cel_exc_t e = {timeout ? "TimeLimitExceeded" : "WorkerLostError",
                   "billiard.exceptions", lost.reason, NULL, NULL};
    cel__tev_failed(c, "task-failed", m, e.type, lost.reason, NULL);
    int r = publish_exc(c, d, m, CEL_STATE_FAILURE, &e);
    *rc = r != 0 ? r : settle(c, d, true);
    return 1;
}

/* A redelivered task whose finishing broke the connection twice already
 * (a continuation or a result the broker refuses, say): failed with the
 * broker's reason instead of being run a third time. */
static bool
broke_before(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
             int *rc)
{
    char why[96] = "", text[300];

    if (!d->redelivered || cel__board_broke_count(c->board, m->id, why,
                                                  sizeof(why)) < BROKE_RERUNS) {
        return false;
    }
    snprintf(text, sizeof(text),
             "finishing this task broke the broker connection %d times "
             "(%s); not running it again",
             BROKE_RERUNS, why);
    CEL_LOG(CEL_LOG_ERROR, "Task %s[%s]: %s", m->task, m->id, text);
    *rc = refuse(c, d, m, "OperationalError", "kombu.exceptions", text);
    return true;
}

/* Not run after its expiry: REVOKED, as Celery reports it. */
static bool
expired(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
        int64_t now_us, int *rc)
{
    int64_t at;

    if (m->expires == NULL || cel_clock_parse_iso(m->expires, &at) != 0 ||
        at > now_us) {
        return false;
    }
    cel__tev_revoked(c, m, false, 0, true);
    CEL_LOG(CEL_LOG_WARN, "Task %s[%s] expired at %s; not running it", m->task,
            m->id, m->expires);
    cel_exc_t e = {"TaskRevokedError", "celery.exceptions", "expired", NULL,
                   NULL};
    int r = publish_exc(c, d, m, CEL_STATE_REVOKED, &e);
    *rc = r != 0 ? r : settle(c, d, true);
    return true;
}

/* A chord (which rpc:// cannot carry) or an embed that is not a canvas:
 * answered and dropped, never run. */
static bool
refuse_canvas(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
              int *rc)
{
    cel_error_t err = CEL_ERROR_INIT;

    if (cel__canvas_is_chord(m)) {
        CEL_LOG(CEL_LOG_ERROR, "Task %s[%s] is part of a chord: refused",
                m->task, m->id);
        json_t *exc = cel_exc_new("NotImplementedError", "builtins", NO_CHORDS);
        *rc = cel__canvas_refuse_chord(c, m, exc);
        json_decref(exc);
        *rc = *rc != 0 ? *rc
                       : refuse(c, d, m, "NotImplementedError", "builtins",
                                NO_CHORDS);
        return true;
    }
    if (cel__sig_check_embed(m, &err) != 0) {
        CEL_LOG(CEL_LOG_ERROR, "Task %s[%s] refused: %s", m->task, m->id,
                err.text);
        *rc =
            refuse(c, d, m, "InvalidTaskError", "celery.exceptions", err.text);
        return true;
    }
    return false;
}

/* Revoked (the revoke command) before it ran: REVOKED, never run. */
static bool
revoked(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
        int *rc)
{
    cel_lost_info_t lost;

    if (m->id == NULL || !cel__ops_revoked(&c->board->ops, m->id, NULL)) {
        return false;
    }
    if (d->redelivered &&
        cel__board_was_lost(c->board, c->slot, m->id, &lost) &&
        lost.kind == CEL_LOST_REVOKED) {
        return revoked_lost(c, d, m, rc); /* terminated while it ran */
    }
    CEL_LOG(CEL_LOG_WARN, "Discarding revoked task: %s[%s]", m->task, m->id);
    cel__tev_revoked(c, m, false, 0, false);
    cel_exc_t e = {"TaskRevokedError", "celery.exceptions", "revoked", NULL,
                   NULL};
    int r = publish_exc(c, d, m, CEL_STATE_REVOKED, &e);
    *rc = r != 0 ? r : settle(c, d, true);
    return true;
}

/* Over its rate limit (rate.h): its turn is reserved, and it is held
 * until then, as an eta task; a task held for its turn runs when due. */
static bool
rate_limited(cel_child_t *c, const cel_task_msg_t *m, int64_t now,
             int64_t *hold_until_us)
{
    int turn = 0;

    if (c->rerun_turn > 0) {
        return false;
    }
    int64_t wait =
        cel__rate_take(c->board->ops.rates, m->task, cel_clock_now_us(), &turn);
    if (wait <= 0) {
        return false;
    }
    *hold_until_us = now + wait;
    c->hold_turn = turn;
    return true;
}

static int
dispatch(cel_child_t *c, const cel_delivery_t *d, const cel_task_msg_t *m,
         int64_t *hold_until_us)
{
    int64_t now = cel_clock_wall_us(), eta;
    int rc = 0;

    if (!c->rerun) {
        cel__tev_received(c, m);
    }
    if (expired(c, d, m, now, &rc) || revoked(c, d, m, &rc)) {
        return rc;
    }
    if (m->eta != NULL && cel_clock_parse_iso(m->eta, &eta) == 0 && eta > now) {
        *hold_until_us = eta;
        return CEL__HOLD;
    }
    if (lost_again(c, d, m, &rc) || broke_before(c, d, m, &rc)) {
        return rc;
    }
    if (refuse_canvas(c, d, m, &rc)) {
        return rc;
    }
    if (rate_limited(c, m, now, hold_until_us)) {
        return CEL__HOLD;
    }
    cel_task_fn fn = cel__registry_find(c->reg, m->task);
    if (fn == NULL) {
        CEL_LOG(CEL_LOG_ERROR,
                "Received unregistered task of type '%s'. The "
                "message has been ignored and discarded.",
                m->task);
        return refuse(c, d, m, "NotRegistered", "celery.exceptions", m->task);
    }
    return run(c, d, m, fn);
}

int
cel__execute(cel_child_t *c, cel_delivery_t *d, int64_t *hold_until_us)
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
        r = dispatch(c, d, &m, hold_until_us);
    }
    cel_task_msg_clear(&m);
    return r;
}

int
cel__refuse_unreadable(cel_child_t *c, const cel_delivery_t *d, const char *why)
{
    /* Without headers there is no task id; Celery's correlation id is it. */
    const char *id = d->env.correlation_id;

    CEL_LOG(CEL_LOG_ERROR, "rejected unreadable message %s: %s",
            id[0] ? id : "?", why);
    json_t *exc = cel_exc_new("InvalidTaskError", "celery.exceptions", why);
    int r = cel__reply_publish(c, d->env.reply_to, id[0] ? id : NULL, id,
                               CEL_STATE_FAILURE, exc, NULL);
    json_decref(exc);
    int s = settle(c, d, false);
    return r != 0 ? r : s;
}

int
cel__report_lost(cel_child_t *c)
{
    cel_lost_t l;
    int r = 0;

    while (r == 0 && cel__board_claim_report(c->board, &l)) {
        bool timeout = l.kind == CEL_LOST_TIMEOUT;
        bool revoked = l.kind == CEL_LOST_REVOKED;
        const char *type = revoked   ? "TaskRevokedError"
                           : timeout ? "TimeLimitExceeded"
                                     : "WorkerLostError";
        json_t *exc = cel_exc_new(
            type, revoked ? "celery.exceptions" : "billiard.exceptions",
            revoked ? "terminated" : l.reason);
        cel__tev_lost(c, l.task_id, revoked, type, l.reason);
        r = cel__reply_publish(c, l.reply_to, l.task_id, l.correlation_id,
                               revoked ? CEL_STATE_REVOKED : CEL_STATE_FAILURE,
                               exc, NULL);
        json_decref(exc);
    }
    return r;
}
