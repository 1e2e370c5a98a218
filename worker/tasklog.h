/* tasklog.h: the values in a child's task lines, written as Celery's
 * worker writes them (celery/app/trace.py), so that
 *   Task add[ID] succeeded in 0.000312s: 5
 *   Task add[ID] raised unexpected: ValueError('boom')
 * read the same from workerd and from Celery. Each function fills out and
 * returns it, so that it can stand as an argument of CEL_LOG. */
#ifndef CEL_WORKER_TASKLOG_H
#define CEL_WORKER_TASKLOG_H

#include <stddef.h>

#include <jansson.h>

/* Room for a result's repr: Celery cuts it at 1024 characters
 * (Task.resultrepr_maxsize), then "..." and the terminating NUL. */
#define CEL_TASKLOG_REPR_SIZE (1024 + 4)

/* cel__tasklog_runtime writes secs as Python's str() writes a float
 * ("0.000312", "2.0", "5e-06"), as in Celery's "succeeded in %ss". */
const char *cel__tasklog_runtime(double secs, char *out, size_t size);

/* cel__tasklog_value writes the Python repr() of a task's value, cut to
 * size - 1 bytes with "..." (size CEL_TASKLOG_REPR_SIZE cuts where
 * Celery's saferepr does). */
const char *cel__tasklog_value(const json_t *value, char *out, size_t size);

/* cel__tasklog_exc writes the Python repr() of the exception a task
 * raised: its class name (type without its module) and its args, e.g.
 * "ValueError('boom')" or "ExpectedException('Task expected to fail',
 * 'test')". args is the exception's args, or NULL for (message,). */
const char *cel__tasklog_exc(const char *type, const json_t *args,
                             const char *message, char *out, size_t size);

#endif
