/* client.c: a client's lifecycle. It opens two connections: one that
 * publishes tasks and one that consumes the client's exclusive reply queue
 * (declared before any task is sent, as Celery's rpc backend does), so
 * sending never waits behind reading and the other way round. */
#include "producer_internal.h"

#include <cel/clock.h>
#include <cel/log.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RESULT_EXPIRES_MS 86400000 /* Celery's result_expires */
#define RECONNECT_TRIES           6 /* backoff 0.1 s .. 3.2 s, 6.3 s in all */

/* What a deletion of the reply queue may have lost (cel__client_redeclare):
 * whether the reply connection is caught up is looked at no more often
 * than CHECK_EVERY_MS, unless BEHIND_BYTES / 2 were read meanwhile; the
 * queue may be gone up to CEL_RETURN_WINDOW_MS less GONE_MARGIN_MS. */
#define CHECK_EVERY_MS 100
#define GONE_MARGIN_MS 1000
#define BEHIND_BYTES   65536

static _Thread_local cel_error_t thread_error;

cel_error_t *
cel__client_error(void)
{
    return &thread_error;
}

void
cel__client_log(const cel_client_t *c, int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (c->log == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->log(level, line, c->log_arg);
}

void
cel_client_log_stderr(int level, const char *line, void *arg)
{
    (void)level;
    (void)arg;
    fprintf(stderr, "celeriac: producer: %s\n", line);
}

int
cel_client_errcode(const cel_client_t *c)
{
    (void)c;
    return thread_error.code;
}

const char *
cel_client_error(const cel_client_t *c)
{
    (void)c; /* kept per thread, so threads sharing c do not mix them up */
    return thread_error.text;
}

void
cel__lock(cel_client_t *c)
{
    pthread_mutex_lock(&c->lock);
}

void
cel__unlock(cel_client_t *c)
{
    pthread_mutex_unlock(&c->lock);
}

static void
destroy(cel_client_t *c)
{
    for (int i = 0; i < c->ndeclared; i++) {
        free(c->declared[i]);
    }
    free(c->url);
    cel__pending_clear(&c->pending);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->send_lock);
    free(c);
}

void
cel__unref_unlock(cel_client_t *c)
{
    bool last = --c->refs == 0;

    cel__unlock(c);
    if (last) {
        destroy(c);
    }
}

/* Declares c->reply_queue on rx and consumes it. */
static int
declare_reply_queue(cel_client_t *c, int64_t expires_ms, cel_error_t *err)
{
    cel_queue_opts_t q = {0};
    char tag[CEL_SHORTSTR_SIZE];

    q.exclusive = true; /* workers publish to it; only we consume it */
    q.auto_delete = true;
    q.expires_ms = expires_ms > 0 ? expires_ms : DEFAULT_RESULT_EXPIRES_MS;
    c->read_at_ms = cel_clock_now_ms();
    int r = cel_broker_declare_queue(c->rx, c->reply_queue, &q, err);
    if (r == 0) {
        r = cel_broker_consume(c->rx, c->reply_queue, true, tag, sizeof(tag),
                               err);
    }
    if (r == 0) { /* the queue exists from here: a deletion comes after */
        c->ok_at_ms = c->checked_at_ms = cel_clock_now_ms();
        c->read_since_ok = 0;
    }
    return r;
}

void
cel__client_note_read(cel_client_t *c, size_t bytes, bool cancelled)
{
    int64_t now = cel_clock_now_ms();

    c->read_at_ms = now;
    c->read_since_ok += bytes;
    if (cancelled || (now - c->checked_at_ms < CHECK_EVERY_MS &&
                      c->read_since_ok < BEHIND_BYTES / 2)) {
        return;
    }
    c->checked_at_ms = now;
    if (cel_broker_caught_up(c->rx)) {
        c->ok_at_ms = now;
        c->read_since_ok = 0;
    }
}

static cel_client_t *
client_new(void)
{
    cel_client_t *c = calloc(1, sizeof(*c));
    pthread_condattr_t ca;

    if (c == NULL || cel__pending_init(&c->pending) != 0) {
        free(c);
        return NULL;
    }
    /* Waits are measured on the monotonic clock, like every deadline. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->send_lock, NULL);
    c->refs = 1;
    return c;
}

static const char *
broker_url(const cel_client_opts_t *o)
{
    const char *url = o->broker_url;

    if (url == NULL) {
        url = getenv("CELERIAC_BROKER_URL");
    }
    return url && url[0] ? url : "amqp://guest:guest@localhost:5672//";
}

/* Opens a connection named name (suffix appended), each attempt within
 * timeout_ms (0: the broker-client's default), trying again with backoff
 * when tries > 1, with a log line per failed attempt. */
static int
connect_named(cel_client_t *c, const char *suffix, int tries,
              int64_t timeout_ms, cel_broker_t **out, cel_error_t *err)
{
    cel_broker_opts_t bo = CEL_BROKER_OPTS_INIT;
    char name[CEL_SHORTSTR_SIZE + 16];
    int64_t backoff = 100;
    int r = 0;

    snprintf(name, sizeof(name), "%s%s", c->name, suffix);
    bo.name = name;
    bo.queue_type = c->queue_type[0] ? c->queue_type : NULL;
    bo.delivery_limit = c->delivery_limit;
    if (timeout_ms > 0) {
        bo.connect_timeout_ms =
            timeout_ms < INT_MAX ? (int)timeout_ms : INT_MAX;
    }
    /* Of a failover list: the first node at the start, then the one after
     * the node last used (Celery's round-robin). */
    bo.first_node = tries == 1            ? 0
                    : c->failover_shuffle ? (int)(cel_clock_now_us() % 997)
                                          : atomic_load(&c->node) + 1;
    for (int i = 1; i <= tries; i++) {
        r = cel_broker_open(c->url, &bo, out, err);
        if (r == 0) {
            atomic_store(&c->node, cel_broker_node(*out, NULL, 0));
        }
        if (r == 0 || i == tries) {
            break;
        }
        cel__client_log(c, CEL_LOG_WARN,
                        "%s; reconnecting in %.1fs (attempt %d "
                        "of %d)",
                        err ? err->text : "cannot connect",
                        (double)backoff / 1000.0, i + 1, tries);
        (void)cel_clock_sleep_ms(backoff, NULL);
        backoff *= 2;
    }
    return r;
}

/* Opens both connections and the reply queue; with a connect timeout,
 * both opens together keep to it. */
static int
open_connections(cel_client_t *c, cel_error_t *err)
{
    int64_t limit = c->connect_timeout_ms;
    int64_t deadline = cel_clock_now_ms() + limit;

    int r = connect_named(c, "", 1, limit, &c->tx, err);
    if (r == 0 && limit > 0) {
        int64_t left = deadline - cel_clock_now_ms();
        limit = left < 1 ? 1 : left; /* what the first one left */
    }
    if (r == 0) {
        r = connect_named(c, " results", 1, limit, &c->rx, err);
    }
    if (r == 0) {
        cel_id_new(c->reply_queue);
        r = declare_reply_queue(c, c->result_expires_ms, err);
    }
    return r;
}

int
cel_client_open(const cel_client_opts_t *opts, cel_client_t **out,
                cel_error_t *err)
{
    static const cel_client_opts_t defaults = CEL_CLIENT_OPTS_INIT;
    const cel_client_opts_t *o = opts ? opts : &defaults;

    *out = NULL;
    cel_client_t *c = client_new();
    if (c == NULL || (c->url = strdup(broker_url(o))) == NULL) {
        free(c);
        return cel_error_set(err, CEL_ENOMEM, "out of memory");
    }
    const char *queue = o->queue ? o->queue : getenv("CELERIAC_QUEUE");
    snprintf(c->default_queue, sizeof(c->default_queue), "%s",
             queue && queue[0] ? queue : "celery");
    snprintf(c->name, sizeof(c->name), "%s",
             o->name ? o->name : "celeriac producer");
    cel_task_origin(c->origin, sizeof(c->origin));
    c->result_expires_ms = o->result_expires_ms;
    c->connect_timeout_ms = o->connect_timeout_ms;
    c->celery_workers = o->celery_workers;
    c->log = o->log;
    c->log_arg = o->log_arg;
    if (o->queue_type != NULL && strcmp(o->queue_type, "quorum") != 0 &&
        strcmp(o->queue_type, "classic") != 0) {
        cel_client_close(c);
        return cel_error_set(err, CEL_EINVAL,
                             "queue_type: \"quorum\", \"classic\" or NULL");
    }
    snprintf(c->queue_type, sizeof(c->queue_type), "%s",
             o->queue_type && strcmp(o->queue_type, "quorum") == 0 ? "quorum"
                                                                   : "");
    c->delivery_limit = o->delivery_limit;
    c->failover_shuffle = o->failover_shuffle;
    int r = open_connections(c, err);
    if (r != 0) {
        cel_client_close(c);
        return r;
    }
    *out = c;
    return 0;
}

static void
lose(cel_result_t *r)
{
    r->flags |= R_LOST;
    r->client->lost++;
    cel__result_ready(r); /* error_callback, group, or release */
}

static void
drop(cel_result_t *r)
{
    r->flags |= R_DROPPED;
    lose(r);
}

void
cel__lose_pending(cel_client_t *c)
{
    if (c->pending.count > 0) {
        c->lost_why = "the connection to the broker was lost";
    }
    cel__pending_take_all(&c->pending, lose);
}

/* Whether the results pending at a deletion of the reply queue may have
 * lost their replies, the queue having been missing for gone_ms at most
 * and unread bytes having been read since the client was last caught up;
 * if so, c->dropped_why says why, after "reply queue Q was deleted". */
static bool
may_be_lost(cel_client_t *c, int64_t gone_ms, size_t unread)
{
    const size_t size = sizeof(c->dropped_why);

    if (c->celery_workers) {
        snprintf(c->dropped_why, size, " (celery_workers is set)");
    } else if (gone_ms >= CEL_RETURN_WINDOW_MS - GONE_MARGIN_MS) {
        snprintf(c->dropped_why, size, " and was gone for up to %.1f s",
                 (double)gone_ms / 1000.0);
    } else if (unread >= BEHIND_BYTES) {
        snprintf(c->dropped_why, size, " with replies perhaps in it");
    } else {
        return false;
    }
    return true;
}

/* Replies can be lost in two ways while the queue is missing. One
 * published then finds no queue: workerd publishes results with
 * mandatory, gets such a one back and publishes it again for
 * CEL_RETURN_WINDOW_MS after it came back, so it arrives if the queue is
 * back within that. The deletion came after ok_at_ms (the client was then
 * caught up and saw no cancel), and every reply published since came
 * back after that, so a queue back less than the window (less a margin
 * for clocks and latency) after ok_at_ms loses none of those. And one
 * still in the queue when it was deleted goes with it: with a consumer
 * that reads, the broker keeps none there unless the client fell behind,
 * its socket full, so the results fail when much was read between the
 * last catch-up and the cancel. Past the window the results pending at
 * the cancel fail with CEL_ECONN, and a reply that still comes for one of
 * them is dropped as for a freed result.
 *
 * Celery's own workers publish a result once, without mandatory: one
 * published into the gap is lost without a trace, and nothing tells such
 * a worker's results apart. Keeping results pending then would hang a
 * wait with no limit (as it hangs Celery's own client), while failing
 * them at once fails results that would arrive (the issue this rule
 * answers) and a deadline cannot be set for a task that may run for
 * hours. So the rule counts on workerd, and a client whose tasks Celery's
 * workers may run says so (celery_workers), for the rule of a lost
 * connection: every result pending at the cancel fails at once.
 *
 * The name stays the same, so that tasks whose messages are on their way
 * carry a reply_to that works again. */
int
cel__client_redeclare(cel_client_t *c, cel_error_t *err)
{
    int64_t ok_at = c->ok_at_ms;
    size_t unread = c->read_since_ok;
    int r = declare_reply_queue(c, c->result_expires_ms, err);
    int64_t gone_ms = (r == 0 ? c->ok_at_ms : cel_clock_now_ms()) - ok_at;

    memcpy(c->deleted_queue, c->reply_queue, sizeof(c->deleted_queue));
    cel__client_log(c, CEL_LOG_WARN, "the reply queue %s was deleted; %s",
                    c->reply_queue, r == 0 ? "declared it again" : err->text);
    if (c->pending.count == 0) {
        return r;
    }
    if (r != 0) {
        snprintf(c->dropped_why, sizeof(c->dropped_why),
                 " and was not declared again");
    } else if (!may_be_lost(c, gone_ms, unread)) {
        cel__client_log(c, CEL_LOG_WARN,
                        "%zu result(s) pending stay pending: the queue "
                        "was gone for %.1f s at most, and workerd publishes a "
                        "result again for %d s",
                        c->pending.count, (double)gone_ms / 1000.0,
                        CEL_RETURN_WINDOW_MS / 1000);
        return 0;
    }
    c->lost_why = "the reply queue was deleted";
    cel__client_log(c, CEL_LOG_WARN,
                    "%zu result(s) pending fail: the reply "
                    "queue was deleted%s",
                    c->pending.count, c->dropped_why);
    cel__pending_take_all(&c->pending, drop);
    return r;
}

int
cel__client_revive(cel_client_t *c, cel_error_t *err)
{
    cel_broker_t *rx = NULL;
    cel_error_t e = CEL_ERROR_INIT;

    /* Nobody reads while we connect, and the lock is free meanwhile. */
    c->reading = true;
    cel_broker_t *old = c->rx;
    c->rx = NULL;
    cel__unlock(c);
    cel_broker_close(old);
    int r = connect_named(c, " results", RECONNECT_TRIES, c->connect_timeout_ms,
                          &rx, &e);
    cel__lock(c);
    c->rx = rx;
    if (r == 0) {
        cel_id_new(c->reply_queue);
        r = declare_reply_queue(c, c->result_expires_ms, &e);
    }
    c->reading = false;
    pthread_cond_broadcast(&c->cond);
    if (r != 0) {
        snprintf(c->dead_err.text, sizeof(c->dead_err.text), "%s", e.text);
        if (err != NULL) {
            *err = e;
        }
        return r;
    }
    char where[600];
    cel_broker_node(c->rx, where, sizeof(where));
    cel__client_log(c, CEL_LOG_WARN,
                    "reconnected to %s; results now come to %s", where,
                    c->reply_queue);
    atomic_store(&c->tx_suspect, true); /* what killed rx may have hit tx */
    c->dead = 0;
    cel_error_clear(&c->dead_err);
    return 0;
}

int
cel__client_reopen_tx(cel_client_t *c, cel_error_t *err)
{
    cel_broker_close(c->tx);
    c->tx = NULL;
    for (int i = 0; i < c->ndeclared; i++) {
        free(c->declared[i]); /* a new connection declares them again */
    }
    c->ndeclared = 0;
    return connect_named(c, "", RECONNECT_TRIES, c->connect_timeout_ms, &c->tx,
                         err);
}

/* Results the program has let go of, kept only for their callbacks, go
 * with the client; those the program or a group still holds stay PENDING
 * and keep the client's memory alive until they are freed. */
static void
drop_pending(cel_client_t *c)
{
    /* Handed back PENDING to their group, or freed if nobody holds them. */
    cel__pending_take_all(&c->pending, cel__result_hand_over);
    while (c->fire_head != NULL) {
        cel_result_t *r = c->fire_head;
        c->fire_head = r->next;
        r->next = NULL;
        r->flags &= ~R_QUEUED;
        cel__result_hand_over(r);
    }
    c->fire_tail = NULL;
}

void
cel_client_close(cel_client_t *c)
{
    if (c == NULL) {
        return;
    }
    cel__lock(c);
    c->closed = true;
    drop_pending(c);
    cel_broker_close(c->rx);
    cel_broker_close(c->tx);
    c->rx = c->tx = NULL;
    pthread_cond_broadcast(&c->cond);
    cel__unref_unlock(c);
}

static bool
all_arrived(cel_client_t *c, void *arg)
{
    (void)arg;
    return c->pending.count == 0 && c->fire_head == NULL && !c->firing;
}

int
cel_client_join(cel_client_t *c, int64_t timeout_ms, cel_error_t *err)
{
    cel__lock(c);
    int r = cel__wait_for(c, all_arrived, NULL, timeout_ms,
                          "results still pending", err);
    if (r == 0 && c->lost > 0) {
        r = cel_error_set(err, CEL_ECONN,
                          "%zu result(s) can no longer arrive: %s while "
                          "they were pending (the rpc backend keeps no "
                          "results)",
                          c->lost, c->lost_why);
        c->lost = 0;
    }
    cel__unlock(c);
    return r;
}

int
cel_client_poll(cel_client_t *c, int64_t timeout_ms, cel_error_t *err)
{
    cel__lock(c);
    int r = cel__pump(c, timeout_ms > 1000000 ? 1000000 : (int)timeout_ms, err);
    cel__unlock(c);
    return r == CEL_ETIMEDOUT ? 0 : r;
}

size_t
cel_client_pending(cel_client_t *c)
{
    cel__lock(c);
    size_t n = c->pending.count;
    cel__unlock(c);
    return n;
}

void
cel_client_reply_queue(cel_client_t *c, char *out, size_t size)
{
    cel__lock(c);
    snprintf(out, size, "%s", c->reply_queue);
    cel__unlock(c);
}
