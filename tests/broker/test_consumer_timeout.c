/* A task that runs longer than the broker's consumer_timeout (30 min by
 * default; a few seconds here) under acks-late: the broker closes the
 * channel and requeues the task. The child's watcher reads the close
 * while the task runs (its consumers are stopped by then, so nothing else
 * comes), the child logs a line that names consumer_timeout, publishes
 * the result on the reopened channel and serves the next task. The
 * caller gets the value of the first run.
 *
 * RabbitMQ 3.10 checks the timeout about once a minute, so the task runs
 * 90 s; the setting is the whole node's, so this test runs alone and the
 * checks run in a child process: whatever becomes of them, the parent
 * puts the setting back. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define TASK_S 90.0

static void
set_timeout(const char *erlang)
{
    CHECK_EQ_INT(test_broker_ctl("eval '%s'", erlang), 0);
}

static void
checks(void)
{
    static const char *const opts[] = {"-l", "info", NULL};
    test_worker_t w;

    set_timeout("application:set_env(rabbit, consumer_timeout, 2000).");
    test_worker_open(&w, "ctimeout", 1, true, opts);
    test_expect_int(slow_sum_delay(w.client, TASK_S, 1, 2), 3,
                    (int64_t)(TASK_S * 1000) + 60000);
    CHECK_EQ_INT(test_file_count(w.log, "consumer_timeout"), 1);
    /* The child goes on: the requeued copy runs again now, so a new
     * task waits for it; what matters is that the connection is the
     * first one and no error broke it. */
    CHECK_EQ_INT(test_file_count(w.log, "connected; consuming"), 1);
    CHECK_EQ_INT(test_file_count(w.log, ": ERROR/"), 0);
    CHECK_EQ_INT(test_file_count(w.log, ": CRITICAL/"), 0);
    cel_client_close(w.client);
    kill(w.pid, SIGKILL); /* not waiting for the second run */
    waitpid(w.pid, NULL, 0);
    unlink(w.log);
}

static void
restore(void)
{
    set_timeout("application:unset_env(rabbit, consumer_timeout).");
}

int
main(void)
{
    CHECK_EQ_INT(test_guarded(checks, restore), 0);
    puts("ok");
    return 0;
}
