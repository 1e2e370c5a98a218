/* reply.c: a task's outcome on its way to the caller's reply queue (the
 * rpc:// backend). Whatever the task returned, the caller gets a message
 * the broker takes: a value that cannot be encoded becomes an EncodeError,
 * and one larger than --max-result-size (RabbitMQ's max_message_size by
 * default, past which the broker would close the channel and the task
 * would be redelivered and run again, for ever) becomes a ResultTooLarge
 * FAILURE. Either is logged. */
#include "child.h"

#include <cel/log.h>

#include <stdio.h>

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
encode_outcome(const cel_child_t *c, const char *id, const char *correlation_id,
               cel_state_t state, const json_t *result, const char *traceback,
               cel_envelope_t *env, cel_error_t *err)
{
    char why[200];
    size_t max = c->cfg->max_result_bytes;

    int r = cel_result_encode(id, correlation_id, state, result, traceback, env,
                              err);
    if (r == 0 && (max == 0 || env->body_len <= max)) {
        return 0;
    }
    if (r == 0) {
        snprintf(why, sizeof(why),
                 "the result is %zu bytes, over the %zu bytes the broker "
                 "takes (--max-result-size)",
                 env->body_len, max);
        cel_envelope_clear(env);
        return encode_instead(id, correlation_id, "ResultTooLarge",
                              "celeriac.exceptions", why, env, err);
    }
    if (r == CEL_ENOMEM) {
        return r;
    }
    snprintf(why, sizeof(why), "cannot encode the result: %s", err->text);
    return encode_instead(id, correlation_id, "EncodeError", "kombu.exceptions",
                          why, env, err);
}

int
cel__reply_publish(cel_child_t *c, const char *reply_to, const char *id,
                   const char *correlation_id, cel_state_t state,
                   const json_t *result, const char *traceback)
{
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;

    if (reply_to == NULL || reply_to[0] == '\0' || id == NULL) {
        return 0; /* nobody asked for a result */
    }
    int r = encode_outcome(c, id, correlation_id, state, result, traceback,
                           &env, &err);
    if (r == 0) {
        r = cel_broker_publish(c->broker, "", reply_to, &env, &err);
        cel_envelope_clear(&env);
    }
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "cannot publish result of %s: %s", id, err.text);
    }
    return r;
}
