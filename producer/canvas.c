/* canvas.c: signatures, and the canvas built from them as Celery's client
 * builds it: a chain is its first step's message with the other steps in
 * the embed (last first, each with a task id chosen here and the client's
 * reply queue, so every step's result comes back to this client), and a
 * link or errback rides in the embed with a task id of its own. Groups of
 * signatures are group.c's, chords chord.c's.
 *
 * The results of a chain's earlier steps and of links are held by the
 * result they belong to (struct cel_kin), each with R_USER and R_HELD set
 * on its behalf, and released with it. Everything here that touches results
 * runs with the client lock held, as producer_internal.h says. */
#include "producer_internal.h"

#include <stdlib.h>
#include <string.h>

static bool
set_part(json_t **slot, const json_t *v, json_t *(*make)(void), json_type type)
{
    *slot = v != NULL ? json_deep_copy(v) : make();
    return *slot != NULL && json_typeof(*slot) == type;
}

cel_sig_t *
cel_sig_new(const char *name, const json_t *args, const json_t *kwargs)
{
    size_t len = strlen(name);
    cel_sig_t *s = calloc(1, sizeof(*s) + len + 1);

    if (s == NULL) {
        return NULL;
    }
    memcpy(s->name, name, len + 1);
    s->options = json_object();
    if (s->options == NULL ||
        !set_part(&s->args, args, json_array, JSON_ARRAY) ||
        !set_part(&s->kwargs, kwargs, json_object, JSON_OBJECT)) {
        cel_sig_free(s);
        return NULL;
    }
    return s;
}

void
cel_sig_free(cel_sig_t *s)
{
    if (s == NULL) {
        return;
    }
    json_decref(s->args);
    json_decref(s->kwargs);
    json_decref(s->options);
    free(s);
}

cel_sig_t *
cel__sig_built(const char *name, json_t **items, size_t n, bool immutable)
{
    json_t *args = json_array();
    bool ok = args != NULL;

    for (size_t i = 0; i < n; i++) {
        ok = ok && items[i] != NULL && json_array_append(args, items[i]) == 0;
        json_decref(items[i]);
    }
    cel_sig_t *s = ok ? cel_sig_new(name, args, NULL) : NULL;
    json_decref(args);
    if (s != NULL) {
        s->immutable = immutable;
    }
    return s;
}

int
cel_sig_set_option(cel_sig_t *s, const char *key, const json_t *value)
{
    json_t *v = value ? json_deep_copy(value) : NULL;

    if (value == NULL) {
        return CEL_EINVAL;
    }
    if (v == NULL || json_object_set_new(s->options, key, v) != 0) {
        return CEL_ENOMEM;
    }
    return 0;
}

static int
set_new(cel_sig_t *s, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(s->options, key, v) == 0
               ? 0
               : CEL_ENOMEM;
}

int
cel_sig_set_queue(cel_sig_t *s, const char *queue)
{
    return set_new(s, "queue", json_string(queue));
}

int
cel_sig_set_task_id(cel_sig_t *s, const char *task_id)
{
    return set_new(s, "task_id", json_string(task_id));
}

int
cel_sig_set_countdown(cel_sig_t *s, double seconds)
{
    return set_new(s, "countdown", json_real(seconds));
}

void
cel_sig_set_immutable(cel_sig_t *s, bool immutable)
{
    s->immutable = immutable;
}

json_t *
cel_sig_to_json(const cel_sig_t *s)
{
    return json_pack("{s:s, s:O, s:O, s:O, s:n, s:b}", "task", s->name, "args",
                     s->args, "kwargs", s->kwargs, "options", s->options,
                     "subtask_type", "immutable", s->immutable);
}

/* The signature's JSON with its own task id and reply queue, as a chain
 * step or a link carries them: task_id first, as Celery writes it. */
static json_t *
sig_routed(const cel_sig_t *s, const char *task_id, const char *reply_to)
{
    json_t *j = cel_sig_to_json(s);
    json_t *o = json_object();
    const char *k;
    json_t *v;

    if (j == NULL || o == NULL ||
        json_object_set_new(o, "task_id", json_string(task_id)) != 0 ||
        (reply_to != NULL &&
         json_object_set_new(o, "reply_to", json_string(reply_to)) != 0)) {
        json_decref(o);
        json_decref(j);
        return NULL;
    }
    json_object_foreach (s->options, k, v) {
        if (strcmp(k, "task_id") != 0 && strcmp(k, "reply_to") != 0) {
            json_object_set(o, k, v);
        }
    }
    json_object_set_new(j, "options", o);
    return j;
}

/* The id a step or link goes with: its own task_id option, else new. */
static void
sig_id(const cel_sig_t *s, char *id)
{
    const char *own = json_string_value(json_object_get(s->options, "task_id"));

    if (own != NULL && strlen(own) < CEL_TID_SIZE) {
        strcpy(id, own);
    } else {
        cel_id_new(id);
    }
}

json_t *
cel__chain_embed(const cel_sig_t *const *sigs, size_t n,
                 char (*ids)[CEL_TID_SIZE], const char *reply_to)
{
    json_t *chain = json_array();

    for (size_t i = n; chain != NULL && i-- > 1;) {
        if (json_array_append_new(chain,
                                  sig_routed(sigs[i], ids[i], reply_to)) != 0) {
            json_decref(chain);
            chain = NULL;
        }
    }
    return chain;
}

/* One link or errback as a list of one signature, its id in id. */
static json_t *
link_list(const cel_sig_t *s, const char *reply_to, char *id)
{
    if (s == NULL) {
        return json_null();
    }
    sig_id(s, id);
    return json_pack("[o]", sig_routed(s, id, reply_to));
}

json_t *
cel__embed_links(const json_t *chain, const cel_opts_t *o, const char *reply_to,
                 char ids[2][CEL_TID_SIZE])
{
    ids[0][0] = ids[1][0] = '\0';
    json_t *cb = link_list(o->link, reply_to, ids[0]);
    json_t *eb = link_list(o->link_error, reply_to, ids[1]);
    json_t *e = json_pack("{s:o, s:o, s:O, s:n}", "callbacks", cb, "errbacks",
                          eb, "chain", chain ? chain : json_null(), "chord");

    if (reply_to == NULL) {
        /* No reply is wanted (ignore_result): nothing to track. */
        ids[0][0] = ids[1][0] = '\0';
    }
    return e;
}

static struct cel_kin *
kin_of(cel_result_t *r)
{
    if (r->kin == NULL) {
        r->kin = calloc(1, sizeof(*r->kin));
    }
    return r->kin;
}

/* With the lock held: a tracked result for task id, held by its owner. */
static cel_result_t *
held_new(cel_client_t *c, const char *id)
{
    static const cel_opts_t none = CEL_OPTS_INIT;

    cel_result_t *r =
        id[0] != '\0' ? cel__result_new(c, id, true, &none) : NULL;

    if (r != NULL) {
        r->flags |= R_HELD;
    }
    return r;
}

int
cel__kin_links(cel_result_t *r, char ids[2][CEL_TID_SIZE])
{
    struct cel_kin *k = kin_of(r);

    if (k == NULL) {
        return CEL_ENOMEM;
    }
    k->link = held_new(r->client, ids[0]);
    k->errback = held_new(r->client, ids[1]);
    if ((ids[0][0] && k->link == NULL) || (ids[1][0] && k->errback == NULL)) {
        return CEL_ENOMEM;
    }
    return 0;
}

/* With the lock held: no reply will come for r; waiting on it ends. */
static void
untrack(cel_result_t *r)
{
    if (r != NULL && (r->flags & R_TRACKED) && !cel_state_ready(r->state)) {
        cel__pending_remove(&r->client->pending, r);
        r->flags &= ~R_TRACKED;
    }
}

void
cel__kin_settled(cel_result_t *r)
{
    untrack(r->state == CEL_STATE_SUCCESS ? r->kin->errback : r->kin->link);
}

static void
let_go(cel_result_t *r)
{
    if (r != NULL) {
        r->flags &= ~(R_USER | R_HELD);
        cel__result_release(r);
    }
}

void
cel__kin_release(cel_result_t *r)
{
    struct cel_kin *k = r->kin;

    r->kin = NULL;
    let_go(k->link);
    let_go(k->errback);
    /* A long chain's steps are let go one by one, not by recursion. */
    cel_result_t *p = k->parent;
    free(k);
    while (p != NULL) {
        cel_result_t *next = p->kin ? p->kin->parent : NULL;
        if (p->kin != NULL) {
            p->kin->parent = NULL;
        }
        let_go(p);
        p = next;
    }
}

cel_result_t *
cel_result_parent(const cel_result_t *r)
{
    return r->kin ? r->kin->parent : NULL;
}

cel_result_t *
cel_result_link(const cel_result_t *r)
{
    return r->kin ? r->kin->link : NULL;
}

cel_result_t *
cel_result_errback(const cel_result_t *r)
{
    return r->kin ? r->kin->errback : NULL;
}

/* A string option of the signature, when opts leaves it unset. */
static void
opt_str(const json_t *op, const char *key, const char **slot)
{
    if (*slot == NULL) {
        *slot = json_string_value(json_object_get(op, key));
    }
}

/* A number of seconds, when opts leaves it unset (0). */
static void
opt_num(const json_t *op, const char *key, double *slot)
{
    if (*slot <= 0) {
        *slot = json_number_value(json_object_get(op, key));
    }
}

void
cel__sig_opts(const cel_sig_t *s, const cel_opts_t *opts, cel_opts_t *o)
{
    static const cel_opts_t none = CEL_OPTS_INIT;
    const json_t *op = s->options;

    *o = opts ? *opts : none;
    o->task_id = json_string_value(json_object_get(op, "task_id"));
    opt_str(op, "queue", &o->queue);
    opt_str(op, "exchange", &o->exchange);
    opt_str(op, "routing_key", &o->routing_key);
    opt_num(op, "countdown", &o->countdown);
    opt_num(op, "expires", &o->expires);
    opt_num(op, "time_limit", &o->time_limit);
    opt_num(op, "soft_time_limit", &o->soft_time_limit);
    if (o->priority == 0) {
        o->priority = (int)json_integer_value(json_object_get(op, "priority"));
    }
}

/* With the lock held: tracked results for steps 1..n-1, each held by the
 * next, the last with opts' callbacks. Returns the last, or NULL. */
static cel_result_t *
track_steps(cel_client_t *c, char (*ids)[CEL_TID_SIZE], size_t n,
            const cel_opts_t *opts)
{
    static const cel_opts_t none = CEL_OPTS_INIT;
    cel_result_t *prev = NULL;

    for (size_t i = 1; i < n; i++) {
        const cel_opts_t *o = i == n - 1 && opts ? opts : &none;
        cel_result_t *r = cel__result_new(c, ids[i], true, o);
        if (r == NULL || (prev != NULL && kin_of(r) == NULL)) {
            let_go(r);
            let_go(prev);
            return NULL;
        }
        if (prev != NULL) {
            r->kin->parent = prev;
            prev->flags |= R_HELD;
        }
        prev = r;
    }
    return prev;
}

/* With the lock held: the first step's result r0 becomes the parent of
 * the second, whose result is in last's line of parents. */
static int
attach_first(cel_result_t *last, cel_result_t *r0)
{
    cel_result_t *r = last;

    while (r->kin != NULL && r->kin->parent != NULL) {
        r = r->kin->parent;
    }
    if (kin_of(r) == NULL) {
        return CEL_ENOMEM;
    }
    r->kin->parent = r0;
    r0->flags |= R_HELD;
    return 0;
}

/* Sends the chain's first step, with embed, as its own result r0. The
 * callbacks of opts are the last step's: the first's only when it is the
 * only one. */
static cel_result_t *
send_first(cel_client_t *c, const cel_sig_t *s, const char *id,
           const json_t *embed, const cel_opts_t *opts, bool last,
           cel_error_t *err)
{
    cel_call_t call = {s->name, s->args, s->kwargs, embed, NULL};
    cel_opts_t o;

    cel__sig_opts(s, opts, &o);
    o.task_id = id;
    if (!last) { /* the callbacks and links are the chain's (its last) */
        o.callback = o.error_callback = NULL;
        o.link = o.link_error = NULL;
    }
    o.ignore_result = false;
    return cel__send_call(c, &call, &o, NULL, err);
}

/* Celery's chain.apply_async(link=, link_error=): the link rides on the
 * last step, the errback on every step (the one that fails sends it),
 * each with one id, in ids. Only for chains of two steps or more: a lone
 * step takes them as any task does. */
static bool
chain_links(json_t *embed, const cel_opts_t *opts, const char *reply_to,
            char ids[2][CEL_TID_SIZE])
{
    json_t *chain = json_object_get(embed, "chain");
    json_t *link = opts->link ? link_list(opts->link, reply_to, ids[0]) : NULL;
    json_t *eb =
        opts->link_error ? link_list(opts->link_error, reply_to, ids[1]) : NULL;
    bool ok = (opts->link == NULL || link) && (opts->link_error == NULL || eb);

    if (ok && link) {
        json_t *o = json_object_get(json_array_get(chain, 0), "options");
        ok = json_object_set(o, "link", link) == 0;
    }
    for (size_t i = 0; ok && eb && i < json_array_size(chain); i++) {
        json_t *o = json_object_get(json_array_get(chain, i), "options");
        ok = json_object_set(o, "link_error", eb) == 0;
    }
    ok = ok && (eb == NULL || json_object_set(embed, "errbacks", eb) == 0);
    json_decref(link);
    json_decref(eb);
    return ok;
}

/* With the lock held, so that a reconnect cannot come between the reply
 * queue the steps name and their tracking: the first step's embed, and
 * the tracked results of the later steps and of the links (held by the
 * last step's), the last in *last. Returns the embed, or NULL. */
static json_t *
chain_prepare(cel_client_t *c, const cel_sig_t *const *sigs, size_t n,
              const cel_opts_t *opts, char (*ids)[CEL_TID_SIZE],
              cel_result_t **last)
{
    char lids[2][CEL_TID_SIZE] = {"", ""};
    json_t *embed =
        json_pack("{s:n, s:n, s:o, s:n}", "callbacks", "errbacks", "chain",
                  cel__chain_embed(sigs, n, ids, c->reply_queue), "chord");

    *last = NULL;
    if (embed != NULL && n > 1 && opts != NULL &&
        !chain_links(embed, opts, c->reply_queue, lids)) {
        json_decref(embed);
        embed = NULL;
    }
    if (embed != NULL && n > 1) {
        *last = track_steps(c, ids, n, opts);
        if (*last == NULL || cel__kin_links(*last, lids) != 0) {
            let_go(*last);
            *last = NULL;
            json_decref(embed);
            embed = NULL;
        }
    }
    return embed;
}

static cel_result_t *
chain_send(cel_client_t *c, const cel_sig_t *const *sigs, size_t n,
           const cel_opts_t *opts, char (*ids)[CEL_TID_SIZE], cel_error_t *err)
{
    cel_result_t *last, *r0 = NULL;

    cel__lock(c);
    json_t *embed = chain_prepare(c, sigs, n, opts, ids, &last);
    cel__unlock(c);
    if (embed == NULL) {
        cel_error_set(err, CEL_ENOMEM, "out of memory");
        return NULL;
    }
    r0 = send_first(c, sigs[0], ids[0], embed, opts, n == 1, err);
    json_decref(embed);
    cel__lock(c);
    if (r0 != NULL && last != NULL && attach_first(last, r0) != 0) {
        let_go(r0); /* sent, but cannot be tracked: the rest still runs */
        cel_error_set(err, CEL_ENOMEM, "out of memory");
        r0 = NULL;
    }
    if (r0 == NULL) {
        let_go(last);
        last = NULL;
    }
    cel__unlock(c);
    return n > 1 ? last : r0;
}

cel_result_t *
cel_chain_apply_async(cel_client_t *c, const cel_sig_t *const *sigs, size_t n,
                      const cel_opts_t *opts)
{
    cel_error_t *err = cel__client_error();

    cel_error_clear(err);
    if (n == 0) {
        cel_error_set(err, CEL_EINVAL, "a chain needs at least one step");
        return NULL;
    }
    char(*ids)[CEL_TID_SIZE] = calloc(n, CEL_TID_SIZE);
    if (ids == NULL) {
        cel_error_set(err, CEL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        sig_id(sigs[i], ids[i]);
    }
    if (opts != NULL && opts->task_id != NULL) {
        cel_copy_str(ids[n - 1], CEL_TID_SIZE, opts->task_id); /* Celery's */
    }
    cel_result_t *r = chain_send(c, sigs, n, opts, ids, err);
    free(ids);
    return r;
}
