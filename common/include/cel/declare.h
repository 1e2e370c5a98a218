/* declare.h: a task declared once, in a header shared by the producer and
 * the worker, gives both sides C types the compiler checks:
 *
 *   // tasks.h
 *   #include <cel/declare.h>
 *   CEL_TASK2(add, int64_t, x, int64_t, y)
 *
 * Producer (include <cel/producer.h> before tasks.h):
 *   cel_result_t *r = add_delay(client, 2, 3);      // add("x"=2, "y"=3)
 *   add_delay(client, "2", 3);                      // compile error
 *   cel_sig_t *s = add_s(2, 3), *i = add_si(2, 3);  // add.s(2, 3), .si
 *   cel_sig_t *p = add_sp(3);       // add.s(3): x is the previous result
 *
 * Worker module (include <cel/task.h> before tasks.h), then write the body
 * with plain C parameters; arguments are checked and unpacked for you, and
 * a wrong count or type fails the task with TypeError:
 *   CEL_TASK_IMPL(add, int64_t x, int64_t y) { return json_integer(x + y); }
 *   ... cel_registry_add(reg, "add", add_task);
 *
 * Parameter types: int64_t, double, bool, const char *, const json_t *.
 * The task name on the wire is the C name.
 *
 * What the compiler checks in a producer: the stubs are plain C
 * functions, so the count of arguments is checked, and an argument of a
 * kind C will not convert (a string or pointer for a number, a number or
 * another pointer for a string or json_t *) is an error, under default
 * flags: this header makes -Wint-conversion and -Wincompatible-pointer-types
 * errors for the rest of the file, as GCC 14 does by default. A double
 * passed for an int64_t parameter is converted as C converts it (the
 * fraction is dropped); build with -Wfloat-conversion to hear of it.
 *
 * Include order: <cel/producer.h> or <cel/task.h> (or both) come first,
 * since they decide what this header makes; it stops the build with a
 * clear message otherwise. */
#ifndef CEL_DECLARE_H
#define CEL_DECLARE_H

#if !defined(CEL_PRODUCER_H) && !defined(CEL_TASK_H)
#error "include <cel/producer.h> or <cel/task.h> before your tasks header"
#endif
#ifdef CEL_PRODUCER_H
#define CEL__DECLARED_STUBS 1
#pragma GCC diagnostic error "-Wint-conversion"
#pragma GCC diagnostic error "-Wincompatible-pointer-types"
#endif
#ifdef CEL_TASK_H
#define CEL__DECLARED_WORKER 1
#endif

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

static inline json_t *
cel__j_int(int64_t v)
{
    return json_integer(v);
}
static inline json_t *
cel__j_real(double v)
{
    return json_real(v);
}
static inline json_t *
cel__j_bool(bool v)
{
    return v ? json_true() : json_false();
}
static inline json_t *
cel__j_str(const char *v)
{
    return json_string(v);
}
static inline json_t *
cel__j_json(const json_t *v)
{
    return json_deep_copy(v);
}

/* cel_json_of(x): a new JSON reference for a C value of a supported type. */
#define cel_json_of(x)                                                         \
    _Generic((x), int64_t: cel__j_int, int: cel__j_int, double: cel__j_real, \
             bool: cel__j_bool, char *: cel__j_str, const char *: cel__j_str, \
             json_t *: cel__j_json, const json_t *: cel__j_json)(x)

#define cel__arg_get(ctx, a, k, pos, name, ptr)                                \
    _Generic((ptr), int64_t *: cel_arg_int, double *: cel_arg_real,          \
             bool *: cel_arg_bool, const char **: cel_arg_str,               \
             const json_t **: cel_arg_json)(ctx, a, k, pos, name, ptr)

/* Producer stubs: name_delay(client, args...) sends the task and returns
 * its AsyncResult, or NULL (see cel_client_error);
 * name_apply_async(client, opts, args...) does the same with options
 * (callbacks, countdown, queue...). */
#ifdef CEL_PRODUCER_H
#define CEL__STUB(name, params, aparams, ...)                                  \
    static inline cel_result_t *name##_apply_async aparams                     \
    {                                                                          \
        json_t *items_[] = {__VA_ARGS__};                                      \
        return cel__send_built(client_, #name, opts_, items_,                  \
                               sizeof(items_) / sizeof(*items_));              \
    }                                                                          \
    static inline cel_result_t *name##_delay params                            \
    {                                                                          \
        json_t *items_[] = {__VA_ARGS__};                                      \
        return cel__send_built(client_, #name, NULL, items_,                   \
                               sizeof(items_) / sizeof(*items_));              \
    }
#define CEL__STUB0(name)                                                       \
    static inline cel_result_t *name##_apply_async(cel_client_t *client_,      \
                                                   const cel_opts_t *opts_)    \
    {                                                                          \
        return cel__send_built(client_, #name, opts_, NULL, 0);                \
    }                                                                          \
    static inline cel_result_t *name##_delay(cel_client_t *client_)            \
    {                                                                          \
        return cel__send_built(client_, #name, NULL, NULL, 0);                 \
    }
/* Signatures (<cel/canvas.h>): name_s(args...) and name_si(args...) make
 * a signature with every argument, mutable and immutable; name_sp takes
 * all but the first, which the chain's previous step fills in (Celery's
 * add.s(4) in a chain). Each returns a new signature, or NULL. */
#define CEL__SIG(name, params, ...)                                            \
    static inline cel_sig_t *name##_s params                                   \
    {                                                                          \
        json_t *items_[] = {__VA_ARGS__};                                      \
        return cel__sig_built(#name, items_, sizeof(items_) / sizeof(*items_), \
                              false);                                          \
    }                                                                          \
    static inline cel_sig_t *name##_si params                                  \
    {                                                                          \
        json_t *items_[] = {__VA_ARGS__};                                      \
        return cel__sig_built(#name, items_, sizeof(items_) / sizeof(*items_), \
                              true);                                           \
    }
#define CEL__SIGP(name, params, ...)                                           \
    static inline cel_sig_t *name##_sp params                                  \
    {                                                                          \
        json_t *items_[] = {__VA_ARGS__};                                      \
        return cel__sig_built(#name, items_, sizeof(items_) / sizeof(*items_), \
                              false);                                          \
    }
#define CEL__SIG0(name)                                                        \
    static inline cel_sig_t *name##_s(void)                                    \
    {                                                                          \
        return cel__sig_built(#name, NULL, 0, false);                          \
    }                                                                          \
    static inline cel_sig_t *name##_si(void)                                   \
    {                                                                          \
        return cel__sig_built(#name, NULL, 0, true);                           \
    }
#define CEL__SIGP0(name)                                                       \
    static inline cel_sig_t *name##_sp(void)                                   \
    {                                                                          \
        return cel__sig_built(#name, NULL, 0, false);                          \
    }
#else
#define CEL__STUB(name, params, aparams, ...)
#define CEL__STUB0(name)
#define CEL__SIG(name, params, ...)
#define CEL__SIGP(name, params, ...)
#define CEL__SIG0(name)
#define CEL__SIGP0(name)
#endif

/* Worker side: name_task unpacks the JSON call and calls name_impl. */
#ifdef CEL_TASK_H
#define CEL__GET(pos, type, var)                                               \
    type var;                                                                  \
    if (cel__arg_get(ctx_, a_, k_, pos, #var, &var) != 0)                      \
        return NULL;
#define CEL__CHECK(n, ...)                                                     \
    static const char *const names_[] = {__VA_ARGS__};                         \
    if (cel_args_check(ctx_, a_, k_, n, names_) != 0)                          \
        return NULL;
/* CEL_TASK_IMPL(name, params...) starts the body of a declared task. */
#define CEL_TASK_IMPL(name, ...)                                               \
    static json_t *name##_impl(cel_task_ctx_t *ctx, ##__VA_ARGS__)
#define CEL__WORKER0(name)                                                     \
    static json_t *name##_impl(cel_task_ctx_t *ctx_);                          \
    __attribute__((unused)) static json_t *name##_task(                        \
        cel_task_ctx_t *ctx_, const json_t *a_, const json_t *k_)              \
    {                                                                          \
        if (cel_args_check(ctx_, a_, k_, 0, NULL) != 0)                        \
            return NULL;                                                       \
        return name##_impl(ctx_);                                              \
    }
#define CEL__WORKER1(name, T1, v1)                                             \
    static json_t *name##_impl(cel_task_ctx_t *ctx_, T1 v1);                   \
    __attribute__((unused)) static json_t *name##_task(                        \
        cel_task_ctx_t *ctx_, const json_t *a_, const json_t *k_)              \
    {                                                                          \
        CEL__CHECK(1, #v1)                                                     \
        CEL__GET(0, T1, v1)                                                    \
        return name##_impl(ctx_, v1);                                          \
    }
#define CEL__WORKER2(name, T1, v1, T2, v2)                                     \
    static json_t *name##_impl(cel_task_ctx_t *ctx_, T1 v1, T2 v2);            \
    __attribute__((unused)) static json_t *name##_task(                        \
        cel_task_ctx_t *ctx_, const json_t *a_, const json_t *k_)              \
    {                                                                          \
        CEL__CHECK(2, #v1, #v2)                                                \
        CEL__GET(0, T1, v1)                                                    \
        CEL__GET(1, T2, v2)                                                    \
        return name##_impl(ctx_, v1, v2);                                      \
    }
#define CEL__WORKER3(name, T1, v1, T2, v2, T3, v3)                             \
    static json_t *name##_impl(cel_task_ctx_t *ctx_, T1 v1, T2 v2, T3 v3);     \
    __attribute__((unused)) static json_t *name##_task(                        \
        cel_task_ctx_t *ctx_, const json_t *a_, const json_t *k_)              \
    {                                                                          \
        CEL__CHECK(3, #v1, #v2, #v3)                                           \
        CEL__GET(0, T1, v1)                                                    \
        CEL__GET(1, T2, v2)                                                    \
        CEL__GET(2, T3, v3)                                                    \
        return name##_impl(ctx_, v1, v2, v3);                                  \
    }
#else
#define CEL__WORKER0(name)
#define CEL__WORKER1(name, T1, v1)
#define CEL__WORKER2(name, T1, v1, T2, v2)
#define CEL__WORKER3(name, T1, v1, T2, v2, T3, v3)
#endif

#define CEL_TASK0(name)                                                        \
    CEL__STUB0(name)                                                           \
    CEL__SIG0(name)                                                            \
    CEL__WORKER0(name)
#define CEL_TASK1(name, T1, v1)                                                \
    CEL__STUB(name, (cel_client_t * client_, T1 v1),                           \
              (cel_client_t * client_, const cel_opts_t *opts_, T1 v1),        \
              cel_json_of(v1))                                                 \
    CEL__SIG(name, (T1 v1), cel_json_of(v1))                                   \
    CEL__SIGP0(name)                                                           \
    CEL__WORKER1(name, T1, v1)
#define CEL_TASK2(name, T1, v1, T2, v2)                                        \
    CEL__STUB(name, (cel_client_t * client_, T1 v1, T2 v2),                    \
              (cel_client_t * client_, const cel_opts_t *opts_, T1 v1, T2 v2), \
              cel_json_of(v1), cel_json_of(v2))                                \
    CEL__SIG(name, (T1 v1, T2 v2), cel_json_of(v1), cel_json_of(v2))           \
    CEL__SIGP(name, (T2 v2), cel_json_of(v2))                                  \
    CEL__WORKER2(name, T1, v1, T2, v2)
#define CEL_TASK3(name, T1, v1, T2, v2, T3, v3)                                \
    CEL__STUB(name, (cel_client_t * client_, T1 v1, T2 v2, T3 v3),             \
              (cel_client_t * client_, const cel_opts_t *opts_, T1 v1, T2 v2,  \
               T3 v3),                                                         \
              cel_json_of(v1), cel_json_of(v2), cel_json_of(v3))               \
    CEL__SIG(name, (T1 v1, T2 v2, T3 v3), cel_json_of(v1), cel_json_of(v2),    \
             cel_json_of(v3))                                                  \
    CEL__SIGP(name, (T2 v2, T3 v3), cel_json_of(v2), cel_json_of(v3))          \
    CEL__WORKER3(name, T1, v1, T2, v2, T3, v3)

#endif
