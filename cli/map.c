/* map.c: `celeriac map`: one task per line of input, the results printed
 * in input order as soon as they and all before them are ready.
 *
 * Memory stays bounded whatever the input's size: at most --window tasks
 * are in flight (sent and not yet printed), held in a ring in input
 * order; a line is read only when the ring has room. The head of the ring
 * is what the output waits for, and --timeout bounds that wait for each
 * result in turn, from when it became the head. A line that fails (not
 * JSON, not sent, its task failed) prints null in its place and a line on
 * stderr, and the rest go on. */
#include "cli.h"
#include "lines.h"
#include "progress.h"

#include <cel/clock.h>
#include <cel/producer.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_WINDOW 1000
#define MAX_WINDOW     1000000
#define SLICE_MS       50 /* between looks at input, and bar redraws */

static const char usage_text[] =
    "usage: celeriac map TASK [FILE|-] [-b URL] [-Q QUEUE] [--timeout S]\n"
    "                    [--json] [--window N] [--progress|--no-progress]\n"
    "\n"
    "Sends TASK once per line of FILE (stdin when FILE is - or absent) and\n"
    "prints the results in input order, each as soon as it and all before\n"
    "it are ready. A line holding a JSON array is the positional arguments,\n"
    "an object the keyword arguments, any other JSON value the one\n"
    "argument; blank lines are skipped (but counted in line numbers).\n"
    "\n"
    "Output: one line per task, the result as JSON; a failed task prints\n"
    "null, and \"celeriac: line N: ExcType: message\" on stderr; so does a\n"
    "line that is not JSON (\"not JSON: ...\").\n"
    "\n" //
    CEL_CLI_BROKER_HELP "  -Q, --queue   queue to send to (default celery)\n"
    "  --timeout S   wait at most S seconds for each result (exit 3),\n"
    "                from when it was sent or the one before it was\n"
    "                printed, whichever came later\n"
    "  --json        one JSON object per line instead:\n"
    "                {\"line\":N,\"id\":\"...\",\"state\":\"SUCCESS\","
    "\"result\":...},\n"
    "                {\"line\":N,\"id\":\"...\",\"state\":\"FAILURE\","
    "\"exc_type\":\"...\",\n"
    "                \"exc_message\":\"...\"}, or for a line that was not\n"
    "                sent or whose result cannot come (not JSON, a broker\n"
    "                error) {\"line\":N,\"id\":...,\"state\":\"ERROR\","
    "\"error\":\"...\"}\n"
    "  --window N    at most N tasks in flight (default 1000)\n"
    "  --progress    draw a progress bar on stderr (default: when stderr\n"
    "                is a terminal); --no-progress: never\n"
    "  -h, --help    this text\n"
    "\n"
    "Exit: 0 every task succeeded, 1 a line or task failed or a broker\n"
    "error, 2 misuse (also: FILE cannot be opened), 3 a result did not\n"
    "come within --timeout.\n";

typedef struct {
    long line;       /* its number in the input */
    cel_result_t *r; /* NULL when it was not sent */
    char *why;       /* set (owned) when it failed outside the task */
} slot_t;

typedef struct {
    const char *task, *path, *broker, *queue;
    int64_t timeout_ms; /* for each result; -1: no limit */
    bool json;
    long window;
    int progress; /* -1: when stderr is a terminal, 0: off, 1: on */
} map_opts_t;

typedef struct {
    map_opts_t o;
    cel_client_t *c;
    cel_lines_t in;
    cel_progress_t bar;
    slot_t *ring; /* o.window slots; count of them from head on in use */
    size_t head, count;
    int64_t head_since_ms; /* when the head slot became the head */
    int64_t done;          /* printed */
    bool input_over;       /* the end of input, or reading stopped */
    bool failed;           /* a line failed: exit 1 */
    bool stdout_tty;       /* the bar must make way for stdout too */
} map_t;

static const struct option options[] = {
    {"broker", required_argument, NULL, 'b'},
    {"queue", required_argument, NULL, 'Q'},
    {"timeout", required_argument, NULL, 't'},
    {"json", no_argument, NULL, 'j'},
    {"window", required_argument, NULL, 'w'},
    {"progress", no_argument, NULL, 'p'},
    {"no-progress", no_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
static const char short_options[] = "+:b:Q:h";

static void
parse_option(int c, map_opts_t *o)
{
    if (c == 'b') {
        o->broker = optarg;
    } else if (c == 'Q') {
        o->queue = optarg;
    } else if (c == 't') {
        if (cel__cli_seconds(optarg, &o->timeout_ms) != 0) {
            cel__cli_usage(usage_text, "--timeout wants a number of seconds");
        }
    } else if (c == 'j') {
        o->json = true;
    } else if (c == 'w') {
        if (cel__cli_count(optarg, 1, MAX_WINDOW, &o->window) != 0) {
            cel__cli_usage(usage_text, "--window wants a number of tasks "
                                       "from 1 to 1000000");
        }
    } else if (c == 'p' || c == 'P') {
        o->progress = c == 'p';
    } else if (c == 'h') {
        cel__cli_help(usage_text);
    } else {
        cel__cli_usage(usage_text, "unknown option or missing value");
    }
}

static void
parse_map(int argc, char **argv, map_opts_t *o)
{
    cel_cli_args_t a;
    int c;

    memset(o, 0, sizeof(*o));
    o->timeout_ms = -1;
    o->window = DEFAULT_WINDOW;
    o->progress = -1;
    if (cel__cli_args_split(argc, argv, short_options, options, &a) != 0) {
        cel__cli_usage(usage_text, "out of memory");
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(a.nopts, a.opts, short_options, options, NULL)) !=
           -1) {
        parse_option(c, o);
    }
    if (a.nwords == 0) {
        cel__cli_usage(usage_text, "map needs a TASK name");
    }
    if (a.nwords > 2) {
        cel__cli_usage(usage_text, "map takes a TASK and one FILE");
    }
    o->task = a.words[0];
    o->path = a.nwords == 2 ? a.words[1] : NULL;
    cel__cli_args_clear(&a);
}

static char *format_why(const char *fmt, ...) CEL_PRINTF(1, 2);

static char *
format_why(const char *fmt, ...)
{
    va_list ap;
    char *why = malloc(256);

    if (why != NULL) {
        va_start(ap, fmt);
        vsnprintf(why, 256, fmt, ap);
        va_end(ap);
    }
    return why;
}

/* Writes o (stolen) as one line of --json output. */
static void
print_object(json_t *o)
{
    char *text =
        o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    puts(text ? text : "{\"state\":\"ERROR\",\"error\":\"out of memory\"}");
    free(text);
    json_decref(o);
}

/* A line on stderr, after the bar has made way. */
static void complain(map_t *m, const char *fmt, ...) CEL_PRINTF(2, 3);

static void
complain(map_t *m, const char *fmt, ...)
{
    va_list ap;

    cel__progress_clear(&m->bar);
    fputs("celeriac: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void
print_success(const map_t *m, const slot_t *s, const json_t *v)
{
    if (m->o.json) {
        print_object(json_pack("{s:I,s:s,s:s,s:O}", "line", (json_int_t)s->line,
                               "id", cel_result_id(s->r), "state", "SUCCESS",
                               "result", (json_t *)v));
        return;
    }
    char *text =
        json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
    puts(text ? text : "null");
    free(text);
}

static void
print_failure(map_t *m, const slot_t *s)
{
    const char *type = cel_result_exc_type(s->r);
    const char *msg = cel_result_exc_message(s->r);

    complain(m, "line %ld: %s: %s", s->line, type ? type : "Exception",
             msg ? msg : "");
    if (!m->o.json) {
        puts("null");
        return;
    }
    print_object(json_pack(
        "{s:I,s:s,s:s,s:s,s:s}", "line", (json_int_t)s->line, "id",
        cel_result_id(s->r), "state", cel_state_name(cel_result_state(s->r)),
        "exc_type", type ? type : "Exception", "exc_message", msg ? msg : ""));
}

static void
print_error(map_t *m, const slot_t *s, const char *why)
{
    complain(m, "line %ld: %s", s->line, why);
    if (!m->o.json) {
        puts("null");
        return;
    }
    const char *id = s->r ? cel_result_id(s->r) : NULL;
    print_object(json_pack("{s:I,s:o,s:s,s:s}", "line", (json_int_t)s->line,
                           "id", id ? json_string(id) : json_null(), "state",
                           "ERROR", "error", why));
}

/* Prints the head slot, which is ready. */
static void
print_head(map_t *m, const slot_t *s)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v = NULL;

    int rc = s->why ? CEL_EINVAL : cel_result_get(s->r, 0, &v, &err);
    if (rc == 0) {
        print_success(m, s, v);
        return;
    }
    m->failed = true;
    if (rc == CEL_ETASK) {
        print_failure(m, s);
    } else {
        print_error(m, s, s->why ? s->why : err.text);
    }
}

static bool
head_ready(const map_t *m)
{
    const slot_t *s = &m->ring[m->head];

    return s->why != NULL || cel_result_ready(s->r);
}

static void
pop_head(map_t *m)
{
    slot_t *s = &m->ring[m->head];

    cel_result_free(s->r);
    free(s->why);
    memset(s, 0, sizeof(*s));
    m->head = (m->head + 1) % (size_t)m->o.window;
    m->count--;
    m->done++;
    m->head_since_ms = cel_clock_now_ms();
}

/* Prints every ready slot from the head on, in order. */
static void
print_ready(map_t *m)
{
    bool printed = false;

    while (m->count > 0 && head_ready(m)) {
        if (!printed && m->stdout_tty) {
            cel__progress_clear(&m->bar);
        }
        print_head(m, &m->ring[m->head]);
        pop_head(m);
        printed = true;
    }
    if (printed) {
        fflush(stdout);
    }
    cel__progress_update(&m->bar, m->done);
}

static slot_t *
push_slot(map_t *m, long line)
{
    if (m->count == 0) {
        m->head_since_ms = cel_clock_now_ms();
    }
    slot_t *s = &m->ring[(m->head + m->count) % (size_t)m->o.window];
    m->count++;
    s->line = line;
    return s;
}

/* Sends the task for one line of input (the line is the task's arguments
 * as JSON), or notes why it could not be. */
static void
send_line(map_t *m, const char *line)
{
    slot_t *s = push_slot(m, m->in.lineno);
    const json_t *args = NULL, *kwargs = NULL;
    json_t *one = NULL;
    json_error_t jerr;

    json_t *v = json_loads(line, JSON_DECODE_ANY, &jerr);
    if (v == NULL) {
        s->why = format_why("not JSON: %s", jerr.text);
        return;
    }
    if (json_is_array(v)) {
        args = v;
    } else if (json_is_object(v)) {
        kwargs = v;
    } else {
        args = one = json_pack("[O]", v);
    }
    s->r = cel_apply_async(m->c, m->o.task, args, kwargs, NULL);
    if (s->r == NULL) {
        /* A broker error: the lines after it would fail the same way. */
        s->why = format_why("not sent, and the rest of the input not read: "
                            "%s",
                            cel_client_error(m->c));
        m->input_over = true;
    }
    json_decref(one);
    json_decref(v);
}

/* Reads one line of input, waiting up to timeout_ms: true when it did
 * something (sent a line, skipped a blank one, met the end). */
static bool
read_line(map_t *m, int timeout_ms)
{
    char *line;

    int r = cel__lines_next(&m->in, timeout_ms, &line);
    if (r == 1) {
        if (!cel__lines_blank(line)) {
            send_line(m, line);
        }
        return true;
    }
    if (r == CEL_ETIMEDOUT) {
        return false;
    }
    m->input_over = true;
    if (r == CEL_ETOOBIG) {
        push_slot(m, m->in.lineno + 1)->why =
            format_why("longer than %zu MiB; the rest of the input not read",
                       CEL_LINE_MAX_BYTES >> 20);
    } else if (r != 0) {
        m->failed = true;
        complain(m, "reading %s: %s", m->o.path ? m->o.path : "stdin",
                 r == CEL_ENOMEM ? "out of memory" : strerror(errno));
    }
    return true;
}

/* The head's wait ran out: what the client said, less its own count of
 * milliseconds (the last slice's, not the whole wait's). */
static int
timed_out(map_t *m, int rc, const cel_error_t *err)
{
    const char *hint = strstr(err->text, "; ");

    cel__progress_finish(&m->bar); /* the bar as it stood, then why */
    m->bar.on = false;
    complain(m, "line %ld: timed out: no result within %.3g s%s%s",
             m->ring[m->head].line, (double)m->o.timeout_ms / 1000.0,
             rc == CEL_EBLOCKED ? "; "
             : hint             ? hint
                                : "",
             rc == CEL_EBLOCKED ? err->text : "");
    return CEL_EXIT_TIMEOUT;
}

/* Waits for the head up to slice_ms (-1: no limit), or less when its
 * --timeout comes sooner. Returns 0, or CEL_EXIT_TIMEOUT. */
static int
wait_head(map_t *m, int slice_ms)
{
    slot_t *s = &m->ring[m->head];
    cel_error_t err = CEL_ERROR_INIT;
    int64_t wait = slice_ms, left = -1;

    if (s->why != NULL) {
        return 0;
    }
    if (m->o.timeout_ms >= 0) {
        left = m->head_since_ms + m->o.timeout_ms - cel_clock_now_ms();
        left = left < 0 ? 0 : left;
        wait = wait < 0 || left < wait ? left : wait;
    }
    int rc = cel_result_wait(s->r, wait, &err);
    if (rc == CEL_ETIMEDOUT || rc == CEL_EBLOCKED) {
        return wait == left ? timed_out(m, rc, &err) : 0;
    }
    if (rc != 0) { /* its result cannot come: the connection was lost */
        s->why = format_why("%s", err.text);
    }
    return 0;
}

/* Until every line is read and every result printed, or a --timeout. */
static int
run_map(map_t *m)
{
    bool progress = m->bar.on;

    for (;;) {
        print_ready(m);
        if (m->input_over && m->count == 0) {
            return m->failed ? CEL_EXIT_FAILED : CEL_EXIT_OK;
        }
        bool room = !m->input_over && m->count < (size_t)m->o.window;
        /* Nothing in flight: only input can bring something. */
        int input_wait = m->count > 0 ? 0 : progress ? SLICE_MS : -1;
        if (room && read_line(m, input_wait)) {
            continue;
        }
        if (m->count > 0) {
            /* With input still to come, look at it again soon. */
            int slice = room || progress ? SLICE_MS : -1;
            if (wait_head(m, slice) != 0) {
                return CEL_EXIT_TIMEOUT;
            }
        }
    }
}

static void
map_clear(map_t *m)
{
    while (m->count > 0) {
        pop_head(m);
    }
    free(m->ring);
    cel_client_close(m->c);
    cel__lines_close(&m->in);
}

/* The client's logger: its line (a reconnect) on stderr, off the bar's
 * line; the bar comes back at its next update. */
static void
log_line(int level, const char *line, void *arg)
{
    cel__progress_clear(arg);
    cel_client_log_stderr(level, line, NULL);
}

static int
open_map(map_t *m)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;

    if (cel__lines_open(&m->in, m->o.path) != 0) {
        fprintf(stderr, "celeriac: %s: %s\n", m->o.path, strerror(errno));
        fputs(usage_text, stderr);
        return CEL_EXIT_USAGE;
    }
    bool bar = m->o.progress < 0 ? isatty(STDERR_FILENO) : m->o.progress;
    cel__progress_init(&m->bar, bar,
                       bar ? cel__lines_count(&m->in) : (int64_t)-1);
    m->stdout_tty = isatty(STDOUT_FILENO);
    m->ring = calloc((size_t)m->o.window, sizeof(*m->ring));
    if (m->ring == NULL) {
        fprintf(stderr, "celeriac: out of memory\n");
        return CEL_EXIT_FAILED;
    }
    co.broker_url = m->o.broker;
    co.queue = m->o.queue;
    co.name = "celeriac map";
    co.log = log_line;
    co.log_arg = &m->bar;
    co.connect_timeout_ms = m->o.timeout_ms > 0 ? m->o.timeout_ms : 0;
    if (cel_client_open(&co, &m->c, &err) != 0) {
        fprintf(stderr, "celeriac: %s\n", err.text);
        return CEL_EXIT_FAILED;
    }
    return CEL_EXIT_OK;
}

int
cel__map_main(int argc, char **argv)
{
    map_t m;

    memset(&m, 0, sizeof(m));
    parse_map(argc, argv, &m.o);
    int code = open_map(&m);
    if (code == CEL_EXIT_OK) {
        code = run_map(&m);
        cel__progress_finish(&m.bar);
    }
    map_clear(&m);
    return code;
}
