/* main.c: workerd's entry: settings, the log file and the pid file, task
 * modules, a login check, the banner, then the supervisor. Exit codes: 0
 * after a shutdown, 1 on a start-up failure (a log file that will not
 * open, a pid file another workerd holds, a module that will not load, a
 * broker that refuses the login), 2 on misuse.
 * After a warm restart (SIGHUP) it runs its own executable again with the
 * same arguments, so new task modules and a new binary are picked up; the
 * pid stays, and so does the pid file. */
#include "banner.h"
#include "config.h"
#include "modules.h"
#include "pidfile.h"
#include "registry.h"
#include "supervisor.h"

#include <cel/broker.h>
#include <cel/log.h>

#include <errno.h>
#include <fcntl.h>
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
        CEL_LOG(CEL_LOG_CRITICAL, "%s; not starting", err.text);
        return r;
    }
    if (r != 0) {
        CEL_LOG(CEL_LOG_WARN, "%s; the children will keep trying", err.text);
    }
    return 0;
}

/* -f FILE: the log is appended to FILE; the children inherit the
 * descriptor. It is closed on exec, so a warm restart opens FILE again.
 * Returns the descriptor the log goes to, or -1. */
static int
open_log(const cel_worker_config_t *cfg)
{
    if (cfg->logfile == NULL) {
        return STDERR_FILENO;
    }
    int fd =
        open(cfg->logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        cel_log_errno(CEL_LOG_CRITICAL, errno, "cannot open the log file %s",
                      cfg->logfile);
        return -1;
    }
    cel_log_set_fd(fd);
    return fd;
}

/* --pidfile FILE: refused while another live workerd holds it. Returns 0
 * or the error. */
static int
take_pidfile(const cel_worker_config_t *cfg)
{
    cel_error_t err = CEL_ERROR_INIT;

    if (cfg->pidfile == NULL) {
        return 0;
    }
    int r = cel__pidfile_create(cfg->pidfile, getpid(), &err);
    if (r < 0) {
        CEL_LOG(CEL_LOG_CRITICAL, "%s; not starting", err.text);
        return r;
    }
    if (r == 1) {
        CEL_LOG(CEL_LOG_WARN, "Stale pidfile %s replaced", cfg->pidfile);
    }
    return 0;
}

/* Loads the task modules, checks the login, prints the banner and runs
 * the master: workerd's exit code. */
static int
serve(const cel_worker_config_t *cfg, int log_fd, bool *again)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_registry_t reg;
    cel_modules_t mods;
    int code = 1;

    cel__registry_init(&reg);
    int r = cel__modules_load(cfg, &reg, &mods, &err);
    if (r == 0 && reg.count == 0) {
        r = cel_error_set(&err, CEL_EINVAL,
                          "the task modules register no "
                          "tasks");
    }
    if (r != 0) {
        CEL_LOG(CEL_LOG_CRITICAL, "%s", err.text);
    } else if (check_login(cfg) == 0) {
        cel__banner_print(log_fd, cfg, &reg);
        code = cel__supervisor_run(cfg, &reg, again);
    }
    cel__registry_clear(&reg);
    cel__modules_unload(&mods);
    return code;
}

int
main(int argc, char **argv)
{
    cel_worker_config_t cfg;
    cel_error_t err = CEL_ERROR_INIT;
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
    cel_log_set_role("MainProcess");
    int code = 1;
    bool again = false;
    int log_fd = open_log(&cfg);
    if (log_fd >= 0 && take_pidfile(&cfg) == 0) {
        code = serve(&cfg, log_fd, &again);
        code = again ? restart(exe, argv) : code;
        if (cfg.pidfile != NULL) { /* not on a warm restart: exec kept it */
            cel__pidfile_remove(cfg.pidfile, getpid());
        }
    }
    cel__config_clear(&cfg);
    return code;
}
