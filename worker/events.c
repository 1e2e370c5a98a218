/* events.c: Celery's events on the celeryev exchange (see events.h). */
#include "events.h"

#include <cel/clock.h>

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Celery's utcoffset(): hours west of UTC (time.timezone // 3600, or
 * time.altzone's in summer time). */
static int
utcoffset_hours(void)
{
    time_t now = time(NULL);
    struct tm local;

    localtime_r(&now, &local);
    long west = -local.tm_gmtoff;
    return (int)(west >= 0 ? west / 3600 : -((-west + 3599) / 3600));
}

json_t *
cel__event_new(cel_ops_t *ops, const char *hostname, const char *type,
               pid_t pid)
{
    return json_pack("{s:s, s:s, s:i, s:i, s:I, s:f}", "type", type, "hostname",
                     hostname, "utcoffset", utcoffset_hours(), "pid", (int)pid,
                     "clock", (json_int_t)cel__ops_tick(ops), "timestamp",
                     (double)cel_clock_wall_us() / 1e6);
}

/* "task-succeeded" -> "task.succeeded", in out. */
static void
routing_key(const char *type, char *out, size_t size)
{
    cel_copy_str(out, size, type);
    for (char *p = out; *p != '\0'; p++) {
        *p = *p == '-' ? '.' : *p;
    }
}

int
cel__event_publish(cel_broker_t *b, const char *hostname, json_t *body,
                   bool *declared, cel_error_t *err)
{
    cel_envelope_t env;
    char key[64];
    int r = 0;

    if (!*declared) {
        r = cel_broker_declare_exchange(b, CEL_EVENTS_EXCHANGE, "topic", true,
                                        false, err);
        *declared = r == 0;
    }
    if (json_is_array(body)) {
        cel_copy_str(key, sizeof(key), "task.multi");
    } else {
        routing_key(json_string_value(json_object_get(body, "type")), key,
                    sizeof(key));
    }
    cel_envelope_init(&env);
    cel_copy_str(env.content_type, sizeof(env.content_type),
                 "application/json");
    cel_copy_str(env.content_encoding, sizeof(env.content_encoding), "utf-8");
    env.delivery_mode = 1;
    env.priority = 0;
    env.headers = json_pack("{s:s}", "hostname", hostname);
    env.body_owned = cel_json_dump(body, &env.body_len);
    env.body = env.body_owned;
    json_decref(body);
    if (r == 0 && (env.headers == NULL || env.body == NULL)) {
        r = cel_error_set(err, CEL_ENOMEM, "out of memory for an event");
    }
    if (r == 0) {
        r = cel_broker_publish(b, CEL_EVENTS_EXCHANGE, key, &env, err);
    }
    cel_envelope_clear(&env);
    return r;
}

void
cel__events_add(cel_event_batch_t *q, json_t *ev)
{
    if (ev == NULL) {
        return;
    }
    if (q->batch == NULL) {
        q->batch = json_array();
    }
    if (q->batch == NULL || json_array_append_new(q->batch, ev) != 0) {
        json_decref(ev); /* out of memory: the event is dropped */
    }
}

int
cel__events_flush(cel_event_batch_t *q, cel_broker_t *b, const char *hostname,
                  cel_error_t *err)
{
    json_t *batch = q->batch;

    q->batch = NULL;
    if (batch == NULL) {
        return 0;
    }
    return cel__event_publish(b, hostname, batch, &q->declared, err);
}

json_t *
cel__event_worker(cel_ops_t *ops, const char *hostname, const char *type,
                  int active, int64_t processed)
{
    double load[3] = {0, 0, 0};
    struct utsname u;

    if (getloadavg(load, 3) < 0) {
        load[0] = load[1] = load[2] = 0;
    }
    json_t *ev = cel__event_new(ops, hostname, type, getpid());
    const char *sys = uname(&u) == 0 ? u.sysname : "Linux";
    json_t *extra =
        json_pack("{s:f, s:i, s:I, s:[fff], s:s, s:s, s:s}", "freq",
                  CEL_EVENTS_FREQ_S, "active", active, "processed",
                  (json_int_t)processed, "loadavg", load[0], load[1], load[2],
                  "sw_ident", "celeriac", "sw_ver", CEL_VERSION, "sw_sys", sys);
    if (ev == NULL || extra == NULL || json_object_update(ev, extra) != 0) {
        json_decref(ev);
        ev = NULL;
    }
    json_decref(extra);
    return ev;
}
