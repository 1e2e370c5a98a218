/* watch.c: the watcher thread of a child (watch.h).
 *
 * The child's thread counts runs in seq: odd while a task's function runs.
 * Starting a run costs it two atomic stores, and a wake-up only when the
 * watcher sleeps with no deadline; ending one costs an uncontended lock,
 * which is what keeps the watcher and the child's thread off the
 * connection at the same time: the watcher acts only under the lock and
 * only while seq is odd, and the child's thread makes seq even under the
 * lock before it uses the connection again. While tasks stream, the
 * watcher wakes once per --hand-back-after at most.
 *
 * Handing back: basic.cancel for each consumer (rabbitmq-c keeps the
 * deliveries that arrive before cancel-ok), then every delivery read off
 * the connection goes back with basic.reject, requeue (a returned result
 * goes to returned.c as it would in the child's loop). The broker marks
 * them redelivered; they never started, and a task only counts as lost or
 * poisoned by what the board says, so that does them no harm. Then, until
 * the run ends, held eta tasks that fall due are given back the same way.
 *
 * Heartbeats: rabbitmq-c sends them only from inside its own calls, and a
 * child running a task makes none, so a task longer than two heartbeat
 * intervals would cost the connection. While a run lasts, the watcher
 * sends a heartbeat frame every half interval; when no task runs, the
 * child's own reads (every 250 ms at most) send them and notice a peer
 * that went silent. */
#include "watch.h"
#include "consumers.h"

#include <cel/clock.h>
#include <cel/log.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct cel_watch {
    cel_child_t *c;   /* borrowed; touched only under lock, seq odd */
    cel_held_t *held; /* borrowed, likewise */
    int64_t after_us;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC, as cel_clock_now_us */
    atomic_uint_fast64_t seq;
    atomic_int_fast64_t since_us; /* when the current run began */
    atomic_bool idle;             /* the watcher sleeps with no deadline */
    const char *name, *id;        /* the run's task, borrowed */
    uint64_t acted_on;            /* the run the consumers stopped for */
    uint64_t looked_at;           /* the last run act() saw */
    bool beats;                   /* keep the connection's heartbeats */
    uint64_t beat_seq;            /* the run beat_at counts for */
    int64_t beat_at;              /* the next heartbeat of that run */
    bool stopped;                 /* consumers stopped, not yet told */
    bool reset;                   /* the broker closed the channel */
    char reset_why[160];
    bool stop;
    int error; /* a broker error met while acting */
    cel_error_t err;
};

/* The task may have closed the connection's descriptor, and the number
 * may now be another file's: never write to it then (guard.c reports the
 * task when it returns). */
static int
intact(cel_watch_t *w)
{
    return cel__guard_intact(w->c)
               ? 0
               : cel_error_set(&w->err, CEL_ECLOSED,
                               "the task closed or replaced the broker "
                               "connection's descriptor");
}

/* Reads what is on the connection and hands each task back. Returns 0
 * when nothing is left, or a broker error. */
static int
hand_back_read(cel_watch_t *w, int *n)
{
    cel_child_t *c = w->c;
    cel_delivery_t d;

    for (int stalls = 0;;) {
        int r = cel_broker_next(c->broker, 0, &d, &w->err);
        if (r == CEL_ETIMEDOUT) {
            /* after any other frame too: go on while frames wait, but
             * not for ever on a frame still arriving */
            if (!cel_broker_pending(c->broker) || ++stalls > 8) {
                return 0;
            }
            continue;
        }
        if (r == CEL_BROKER_RETURNED) {
            cel__returned_add(c, &d);
            continue;
        }
        if (r == CEL_EBROKER && d.cancelled) { /* the queue went */
            cel_delivery_clear(&d);
            cel__consumers_lost(c, w->err.text);
            continue;
        }
        if (r == CEL_EBROKER) { /* it closed the channel (and it was
                                   opened again): consumer_timeout */
            cel_delivery_clear(&d);
            w->reset = true;
            snprintf(w->reset_why, sizeof(w->reset_why), "%s", w->err.text);
            continue;
        }
        if (r != 0 && !(r == CEL_EPROTO && d.delivery_tag != 0)) {
            cel_delivery_clear(&d);
            return r;
        }
        if (w->reset) { /* of the old channel: the broker took it back */
            cel_delivery_clear(&d);
            continue;
        }
        r = cel_broker_reject(c->broker, d.delivery_tag, true, &w->err);
        cel_delivery_clear(&d);
        if (r != 0) {
            return r;
        }
        ++*n;
    }
}

static void
hand_back(cel_watch_t *w)
{
    cel_child_t *c = w->c;
    int n = 0;

    /* Acks of tasks done before this one go now: held back for the
     * whole run, they could time out (consumer_timeout) with it. */
    int r = intact(w);
    r = r != 0 ? r : cel__flush_acks(c);
    r = r != 0 ? r : cel__consumers_stop(c, &w->err);
    r = r != 0 ? r : hand_back_read(w, &n);
    cel_broker_cork(c->broker, false); /* the rejects leave now */
    w->stopped = true;
    w->error = r;
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot hand back unstarted tasks: %s",
                w->err.text);
        return;
    }
    CEL_LOG(n > 0 ? CEL_LOG_INFO : CEL_LOG_DEBUG,
            "task %s[%s] has run %.0f ms: stopped consuming, %d unstarted "
            "task(s) handed back to the queue",
            w->name, w->id, (double)w->after_us / 1000.0, n);
}

/* With the consumers stopped, what the broker sent meanwhile is control
 * only (a heartbeat, a channel it closed): read it, so that a channel
 * closed under the run is known before the result goes out. */
static void
read_control(cel_watch_t *w)
{
    int n = 0;
    int r = intact(w);

    r = r != 0 ? r : hand_back_read(w, &n);
    if (r != 0) {
        w->error = r;
    }
}

/* Gives back held tasks now due. Returns when to look again (monotonic
 * us), 0 when nothing is held. */
static int64_t
give_back_due(cel_watch_t *w)
{
    int64_t next_wall = 0;
    int n = 0;

    if (w->held == NULL || (w->held->nfull == 0 && w->held->nlight == 0)) {
        return 0;
    }
    int r = intact(w);
    r = r != 0 ? r : cel__held_give_back(w->c, w->held, &next_wall, &n);
    cel_broker_cork(w->c->broker, false);
    if (r != 0) {
        w->error = r;
        cel_error_set(&w->err, r, "cannot hand back a held task");
        return 0;
    }
    if (n > 0) {
        CEL_LOG(CEL_LOG_INFO,
                "%d held task(s) fell due while task %s[%s] runs: handed "
                "back to the queue",
                n, w->name, w->id);
    }
    return next_wall == 0
               ? 0
               : cel_clock_now_us() + (next_wall - cel_clock_wall_us()) + 1000;
}

static int64_t
earliest(int64_t a, int64_t b)
{
    return a == 0 ? b : b == 0 || a < b ? a : b;
}

/* Sends the heartbeat due in run seq, if any; returns when the next one
 * is due (0: the connection has none). */
static int64_t
beat(cel_watch_t *w, uint64_t seq)
{
    int64_t half = (int64_t)cel_broker_heartbeat_s(w->c->broker) * 500000;
    int64_t now = cel_clock_now_us();

    if (half <= 0) {
        return 0;
    }
    if (w->beat_seq != seq) { /* the child's last read sent what was due */
        w->beat_seq = seq;
        w->beat_at = atomic_load(&w->since_us) + half;
    }
    if (now >= w->beat_at) {
        int r = intact(w);
        r = r != 0 ? r : cel_broker_beat(w->c->broker, &w->err);
        if (r != 0) {
            w->error = r;
            CEL_LOG(CEL_LOG_ERROR, "cannot send a heartbeat: %s", w->err.text);
            return 0;
        }
        w->beat_at = now + half;
    }
    return w->beat_at;
}

/* What is due in the current run; returns when to look again (monotonic
 * us), 0: when the next run begins. */
static int64_t
act(cel_watch_t *w, uint64_t seq)
{
    w->looked_at = seq;
    int64_t next = w->beats ? beat(w, seq) : 0;

    if (w->after_us > 0 && w->acted_on != seq) {
        int64_t at = atomic_load(&w->since_us) + w->after_us;
        if (cel_clock_now_us() < at) {
            return earliest(next, at);
        }
        w->acted_on = seq;
        hand_back(w);
    }
    if (w->after_us > 0 && w->error == 0) {
        next = earliest(next, give_back_due(w));
    }
    if (w->stopped && w->error == 0) {
        read_control(w);
    }
    return w->error == 0 ? next : 0;
}

static void
sleep_until(cel_watch_t *w, uint64_t seq, int64_t at_us)
{
    if (at_us == 0) {
        atomic_store(&w->idle, true);
        if (atomic_load(&w->seq) == seq && !w->stop) {
            pthread_cond_wait(&w->wake, &w->lock);
        }
        atomic_store(&w->idle, false);
        return;
    }
    struct timespec ts = {(time_t)(at_us / 1000000),
                          (long)(at_us % 1000000) * 1000};
    (void)pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

static void *
watch_main(void *arg)
{
    cel_watch_t *w = arg;

    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        uint64_t seq = atomic_load(&w->seq);
        int64_t at = seq % 2 == 1 && w->error == 0 ? act(w, seq) : 0;
        sleep_until(w, seq, at);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* The thread takes no signal: SIGALRM (the soft time limit) and SIGTERM
 * are the child's thread's. */
static int
spawn(cel_watch_t *w)
{
    sigset_t all, old;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&w->thread, NULL, watch_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r;
}

static int
init_sync(cel_watch_t *w)
{
    pthread_condattr_t ca;

    if (pthread_condattr_init(&ca) != 0) {
        return -1;
    }
    int r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    r = r != 0 ? r : pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (r == 0 && pthread_mutex_init(&w->lock, NULL) != 0) {
        pthread_cond_destroy(&w->wake);
        r = -1;
    }
    return r;
}

cel_watch_t *
cel__watch_start(cel_child_t *c, cel_held_t *held, int64_t after_us, bool beats)
{
    if (after_us <= 0 && !beats) {
        return NULL; /* --hand-back-after 0 --heartbeat 0 */
    }
    cel_watch_t *w = calloc(1, sizeof(*w));
    if (w == NULL || init_sync(w) != 0) {
        free(w);
        CEL_LOG(CEL_LOG_ERROR, "no watcher (out of memory, or no mutex): "
                               "tasks are not handed back while a long "
                               "one runs");
        return NULL;
    }
    w->c = c;
    w->held = held;
    w->after_us = after_us;
    w->beats = beats;
    w->name = w->id = "";
    int r = spawn(w);
    if (r != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        CEL_LOG(CEL_LOG_ERROR,
                "no watcher thread (error %d): tasks are not handed back "
                "while a long one runs",
                r);
        return NULL;
    }
    return w;
}

void
cel__watch_stop(cel_watch_t *w)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w);
}

void
cel__watch_begin(cel_watch_t *w, const char *name, const char *id)
{
    if (w == NULL) {
        return;
    }
    w->name = name; /* read by the watcher only after the store to seq */
    w->id = id;
    atomic_store(&w->since_us, cel_clock_now_us());
    atomic_fetch_add(&w->seq, 1);
    if (atomic_load(&w->idle)) {
        pthread_mutex_lock(&w->lock);
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
    }
}

int
cel__watch_end(cel_watch_t *w, cel_error_t *err)
{
    if (w == NULL) {
        return 0;
    }
    pthread_mutex_lock(&w->lock);
    if (w->looked_at == atomic_fetch_add(&w->seq, 1)) {
        /* it may sleep until a held task's due time or a heartbeat: the
         * next run must not wait for that */
        pthread_cond_signal(&w->wake);
    }
    if (w->stopped && w->error == 0) {
        read_control(w); /* a close that came after the last look */
    }
    int r = w->error != 0 ? w->error
            : w->reset    ? CEL__WATCH_RESET
            : w->stopped  ? 1
                          : 0;
    if (w->error != 0) {
        *err = w->err;
    } else if (w->reset) {
        cel_error_set(err, CEL_EBROKER, "%s", w->reset_why);
    }
    w->stopped = false;
    w->reset = false;
    w->error = 0;
    w->name = w->id = "";
    pthread_mutex_unlock(&w->lock);
    return r;
}
