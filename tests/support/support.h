/* support.h: what the broker and worker tests share: the broker URL they
 * run against, unique names, and starting and stopping workerd. */
#ifndef CEL_TESTS_SUPPORT_H
#define CEL_TESTS_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/wait.h>

/* test_broker_url returns CELERIAC_BROKER_URL, else the private broker's
 * URL on CELERIAC_BROKER_PORT (default 5672). */
const char *test_broker_url(void);

/* test_unique_name writes "prefix-<uuid>" into out. */
void test_unique_name(const char *prefix, char *out, size_t size);

/* test_bin_path writes the path of build/bin/<name> (or build/lib/<name>
 * when lib is non-zero), found from CELERIAC_BUILD_DIR. */
void test_build_path(const char *sub, const char *name, char *out, size_t size);

/* test_workerd_start runs build/bin/workerd with the example tasks,
 * consuming queue with concurrency children, its log in log_path (if not
 * NULL). extra is NULL or a NULL-terminated list of more arguments. */
pid_t test_workerd_start(const char *queue, int concurrency,
                         const char *log_path, const char *const *extra);

/* test_workerd_stop sends sig to pid and waits up to timeout_ms for it to
 * exit; returns its exit status as from waitpid, or -1 on timeout (after
 * which it is killed). */
int test_workerd_stop(pid_t pid, int sig, int timeout_ms);

/* test_count_children returns how many live processes have parent ppid,
 * workerd's control process (named workerd-control) left out;
 * test_child_pids also stores up to max of their pids. */
int test_count_children(pid_t ppid);
int test_child_pids(pid_t ppid, pid_t *pids, int max);

/* test_file_count returns how many lines of the file at path contain
 * needle (0 when the file cannot be read). */
int test_file_count(const char *path, const char *needle);

/* test_broker_ctl runs `scripts/broker ctl ARGS` (ARGS printf-style,
 * output to /dev/null) on the suite's broker; returns system()'s status. */
int test_broker_ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* test_queue_info writes the broker's `list_queues name COLUMNS` line for
 * queue name into out ("" when the broker has no such queue). */
void test_queue_info(const char *name, const char *columns, char *out,
                     size_t size);

/* test_guarded runs checks in a child process, then cleanup in this one
 * whatever became of them (a failed CHECK aborts the child only), for
 * tests that change what others share: the broker's settings, network
 * namespaces, extra nodes. Returns 0 when the checks passed. */
int test_guarded(void (*checks)(void), void (*cleanup)(void));

#endif
