/* cli.h: what the celeriac commands share: their exit codes, the broker
 * default, usage and help, the reading of their command lines (args.c),
 * and the remote-control commands' table (remote.c). Private to cli/; each
 * command is a cel__<name>_main given the arguments from its own name on. */
#ifndef CEL_CLI_CLI_H
#define CEL_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
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

/* A remote-control command as inspect.c and control.c list it, with
 * the arguments Celery's registry (celery/worker/control.py) gives it:
 * the words after the command's name fill args in order (type 's' a
 * string, 'i' a whole number, 'f' a number of seconds); at least required
 * words must come, and more than args only into variadic, a list. */
typedef struct {
    const char *name;
    struct {
        const char *name;
        char type;
    } args[4];
    int required;
    const char *variadic; /* the name of the list, or NULL */
    bool cast;            /* sent asking for no answer (shutdown) */
    bool revoke;          /* takes --terminate and --signal */
} cel_cli_remote_t;

/* The commands of `celeriac inspect` or `celeriac control`: their usage
 * and their table. */
typedef struct {
    const char *usage;
    const cel_cli_remote_t *commands;
    size_t ncommands;
} cel_cli_remotes_t;

/* cel__cli_remote_main runs `celeriac inspect|control COMMAND ...` from
 * set (remote.c): the call, the answers printed. Returns the exit code. */
int cel__cli_remote_main(int argc, char **argv, const cel_cli_remotes_t *set);

/* The commands (call.c, map.c, purge.c, status.c, inspect.c, control.c).
 * argv[0] is the command's name; each returns its exit code. */
int cel__call_main(int argc, char **argv);
int cel__map_main(int argc, char **argv);
int cel__purge_main(int argc, char **argv);
int cel__status_main(int argc, char **argv);
int cel__inspect_main(int argc, char **argv);
int cel__control_main(int argc, char **argv);

#endif
