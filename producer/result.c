/* result.c: the AsyncResult. A result is PENDING until its reply arrives;
 * waiting drains the client's reply queue, settling whichever results the
 * replies belong to, until this one is ready or the deadline passes. */
#include "producer_internal.h"

#include <cel/clock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
cel__result_settle(cel_result_t *r, const cel_result_msg_t *m)
{
    char text[1024];
    const char *type;

    if (cel_state_ready(r->state)) {
        return; /* a duplicate (at-least-once): the first one counts */
    }
    r->state = m->state;
    json_decref(r->value);
    r->value = json_incref(m->result);
    if (m->state == CEL_STATE_FAILURE || m->state == CEL_STATE_REVOKED) {
        cel_exc_describe(m->result, &type, text, sizeof(text));
        free(r->exc_message);
        r->exc_message = strdup(text);
        free(r->traceback);
        r->traceback = m->traceback ? strdup(m->traceback) : NULL;
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
    if (r->client != NULL && !cel_state_ready(r->state)) {
        (void)cel__client_drain(r->client, 0, NULL);
    }
    return r->state;
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

int
cel_result_wait(cel_result_t *r, int64_t timeout_ms, cel_error_t *err)
{
    int64_t deadline = cel_clock_now_ms() + timeout_ms;

    /* Always look at least once, so a zero timeout polls. */
    for (;;) {
        if (cel_state_ready(r->state)) {
            return 0;
        }
        if (r->client == NULL) {
            return cel_error_set(err, CEL_ECLOSED,
                                 "no result will come for task %s (its "
                                 "client was closed, or it was sent with "
                                 "ignore_result)",
                                 r->id);
        }
        int64_t left = timeout_ms < 0 ? 1000 : deadline - cel_clock_now_ms();
        left = left < 0 ? 0 : left > 1000 ? 1000 : left;
        int rc = cel__client_drain(r->client, (int)left, err);
        if (rc != 0 && rc != CEL_ETIMEDOUT) {
            return rc;
        }
        if (!cel_state_ready(r->state) && timeout_ms >= 0 &&
            cel_clock_now_ms() >= deadline) {
            return cel_error_set(err, CEL_ETIMEDOUT,
                                 "no result for task %s after %lld ms", r->id,
                                 (long long)timeout_ms);
        }
    }
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
                             r->exc_message);
    }
    *value = r->value;
    return 0;
}

const char *
cel_result_exc_type(const cel_result_t *r)
{
    if (r->state != CEL_STATE_FAILURE && r->state != CEL_STATE_REVOKED) {
        return NULL;
    }
    const char *t = json_string_value(json_object_get(r->value, "exc_type"));
    return t ? t
             : (r->state == CEL_STATE_REVOKED ? "TaskRevokedError"
                                              : "Exception");
}

const char *
cel_result_exc_message(const cel_result_t *r)
{
    return r->exc_message;
}

const char *
cel_result_traceback(const cel_result_t *r)
{
    return r->traceback;
}

void
cel_result_free(cel_result_t *r)
{
    if (r == NULL) {
        return;
    }
    if (r->client != NULL) {
        cel__pending_remove(&r->client->pending, r);
    }
    json_decref(r->value);
    free(r->exc_message);
    free(r->traceback);
    free(r);
}
