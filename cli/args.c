/* args.c: reading the commands' command lines: usage and help, options
 * split from positional words (which may be negative numbers), numbers
 * checked whole, never atoi. */
#include "cli.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
cel__cli_usage(const char *usage, const char *why)
{
    if (why != NULL) {
        fprintf(stderr, "celeriac: %s\n", why);
    }
    fputs(usage, stderr);
    exit(CEL_EXIT_USAGE);
}

void
cel__cli_help(const char *usage)
{
    fputs(usage, stdout);
    exit(fflush(stdout) == 0 ? CEL_EXIT_OK : CEL_EXIT_FAILED);
}

/* Does the long option in word ("--name", not "--name=value") take its
 * value from the next word? Exact names first, then a unique prefix, as
 * getopt_long matches them. */
static bool
long_takes_value(const char *word, const struct option *longopts)
{
    const char *name = word + 2;
    const struct option *found = NULL;
    int prefixes = 0;

    if (strchr(name, '=') != NULL) {
        return false;
    }
    for (const struct option *o = longopts; o->name != NULL; o++) {
        if (strcmp(o->name, name) == 0) {
            return o->has_arg == required_argument;
        }
        if (strncmp(o->name, name, strlen(name)) == 0) {
            found = o;
            prefixes++;
        }
    }
    return prefixes == 1 && found->has_arg == required_argument;
}

/* Does the short option word ("-b", not "-bURL") take the next word? */
static bool
short_takes_value(const char *word, const char *shortopts)
{
    const char *p = strchr(shortopts, word[1]);

    return word[1] != ':' && word[1] != '+' && word[2] == '\0' && p != NULL &&
           p[1] == ':';
}

static bool
is_option(const char *word)
{
    return word[0] == '-' && word[1] != '\0' &&
           !(word[1] >= '0' && word[1] <= '9');
}

int
cel__cli_args_split(int argc, char **argv, const char *shortopts,
                    const struct option *longopts, cel_cli_args_t *out)
{
    bool only_words = false;

    out->nopts = out->nwords = 0;
    out->opts = calloc((size_t)argc + 1, sizeof(*out->opts));
    out->words = calloc((size_t)argc + 1, sizeof(*out->words));
    if (out->opts == NULL || out->words == NULL) {
        cel__cli_args_clear(out);
        return CEL_ENOMEM;
    }
    out->opts[out->nopts++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (only_words || !is_option(w)) {
            out->words[out->nwords++] = argv[i];
        } else if (strcmp(w, "--") == 0) {
            only_words = true;
        } else {
            out->opts[out->nopts++] = argv[i];
            bool value = w[1] == '-' ? long_takes_value(w, longopts)
                                     : short_takes_value(w, shortopts);
            if (value && i + 1 < argc) {
                out->opts[out->nopts++] = argv[++i];
            }
        }
    }
    return 0;
}

void
cel__cli_args_clear(cel_cli_args_t *a)
{
    free(a->opts);
    free(a->words);
    a->opts = a->words = NULL;
    a->nopts = a->nwords = 0;
}

int
cel__cli_seconds(const char *text, int64_t *ms)
{
    char *end;

    double s = strtod(text, &end);
    if (end == text || *end != '\0' || !(s >= 0) || s > 1e9) {
        return CEL_EINVAL;
    }
    *ms = (int64_t)llround(s * 1000.0);
    return 0;
}

int
cel__cli_count(const char *text, long min, long max, long *n)
{
    char *end;

    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < min || v > max) {
        return CEL_EINVAL;
    }
    *n = v;
    return 0;
}
