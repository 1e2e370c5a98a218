/* call.c: `celeriac call`: send one task and wait for its result.
 *
 *   celeriac call TASK [ARGS_JSON [KWARGS_JSON]] [-b URL] [-Q QUEUE]
 *                 [--timeout SECONDS]
 *
 * Exit codes: 0 SUCCESS (the result as JSON on stdout), 1 FAILURE
 * ("ExcType: message" on stderr) or a broker error, 2 misuse (with the
 * usage), 3 timeout, also when the broker blocks publishing. */
#include "cli.h"

#include <cel/clock.h>
#include <cel/producer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: celeriac call TASK [ARGS_JSON [KWARGS_JSON]] [-b URL] [-Q QUEUE]\n"
    "                     [--timeout SECONDS] [--compression NAME]\n"
    "                     [--queue-type classic|quorum]\n"
    "\n"
    "Sends one task and waits for its result.\n"
    "\n"
    "  ARGS_JSON     positional arguments as a JSON array (default [])\n"
    "  KWARGS_JSON   keyword arguments as a JSON object (default {})\n" //
    CEL_CLI_BROKER_HELP "  -Q, --queue   queue to send to (default celery)\n"
    "  --timeout S   give up after S seconds (exit 3); default: wait\n"
    "  --compression zlib, gzip or bzip2: send the body compressed, as\n"
    "                Celery's compression= option does\n"
    "  --queue-type  declare the queue classic (default) or quorum; one\n"
    "                that exists is used as it is\n"
    "  -h, --help    this text\n"
    "\n"
    "Exit: 0 success (result as JSON on stdout), 1 task failure or broker\n"
    "error, 2 misuse, 3 timeout.\n";

typedef struct {
    const char *task;
    json_t *args;
    json_t *kwargs;
    const char *broker;
    const char *queue;
    int64_t timeout_ms;
    const char *compression;
    const char *queue_type;
} call_t;

static const struct option options[] = {
    {"broker", required_argument, NULL, 'b'},
    {"queue", required_argument, NULL, 'Q'},
    {"timeout", required_argument, NULL, 't'},
    {"compression", required_argument, NULL, 'z'},
    {"queue-type", required_argument, NULL, 'y'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
static const char short_options[] = "+:b:Q:h";

static json_t *
parse_json_arg(const char *text, bool want_array)
{
    json_error_t jerr;
    char why[300];

    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (v == NULL) {
        snprintf(why, sizeof(why), "%s is not JSON: %s",
                 want_array ? "ARGS_JSON" : "KWARGS_JSON", jerr.text);
        cel__cli_usage(usage_text, why);
    }
    if (want_array ? !json_is_array(v) : !json_is_object(v)) {
        json_decref(v);
        cel__cli_usage(usage_text,
                       want_array
                           ? "ARGS_JSON must be a JSON array, e.g. [2, 3]"
                           : "KWARGS_JSON must be a JSON object, e.g. "
                             "{\"x\": 1}");
    }
    return v;
}

static void
parse_option(int c, call_t *call)
{
    if (c == 'b') {
        call->broker = optarg;
    } else if (c == 'Q') {
        call->queue = optarg;
    } else if (c == 't') {
        if (cel__cli_seconds(optarg, &call->timeout_ms) != 0) {
            cel__cli_usage(usage_text, "--timeout wants a number of seconds");
        }
    } else if (c == 'z') {
        call->compression = optarg;
    } else if (c == 'y') {
        if (strcmp(optarg, "classic") != 0 && strcmp(optarg, "quorum") != 0) {
            cel__cli_usage(usage_text, "--queue-type wants classic or quorum");
        }
        call->queue_type = optarg;
    } else if (c == 'h') {
        cel__cli_help(usage_text);
    } else {
        cel__cli_usage(usage_text, "unknown option or missing value");
    }
}

static void
parse_call(int argc, char **argv, call_t *call)
{
    cel_cli_args_t a;
    int c;

    memset(call, 0, sizeof(*call));
    call->timeout_ms = -1;
    if (cel__cli_args_split(argc, argv, short_options, options, &a) != 0) {
        cel__cli_usage(usage_text, "out of memory");
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(a.nopts, a.opts, short_options, options, NULL)) !=
           -1) {
        parse_option(c, call);
    }
    if (a.nwords == 0) {
        cel__cli_usage(usage_text, "call needs a TASK name");
    }
    if (a.nwords > 3) {
        cel__cli_usage(usage_text, "too many arguments");
    }
    call->task = a.words[0];
    call->args = a.nwords > 1 ? parse_json_arg(a.words[1], true) : json_array();
    call->kwargs =
        a.nwords > 2 ? parse_json_arg(a.words[2], false) : json_object();
    cel__cli_args_clear(&a);
}

static int
report(cel_result_t *r, int rc, const json_t *value, const cel_error_t *err)
{
    if (rc == 0) {
        char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT |
                                           JSON_REAL_PRECISION(17));
        printf("%s\n", text ? text : "null");
        free(text);
        return CEL_EXIT_OK;
    }
    if (rc == CEL_ETIMEDOUT || rc == CEL_EBLOCKED) {
        fprintf(stderr, "celeriac: timed out: %s\n", err->text);
        return CEL_EXIT_TIMEOUT;
    }
    if (rc == CEL_ETASK) {
        fprintf(stderr, "%s: %s\n", cel_result_exc_type(r),
                cel_result_exc_message(r));
        return CEL_EXIT_FAILED;
    }
    fprintf(stderr, "celeriac: %s\n", err->text);
    return CEL_EXIT_FAILED;
}

static int
run_call(call_t *call)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_opts_t so = CEL_OPTS_INIT;
    cel_client_t *c;
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *value;

    co.broker_url = call->broker;
    co.queue = call->queue;
    co.queue_type = call->queue_type;
    co.log = cel_client_log_stderr; /* reconnects, said on stderr */
    /* The timeout covers the whole call, connecting included: a server
     * that accepts and never answers must not outlast it. */
    int64_t started_at_ms = cel_clock_now_ms();
    co.connect_timeout_ms = call->timeout_ms;
    so.compression = call->compression;
    if (cel_client_open(&co, &c, &err) != 0) {
        fprintf(stderr, "celeriac: %s\n", err.text);
        return CEL_EXIT_FAILED;
    }
    cel_result_t *r =
        cel_apply_async(c, call->task, call->args, call->kwargs, &so);
    int code;
    if (r == NULL) {
        fprintf(stderr, "celeriac: %s\n", cel_client_error(c));
        code = CEL_EXIT_FAILED;
    } else {
        int64_t left = call->timeout_ms;
        if (left > 0) {
            left -= cel_clock_now_ms() - started_at_ms;
            left = left < 0 ? 0 : left;
        }
        int rc = cel_result_get(r, left, &value, &err);
        code = report(r, rc, value, &err);
    }
    cel_result_free(r);
    cel_client_close(c);
    return code;
}

int
cel__call_main(int argc, char **argv)
{
    call_t call;

    parse_call(argc, argv, &call);
    int code = run_call(&call);
    json_decref(call.args);
    json_decref(call.kwargs);
    return code;
}
