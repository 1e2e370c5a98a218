/* guard.c: what a task may have done to its own process, checked after
 * each task, so that it costs that task alone.
 *
 * - A task that forks without exec returns twice. The copy is not this
 *   child: it leaves at once (_exit), before it can read or write the
 *   child's broker connection, and the child reaps it.
 * - A task that closes (or replaces) the descriptor of the child's broker
 *   connection leaves the child unable to report or ack. The child then
 *   exits with the task still marked in its board slot, so the master
 *   records the task as lost (WorkerLostError, not run again) and starts a
 *   new child, as for a task that killed its child.
 * - Processes a task started and left are reaped when they end. */
#include "child.h"

#include <cel/log.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_BROKEN_FD 70 /* the task took the connection's descriptor */

static volatile sig_atomic_t child_ended;

static void
on_child(int sig)
{
    (void)sig;
    child_ended = 1;
}

void
cel__guard_init(cel_child_t *c)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    c->pid = getpid();
}

void
cel__guard_connected(cel_child_t *c)
{
    struct stat st;
    int fd = cel_broker_fd(c->broker);

    c->sock_fd = fd;
    c->sock_ino = fd >= 0 && fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static bool
connection_intact(const cel_child_t *c)
{
    struct stat st;

    return c->sock_fd < 0 ||
           (fstat(c->sock_fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
            (uint64_t)st.st_ino == c->sock_ino);
}

static void
reap_leftovers(void)
{
    if (!child_ended) {
        return;
    }
    child_ended = 0;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

void
cel__guard_check(cel_child_t *c, const cel_task_msg_t *m)
{
    if (getpid() != c->pid) {
        _exit(0); /* a fork the task made, returning from it */
    }
    reap_leftovers();
    if (connection_intact(c)) {
        return;
    }
    CEL_LOG(CEL_LOG_ERROR,
            "Task %s[%s] closed this child's broker connection "
            "(descriptor %d); the child exits and the task is reported lost",
            m->task, m->id, c->sock_fd);
    cel__board_leave(c->board, c->slot,
                     "(the task closed its broker connection)");
    _exit(EXIT_BROKEN_FD);
}
