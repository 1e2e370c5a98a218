/* child.c: the executor loop. It waits for deliveries with a short timeout
 * so the shutdown flag is seen within a quarter second; a task that is
 * running always finishes first. On a broker error it drops the connection
 * (unacked messages go back to the queue) and reconnects with backoff.
 *
 * Tasks with an eta still ahead are held (held.c), unacked, and run when
 * due while other tasks go on. A held task still counts against the
 * consumer's prefetch window (RabbitMQ's basic.qos is per consumer and
 * cannot grow a running consumer's window), so after every few held tasks
 * the child starts its consumers again: a new consumer's window counts
 * only its own deliveries. The window thus grows with each held task, as
 * Celery's does, and held tasks never starve the child. After
 * --max-tasks-per-child tasks, or past --max-memory-per-child, the child
 * retires: it closes its connection (its prefetched tasks go back to the
 * queue) and exits for the master to replace it. */
#include "child.h"
#include "consumers.h"
#include "held.h"
#include "task_ctx.h"
#include "watch.h"

#include <cel/clock.h>
#include <cel/log.h>
#include <cel/url.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define POLL_MS        250
#define ACK_LINGER_MS  2 /* how long done tasks may wait for a batch ack */
#define BACKOFF_MAX_MS 10000

enum { SERVE_STOP = 0, SERVE_BROKEN = -1, SERVE_RETIRE = 1 };

volatile sig_atomic_t cel__child_stop = 0;
static cel_slot_state_t *my_slot; /* in the board */

/* Whether revoke(terminate=True) sent sig for the task running now. */
static bool
terminating(int sig)
{
    return my_slot != NULL && atomic_load(&my_slot->terminate_sig) == sig &&
           atomic_load(&my_slot->terminate_run) == atomic_load(&my_slot->run);
}

/* SIGTERM stops the child warm, and SIGINT and SIGHUP (the master's) do
 * nothing, unless revoke(terminate=True) sent the signal: then the child
 * dies of it, as a Celery pool process does. */
static void
on_term(int sig)
{
    if (terminating(sig)) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
        raise(sig); /* delivered as the handler returns */
        return;
    }
    if (sig == SIGTERM) {
        cel__child_stop = 1;
    }
}

void
cel__child_terminate(cel_child_t *c, int sig)
{
    /* What finished before goes first, or it would run again. */
    (void)cel__flush_acks(c);
    (void)cel__tev_flush(c);
    if (my_slot != NULL) {
        atomic_store(&my_slot->terminate_run, atomic_load(&my_slot->run));
        atomic_store(&my_slot->terminate_sig, sig);
    }
    raise(sig);
}

static void
on_alarm(int sig)
{
    (void)sig;
    cel__soft_limit_hit = 1;
}

static void
child_signals(pid_t master)
{
    struct sigaction sa;
    sigset_t none;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL); /* Ctrl-C and HUP are the master's */
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_alarm; /* the soft time limit; no SA_RESTART, so a
                                 sleeping task wakes up */
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != master) {
        raise(SIGKILL); /* the master died before we set the death signal */
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ms, give or take a quarter, so that many children (or workers) that
 * lost the broker together do not all come back in the same instant. */
static int64_t
jitter(int64_t ms, unsigned *seed)
{
    return ms * 3 / 4 + (int64_t)(rand_r(seed) % (ms / 2 + 1));
}

/* Of a failover list, the node to try first: the first at the start, then
 * the one after the node last used (Celery's round-robin), or any
 * (shuffle). */
static int
next_node(cel_child_t *c, unsigned *seed)
{
    if (c->cfg->failover_shuffle) {
        return (int)(rand_r(seed) % CEL_URL_MAX_NODES);
    }
    return c->node < 0 ? 0 : c->node + 1;
}

static void
log_connected(cel_child_t *c)
{
    char where[600] = "";
    const char *more = c->nqueues > 1 ? ", ..." : "";

    c->node = cel_broker_node(c->broker, where, sizeof(where));
    if (cel_broker_nodes(c->broker) > 1) {
        CEL_LOG(CEL_LOG_INFO,
                "connected to %s (broker %d of %d); consuming %s%s", where,
                c->node + 1, cel_broker_nodes(c->broker), c->queues[0], more);
        return;
    }
    CEL_LOG(CEL_LOG_INFO, "connected; consuming %s%s", c->queues[0], more);
}

static int
connect_broker(cel_child_t *c)
{
    cel_broker_opts_t opts = CEL_BROKER_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    char name[300];
    int64_t backoff_ms = 500;
    unsigned seed = (unsigned)getpid() ^ (unsigned)cel_clock_now_us();

    snprintf(name, sizeof(name), "workerd %s child-%d", c->cfg->hostname,
             c->slot + 1);
    opts.name = name;
    opts.heartbeat_s = c->cfg->heartbeat_s;
    opts.queue_type = c->cfg->queue_type;
    opts.delivery_limit = c->cfg->delivery_limit;
    while (!cel__child_stop) {
        opts.first_node = next_node(c, &seed);
        CEL_LOG(CEL_LOG_DEBUG,
                "opening connection \"%s\" (broker %d of the list, "
                "heartbeat %d s)",
                name, opts.first_node + 1, opts.heartbeat_s);
        int r = cel_broker_open(c->cfg->broker_url, &opts, &c->broker, &err);
        if (r == 0 && (r = cel__consumers_start(c, true, &err)) == 0) {
            log_connected(c);
            c->board->slots[c->slot].consuming = 1;
            cel__guard_connected(c);
            c->declared[0] = '\0';
            return 0;
        }
        cel_broker_close(c->broker);
        c->broker = NULL;
        int64_t wait_ms = jitter(backoff_ms, &seed);
        CEL_LOG(CEL_LOG_ERROR, "%s; retrying in %.1fs", err.text,
                (double)wait_ms / 1000.0);
        cel_clock_sleep_ms(wait_ms, &cel__child_stop);
        backoff_ms =
            backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
    }
    return -1;
}

static bool
over_memory(const cel_child_t *c)
{
    long pages = 0, resident = 0;
    FILE *f;

    if (c->cfg->max_memory_per_child <= 0 ||
        (f = fopen("/proc/self/statm", "r")) == NULL) {
        return false;
    }
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    long kib = resident * (sysconf(_SC_PAGESIZE) / 1024);
    if (kib > c->cfg->max_memory_per_child) {
        CEL_LOG(CEL_LOG_WARN,
                "using %ld KiB, over --max-memory-per-child %ld; "
                "retiring",
                kib, c->cfg->max_memory_per_child);
        return true;
    }
    return false;
}

static bool
should_retire(const cel_child_t *c)
{
    long max = c->cfg->max_tasks_per_child;

    if (max > 0 && c->tasks_done >= (uint64_t)max) {
        CEL_LOG(CEL_LOG_INFO,
                "ran %ld tasks (--max-tasks-per-child); "
                "retiring",
                max);
        return true;
    }
    return over_memory(c);
}

/* Starts each consumer again once held tasks took half its window: the
 * new consumer's window is whole (held.c's deliveries stay unacked on the
 * channel, counted against no consumer). */
static int
refresh_window(cel_child_t *c, cel_held_t *h, cel_error_t *err)
{
    if (h->since_consume < (c->window.size + 1) / 2 ||
        h->nlight >= CEL_HELD_MAX_LIGHT) {
        return 0; /* past the bound: the window fills and stays full */
    }
    h->since_consume = 0;
    return cel__consumers_restart(c, err);
}

/* The connection failed (err says how): what the child must remember of
 * it. Returns SERVE_BROKEN. */
static int
broken(cel_child_t *c, const cel_error_t *err)
{
    CEL_LOG(CEL_LOG_ERROR, "broker: %s", err->text);
    cel_copy_str(c->last_err, sizeof(c->last_err), err->text);
    cel__reply_learn_limit(c, err->text);
    return SERVE_BROKEN;
}

static int
poll_timeout(int64_t next_us)
{
    if (next_us == 0) {
        return POLL_MS;
    }
    int64_t ms = (next_us - cel_clock_wall_us()) / 1000 + 1;
    return ms < 0 ? 0 : ms < POLL_MS ? (int)ms : POLL_MS;
}

/* Handles what cel_broker_next gave: r, with d and err. Returns 0, or
 * SERVE_BROKEN when the connection must be rebuilt. */
static int
take(cel_child_t *c, cel_held_t *held, int r, cel_delivery_t *d,
     const cel_error_t *err)
{
    int64_t due = 0;

    c->finishing = c->finishing && r != 0 && r != CEL_ETIMEDOUT &&
                   r != CEL_BROKER_RETURNED;
    if (r == CEL_ETIMEDOUT) {
        return c->acks_due > 0 && cel__flush_acks(c) != 0 ? SERVE_BROKEN : 0;
    }
    if (r == CEL_BROKER_RETURNED) {
        cel__returned_add(c, d); /* a result of ours, not routed */
        return 0;
    }
    if (r == CEL_EPROTO && d->delivery_tag != 0) {
        r = cel__refuse_unreadable(c, d, err->text);
        cel_delivery_clear(d);
        return r != 0 ? SERVE_BROKEN : 0;
    }
    if (r == CEL_EBROKER && d->cancelled) {
        cel_delivery_clear(d);
        cel__consumers_lost(c, err->text);
        return 0;
    }
    if (r != 0) {
        cel_delivery_clear(d);
        return broken(c, err);
    }
    r = cel__execute(c, d, &due);
    if (r == CEL__HOLD) {
        cel_error_t e = CEL_ERROR_INIT;
        r = cel__held_add(c, held, d, due);
        r = r != 0 ? r : refresh_window(c, held, &e);
        if (e.code != 0) {
            return broken(c, &e);
        }
    } else {
        cel_delivery_clear(d);
    }
    return r != 0 ? SERVE_BROKEN : 0;
}

/* The channel is gone (the broker closed it and it was opened again, or
 * the connection went): what the child held on it went back to the queue,
 * held eta tasks included, and the consumers and their window went with
 * it. */
static void
forget_channel(cel_child_t *c, cel_held_t *held)
{
    cel__held_drop(held);
    cel__held_publish(c, held);
    c->holding = false;
    c->acks_due = 0;
    c->consuming = false;
    c->window.size = 0; /* basic.qos again on the new channel */
    c->channel_reset = false;
    c->events.declared = false;
}

/* Serves deliveries until shutdown, a broker error or retirement. */
static int
serve(cel_child_t *c, cel_held_t *held)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_delivery_t d;
    int64_t next_us = 0;

    cel__returned_connected(c);
    while (!cel__child_stop) {
        if (cel__report_lost(c) != 0 ||
            cel__held_run_due(c, held, &next_us) != 0) {
            return SERVE_BROKEN;
        }
        if (should_retire(c)) {
            return SERVE_RETIRE;
        }
        if (c->channel_reset) {
            forget_channel(c, held);
        }
        if (cel__consumers_tend(c, &err) != 0) {
            return broken(c, &err);
        }
        /* While deliveries wait in the buffer, results and acks are held
         * back and leave together; about to wait, results go now. Acks
         * wait ACK_LINGER_MS more for the next task: a child that often
         * runs dry (more children than cores) would otherwise send the
         * broker an ack frame every few tasks. */
        bool more = cel_broker_pending(c->broker);
        if (!more && cel__tev_flush(c) != 0) {
            return SERVE_BROKEN;
        }
        cel_broker_cork(c->broker, more);
        int timeout = poll_timeout(next_us);
        if (cel__returned_run_due(c, &timeout) != 0) {
            return SERVE_BROKEN;
        }
        bool linger = !more && c->acks_due > 0 && timeout > ACK_LINGER_MS;
        int r = cel_broker_next(c->broker, linger ? ACK_LINGER_MS : timeout, &d,
                                &err);
        if (take(c, held, r, &d, &err) != 0) {
            return SERVE_BROKEN;
        }
    }
    return SERVE_STOP;
}

/* A connection that broke right after a task finished (before the next
 * good read) may have been broken by what finishing it sent: the broker
 * closes the channel for a message it cannot route or take. The board
 * counts it, so that the task, redelivered, does not run for ever. */
static void
blame_finished(cel_child_t *c)
{
    if (c->finishing) {
        cel__board_broke(c->board, c->slot,
                         c->last_err[0] ? c->last_err
                                        : "the connection broke as it was "
                                          "finished");
    }
    c->finishing = false;
    c->last_err[0] = '\0';
}

/* --hand-back-after in microseconds: 0 for never, else at least 1. */
static int64_t
hand_back_us(const cel_worker_config_t *cfg)
{
    double us = cel_clock_span_s(cfg->hand_back_after) * 1e6;
    return cfg->hand_back_after <= 0 ? 0 : us < 1 ? 1 : (int64_t)us;
}

int
cel__child_main(const cel_worker_config_t *cfg, const cel_registry_t *reg,
                cel_board_t *board, int slot, pid_t master)
{
    cel_child_t c = {
        .cfg = cfg, .reg = reg, .board = board, .slot = slot, .node = -1};
    char role[32];
    cel_held_t held;
    int r = SERVE_STOP;

    snprintf(role, sizeof(role), "ForkPoolWorker-%d", slot + 1);
    cel_log_set_role(role);
    atomic_store(&board->slots[slot].pid, getpid()); /* for stats */
    my_slot = &board->slots[slot];
    atomic_store(&my_slot->terminate_sig, 0); /* its last child's, if any */
    child_signals(master);
    cel__guard_init();
    int ok = cel__held_init(&held) == 0;
    /* The window holds about as much work as a task may run before its
     * child hands the rest back (the default's, when that is off). */
    int64_t after_us = hand_back_us(cfg);
    cel__window_init(&c.window, cfg->prefetch_multiplier,
                     after_us > 0 ? after_us
                                  : (int64_t)(CEL_HAND_BACK_AFTER_S * 1e6));
    c.watch =
        ok ? cel__watch_start(&c, &held, after_us, cfg->heartbeat_s > 0) : NULL;
    while (ok && !cel__child_stop) {
        if (connect_broker(&c) != 0) {
            break;
        }
        r = serve(&c, &held);
        if (r == SERVE_BROKEN) {
            cel__guard_broken(&c);
            blame_finished(&c);
        } else {
            (void)cel__tev_flush(&c);
            (void)cel__flush_acks(&c); /* or they would run again */
        }
        forget_channel(&c, &held);
        board->slots[slot].consuming = 0;
        /* Closing returns prefetched, unstarted messages to the queue. */
        cel_broker_close(c.broker);
        c.broker = NULL;
        if (r != SERVE_BROKEN) {
            break;
        }
        cel_clock_sleep_ms(500, &cel__child_stop);
    }
    cel__watch_stop(c.watch);
    json_decref(c.events.batch);
    cel__held_free(&held);
    cel__returned_free(c.returned);
    CEL_LOG(CEL_LOG_INFO, "%s after %llu tasks",
            r == SERVE_RETIRE ? "retired" : "warm shutdown done",
            (unsigned long long)c.tasks_done);
    board->slots[slot].retiring = r == SERVE_RETIRE;
    return ok ? 0 : 1;
}
