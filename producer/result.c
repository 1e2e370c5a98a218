/* result.c: the AsyncResult. A result is PENDING until its reply arrives;
 * waiting pumps the client's replies, settling whichever results they
 * belong to, until this one is ready or the deadline passes. */
#include "producer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cel_result_t *
cel__result_new(cel_client_t *c, const char *id, bool track,
                const cel_opts_t *o)
{
    size_t len = strlen(id);
    cel_result_t *r = calloc(1, sizeof(*r) + len + 1);

    if (r == NULL) {
        return NULL;
    }
    memcpy(r->id, id, len + 1);
    r->client = c;
    r->state = CEL_STATE_PENDING;
    r->flags = R_USER;
    if (track && (o->callback || o->error_callback)) {
        r->hooks = malloc(sizeof(*r->hooks));
        if (r->hooks == NULL) {
            free(r);
            return NULL;
        }
        *r->hooks =
            (cel_hooks_t){o->callback, o->error_callback, o->callback_arg};
    }
    if (track) {
        if (cel__pending_add(&c->pending, r) != 0) {
            free(r->hooks);
            free(r);
            return NULL;
        }
        r->flags |= R_TRACKED;
    }
    c->refs++;
    return r;
}

static void
destroy(cel_result_t *r)
{
    json_decref(r->value);
    if (r->fail != NULL) {
        free(r->fail->message);
        free(r->fail->traceback);
        free(r->fail);
    }
    free(r->hooks);
    if (r->kin != NULL) {
        cel__kin_release(r);
    }
    free(r);
}

void
cel__result_release(cel_result_t *r)
{
    cel_client_t *c = r->client;

    if (r->flags & (R_USER | R_QUEUED)) {
        return;
    }
    if (r->group != NULL || (r->hooks != NULL && (r->flags & R_TRACKED))) {
        return; /* still wanted by its group or for its callback */
    }
    if (r->flags & R_TRACKED) {
        cel__pending_remove(&c->pending, r);
    }
    destroy(r);
    c->refs--; /* never the last: the caller holds the client */
}

void
cel__result_ready(cel_result_t *r)
{
    cel_client_t *c = r->client;

    if (r->hooks != NULL) {
        r->flags |= R_QUEUED;
        r->next = NULL;
        if (c->fire_tail != NULL) {
            c->fire_tail->next = r;
        } else {
            c->fire_head = r;
        }
        c->fire_tail = r;
    } else {
        cel__result_hand_over(r);
    }
}

void
cel__result_hand_over(cel_result_t *r)
{
    if (r->group != NULL) {
        cel__group_push(r);
    } else {
        cel__result_release(r);
    }
}

void
cel__result_settle(cel_result_t *r, const cel_result_msg_t *m)
{
    char text[1024];
    const char *type;

    if (cel_state_ready(r->state)) {
        return; /* a duplicate (at-least-once): the first one counts */
    }
    r->state = (uint8_t)m->state;
    json_decref(r->value);
    r->value = json_incref(m->result);
    if (m->state == CEL_STATE_FAILURE || m->state == CEL_STATE_REVOKED) {
        cel_exc_describe(m->result, &type, text, sizeof(text));
        r->fail = calloc(1, sizeof(*r->fail));
        if (r->fail != NULL) {
            r->fail->message = strdup(text);
            r->fail->traceback = m->traceback ? strdup(m->traceback) : NULL;
        }
    }
    if (r->kin != NULL && cel_state_ready(r->state)) {
        cel__kin_settled(r);
    }
}

const char *
cel_result_id(const cel_result_t *r)
{
    return r->id;
}

cel_state_t
cel_result_state(cel_result_t *r)
{
    cel_client_t *c = r->client;

    cel__lock(c);
    if (!cel_state_ready(r->state) && (r->flags & R_TRACKED)) {
        (void)cel__pump(c, 0, NULL);
    }
    cel_state_t s = (cel_state_t)r->state;
    cel__unlock(c);
    return s;
}

bool
cel_result_ready(cel_result_t *r)
{
    return cel_state_ready(cel_result_state(r));
}

bool
cel_result_successful(cel_result_t *r)
{
    return cel_result_state(r) == CEL_STATE_SUCCESS;
}

bool
cel_result_failed(cel_result_t *r)
{
    cel_state_t s = cel_result_state(r);
    return s == CEL_STATE_FAILURE || s == CEL_STATE_REVOKED;
}

/* Ready, or never to be: its client was closed, it was sent with
 * ignore_result, or its reply was lost with the connection or the reply
 * queue. */
static bool
settled_or_gone(cel_client_t *c, void *arg)
{
    cel_result_t *r = arg;

    (void)c;
    return cel_state_ready(r->state) || !(r->flags & R_TRACKED);
}

static int
gone(const cel_result_t *r, cel_error_t *err)
{
    if (r->flags & R_DROPPED) {
        /* Kept short: with two uuids it must fit cel_error_t's text. */
        return cel_error_set(err, CEL_ECONN,
                             "task %s: reply queue %s was deleted%s; its "
                             "result may be lost",
                             r->id, r->client->deleted_queue,
                             r->client->dropped_why);
    }
    if (r->flags & R_LOST) {
        return cel_error_set(err, CEL_ECONN,
                             "the connection to the broker was lost while "
                             "task %s was pending: its result cannot come "
                             "back (the rpc backend keeps no results)",
                             r->id);
    }
    if (r->flags & R_HELD) { /* canvas.c's untrack */
        return cel_error_set(err, CEL_ECLOSED,
                             "no result will come for task %s: it is the "
                             "link or errback of a task that ended the "
                             "other way",
                             r->id);
    }
    return cel_error_set(err, CEL_ECLOSED,
                         "no result will come for task %s (its client was "
                         "closed, or it was sent with ignore_result)",
                         r->id);
}

int
cel_result_wait(cel_result_t *r, int64_t timeout_ms, cel_error_t *err)
{
    cel_client_t *c = r->client;
    char what[CEL_SHORTSTR_SIZE + 32];

    cel__lock(c);
    snprintf(what, sizeof(what), "no result for task %s", r->id);
    int rc = cel__wait_for(c, settled_or_gone, r, timeout_ms, what, err);
    if (rc == 0 && !cel_state_ready(r->state)) {
        rc = gone(r, err);
    }
    cel__unlock(c);
    return rc;
}

int
cel_result_get(cel_result_t *r, int64_t timeout_ms, const json_t **value,
               cel_error_t *err)
{
    int rc = cel_result_wait(r, timeout_ms, err);

    *value = NULL;
    if (rc != 0) {
        return rc;
    }
    if (r->state != CEL_STATE_SUCCESS) {
        return cel_error_set(err, CEL_ETASK, "%s: %s", cel_result_exc_type(r),
                             cel_result_exc_message(r));
    }
    *value = r->value;
    return 0;
}

/* Once ready, a result does not change again, so the readers below need
 * the lock only to see that it is ready. */
static bool
settled(cel_result_t *r)
{
    cel__lock(r->client);
    bool ready = cel_state_ready(r->state);
    cel__unlock(r->client);
    return ready;
}

const json_t *
cel_result_value(cel_result_t *r)
{
    return settled(r) && r->state == CEL_STATE_SUCCESS ? r->value : NULL;
}

const char *
cel_result_exc_type(cel_result_t *r)
{
    if (!settled(r) ||
        (r->state != CEL_STATE_FAILURE && r->state != CEL_STATE_REVOKED)) {
        return NULL;
    }
    const char *t = json_string_value(json_object_get(r->value, "exc_type"));
    return t ? t
             : (r->state == CEL_STATE_REVOKED ? "TaskRevokedError"
                                              : "Exception");
}

const char *
cel_result_exc_message(cel_result_t *r)
{
    if (cel_result_exc_type(r) == NULL) {
        return NULL;
    }
    return r->fail ? r->fail->message : "(out of memory)";
}

const char *
cel_result_traceback(cel_result_t *r)
{
    return cel_result_exc_type(r) && r->fail ? r->fail->traceback : NULL;
}

void
cel_result_free(cel_result_t *r)
{
    if (r == NULL) {
        return;
    }
    cel_client_t *c = r->client;
    cel__lock(c);
    if (r->flags & R_HELD) {
        cel__unlock(c); /* a chain step's or a link's: freed with its owner */
        return;
    }
    r->flags &= ~R_USER;
    c->refs++; /* keep c alive across the release */
    cel__result_release(r);
    cel__unref_unlock(c);
}

void
cel_result_forget(cel_result_t *r)
{
    if (r == NULL) {
        return;
    }
    cel_client_t *c = r->client;
    cel__lock(c);
    if (!(r->flags & R_QUEUED)) {
        free(r->hooks); /* a queued callback is about to run: let it */
        r->hooks = NULL;
    }
    cel__unlock(c);
    cel_result_free(r);
}
