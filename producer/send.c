/* send.c: turning a call into a Celery task message on the task queue.
 * The target queue is declared once per client, as kombu's producer does
 * before its first publish, so a task sent before any worker started is
 * not dropped as unroutable. The result is registered before the message
 * leaves, so a reply can never arrive for a task not yet known. */
#include "producer_internal.h"

#include <cel/clock.h>

#include <stdlib.h>
#include <string.h>

#define READ_EVERY         64 /* sends between looks at the reply queue */
#define CONFIRM_TIMEOUT_MS 15000
#define IDLE_LOOK_MS       200 /* unread this long: look before sending */

static int
ensure_queue(cel_client_t *c, const char *queue, cel_error_t *err)
{
    for (int i = 0; i < c->ndeclared; i++) {
        if (strcmp(c->declared[i], queue) == 0) {
            return 0;
        }
    }
    int r = cel_broker_declare_task_queue(c->tx, queue, err);
    if (r == 0 && cel_broker_last_consumers(c->tx) == 0) {
        /* for a wait that runs out: a misspelt queue name? */
        snprintf(c->unserved_queue, sizeof(c->unserved_queue), "%s", queue);
    }
    if (r == 0 && c->ndeclared < CEL_MAX_DECLARED) {
        c->declared[c->ndeclared] = strdup(queue);
        c->ndeclared += c->declared[c->ndeclared] != NULL;
    }
    return r;
}

static int64_t
seconds_to_us(double s)
{
    return (int64_t)(s * 1e6);
}

static void
fill_spec(const cel_client_t *c, const char *reply_to, const cel_opts_t *o,
          cel_task_spec_t *spec)
{
    /* The clock only when a relative time needs it: this is per task. */
    bool relative = (o->eta <= 0 && o->countdown > 0) ||
                    (o->expires_at <= 0 && o->expires > 0);
    int64_t now = relative ? cel_clock_wall_us() : 0;

    spec->reply_to = o->ignore_result ? NULL : reply_to;
    spec->origin = c->origin;
    spec->id = o->task_id;
    if (o->eta > 0) {
        spec->eta_us = seconds_to_us(o->eta);
    } else if (o->countdown > 0) {
        spec->eta_us = now + seconds_to_us(o->countdown);
    }
    if (o->expires_at > 0) {
        spec->expires_us = seconds_to_us(o->expires_at);
    } else if (o->expires > 0) {
        spec->expires_us = now + seconds_to_us(o->expires);
    }
    spec->time_limit = o->time_limit;
    spec->soft_time_limit = o->soft_time_limit;
    spec->priority = o->priority;
    spec->delivery_mode = o->delivery_mode;
    spec->retries = o->retries;
    spec->ignore_result = o->ignore_result;
    spec->headers = o->headers;
    spec->compression = o->compression;
}

/* With send_lock held: is the publishing connection gone? A broker's
 * close is only seen by reading, which a publish never does, so look now
 * and then, and always after the reply connection was lost. */
static bool
tx_lost(cel_client_t *c)
{
    if ((atomic_exchange(&c->tx_suspect, false) ||
         c->sends % READ_EVERY == 0) &&
        cel_broker_drain(c->tx, NULL) != 0) {
        return true;
    }
    return cel_broker_fd(c->tx) < 0;
}

/* With send_lock held: CEL_EBLOCKED when the broker said it blocks this
 * connection's publishes and has not said it stopped (read again first):
 * a publish would only wait in the socket, or block the caller once the
 * socket is full. */
static int
not_blocked(cel_client_t *c, cel_error_t *err)
{
    char why[128];

    if (!cel_broker_blocked(c->tx, NULL, 0) ||
        (cel_broker_drain(c->tx, NULL) == 0 &&
         !cel_broker_blocked(c->tx, NULL, 0))) {
        return 0;
    }
    cel_broker_blocked(c->tx, why, sizeof(why));
    return cel_error_set(err, CEL_EBLOCKED,
                         "not sent: the broker is blocking publishing (%s)",
                         why);
}

bool
cel__client_unserved(cel_client_t *c, char *queue, size_t size)
{
    if (pthread_mutex_trylock(&c->send_lock) != 0) {
        return false;
    }
    snprintf(queue, size, "%s", c->unserved_queue);
    pthread_mutex_unlock(&c->send_lock);
    return queue[0] != '\0';
}

bool
cel__client_blocked(cel_client_t *c, char *why, size_t size)
{
    bool blocked = false;

    if (pthread_mutex_trylock(&c->send_lock) != 0) {
        return false; /* a send is under way: it will see for itself */
    }
    if (c->tx != NULL && cel_broker_drain(c->tx, NULL) == 0) {
        blocked = cel_broker_blocked(c->tx, why, size);
    }
    pthread_mutex_unlock(&c->send_lock);
    return blocked;
}

/* Publishes env where the options route it: the default exchange with the
 * queue's name (declaring the queue first), or a named exchange. */
static int
publish(cel_client_t *c, const cel_opts_t *o, const cel_envelope_t *env,
        cel_error_t *err)
{
    const char *queue = o->queue ? o->queue : c->default_queue;
    const char *key = o->routing_key ? o->routing_key : queue;
    bool direct = o->exchange == NULL || o->exchange[0] == '\0';
    int r = 0;

    pthread_mutex_lock(&c->send_lock);
    if (c->tx == NULL) {
        r = cel_error_set(err, CEL_ECLOSED, "the client was closed");
    } else if (tx_lost(c)) {
        r = cel__client_reopen_tx(c, err); /* connect again */
    }
    if (r == 0) {
        r = not_blocked(c, err);
    }
    if (r == 0 && direct) {
        r = ensure_queue(c, key, err);
    }
    if (r == 0 && o->confirm) {
        r = cel_broker_confirm_select(c->tx, err);
    }
    if (r == 0) {
        r = cel_broker_publish(c->tx, direct ? "" : o->exchange, key, env, err);
    }
    if (r == 0 && o->confirm) {
        r = cel_broker_wait_confirms(c->tx, CONFIRM_TIMEOUT_MS, err);
    }
    bool read_now = ++c->sends % READ_EVERY == 0;
    pthread_mutex_unlock(&c->send_lock);
    /* Let replies in, and callbacks run, while a long burst is sent. */
    if (r == 0 && read_now) {
        cel__lock(c);
        (void)cel__pump(c, 0, NULL);
        cel__unlock(c);
    }
    return r;
}

/* Removes a result whose message could not be sent. */
static void
discard(cel_client_t *c, cel_result_t *r)
{
    cel__lock(c);
    free(r->hooks);
    r->hooks = NULL;
    r->group = NULL;
    r->flags &= ~R_USER;
    c->refs++;
    cel__result_release(r);
    cel__unref_unlock(c);
}

/* With the lock held: makes sure replies can come (reconnecting after a
 * lost reply connection) and copies where they come to. A client that
 * has not read its reply connection for a while looks at it first: the
 * broker may have cancelled the reply consumer meanwhile (the queue was
 * deleted), and the queue must be back before a task names it. */
static int
reply_route(cel_client_t *c, char *reply_to, cel_error_t *err)
{
    if (!c->closed && !c->dead && !c->reading &&
        cel_clock_now_ms() - c->read_at_ms > IDLE_LOOK_MS) {
        (void)cel__pump(c, 0, NULL);
    }
    while (!c->closed && c->dead) {
        if (c->reading) {
            pthread_cond_wait(&c->cond, &c->lock); /* someone reconnects */
            continue;
        }
        int r = cel__client_revive(c, err);
        if (r != 0) {
            return cel_error_set(err, r, "the client's connection is lost: %s",
                                 c->dead_err.text);
        }
    }
    if (c->closed) {
        return cel_error_set(err, CEL_ECLOSED, "the client was closed");
    }
    memcpy(reply_to, c->reply_queue, CEL_ID_SIZE);
    return 0;
}

/* Registers the result of task id, owned by the program or by group. */
static cel_result_t *
track(cel_client_t *c, const char *id, const char *reply_to,
      const cel_opts_t *o, cel_group_t *group, cel_error_t *err)
{
    cel_result_t *r = NULL;

    cel__lock(c);
    if (c->closed || c->dead || strcmp(reply_to, c->reply_queue) != 0) {
        /* The connection went while we encoded: the reply would be lost. */
        cel_error_set(err, CEL_ECONN, "the client's connection was lost");
    } else if ((r = cel__result_new(c, id, !o->ignore_result, o)) == NULL) {
        cel_error_set(err, CEL_ENOMEM, "out of memory");
    } else if (group != NULL) {
        r->group = group;
        r->flags &= ~R_USER;
        group->held++;
    }
    cel__unlock(c);
    return r;
}

/* With the lock held: r is tracked; its links' results are tracked now,
 * before the message leaves, so that their replies find them. */
static int
track_links(cel_client_t *c, cel_result_t *r, char ids[2][CEL_TID_SIZE],
            cel_error_t *err)
{
    if (ids[0][0] == '\0' && ids[1][0] == '\0') {
        return 0;
    }
    cel__lock(c);
    int rc = cel__kin_links(r, ids);
    cel__unlock(c);
    return rc == 0 ? 0 : cel_error_set(err, rc, "out of memory");
}

/* Encodes the call's message; links in the options go into its embed. */
static int
encode(const cel_call_t *call, const cel_opts_t *o, cel_task_spec_t *spec,
       char ids[2][CEL_TID_SIZE], cel_envelope_t *env, char *id,
       cel_error_t *err)
{
    json_t *embed = NULL;

    spec->name = call->name;
    spec->args = call->args;
    spec->kwargs = call->kwargs;
    spec->group = call->group_id;
    spec->embed = call->embed;
    if (o->link != NULL || o->link_error != NULL) {
        embed = cel__embed_links(
            call->embed ? json_object_get(call->embed, "chain") : NULL, o,
            spec->reply_to, ids);
        if (embed == NULL) {
            return cel_error_set(err, CEL_ENOMEM, "out of memory");
        }
        spec->embed = embed;
    }
    int rc = cel_task_encode(spec, env, id, CEL_SHORTSTR_SIZE, err);
    json_decref(embed);
    return rc;
}

/* The message of call, for the client's current reply queue (written
 * into reply_to), with its link ids and its task id. Returns 0 with env
 * to release, or an error with nothing to release. */
static int
prepare(cel_client_t *c, const cel_call_t *call, const cel_opts_t *o,
        char *reply_to, char link_ids[2][CEL_TID_SIZE], cel_envelope_t *env,
        char *id, cel_error_t *err)
{
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;

    cel__lock(c);
    int rc = reply_route(c, reply_to, err);
    cel__unlock(c);
    if (rc != 0) {
        return rc;
    }
    fill_spec(c, reply_to, o, &spec);
    rc = encode(call, o, &spec, link_ids, env, id, err);
    /* No AMQP TTL, unlike Celery: a broker drops an expired message
     * silently and its caller would wait for ever, while a worker that
     * reads it answers REVOKED. The expires header is what counts. */
    if (rc == 0) {
        env->expiration[0] = '\0';
    }
    return rc;
}

cel_result_t *
cel__send_call(cel_client_t *c, const cel_call_t *call, const cel_opts_t *opts,
               cel_group_t *group, cel_error_t *err)
{
    static const cel_opts_t defaults = CEL_OPTS_INIT;
    const cel_opts_t *o = opts ? opts : &defaults;
    cel_envelope_t env;
    char id[CEL_SHORTSTR_SIZE], reply_to[CEL_ID_SIZE];
    char link_ids[2][CEL_TID_SIZE] = {"", ""};

    if (prepare(c, call, o, reply_to, link_ids, &env, id, err) != 0) {
        return NULL;
    }
    cel_result_t *r = track(c, id, reply_to, o, group, err);
    if (r != NULL && (track_links(c, r, link_ids, err) != 0 ||
                      publish(c, o, &env, err) != 0)) {
        if (group != NULL) {
            cel__lock(c);
            group->held--;
            cel__unlock(c);
        }
        discard(c, r);
        r = NULL;
    }
    cel_envelope_clear(&env);
    return r;
}

int
cel__send_untracked(cel_client_t *c, const cel_call_t *call,
                    const cel_opts_t *o, cel_error_t *err)
{
    cel_envelope_t env;
    char id[CEL_SHORTSTR_SIZE], reply_to[CEL_ID_SIZE];
    char link_ids[2][CEL_TID_SIZE] = {"", ""};

    int rc = prepare(c, call, o, reply_to, link_ids, &env, id, err);
    if (rc != 0) {
        return rc;
    }
    rc = publish(c, o, &env, err);
    cel_envelope_clear(&env);
    return rc;
}

cel_result_t *
cel__send(cel_client_t *c, const char *name, const json_t *args,
          const json_t *kwargs, const cel_opts_t *opts, cel_group_t *group,
          cel_error_t *err)
{
    cel_call_t call = {name, args, kwargs, NULL, NULL};

    return cel__send_call(c, &call, opts, group, err);
}

cel_result_t *
cel_apply_async(cel_client_t *c, const char *name, const json_t *args,
                const json_t *kwargs, const cel_opts_t *opts)
{
    cel_error_t *err = cel__client_error();

    cel_error_clear(err);
    return cel__send(c, name, args, kwargs, opts, NULL, err);
}

int
cel_apply(cel_client_t *c, const char *name, const json_t *args,
          const json_t *kwargs, const cel_opts_t *opts, int64_t timeout_ms,
          json_t **value, cel_error_t *err)
{
    cel_opts_t o = CEL_OPTS_INIT;
    cel_error_t e;
    const json_t *v;

    *value = NULL;
    if (opts != NULL) {
        o = *opts;
    }
    o.ignore_result = false; /* apply is for the value */
    cel_result_t *r = cel__send(c, name, args, kwargs, &o, NULL, &e);
    if (r == NULL) {
        if (err != NULL) {
            *err = e;
        }
        return e.code;
    }
    int rc = cel_result_get(r, timeout_ms, &v, err);
    if (rc == 0) {
        *value = json_incref((json_t *)v);
    }
    cel_result_free(r);
    return rc;
}

cel_result_t *
cel__send_built(cel_client_t *c, const char *name, const cel_opts_t *opts,
                json_t **items, size_t n)
{
    cel_error_t *err = cel__client_error();
    json_t *args = json_array();
    bool ok = args != NULL;

    cel_error_clear(err);
    for (size_t i = 0; i < n; i++) {
        if (items[i] == NULL) {
            cel_error_set(err, CEL_EARGS,
                          "%s(): argument %zu cannot be sent as JSON", name,
                          i + 1);
            ok = false;
        } else if (ok && json_array_append_new(args, items[i]) != 0) {
            ok = false;
        } else if (!ok) {
            json_decref(items[i]);
        }
    }
    cel_result_t *r =
        ok ? cel__send(c, name, args, NULL, opts, NULL, err) : NULL;
    json_decref(args);
    return r;
}
