/* task_msg.c: Celery task messages, protocol 2 with the json serializer.
 *
 * Encoding writes the headers in the order and with the types Celery 5.2
 * uses (strings, nulls, an int for retries, [hard, soft] for timelimit, a
 * bool for ignore_result) and the body [args, kwargs, embed]. Decoding
 * accepts what Celery accepts, including protocol 1 bodies, null embeds and
 * unknown headers, and reads the id, task and reply_to before anything else
 * so that a malformed message can still be answered with a FAILURE. */
#include <cel/clock.h>
#include <cel/compress.h>
#include <cel/id.h>
#include <cel/message.h>

#include "json_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static json_t *
nullable_string(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *
nullable_time(int64_t wall_us)
{
    char iso[CEL_ISO_SIZE];

    if (wall_us == 0) {
        return json_null();
    }
    cel_clock_format_iso(wall_us, iso);
    return json_string_nocheck(iso);
}

static json_t *
limit_value(double seconds)
{
    if (seconds <= 0) {
        return json_null();
    }
    if (seconds == floor(seconds) && seconds < 2147483647.0) {
        return json_integer((json_int_t)seconds);
    }
    return json_real(seconds);
}

void
cel_task_origin(char *out, size_t size)
{
    char host[128] = "localhost";

    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(out, size, "gen%d@%s", (int)getpid(), host);
}

/* Sets h[key] to v, which it takes over; false when v is NULL (a string
 * that is not UTF-8, or no memory). */
static bool
set(json_t *h, const char *key, json_t *v)
{
    return json_object_set_new_nocheck(h, key, v) == 0;
}

static json_t *
timelimit(const cel_task_spec_t *spec)
{
    json_t *pair = json_array();

    if (json_array_append_new(pair, limit_value(spec->time_limit)) != 0 ||
        json_array_append_new(pair, limit_value(spec->soft_time_limit)) != 0) {
        json_decref(pair);
        return NULL;
    }
    return pair;
}

/* The headers in Celery's order, set one by one: json_pack would parse
 * its format and check every key for each task. The program's strings are
 * checked for UTF-8; the ones made here (reprs cut at a character
 * boundary, ISO times, "c") need not be. */
static json_t *
task_headers(const cel_task_spec_t *spec, const char *id, const json_t *args,
             const json_t *kwargs)
{
    char argsrepr[1024], kwargsrepr[1024], origin[160];
    json_t *h = json_object();

    cel_pyrepr(args, true, argsrepr, sizeof(argsrepr));
    cel_pyrepr(kwargs, false, kwargsrepr, sizeof(kwargsrepr));
    if (spec->origin == NULL) {
        cel_task_origin(origin, sizeof(origin));
    }
    bool ok =
        h != NULL && set(h, "lang", json_string_nocheck("c")) &&
        set(h, "task", json_string(spec->name)) &&
        set(h, "id", json_string(id)) &&
        set(h, "shadow", nullable_string(spec->shadow)) &&
        set(h, "eta", nullable_time(spec->eta_us)) &&
        set(h, "expires", nullable_time(spec->expires_us)) &&
        set(h, "group", nullable_string(spec->group)) &&
        set(h, "group_index", json_null()) &&
        set(h, "retries", json_integer(spec->retries)) &&
        set(h, "timelimit", timelimit(spec)) &&
        set(h, "root_id", json_string(spec->root_id ? spec->root_id : id)) &&
        set(h, "parent_id", nullable_string(spec->parent_id)) &&
        set(h, "argsrepr", json_string_nocheck(argsrepr)) &&
        set(h, "kwargsrepr", json_string_nocheck(kwargsrepr)) &&
        set(h, "origin", json_string(spec->origin ? spec->origin : origin)) &&
        set(h, "ignore_result", json_boolean(spec->ignore_result));
    if (!ok) {
        json_decref(h);
        return NULL;
    }
    return h;
}

/* The embed, in the key order Celery writes it. */
static void
write_embed(cel__buf_t *b, const json_t *embed)
{
    static const char *const keys[] = {"callbacks", "errbacks", "chain",
                                       "chord"};

    if (embed == NULL) {
        cel__buf_lit(b, "{\"callbacks\":null,\"errbacks\":null,\"chain\":null,"
                        "\"chord\":null}");
        return;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const json_t *v = json_object_get(embed, keys[i]);
        cel__buf_lit(b, i == 0 ? "{\"" : ",\"");
        cel__buf_lit(b, keys[i]);
        cel__buf_lit(b, "\":");
        if (v != NULL) {
            cel__buf_json(b, v);
        } else {
            cel__buf_lit(b, "null");
        }
    }
    cel__buf_lit(b, "}");
}

static int
task_body(const json_t *args, const json_t *kwargs, const json_t *embed,
          cel_envelope_t *env)
{
    cel__buf_t b = {0};

    cel__buf_lit(&b, "[");
    cel__buf_json(&b, args);
    cel__buf_lit(&b, ",");
    cel__buf_json(&b, kwargs);
    cel__buf_lit(&b, ",");
    write_embed(&b, embed);
    cel__buf_lit(&b, "]");
    env->body_owned = cel__buf_take(&b, &env->body_len);
    env->body = env->body_owned;
    return env->body_owned != NULL ? 0 : CEL_ENOMEM;
}

static void
set_properties(const cel_task_spec_t *spec, const char *id, cel_envelope_t *env)
{
    strcpy(env->content_type, "application/json");
    strcpy(env->content_encoding, "utf-8");
    cel_copy_str(env->correlation_id, sizeof(env->correlation_id), id);
    if (spec->reply_to != NULL) {
        cel_copy_str(env->reply_to, sizeof(env->reply_to), spec->reply_to);
    }
    env->delivery_mode = spec->delivery_mode == 1 ? 1 : 2;
    env->priority = spec->priority;
    if (spec->expires_us != 0) {
        /* Celery 5.2 also sets the AMQP TTL, in milliseconds from now. */
        int64_t ms = (spec->expires_us - cel_clock_wall_us()) / 1000;
        snprintf(env->expiration, sizeof(env->expiration), "%lld",
                 (long long)(ms > 0 ? ms : 0));
    }
}

static int
check_spec(const cel_task_spec_t *spec, const json_t *args,
           const json_t *kwargs, cel_error_t *err)
{
    if (spec->name == NULL || spec->name[0] == '\0') {
        return cel_error_set(err, CEL_EINVAL, "a task needs a name");
    }
    if (!json_is_array(args)) {
        return cel_error_set(err, CEL_EINVAL, "task args must be an array");
    }
    if (!json_is_object(kwargs)) {
        return cel_error_set(err, CEL_EINVAL, "task kwargs must be an object");
    }
    if (spec->priority < 0 || spec->priority > 255) {
        return cel_error_set(err, CEL_EINVAL, "priority must be 0..255");
    }
    if (spec->headers != NULL && !json_is_object(spec->headers)) {
        return cel_error_set(err, CEL_EINVAL, "headers must be an object");
    }
    return 0;
}

/* Custom headers go after the protocol's, as Celery's apply_async(headers=)
 * puts them; replacing a protocol header would change what the task is. */
static int
add_headers(json_t *headers, const json_t *extra, cel_error_t *err)
{
    const char *key;
    json_t *value;

    json_object_foreach ((json_t *)extra, key, value) {
        if (json_object_get(headers, key) != NULL) {
            return cel_error_set(err, CEL_EINVAL,
                                 "header '%s' belongs to the protocol and "
                                 "cannot be set",
                                 key);
        }
        if (json_object_set(headers, key, value) != 0) {
            return cel_error_set(err, CEL_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Compresses env's body as kombu does for name, and says so in the
 * `compression` header (after the protocol's, where kombu puts it). */
static int
compress_body(const char *name, cel_envelope_t *env, cel_error_t *err)
{
    const char *mime = cel_compression_mime(name);
    cel_inflated_t z;

    int r = cel_body_compress(name, env->body, env->body_len, &z, err);
    if (r != 0) {
        return r;
    }
    free(env->body_owned);
    env->body_owned = z.data;
    env->body = z.data;
    env->body_len = z.len;
    return json_object_set_new(env->headers, "compression", json_string(mime))
               ? cel_error_set(err, CEL_ENOMEM, "out of memory for headers")
               : 0;
}

int
cel_task_encode(const cel_task_spec_t *spec, cel_envelope_t *env, char *id_out,
                size_t id_size, cel_error_t *err)
{
    char fresh[CEL_ID_SIZE];
    json_t *empty_args = spec->args ? NULL : json_array();
    json_t *empty_kwargs = spec->kwargs ? NULL : json_object();
    const json_t *args = spec->args ? spec->args : empty_args;
    const json_t *kwargs = spec->kwargs ? spec->kwargs : empty_kwargs;
    int r;

    cel_envelope_init(env);
    r = check_spec(spec, args, kwargs, err);
    if (r != 0) {
        goto out;
    }
    const char *id = spec->id;
    if (id == NULL) {
        cel_id_new(fresh);
        id = fresh;
    }
    env->headers = task_headers(spec, id, args, kwargs);
    r = env->headers != NULL ? task_body(args, kwargs, spec->embed, env)
                             : CEL_ENOMEM;
    if (r != 0) {
        cel_envelope_clear(env);
        cel_error_set(err, r, "cannot encode task %s", spec->name);
        goto out;
    }
    if (spec->headers != NULL) {
        r = add_headers(env->headers, spec->headers, err);
        if (r != 0) {
            cel_envelope_clear(env);
            goto out;
        }
    }
    if (spec->compression != NULL) {
        r = compress_body(spec->compression, env, err);
        if (r != 0) {
            cel_envelope_clear(env);
            goto out;
        }
    }
    set_properties(spec, id, env);
    if (id_out != NULL && id_size > 0) {
        cel_copy_str(id_out, id_size, id);
    }
out:
    json_decref(empty_args);
    json_decref(empty_kwargs);
    return r;
}
