/* purge.c: `celeriac purge`: delete the messages waiting in a queue.
 * Without -f it asks first, on the terminal (/dev/tty), whatever stdin
 * is; with no terminal to ask it refuses before it connects. A queue that
 * does not exist is an error, and is never created: the count comes from
 * a passive declare and the purge itself creates nothing. */
#include "cli.h"

#include <cel/producer.h>
#include <cel/queues.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: celeriac purge [QUEUE] [-f] [-b URL] [--json]\n"
    "\n"
    "Deletes the messages ready in QUEUE (default celery); those a worker\n"
    "holds unacked stay. Asks first on the terminal unless -f is given.\n"
    "\n"
    "  -f, --force   do not ask (needed when there is no terminal)\n" //
    CEL_CLI_BROKER_HELP "  --json        print {\"queue\":\"Q\",\"purged\":N}\n"
    "  -h, --help    this text\n"
    "\n"
    "Exit: 0 purged, 1 no such queue, a broker error, or the answer was\n"
    "not yes, 2 misuse (also: no -f and no terminal to ask).\n";

typedef struct {
    const char *queue;
    const char *broker;
    bool force;
    bool json;
} purge_t;

static void
parse_purge(int argc, char **argv, purge_t *p)
{
    static const struct option options[] = {
        {"force", no_argument, NULL, 'f'},
        {"broker", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char short_options[] = "+:fb:h";
    cel_cli_args_t a;
    int c;

    memset(p, 0, sizeof(*p));
    if (cel__cli_args_split(argc, argv, short_options, options, &a) != 0) {
        cel__cli_usage(usage_text, "out of memory");
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(a.nopts, a.opts, short_options, options, NULL)) !=
           -1) {
        if (c == 'f') {
            p->force = true;
        } else if (c == 'b') {
            p->broker = optarg;
        } else if (c == 'j') {
            p->json = true;
        } else if (c == 'h') {
            cel__cli_help(usage_text);
        } else {
            cel__cli_usage(usage_text, "unknown option or missing value");
        }
    }
    if (a.nwords > 1) {
        cel__cli_usage(usage_text, "purge takes one QUEUE");
    }
    p->queue = a.nwords == 1 ? a.words[0] : "celery";
    cel__cli_args_clear(&a);
}

/* Asks on tty whether to purge n messages: true for y or yes. */
static bool
confirmed(FILE *tty, const char *queue, int64_t n)
{
    char answer[16] = "";

    fprintf(stderr, "Purge %lld message%s from queue %s? [y/N] ", (long long)n,
            n == 1 ? "" : "s", queue);
    fflush(stderr);
    if (fgets(answer, sizeof(answer), tty) == NULL) {
        fputc('\n', stderr);
        return false;
    }
    for (char *s = answer; *s != '\0'; s++) {
        *s = (char)tolower((unsigned char)*s);
    }
    return strcmp(answer, "y\n") == 0 || strcmp(answer, "yes\n") == 0;
}

static void
print_purged(const purge_t *p, int64_t n)
{
    if (p->json) {
        json_t *o =
            json_pack("{s:s,s:I}", "queue", p->queue, "purged", (json_int_t)n);
        (void)json_dumpf(o, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(o);
    } else {
        printf("purged %lld message%s from %s\n", (long long)n,
               n == 1 ? "" : "s", p->queue);
    }
}

static int
missing(const purge_t *p, const cel_error_t *err)
{
    fprintf(stderr, "celeriac: %s\n", err->text);
    if (p->json && err->code == CEL_ENOTFOUND) {
        json_t *o =
            json_pack("{s:s,s:s}", "queue", p->queue, "error", "no such queue");
        (void)json_dumpf(o, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(o);
    }
    return CEL_EXIT_FAILED;
}

static int
run_purge(const purge_t *p, cel_client_t *c, FILE *tty)
{
    cel_error_t err = CEL_ERROR_INIT;
    int64_t messages, consumers, n;

    if (tty != NULL) {
        if (cel_client_queue_inspect(c, p->queue, &messages, &consumers,
                                     &err) != 0) {
            return missing(p, &err);
        }
        if (!confirmed(tty, p->queue, messages)) {
            fprintf(stderr, "celeriac: nothing purged\n");
            return CEL_EXIT_FAILED;
        }
    }
    if (cel_client_queue_purge(c, p->queue, &n, &err) != 0) {
        return missing(p, &err);
    }
    print_purged(p, n);
    return CEL_EXIT_OK;
}

int
cel__purge_main(int argc, char **argv)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_t *c;
    FILE *tty = NULL;
    purge_t p;

    parse_purge(argc, argv, &p);
    if (!p.force && (tty = fopen("/dev/tty", "r")) == NULL) {
        cel__cli_usage(usage_text, "purge asks before it deletes, and "
                                   "there is no terminal to ask: use -f");
    }
    co.broker_url = p.broker;
    co.name = "celeriac purge";
    int code = CEL_EXIT_FAILED;
    if (cel_client_open(&co, &c, &err) != 0) {
        fprintf(stderr, "celeriac: %s\n", err.text);
    } else {
        code = run_purge(&p, c, tty);
        cel_client_close(c);
    }
    if (tty != NULL) {
        fclose(tty);
    }
    return code;
}
