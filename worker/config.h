/* config.h: workerd's settings: defaults, then the environment
 * (CELERIAC_BROKER_URL), then the command line, in Celery's spelling. */
#ifndef CEL_WORKER_CONFIG_H
#define CEL_WORKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <cel/error.h>
#include <cel/log.h>

#define CEL_MAX_APPS        8
#define CEL_MAX_QUEUES      16
#define CEL_MAX_RATE_LIMITS 32
#define CEL_EXIT_USAGE      2 /* misuse (the master's exit code) */

/* RabbitMQ's default max_message_size (3.8 to 3.13): a larger message
 * closes the channel. */
#define CEL_DEFAULT_MAX_RESULT ((size_t)128 << 20)

/* A task that has run this long makes its child hand back the tasks it
 * holds unstarted (watch.h). */
#define CEL_HAND_BACK_AFTER_S 0.025

/* The AMQP heartbeat each child asks for: Celery's broker_heartbeat. */
#define CEL_HEARTBEAT_S 120

typedef struct {
    const char *apps[CEL_MAX_APPS]; /* -A: task modules (borrowed argv) */
    int napps;
    int concurrency;  /* -c: children */
    char *queues_buf; /* owned copy of -Q, split in place */
    const char *queues[CEL_MAX_QUEUES];
    int nqueues;
    const char *broker_url;     /* -b, CELERIAC_BROKER_URL, or the default */
    char hostname[256];         /* -n, after %h/%n/%d expansion */
    cel_log_level_t loglevel;   /* -l */
    int prefetch_multiplier;    /* per child; 0: adaptive (window.h) */
    double hand_back_after;     /* seconds; 0: never (watch.h) */
    size_t max_message_bytes;   /* larger task bodies fail unread */
    size_t max_result_bytes;    /* larger results fail (ResultTooLarge) */
    int heartbeat_s;            /* AMQP heartbeat of each child; 0 = off */
    const char *queue_type;     /* --queue-type quorum, or NULL: classic */
    int delivery_limit;         /* --delivery-limit, 0: the broker's */
    bool failover_shuffle;      /* a failover list: any node first, not
                                   the next in turn */
    bool acks_early;            /* ack before running (Celery's default) */
    bool reject_on_worker_lost; /* requeue a task whose child died */
    double time_limit;          /* hard, seconds; 0: none */
    double soft_time_limit;     /* seconds; 0: none */
    double shutdown_timeout;    /* a warm shutdown turns cold after this
                                   long (seconds); 0: never, as Celery */
    long max_tasks_per_child;   /* 0: no limit */
    long max_memory_per_child;  /* KiB of RSS; 0: no limit */
    /* Operations (Celery's names): */
    const char *logfile;    /* -f/--logfile, NULL: stderr (borrowed argv) */
    const char *pidfile;    /* --pidfile, NULL: none (borrowed argv) */
    bool task_events;       /* -E: send task events from the start */
    bool without_control;   /* --without-control: no pidbox */
    bool without_heartbeat; /* --without-heartbeat: no worker-heartbeat */
    const char *rate_limits[CEL_MAX_RATE_LIMITS]; /* --rate-limit TASK=RATE,
                                                     checked, borrowed argv */
    int nrate_limits;
} cel_worker_config_t;

/* cel__config_parse fills cfg from the environment and argv. Returns 0 to
 * run, 1 when --help or --version was handled (exit 0), or CEL_EINVAL or
 * CEL_EURL (a broker URL that cannot work) with the reason in err (exit 2
 * with the usage line). */
int cel__config_parse(int argc, char **argv, cel_worker_config_t *cfg,
                      cel_error_t *err);
void cel__config_clear(cel_worker_config_t *cfg);

/* cel__usage_line is the one-line usage printed after a misuse. */
const char *cel__usage_line(void);

#endif
