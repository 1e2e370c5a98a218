/* child.c: the executor loop. It waits for deliveries with a short timeout
 * so the shutdown flag is seen within a quarter second; a task that is
 * running always finishes first. On a broker error it drops the connection
 * (unacked messages go back to the queue) and reconnects with backoff. */
#include "child.h"

#include <cel/clock.h>
#include <cel/log.h>
#include <cel/url.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define POLL_MS        250
#define BACKOFF_MAX_MS 10000

volatile sig_atomic_t cel__child_stop = 0;

static void
on_term(int sig)
{
    (void)sig;
    cel__child_stop = 1;
}

static void
child_signals(pid_t master)
{
    struct sigaction sa;
    sigset_t none;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL); /* Ctrl-C is the master's to handle */
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != master) {
        raise(SIGKILL); /* the master died before we set the death signal */
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static int
setup_consumers(cel_child_t *c, cel_error_t *err)
{
    const cel_worker_config_t *cfg = c->cfg;

    int r = cel_broker_qos(c->broker, cfg->prefetch_multiplier, false, err);
    for (int i = 0; r == 0 && i < cfg->nqueues; i++) {
        r = cel_broker_declare_task_queue(c->broker, cfg->queues[i], err);
        if (r == 0) {
            r = cel_broker_consume(c->broker, cfg->queues[i], false, NULL, 0,
                                   err);
        }
    }
    return r;
}

static int
connect_broker(cel_child_t *c)
{
    cel_broker_opts_t opts = CEL_BROKER_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    char name[300];
    int64_t backoff_ms = 500;

    snprintf(name, sizeof(name), "workerd %s child-%d", c->cfg->hostname,
             c->slot + 1);
    opts.name = name;
    opts.heartbeat_s = c->cfg->heartbeat_s;
    while (!cel__child_stop) {
        int r = cel_broker_open(c->cfg->broker_url, &opts, &c->broker, &err);
        if (r == 0 && (r = setup_consumers(c, &err)) == 0) {
            CEL_LOG(CEL_LOG_INFO, "connected; consuming %s%s",
                    c->cfg->queues[0], c->cfg->nqueues > 1 ? ", ..." : "");
            c->board->slots[c->slot].consuming = 1;
            return 0;
        }
        cel_broker_close(c->broker);
        c->broker = NULL;
        CEL_LOG(CEL_LOG_ERROR, "%s; retrying in %.1fs", err.text,
                (double)backoff_ms / 1000.0);
        cel_clock_sleep_ms(backoff_ms, &cel__child_stop);
        backoff_ms =
            backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
    }
    return -1;
}

/* Serves deliveries until shutdown (returns 0) or a broker error (-1). */
static int
serve(cel_child_t *c)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_delivery_t d;

    while (!cel__child_stop) {
        int r = cel_broker_next(c->broker, POLL_MS, &d, &err);
        if (r == CEL_ETIMEDOUT) {
            continue;
        }
        if (r != 0) {
            cel_delivery_clear(&d);
            CEL_LOG(CEL_LOG_ERROR, "broker: %s", err.text);
            return -1;
        }
        r = cel__execute(c, &d);
        cel_delivery_clear(&d);
        if (r != 0) {
            return -1;
        }
    }
    return 0;
}

int
cel__child_main(const cel_worker_config_t *cfg, const cel_registry_t *reg,
                cel_board_t *board, int slot, pid_t master)
{
    cel_child_t c = {.cfg = cfg, .reg = reg, .board = board, .slot = slot};
    char role[32];

    snprintf(role, sizeof(role), "child-%d", slot + 1);
    cel_log_set_role(role);
    child_signals(master);
    while (!cel__child_stop) {
        if (connect_broker(&c) != 0) {
            break;
        }
        int r = serve(&c);
        board->slots[slot].consuming = 0;
        /* Closing returns prefetched, unstarted messages to the queue. */
        cel_broker_close(c.broker);
        c.broker = NULL;
        if (r == 0) {
            break;
        }
        cel_clock_sleep_ms(500, &cel__child_stop);
    }
    CEL_LOG(CEL_LOG_INFO, "warm shutdown done after %llu tasks",
            (unsigned long long)c.tasks_done);
    return 0;
}
