/* A producer whose connections the broker closes (rabbitmqctl
 * close_connection, as when a node goes down): a wait in progress returns
 * CEL_ECONN at once instead of hanging until its timeout, every pending
 * result is told it cannot arrive (wait, join, group_next, its
 * error_callback), and the next send reconnects: new work goes on. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/support.h"

#include <cel/clock.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Closes every connection whose client properties carry name. Returns how
 * many were closed. */
static int
cut_connections(const char *name)
{
    char cmd[4096 + 512], line[4096];
    int n = 0;

    snprintf(cmd, sizeof(cmd),
             "%s/scripts/broker ctl list_connections pid client_properties",
             CEL_SOURCE_DIR);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *end = strchr(line, '>');
        if (line[0] != '<' || end == NULL || strstr(line, name) == NULL) {
            continue;
        }
        end[1] = '\0';
        snprintf(cmd, sizeof(cmd),
                 "%s/scripts/broker ctl close_connection '%s' 'test cut'",
                 CEL_SOURCE_DIR, line);
        CHECK(system(cmd) == 0);
        n++;
    }
    pclose(f);
    return n;
}

static void
count_lost(cel_result_t *r, void *arg)
{
    CHECK_EQ_INT(cel_result_state(r), CEL_STATE_PENDING);
    ++*(int *)arg;
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_client_t *client;
    char queue[80], name[80];
    const json_t *v;

    test_unique_name("test-lost", queue, sizeof(queue));
    test_unique_name("test-lost-client", name, sizeof(name));
    /* One child per slow task and one for the work after the cut. */
    static const char *const extra[] = {"--prefetch-multiplier", "1", NULL};
    pid_t w = test_workerd_start(queue, 4, NULL, extra);
    co.queue = queue;
    co.broker_url = test_broker_url();
    co.name = name;
    CHECK_OK(cel_client_open(&co, &client, &err));
    cel_result_t *quick = add_delay(client, 1, 2);
    CHECK_OK(cel_result_get(quick, 20000, &v, &err));
    cel_result_t *slow = slow_sum_delay(client, 30.0, 1, 2);
    cel_group_t *g = cel_group_new(client);
    CHECK_OK(cel_group_add(g, slow_sum_delay(client, 30.0, 3, 4)));

    int lost_callbacks = 0;
    cel_opts_t o = CEL_OPTS_INIT;
    o.error_callback = count_lost;
    o.callback_arg = &lost_callbacks;
    cel_result_free(slow_sum_apply_async(client, &o, 30.0, 5, 6));

    CHECK_EQ_INT(cut_connections(name), 2);
    int64_t t0 = cel_clock_now_ms();
    CHECK_EQ_INT(cel_result_wait(slow, 60000, &err), CEL_ECONN);
    CHECK(cel_clock_now_ms() - t0 < 10000); /* not the 60 s timeout */
    CHECK_CONTAINS(err.text, "connection to the broker was lost");
    CHECK(!cel_result_ready(slow));
    CHECK_EQ_INT(lost_callbacks, 1);

    /* join and group_next say so too, at once. */
    CHECK_EQ_INT(cel_client_join(client, 60000, &err), CEL_ECONN);
    CHECK_CONTAINS(err.text, "3 result(s) can no longer arrive");
    cel_result_t *gone = cel_group_next(g, 60000);
    CHECK(gone != NULL);
    CHECK_EQ_INT(cel_result_wait(gone, 60000, &err), CEL_ECONN);
    cel_result_free(gone);
    CHECK(cel_clock_now_ms() - t0 < 10000);
    /* A result that came before the cut keeps its value. */
    CHECK_OK(cel_result_get(quick, 0, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 3);

    /* The next send connects again, and its result comes. */
    cel_result_t *after = add_delay(client, 20, 22);
    CHECK(after != NULL);
    CHECK_OK(cel_result_get(after, 20000, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 42);
    cel_result_free(after);
    CHECK_OK(cel_client_join(client, 20000, &err));

    cel_group_free(g);
    cel_result_free(slow);
    cel_result_free(quick);
    cel_client_close(client);
    CHECK(test_workerd_stop(w, SIGQUIT, 15000) != -1);
    puts("ok");
    return 0;
}
