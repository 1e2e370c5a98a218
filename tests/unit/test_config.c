/* workerd's command line: defaults, the environment, flags over the
 * environment, Celery's spellings, and misuse rejected with a reason. */
#include "config.h"

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
    CHECK(strncmp(cfg.hostname, "celery@", 7) == 0);

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
    puts("ok");
    return 0;
}
