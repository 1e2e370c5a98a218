/* task_args.c: argument checking with Python's rules and Python's words,
 * so a caller that passes the wrong arguments sees the TypeError it would
 * see from a Python task. */
#include "task_ctx.h"

#include <stdio.h>
#include <string.h>

static const char *
type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "dict";
    case JSON_ARRAY: return "list";
    case JSON_STRING: return "str";
    case JSON_INTEGER: return "int";
    case JSON_REAL: return "float";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_NULL: return "NoneType";
    }
    return "object";
}

static int
missing(cel_task_ctx_t *ctx, size_t nparams, const char *const *names,
        const json_t *args, const json_t *kwargs)
{
    char list[512] = "";
    size_t count = 0, len = 0;

    for (size_t i = json_array_size(args); i < nparams; i++) {
        if (json_object_get(kwargs, names[i]) == NULL) {
            int n = snprintf(list + len, sizeof(list) - len, "%s'%s'",
                             count ? ", " : "", names[i]);
            len += n > 0 && (size_t)n < sizeof(list) - len ? (size_t)n : 0;
            count++;
        }
    }
    if (count == 0) {
        return 0;
    }
    cel_task_fail(ctx, "TypeError",
                  "%s() missing %zu required positional argument%s: %s",
                  ctx->name, count, count > 1 ? "s" : "", list);
    return CEL_EARGS;
}

static int
check_kwargs(cel_task_ctx_t *ctx, size_t nparams, const char *const *names,
             const json_t *args, const json_t *kwargs)
{
    const char *key;
    json_t *v;

    json_object_foreach ((json_t *)kwargs, key, v) {
        size_t i = 0;
        while (i < nparams && strcmp(names[i], key) != 0) {
            i++;
        }
        if (i == nparams) {
            cel_task_fail(ctx, "TypeError",
                          "%s() got an unexpected keyword argument '%s'",
                          ctx->name, key);
            return CEL_EARGS;
        }
        if (i < json_array_size(args)) {
            cel_task_fail(ctx, "TypeError",
                          "%s() got multiple values for argument '%s'",
                          ctx->name, key);
            return CEL_EARGS;
        }
    }
    return 0;
}

int
cel_args_check(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs,
               size_t nparams, const char *const *names)
{
    size_t given = json_array_size(args);

    if (given > nparams) {
        cel_task_fail(ctx, "TypeError",
                      "%s() takes %zu positional argument%s but %zu %s given",
                      ctx->name, nparams, nparams == 1 ? "" : "s", given,
                      given == 1 ? "was" : "were");
        return CEL_EARGS;
    }
    if (check_kwargs(ctx, nparams, names, args, kwargs) != 0) {
        return CEL_EARGS;
    }
    return missing(ctx, nparams, names, args, kwargs);
}

static const json_t *
lookup(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs,
       size_t pos, const char *name)
{
    const json_t *v = json_array_get(args, pos);

    if (v == NULL && name != NULL) {
        v = json_object_get(kwargs, name);
    }
    if (v == NULL) {
        cel_task_fail(ctx, "TypeError",
                      "%s() missing required argument '%s' (pos %zu)",
                      ctx->name, name ? name : "?", pos + 1);
    }
    return v;
}

static int
wrong_type(cel_task_ctx_t *ctx, const char *name, const char *want,
           const json_t *v)
{
    cel_task_fail(ctx, "TypeError", "%s() argument '%s' must be %s, not %s",
                  ctx->name, name ? name : "?", want, type_name(v));
    return CEL_EARGS;
}

/* The argument at pos/name if it has the JSON type `type` (any type when
 * type is -1), else NULL with TypeError set. */
static const json_t *
typed(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs, size_t pos,
      const char *name, int type, const char *want)
{
    const json_t *v = lookup(ctx, args, kwargs, pos, name);

    if (v == NULL) {
        return NULL;
    }
    bool ok = type < 0 || json_typeof(v) == (json_type)type ||
              (type == JSON_REAL && json_is_integer(v)) ||
              (type == JSON_TRUE && json_is_false(v));
    if (!ok) {
        wrong_type(ctx, name, want, v);
        return NULL;
    }
    return v;
}

int
cel_arg_int(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs,
            size_t pos, const char *name, int64_t *out)
{
    const json_t *v = typed(ctx, args, kwargs, pos, name, JSON_INTEGER, "int");

    *out = v ? (int64_t)json_integer_value(v) : 0;
    return v ? 0 : CEL_EARGS;
}

int
cel_arg_real(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs,
             size_t pos, const char *name, double *out)
{
    /* Python would take an int where a float is wanted; so do we. */
    const json_t *v =
        typed(ctx, args, kwargs, pos, name, JSON_REAL, "a real number");

    *out = v ? json_number_value(v) : 0;
    return v ? 0 : CEL_EARGS;
}

int
cel_arg_str(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs,
            size_t pos, const char *name, const char **out)
{
    const json_t *v = typed(ctx, args, kwargs, pos, name, JSON_STRING, "str");

    *out = v ? json_string_value(v) : NULL;
    return v ? 0 : CEL_EARGS;
}

int
cel_arg_bool(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs,
             size_t pos, const char *name, bool *out)
{
    const json_t *v = typed(ctx, args, kwargs, pos, name, JSON_TRUE, "bool");

    *out = v ? json_is_true(v) : false;
    return v ? 0 : CEL_EARGS;
}

int
cel_arg_json(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs,
             size_t pos, const char *name, const json_t **out)
{
    *out = typed(ctx, args, kwargs, pos, name, -1, "any");
    return *out ? 0 : CEL_EARGS;
}
