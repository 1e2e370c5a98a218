/* guard.c: what a task may have done to its own process, so that it costs
 * that task alone. Nothing here costs a system call per task.
 *
 * - A task that forks without exec returns twice. The copy is not this
 *   child (a fork handler marks it): it leaves at once (_exit) when the
 *   task returns, before it can read or write the child's broker
 *   connection, and the child reaps it.
 * - A task that closes (or replaces) the descriptor of the child's broker
 *   connection leaves the child unable to report or ack: the next read or
 *   write fails. On every broker error the child checks its descriptor is
 *   still the socket it opened; if not, it marks the last task as running
 *   again in its board slot and exits, so the master records that task as
 *   lost (WorkerLostError, not run again) and starts a new child, as for a
 *   task that killed its child.
 * - Processes a task started and left are reaped when they end. */
#include "child.h"

#include <cel/log.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_BROKEN_FD 70 /* the task took the connection's descriptor */

static volatile sig_atomic_t child_ended;
static bool forked_copy; /* set in a process the task forked */
static int sock_fd = -1; /* the connection's descriptor, for on_fork */

/* In a fork the task made: it must not keep the connection open (the
 * broker would see no close while it lives, and hold the child's tasks
 * unacked), so its copy of the descriptor goes at once. */
static void
on_fork(void)
{
    forked_copy = true;
    if (sock_fd >= 0) {
        close(sock_fd);
    }
}

static void
on_child(int sig)
{
    (void)sig;
    child_ended = 1;
}

void
cel__guard_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    pthread_atfork(NULL, NULL, on_fork);
}

void
cel__guard_connected(cel_child_t *c)
{
    struct stat st;
    int fd = cel_broker_fd(c->broker);

    c->sock_fd = fd;
    sock_fd = fd;
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

bool
cel__guard_intact(const cel_child_t *c)
{
    return connection_intact(c);
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
cel__guard_check(void)
{
    if (forked_copy) {
        _exit(0); /* a fork the task made, returning from it */
    }
    reap_leftovers();
}

void
cel__guard_broken(cel_child_t *c)
{
    /* rabbitmq-c closes the socket itself on a missed heartbeat: the
     * descriptor is then no longer the connection's, and no task is to
     * blame. */
    if (c->sock_fd < 0 || c->broker == NULL ||
        cel_broker_socket_fd(c->broker) != c->sock_fd || connection_intact(c)) {
        return;
    }
    cel_slot_state_t *s = &c->board->slots[c->slot];
    CEL_LOG(CEL_LOG_ERROR,
            "the broker connection's descriptor (%d) is no longer its "
            "socket: task %s[%s] closed it; the child exits and the task "
            "is reported lost",
            c->sock_fd, s->task_name, s->task_id);
    cel__board_leave(c->board, c->slot,
                     "(the task closed its broker connection)");
    cel__board_resume(c->board, c->slot);
    _exit(EXIT_BROKEN_FD);
}
