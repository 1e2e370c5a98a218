/* lines.c: the line reader of lines.h over read(2) and poll(2). stdio's
 * getline would block on a pipe with nothing in it, and the caller has
 * results to print meanwhile. */
#include "lines.h"

#include <cel/error.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BYTES 65536

int
cel__lines_open(cel_lines_t *l, const char *path)
{
    int fd;

    memset(l, 0, sizeof(*l));
    if (path == NULL || strcmp(path, "-") == 0) {
        l->fd = STDIN_FILENO;
        return 0;
    }
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return CEL_ESYS;
    }
    l->fd = fd;
    l->owned = true;
    return 0;
}

void
cel__lines_close(cel_lines_t *l)
{
    if (l->owned) {
        close(l->fd);
    }
    free(l->buf);
    memset(l, 0, sizeof(*l));
    l->fd = -1;
}

bool
cel__lines_blank(const char *line)
{
    return line[strspn(line, " \t\r")] == '\0';
}

/* Counts the lines of fd from where it stands that are not blank. */
static int64_t
count_lines(int fd)
{
    char buf[READ_BYTES];
    int64_t n = 0;
    bool content = false;
    ssize_t got;

    while ((got = read(fd, buf, sizeof(buf))) != 0) {
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            return -1;
        }
        for (ssize_t i = 0; i < got; i++) {
            char ch = buf[i];
            if (ch == '\n') {
                n += content;
                content = false;
            } else if (ch != ' ' && ch != '\t' && ch != '\r') {
                content = true;
            }
        }
    }
    return n + content;
}

int64_t
cel__lines_count(cel_lines_t *l)
{
    struct stat st;

    if (fstat(l->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return -1;
    }
    off_t at = lseek(l->fd, 0, SEEK_CUR);
    if (at < 0) {
        return -1;
    }
    int64_t n = count_lines(l->fd);
    if (lseek(l->fd, at, SEEK_SET) != at) {
        return -1; /* cannot happen on a regular file */
    }
    return n;
}

/* Room for a read and the NUL after it, keeping what is not handed out. */
static int
make_room(cel_lines_t *l)
{
    if (l->start > 0) {
        memmove(l->buf, l->buf + l->start, l->len - l->start);
        l->len -= l->start;
        l->start = 0;
    }
    if (l->cap - l->len >= READ_BYTES + 1) {
        return 0;
    }
    size_t cap = l->cap ? l->cap * 2 : READ_BYTES + 1;
    while (cap - l->len < READ_BYTES + 1) {
        cap *= 2;
    }
    char *buf = realloc(l->buf, cap);
    if (buf == NULL) {
        return CEL_ENOMEM;
    }
    l->buf = buf;
    l->cap = cap;
    return 0;
}

/* Reads once, after waiting up to timeout_ms for something to read. */
static int
fill(cel_lines_t *l, int timeout_ms)
{
    struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
    ssize_t got;

    int r = make_room(l);
    if (r != 0) {
        return r;
    }
    if (timeout_ms >= 0) {
        int ready = poll(&pfd, 1, timeout_ms);
        if (ready == 0 || (ready < 0 && errno == EINTR)) {
            return CEL_ETIMEDOUT;
        }
        if (ready < 0) {
            return CEL_ESYS;
        }
    }
    do {
        got = read(l->fd, l->buf + l->len, READ_BYTES);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        return CEL_ESYS;
    }
    l->eof = got == 0;
    l->len += (size_t)got;
    return 0;
}

/* Hands out buf[start, end) as a line; buf[end] becomes its NUL. */
static int
hand_out(cel_lines_t *l, size_t end, size_t next, char **line)
{
    l->buf[end] = '\0';
    *line = l->buf + l->start;
    l->start = next;
    l->lineno++;
    return 1;
}

int
cel__lines_next(cel_lines_t *l, int timeout_ms, char **line)
{
    for (;;) {
        size_t have = l->len - l->start;
        char *nl = have ? memchr(l->buf + l->start, '\n', have) : NULL;
        if (nl != NULL) {
            size_t end = (size_t)(nl - l->buf);
            return hand_out(l, end, end + 1, line);
        }
        if (l->eof) { /* a last line with no newline is a line too */
            return have ? hand_out(l, l->len, l->len, line) : 0;
        }
        if (have > CEL_LINE_MAX_BYTES) {
            return CEL_ETOOBIG;
        }
        int r = fill(l, timeout_ms);
        if (r != 0) {
            return r;
        }
        /* Part of a line came: take what follows at once, but wait no
         * longer than was asked. */
        timeout_ms = timeout_ms < 0 ? -1 : 0;
    }
}
