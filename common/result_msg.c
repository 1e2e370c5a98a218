/* result_msg.c: rpc:// result messages and Celery's exception form. The
 * body keys are those of Celery 5.2's rpc backend: task_id, status, result,
 * traceback, children; a client must tolerate extra keys from later
 * versions, and does. */
#include <cel/message.h>

#include "json_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
    [CEL_STATE_PENDING] = "PENDING", [CEL_STATE_RECEIVED] = "RECEIVED",
    [CEL_STATE_STARTED] = "STARTED", [CEL_STATE_RETRY] = "RETRY",
    [CEL_STATE_REVOKED] = "REVOKED", [CEL_STATE_FAILURE] = "FAILURE",
    [CEL_STATE_SUCCESS] = "SUCCESS",
};

const char *
cel_state_name(cel_state_t state)
{
    if ((unsigned)state < sizeof(state_names) / sizeof(state_names[0])) {
        return state_names[state];
    }
    return "UNKNOWN";
}

int
cel_state_parse(const char *name, cel_state_t *out)
{
    for (size_t i = 0; name && i < sizeof(state_names) / sizeof(*state_names);
         i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (cel_state_t)i;
            return 0;
        }
    }
    return CEL_EINVAL;
}

bool
cel_state_ready(cel_state_t state)
{
    return state == CEL_STATE_SUCCESS || state == CEL_STATE_FAILURE ||
           state == CEL_STATE_REVOKED;
}

int
cel_result_build(const cel_result_spec_t *spec, cel_envelope_t *env,
                 cel_error_t *err)
{
    cel_envelope_init(env);
    if (spec->task_id == NULL) {
        return cel_error_set(err, CEL_EINVAL, "a result needs a task id");
    }
    /* Written directly, in the key order Celery's rpc backend uses. */
    cel__buf_t b = {0};
    cel__buf_lit(&b, "{\"task_id\":");
    cel__buf_nullable(&b, spec->task_id);
    cel__buf_lit(&b, ",\"status\":\"");
    cel__buf_lit(&b, cel_state_name(spec->state));
    cel__buf_lit(&b, "\",\"result\":");
    if (spec->result != NULL) {
        cel__buf_json(&b, spec->result);
    } else {
        cel__buf_lit(&b, "null");
    }
    cel__buf_lit(&b, ",\"traceback\":");
    cel__buf_nullable(&b, spec->traceback);
    cel__buf_lit(&b, ",\"children\":");
    if (spec->children != NULL) {
        cel__buf_json(&b, spec->children);
    } else {
        cel__buf_lit(&b, "[]");
    }
    cel__buf_lit(&b, "}");
    env->body_owned = cel__buf_take(&b, &env->body_len);
    env->body = env->body_owned;
    if (env->body_owned == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "cannot encode result of %s",
                             spec->task_id);
    }
    strcpy(env->content_type, "application/json");
    strcpy(env->content_encoding, "utf-8");
    cel_copy_str(env->correlation_id, sizeof(env->correlation_id),
                 spec->correlation_id ? spec->correlation_id : spec->task_id);
    env->delivery_mode = 1;
    env->priority = 0;
    env->headers = json_object();
    return 0;
}

int
cel_result_encode(const char *task_id, const char *correlation_id,
                  cel_state_t state, const json_t *result,
                  const char *traceback, cel_envelope_t *env, cel_error_t *err)
{
    cel_result_spec_t spec = {task_id, correlation_id, state,
                              result,  traceback,      NULL};

    return cel_result_build(&spec, env, err);
}

int
cel_result_decode(const char *body, size_t len, cel_result_msg_t *out,
                  cel_error_t *err)
{
    memset(out, 0, sizeof(*out));
    out->body = cel_json_load(body, len, err);
    if (out->body == NULL) {
        return CEL_EPROTO;
    }
    if (!json_is_object(out->body)) {
        return cel_error_set(err, CEL_EPROTO, "result is not an object");
    }
    out->task_id = json_string_value(json_object_get(out->body, "task_id"));
    const char *status =
        json_string_value(json_object_get(out->body, "status"));
    if (out->task_id == NULL || cel_state_parse(status, &out->state) != 0) {
        return cel_error_set(err, CEL_EPROTO,
                             "result lacks a task_id or a known status");
    }
    out->result = json_object_get(out->body, "result");
    out->traceback = json_string_value(json_object_get(out->body, "traceback"));
    return 0;
}

void
cel_result_msg_clear(cel_result_msg_t *msg)
{
    json_decref(msg->body);
    memset(msg, 0, sizeof(*msg));
}

json_t *
cel_exc_new(const char *type, const char *module, const char *message)
{
    /* The message is a task's own text, cut at a byte limit: it may not
     * be UTF-8, and the caller must still get its FAILURE. */
    return json_pack("{s:s, s:[o], s:s}", "exc_type", type, "exc_message",
                     cel__json_text(message ? message : ""), "exc_module",
                     module);
}

int
cel_exc_describe(const json_t *exc, const char **type, char *message,
                 size_t size)
{
    const json_t *args = json_object_get(exc, "exc_message");

    *type = "Exception";
    if (size > 0) {
        message[0] = '\0';
    }
    if (!json_is_object(exc)) {
        return CEL_EPROTO;
    }
    const char *t = json_string_value(json_object_get(exc, "exc_type"));
    if (t != NULL) {
        *type = t;
    }
    /* Python's str(exc): the lone argument as text, else the args tuple. */
    if (json_is_array(args) && json_array_size(args) == 1) {
        args = json_array_get(args, 0);
    }
    if (json_is_string(args)) {
        snprintf(message, size, "%s", json_string_value(args));
    } else if (json_is_array(args) && json_array_size(args) == 0) {
        /* no arguments: empty text */
    } else if (args != NULL) {
        cel_pyrepr(args, json_is_array(args), message, size);
    }
    return 0;
}
