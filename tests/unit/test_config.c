/* workerd's command line: defaults, the environment, flags over the
 * environment, Celery's spellings, and misuse rejected with a reason. */
#include "config.h"
#include "rate.h"

#include <cel/log.h>

#include <stdlib.h>

#include "check.h"

static int
parse(cel_worker_config_t *cfg, cel_error_t *err, int argc, char **argv)
{
    cel__config_clear(cfg);
    return cel__config_parse(argc, argv, cfg, err);
}

#define ARGV(...)                                                              \
    (sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)), (char *[])             \
    {                                                                          \
        __VA_ARGS__                                                            \
    }

static void
expect_bad(const char *why, int argc, char **argv)
{
    cel_worker_config_t cfg = {0};
    cel_error_t err = CEL_ERROR_INIT;

    CHECK_EQ_INT(parse(&cfg, &err, argc, argv), CEL_EINVAL);
    CHECK_CONTAINS(err.text, why);
    cel__config_clear(&cfg);
}

int
main(void)
{
    cel_worker_config_t cfg = {0};
    cel_error_t err = CEL_ERROR_INIT;

    unsetenv("CELERIAC_BROKER_URL");
    CHECK_OK(parse(&cfg, &err, ARGV("workerd", "-A", "m.so")));
    CHECK(cfg.concurrency >= 1);
    CHECK_EQ_INT(cfg.nqueues, 1);
    CHECK_STR_EQ(cfg.queues[0], "celery");
    CHECK_STR_EQ(cfg.broker_url, "amqp://guest:guest@localhost:5672//");
    CHECK_EQ_INT(cfg.loglevel, CEL_LOG_WARN);
    CHECK_EQ_INT(cfg.prefetch_multiplier, 0); /* adaptive */
    CHECK(cfg.hand_back_after > 0);
    CHECK_EQ_INT(cfg.heartbeat_s, 120);
    CHECK_EQ_INT(cfg.max_message_bytes, 16 << 20);
    CHECK(strncmp(cfg.hostname, "celeriac@", 9) == 0);

    setenv("CELERIAC_BROKER_URL", "amqp://env-host//", 1);
    CHECK_OK(parse(&cfg, &err, ARGV("workerd", "-A", "m.so")));
    CHECK_STR_EQ(cfg.broker_url, "amqp://env-host//");
    CHECK_OK(
        parse(&cfg, &err,
              ARGV("workerd", "--app", "a.so", "-A", "b.so", "-c", "4", "-Q",
                   "q1,q2", "-b", "amqp://flag-host//", "-n", "w1@%h", "-l",
                   "INFO", "--prefetch-multiplier", "1", "--max-message-size",
                   "1024", "--heartbeat", "30", "--hand-back-after", "0")));
    CHECK_EQ_INT(cfg.napps, 2);
    CHECK_STR_EQ(cfg.apps[1], "b.so");
    CHECK_EQ_INT(cfg.concurrency, 4);
    CHECK_EQ_INT(cfg.nqueues, 2);
    CHECK_STR_EQ(cfg.queues[1], "q2");
    CHECK_STR_EQ(cfg.broker_url, "amqp://flag-host//");
    CHECK(strncmp(cfg.hostname, "w1@", 3) == 0 &&
          strchr(cfg.hostname, '%') == NULL);
    CHECK_EQ_INT(cfg.loglevel, CEL_LOG_INFO);
    CHECK_EQ_INT(cfg.prefetch_multiplier, 1);
    CHECK_EQ_INT(cfg.max_message_bytes, 1024);
    CHECK_EQ_INT(cfg.heartbeat_s, 30);
    CHECK(cfg.hand_back_after == 0);
    cel__config_clear(&cfg);
    CHECK_OK(parse(&cfg, &err,
                   ARGV("workerd", "-A", "m.so", "--hand-back-after", "1.5")));
    CHECK(cfg.hand_back_after == 1.5);
    cel__config_clear(&cfg);

    expect_bad("no task module", ARGV("workerd"));
    expect_bad("-c wants", ARGV("workerd", "-A", "m.so", "-c", "0"));
    expect_bad("-c wants", ARGV("workerd", "-A", "m.so", "-c", "4x"));
    expect_bad("unknown log level",
               ARGV("workerd", "-A", "m.so", "-l", "loud"));
    expect_bad("unknown option", ARGV("workerd", "-A", "m.so", "--frob"));
    expect_bad("missing value", ARGV("workerd", "-A"));
    expect_bad("unexpected argument", ARGV("workerd", "-A", "m.so", "extra"));
    expect_bad("-Q needs", ARGV("workerd", "-A", "m.so", "-Q", ","));
    expect_bad("--prefetch-multiplier",
               ARGV("workerd", "-A", "m.so", "--prefetch-multiplier", "-1"));
    expect_bad("--hand-back-after wants",
               ARGV("workerd", "-A", "m.so", "--hand-back-after", "-1"));
    expect_bad("--rate-limit wants",
               ARGV("workerd", "-A", "m.so", "--rate-limit", "add=10/d"));
    expect_bad("--rate-limit wants",
               ARGV("workerd", "-A", "m.so", "--rate-limit", "10/s"));

    /* Operations: Celery's spellings. */
    CHECK_OK(
        parse(&cfg, &err,
              ARGV("workerd", "-A", "m.so", "-E", "-f", "/tmp/w.log",
                   "--pidfile", "/tmp/w.pid", "--without-control",
                   "--rate-limit", "add=10/s", "--rate-limit", "mul=100/m")));
    CHECK(cfg.task_events && cfg.without_control);
    CHECK_STR_EQ(cfg.logfile, "/tmp/w.log");
    CHECK_STR_EQ(cfg.pidfile, "/tmp/w.pid");
    CHECK_EQ_INT(cfg.nrate_limits, 2);
    CHECK_STR_EQ(cfg.rate_limits[1], "mul=100/m");
    double per_s = 0;
    CHECK_OK(cel__rate_parse("100/m", &per_s));
    CHECK(per_s > 1.66 && per_s < 1.67);
    CHECK_OK(cel__rate_parse("5", &per_s));
    CHECK(per_s == 5);
    CHECK_EQ_INT(cel__rate_parse("5/x", &per_s), CEL_EINVAL);
    /* The shared bucket: one run per 100 ms, whoever asks; a run over the
     * limit has the next turn reserved, so turns line up in order. */
    static cel_rate_t table[CEL_RATE_MAX];
    int turn = -1, t2 = -1, t3 = -1;
    CHECK_OK(cel__rate_set(table, "add", 10, "10/s"));
    CHECK_EQ_INT(cel__rate_take(table, "add", 1000000, &turn), 0);
    CHECK_EQ_INT(turn, 0);
    CHECK_EQ_INT(cel__rate_take(table, "add", 1050000, &turn), 50000);
    CHECK(turn > 0);
    CHECK_EQ_INT(cel__rate_take(table, "add", 1050000, &t2), 150000);
    CHECK_EQ_INT(cel__rate_take(table, "add", 1100000, &t3), 200000);
    /* A held task handed back unrun gives its turn to the next run. */
    cel__rate_give_back(table, t2);
    CHECK_EQ_INT(cel__rate_take(table, "add", 1200000, &t2), 0);
    CHECK_EQ_INT(t2, 0);
    CHECK_EQ_INT(cel__rate_take(table, "add", 1500000, &t2), 0);
    CHECK_EQ_INT(cel__rate_take(table, "other", 1100000, &t2), 0);
    /* A new limit counts afresh: nothing reserved under the old one. */
    CHECK_OK(cel__rate_set(table, "add", 1, "1/s"));
    CHECK_EQ_INT(cel__rate_take(table, "add", 1500000, &t2), 0);
    CHECK_EQ_INT(cel__rate_take(table, "add", 1600000, &t2), 900000);
    char text[24];
    cel__rate_text(table, "add", text, sizeof(text));
    CHECK_STR_EQ(text, "1/s");
    CHECK_OK(cel__rate_set(table, "add", 0, "0"));
    CHECK_EQ_INT(cel__rate_take(table, "add", 1100001, &t2), 0);
    cel__config_clear(&cfg);
    puts("ok");
    return 0;
}
