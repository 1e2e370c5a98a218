/* retry.c: a task's retry, sent as Celery's Task.retry sends it: the same
 * message again, with the same id and reply queue, retries + 1 and an eta
 * countdown from now. Protocol 2 carries both in its headers, protocol 1
 * in its body. A message that cannot be sent again fails its task with the
 * reason; only a broker error asks for a new connection. */
#include "child.h"

#include <cel/clock.h>

#include <stdlib.h>

/* Sets retries and eta in obj (the headers, or a protocol 1 body). */
static void
mark_retry(json_t *obj, int64_t retries, const char *eta)
{
    json_object_set_new(obj, "retries", json_integer((json_int_t)retries));
    json_object_set_new(obj, "eta", json_string(eta));
}

/* The retry of a protocol 1 message: a new body, the same headers. */
static int
retry_body(cel_envelope_t *env, const cel_task_msg_t *m, const char *eta,
           cel_error_t *err)
{
    json_t *body = json_deep_copy(m->body);
    size_t len = 0;

    if (body == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "out of memory for the retry");
    }
    mark_retry(body, m->retries + 1, eta);
    env->body_owned = cel_json_dump(body, &len);
    json_decref(body);
    if (env->body_owned == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "out of memory for the retry");
    }
    env->body = env->body_owned;
    env->body_len = len;
    return 0;
}

int
cel__retry_send(cel_child_t *c, const cel_delivery_t *d,
                const cel_task_msg_t *m, double countdown_s, cel_error_t *err)
{
    char eta[CEL_ISO_SIZE];
    cel_envelope_t env = d->env; /* borrows d's strings and body */
    int r = 0;

    countdown_s = cel_clock_span_s(countdown_s); /* NaN or < 0: at once */
    cel_clock_format_iso(cel_clock_wall_us() + (int64_t)(countdown_s * 1e6),
                         eta);
    env.body_owned = NULL;
    env.headers =
        d->env.headers ? json_deep_copy(d->env.headers) : json_object();
    if (env.headers == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "out of memory for the retry");
    }
    if (m->protocol == 2) {
        mark_retry(env.headers, m->retries + 1, eta);
    } else {
        /* The body is written anew, uncompressed. */
        json_object_del(env.headers, "compression");
        r = retry_body(&env, m, eta, err);
    }
    if (r == 0) {
        r = cel_broker_publish(c->broker, d->exchange, d->routing_key, &env,
                               err);
    }
    json_decref(env.headers);
    free(env.body_owned);
    return r;
}
