/* control.c: the control process's loop (see control.h): connect, start
 * the pidbox consumer, say worker-online, then serve commands and send a
 * worker-heartbeat every CEL_EVENTS_FREQ_S, sleeping until the next of
 * the two; reconnect with backoff after a broker error; worker-offline on
 * SIGTERM, which the master sends once the last child has gone. */
#include "control.h"
#include "events.h"

#include <cel/clock.h>
#include <cel/log.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define BACKOFF_MAX_MS  10000
#define PIDBOX_RETRY_MS 5000

static volatile sig_atomic_t control_stop;

static void
on_term(int sig)
{
    (void)sig;
    control_stop = 1;
}

static void
control_signals(pid_t master)
{
    struct sigaction sa;
    sigset_t none;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != master) {
        raise(SIGKILL);
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

json_t *
cel__cmd_ok(const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return json_pack("{s:s}", "ok", text);
}

json_t *
cel__cmd_error(const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return json_pack("{s:s}", "error", text);
}

/* Children running a task now, and tasks run since the start. */
static void
counts(cel_board_t *board, int *active, int64_t *processed)
{
    *active = 0;
    *processed = 0;
    for (int i = 0; i < board->nslots; i++) {
        *active += atomic_load(&board->slots[i].busy) != 0;
    }
    for (int i = 0; i < CEL_TOTALS_MAX; i++) {
        if (atomic_load(&board->ops.totals[i].state) == 2) {
            *processed += atomic_load(&board->ops.totals[i].count);
        }
    }
}

int
cel__control_beat(cel_control_t *ctl, const char *type, cel_error_t *err)
{
    int active;
    int64_t processed;

    counts(ctl->board, &active, &processed);
    json_t *ev = cel__event_worker(&ctl->board->ops, ctl->cfg->hostname, type,
                                   active, processed);
    if (ev == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "out of memory for an event");
    }
    /* Celery's worker events carry the worker's pid: the master's. */
    json_object_set_new(ev, "pid", json_integer(ctl->master));
    return cel__event_publish(ctl->broker, ctl->cfg->hostname, ev,
                              &ctl->events_declared, err);
}

/* Starts the pidbox consumer. Another worker of the same node name
 * holds the mailbox (its queue is exclusive): remote control is off for
 * this one, said once, and the events still go; Celery warns of the same
 * clash (DuplicateNodenameWarning). The holder may be this worker's own
 * connection from before a network cut, which the broker drops only
 * when it misses its heartbeats, so the mailbox is asked for again every
 * PIDBOX_RETRY_MS. */
static int
pidbox_or_warn(cel_control_t *ctl, cel_error_t *err)
{
    int r = cel__pidbox_start(ctl, err);

    ctl->reopened = cel_broker_reopened(ctl->broker);
    if (r != 0 && strstr(err->text, "RESOURCE_LOCKED") != NULL) {
        if (!ctl->pidbox_warned) {
            CEL_LOG(CEL_LOG_WARN,
                    "another worker named %s holds its remote-control "
                    "mailbox: this one does not answer remote control while "
                    "it does (give each worker its own name with -n)",
                    ctl->cfg->hostname);
        }
        ctl->pidbox_warned = true;
        ctl->pidbox_retry_ms = cel_clock_now_ms() + PIDBOX_RETRY_MS;
        cel_error_clear(err);
        return 0;
    }
    if (r == 0 && ctl->pidbox_warned) {
        CEL_LOG(CEL_LOG_WARN, "the remote-control mailbox is this worker's "
                              "now: it answers remote control");
        ctl->pidbox_warned = false;
    }
    ctl->pidbox_retry_ms = 0;
    return r;
}

/* A command whose work the broker refused on the control channel (a
 * queue add_consumer cannot declare, an answer to a reply exchange of
 * another type) closed it, and the mailbox's consumer with it: consume
 * again on the channel opened in its place. */
static int
consume_again(cel_control_t *ctl, cel_error_t *err)
{
    unsigned now = cel_broker_reopened(ctl->broker);

    if (now == ctl->reopened) {
        return 0;
    }
    ctl->reopened = now;
    if (ctl->cfg->without_control || ctl->pidbox_retry_ms > 0) {
        return 0;
    }
    CEL_LOG(CEL_LOG_INFO, "the broker closed the control channel: consuming "
                          "the remote-control mailbox again");
    return pidbox_or_warn(ctl, err);
}

static int
connect_control(cel_control_t *ctl, cel_error_t *err)
{
    cel_broker_opts_t opts = CEL_BROKER_OPTS_INIT;
    char name[300];

    snprintf(name, sizeof(name), "workerd %s control", ctl->cfg->hostname);
    opts.name = name;
    opts.heartbeat_s = ctl->cfg->heartbeat_s;
    opts.queue_type = ctl->cfg->queue_type; /* add_consumer declares */
    opts.delivery_limit = ctl->cfg->delivery_limit;
    int r = cel_broker_open(ctl->cfg->broker_url, &opts, &ctl->broker, err);
    ctl->events_declared = false;
    if (r == 0 && !ctl->cfg->without_control) {
        r = pidbox_or_warn(ctl, err);
    }
    if (r == 0) {
        r = cel__control_beat(ctl, "worker-online", err);
        ctl->next_beat_ms =
            cel_clock_now_ms() + (int64_t)(CEL_EVENTS_FREQ_S * 1000);
    }
    return r;
}

/* The next deadline's wait in ms, at most 1 s (while stopping is
 * checked). */
static int
wait_ms(const cel_control_t *ctl, int64_t now)
{
    int64_t at = now + 1000;

    if (!ctl->cfg->without_heartbeat && ctl->next_beat_ms < at) {
        at = ctl->next_beat_ms;
    }
    if (ctl->pidbox_retry_ms > 0 && ctl->pidbox_retry_ms < at) {
        at = ctl->pidbox_retry_ms;
    }
    return at <= now ? 0 : (int)(at - now);
}

/* Sends the heartbeat when it is due, asks for the mailbox again when
 * that is due, and sets *timeout_ms to the wait until the next. */
static int
tend(cel_control_t *ctl, int *timeout_ms, cel_error_t *err)
{
    int64_t now = cel_clock_now_ms();
    int r = 0;

    if (ctl->beat_now ||
        (!ctl->cfg->without_heartbeat && now >= ctl->next_beat_ms)) {
        r = cel__control_beat(ctl, "worker-heartbeat", err);
        ctl->beat_now = false;
        ctl->next_beat_ms = now + (int64_t)(CEL_EVENTS_FREQ_S * 1000);
    }
    if (r == 0 && ctl->pidbox_retry_ms > 0 && now >= ctl->pidbox_retry_ms) {
        r = pidbox_or_warn(ctl, err);
    }
    *timeout_ms = wait_ms(ctl, now);
    return r;
}

/* Serves until SIGTERM (0) or a broker error. */
static int
serve(cel_control_t *ctl, cel_error_t *err)
{
    cel_delivery_t d;
    int timeout;

    while (!control_stop) {
        int r = tend(ctl, &timeout, err);
        if (r != 0) {
            return r;
        }
        r = cel_broker_next(ctl->broker, timeout, &d, err);
        if (r == CEL_ETIMEDOUT) {
            continue;
        }
        if (r == 0) {
            r = cel__pidbox_handle(ctl, &d, err);
        }
        cel_delivery_clear(&d);
        r = r != 0 ? r : consume_again(ctl, err);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

int
cel__control_main(const cel_worker_config_t *cfg, const cel_registry_t *reg,
                  cel_board_t *board, pid_t master)
{
    cel_control_t ctl = {.cfg = cfg,
                         .reg = reg,
                         .board = board,
                         .master = master,
                         .started_ms = cel_clock_now_ms()};
    cel_error_t err = CEL_ERROR_INIT;
    int64_t backoff_ms = 500;

    cel_log_set_role("Control");
    prctl(PR_SET_NAME, "workerd-control"); /* in ps, apart from the pool */
    control_signals(master);
    snprintf(ctl.pidbox, sizeof(ctl.pidbox), "%s.celery.pidbox", cfg->hostname);
    while (!control_stop) {
        int r = connect_control(&ctl, &err);
        if (r == 0) {
            backoff_ms = 500;
            r = serve(&ctl, &err);
        }
        if (r == 0) {
            break;
        }
        CEL_LOG(CEL_LOG_ERROR, "remote control and events: %s; again in %.1fs",
                err.text, (double)backoff_ms / 1000.0);
        cel_broker_close(ctl.broker);
        ctl.broker = NULL;
        cel_clock_sleep_ms(backoff_ms, (volatile int *)&control_stop);
        backoff_ms =
            backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
    }
    if (ctl.broker != NULL && cel__control_beat(&ctl, "worker-offline", &err)) {
        CEL_LOG(CEL_LOG_WARN, "worker-offline not sent: %s", err.text);
    }
    cel_broker_close(ctl.broker);
    return 0;
}
