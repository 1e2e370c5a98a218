/* pidfile.c: the master's pid file. The pid is written to a temporary
 * file first and linked into place, so the file appears whole or not at
 * all: a second workerd never reads it half-written and takes it for
 * stale. A stale file (its process gone) is replaced with rename(2). */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes "pid\n" to a new file at path. */
static int
write_pid(const char *path, pid_t pid, cel_error_t *err)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%d\n", (int)pid);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        return cel_error_set(err, CEL_ESYS, "cannot create %s: %s", path,
                             strerror(errno));
    }
    ssize_t w;
    do {
        w = write(fd, text, (size_t)n);
    } while (w < 0 && errno == EINTR);
    int saved = errno;
    if (close(fd) != 0 && w == n) {
        saved = errno;
        w = -1;
    }
    if (w != n) {
        unlink(path);
        return cel_error_set(err, CEL_ESYS, "cannot write %s: %s", path,
                             strerror(saved));
    }
    return 0;
}

/* The pid the file at path names in *pid: 0 (also *pid 0 when the file is
 * empty or holds no pid), CEL_ENOTFOUND when there is no file, or
 * CEL_ESYS when it cannot be read. */
static int
read_pid(const char *path, pid_t *pid, cel_error_t *err)
{
    char text[32];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *pid = 0;
    if (fd < 0) {
        return errno == ENOENT
                   ? CEL_ENOTFOUND
                   : cel_error_set(err, CEL_ESYS, "cannot read %s: %s", path,
                                   strerror(errno));
    }
    do {
        n = read(fd, text, sizeof(text) - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end != text && (*end == '\n' || *end == '\0') && v > 0 &&
        v <= INT_MAX) {
        *pid = (pid_t)v;
    }
    return 0;
}

/* Puts tmp in place at path unless a live process other than pid holds
 * path: 0, 1 when a stale file was replaced, or an error. */
static int
take(const char *tmp, const char *path, pid_t pid, cel_error_t *err)
{
    pid_t holder = 0;

    for (int tries = 0; tries < 3; tries++) {
        if (link(tmp, path) == 0) {
            return 0;
        }
        if (errno != EEXIST) {
            return cel_error_set(err, CEL_ESYS, "cannot create %s: %s", path,
                                 strerror(errno));
        }
        int r = read_pid(path, &holder, err);
        if (r == CEL_ENOTFOUND) {
            continue; /* removed meanwhile: link again */
        }
        if (r != 0) {
            return r;
        }
        if (holder > 0 && holder != pid && kill(holder, 0) == 0) {
            return cel_error_set(err, CEL_EINVAL,
                                 "pidfile %s exists: workerd already runs "
                                 "as pid %d",
                                 path, (int)holder);
        }
        if (rename(tmp, path) != 0) {
            return cel_error_set(err, CEL_ESYS, "cannot replace %s: %s", path,
                                 strerror(errno));
        }
        return holder == pid ? 0 : 1;
    }
    return cel_error_set(err, CEL_ESYS, "cannot create %s: it keeps changing",
                         path);
}

int
cel__pidfile_create(const char *path, pid_t pid, cel_error_t *err)
{
    char tmp[PATH_MAX];
    pid_t now = 0;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)pid) >=
        sizeof(tmp)) {
        return cel_error_set(err, CEL_EINVAL, "pidfile path too long");
    }
    int r = write_pid(tmp, pid, err);
    if (r != 0) {
        return r;
    }
    r = take(tmp, path, pid, err);
    unlink(tmp); /* after link(2); already gone after rename(2) */
    if (r < 0) {
        return r;
    }
    /* Another workerd that found the same stale file may have renamed its
     * own over ours: the file says who won. */
    int v = read_pid(path, &now, err);
    if (v == CEL_ENOTFOUND) {
        return cel_error_set(err, CEL_ESYS, "%s vanished as it was written",
                             path);
    }
    if (v == 0 && now != pid) {
        return cel_error_set(err, CEL_EINVAL,
                             "pidfile %s was taken by pid %d as this workerd "
                             "started",
                             path, (int)now);
    }
    return v == 0 ? r : v;
}

void
cel__pidfile_remove(const char *path, pid_t pid)
{
    pid_t holder = 0;

    if (read_pid(path, &holder, NULL) == 0 && holder == pid) {
        unlink(path);
    }
}
