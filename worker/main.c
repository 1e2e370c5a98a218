/* main.c: workerd's entry: settings, task modules, a login check, then
 * the supervisor. Exit codes: 0 after a shutdown, 1 on a start-up failure
 * (a module that will not load, a broker that refuses the login), 2 on
 * misuse.
 * After a warm restart (SIGHUP) it runs its own executable again with the
 * same arguments, so new task modules and a new binary are picked up. */
#include "config.h"
#include "modules.h"
#include "registry.h"
#include "supervisor.h"

#include <cel/broker.h>
#include <cel/log.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* Runs workerd again in this process, from the path it was started from
 * (so an executable installed there since is the one that runs); returns
 * only on failure. */
static int
restart(const char *exe, char **argv)
{
    fflush(NULL);
    execv(exe, argv);
    cel_log_errno(CEL_LOG_ERROR, errno, "cannot restart %s", exe);
    return 1;
}

/* The executable's path, read at start: /proc/self/exe names the file
 * this process runs, " (deleted)" once it was replaced. */
static void
own_path(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);

    out[n > 0 ? n : 0] = '\0';
    if (n <= 0) {
        snprintf(out, size, "/proc/self/exe");
    }
}

/* A login the broker refuses at start is refused for good: say so and
 * stop, instead of children retrying for ever under a service manager
 * that thinks all is well. A broker not up yet is no reason to stop: the
 * children keep trying, as after a lost connection. The connection is
 * closed before any child is forked. Returns 0 or CEL_EAUTH. */
static int
check_login(const cel_worker_config_t *cfg)
{
    cel_broker_opts_t opts = CEL_BROKER_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_broker_t *b = NULL;
    char name[300];

    snprintf(name, sizeof(name), "workerd %s (start)", cfg->hostname);
    opts.name = name;
    int r = cel_broker_open(cfg->broker_url, &opts, &b, &err);
    cel_broker_close(b);
    if (r == CEL_EAUTH) {
        CEL_LOG(CEL_LOG_ERROR, "%s; not starting", err.text);
        return r;
    }
    if (r != 0) {
        CEL_LOG(CEL_LOG_WARN, "%s; the children will keep trying", err.text);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    cel_worker_config_t cfg;
    cel_error_t err = CEL_ERROR_INIT;
    cel_registry_t reg;
    cel_modules_t mods;

    char exe[4096];

    own_path(exe, sizeof(exe));
    int r = cel__config_parse(argc, argv, &cfg, &err);
    if (r != 0) {
        cel__config_clear(&cfg);
        if (r == 1) {
            return 0;
        }
        fprintf(stderr, "workerd: %s\n%s\n", err.text, cel__usage_line());
        return CEL_EXIT_USAGE;
    }
    cel_log_set_level(cfg.loglevel);
    cel_log_set_role("main");
    cel__registry_init(&reg);
    r = cel__modules_load(&cfg, &reg, &mods, &err);
    if (r == 0 && reg.count == 0) {
        r = cel_error_set(&err, CEL_EINVAL,
                          "the task modules register no "
                          "tasks");
    }
    int code = 1;
    bool again = false;
    if (r != 0) {
        CEL_LOG(CEL_LOG_ERROR, "%s", err.text);
    } else if (check_login(&cfg) == 0) {
        code = cel__supervisor_run(&cfg, &reg, &again);
    }
    cel__registry_clear(&reg);
    cel__modules_unload(&mods);
    cel__config_clear(&cfg);
    return again ? restart(exe, argv) : code;
}
