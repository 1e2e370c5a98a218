/* reply.c: a task's outcome on its way to the caller's reply queue (the
 * rpc:// backend). Whatever the task returned, the caller gets a message
 * the broker takes: a value that cannot be encoded becomes an EncodeError,
 * and one larger than --max-result-size (RabbitMQ's max_message_size by
 * default, past which the broker would close the channel and the task
 * would be redelivered and run again, for ever) becomes a ResultTooLarge
 * FAILURE. Either is logged. The broker's own limit cannot be read over
 * AMQP; when it refuses a result anyway (a node configured below the
 * bound), its reply text names the limit, and every child of this workerd
 * holds results to it from then on, so the redelivered task's result
 * becomes a ResultTooLarge instead of being refused again.
 *
 * Results go with mandatory: one whose reply queue does not exist (deleted,
 * and soon declared again by its client) comes back from the broker
 * instead of vanishing, and returned.c publishes it again. For a queue that
 * exists, mandatory costs the broker nothing. */
#include "child.h"

#include <cel/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_TEXT "max size " /* RabbitMQ: "... configured max size N" */

/* The bound results are held to: --max-result-size, or the broker's own
 * limit once learned, whichever is smaller. */
size_t
cel__reply_bound(const cel_child_t *c)
{
    size_t learned = atomic_load(&c->board->result_limit);
    size_t max = c->cfg->max_result_bytes;

    return learned > 0 && (max == 0 || learned < max) ? learned : max;
}

/* Encodes the FAILURE that stands in for an outcome that cannot go. */
static int
encode_instead(const char *id, const char *correlation_id, const char *type,
               const char *module, const char *why, cel_envelope_t *env,
               cel_error_t *err)
{
    CEL_LOG(CEL_LOG_ERROR, "Task [%s]: %s: %s", id, type, why);
    json_t *exc = cel_exc_new(type, module, why);
    int r = cel_result_encode(id, correlation_id, CEL_STATE_FAILURE, exc, NULL,
                              env, err);
    json_decref(exc);
    return r;
}

/* Encodes the outcome into env, or the FAILURE that says why it cannot
 * be sent. Returns 0 or CEL_ENOMEM. */
static int
encode_outcome(const cel_child_t *c, const cel_result_spec_t *o,
               cel_envelope_t *env, cel_error_t *err)
{
    char why[200];
    size_t max = cel__reply_bound(c);

    int r = cel_result_build(o, env, err);
    if (r == 0 && (max == 0 || env->body_len <= max)) {
        return 0;
    }
    if (r == 0) {
        snprintf(why, sizeof(why),
                 "the result is %zu bytes, over the %zu bytes the broker "
                 "takes",
                 env->body_len, max);
        cel_envelope_clear(env);
        return encode_instead(o->task_id, o->correlation_id, "ResultTooLarge",
                              "celeriac.exceptions", why, env, err);
    }
    if (r == CEL_ENOMEM) {
        return r;
    }
    snprintf(why, sizeof(why), "cannot encode the result: %s", err->text);
    return encode_instead(o->task_id, o->correlation_id, "EncodeError",
                          "kombu.exceptions", why, env, err);
}

int
cel__reply_send(cel_child_t *c, const char *reply_to,
                const cel_result_spec_t *outcome)
{
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;

    if (reply_to == NULL || reply_to[0] == '\0' || outcome->task_id == NULL) {
        return 0; /* nobody asked for a result */
    }
    int r = encode_outcome(c, outcome, &env, &err);
    if (r == 0) {
        r = cel_broker_publish_mandatory(c->broker, "", reply_to, &env, &err);
        cel_envelope_clear(&env);
    }
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot publish result of %s: %s",
                outcome->task_id, err.text);
    }
    return r;
}

int
cel__reply_publish(cel_child_t *c, const char *reply_to, const char *id,
                   const char *correlation_id, cel_state_t state,
                   const json_t *result, const char *traceback)
{
    cel_result_spec_t o = {id, correlation_id, state, result, traceback, NULL};

    return cel__reply_send(c, reply_to, &o);
}

void
cel__reply_learn_limit(cel_child_t *c, const char *broker_text)
{
    const char *p = strstr(broker_text, LIMIT_TEXT);
    char *end;

    if (p == NULL || strstr(broker_text, "PRECONDITION_FAILED") == NULL) {
        return;
    }
    unsigned long long max = strtoull(p + strlen(LIMIT_TEXT), &end, 10);
    size_t known = atomic_load(&c->board->result_limit);
    if (end == p + strlen(LIMIT_TEXT) || max == 0 ||
        (known != 0 && known <= max)) {
        return;
    }
    atomic_store(&c->board->result_limit, (size_t)max);
    CEL_LOG(CEL_LOG_WARN,
            "the broker takes messages of at most %llu bytes: larger results "
            "now fail with ResultTooLarge",
            max);
}
