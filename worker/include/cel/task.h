/* task.h: what a task module includes. A task is a C function that gets
 * its positional and keyword arguments as JSON and returns a JSON result,
 * or fails with an exception type and message that Celery understands:
 *
 *   static json_t *
 *   add(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
 *   {
 *       static const char *const params[] = {"x", "y"};
 *       int64_t x, y;
 *       if (cel_args_check(ctx, args, kwargs, 2, params) ||
 *           cel_arg_int(ctx, args, kwargs, 0, "x", &x) ||
 *           cel_arg_int(ctx, args, kwargs, 1, "y", &y))
 *           return NULL;                  // TypeError already set
 *       return json_integer(x + y);
 *   }
 *
 *   int cel_module_init(cel_registry_t *reg)
 *   {
 *       return cel_registry_add(reg, "add", add);
 *   }
 *
 * The module is a shared object loaded by `workerd -A module.so`; workerd
 * calls its cel_module_init once, before forking its children. For typed
 * tasks declared once for producer and worker, see <cel/declare.h>. */
#ifndef CEL_TASK_H
#define CEL_TASK_H

/* <cel/declare.h> makes the argument unpacking only when this header came
 * first. */
#if defined(CEL_DECLARE_H) && !defined(CEL__DECLARED_WORKER)
#error "include <cel/task.h> before your tasks header (no CEL_TASK_IMPL)"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <cel/error.h>
#include <cel/request.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cel_task_ctx cel_task_ctx_t;
typedef struct cel_registry cel_registry_t;

/* A task. args is a JSON array and kwargs a JSON object, both borrowed.
 * Return a new reference to the result, or NULL after cel_task_fail. */
typedef json_t *(*cel_task_fn)(cel_task_ctx_t *ctx, const json_t *args,
                               const json_t *kwargs);

/* The entry point every task module exports. Returns 0, or non-zero to make
 * workerd refuse to start. It runs once per start (again after a SIGHUP
 * warm restart, which starts workerd afresh), in the workerd master, before the
 * children are forked: it must not start threads, open connections or
 * take locks a child would inherit held (a child gets a copy of memory
 * and descriptors, not of threads). Open such things lazily, in the task,
 * once per child. */
typedef int (*cel_module_init_fn)(cel_registry_t *reg);
#define CEL_MODULE_INIT_SYMBOL "cel_module_init"

/* cel_registry_add registers fn under name (copied). Returns 0, or
 * CEL_EINVAL for an empty or duplicate name. */
CEL_NODISCARD int cel_registry_add(cel_registry_t *reg, const char *name,
                                   cel_task_fn fn);

/* cel_task_fail records that the task raised exc_type (a Python exception
 * name such as "ValueError") with a formatted message, and returns NULL so
 * a task can `return cel_task_fail(...)`. Builtin Python names get module
 * "builtins"; a dotted name "pkg.mod.Type" gives module "pkg.mod". */
json_t *cel_task_fail(cel_task_ctx_t *ctx, const char *exc_type,
                      const char *fmt, ...) CEL_PRINTF(3, 4);

/* cel_task_fail_args is cel_task_fail with the exception's args given as
 * a JSON array (borrowed, copied), as Python's raise Exc('a', 'b') sends
 * them: a Python caller sees the same e.args. Returns NULL. */
json_t *cel_task_fail_args(cel_task_ctx_t *ctx, const char *exc_type,
                           const json_t *args);

/* The running task's id, registered name, retry count and worker node name
 * ("celery@host"); valid during the call. */
const char *cel_task_id(const cel_task_ctx_t *ctx);
const char *cel_task_name(const cel_task_ctx_t *ctx);
int64_t cel_task_retries(const cel_task_ctx_t *ctx);
const char *cel_task_hostname(const cel_task_ctx_t *ctx);

/* cel_task_sleep sleeps seconds (fractions allowed), resuming after
 * signals, so a warm shutdown never cuts a task's sleep short. Returns 0;
 * 1 (not an error) when the task's soft time limit cut it short;
 * CEL_EINVAL, without sleeping, for a negative or NaN duration; CEL_ERANGE
 * for one over CEL_TASK_SLEEP_MAX_S, which is Python's bound too (its
 * time.sleep raises OverflowError past 2**63 nanoseconds). */
#define CEL_TASK_SLEEP_MAX_S 9223372036.0
int cel_task_sleep(double seconds);

/* cel_task_soft_limit_hit is true once the task has run past its soft
 * time limit (the message's, else workerd's --soft-time-limit): the task
 * should clean up and return, e.g. with
 * cel_task_fail(ctx, "SoftTimeLimitExceeded", ...). A task that returns
 * nothing after the soft limit fails with SoftTimeLimitExceeded. Past the
 * hard limit the child is killed and the task fails with
 * TimeLimitExceeded. */
bool cel_task_soft_limit_hit(const cel_task_ctx_t *ctx);

/* cel_task_retry asks for the task to run again in countdown seconds, as
 * Celery's self.retry(countdown=, max_retries=, exc=) does: the message is
 * sent again with the same id and retries + 1, and the caller sees RETRY
 * until a later run finishes. Once the task has been retried max_retries
 * times (-1: no limit), it fails instead, with exc_type and the message
 * (MaxRetriesExceededError when exc_type is NULL). Returns NULL, so a task
 * can `return cel_task_retry(...)`. */
json_t *cel_task_retry(cel_task_ctx_t *ctx, double countdown, int max_retries,
                       const char *exc_type, const char *fmt, ...)
    CEL_PRINTF(5, 6);

/* cel_task_backoff is an exponential countdown for cel_task_retry:
 * base * 2^retries seconds, at most cap (Celery's retry_backoff without
 * jitter). */
double cel_task_backoff(const cel_task_ctx_t *ctx, double base, double cap);

/* cel_args_check checks the call against a signature of nparams named
 * parameters, all required, as Python does: too many or too few positional
 * arguments, unknown keyword arguments and arguments given twice fail the
 * task with TypeError ("add() missing 1 required positional argument:
 * 'y'"). Returns 0, or CEL_EARGS once the task has failed. */
CEL_NODISCARD int cel_args_check(cel_task_ctx_t *ctx, const json_t *args,
                                 const json_t *kwargs, size_t nparams,
                                 const char *const *names);

/* cel_arg_* fetch parameter `name` at position pos (from args, else from
 * kwargs) with a type check: int wants a JSON integer; real accepts any
 * number; str a string (borrowed); bool true or false; json anything
 * (borrowed). A wrong type fails the task with TypeError. Returns 0, or
 * CEL_EARGS once the task has failed for it. */
CEL_NODISCARD int cel_arg_int(cel_task_ctx_t *ctx, const json_t *args,
                              const json_t *kwargs, size_t pos,
                              const char *name, int64_t *out);
CEL_NODISCARD int cel_arg_real(cel_task_ctx_t *ctx, const json_t *args,
                               const json_t *kwargs, size_t pos,
                               const char *name, double *out);
CEL_NODISCARD int cel_arg_str(cel_task_ctx_t *ctx, const json_t *args,
                              const json_t *kwargs, size_t pos,
                              const char *name, const char **out);
CEL_NODISCARD int cel_arg_bool(cel_task_ctx_t *ctx, const json_t *args,
                               const json_t *kwargs, size_t pos,
                               const char *name, bool *out);
CEL_NODISCARD int cel_arg_json(cel_task_ctx_t *ctx, const json_t *args,
                               const json_t *kwargs, size_t pos,
                               const char *name, const json_t **out);

#ifdef __cplusplus
}
#endif
#endif
