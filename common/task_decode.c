/* task_decode.c: reading task messages without trusting them. The order of
 * the checks matters: first the fields that say who is waiting for an
 * answer (id, task, reply_to), then everything that can be malformed. A
 * compressed body is inflated within the same limit as a plain one. */
#include <cel/clock.h>
#include <cel/compress.h>
#include <cel/message.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *
opt_string(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int
check_content(const cel_envelope_t *env, cel_error_t *err)
{
    if (env->content_type[0] != '\0' &&
        strcasecmp(env->content_type, "application/json") != 0) {
        return cel_error_set(err, CEL_EPROTO,
                             "content type %.60s is not accepted (only "
                             "application/json)",
                             env->content_type);
    }
    if (env->content_encoding[0] != '\0' &&
        strcasecmp(env->content_encoding, "utf-8") != 0 &&
        strcasecmp(env->content_encoding, "utf8") != 0) {
        return cel_error_set(err, CEL_EPROTO,
                             "content encoding %.60s is not supported",
                             env->content_encoding);
    }
    return 0;
}

/* The compression header as kombu reads it: absent, null, false or ""
 * mean none. */
static int
read_compression(const cel_envelope_t *env, const char **name, cel_error_t *err)
{
    const json_t *v = json_object_get(env->headers, "compression");

    *name = NULL;
    if (v == NULL || json_is_null(v) || json_is_false(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return cel_error_set(err, CEL_EPROTO,
                             "header compression is not a string");
    }
    *name = json_string_length(v) > 0 ? json_string_value(v) : NULL;
    return 0;
}

/* Parses the body into m->body, inflating it first when it is compressed.
 * The inflated text lives only until it is parsed. */
static int
load_body(const cel_envelope_t *env, size_t max_body_bytes, cel_task_msg_t *m,
          cel_error_t *err)
{
    const char *name;
    cel_inflated_t plain = {NULL, 0};
    int r = read_compression(env, &name, err);

    if (r == 0 && name != NULL) {
        r = cel_body_decompress(name, env->body, env->body_len, max_body_bytes,
                                &plain, err);
    }
    if (r == 0) {
        m->body = name != NULL ? cel_json_load(plain.data, plain.len, err)
                               : cel_json_load(env->body, env->body_len, err);
        r = m->body != NULL ? 0 : CEL_EPROTO;
    }
    free(plain.data);
    return r;
}

static int
read_number(const json_t *v, const char *what, double *out, cel_error_t *err)
{
    *out = 0;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_number(v)) {
        return cel_error_set(err, CEL_EPROTO, "header %s is not a number",
                             what);
    }
    *out = json_number_value(v);
    return 0;
}

static int
read_timelimit(const json_t *tl, cel_task_msg_t *m, cel_error_t *err)
{
    if (tl == NULL || json_is_null(tl)) {
        return 0;
    }
    if (!json_is_array(tl) || json_array_size(tl) != 2) {
        return cel_error_set(err, CEL_EPROTO,
                             "header timelimit is not [hard, soft]");
    }
    int r =
        read_number(json_array_get(tl, 0), "timelimit[0]", &m->time_limit, err);
    if (r == 0) {
        r = read_number(json_array_get(tl, 1), "timelimit[1]",
                        &m->soft_time_limit, err);
    }
    return r;
}

static int
read_time(const json_t *obj, const char *key, const char **out,
          cel_error_t *err)
{
    const json_t *v = json_object_get(obj, key);
    int64_t us;

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v) || cel_clock_parse_iso(json_string_value(v), &us)) {
        return cel_error_set(err, CEL_EPROTO, "%s is not an ISO-8601 date-time",
                             key);
    }
    *out = json_string_value(v);
    return 0;
}

/* Options shared by v2 headers and v1 bodies. */
static int
read_options(const json_t *src, cel_task_msg_t *m, cel_error_t *err)
{
    const json_t *retries = json_object_get(src, "retries");
    double d;
    int r;

    m->root_id = opt_string(src, "root_id");
    m->parent_id = opt_string(src, "parent_id");
    m->group = opt_string(src, "group");
    m->ignore_result = json_is_true(json_object_get(src, "ignore_result"));
    r = read_number(retries, "retries", &d, err);
    if (r == 0 && retries != NULL && !json_is_null(retries) &&
        !json_is_integer(retries)) {
        r = cel_error_set(err, CEL_EPROTO, "header retries is not an integer");
    }
    m->retries = (int64_t)json_integer_value(retries);
    if (r == 0) {
        r = read_timelimit(json_object_get(src, "timelimit"), m, err);
    }
    if (r == 0) {
        r = read_time(src, "eta", &m->eta, err);
    }
    if (r == 0) {
        r = read_time(src, "expires", &m->expires, err);
    }
    return r;
}

/* Is there nothing in embed to act on (every value null or [], as in a
 * plain Celery task's {"callbacks": null, ..., "chord": null})? One pass
 * over it, so that a plain task costs the worker no canvas lookups. */
static bool
embed_empty(json_t *embed)
{
    const char *k;
    json_t *v;

    json_object_foreach (embed, k, v) {
        (void)k;
        if (!json_is_null(v) &&
            !(json_is_array(v) && json_array_size(v) == 0)) {
            return false;
        }
    }
    return true;
}

static int
read_call(json_t *args, json_t *kwargs, json_t *embed, cel_task_msg_t *m,
          cel_error_t *err)
{
    if (!json_is_array(args)) {
        return cel_error_set(err, CEL_EPROTO, "task args is not a list");
    }
    if (!json_is_object(kwargs)) {
        return cel_error_set(err, CEL_EPROTO,
                             "task keyword arguments is not a mapping");
    }
    if (embed != NULL && !json_is_null(embed) && !json_is_object(embed)) {
        return cel_error_set(err, CEL_EPROTO, "embed is not a mapping");
    }
    m->args = args;
    m->kwargs = kwargs;
    m->embed = json_is_object(embed) && !embed_empty(embed) ? embed : NULL;
    return 0;
}

static int
decode_v2(const cel_envelope_t *env, cel_task_msg_t *m, cel_error_t *err)
{
    const json_t *h = env->headers;
    int r = read_options(h, m, err);

    if (r != 0) {
        return r;
    }
    if (json_is_object(m->body)) { /* "hybrid": v2 headers, v1-style body */
        return read_call(json_object_get(m->body, "args"),
                         json_object_get(m->body, "kwargs"), NULL, m, err);
    }
    if (!json_is_array(m->body) || json_array_size(m->body) != 3) {
        return cel_error_set(err, CEL_EPROTO,
                             "body is not [args, kwargs, embed]");
    }
    return read_call(json_array_get(m->body, 0), json_array_get(m->body, 1),
                     json_array_get(m->body, 2), m, err);
}

static int
decode_v1(cel_task_msg_t *m, cel_error_t *err)
{
    const json_t *b = m->body;

    m->protocol = 1;
    if (!json_is_object(b)) {
        return cel_error_set(err, CEL_EPROTO,
                             "message has no task header and its body is not "
                             "a protocol 1 task");
    }
    m->id = opt_string(b, "id");
    m->task = opt_string(b, "task");
    if (m->id == NULL || m->task == NULL) {
        return cel_error_set(err, CEL_EPROTO,
                             "protocol 1 body lacks a string id or task");
    }
    int r = read_options(b, m, err);
    if (r != 0) {
        return r;
    }
    json_t *kwargs = json_object_get(b, "kwargs");
    if (kwargs == NULL || json_is_null(kwargs)) {
        kwargs = json_object(); /* v1 allowed a missing kwargs */
        json_object_set_new((json_t *)b, "kwargs", kwargs);
    }
    return read_call(json_object_get(b, "args"), kwargs, NULL, m, err);
}

static int
read_identity(const cel_envelope_t *env, cel_task_msg_t *m, cel_error_t *err)
{
    const json_t *h = env->headers;

    m->reply_to = env->reply_to[0] != '\0' ? env->reply_to : NULL;
    if (h != NULL && !json_is_object(h)) {
        return cel_error_set(err, CEL_EPROTO, "headers are not a table");
    }
    m->id = opt_string(h, "id");
    m->task = opt_string(h, "task");
    if (json_object_get(h, "task") != NULL && m->task == NULL) {
        return cel_error_set(err, CEL_EPROTO, "header task is not a string");
    }
    if (m->task != NULL && m->id == NULL) {
        return cel_error_set(err, CEL_EPROTO,
                             "header id is missing or not a string");
    }
    return 0;
}

int
cel_task_decode(const cel_envelope_t *env, size_t max_body_bytes,
                cel_task_msg_t *m, cel_error_t *err)
{
    memset(m, 0, sizeof(*m));
    m->protocol = 2;
    int r = read_identity(env, m, err);
    if (r == 0 && max_body_bytes > 0 && env->body_len > max_body_bytes) {
        r = cel_error_set(err, CEL_ETOOBIG,
                          "body of %zu bytes is over the limit of %zu bytes",
                          env->body_len, max_body_bytes);
    }
    if (r == 0) {
        r = check_content(env, err);
    }
    if (r == 0) {
        r = load_body(env, max_body_bytes, m, err);
    }
    if (r == 0) {
        r = m->task != NULL ? decode_v2(env, m, err) : decode_v1(m, err);
    }
    if (m->id != NULL) {
        m->correlation_id =
            env->correlation_id[0] != '\0' ? env->correlation_id : m->id;
    }
    return r;
}

void
cel_task_msg_clear(cel_task_msg_t *m)
{
    json_decref(m->body);
    memset(m, 0, sizeof(*m));
}
