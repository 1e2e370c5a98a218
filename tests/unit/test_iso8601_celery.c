/* interop_iso8601: cel_clock_parse_iso against Celery's own eta parser.
 * Usage: test_iso8601_celery PYTHON SCRIPT. It runs SCRIPT
 * (tests/unit/iso8601_cases.py) with PYTHON, which prints each case's
 * UTF-8 in hex and what Celery 5.2 makes of it, and parses the same bytes:
 * a number must come out as that many microseconds, and REFUSED, PREFIX
 * and OVERFLOW must give CEL_EINVAL. Every disagreement is printed before
 * the test fails. */
#include <cel/clock.h>
#include <cel/error.h>

#include "check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

enum { VALUE, REFUSED, PREFIX, OVERFLOW, ZONE, KINDS };
static const char *const kind_names[KINDS] = {"value", "REFUSED", "PREFIX",
                                              "OVERFLOW", "ZONE"};
static int counts[KINDS], failures;

static int
hex_digit(char c)
{
    const char *digits = "0123456789abcdef", *at = strchr(digits, c);

    CHECK(c != '\0' && at != NULL);
    return (int)(at - digits);
}

/* The case's bytes, NUL-terminated; the caller frees them. */
static char *
unhex(const char *hex)
{
    size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
    char *text = malloc(n + 1);

    CHECK(text != NULL);
    for (size_t i = 0; i < n; i++) {
        text[i] =
            (char)(hex_digit(hex[2 * i]) * 16 + hex_digit(hex[2 * i + 1]));
        CHECK(text[i] != '\0');
    }
    text[n] = '\0';
    return text;
}

static int
kind_of(const char *verdict)
{
    for (int k = REFUSED; k < ZONE; k++) {
        if (strcmp(verdict, kind_names[k]) == 0) {
            return k;
        }
    }
    return strncmp(verdict, "ZONE ", 5) == 0 ? ZONE : VALUE;
}

static void
compare(const char *hex, const char *verdict)
{
    char *text = unhex(hex);
    int kind = kind_of(verdict);
    int64_t us = 0;
    int r = cel_clock_parse_iso(text, &us);
    const char *value = kind == ZONE ? verdict + 5 : verdict;
    bool same = kind == VALUE || kind == ZONE
                    ? r == 0 && us == strtoll(value, NULL, 10)
                    : r == CEL_EINVAL;

    counts[kind]++;
    if (!same) {
        fprintf(stderr, "differs: hex %.80s: Celery %s, celeriac %s %lld\n",
                hex, verdict, r == 0 ? "reads" : "refuses", (long long)us);
        failures++;
    }
    free(text);
}

static FILE *
run_script(const char *python, const char *script)
{
    char cmd[8192];

    CHECK(strchr(python, '\'') == NULL && strchr(script, '\'') == NULL);
    snprintf(cmd, sizeof(cmd), "'%s' '%s'", python, script);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    return f;
}

int
main(int argc, char **argv)
{
    char *line = NULL, verdict[48];
    size_t cap = 0;
    long ended = -1, lines = 0;

    CHECK(argc == 3);
    FILE *f = run_script(argv[1], argv[2]);
    while (getline(&line, &cap, f) > 0) {
        if (sscanf(line, "END %ld", &ended) == 1) {
            break;
        }
        char *sp = strchr(line, ' ');
        CHECK(sp != NULL && sscanf(sp, " %47[^\n]", verdict) == 1);
        *sp = '\0';
        compare(line, verdict);
        lines++;
    }
    free(line);
    int st = pclose(f);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_EQ_INT(ended, lines);
    for (int k = 0; k < KINDS; k++) {
        printf("%s: %d\n", kind_names[k], counts[k]);
    }
    CHECK(counts[VALUE] >= 500 && counts[REFUSED] >= 500 &&
          counts[PREFIX] >= 100 && counts[OVERFLOW] >= 2 && counts[ZONE] >= 2);
    CHECK_EQ_INT(failures, 0);
    puts("ok");
    return 0;
}
