/* lines.h: reading input one line at a time from a file or stdin without
 * ever blocking longer than the caller says, so a command can go on
 * printing results while a pipe is slow to give it more (celeriac map).
 * Memory is one line plus a read's worth, whatever the input's size. */
#ifndef CEL_CLI_LINES_H
#define CEL_CLI_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest line taken; a longer one is CEL_ETOOBIG. */
#define CEL_LINE_MAX_BYTES ((size_t)64 << 20)

typedef struct {
    int fd;
    bool owned; /* opened here (closed by cel__lines_close) */
    bool eof;   /* read returned 0 */
    char *buf;  /* buf[start, len) not yet handed out */
    size_t start, len, cap;
    long lineno; /* of the line handed out last */
} cel_lines_t;

/* cel__lines_open reads path, or stdin when path is NULL or "-". Returns
 * 0, or CEL_ESYS with errno set. */
int cel__lines_open(cel_lines_t *l, const char *path);
void cel__lines_close(cel_lines_t *l);

/* cel__lines_count counts the lines that are not blank from where l
 * stands to the end, when l reads a regular file (then it goes back to
 * where it stood); -1 for a pipe or a terminal, whose end is not known
 * in advance. Call it before the first cel__lines_next. */
int64_t cel__lines_count(cel_lines_t *l);

/* cel__lines_next gives the next line, without its newline and
 * NUL-terminated, in *line (valid until the next call; l->lineno is its
 * number, blank lines counted). Waits for input up to timeout_ms (-1: as
 * long as it takes). Returns 1 with a line, 0 at the end of input,
 * CEL_ETIMEDOUT when no whole line came in time, CEL_ETOOBIG for a line
 * over CEL_LINE_MAX_BYTES, CEL_ESYS (errno set) when reading failed. */
int cel__lines_next(cel_lines_t *l, int timeout_ms, char **line);

/* cel__lines_blank: is line only spaces, tabs and a carriage return? */
bool cel__lines_blank(const char *line);

#endif
