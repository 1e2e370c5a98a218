/* pidfile.h: --pidfile, as Celery's worker keeps one: the master's pid
 * and a newline in a file that one live workerd holds at a time. */
#ifndef CEL_WORKER_PIDFILE_H
#define CEL_WORKER_PIDFILE_H

#include <sys/types.h>

#include <cel/error.h>

/* cel__pidfile_create writes pid to path, created exclusively. A file
 * there that names another live process (kill(pid, 0) succeeds) is left
 * alone and refused with CEL_EINVAL, its pid in err; one that names no
 * live process, or this very pid (a warm restart), is stale and replaced.
 * Returns 0, or 1 when it replaced a stale file of another pid; else
 * CEL_EINVAL (held) or CEL_ESYS (a call failed), the reason in err. */
CEL_NODISCARD int cel__pidfile_create(const char *path, pid_t pid,
                                      cel_error_t *err);

/* cel__pidfile_remove removes path if it still names pid, so that a file
 * another workerd has taken over since is never removed. */
void cel__pidfile_remove(const char *path, pid_t pid);

#endif
