/* tasks.c: a task module of a project of its own, built against an
 * installed celeriac (see README.md, "Use it from your own project").
 * mul(x, y) and hypot(x, y); hypot comes from libm, which the module
 * links itself: workerd resolves only the cel_* calls. */
#include <cel/task.h>

#include <math.h>

static const char *const params[] = {"x", "y"};

static json_t *
mul(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
{
    int64_t x, y;

    if (cel_args_check(ctx, args, kwargs, 2, params) != 0 ||
        cel_arg_int(ctx, args, kwargs, 0, "x", &x) != 0 ||
        cel_arg_int(ctx, args, kwargs, 1, "y", &y) != 0) {
        return NULL; /* the task has failed with TypeError */
    }
    return json_integer(x * y);
}

static json_t *
hyp(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
{
    double x, y;

    if (cel_args_check(ctx, args, kwargs, 2, params) != 0 ||
        cel_arg_real(ctx, args, kwargs, 0, "x", &x) != 0 ||
        cel_arg_real(ctx, args, kwargs, 1, "y", &y) != 0) {
        return NULL;
    }
    return json_real(hypot(x, y));
}

int cel_module_init(cel_registry_t *reg);

int
cel_module_init(cel_registry_t *reg)
{
    int r = cel_registry_add(reg, "mul", mul);
    return r != 0 ? r : cel_registry_add(reg, "hypot", hyp);
}
