/* supervisor.c: fork, reap, respawn, shut down.
 *
 * The master keeps its signals blocked and takes them synchronously with
 * sigtimedwait, so there are no handlers and no races between a signal and
 * the process table. It sleeps until its next deadline (a respawn, a
 * running task's hard limit, the end of a warm shutdown's grace) or a
 * signal; a child whose task has a hard limit due sooner than that wakes
 * it with SIGUSR1. An idle worker's master does not wake at all. Order on each
 * wake-up: reap, then act on the signal, then respawn what is due. A child that
 * lived less than a second is restarted after a second, not at once, so a
 * crashing child cannot spin. The master also enforces hard time limits: it
 * reads each task's start from the board and kills a child whose task runs past
 * its limit.
 *
 * Warm shutdown (first SIGTERM/SIGINT): children get SIGTERM, finish their
 * running task, report it, and exit; prefetched messages go back to the
 * queue when their connections close. Cold shutdown (a second signal, or
 * SIGQUIT): children get SIGKILL; their unacked messages go back too.
 * SIGHUP is a warm restart: a warm shutdown, after which main runs workerd
 * again in the same process, as Celery's worker does on HUP.
 *
 * A child's exit status is only ever described, never obeyed: a task can
 * call exit() with any code. A child that leaves on purpose says so in its
 * board slot. */
#include "supervisor.h"

#include "board.h"
#include "child.h"
#include "control.h"

#include <cel/clock.h>
#include <cel/log.h>
#include <cel/url.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RESPAWN_DELAY_MS 1000
#define CONTROL_STOP_MS  5000 /* to send worker-offline and leave */
#define MANY_CHILDREN    500  /* past this, warn about the broker's limits */
#define READY_POLL_MS    50   /* how often to look for "ready" until then */

typedef struct {
    pid_t pid;
    int64_t started_at_ms;
    int64_t respawn_at_ms;   /* 0: nothing scheduled */
    int64_t killed_limit_ms; /* killed at this hard time limit, 0: not */
    unsigned respawn : 1;
    unsigned shrinking : 1; /* pool_shrink asked it to leave */
} cel_child_slot_t;

typedef struct {
    const cel_worker_config_t *cfg;
    const cel_registry_t *reg;
    cel_board_t *board;
    cel_child_slot_t *slots;
    int nslots; /* room for pool_grow: slots 0..target-1 run children */
    int live;
    cel_child_slot_t control;   /* the control process (control.c) */
    bool control_told;          /* asked to stop */
    int64_t control_kill_at_ms; /* then killed if still there */
    bool stopping;
    bool cold;
    bool restart;       /* SIGHUP: run again once the children are gone */
    bool announced;     /* "ready" was logged */
    int64_t stop_at_ms; /* when the warm shutdown began */
    char where[600];    /* the broker URL, password redacted */
} cel_master_t;

/* The slots the board has room for: -c and room for pool_grow to
 * double it (at least CEL_POOL_ROOM_MIN), up to 1024. */
#define CEL_POOL_ROOM_MIN 16
static int
pool_room(int concurrency)
{
    int room = concurrency * 2;

    room = room < CEL_POOL_ROOM_MIN ? CEL_POOL_ROOM_MIN : room;
    return room > 1024 ? 1024 : room;
}

static void
spawn(cel_master_t *m, int i)
{
    pid_t master = getpid();

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        cel_log_errno(CEL_LOG_ERROR, errno, "fork ForkPoolWorker-%d", i + 1);
        m->slots[i].respawn = 1; /* try again later */
        m->slots[i].respawn_at_ms = cel_clock_now_ms() + RESPAWN_DELAY_MS;
        return;
    }
    if (pid == 0) {
        int code = cel__child_main(m->cfg, m->reg, m->board, i, master);
        cel__board_free(m->board);
        free(m->slots);
        exit(code);
    }
    m->slots[i] = (cel_child_slot_t){
        .pid = pid, .started_at_ms = cel_clock_now_ms(), .respawn = 1};
    m->board->slots[i].retiring = 0;
    m->live++;
    CEL_LOG(CEL_LOG_INFO, "started ForkPoolWorker-%d (pid %d)", i + 1,
            (int)pid);
}

static const char *
signame(int sig)
{
    switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGHUP: return "SIGHUP";
    }
    return "SIG?";
}

static void
describe_exit(int status, char *out, size_t size)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        snprintf(out, size, "signal %d (%s)%s", sig, signame(sig),
                 WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(out, size, "exitcode %d", WEXITSTATUS(status));
    }
}

/* Did the child in slot i leave on purpose (it said so, and exited 0)? */
static bool
retired(const cel_master_t *m, int i, int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
           m->board->slots[i].retiring;
}

/* Records what the dead child was running as lost, and logs the death. */
static void
record_loss(cel_master_t *m, int i, int status)
{
    char how[64], reason[160], id[CEL_SHORTSTR_SIZE], name[128];
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    int64_t limit = m->slots[i].killed_limit_ms;
    cel_lost_kind_t kind = limit ? CEL_LOST_TIMEOUT : CEL_LOST_DIED;

    describe_exit(status, how, sizeof(how));
    if (limit) {
        snprintf(reason, sizeof(reason), "Time limit (%gs) exceeded",
                 (double)limit / 1000.0);
    } else {
        snprintf(reason, sizeof(reason),
                 "Worker exited prematurely: %s Job: %d.", how, i);
    }
    if (cel__board_reap(m->board, i, kind, reason, id, sizeof(id), name,
                        sizeof(name))) {
        CEL_LOG(
            CEL_LOG_ERROR,
            "ForkPoolWorker-%d (pid %d) died (%s) while running task %s[%s]",
            i + 1, (int)m->slots[i].pid, how, name, id);
    } else if (retired(m, i, status)) {
        CEL_LOG(CEL_LOG_INFO,
                "ForkPoolWorker-%d (pid %d) retired; replacing it", i + 1,
                (int)m->slots[i].pid);
    } else if (!clean || !m->stopping) {
        CEL_LOG(clean ? CEL_LOG_INFO : CEL_LOG_ERROR,
                "ForkPoolWorker-%d (pid %d) exited (%s)", i + 1,
                (int)m->slots[i].pid, how);
    }
}

static void
child_exited(cel_master_t *m, int i, int status)
{
    record_loss(m, i, status);
    m->slots[i].pid = 0;
    m->slots[i].killed_limit_ms = 0;
    m->board->slots[i].consuming = 0;
    m->live--;
    if (m->stopping || m->slots[i].shrinking) {
        m->slots[i].respawn = 0;
        m->slots[i].shrinking = 0;
        return;
    }
    /* A child that retired (max tasks or memory) is replaced at once; one
     * that died young waits a second, so a crashing child cannot spin. */
    int64_t lived = cel_clock_now_ms() - m->slots[i].started_at_ms;
    bool wait = lived < RESPAWN_DELAY_MS && !retired(m, i, status);
    m->slots[i].respawn_at_ms =
        cel_clock_now_ms() + (wait ? RESPAWN_DELAY_MS : 0);
}

/* Kills a child whose task has run past its hard time limit; the task is
 * then reported as TimeLimitExceeded and not run again. */
static void
enforce_limits(cel_master_t *m)
{
    int64_t now = cel_clock_now_ms();

    for (int i = 0; i < m->nslots; i++) {
        cel_child_slot_t *s = &m->slots[i];
        if (s->pid > 0 && !s->killed_limit_ms &&
            cel__board_overdue(m->board, i, now)) {
            s->killed_limit_ms = m->board->slots[i].hard_limit_ms;
            CEL_LOG(CEL_LOG_ERROR,
                    "Hard time limit (%gs) exceeded for %s[%s]; killing "
                    "ForkPoolWorker-%d (pid %d)",
                    (double)s->killed_limit_ms / 1000.0,
                    m->board->slots[i].task_name, m->board->slots[i].task_id,
                    i + 1, (int)s->pid);
            cel__board_killing(m->board, i);
            kill(s->pid, SIGKILL);
        }
    }
}

/* A dead control process comes back after RESPAWN_DELAY_MS. */
static bool
control_exited(cel_master_t *m, pid_t pid, int status)
{
    char how[64];

    if (m->control.pid == 0 || pid != m->control.pid) {
        return false;
    }
    describe_exit(status, how, sizeof(how));
    if (!m->stopping) {
        CEL_LOG(CEL_LOG_ERROR, "the control process (pid %d) exited (%s)",
                (int)pid, how);
    }
    m->control.pid = 0;
    m->control.respawn_at_ms = cel_clock_now_ms() + RESPAWN_DELAY_MS;
    atomic_store(&m->board->ops.control, 0);
    return true;
}

static void
reap(cel_master_t *m)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) != 0) {
        if (pid < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (control_exited(m, pid, status)) {
            continue;
        }
        for (int i = 0; i < m->nslots; i++) {
            if (m->slots[i].pid == pid) {
                child_exited(m, i, status);
            }
        }
    }
}

static void
signal_children(cel_master_t *m, int sig)
{
    for (int i = 0; i < m->nslots; i++) {
        if (m->slots[i].pid > 0) {
            kill(m->slots[i].pid, sig);
        }
    }
}

static void
on_signal(cel_master_t *m, int sig)
{
    if (sig == SIGCHLD || sig == SIGUSR1 || sig <= 0) {
        return;
    }
    if (sig == SIGHUP) {
        if (!m->stopping) {
            m->stopping = m->restart = true;
            m->stop_at_ms = cel_clock_now_ms();
            CEL_LOG(CEL_LOG_WARN,
                    "warm restart (SIGHUP): waiting for running tasks to "
                    "finish, then starting again");
            signal_children(m, SIGTERM);
        }
        return;
    }
    if (m->restart && sig != SIGQUIT) {
        /* A stop during a warm restart: the same warm stop, and no
         * restart after it; a second one is cold. */
        m->restart = false;
        CEL_LOG(CEL_LOG_WARN,
                "warm shutdown (%s) instead of the restart: waiting for "
                "running tasks to finish; signal again for a cold shutdown",
                signame(sig));
        return;
    }
    if (sig == SIGQUIT || (m->stopping && !m->cold)) {
        m->restart = false;
        m->stopping = m->cold = true;
        CEL_LOG(CEL_LOG_WARN,
                "cold shutdown (%s): killing %d children; "
                "their unacked tasks go back to the queue",
                signame(sig), m->live);
        signal_children(m, SIGKILL);
        return;
    }
    if (!m->stopping) {
        m->stopping = true;
        m->stop_at_ms = cel_clock_now_ms();
        CEL_LOG(CEL_LOG_WARN,
                "warm shutdown (%s): waiting for running "
                "tasks to finish; signal again for a cold shutdown",
                signame(sig));
        signal_children(m, SIGTERM);
    }
}

static void
respawn_due(cel_master_t *m)
{
    int64_t now = cel_clock_now_ms();

    for (int i = 0; i < m->nslots && !m->stopping; i++) {
        cel_child_slot_t *s = &m->slots[i];
        if (s->pid == 0 && s->respawn && s->respawn_at_ms <= now &&
            i < atomic_load(&m->board->ops.target)) {
            spawn(m, i);
        }
    }
}

static bool
any_respawning(const cel_master_t *m)
{
    for (int i = 0; i < m->nslots; i++) {
        if (m->slots[i].pid == 0 && m->slots[i].respawn) {
            return true;
        }
    }
    return false;
}

/* Logs "ready" once every child consumes, as Celery does once its
 * consumers are up: from then on no task waits for a child to connect. */
static void
announce_ready(cel_master_t *m)
{
    const cel_worker_config_t *cfg = m->cfg;

    int target = atomic_load(&m->board->ops.target);
    for (int i = 0; i < target; i++) {
        if (m->slots[i].pid == 0 || !m->board->slots[i].consuming) {
            return;
        }
    }
    m->announced = true;
    CEL_LOG(CEL_LOG_WARN, "%s ready: %d children consuming %s%s from %s",
            cfg->hostname, target, cfg->queues[0],
            cfg->nqueues > 1 ? ",..." : "", m->where);
}

static int64_t
earliest(int64_t a, int64_t b)
{
    return a == 0 ? b : b == 0 || b > a ? a : b;
}

/* When the master must look again with no signal (monotonic ms; 0:
 * never): a respawn, a running task's hard limit, the end of a warm
 * shutdown's grace, and every READY_POLL_MS until "ready" is logged (the
 * children say they consume through the board only). */
static int64_t
next_deadline(const cel_master_t *m)
{
    int64_t at = 0;

    for (int i = 0; i < m->nslots; i++) {
        const cel_child_slot_t *s = &m->slots[i];
        const cel_slot_state_t *b = &m->board->slots[i];
        if (s->pid == 0 && s->respawn && !m->stopping) {
            at = earliest(at, s->respawn_at_ms);
        }
        if (s->pid > 0 && b->busy && b->hard_limit_ms > 0 &&
            !s->killed_limit_ms) {
            at = earliest(at, b->started_ms + b->hard_limit_ms + 1);
        }
    }
    if (!m->announced && !m->stopping) {
        at = earliest(at, cel_clock_now_ms() + READY_POLL_MS);
    }
    if (m->control.pid == 0 && m->control.respawn && !m->stopping) {
        at = earliest(at, m->control.respawn_at_ms);
    }
    if (m->control.pid > 0 && m->control_told &&
        m->control_kill_at_ms != INT64_MAX) {
        at = earliest(at, m->control_kill_at_ms);
    }
    if (m->stopping && !m->cold && m->cfg->shutdown_timeout > 0) {
        at = earliest(at, m->stop_at_ms +
                              (int64_t)(m->cfg->shutdown_timeout * 1000));
    }
    return at;
}

/* Sleeps until a signal or until at (0: a signal only); returns the signal
 * or 0. */
static int
wait_until(const sigset_t *set, int64_t at)
{
    if (at == 0) {
        return sigwaitinfo(set, NULL);
    }
    int64_t ms = at - cel_clock_now_ms();
    ms = ms < 0 ? 0 : ms;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    return sigtimedwait(set, NULL, &ts);
}

/* A warm shutdown past its --shutdown-timeout turns cold. */
static void
enforce_grace(cel_master_t *m)
{
    double grace = m->cfg->shutdown_timeout;

    if (!m->stopping || m->cold || grace <= 0 ||
        cel_clock_now_ms() - m->stop_at_ms < (int64_t)(grace * 1000)) {
        return;
    }
    m->cold = true;
    m->restart = false;
    CEL_LOG(CEL_LOG_WARN,
            "warm shutdown took longer than --shutdown-timeout %gs: killing "
            "%d children; their unacked tasks go back to the queue",
            grace, m->live);
    signal_children(m, SIGKILL);
}

/* pool_grow and pool_shrink (the control process moves the board's
 * target): slots below the target get a child, those above are asked to
 * leave warm, their running task finishing first. */
static void
resize(cel_master_t *m)
{
    int target = atomic_load(&m->board->ops.target);

    for (int i = 0; i < m->nslots && !m->stopping; i++) {
        cel_child_slot_t *s = &m->slots[i];
        if (i < target && s->pid == 0 && !s->respawn) {
            s->respawn = 1;
            s->respawn_at_ms = cel_clock_now_ms();
        } else if (i >= target && s->pid > 0 && !s->shrinking) {
            s->shrinking = 1;
            CEL_LOG(CEL_LOG_INFO,
                    "pool shrinks: stopping ForkPoolWorker-%d (pid %d)", i + 1,
                    (int)s->pid);
            kill(s->pid, SIGTERM);
        } else if (i >= target && s->pid == 0) {
            s->respawn = 0;
        }
    }
}

/* The control process: remote control and worker events (control.c). It
 * stays up through a warm shutdown and is told to stop once the last
 * child has gone, so its worker-offline comes last. */
static void
spawn_control(cel_master_t *m)
{
    pid_t master = getpid();

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        cel_log_errno(CEL_LOG_ERROR, errno, "fork the control process");
        m->control.respawn = 1; /* try again later */
        m->control.respawn_at_ms = cel_clock_now_ms() + RESPAWN_DELAY_MS;
        return;
    }
    if (pid == 0) {
        int code = cel__control_main(m->cfg, m->reg, m->board, master);
        cel__board_free(m->board);
        free(m->slots);
        exit(code);
    }
    m->control = (cel_child_slot_t){
        .pid = pid, .started_at_ms = cel_clock_now_ms(), .respawn = 1};
    atomic_store(&m->board->ops.control, pid);
}

static void
tend_control(cel_master_t *m)
{
    cel_child_slot_t *s = &m->control;

    if (s->pid == 0 && s->respawn && !m->stopping &&
        s->respawn_at_ms <= cel_clock_now_ms()) {
        spawn_control(m);
    } else if (s->pid > 0 && m->stopping && (m->live == 0 || m->cold) &&
               !m->control_told) {
        m->control_told = true;
        m->control_kill_at_ms = cel_clock_now_ms() + CONTROL_STOP_MS;
        kill(s->pid, SIGTERM);
    } else if (s->pid > 0 && m->control_told &&
               cel_clock_now_ms() >= m->control_kill_at_ms) {
        CEL_LOG(CEL_LOG_WARN,
                "the control process (pid %d) did not stop within %d ms "
                "(worker-offline not sent): killing it",
                (int)s->pid, CONTROL_STOP_MS);
        kill(s->pid, SIGKILL);
        m->control_kill_at_ms = INT64_MAX; /* once */
    }
}

static void
master_loop(cel_master_t *m, const sigset_t *set)
{
    while (m->live > 0 || m->control.pid > 0 ||
           (!m->stopping && any_respawning(m))) {
        /* 0 first: a child that starts a task with a hard limit while
         * the deadline is worked out sees it and wakes the master, or the
         * board shows the master its task (seq_cst on both sides). */
        atomic_store(&m->board->master_wakes_ms, 0);
        atomic_thread_fence(memory_order_seq_cst);
        int64_t at = next_deadline(m);
        atomic_store(&m->board->master_wakes_ms, at);
        int sig = wait_until(set, at);
        reap(m);
        on_signal(m, sig);
        enforce_limits(m);
        enforce_grace(m);
        resize(m);
        respawn_due(m);
        tend_control(m);
        if (!m->announced && !m->stopping) {
            announce_ready(m);
        }
    }
}

int
cel__supervisor_run(const cel_worker_config_t *cfg, const cel_registry_t *reg,
                    bool *restart)
{
    cel_master_t m = {.cfg = cfg, .reg = reg};
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGUSR1); /* a child: a hard limit is due sooner */
    struct sigaction ign = {.sa_handler = SIG_IGN};
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
        sigaction(SIGPIPE, &ign, NULL) != 0) {
        cel_log_errno(CEL_LOG_ERROR, errno, "cannot set up signals");
        return 1;
    }
    m.nslots = pool_room(cfg->concurrency);
    m.board = cel__board_new(m.nslots);
    m.slots = calloc((size_t)m.nslots, sizeof(*m.slots));
    int r = m.board == NULL || m.slots == NULL
                ? CEL_ENOMEM
                : cel__ops_init(&m.board->ops, cfg);
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "%s",
                r == CEL_ENOMEM ? "out of memory for the children's board"
                                : "bad --rate-limit or -Q (see workerd -h)");
        cel__board_free(m.board);
        free(m.slots);
        return 1;
    }
    if (cfg->concurrency > MANY_CHILDREN) {
        CEL_LOG(CEL_LOG_WARN,
                "-c %d: each child holds its own broker connection, a file "
                "descriptor on the broker; a RabbitMQ node with the common "
                "limit of 1024 descriptors takes about %d connections in all "
                "(raise its ulimit -n, or run fewer children)",
                cfg->concurrency, MANY_CHILDREN + 300);
    }
    for (int i = 0; i < cfg->concurrency; i++) {
        spawn(&m, i);
    }
    spawn_control(&m);
    cel_url_list_redact(cfg->broker_url, m.where, sizeof(m.where));
    master_loop(&m, &set);
    CEL_LOG(CEL_LOG_WARN, "%s %s", cfg->hostname,
            m.restart ? "stopped; restarting" : "stopped");
    *restart = m.restart;
    cel__board_free(m.board);
    free(m.slots);
    return 0;
}
