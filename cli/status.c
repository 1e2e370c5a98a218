/* status.c: `celeriac status`: how many messages wait in each queue and
 * how many consumers read it, as a table or as JSON. Asks with a passive
 * declare (cel_client_queue_inspect), so a queue that is missing is
 * reported, never created. */
#include "cli.h"

#include <cel/producer.h>
#include <cel/queues.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: celeriac status [QUEUE...] [-b URL] [--json]\n"
    "\n"
    "For each queue (default celery): the messages ready in it (not those\n"
    "a worker holds unacked) and its consumers, in a table. A queue that\n"
    "does not exist is reported as missing and is not created.\n"
    "\n" //
    CEL_CLI_BROKER_HELP
    "  --json        one JSON array: [{\"queue\":\"Q\",\"messages\":N,\n"
    "                \"consumers\":N}, ...]; a missing queue is\n"
    "                {\"queue\":\"Q\",\"error\":\"no such queue\"}\n"
    "  -h, --help    this text\n"
    "\n"
    "Exit: 0 every queue exists, 1 one is missing or a broker error,\n"
    "2 misuse.\n";

typedef struct {
    const char *queue;
    int rc; /* 0, or cel_client_queue_inspect's code */
    int64_t messages, consumers;
    char why[160]; /* rc's text */
} row_t;

typedef struct {
    const char *broker;
    bool json;
    int nqueues;
    char **queues;
    cel_cli_args_t args;
} status_t;

static void
parse_status(int argc, char **argv, status_t *s)
{
    static const struct option options[] = {
        {"broker", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char short_options[] = "+:b:h";
    static char *fallback[] = {"celery"};
    int c;

    memset(s, 0, sizeof(*s));
    if (cel__cli_args_split(argc, argv, short_options, options, &s->args)) {
        cel__cli_usage(usage_text, "out of memory");
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(s->args.nopts, s->args.opts, short_options, options,
                            NULL)) != -1) {
        if (c == 'b') {
            s->broker = optarg;
        } else if (c == 'j') {
            s->json = true;
        } else if (c == 'h') {
            cel__cli_help(usage_text);
        } else {
            cel__cli_usage(usage_text, "unknown option or missing value");
        }
    }
    s->nqueues = s->args.nwords > 0 ? s->args.nwords : 1;
    s->queues = s->args.nwords > 0 ? s->args.words : fallback;
}

static void
print_table(const row_t *rows, int n)
{
    int width = (int)strlen("QUEUE");

    for (int i = 0; i < n; i++) {
        int w = (int)strlen(rows[i].queue);
        width = w > width ? w : width;
    }
    printf("%-*s  %8s  %9s\n", width, "QUEUE", "MESSAGES", "CONSUMERS");
    for (int i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        if (r->rc == 0) {
            printf("%-*s  %8lld  %9lld\n", width, r->queue,
                   (long long)r->messages, (long long)r->consumers);
        } else {
            printf("%-*s  %8s  %9s\n", width, r->queue,
                   r->rc == CEL_ENOTFOUND ? "missing" : "error", "-");
        }
    }
}

static int
print_json(const row_t *rows, int n)
{
    json_t *list = json_array();

    for (int i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        json_t *o =
            r->rc == 0
                ? json_pack("{s:s,s:I,s:I}", "queue", r->queue, "messages",
                            (json_int_t)r->messages, "consumers",
                            (json_int_t)r->consumers)
                : json_pack("{s:s,s:s}", "queue", r->queue, "error",
                            r->rc == CEL_ENOTFOUND ? "no such queue" : r->why);
        json_array_append_new(list, o);
    }
    int rc = json_dumpf(list, stdout, JSON_COMPACT);
    json_decref(list);
    putchar('\n');
    return rc;
}

static int
inspect_all(cel_client_t *c, row_t *rows, const status_t *s)
{
    int code = CEL_EXIT_OK;

    for (int i = 0; i < s->nqueues; i++) {
        cel_error_t err = CEL_ERROR_INIT;
        row_t *r = &rows[i];
        r->queue = s->queues[i];
        r->rc = cel_client_queue_inspect(c, r->queue, &r->messages,
                                         &r->consumers, &err);
        snprintf(r->why, sizeof(r->why), "%s", err.text);
        if (r->rc != 0) {
            fprintf(stderr, "celeriac: %s\n", err.text);
            code = CEL_EXIT_FAILED;
        }
    }
    return code;
}

int
cel__status_main(int argc, char **argv)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_t *c;
    status_t s;

    parse_status(argc, argv, &s);
    row_t *rows = calloc((size_t)s.nqueues, sizeof(*rows));
    co.broker_url = s.broker;
    co.name = "celeriac status";
    int code = CEL_EXIT_FAILED;
    if (rows == NULL) {
        fprintf(stderr, "celeriac: out of memory\n");
    } else if (cel_client_open(&co, &c, &err) != 0) {
        fprintf(stderr, "celeriac: %s\n", err.text);
    } else {
        code = inspect_all(c, rows, &s);
        cel_client_close(c);
        if (!s.json) {
            print_table(rows, s.nqueues);
        } else if (print_json(rows, s.nqueues) != 0) {
            code = CEL_EXIT_FAILED;
        }
    }
    free(rows);
    cel__cli_args_clear(&s.args);
    return code;
}
