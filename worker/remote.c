/* remote.c: the remote-control commands that act (`celery control ...`):
 * revoke, shutdown, pool_grow, pool_shrink, add_consumer,
 * cancel_consumer, rate_limit, time_limit, enable_events,
 * disable_events and heartbeat. Each writes what it changes into the
 * board (ops.h) or signals the master; the answers are Celery's words, so
 * that Flower, which looks for "ok", counts them done. */
#include "control.h"

#include <cel/log.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A signal by name ("SIGKILL", "KILL") or number, of those a task may be
 * terminated with (never SIGSTOP, which would leave it hanging, nor the
 * signals the pool uses for itself); 0 for any other. */
static int
signal_of(const json_t *v)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},
                 {"QUIT", SIGQUIT}, {"HUP", SIGHUP},   {"USR1", SIGUSR1},
                 {"USR2", SIGUSR2}, {"ABRT", SIGABRT}};
    const char *s = json_string_value(v);

    if (v == NULL || json_is_null(v)) {
        return SIGTERM; /* Celery's default */
    }
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (s == NULL && n == 0) {
        return 0;
    }
    s = s != NULL && strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (s != NULL ? strcasecmp(s, names[i].name) == 0 : n == names[i].sig) {
            return names[i].sig;
        }
    }
    return 0;
}

static bool
running(cel_slot_state_t *s, uint64_t hash, size_t len)
{
    return atomic_load(&s->busy) && s->key.hash == hash && s->key.len == len;
}

/* Kills the child running id, if one is: its slot's terminate_sig first,
 * so that the child dies of sig (board.h). The id is already among the
 * revoked: a child starting it now finds it there (execute.c). */
static bool
terminate(cel_control_t *ctl, const char *id, int sig)
{
    size_t len;
    uint64_t h = cel__id_hash(id, &len);

    atomic_thread_fence(memory_order_seq_cst); /* revoked, then the board */
    for (int i = 0; i < ctl->board->nslots; i++) {
        cel_slot_state_t *s = &ctl->board->slots[i];
        pid_t pid = atomic_load(&s->pid);
        unsigned run = atomic_load(&s->run);
        if (pid <= 0 || !running(s, h, len)) {
            continue;
        }
        CEL_LOG(CEL_LOG_WARN, "Terminating %s (signal %d), child pid %d", id,
                sig, (int)pid);
        atomic_store(&s->terminate_run, run);
        atomic_store(&s->terminate_sig, sig);
        /* The child may have finished the task meanwhile: it then takes a
         * signal flagged for another run as it would any other (only
         * SIGKILL cannot be told apart, within this instant). */
        if (atomic_load(&s->run) != run || !running(s, h, len)) {
            atomic_store(&s->terminate_sig, 0);
            return false;
        }
        kill(pid, sig);
        return true;
    }
    return false;
}

/* revoke(task_id, terminate=False, signal='SIGTERM'): task_id one id or
 * a list. Every child sees the ids at once (ops.h); a task not started
 * never runs and answers REVOKED; with terminate the child running it is
 * killed, and the task answers REVOKED. */
static json_t *
revoke_ids(cel_control_t *ctl, const json_t *args, bool term)
{
    const json_t *ids = json_object_get(args, "task_id");
    int sig = term ? signal_of(json_object_get(args, "signal")) : 0;
    char list[600] = "", killed[600] = "";
    size_t i;
    const json_t *v;

    if (term && sig == 0) {
        return cel__cmd_error("revoke: unknown signal");
    }
    json_t *one = json_is_string(ids) ? json_pack("[O]", ids) : NULL;
    ids = one != NULL ? one : ids;
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        json_decref(one);
        return cel__cmd_error("revoke wants task_id, a task id or a list");
    }
    json_array_foreach (ids, i, v) {
        const char *id = json_string_value(v);
        if (id == NULL || id[0] == '\0') {
            continue;
        }
        cel__ops_revoke(&ctl->board->ops, id, sig);
        size_t at = strlen(list);
        snprintf(list + at, sizeof(list) - at, "%s%s", at ? ", " : "", id);
        if (term && terminate(ctl, id, sig)) {
            at = strlen(killed);
            snprintf(killed + at, sizeof(killed) - at, "%s%s", at ? ", " : "",
                     id);
        }
    }
    json_decref(one);
    if (term) {
        return cel__cmd_ok("terminate: %s",
                           killed[0] ? killed : "tasks unknown");
    }
    return cel__cmd_ok("tasks %s flagged as revoked", list);
}

static json_t *
revoke_cmd(cel_control_t *ctl, const json_t *args)
{
    return revoke_ids(ctl, args,
                      json_is_true(json_object_get(args, "terminate")));
}

/* terminate(task_id, signal): revoke with terminate, as Celery's. */
static json_t *
terminate_cmd(cel_control_t *ctl, const json_t *args)
{
    return revoke_ids(ctl, args, true);
}

/* shutdown: a warm shutdown of the whole worker, with no answer. */
static json_t *
shutdown_cmd(cel_control_t *ctl, const json_t *args)
{
    (void)args;
    CEL_LOG(CEL_LOG_WARN, "remote control: shutdown");
    kill(ctl->master, SIGTERM);
    return NULL;
}

/* pool_grow(n=1) and pool_shrink(n=1): the master starts or stops
 * children to match (its board target). */
static json_t *
resize(cel_control_t *ctl, const json_t *args, int sign)
{
    const json_t *nv = json_object_get(args, "n");
    json_int_t n = nv == NULL || json_is_null(nv) ? 1
                   : json_is_integer(nv)          ? json_integer_value(nv)
                                                  : -1;

    if (n < 0 || n > 1024) {
        return cel__cmd_error("n must be a whole number from 0 to 1024");
    }
    int now = atomic_load(&ctl->board->ops.target);
    long want = now + sign * (long)n;
    if (want < 1 || want > ctl->board->nslots) {
        return cel__cmd_error("the pool holds 1 to %d processes (now %d)",
                              ctl->board->nslots, now);
    }
    atomic_store(&ctl->board->ops.target, (int)want);
    kill(ctl->master, SIGUSR1);
    return cel__cmd_ok(sign > 0 ? "pool will grow" : "pool will shrink");
}

static json_t *
pool_grow(cel_control_t *ctl, const json_t *args)
{
    return resize(ctl, args, 1);
}

static json_t *
pool_shrink(cel_control_t *ctl, const json_t *args)
{
    return resize(ctl, args, -1);
}

static json_t *
add_consumer(cel_control_t *ctl, const json_t *args)
{
    const char *q = json_string_value(json_object_get(args, "queue"));
    cel_error_t err = CEL_ERROR_INIT;

    if (q == NULL || q[0] == '\0' || strlen(q) > 255) {
        return cel__cmd_error("add_consumer wants queue, a queue name");
    }
    /* Declared here first, as each child will: a queue the broker refuses
     * is answered as an error, not handed to every child to fail on. */
    int r = cel__ops_queue_room(&ctl->board->ops, q);
    if (r == 0 && cel_broker_declare_task_queue(ctl->broker, q, &err) != 0) {
        CEL_LOG(CEL_LOG_WARN, "remote control: add_consumer %.255s: %s", q,
                err.text);
        return cel__cmd_error("cannot consume from %.255s: %s", q, err.text);
    }
    r = r == 0 ? cel__ops_queue_add(&ctl->board->ops, q) : r;
    if (r == CEL_ERANGE) {
        return cel__cmd_error("at most %d queues", CEL_MAX_QUEUES);
    }
    return r == 0 ? cel__cmd_ok("add consumer %s", q)
                  : cel__cmd_ok("already consuming from %s", q);
}

static json_t *
cancel_consumer(cel_control_t *ctl, const json_t *args)
{
    const char *q = json_string_value(json_object_get(args, "queue"));

    if (q == NULL) {
        return cel__cmd_error("cancel_consumer wants queue, a queue name");
    }
    if (ctl->board->ops.nqueues == 1 &&
        strcmp(ctl->board->ops.queues[0], q) == 0) {
        return cel__cmd_error("%s is the last queue consumed", q);
    }
    if (cel__ops_queue_remove(&ctl->board->ops, q) != 0) {
        return cel__cmd_error("not consuming from %s", q);
    }
    return cel__cmd_ok("no longer consuming from %s", q);
}

static bool
known_task(const cel_control_t *ctl, const char *name)
{
    return name != NULL && cel__registry_find(ctl->reg, name) != NULL;
}

/* rate_limit(task_name, rate_limit): "10/s", "100/m", "5/h", a number,
 * or 0 / None to lift it; for the whole worker (rate.h). */
static json_t *
rate_limit(cel_control_t *ctl, const json_t *args)
{
    const char *task = json_string_value(json_object_get(args, "task_name"));
    const json_t *rv = json_object_get(args, "rate_limit");
    char text[24];
    double per_s = 0;

    if (!known_task(ctl, task)) {
        return cel__cmd_error("unknown task");
    }
    if (json_is_number(rv)) {
        snprintf(text, sizeof(text), "%g", json_number_value(rv));
    } else {
        cel_copy_str(text, sizeof(text),
                     json_is_string(rv) ? json_string_value(rv) : "0");
    }
    if (cel__rate_parse(text, &per_s) != 0) {
        return cel__cmd_error("Invalid rate limit string: %s", text);
    }
    if (cel__rate_set(ctl->board->ops.rates, task, per_s, text) != 0) {
        return cel__cmd_error("at most %d tasks with a rate limit",
                              CEL_RATE_MAX);
    }
    atomic_fetch_add(&ctl->board->ops.rates_gen, 1); /* held tasks look */
    return cel__cmd_ok(per_s > 0 ? "new rate limit set successfully"
                                 : "rate limit disabled successfully");
}

static double
seconds_or_zero(const json_t *v)
{
    return json_is_number(v) && json_number_value(v) > 0 ? json_number_value(v)
                                                         : 0;
}

/* time_limit(task_name, soft=None, hard=None): for the task's next runs
 * (a message's own limits still win, as in Celery). */
static json_t *
time_limit(cel_control_t *ctl, const json_t *args)
{
    const char *task = json_string_value(json_object_get(args, "task_name"));
    double soft = seconds_or_zero(json_object_get(args, "soft"));
    double hard = seconds_or_zero(json_object_get(args, "hard"));

    if (!known_task(ctl, task)) {
        return cel__cmd_error("unknown task");
    }
    if (cel__ops_limit_set(&ctl->board->ops, task, soft, hard) != 0) {
        return cel__cmd_error("at most %d tasks with time limits",
                              CEL_LIMITS_MAX);
    }
    return cel__cmd_ok("time limits set successfully");
}

static json_t *
enable_events(cel_control_t *ctl, const json_t *args)
{
    (void)args;
    atomic_store(&ctl->board->ops.task_events, 1);
    return cel__cmd_ok("task events enabled");
}

static json_t *
disable_events(cel_control_t *ctl, const json_t *args)
{
    (void)args;
    atomic_store(&ctl->board->ops.task_events, 0);
    return cel__cmd_ok("task events disabled");
}

/* heartbeat: a worker-heartbeat at once (an event receiver asks when it
 * starts). */
static json_t *
heartbeat(cel_control_t *ctl, const json_t *args)
{
    (void)args;
    ctl->beat_now = true;
    return json_null();
}

const cel_command_t cel__remote_commands[] = {
    {"revoke", revoke_cmd, true},
    {"terminate", terminate_cmd, true},
    {"shutdown", shutdown_cmd, false},
    {"pool_grow", pool_grow, true},
    {"pool_shrink", pool_shrink, true},
    {"add_consumer", add_consumer, true},
    {"cancel_consumer", cancel_consumer, true},
    {"rate_limit", rate_limit, true},
    {"time_limit", time_limit, true},
    {"enable_events", enable_events, true},
    {"disable_events", disable_events, true},
    {"heartbeat", heartbeat, true},
    {NULL, NULL, false},
};
