/* config.c: workerd's command line. Options mirror `celery worker`:
 * -A/--app, -c/--concurrency, -Q/--queues, -b/--broker, -n/--hostname,
 * -l/--loglevel, --prefetch-multiplier, -E, -f/--logfile, --pidfile. */
#include "config.h"
#include "rate.h"

#include <cel/log.h>
#include <cel/url.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_BROKER "amqp://guest:guest@localhost:5672//"

static const char usage_text[] =
    "usage: workerd -A MODULE.so [-c N] [-Q QUEUES] [-b URL] [-n NAME]\n"
    "               [-l LEVEL] [--prefetch-multiplier N]\n"
    "               [--hand-back-after S]\n"
    "               [--max-message-size BYTES] [--max-result-size BYTES]\n"
    "               [--heartbeat SECONDS] [--failover-strategy S]\n"
    "               [--queue-type classic|quorum] [--delivery-limit N]\n"
    "               [--acks-early] [--reject-on-worker-lost]\n"
    "               [--time-limit S] [--soft-time-limit S]\n"
    "               [--max-tasks-per-child N] [--max-memory-per-child KIB]\n"
    "               [--shutdown-timeout S]\n"
    "               [-E] [-f LOGFILE] [--pidfile FILE] [--without-control]\n"
    "               [--without-heartbeat] [--rate-limit TASK=RATE]\n"
    "\n"
    "Runs Celery tasks written in C: forks N children, each consuming the\n"
    "queues and publishing results to the callers' rpc:// reply queues.\n"
    "\n"
    "  -A, --app MODULE.so         task module to load (repeatable)\n"
    "  -c, --concurrency N         child processes (default: CPUs)\n"
    "  -Q, --queues a,b            queues to consume (default: celery)\n"
    "  -b, --broker URL            broker URL (default: $CELERIAC_BROKER_URL,\n"
    "                              else " DEFAULT_BROKER ");\n"
    "                              URLs separated by ';' fail over in turn\n"
    "      --failover-strategy S   round-robin (default) or shuffle\n"
    "      --queue-type T          declare task queues classic (default, as\n"
    "                              Celery) or quorum; an existing queue is\n"
    "                              used as it is\n"
    "      --delivery-limit N      quorum queues: after N deliveries a task\n"
    "                              goes to the dead-letter exchange, if any\n"
    "  -n, --hostname NAME         node name; %h host, %n short host,\n"
    "                              %d domain (default: celeriac@%h, so\n"
    "                              that a Celery worker on the same host\n"
    "                              keeps its own celery@%h)\n"
    "  -l, --loglevel LEVEL        debug, info, warning, error (default:\n"
    "                              warning)\n"
    "      --prefetch-multiplier N unacked messages per child (default:\n"
    "                              adaptive, 1 to 256, wide for short tasks)\n"
    "      --hand-back-after S     a child whose task runs longer hands the\n"
    "                              tasks it holds unstarted back to the\n"
    "                              queue, for idle children (default 0.025;\n"
    "                              0: never)\n"
    "      --max-message-size B    largest task body accepted (default\n"
    "                              16777216)\n"
    "      --max-result-size B     largest result body published; a larger\n"
    "                              one fails with ResultTooLarge (default\n"
    "                              134217728, RabbitMQ's max_message_size)\n"
    "      --heartbeat S           AMQP heartbeat per child, kept while a\n"
    "                              task runs (default 120, as Celery's;\n"
    "                              the broker may ask for less; 0: off)\n"
    "      --acks-early            ack a task before running it (at most\n"
    "                              once); default: after its result is\n"
    "                              published (at least once)\n"
    "      --reject-on-worker-lost run a task whose child died again (up to\n"
    "                              3 times) instead of failing it with\n"
    "                              WorkerLostError\n"
    "      --time-limit S          hard limit: the child is killed and the\n"
    "                              task fails with TimeLimitExceeded\n"
    "      --soft-time-limit S     the task is told (SoftTimeLimitExceeded)\n"
    "      --max-tasks-per-child N replace a child after N tasks\n"
    "      --max-memory-per-child K replace a child whose RSS passes K KiB\n"
    "      --shutdown-timeout S    a warm shutdown turns cold after S seconds\n"
    "                              (default: waits for running tasks)\n"
    "  -E, --task-events           send task events (celery events, Flower);\n"
    "                              worker events are always sent\n"
    "  -f, --logfile FILE          log to FILE (appended) instead of stderr\n"
    "      --pidfile FILE          write the master's pid to FILE; refuse to\n"
    "                              start while a live workerd holds it\n"
    "      --without-control       do not answer remote control (celery\n"
    "                              inspect/control, Flower)\n"
    "      --without-heartbeat     send no worker-heartbeat events\n"
    "      --rate-limit TASK=RATE  at most RATE runs of TASK on this worker:\n"
    "                              10/s, 100/m, 5/h or a number per second\n"
    "                              (repeatable; also set by remote control)\n"
    "  -h, --help                  show this help\n"
    "  -V, --version               show the version\n"
    "\n"
    "SIGTERM or SIGINT: warm shutdown (running tasks finish and report,\n"
    "prefetched ones go back to the queue); a second one, or SIGQUIT: cold.\n"
    "SIGHUP: warm restart (a warm shutdown, then workerd runs itself again\n"
    "with the same arguments and the same pid).\n";

static int
parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

static void
expand_hostname(const char *pattern, char *out, size_t size)
{
    char host[256] = "localhost";
    size_t o = 0;

    gethostname(host, sizeof(host) - 1);
    char *dot = strchr(host, '.');
    for (const char *p = pattern; *p != '\0' && o + 1 < size; p++) {
        const char *sub = NULL;
        int len = -1;
        if (p[0] == '%' && p[1] == 'h') {
            sub = host;
        } else if (p[0] == '%' && p[1] == 'n') {
            sub = host;
            len = dot ? (int)(dot - host) : -1;
        } else if (p[0] == '%' && p[1] == 'd') {
            sub = dot ? dot + 1 : "";
        }
        if (sub == NULL) {
            out[o++] = *p;
            continue;
        }
        int n = snprintf(out + o, size - o, "%.*s", len < 0 ? 255 : len, sub);
        o += n > 0 ? (size_t)n : 0;
        o = o < size ? o : size - 1;
        p++;
    }
    out[o] = '\0';
}

static int
split_queues(const char *arg, cel_worker_config_t *cfg, cel_error_t *err)
{
    free(cfg->queues_buf);
    cfg->queues_buf = strdup(arg);
    cfg->nqueues = 0;
    char *save = NULL;
    for (char *q = strtok_r(cfg->queues_buf, ",", &save); q != NULL;
         q = strtok_r(NULL, ",", &save)) {
        if (cfg->nqueues == CEL_MAX_QUEUES || strlen(q) > 255) {
            return cel_error_set(err, CEL_EINVAL,
                                 "too many queues, or a name over 255 bytes");
        }
        cfg->queues[cfg->nqueues++] = q;
    }
    if (cfg->nqueues == 0) {
        return cel_error_set(err, CEL_EINVAL, "-Q needs a queue name");
    }
    return 0;
}

static void
set_defaults(cel_worker_config_t *cfg)
{
    const char *env = getenv("CELERIAC_BROKER_URL");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    memset(cfg, 0, sizeof(*cfg));
    cfg->concurrency = cpus > 0 ? (int)cpus : 1;
    cfg->queues[0] = "celery";
    cfg->nqueues = 1;
    cfg->broker_url = env && env[0] ? env : DEFAULT_BROKER;
    /* Not Celery's celery@%h: two workers of one name share a mailbox, and
     * the exclusive one workerd declares (RabbitMQ 4.3's rule) would
     * refuse a Python worker of the same name on the same host. */
    expand_hostname("celeriac@%h", cfg->hostname, sizeof(cfg->hostname));
    cfg->loglevel = CEL_LOG_WARN;
    cfg->prefetch_multiplier = 0; /* adaptive */
    cfg->hand_back_after = CEL_HAND_BACK_AFTER_S;
    cfg->max_message_bytes = 16u << 20;
    cfg->max_result_bytes = CEL_DEFAULT_MAX_RESULT;
    cfg->heartbeat_s = CEL_HEARTBEAT_S;
}

enum {
    OPT_PREFETCH = 256,
    OPT_MAXMSG,
    OPT_MAXRESULT,
    OPT_HEARTBEAT,
    OPT_ACKS_EARLY,
    OPT_REJECT_LOST,
    OPT_TIME_LIMIT,
    OPT_SOFT_LIMIT,
    OPT_MAX_TASKS,
    OPT_MAX_MEMORY,
    OPT_HAND_BACK,
    OPT_FAILOVER,
    OPT_QUEUE_TYPE,
    OPT_DELIVERY_LIMIT,
    OPT_SHUTDOWN_TIMEOUT,
    OPT_PIDFILE,
    OPT_WITHOUT_CONTROL,
    OPT_WITHOUT_HEARTBEAT,
    OPT_RATE_LIMIT,
};

static int
parse_seconds(const char *s, double *out)
{
    char *end;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    double v = strtod(s, &end);
    if (*end != '\0' || !(v > 0 && v <= 86400 * 365)) {
        return -1;
    }
    *out = v;
    return 0;
}

/* The options that tune how tasks run, apart from the connection ones. */
static int
apply_task_option(int c, const char *arg, cel_worker_config_t *cfg,
                  cel_error_t *err)
{
    char *end;
    long v;

    switch (c) {
    case OPT_ACKS_EARLY: cfg->acks_early = true; return 0;
    case OPT_HAND_BACK:
        if (arg != NULL && *arg != '\0' && strtod(arg, &end) == 0 &&
            *end == '\0') {
            cfg->hand_back_after = 0; /* never */
            return 0;
        }
        return parse_seconds(arg, &cfg->hand_back_after) == 0
                   ? 0
                   : cel_error_set(err, CEL_EINVAL,
                                   "--hand-back-after wants seconds (0: "
                                   "never)");
    case OPT_REJECT_LOST: cfg->reject_on_worker_lost = true; return 0;
    case OPT_SHUTDOWN_TIMEOUT:
        return parse_seconds(arg, &cfg->shutdown_timeout) == 0
                   ? 0
                   : cel_error_set(err, CEL_EINVAL,
                                   "--shutdown-timeout wants seconds above "
                                   "0");
    case OPT_TIME_LIMIT:
    case OPT_SOFT_LIMIT:
        if (parse_seconds(arg, c == OPT_TIME_LIMIT
                                   ? &cfg->time_limit
                                   : &cfg->soft_time_limit) != 0) {
            return cel_error_set(err, CEL_EINVAL, "--%s wants seconds above 0",
                                 c == OPT_TIME_LIMIT ? "time-limit"
                                                     : "soft-time-limit");
        }
        return 0;
    case OPT_MAX_TASKS:
    case OPT_MAX_MEMORY:
        if (parse_int(arg, 1, 1L << 40, &v) != 0) {
            return cel_error_set(err, CEL_EINVAL, "--%s wants a number above 0",
                                 c == OPT_MAX_TASKS ? "max-tasks-per-child"
                                                    : "max-memory-per-child");
        }
        *(c == OPT_MAX_TASKS ? &cfg->max_tasks_per_child
                             : &cfg->max_memory_per_child) = v;
        return 0;
    }
    return cel_error_set(err, CEL_EINVAL, "unknown option");
}

/* The options of operations: logs, pid file, remote control, events. */
static int
apply_ops_option(int c, const char *arg, cel_worker_config_t *cfg,
                 cel_error_t *err)
{
    switch (c) {
    case 'E': cfg->task_events = true; return 0;
    case 'f': cfg->logfile = arg; return 0;
    case OPT_PIDFILE: cfg->pidfile = arg; return 0;
    case OPT_WITHOUT_CONTROL: cfg->without_control = true; return 0;
    case OPT_WITHOUT_HEARTBEAT: cfg->without_heartbeat = true; return 0;
    case OPT_RATE_LIMIT: {
        const char *eq = strchr(arg, '=');
        double per_s;
        if (eq == NULL || eq == arg || cel__rate_parse(eq + 1, &per_s) != 0) {
            return cel_error_set(err, CEL_EINVAL,
                                 "--rate-limit wants TASK=RATE, e.g. "
                                 "add=10/s, not %.60s",
                                 arg);
        }
        if (cfg->nrate_limits == CEL_MAX_RATE_LIMITS) {
            return cel_error_set(err, CEL_EINVAL, "too many --rate-limit");
        }
        cfg->rate_limits[cfg->nrate_limits++] = arg;
        return 0;
    }
    }
    return apply_task_option(c, arg, cfg, err);
}

static const struct option long_opts[] = {
    {"app", required_argument, NULL, 'A'},
    {"concurrency", required_argument, NULL, 'c'},
    {"queues", required_argument, NULL, 'Q'},
    {"broker", required_argument, NULL, 'b'},
    {"hostname", required_argument, NULL, 'n'},
    {"loglevel", required_argument, NULL, 'l'},
    {"prefetch-multiplier", required_argument, NULL, OPT_PREFETCH},
    {"max-message-size", required_argument, NULL, OPT_MAXMSG},
    {"max-result-size", required_argument, NULL, OPT_MAXRESULT},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {"acks-early", no_argument, NULL, OPT_ACKS_EARLY},
    {"reject-on-worker-lost", no_argument, NULL, OPT_REJECT_LOST},
    {"time-limit", required_argument, NULL, OPT_TIME_LIMIT},
    {"soft-time-limit", required_argument, NULL, OPT_SOFT_LIMIT},
    {"max-tasks-per-child", required_argument, NULL, OPT_MAX_TASKS},
    {"max-memory-per-child", required_argument, NULL, OPT_MAX_MEMORY},
    {"hand-back-after", required_argument, NULL, OPT_HAND_BACK},
    {"failover-strategy", required_argument, NULL, OPT_FAILOVER},
    {"queue-type", required_argument, NULL, OPT_QUEUE_TYPE},
    {"delivery-limit", required_argument, NULL, OPT_DELIVERY_LIMIT},
    {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT},
    {"task-events", no_argument, NULL, 'E'},
    {"logfile", required_argument, NULL, 'f'},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"without-control", no_argument, NULL, OPT_WITHOUT_CONTROL},
    {"without-heartbeat", no_argument, NULL, OPT_WITHOUT_HEARTBEAT},
    {"rate-limit", required_argument, NULL, OPT_RATE_LIMIT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int
apply_option(int c, const char *arg, cel_worker_config_t *cfg, cel_error_t *err)
{
    long v;

    switch (c) {
    case 'A':
        if (cfg->napps == CEL_MAX_APPS) {
            return cel_error_set(err, CEL_EINVAL, "too many -A modules");
        }
        cfg->apps[cfg->napps++] = arg;
        return 0;
    case 'c':
        if (parse_int(arg, 1, 1024, &v) != 0) {
            return cel_error_set(err, CEL_EINVAL,
                                 "-c wants a number from 1 to 1024");
        }
        cfg->concurrency = (int)v;
        return 0;
    case 'Q': return split_queues(arg, cfg, err);
    case 'b': cfg->broker_url = arg; return 0;
    case OPT_QUEUE_TYPE:
        if (strcmp(arg, "classic") != 0 && strcmp(arg, "quorum") != 0) {
            return cel_error_set(err, CEL_EINVAL,
                                 "--queue-type wants classic or quorum");
        }
        cfg->queue_type = strcmp(arg, "quorum") == 0 ? "quorum" : NULL;
        return 0;
    case OPT_DELIVERY_LIMIT:
        if (parse_int(arg, 1, 1000000, &v) != 0) {
            return cel_error_set(err, CEL_EINVAL,
                                 "--delivery-limit wants 1..1000000");
        }
        cfg->delivery_limit = (int)v;
        return 0;
    case OPT_FAILOVER:
        if (strcmp(arg, "round-robin") != 0 && strcmp(arg, "shuffle") != 0) {
            return cel_error_set(err, CEL_EINVAL,
                                 "--failover-strategy wants round-robin or "
                                 "shuffle");
        }
        cfg->failover_shuffle = strcmp(arg, "shuffle") == 0;
        return 0;
    case 'n':
        expand_hostname(arg, cfg->hostname, sizeof(cfg->hostname));
        return 0;
    case 'l':
        return cel_log_parse_level(arg, &cfg->loglevel) == 0
                   ? 0
                   : cel_error_set(err, CEL_EINVAL, "unknown log level %.40s",
                                   arg);
    case OPT_PREFETCH:
        if (parse_int(arg, 1, 65535, &v) != 0) {
            return cel_error_set(err, CEL_EINVAL,
                                 "--prefetch-multiplier wants 1..65535");
        }
        cfg->prefetch_multiplier = (int)v;
        return 0;
    case OPT_MAXMSG:
        if (parse_int(arg, 64, 1L << 30, &v) != 0) {
            return cel_error_set(err, CEL_EINVAL,
                                 "--max-message-size wants 64..1073741824");
        }
        cfg->max_message_bytes = (size_t)v;
        return 0;
    case OPT_MAXRESULT:
        if (parse_int(arg, 1024, 512L << 20, &v) != 0) {
            return cel_error_set(err, CEL_EINVAL,
                                 "--max-result-size wants 1024..536870912");
        }
        cfg->max_result_bytes = (size_t)v;
        return 0;
    case OPT_HEARTBEAT:
        if (parse_int(arg, 0, 3600, &v) != 0) {
            return cel_error_set(err, CEL_EINVAL, "--heartbeat wants 0..3600");
        }
        cfg->heartbeat_s = (int)v;
        return 0;
    }
    return apply_ops_option(c, arg, cfg, err);
}

int
cel__config_parse(int argc, char **argv, cel_worker_config_t *cfg,
                  cel_error_t *err)
{
    int c;

    set_defaults(cfg);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":A:c:Q:b:n:l:f:EhV", long_opts,
                            NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return 1;
        }
        if (c == 'V') {
            printf("workerd (celeriac) %s\n", CEL_VERSION);
            return 1;
        }
        if (c == '?' || c == ':') {
            return cel_error_set(err, CEL_EINVAL, "%s option %s",
                                 c == ':' ? "missing value for" : "unknown",
                                 argv[optind - 1]);
        }
        int r = apply_option(c, optarg, cfg, err);
        if (r != 0) {
            return r;
        }
    }
    if (optind < argc) {
        return cel_error_set(err, CEL_EINVAL, "unexpected argument %.60s",
                             argv[optind]);
    }
    if (cfg->napps == 0) {
        return cel_error_set(err, CEL_EINVAL,
                             "no task module: give -A MODULE.so");
    }
    if (cfg->delivery_limit > 0 && cfg->queue_type == NULL) {
        return cel_error_set(err, CEL_EINVAL,
                             "--delivery-limit needs --queue-type quorum");
    }
    /* A URL that cannot work is misuse: refused now, not retried forever. */
    cel_url_t u[CEL_URL_MAX_NODES];
    int n;
    return cel_url_list_parse(cfg->broker_url, u, CEL_URL_MAX_NODES, &n, err);
}

void
cel__config_clear(cel_worker_config_t *cfg)
{
    free(cfg->queues_buf);
    cfg->queues_buf = NULL;
}

const char *
cel__usage_line(void)
{
    return "usage: workerd -A MODULE.so [-c N] [-Q QUEUES] [-b URL] "
           "[-n NAME] [-l LEVEL] (--help for more)";
}
