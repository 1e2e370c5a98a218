/* cli.h: what the celeriac commands share: their exit codes, the broker
 * default, usage and help, and the reading of their command lines
 * (args.c). Private to cli/; each command is a cel__<name>_main given the
 * arguments from its own name on. */
#ifndef CEL_CLI_CLI_H
#define CEL_CLI_CLI_H

#include <getopt.h>
#include <stdint.h>

#include <cel/error.h>

/* The exit codes of every command. */
enum {
    CEL_EXIT_OK = 0,
    CEL_EXIT_FAILED = 1,  /* a task failed, or a broker error */
    CEL_EXIT_USAGE = 2,   /* misuse: the usage is printed */
    CEL_EXIT_TIMEOUT = 3, /* a wait ran out */
};

/* The -b text of every usage. The default itself is the client's own
 * (cel_client_opts_t.broker_url NULL), so every command has the same. */
#define CEL_CLI_BROKER_HELP                                                    \
    "  -b, --broker  broker URL (default $CELERIAC_BROKER_URL, else\n"         \
    "                amqp://guest:guest@localhost:5672//); URLs separated\n"   \
    "                by ';' are tried in turn\n"

/* The line every usage ends with. */
#define CEL_CLI_EXIT_HELP                                                      \
    "Exit: 0 success, 1 task failure or broker error, 2 misuse, 3 timeout.\n"

/* cel__cli_usage prints "celeriac: why" (when why is not NULL) and usage
 * on stderr, and exits CEL_EXIT_USAGE. */
_Noreturn void cel__cli_usage(const char *usage, const char *why);

/* cel__cli_help prints usage on stdout and exits 0 (--help). */
_Noreturn void cel__cli_help(const char *usage);

/* A command line split in two, so that options may come before, between
 * or after the positional words: opts is argv[0] followed by the options
 * and their values, in order, for getopt_long (optind 1); words are the
 * rest. "-" alone, a word that starts with '-' and a digit (a negative
 * number as JSON), and everything after "--", are words. Both arrays
 * point into argv and are freed by cel__cli_args_clear. */
typedef struct {
    int nopts;
    char **opts;
    int nwords;
    char **words;
} cel_cli_args_t;

/* cel__cli_args_split splits argv (argv[0] the command's name) knowing
 * which options take a value from shortopts and longopts, as getopt_long
 * does. Returns 0, or CEL_ENOMEM. */
int cel__cli_args_split(int argc, char **argv, const char *shortopts,
                        const struct option *longopts, cel_cli_args_t *out);
void cel__cli_args_clear(cel_cli_args_t *a);

/* cel__cli_seconds reads a number of seconds (e.g. "0.5") into *ms:
 * 0, or CEL_EINVAL for text that is not one (negative, junk after it, too
 * big). */
int cel__cli_seconds(const char *text, int64_t *ms);

/* cel__cli_count reads a whole number from min to max into *n: 0, or
 * CEL_EINVAL. */
int cel__cli_count(const char *text, long min, long max, long *n);

/* The commands (call.c, map.c, purge.c, status.c). argv[0] is the
 * command's name; each returns its exit code. */
int cel__call_main(int argc, char **argv);
int cel__map_main(int argc, char **argv);
int cel__purge_main(int argc, char **argv);
int cel__status_main(int argc, char **argv);

#endif
