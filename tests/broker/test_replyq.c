/* A producer whose reply queue is deleted under it (rabbitmqctl
 * delete_queue) while tasks are pending. The broker cancels the reply
 * consumer (basic.cancel); the producer notices, declares the queue again
 * under the same name and consumes again. workerd publishes results with
 * mandatory, so the broker returns one whose reply queue is missing, and
 * publishes a returned result again for CEL_RETURN_WINDOW_MS. Hence:
 * - the case: a slow task whose reply queue is deleted while it
 *   runs gets its value (it is published after the queue is back);
 * - a result published while the queue was missing, the client reading
 *   nothing meanwhile, arrives once the client has declared the queue
 *   again, within the window;
 * - a queue gone for longer than the window (the worker gave up) fails
 *   the results pending at the cancel with CEL_ECONN and the reason: a
 *   wait with no limit must not hang.
 * A task sent after a deletion gets its value as usual, and a client
 * whose tasks Celery's own workers may run (celery_workers) fails the
 * results pending at a deletion at once. The results published into the
 * gap come from a worker started only after the deletion, and the test
 * waits for workerd's log lines to order events, never on timing. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/support.h"

#include <cel/clock.h>
#include <cel/id.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 30000

static void
delete_queue(const char *name)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "%s/scripts/broker ctl delete_queue '%s' >/dev/null",
             CEL_SOURCE_DIR, name);
    CHECK(system(cmd) == 0);
}

/* Is name a queue the broker knows, with one consumer? */
static bool
consumed_once(const char *name)
{
    char cmd[1024], line[512], want[CEL_ID_SIZE + 8];
    bool found = false;

    snprintf(cmd, sizeof(cmd),
             "%s/scripts/broker ctl list_queues name "
             "consumers",
             CEL_SOURCE_DIR);
    snprintf(want, sizeof(want), "%s\t1\n", name);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f) != NULL) {
        found = found || strcmp(line, want) == 0;
    }
    pclose(f);
    return found;
}

/* Waits until workerd logged "result of task ID <what>": it read the
 * broker's return of that result, or gave up on it. */
static void
wait_log(const char *log, const char *id, const char *what)
{
    char needle[CEL_SHORTSTR_SIZE + 64];
    int64_t deadline = cel_clock_now_ms() + WAIT_MS;

    snprintf(needle, sizeof(needle), "result of task %s %s", id, what);
    while (test_file_count(log, needle) == 0) {
        if (cel_clock_now_ms() > deadline) {
            CHECK_FAIL_("workerd never logged \"%s\"", needle);
        }
        cel_clock_sleep_ms(50, NULL);
    }
}

static void
count_lost(cel_result_t *r, void *arg)
{
    CHECK_EQ_INT(cel_result_state(r), CEL_STATE_PENDING);
    ++*(int *)arg;
}

/* The case: deleted while the task runs, published after the
 * producer declared the queue again. */
static void
deleted_while_running(cel_client_t *client, const char *replyq)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    const json_t *v;
    int lost = 0;

    o.error_callback = count_lost;
    o.callback_arg = &lost;
    cel_result_t *slow = slow_sum_apply_async(client, &o, 4.0, 1, 2);
    CHECK(slow != NULL);
    delete_queue(replyq);
    int rc = cel_result_get(slow, -1, &v, &err);
    fprintf(stderr, "deleted while running: %d (%s)\n", rc, rc ? err.text : "");
    CHECK_OK(rc);
    CHECK_EQ_INT(json_integer_value(v), 3);
    CHECK_EQ_INT(lost, 0);
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
    cel_result_free(slow);
}

/* A worker started after the reply queue was deleted, on a queue of its
 * own where the tasks already wait: their results are published while
 * the reply queue is missing, whatever the timing. */
typedef struct {
    pid_t pid;
    char queue[80];
    char log[160];
} late_t;

static void
send_into_gap(cel_client_t *client, const char *replyq, late_t *late,
              cel_opts_t *o, cel_result_t **rs, int n)
{
    static const char *const extra[] = {"-l", "debug", NULL};

    test_unique_name("test-replyq-late", late->queue, sizeof(late->queue));
    snprintf(late->log, sizeof(late->log), "/tmp/%s.log", late->queue);
    o->queue = late->queue;
    for (int i = 0; i < n; i++) {
        rs[i] = slow_sum_apply_async(client, o, 0.1, i + 3, i + 3);
        CHECK(rs[i] != NULL);
    }
    delete_queue(replyq);
    late->pid = test_workerd_start(late->queue, 1, late->log, extra);
}

static void
late_stop(late_t *late)
{
    CHECK(test_workerd_stop(late->pid, SIGTERM, 20000) != -1);
    delete_queue(late->queue);
    unlink(late->log);
}

/* Published into the gap, the client reading nothing meanwhile: the
 * worker publishes the oldest again until the client has declared the
 * queue again, and the others follow it. */
static void
published_into_gap(cel_client_t *client, const char *replyq)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_result_t *rs[3];
    const json_t *v;
    late_t late;

    send_into_gap(client, replyq, &late, &o, rs, 3);
    for (int i = 0; i < 3; i++) {
        wait_log(late.log, cel_result_id(rs[i]), "returned");
    }
    for (int i = 0; i < 3; i++) {
        int rc = cel_result_get(rs[i], -1, &v, &err);
        fprintf(stderr, "published into the gap: %d (%s)\n", rc,
                rc ? err.text : "");
        CHECK_OK(rc);
        CHECK_EQ_INT(json_integer_value(v), 2 * (i + 3));
        cel_result_free(rs[i]);
    }
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));
    CHECK_EQ_INT(test_file_count(late.log, "is back: 3 returned result(s)"), 1);
    late_stop(&late);
}

/* Gone longer than the window: the worker gave up on the result, and the
 * producer, seeing how long the queue was missing, fails it. */
static void
gone_too_long(cel_client_t *client, const char *replyq)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    const json_t *v;
    late_t late;
    int lost = 0;

    o.error_callback = count_lost;
    o.callback_arg = &lost;
    cel_result_t *r;
    send_into_gap(client, replyq, &late, &o, &r, 1);
    wait_log(late.log, cel_result_id(r), "could not be delivered");
    int rc = cel_result_get(r, -1, &v, &err);
    fprintf(stderr, "gone too long: %d (%s)\n", rc, err.text);
    CHECK_EQ_INT(rc, CEL_ECONN);
    CHECK_CONTAINS(err.text, replyq);
    CHECK_CONTAINS(err.text, "was deleted");
    CHECK_CONTAINS(err.text, cel_result_id(r));
    CHECK_CONTAINS(err.text, "was gone for up to");
    CHECK_CONTAINS(err.text, "its result may be lost");
    CHECK_EQ_INT(lost, 1);
    CHECK_EQ_INT(cel_client_join(client, WAIT_MS, &err), CEL_ECONN);
    CHECK_CONTAINS(err.text, "1 result(s)");
    CHECK_CONTAINS(err.text, "reply queue");
    cel_result_free(r);
    late_stop(&late);
}

/* A client whose tasks Celery's own workers may run (they publish a
 * result once): the results pending at a deletion fail at once, though
 * workerd would have delivered this one. */
static void
celery_workers(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_client_t *client;
    char replyq[CEL_ID_SIZE];
    cel_result_t *r;
    const json_t *v;
    late_t late;

    co.broker_url = test_broker_url();
    co.celery_workers = true;
    CHECK_OK(cel_client_open(&co, &client, &err));
    cel_client_reply_queue(client, replyq, sizeof(replyq));
    send_into_gap(client, replyq, &late, &o, &r, 1);
    wait_log(late.log, cel_result_id(r), "returned");
    int rc = cel_result_get(r, -1, &v, &err);
    fprintf(stderr, "celery_workers: %d (%s)\n", rc, err.text);
    CHECK_EQ_INT(rc, CEL_ECONN);
    CHECK_CONTAINS(err.text, "was deleted");
    CHECK_CONTAINS(err.text, "celery_workers");
    CHECK_CONTAINS(err.text, cel_result_id(r));
    cel_result_free(r);
    cel_client_close(client);
    late_stop(&late);
}

/* The queue is back under the same name, consumed once, and a task sent
 * now gets its value; deleted again while the client is idle, the next
 * call notices. */
static void
back_again(cel_client_t *client, const char *replyq)
{
    cel_error_t err = CEL_ERROR_INIT;
    char after_q[CEL_ID_SIZE];
    const json_t *v;

    cel_client_reply_queue(client, after_q, sizeof(after_q));
    CHECK_STR_EQ(after_q, replyq);
    CHECK(consumed_once(replyq));
    cel_result_t *after = add_delay(client, 20, 22);
    CHECK(after != NULL);
    CHECK_OK(cel_result_get(after, WAIT_MS, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 42);
    cel_result_free(after);
    CHECK_OK(cel_client_join(client, WAIT_MS, &err));

    delete_queue(replyq);
    json_t *args = json_pack("[ii]", 2, 3), *sum;
    CHECK_OK(cel_apply(client, "add", args, NULL, NULL, WAIT_MS, &sum, &err));
    CHECK_EQ_INT(json_integer_value(sum), 5);
    json_decref(sum);
    json_decref(args);
}

/* The program's logger: the client says what it did on its own. */
static int deleted_lines;

static void
collect(int level, const char *line, void *arg)
{
    CHECK_EQ_INT(level, CEL_LOG_WARN);
    CHECK(arg == &deleted_lines);
    deleted_lines += strstr(line, "was deleted; declared it again") != NULL;
}

int
main(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_client_t *client;
    char queue[80], log[160], replyq[CEL_ID_SIZE];
    const json_t *v;

    test_unique_name("test-replyq", queue, sizeof(queue));
    snprintf(log, sizeof(log), "/tmp/%s.log", queue);
    /* Children for the slow tasks and one for the work beside them. */
    static const char *const extra[] = {"--prefetch-multiplier", "1", "-l",
                                        "info", NULL};
    pid_t w = test_workerd_start(queue, 3, log, extra);
    co.queue = queue;
    co.broker_url = test_broker_url();
    co.log = collect;
    co.log_arg = &deleted_lines;
    CHECK_OK(cel_client_open(&co, &client, &err));
    cel_result_t *quick = add_delay(client, 1, 2);
    CHECK_OK(cel_result_get(quick, WAIT_MS, &v, &err));
    cel_result_free(quick);
    cel_client_reply_queue(client, replyq, sizeof(replyq));
    CHECK_EQ_INT(strlen(replyq), CEL_ID_SIZE - 1);

    deleted_while_running(client, replyq);
    published_into_gap(client, replyq);
    gone_too_long(client, replyq);
    back_again(client, replyq);
    CHECK(deleted_lines >= 4); /* one line per deletion the client saw */
    celery_workers();

    cel_client_close(client);
    CHECK(test_workerd_stop(w, SIGTERM, 20000) != -1);
    delete_queue(queue);
    unlink(log);
    puts("ok");
    return 0;
}
