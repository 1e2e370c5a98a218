/* remote.c: what `celeriac inspect` and `celeriac control` share: the
 * command line (options, the command's words turned into the arguments
 * Celery's registry names), the call through <cel/control.h>, and the
 * answers printed as `celery inspect` prints them ("-> NODE: OK" and the
 * answer, then "N nodes online.") or as one JSON array. */
#include "cli.h"

#include <cel/control.h>
#include <cel/producer.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const cel_cli_remotes_t *set;
    const cel_cli_remote_t *cmd;
    const char *broker;
    const char *destination; /* as given: names separated by commas */
    const char *signal;
    bool json, terminate;
    int64_t timeout_ms;
    cel_cli_args_t args;
} remote_t;

static void
parse_options(int argc, char **argv, remote_t *r)
{
    static const struct option options[] = {
        {"broker", required_argument, NULL, 'b'},
        {"destination", required_argument, NULL, 'd'},
        {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"terminate", no_argument, NULL, 'T'},
        {"signal", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char short_options[] = "+:b:d:t:jh";
    const char *usage = r->set->usage;
    int c;

    if (cel__cli_args_split(argc, argv, short_options, options, &r->args)) {
        cel__cli_usage(usage, "out of memory");
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(r->args.nopts, r->args.opts, short_options, options,
                            NULL)) != -1) {
        if (c == 'b') {
            r->broker = optarg;
        } else if (c == 'd') {
            r->destination = optarg;
        } else if (c == 't') {
            if (cel__cli_seconds(optarg, &r->timeout_ms) != 0 ||
                r->timeout_ms <= 0) {
                cel__cli_usage(usage, "--timeout: seconds, more than 0");
            }
        } else if (c == 'j') {
            r->json = true;
        } else if (c == 'T') {
            r->terminate = true;
        } else if (c == 's') {
            r->signal = optarg;
        } else if (c == 'h') {
            cel__cli_help(usage);
        } else {
            cel__cli_usage(usage, "unknown option or missing value");
        }
    }
}

/* Finds the command named by the first word, and checks what comes with
 * it: the number of words, and --terminate and --signal for revoke only. */
static void
find_command(remote_t *r)
{
    const char *usage = r->set->usage;
    const char *name = r->args.nwords > 0 ? r->args.words[0] : NULL;
    int nargs = 0;

    for (size_t i = 0; name != NULL && i < r->set->ncommands; i++) {
        if (strcmp(r->set->commands[i].name, name) == 0) {
            r->cmd = &r->set->commands[i];
        }
    }
    if (r->cmd == NULL) {
        cel__cli_usage(usage, name ? "unknown command" : "no command");
    }
    while (nargs < 4 && r->cmd->args[nargs].name != NULL) {
        nargs++;
    }
    int n = r->args.nwords - 1;
    if (n < r->cmd->required || (n > nargs && r->cmd->variadic == NULL)) {
        cel__cli_usage(usage, "wrong number of arguments");
    }
    if ((r->terminate || r->signal) && !r->cmd->revoke) {
        cel__cli_usage(usage, "--terminate and --signal are for revoke");
    }
    if (r->signal != NULL && !r->terminate) {
        cel__cli_usage(usage, "--signal goes with --terminate");
    }
}

/* One word as Celery's registry types it: NULL when it is not one. */
static json_t *
typed_word(const char *text, char type)
{
    int64_t ms;
    long n;

    if (type == 'i') {
        return cel__cli_count(text, 0, INT_MAX, &n) == 0 ? json_integer(n)
                                                         : NULL;
    }
    if (type == 'f') {
        return cel__cli_seconds(text, &ms) == 0 ? json_real((double)ms / 1e3)
                                                : NULL;
    }
    return json_string(text); /* NULL when it is not UTF-8 */
}

/* The list of the words from first on, as strings. */
static json_t *
word_list(const remote_t *r, int first)
{
    json_t *list = json_array();

    for (int i = first; list != NULL && i < r->args.nwords; i++) {
        json_t *s = json_string(r->args.words[i]);
        if (s == NULL || json_array_append_new(list, s) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* revoke's options, as app.control.revoke sends them. */
static int
add_revoke(const remote_t *r, json_t *arguments)
{
    const char *sig = r->signal ? r->signal : "SIGTERM";

    if (json_object_set_new(arguments, "terminate",
                            json_boolean(r->terminate)) != 0 ||
        json_object_set_new(arguments, "signal", json_string(sig)) != 0) {
        return CEL_EINVAL;
    }
    return 0;
}

/* The arguments object of the command's words: a new reference. Exits
 * with the usage for a word that is not of its type. */
static json_t *
build_arguments(const remote_t *r)
{
    const cel_cli_remote_t *cmd = r->cmd;
    json_t *arguments = json_object();
    int w = 1;

    for (int i = 0; i < 4 && cmd->args[i].name && w < r->args.nwords; i++) {
        json_t *v = typed_word(r->args.words[w++], cmd->args[i].type);
        if (json_object_set_new(arguments, cmd->args[i].name, v) != 0) {
            fprintf(stderr, "celeriac: %s: not a valid %s: %s\n", cmd->name,
                    cmd->args[i].name, r->args.words[w - 1]);
            cel__cli_usage(r->set->usage, NULL);
        }
    }
    if (cmd->variadic != NULL && w < r->args.nwords &&
        json_object_set_new(arguments, cmd->variadic, word_list(r, w)) != 0) {
        cel__cli_usage(r->set->usage, "an argument is not UTF-8");
    }
    if (cmd->revoke && add_revoke(r, arguments) != 0) {
        cel__cli_usage(r->set->usage, "--signal: not UTF-8");
    }
    return arguments;
}

/* Splits the -d text into names, pointing into copy (freed by the
 * caller with names). Exits with the usage for an empty name. */
static size_t
split_destination(const remote_t *r, char **copy, const char ***names)
{
    size_t n = 1;
    char *save = NULL;

    for (const char *p = r->destination; *p; p++) {
        n += *p == ',';
    }
    *copy = strdup(r->destination);
    *names = calloc(n, sizeof(**names));
    if (*copy == NULL || *names == NULL) {
        cel__cli_usage(r->set->usage, "out of memory");
    }
    size_t k = 0;
    for (char *t = strtok_r(*copy, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        (*names)[k++] = t;
    }
    if (k != n) {
        cel__cli_usage(r->set->usage, "--destination: an empty node name");
    }
    return n;
}

/* Prints text with every line indented. */
static void
print_block(const char *text, int indent)
{
    const char *p = text;

    do {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("%*s%.*s\n", len > 0 ? indent : 0, "", len, p);
        p = nl ? nl + 1 : NULL;
    } while (p != NULL && *p != '\0');
}

/* Prints JSON text of v (flags as json_dumps's), indented. */
static void
print_json_block(const json_t *v, size_t flags, int indent)
{
    char *text = json_dumps(v, flags | JSON_ENCODE_ANY);

    print_block(text ? text : "?", indent);
    free(text);
}

/* An answer as Celery's CLI shows one: a string as it is, a list as
 * "* item" lines ("- empty -"), anything else as indented JSON. */
static void
print_value(const json_t *v, int indent)
{
    size_t i;
    json_t *item;

    if (json_is_string(v)) {
        print_block(json_string_value(v), indent);
    } else if (json_is_array(v) && json_array_size(v) == 0) {
        print_block("- empty -", indent);
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, item) {
            printf("%*s* ", indent, "");
            if (json_is_string(item)) {
                print_block(json_string_value(item), 0);
            } else {
                print_json_block(item, JSON_COMPACT | JSON_SORT_KEYS, 0);
            }
        }
    } else {
        print_json_block(v, JSON_INDENT(4) | JSON_SORT_KEYS, indent);
    }
}

/* "-> NODE: OK" and the answer; {"ok": x} shows x, {"error": x} is an
 * ERROR. Returns whether it was an error. */
static bool
print_answer(const char *node, const json_t *answer)
{
    const json_t *ok = json_object_get(answer, "ok");
    const json_t *error = json_object_get(answer, "error");
    bool failed = ok == NULL && error != NULL;

    printf("-> %s: %s\n", node, failed ? "ERROR" : "OK");
    if (ok != NULL || error != NULL) {
        print_value(ok ? ok : error, 8);
    } else {
        print_value(answer, 4);
    }
    return failed;
}

/* Every reply's nodes, then the count. Returns whether one was an error. */
static bool
print_plain(const json_t *replies)
{
    bool failed = false;
    size_t i, n = 0;
    const char *node;
    json_t *reply, *answer;

    json_array_foreach (replies, i, reply) {
        json_object_foreach (reply, node, answer) {
            failed |= print_answer(node, answer);
            n++;
        }
    }
    printf("\n%zu %s online.\n", n, n == 1 ? "node" : "nodes");
    return failed;
}

/* Did any reply come with an error? */
static bool
any_error(const json_t *replies)
{
    size_t i;
    const char *node;
    json_t *reply, *answer;

    json_array_foreach (replies, i, reply) {
        json_object_foreach (reply, node, answer) {
            if (json_object_get(answer, "ok") == NULL &&
                json_object_get(answer, "error") != NULL) {
                return true;
            }
        }
    }
    return false;
}

/* Says on stderr which named nodes did not answer. */
static void
report_missing(const char *const *names, size_t n, const json_t *replies)
{
    for (size_t k = 0; k < n; k++) {
        bool found = false;
        size_t i;
        json_t *reply;
        json_array_foreach (replies, i, reply) {
            found |= json_object_get(reply, names[k]) != NULL;
        }
        if (!found) {
            fprintf(stderr, "celeriac: no answer from %s\n", names[k]);
        }
    }
}

/* Prints the outcome of a call that worked; returns the exit code. */
static int
report(const remote_t *r, const cel_control_opts_t *o, const json_t *replies)
{
    bool failed = false;

    if (r->json) {
        json_dumpf(replies, stdout, JSON_COMPACT);
        putchar('\n');
        failed = any_error(replies);
    } else if (r->cmd->cast) {
        printf("-> %s: sent to %s (no answer comes)\n", r->cmd->name,
               r->destination ? r->destination : "every worker");
    } else if (json_array_size(replies) > 0) {
        failed = print_plain(replies);
    }
    if (r->cmd->cast) {
        return CEL_EXIT_OK; /* nothing to wait for */
    }
    report_missing(o->destination, o->ndestination, replies);
    if (json_array_size(replies) == 0) {
        fprintf(stderr,
                "celeriac: no nodes replied within time constraint "
                "(%.3gs)\n",
                (double)o->timeout_ms / 1000.0);
        return CEL_EXIT_FAILED;
    }
    return failed ? CEL_EXIT_FAILED : CEL_EXIT_OK;
}

/* Opens a client, sends, prints. */
static int
run(const remote_t *r, const json_t *arguments, const cel_control_opts_t *o)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    json_t *replies = NULL;
    char name[64];
    cel_client_t *c;

    snprintf(name, sizeof(name), "celeriac %s", r->args.opts[0]);
    co.broker_url = r->broker;
    co.name = name;
    co.log = cel_client_log_stderr;
    if (cel_client_open(&co, &c, &err) != 0) {
        fprintf(stderr, "celeriac: %s\n", err.text);
        return CEL_EXIT_FAILED;
    }
    int rc = cel_control_call(c, r->cmd->name, arguments, o, &replies, &err);
    cel_client_close(c);
    if (rc != 0) {
        fprintf(stderr, "celeriac: %s\n", err.text);
        return CEL_EXIT_FAILED;
    }
    int code = report(r, o, replies);
    json_decref(replies);
    return code;
}

int
cel__cli_remote_main(int argc, char **argv, const cel_cli_remotes_t *set)
{
    cel_control_opts_t o = CEL_CONTROL_OPTS_INIT;
    remote_t r = {0};
    const char **names = NULL;
    char *copy = NULL;

    r.set = set;
    r.timeout_ms = CEL_CONTROL_TIMEOUT_MS;
    parse_options(argc, argv, &r);
    find_command(&r);
    json_t *arguments = build_arguments(&r);
    if (r.destination != NULL) {
        o.ndestination = split_destination(&r, &copy, &names);
        o.destination = names;
    }
    o.timeout_ms = r.timeout_ms;
    o.reply = !r.cmd->cast;
    int code = run(&r, arguments, &o);
    json_decref(arguments);
    free(names);
    free(copy);
    cel__cli_args_clear(&r.args);
    return code;
}
