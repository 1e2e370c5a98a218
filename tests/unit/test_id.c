/* Task ids: the UUID text form Celery uses (version 4, RFC 4122 variant,
 * lower case), no repeats in a long run, and a forked child never draws
 * the ids its parent draws. */
#include <cel/id.h>

#include "check.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 100000

static int
cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void
check_form(const char *id)
{
    CHECK_EQ_INT(strlen(id), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            CHECK(id[i] == '-');
        } else {
            CHECK(isxdigit((unsigned char)id[i]) &&
                  !isupper((unsigned char)id[i]));
        }
    }
    CHECK(id[14] == '4');
    CHECK(strchr("89ab", id[19]) != NULL);
}

int
main(void)
{
    static char ids[N][CEL_ID_SIZE];
    int fds[2];

    for (int i = 0; i < N; i++) {
        cel_id_new(ids[i]);
        check_form(ids[i]);
    }
    qsort(ids, N, CEL_ID_SIZE, cmp);
    for (int i = 1; i < N; i++) {
        CHECK(strcmp(ids[i - 1], ids[i]) != 0);
    }

    /* After fork, parent and child draw different ids. */
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    char mine[CEL_ID_SIZE], theirs[CEL_ID_SIZE];
    cel_id_new(mine);
    if (pid == 0) {
        _exit(write(fds[1], mine, sizeof(mine)) == sizeof(mine) ? 0 : 1);
    }
    CHECK(read(fds[0], theirs, sizeof(theirs)) == sizeof(theirs));
    waitpid(pid, NULL, 0);
    CHECK(strcmp(mine, theirs) != 0);
    puts("ok");
    return 0;
}
