/* task_api.c: the calls a task makes while it runs: failing with a Python
 * exception, reading its identity, sleeping. */
#include "task_ctx.h"

#include <cel/clock.h>

#include <math.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exception names that live in Python's builtins, so a Python caller gets
 * the real class back (e.g. `except ValueError`). */
static const char *const builtin_excs[] = {
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BufferError",
    "EOFError",
    "Exception",
    "FloatingPointError",
    "ImportError",
    "IndexError",
    "KeyError",
    "LookupError",
    "MemoryError",
    "NameError",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "RecursionError",
    "RuntimeError",
    "TimeoutError",
    "TypeError",
    "UnicodeError",
    "ValueError",
    "ZeroDivisionError",
    "ConnectionError",
    "PermissionError",
    "FileNotFoundError",
};

static void
set_exc_names(cel_task_ctx_t *ctx, const char *exc_type)
{
    const char *dot = strrchr(exc_type, '.');

    if (dot != NULL) {
        snprintf(ctx->exc_module, sizeof(ctx->exc_module), "%.*s",
                 (int)(dot - exc_type), exc_type);
        snprintf(ctx->exc_type, sizeof(ctx->exc_type), "%s", dot + 1);
        return;
    }
    snprintf(ctx->exc_type, sizeof(ctx->exc_type), "%s", exc_type);
    strcpy(ctx->exc_module, "celeriac.exceptions");
    for (size_t i = 0; i < sizeof(builtin_excs) / sizeof(*builtin_excs); i++) {
        if (strcmp(exc_type, builtin_excs[i]) == 0) {
            strcpy(ctx->exc_module, "builtins");
        }
    }
}

json_t *
cel_task_fail(cel_task_ctx_t *ctx, const char *exc_type, const char *fmt, ...)
{
    va_list ap;

    if (ctx->failed) {
        return NULL; /* the first failure is the one that counts */
    }
    ctx->failed = true;
    set_exc_names(ctx, exc_type && exc_type[0] ? exc_type : "RuntimeError");
    va_start(ap, fmt);
    vsnprintf(ctx->exc_message, sizeof(ctx->exc_message), fmt, ap);
    va_end(ap);
    return NULL;
}

json_t *
cel_task_fail_args(cel_task_ctx_t *ctx, const char *exc_type,
                   const json_t *args)
{
    const char *first = json_string_value(json_array_get(args, 0));
    char *text = NULL;

    if (ctx->failed) {
        return NULL;
    }
    if (!json_is_array(args)) {
        return cel_task_fail(ctx, "TypeError",
                             "cel_task_fail_args wants a list of args");
    }
    /* The log and the traceback show the first string, or the list. */
    text = first == NULL ? cel_json_dump(args, NULL) : NULL;
    cel_task_fail(ctx, exc_type, "%s", first ? first : text ? text : "");
    free(text);
    ctx->exc_args = json_deep_copy(args);
    return NULL;
}

const char *
cel_task_id(const cel_task_ctx_t *ctx)
{
    return ctx->id;
}

const char *
cel_task_name(const cel_task_ctx_t *ctx)
{
    return ctx->name;
}

int64_t
cel_task_retries(const cel_task_ctx_t *ctx)
{
    return ctx->retries;
}

const char *
cel_task_hostname(const cel_task_ctx_t *ctx)
{
    return ctx->hostname;
}

volatile sig_atomic_t cel__soft_limit_hit = 0;

int
cel_task_sleep(double seconds)
{
    if (isnan(seconds) || seconds < 0) {
        return CEL_EINVAL;
    }
    if (seconds > CEL_TASK_SLEEP_MAX_S) {
        return CEL_ERANGE;
    }
    if (seconds == 0) {
        return cel__soft_limit_hit ? 1 : 0;
    }
    return cel_clock_sleep_ms((int64_t)(seconds * 1000.0 + 0.5),
                              (volatile int *)&cel__soft_limit_hit);
}

bool
cel_task_soft_limit_hit(const cel_task_ctx_t *ctx)
{
    (void)ctx; /* one task runs per child at a time */
    return cel__soft_limit_hit != 0;
}

json_t *
cel_task_retry(cel_task_ctx_t *ctx, double countdown, int max_retries,
               const char *exc_type, const char *fmt, ...)
{
    va_list ap;

    if (ctx->failed) {
        return NULL;
    }
    if (max_retries >= 0 && ctx->retries >= max_retries) {
        /* Out of retries: the task fails with what made it retry. */
        ctx->failed = true;
        set_exc_names(ctx, exc_type && exc_type[0] ? exc_type
                                                   : "celery.exceptions."
                                                     "MaxRetriesExceededError");
        va_start(ap, fmt);
        vsnprintf(ctx->exc_message, sizeof(ctx->exc_message), fmt, ap);
        va_end(ap);
        return NULL;
    }
    ctx->retry = true;
    ctx->retry_countdown = countdown > 0 ? countdown : 0;
    va_start(ap, fmt);
    vsnprintf(ctx->exc_message, sizeof(ctx->exc_message), fmt, ap);
    va_end(ap);
    return NULL;
}

double
cel_task_backoff(const cel_task_ctx_t *ctx, double base, double cap)
{
    double d = base;

    for (int64_t i = 0; i < ctx->retries && d < cap; i++) {
        d *= 2;
    }
    return d < cap ? d : cap;
}
