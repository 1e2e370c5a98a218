/* example_tasks.c: the tasks of the course notes the project grew from,
 * in C, built as build/lib/libexample_tasks.so for `workerd -A`. */
#include <cel/task.h>

#include "kernels.h"
#include "tasks.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

CEL_TASK_IMPL(fun, int64_t x)
{
    (void)ctx;
    return json_pack("[IIi]", (json_int_t)x, (json_int_t)(x * x),
                     (int)getpid());
}

CEL_TASK_IMPL(add, int64_t x, int64_t y)
{
    int64_t sum;

    if (__builtin_add_overflow(x, y, &sum)) {
        return cel_task_fail(ctx, "OverflowError",
                             "add(%lld, %lld) does not fit in 64 bits",
                             (long long)x, (long long)y);
    }
    return json_integer(sum);
}

CEL_TASK_IMPL(sum_all_values, int64_t x)
{
    (void)ctx;
    return json_integer(kernel_sum_all_values(x));
}

/* Sleeps as Python's time.sleep does, refusing what it refuses; false
 * when the task has failed for it. */
static bool
nap(cel_task_ctx_t *ctx, double nsecs)
{
    int r = cel_task_sleep(nsecs);

    if (r == CEL_ERANGE) {
        cel_task_fail(ctx, "OverflowError", "sleep length is too large: %g",
                      nsecs);
    } else if (r == CEL_EINVAL) {
        cel_task_fail(ctx, "ValueError", "sleep length must be non-negative");
    }
    return r != CEL_ERANGE && r != CEL_EINVAL;
}

CEL_TASK_IMPL(slow_sum, double nsecs, int64_t x, int64_t y)
{
    return nap(ctx, nsecs) ? json_integer(x + y) : NULL;
}

CEL_TASK_IMPL(slow_diff, double nsecs, int64_t x, int64_t y)
{
    return nap(ctx, nsecs) ? json_integer(x - y) : NULL;
}

CEL_TASK_IMPL(broken_function, double nsecs)
{
    if (!nap(ctx, nsecs)) {
        return NULL;
    }
    return cel_task_fail(ctx, "ValueError", "Called broken function");
}

CEL_TASK_IMPL(count_primes, int64_t from, int64_t to)
{
    (void)ctx;
    return json_integer(kernel_count_primes(from, to));
}

/* The notes' count(): ten million increments, then i * number. */
CEL_TASK_IMPL(count, int64_t number)
{
    volatile int64_t i = 0; /* volatile: keep the loop, it is the work */

    (void)ctx;
    for (int64_t k = 0; k < 10000000; k++) {
        i = k + 1;
    }
    return json_integer(i * number);
}

CEL_TASK_IMPL(echo, const json_t *value)
{
    (void)ctx;
    return json_deep_copy(value);
}

CEL_TASK_IMPL(crash)
{
    (void)ctx;
    raise(SIGKILL);
    return NULL;
}

/* Crashes the first time (creating marker), succeeds after: a task that
 * only --reject-on-worker-lost can finish. */
CEL_TASK_IMPL(crash_once, const char *marker)
{
    (void)ctx;
    if (access(marker, F_OK) != 0) {
        FILE *f = fopen(marker, "w");
        if (f != NULL) {
            fclose(f);
        }
        raise(SIGKILL);
    }
    return json_string("survived");
}

/* Asks for a retry until it has been retried `fails` times, backing off
 * 0.05 s, 0.1 s, 0.2 s...; returns the retry count it got to. */
CEL_TASK_IMPL(flaky, int64_t fails, int64_t max_retries)
{
    if (cel_task_retries(ctx) < fails) {
        return cel_task_retry(ctx, cel_task_backoff(ctx, 0.05, 1.0),
                              (int)max_retries, "ConnectionError",
                              "flaky: attempt %lld failed",
                              (long long)cel_task_retries(ctx) + 1);
    }
    return json_integer(cel_task_retries(ctx));
}

/* Sleeps, but stops and cleans up at the soft time limit. */
CEL_TASK_IMPL(sleepy, double nsecs)
{
    if (!nap(ctx, nsecs)) {
        return NULL;
    }
    if (cel_task_soft_limit_hit(ctx)) {
        return cel_task_fail(ctx, "billiard.exceptions.SoftTimeLimitExceeded",
                             "sleepy stopped early and cleaned up");
    }
    return json_real(nsecs);
}

/* Takes mib MiB and keeps it (so the child's RSS stays up), for
 * --max-memory-per-child. */
CEL_TASK_IMPL(hog, int64_t mib)
{
    static char *volatile kept; /* volatile: the memory must really be kept */
    size_t n = (size_t)mib << 20;

    (void)ctx;
    kept = malloc(n);
    if (kept != NULL) {
        memset(kept, 1, n);
    }
    return json_integer((json_int_t)getpid());
}

static json_t *
nullable(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Its own request, as a Python task reads self.request, with the value it
 * was given (a chain's previous result). */
CEL_TASK_IMPL(whoami, const json_t *value)
{
    cel_delivery_info_t di;

    cel_task_delivery_info(ctx, &di);
    return json_pack(
        "{s:O, s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:s, s:{s:s, s:s, s:i, "
        "s:b}}",
        "value", value, "id", cel_task_id(ctx), "root_id",
        nullable(cel_task_root_id(ctx)), "parent_id",
        nullable(cel_task_parent_id(ctx)), "group",
        nullable(cel_task_group(ctx)), "retries",
        (json_int_t)cel_task_retries(ctx), "eta", nullable(cel_task_eta(ctx)),
        "reply_to", nullable(cel_task_reply_to(ctx)), "hostname",
        cel_task_hostname(ctx), "delivery_info", "exchange", di.exchange,
        "routing_key", di.routing_key, "priority", di.priority, "redelivered",
        di.redelivered);
}

/* Fails as Python's raise ExpectedException('Task expected to fail',
 * 'test') does: two args. */
CEL_TASK_IMPL(expected_failure)
{
    json_t *args = json_pack("[ss]", "Task expected to fail", "test");

    cel_task_fail_args(ctx, "tasks.ExpectedException", args);
    json_decref(args);
    return NULL;
}

int cel_module_init(cel_registry_t *reg);

int
cel_module_init(cel_registry_t *reg)
{
    static const struct {
        const char *name;
        cel_task_fn fn;
    } tasks[] = {
        {"fun", fun_task},
        {"add", add_task},
        {"sum_all_values", sum_all_values_task},
        {"slow_sum", slow_sum_task},
        {"slow_diff", slow_diff_task},
        {"broken_function", broken_function_task},
        {"count_primes", count_primes_task},
        {"count", count_task},
        {"echo", echo_task},
        {"crash", crash_task},
        {"crash_once", crash_once_task},
        {"flaky", flaky_task},
        {"sleepy", sleepy_task},
        {"hog", hog_task},
        {"whoami", whoami_task},
        {"expected_failure", expected_failure_task},
    };
    for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++) {
        int r = cel_registry_add(reg, tasks[i].name, tasks[i].fn);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}
