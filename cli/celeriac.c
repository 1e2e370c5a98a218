/* celeriac.c: the command line client.
 *
 *   celeriac call TASK [ARGS_JSON [KWARGS_JSON]] [-b URL] [-Q QUEUE]
 *                 [--timeout SECONDS]
 *
 * Sends one task and waits for it. Exit codes: 0 SUCCESS (the result as
 * JSON on stdout), 1 FAILURE ("ExcType: message" on stderr) or a broker
 * error, 2 misuse (with the usage), 3 timeout. */
#include <cel/clock.h>
#include <cel/producer.h>

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

static const char usage_text[] =
    "usage: celeriac call TASK [ARGS_JSON [KWARGS_JSON]] [-b URL] [-Q QUEUE]\n"
    "                     [--timeout SECONDS] [--compression NAME]\n"
    "                     [--queue-type classic|quorum]\n"
    "\n"
    "  ARGS_JSON     positional arguments as a JSON array (default [])\n"
    "  KWARGS_JSON   keyword arguments as a JSON object (default {})\n"
    "  -b, --broker  broker URL (default $CELERIAC_BROKER_URL, else\n"
    "                amqp://guest:guest@localhost:5672//); URLs separated\n"
    "                by ';' are tried in turn\n"
    "  -Q, --queue   queue to send to (default celery)\n"
    "  --timeout S   give up after S seconds (exit 3); default: wait\n"
    "  --compression zlib, gzip or bzip2: send the body compressed, as\n"
    "                Celery's compression= option does\n"
    "  --queue-type  declare the queue classic (default) or quorum; one\n"
    "                that exists is used as it is\n"
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

static _Noreturn void
usage(const char *why)
{
    if (why != NULL) {
        fprintf(stderr, "celeriac: %s\n", why);
    }
    fputs(usage_text, stderr);
    exit(EXIT_USAGE);
}

static json_t *
parse_json_arg(const char *text, bool want_array)
{
    json_error_t jerr;
    char why[300];

    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (v == NULL) {
        snprintf(why, sizeof(why), "%s is not JSON: %s",
                 want_array ? "ARGS_JSON" : "KWARGS_JSON", jerr.text);
        usage(why);
    }
    if (want_array ? !json_is_array(v) : !json_is_object(v)) {
        json_decref(v);
        usage(want_array ? "ARGS_JSON must be a JSON array, e.g. [2, 3]"
                         : "KWARGS_JSON must be a JSON object, e.g. "
                           "{\"x\": 1}");
    }
    return v;
}

static void
parse_call(int argc, char **argv, call_t *call)
{
    static const struct option opts[] = {
        {"broker", required_argument, NULL, 'b'},
        {"queue", required_argument, NULL, 'Q'},
        {"timeout", required_argument, NULL, 't'},
        {"compression", required_argument, NULL, 'z'},
        {"queue-type", required_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    char *end;

    memset(call, 0, sizeof(*call));
    call->timeout_ms = -1;
    optind = 2; /* after "call" */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+b:Q:h", opts, NULL)) != -1) {
        if (c == 'b') {
            call->broker = optarg;
        } else if (c == 'Q') {
            call->queue = optarg;
        } else if (c == 't') {
            double s = strtod(optarg, &end);
            if (*end != '\0' || !(s >= 0) || s > 1e9) {
                usage("--timeout wants a number of seconds");
            }
            call->timeout_ms = (int64_t)llround(s * 1000.0);
        } else if (c == 'z') {
            call->compression = optarg;
        } else if (c == 'y') {
            if (strcmp(optarg, "classic") != 0 &&
                strcmp(optarg, "quorum") != 0) {
                usage("--queue-type wants classic or quorum");
            }
            call->queue_type = optarg;
        } else if (c == 'h') {
            fputs(usage_text, stdout);
            exit(0);
        } else {
            usage("unknown option or missing value");
        }
    }
}

static void
parse_positionals(int argc, char **argv, call_t *call)
{
    /* Options may come before or after the positionals: collect the
     * non-option words, then parse the options among them. */
    char *words[3];
    int n = 0, rest = 0;
    char **opts = calloc((size_t)argc + 1, sizeof(*opts));

    opts[rest++] = argv[0];
    opts[rest++] = argv[1];
    for (int i = 2; i < argc; i++) {
        bool takes_value = strcmp(argv[i], "-b") == 0 ||
                           strcmp(argv[i], "-Q") == 0 ||
                           strcmp(argv[i], "--broker") == 0 ||
                           strcmp(argv[i], "--queue") == 0 ||
                           strcmp(argv[i], "--timeout") == 0 ||
                           strcmp(argv[i], "--compression") == 0 ||
                           strcmp(argv[i], "--queue-type") == 0;
        if (argv[i][0] == '-' && argv[i][1] != '\0' &&
            !(argv[i][1] >= '0' && argv[i][1] <= '9')) {
            opts[rest++] = argv[i];
            if (takes_value && i + 1 < argc) {
                opts[rest++] = argv[++i];
            }
        } else if (n < 3) {
            words[n++] = argv[i];
        } else {
            free(opts);
            usage("too many arguments");
        }
    }
    parse_call(rest, opts, call);
    free(opts);
    if (n == 0) {
        usage("call needs a TASK name");
    }
    call->task = words[0];
    call->args = n > 1 ? parse_json_arg(words[1], true) : json_array();
    call->kwargs = n > 2 ? parse_json_arg(words[2], false) : json_object();
}

static int
report(cel_result_t *r, int rc, const json_t *value, const cel_error_t *err)
{
    if (rc == 0) {
        char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT |
                                           JSON_REAL_PRECISION(17));
        printf("%s\n", text ? text : "null");
        free(text);
        return 0;
    }
    if (rc == CEL_ETIMEDOUT || rc == CEL_EBLOCKED) {
        fprintf(stderr, "celeriac: timed out: %s\n", err->text);
        return EXIT_TIMEOUT;
    }
    if (rc == CEL_ETASK) {
        fprintf(stderr, "%s: %s\n", cel_result_exc_type(r),
                cel_result_exc_message(r));
        return EXIT_FAILED;
    }
    fprintf(stderr, "celeriac: %s\n", err->text);
    return EXIT_FAILED;
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
    /* The timeout covers the whole call, connecting included: a server
     * that accepts and never answers must not outlast it. */
    int64_t started_at_ms = cel_clock_now_ms();
    co.connect_timeout_ms = call->timeout_ms;
    so.compression = call->compression;
    if (cel_client_open(&co, &c, &err) != 0) {
        fprintf(stderr, "celeriac: %s\n", err.text);
        return EXIT_FAILED;
    }
    cel_result_t *r =
        cel_apply_async(c, call->task, call->args, call->kwargs, &so);
    int code;
    if (r == NULL) {
        fprintf(stderr, "celeriac: %s\n", cel_client_error(c));
        code = EXIT_FAILED;
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
main(int argc, char **argv)
{
    call_t call;

    if (argc < 2) {
        usage(NULL);
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "call") != 0) {
        usage("unknown command (the command is: call)");
    }
    parse_positionals(argc, argv, &call);
    int code = run_call(&call);
    json_decref(call.args);
    json_decref(call.kwargs);
    return code;
}
