/* support.c: helpers for the tests that need a broker or a worker. */
#include "support.h"

#include <cel/clock.h>
#include <cel/id.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

const char *
test_broker_url(void)
{
    static char url[256];
    const char *env = getenv("CELERIAC_BROKER_URL");
    const char *port = getenv("CELERIAC_BROKER_PORT");

    if (env != NULL && env[0] != '\0') {
        return env;
    }
    snprintf(url, sizeof(url), "amqp://guest:guest@127.0.0.1:%s//",
             port ? port : "5672");
    return url;
}

void
test_unique_name(const char *prefix, char *out, size_t size)
{
    char id[CEL_ID_SIZE];

    cel_id_new(id);
    snprintf(out, size, "%s-%s", prefix, id);
}

void
test_build_path(const char *sub, const char *name, char *out, size_t size)
{
    const char *dir = getenv("CELERIAC_BUILD_DIR");

    snprintf(out, size, "%s/%s/%s", dir ? dir : ".", sub, name);
}

pid_t
test_workerd_start(const char *queue, int concurrency, const char *log_path,
                   const char *const *extra)
{
    char bin[512], app[512], conc[16];
    const char *argv[32];
    int n = 0;

    test_build_path("bin", "workerd", bin, sizeof(bin));
    test_build_path("lib", "libexample_tasks.so", app, sizeof(app));
    snprintf(conc, sizeof(conc), "%d", concurrency);
    argv[n++] = bin;
    argv[n++] = "-A";
    argv[n++] = app;
    argv[n++] = "-c";
    argv[n++] = conc;
    argv[n++] = "-Q";
    argv[n++] = queue;
    argv[n++] = "-b";
    argv[n++] = test_broker_url();
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 30; i++) {
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    fflush(NULL);
    pid_t test = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* If the test dies (a failed CHECK aborts), workerd goes too; and
         * if it died before the death signal was set, go now. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != test) {
            _exit(127);
        }
        if (log_path != NULL) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
        }
        execv(bin, (char *const *)argv);
        perror("execv workerd");
        _exit(127);
    }
    return pid;
}

int
test_workerd_stop(pid_t pid, int sig, int timeout_ms)
{
    int status;
    int64_t deadline = cel_clock_now_ms() + timeout_ms;

    kill(pid, sig);
    while (cel_clock_now_ms() < deadline) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return status;
        }
        cel_clock_sleep_ms(20, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int
test_child_pids(pid_t ppid, pid_t *pids, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int count = 0;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        if (fgets(buf, sizeof(buf), f) != NULL) {
            char *p = strrchr(buf, ')');
            char state;
            int parent;
            /* workerd's control process is not a pool child. */
            bool control = strstr(buf, "(workerd-control)") != NULL;
            if (p && !control && sscanf(p + 2, "%c %d", &state, &parent) == 2 &&
                parent == ppid && state != 'Z') {
                if (count < max && pids != NULL) {
                    pids[count] = (pid_t)atoi(e->d_name);
                }
                count++;
            }
        }
        fclose(f);
    }
    if (d != NULL) {
        closedir(d);
    }
    return count;
}

int
test_count_children(pid_t ppid)
{
    return test_child_pids(ppid, NULL, 0);
}

int
test_file_count(const char *path, const char *needle)
{
    char line[8192];
    int n = 0;
    FILE *f = fopen(path, "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, needle) != NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

int
test_broker_ctl(const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "%s/scripts/broker ctl %s >/dev/null",
             CEL_SOURCE_DIR, args);
    return system(cmd);
}

void
test_queue_info(const char *name, const char *columns, char *out, size_t size)
{
    char cmd[1024], line[1024];
    size_t len = strlen(name);

    out[0] = '\0';
    snprintf(cmd, sizeof(cmd), "%s/scripts/broker ctl list_queues name %s",
             CEL_SOURCE_DIR, columns);
    FILE *f = popen(cmd, "r");
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, name, len) == 0 && line[len] == '\t') {
            snprintf(out, size, "%s", line);
        }
    }
    pclose(f);
}

int
test_guarded(void (*checks)(void), void (*cleanup)(void))
{
    int status = 0;

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        checks();
        fflush(NULL);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        status = -1;
    }
    cleanup();
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0
                                                                         : -1;
}
