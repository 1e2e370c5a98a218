/* bad_tasks.c: tasks that do to their own process what a careless or
 * hostile task might (exit, close descriptors, fork, return too much, fail
 * with bytes that are not text), built as build/lib/libbad_tasks.so for the
 * tests that check one bad task costs that task alone. */
#include <cel/task.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* quit(code, now): exit(code), or _exit(code) when now is true. */
static json_t *
quit_task(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
{
    int64_t code = 0;
    bool now = false;

    (void)ctx;
    (void)kwargs;
    code = json_integer_value(json_array_get(args, 0));
    now = json_is_true(json_array_get(args, 1));
    if (now) {
        _exit((int)code);
    }
    exit((int)code);
}

/* close_fds(from, to): closes every descriptor in [from, to]. */
static json_t *
close_fds_task(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
{
    int64_t from = json_integer_value(json_array_get(args, 0));
    int64_t to = json_integer_value(json_array_get(args, 1));

    (void)ctx;
    (void)kwargs;
    for (int64_t fd = from; fd <= to; fd++) {
        close((int)fd);
    }
    return json_string("closed");
}

/* vanish(ms): closes every descriptor from 3 (the broker sees the child's
 * connection go), waits ms milliseconds, then _exit(2)s: a child that is
 * slow to die after its socket closed. */
static json_t *
vanish_task(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
{
    int64_t ms = json_integer_value(json_array_get(args, 0));
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    (void)ctx;
    (void)kwargs;
    for (int fd = 3; fd < 1024; fd++) {
        close(fd);
    }
    nanosleep(&ts, NULL);
    _exit(2);
}

/* forker(): forks without exec; both processes return from the task. */
static json_t *
forker_task(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
{
    (void)ctx;
    (void)args;
    (void)kwargs;
    pid_t pid = fork();
    return json_integer(pid < 0 ? -1 : (json_int_t)getpid());
}

/* big(bytes): a string of that many 'x'. */
static json_t *
big_task(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
{
    int64_t n = json_integer_value(json_array_get(args, 0));

    (void)kwargs;
    char *s = n > 0 ? malloc((size_t)n) : NULL;
    if (s == NULL) {
        return cel_task_fail(ctx, "MemoryError", "big(%lld)", (long long)n);
    }
    memset(s, 'x', (size_t)n);
    json_t *v = json_stringn_nocheck(s, (size_t)n);
    free(s);
    return v;
}

/* bad_text(): fails with a message that is not UTF-8. */
static json_t *
bad_text_task(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
{
    (void)args;
    (void)kwargs;
    return cel_task_fail(ctx, "ValueError", "bytes \xff\xfe\x1b[31m end");
}

int cel_module_init(cel_registry_t *reg);

int
cel_module_init(cel_registry_t *reg)
{
    static const struct {
        const char *name;
        cel_task_fn fn;
    } tasks[] = {
        {"quit", quit_task},         {"close_fds", close_fds_task},
        {"forker", forker_task},     {"big", big_task},
        {"bad_text", bad_text_task}, {"vanish", vanish_task},
    };
    for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++) {
        int r = cel_registry_add(reg, tasks[i].name, tasks[i].fn);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}
