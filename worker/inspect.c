/* inspect.c: the remote-control commands that only read (`celery
 * inspect ...`): ping, stats, active, reserved, scheduled, registered,
 * active_queues, revoked, query_task, conf, clock, report, hello, with the
 * answers' shapes Celery 5's worker gives and Flower reads. They read the
 * board: the children's slots (what runs), and ops.h's tables. */
#include "control.h"
#include "seqlock.h"

#include <cel/clock.h>
#include <cel/url.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static json_t *
ping(cel_control_t *ctl, const json_t *args)
{
    (void)ctl;
    (void)args;
    return cel__cmd_ok("pong");
}

static json_t *
clock_cmd(cel_control_t *ctl, const json_t *args)
{
    (void)args;
    return json_pack("{s:I}", "clock",
                     (json_int_t)atomic_load(&ctl->board->ops.clock));
}

/* The broker part of stats, as kombu's Connection.info(), without the
 * password. */
static json_t *
broker_info(const cel_control_t *ctl)
{
    cel_url_t u[CEL_URL_MAX_NODES];
    cel_error_t err = CEL_ERROR_INIT;
    int n = 0;

    if (cel_url_list_parse(ctl->cfg->broker_url, u, CEL_URL_MAX_NODES, &n,
                           &err) != 0 ||
        n == 0) {
        return json_object();
    }
    json_t *alternates = json_array();
    char redacted[600];
    if (n > 1) { /* the whole failover list, passwords hidden */
        cel_url_list_redact(ctl->cfg->broker_url, redacted, sizeof(redacted));
        json_array_append_new(alternates, json_string(redacted));
    }
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:b, s:b, s:s, s:i, s:{}, s:s, s:n, s:i, "
        "s:s, s:o}",
        "hostname", u[0].host, "userid", u[0].user, "virtual_host", u[0].vhost,
        "port", u[0].port, "insist", 0, "ssl", u[0].tls, "transport", "amqp",
        "connect_timeout", 4, "transport_options", "login_method", "AMQPLAIN",
        "uri_prefix", "heartbeat", ctl->cfg->heartbeat_s, "failover_strategy",
        ctl->cfg->failover_shuffle ? "shuffle" : "round-robin", "alternates",
        alternates);
}

static json_t *
totals(const cel_control_t *ctl)
{
    json_t *t = json_object();

    for (int i = 0; i < CEL_TOTALS_MAX; i++) {
        const cel_total_t *e = &ctl->board->ops.totals[i];
        if (atomic_load(&e->state) != 2) {
            continue;
        }
        json_int_t before = json_integer_value(json_object_get(t, e->name));
        json_object_set_new(t, e->name,
                            json_integer(before + atomic_load(&e->count)));
    }
    return t;
}

static json_t *
pool_info(const cel_control_t *ctl)
{
    json_t *pids = json_array();
    const cel_board_t *b = ctl->board;

    for (int i = 0; i < b->nslots; i++) {
        pid_t pid = atomic_load(&b->slots[i].pid);
        if (pid > 0 && kill(pid, 0) == 0) {
            json_array_append_new(pids, json_integer(pid));
        }
    }
    return json_pack("{s:s, s:i, s:o, s:I, s:b, s:[ff], s:{}}",
                     "implementation", "celeriac:prefork", "max-concurrency",
                     atomic_load(&b->ops.target), "processes", pids,
                     "max-tasks-per-child",
                     (json_int_t)ctl->cfg->max_tasks_per_child,
                     "put-guarded-by-semaphore", 0, "timeouts",
                     ctl->cfg->soft_time_limit, ctl->cfg->time_limit, "writes");
}

static json_t *
rusage_info(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return json_pack(
        "{s:f, s:f, s:I, s:I, s:I, s:I, s:I}", "utime",
        (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, "stime",
        (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, "maxrss",
        (json_int_t)ru.ru_maxrss, "minflt", (json_int_t)ru.ru_minflt, "majflt",
        (json_int_t)ru.ru_majflt, "nvcsw", (json_int_t)ru.ru_nvcsw, "nivcsw",
        (json_int_t)ru.ru_nivcsw);
}

static json_t *
stats(cel_control_t *ctl, const json_t *args)
{
    char clock[32];

    (void)args;
    snprintf(clock, sizeof(clock), "%u", atomic_load(&ctl->board->ops.clock));
    return json_pack(
        "{s:o, s:i, s:s, s:I, s:o, s:o, s:i, s:o}", "total", totals(ctl), "pid",
        (int)ctl->master, "clock", clock, "uptime",
        (json_int_t)((cel_clock_now_ms() - ctl->started_ms) / 1000), "pool",
        pool_info(ctl), "broker", broker_info(ctl), "prefetch_count",
        ctl->cfg->prefetch_multiplier > 0 ? ctl->cfg->prefetch_multiplier : 0,
        "rusage", rusage_info());
}

/* A running task as Celery's Request.info() shows it. */
static json_t *
task_info(const cel_control_t *ctl, const cel_slot_state_t *s)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:b, s:{s:s, s:s, s:i, s:b}, "
        "s:i}",
        "id", s->task_id, "name", s->task_name, "args", s->args_repr, "kwargs",
        s->kwargs_repr, "type", s->task_name, "hostname", ctl->cfg->hostname,
        "time_start", (double)s->started_wall_us / 1e6, "acknowledged",
        atomic_load(&s->acked) != 0, "delivery_info", "exchange", s->exchange,
        "routing_key", s->routing_key, "priority", s->priority, "redelivered",
        s->redelivered, "worker_pid", (int)atomic_load(&s->pid));
}

#define END(buf) ((buf)[sizeof(buf) - 1] = '\0')

/* A whole copy of a busy slot's task into copy: false when the child
 * rewrote it on every try, or finished. */
static bool
copy_running(const cel_slot_state_t *live, cel_slot_state_t *copy)
{
    for (int tries = 0; tries < CEL_SEQ_TRIES; tries++) {
        unsigned seq = cel__seq_read_begin(&live->info_seq);
        memcpy(copy, live, sizeof(*copy));
        if (cel__seq_read_ok(&live->info_seq, seq)) {
            END(copy->task_id);
            END(copy->task_name);
            END(copy->args_repr);
            END(copy->kwargs_repr);
            END(copy->exchange);
            END(copy->routing_key);
            return atomic_load(&live->busy) != 0;
        }
    }
    return false;
}

/* Calls each(slot) for every slot running a task, with a whole copy of
 * it, read under its info_seq; a slot whose child keeps rewriting it is
 * left out. */
static void
each_running(const cel_control_t *ctl,
             void (*each)(const cel_control_t *, const cel_slot_state_t *,
                          void *),
             void *arg)
{
    for (int i = 0; i < ctl->board->nslots; i++) {
        const cel_slot_state_t *live = &ctl->board->slots[i];
        if (!atomic_load(&live->busy)) {
            continue;
        }
        cel_slot_state_t copy;
        if (copy_running(live, &copy)) {
            each(ctl, &copy, arg);
        }
    }
}

static void
add_active(const cel_control_t *ctl, const cel_slot_state_t *s, void *arg)
{
    json_array_append_new(arg, task_info(ctl, s));
}

static json_t *
active(cel_control_t *ctl, const json_t *args)
{
    json_t *list = json_array();

    (void)args;
    each_running(ctl, add_active, list);
    return list;
}

/* Tasks a child has taken from the broker but not started: a child
 * that starts a long task hands them back within --hand-back-after, and
 * the rest wait microseconds in its buffer, which the control process
 * cannot see: the answer is an empty list, as an idle Celery worker's. */
static json_t *
empty_list(cel_control_t *ctl, const json_t *args)
{
    (void)ctl;
    (void)args;
    return json_array();
}

/* One slot's shown eta tasks, read under its sequence count. */
static void
add_scheduled(const cel_control_t *ctl, const cel_slot_state_t *s, json_t *list)
{
    char eta[CEL_ISO_SIZE];

    for (int tries = 0; tries < CEL_SEQ_TRIES; tries++) {
        unsigned seq = cel__seq_read_begin(&s->sched_seq);
        cel_slot_state_t copy;
        memcpy(&copy, s, sizeof(copy));
        if (!cel__seq_read_ok(&s->sched_seq, seq)) {
            continue;
        }
        int n = copy.nsched < CEL_SCHED_SHOWN ? copy.nsched : CEL_SCHED_SHOWN;
        for (int i = 0; i < n; i++) {
            copy.sched[i].id[sizeof(copy.sched[i].id) - 1] = '\0';
            copy.sched[i].name[sizeof(copy.sched[i].name) - 1] = '\0';
            cel_clock_format_iso(copy.sched[i].eta_us, eta);
            json_array_append_new(
                list, json_pack("{s:s, s:i, s:{s:s, s:s, s:s, s:s, s:b, s:i}}",
                                "eta", eta, "priority", 0, "request", "id",
                                copy.sched[i].id, "name", copy.sched[i].name,
                                "type", copy.sched[i].name, "hostname",
                                ctl->cfg->hostname, "acknowledged", 0,
                                "worker_pid", (int)atomic_load(&s->pid)));
        }
        return;
    }
}

/* scheduled: the eta tasks the children hold, as {eta, priority,
 * request} (at most CEL_SCHED_SHOWN a child). */
static json_t *
scheduled(cel_control_t *ctl, const json_t *args)
{
    json_t *list = json_array();

    (void)args;
    for (int i = 0; i < ctl->board->nslots; i++) {
        add_scheduled(ctl, &ctl->board->slots[i], list);
    }
    return list;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static json_t *
registered(cel_control_t *ctl, const json_t *args)
{
    size_t n = ctl->reg->count;
    const char **names = calloc(n ? n : 1, sizeof(*names));
    json_t *list = json_array();
    char text[300], rate[24];

    (void)args;
    for (size_t i = 0; names != NULL && i < n; i++) {
        names[i] = ctl->reg->entries[i].name;
    }
    if (names != NULL) {
        qsort(names, n, sizeof(*names), by_name);
    }
    for (size_t i = 0; names != NULL && i < n; i++) {
        cel__rate_text(ctl->board->ops.rates, names[i], rate, sizeof(rate));
        snprintf(text, sizeof(text), rate[0] ? "%s [rate_limit=%s]" : "%s",
                 names[i], rate);
        json_array_append_new(list, json_string(text));
    }
    free(names);
    return list;
}

/* One queue as kombu's Queue.as_dict(recurse=True). */
static json_t *
queue_info(const char *name)
{
    return json_pack(
        "{s:s, s:{s:s, s:s, s:b, s:b, s:b, s:n, s:i, s:b}, s:s, s:n, s:n, "
        "s:n, s:b, s:b, s:b, s:b, s:n, s:[], s:b, s:n, s:n, s:n, s:n, s:n}",
        "name", name, "exchange", "name", name, "type", "direct", "durable", 1,
        "auto_delete", 0, "passive", 0, "arguments", "delivery_mode", 2,
        "no_declare", 0, "routing_key", name, "queue_arguments",
        "binding_arguments", "consumer_arguments", "durable", 1, "exclusive", 0,
        "auto_delete", 0, "no_ack", 0, "alias", "bindings", "no_declare", 0,
        "expires", "message_ttl", "max_length", "max_length_bytes",
        "max_priority");
}

static json_t *
active_queues(cel_control_t *ctl, const json_t *args)
{
    char names[CEL_MAX_QUEUES][CEL_SHORTSTR_SIZE];
    unsigned gen;
    json_t *list = json_array();

    (void)args;
    int n = cel__ops_queues(&ctl->board->ops, names, &gen);
    for (int i = 0; i < n; i++) {
        json_array_append_new(list, queue_info(names[i]));
    }
    return list;
}

static void
add_revoked(const char *id, int64_t at_wall_ms, void *arg)
{
    (void)at_wall_ms;
    json_array_append_new(arg, json_string(id));
}

static json_t *
revoked_cmd(cel_control_t *ctl, const json_t *args)
{
    json_t *list = json_array();

    (void)args;
    cel__ops_revoked_list(&ctl->board->ops, add_revoked, list);
    return list;
}

static void
add_revoked_at(const char *id, int64_t at_wall_ms, void *arg)
{
    json_object_set_new(arg, id, json_real((double)at_wall_ms / 1000.0));
}

/* The mingle greeting: what this worker knows is revoked. */
static json_t *
hello(cel_control_t *ctl, const json_t *args)
{
    json_t *known = json_object();

    (void)args;
    cel__ops_revoked_list(&ctl->board->ops, add_revoked_at, known);
    return json_pack("{s:o, s:I}", "revoked", known, "clock",
                     (json_int_t)atomic_load(&ctl->board->ops.clock));
}

typedef struct {
    const json_t *ids;
    json_t *found;
} query_t;

static void
add_if_asked(const cel_control_t *ctl, const cel_slot_state_t *s, void *arg)
{
    query_t *q = arg;
    size_t i;
    const json_t *v;

    json_array_foreach (q->ids, i, v) {
        const char *id = json_string_value(v);
        if (id != NULL && strcmp(id, s->task_id) == 0) {
            json_object_set_new(
                q->found, id, json_pack("[s, o]", "active", task_info(ctl, s)));
        }
    }
}

/* query_task(ids): {id: [state, info]} for the ids running here. */
static json_t *
query_task(cel_control_t *ctl, const json_t *args)
{
    const json_t *ids = json_object_get(args, "ids");
    json_t *one = NULL;

    if (json_is_string(ids)) {
        ids = one = json_pack("[O]", ids);
    }
    if (!json_is_array(ids)) {
        return cel__cmd_error("query_task wants ids, a list of task ids");
    }
    query_t q = {ids, json_object()};
    each_running(ctl, add_if_asked, &q);
    json_decref(one);
    return q.found;
}

static json_t *
conf(cel_control_t *ctl, const json_t *args)
{
    const cel_worker_config_t *cfg = ctl->cfg;
    char broker[600];

    (void)args;
    cel_url_list_redact(cfg->broker_url, broker, sizeof(broker));
    return json_pack(
        "{s:s, s:s, s:i, s:i, s:b, s:b, s:f, s:f, s:I, s:I, s:b, s:s}",
        "broker_url", broker, "result_backend", "rpc://", "worker_concurrency",
        atomic_load(&ctl->board->ops.target), "worker_prefetch_multiplier",
        cfg->prefetch_multiplier, "task_acks_late", !cfg->acks_early,
        "task_reject_on_worker_lost", cfg->reject_on_worker_lost,
        "task_time_limit", cfg->time_limit, "task_soft_time_limit",
        cfg->soft_time_limit, "worker_max_tasks_per_child",
        (json_int_t)cfg->max_tasks_per_child, "worker_max_memory_per_child",
        (json_int_t)cfg->max_memory_per_child, "worker_send_task_events",
        atomic_load(&ctl->board->ops.task_events) != 0, "task_default_queue",
        cfg->queues[0]);
}

static json_t *
report(cel_control_t *ctl, const json_t *args)
{
    char text[600], broker[400];

    (void)args;
    cel_url_list_redact(ctl->cfg->broker_url, broker, sizeof(broker));
    snprintf(text, sizeof(text),
             "software -> celeriac:%s (workerd)\nplatform -> C11, prefork\n"
             "settings -> broker:%s results:rpc://\n",
             CEL_VERSION, broker);
    return cel__cmd_ok("%s", text);
}

const cel_command_t cel__inspect_commands[] = {
    {"ping", ping, true},
    {"stats", stats, true},
    {"active", active, true},
    {"reserved", empty_list, true},
    {"scheduled", scheduled, true},
    {"registered", registered, true},
    {"dump_tasks", registered, true},
    {"active_queues", active_queues, true},
    {"revoked", revoked_cmd, true},
    {"dump_revoked", revoked_cmd, true},
    {"query_task", query_task, true},
    {"conf", conf, true},
    {"clock", clock_cmd, true},
    {"report", report, true},
    {"hello", hello, true},
    {NULL, NULL, false},
};
