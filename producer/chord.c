/* chord.c: chords on rpc://, built in the producer, since Celery's rpc
 * backend refuses them. The header is sent as a group whose members carry
 * internal callbacks; the chord's result is tracked under the body's task
 * id, chosen here. There is no background thread: a chord moves on when
 * its members' callbacks run, that is inside whatever library call of the
 * program reads replies (wait, get, ready, poll, join, group_next, or a
 * send now and then), as any callback does. The callback of the member
 * that completes the header sends the body with the list of the header's
 * values prepended to its args; the first member that fails fails the
 * chord's result with its exception, and the body is never sent.
 *
 * The chord's state is shared by its members' callbacks, under the client
 * lock, and freed by the last of them to run (each runs exactly once, also
 * for a member lost with the connection). It never points at the chord's
 * result, which the program may free at any time: it finds it by id in the
 * pending table, where it stays until settled or freed. */
#include "producer_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    cel_client_t *c;
    char id[CEL_TID_SIZE];     /* the chord's result: the body's task id */
    cel_sig_t *body;           /* owned copy */
    char *queue;               /* opts->queue copied, or NULL */
    json_t *values;            /* the header's values, in order */
    char (*ids)[CEL_TID_SIZE]; /* the members' task ids */
    size_t n, ok, fired, expect;
    bool over; /* the body was sent, or the chord failed */
} chord_t;

static cel_sig_t *
sig_copy(const cel_sig_t *s)
{
    cel_sig_t *copy = cel_sig_new(s->name, s->args, s->kwargs);

    if (copy != NULL) {
        json_decref(copy->options);
        copy->options = json_deep_copy(s->options);
        copy->immutable = s->immutable;
        if (copy->options == NULL) {
            cel_sig_free(copy);
            copy = NULL;
        }
    }
    return copy;
}

static void
chord_free(chord_t *ch)
{
    if (ch != NULL) {
        json_decref(ch->values);
        cel_sig_free(ch->body);
        free(ch->queue);
        free(ch->ids);
        free(ch);
    }
}

/* The id a signature is sent with: its task_id option, else a new one. */
static void
sig_id(const cel_sig_t *s, char *id)
{
    cel_opts_t o;

    cel__sig_opts(s, NULL, &o);
    if (o.task_id != NULL && strlen(o.task_id) < CEL_TID_SIZE) {
        strcpy(id, o.task_id);
    } else {
        cel_id_new(id);
    }
}

static chord_t *
chord_new(cel_client_t *c, const cel_sig_t *const *header, size_t n,
          const cel_sig_t *body, const cel_opts_t *opts)
{
    chord_t *ch = calloc(1, sizeof(*ch));

    if (ch == NULL) {
        return NULL;
    }
    ch->c = c;
    ch->n = ch->expect = n;
    ch->body = sig_copy(body);
    ch->values = json_array();
    ch->ids = calloc(n, CEL_TID_SIZE);
    ch->queue = opts && opts->queue ? strdup(opts->queue) : NULL;
    bool ok = ch->body && ch->values && ch->ids &&
              (ch->queue || !opts || !opts->queue);
    for (size_t i = 0; ok && i < n; i++) {
        ok = json_array_append_new(ch->values, json_null()) == 0;
        sig_id(header[i], ch->ids[i]);
    }
    if (!ok) {
        chord_free(ch);
        return NULL;
    }
    if (opts != NULL && opts->task_id != NULL) {
        cel_copy_str(ch->id, CEL_TID_SIZE, opts->task_id);
    } else {
        sig_id(body, ch->id);
    }
    return ch;
}

/* With the lock held: the chord's result, if still wanted, becomes ready
 * with state and result (borrowed). */
static void
settle_chord(chord_t *ch, cel_state_t state, const json_t *result)
{
    cel_client_t *c = ch->c;
    cel_result_t *r = cel__pending_find(&c->pending, ch->id);
    cel_result_msg_t m = {ch->id, state, (json_t *)result, NULL, NULL};

    if (r == NULL) {
        return; /* freed by the program, or lost with the connection */
    }
    cel__result_settle(r, &m);
    cel__pending_remove(&c->pending, r);
    r->flags &= ~R_TRACKED;
    cel__result_ready(r);
    pthread_cond_broadcast(&c->cond);
}

/* The body's args: the header's values first, unless it is immutable. */
static json_t *
body_args(const chord_t *ch)
{
    if (ch->body->immutable) {
        return json_incref(ch->body->args);
    }
    json_t *args = json_pack("[O]", ch->values);
    if (args != NULL && json_array_extend(args, ch->body->args) != 0) {
        json_decref(args);
        args = NULL;
    }
    return args;
}

/* Without the lock: sends the body as the chord's task; a body that
 * cannot be sent fails the chord with ChordError. */
static void
send_body(chord_t *ch)
{
    cel_error_t e = CEL_ERROR_INIT;
    json_t *args = body_args(ch);
    cel_call_t call = {ch->body->name, args, ch->body->kwargs, NULL, NULL};
    cel_opts_t o;

    cel__sig_opts(ch->body, NULL, &o);
    o.queue = o.queue ? o.queue : ch->queue;
    o.task_id = ch->id;
    int rc = args != NULL ? cel__send_untracked(ch->c, &call, &o, &e)
                          : cel_error_set(&e, CEL_ENOMEM, "out of memory");
    json_decref(args);
    if (rc != 0) {
        json_t *exc = cel_exc_new("ChordError", "celery.exceptions", e.text);
        cel__lock(ch->c);
        settle_chord(ch, CEL_STATE_FAILURE, exc);
        cel__unlock(ch->c);
        json_decref(exc);
    }
}

static size_t
member_index(const chord_t *ch, const char *id)
{
    for (size_t i = 0; i < ch->n; i++) {
        if (strcmp(ch->ids[i], id) == 0) {
            return i;
        }
    }
    return 0; /* cannot happen: every member is one of ours */
}

static void
member_ok(cel_result_t *r, void *arg)
{
    chord_t *ch = arg;
    const json_t *v = cel_result_value(r);

    cel__lock(ch->c);
    json_array_set(ch->values, member_index(ch, cel_result_id(r)), (json_t *)v);
    bool send = ++ch->ok == ch->n && !ch->over;
    ch->over = ch->over || send;
    bool last = ++ch->fired == ch->expect;
    cel__unlock(ch->c);
    if (send) {
        send_body(ch);
    }
    if (last) {
        chord_free(ch);
    }
}

/* A member failed (or was lost): the chord fails with its exception. */
static void
member_fail(cel_result_t *r, void *arg)
{
    chord_t *ch = arg;

    cel__lock(ch->c);
    if (!ch->over && cel_state_ready(r->state)) {
        settle_chord(ch, (cel_state_t)r->state, r->value);
    }
    ch->over = true;
    bool last = ++ch->fired == ch->expect;
    cel__unlock(ch->c);
    if (last) {
        chord_free(ch);
    }
}

/* Sends member i of the header, in group gid, with the chord's hooks. */
static int
send_member(chord_t *ch, const cel_sig_t *s, size_t i, const char *gid,
            cel_error_t *err)
{
    cel_opts_t base = CEL_OPTS_INIT, o;
    cel_call_t call = {s->name, s->args, s->kwargs, NULL, gid};

    base.queue = ch->queue;
    base.callback = member_ok;
    base.error_callback = member_fail;
    base.callback_arg = ch;
    cel__sig_opts(s, &base, &o);
    o.task_id = ch->ids[i];
    cel_result_t *m = cel__send_call(ch->c, &call, &o, NULL, err);
    cel_result_free(m); /* the client keeps it until its callback ran */
    return m != NULL ? 0 : err->code;
}

/* Sends the header; after a failure the chord is over (its result is
 * dropped by the caller), and the callbacks of the members sent free the
 * chord, or this does when none was sent. */
static int
send_header(chord_t *ch, const cel_sig_t *const *header, cel_error_t *err)
{
    char gid[CEL_ID_SIZE];

    cel_id_new(gid);
    for (size_t i = 0; i < ch->n; i++) {
        if (send_member(ch, header[i], i, gid, err) != 0) {
            cel__lock(ch->c);
            ch->over = true;
            ch->expect = i;
            bool none_left = ch->fired == ch->expect;
            cel__unlock(ch->c);
            if (none_left) {
                chord_free(ch);
            }
            return err->code;
        }
    }
    return 0;
}

cel_result_t *
cel_chord_apply_async(cel_client_t *c, const cel_sig_t *const *header, size_t n,
                      const cel_sig_t *body, const cel_opts_t *opts)
{
    static const cel_opts_t none = CEL_OPTS_INIT;
    cel_error_t *err = cel__client_error();

    cel_error_clear(err);
    if (n == 0 || (opts != NULL && (opts->link || opts->link_error))) {
        cel_error_set(err, CEL_EINVAL,
                      n == 0 ? "a chord needs at least one header task"
                             : "a chord takes no link or link_error");
        return NULL;
    }
    chord_t *ch = chord_new(c, header, n, body, opts);
    cel__lock(c);
    cel_result_t *r =
        ch ? cel__result_new(c, ch->id, true, opts ? opts : &none) : NULL;
    cel__unlock(c);
    if (r == NULL) {
        chord_free(ch);
        cel_error_set(err, CEL_ENOMEM, "out of memory");
        return NULL;
    }
    if (send_header(ch, header, err) != 0) {
        cel_result_forget(r);
        return NULL;
    }
    return r;
}
