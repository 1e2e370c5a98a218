/* expect.h: the result checks and the worker-with-a-client the worker
 * tests share. Header-only, since the support library itself does not
 * link the producer. */
#ifndef CEL_TESTS_EXPECT_H
#define CEL_TESTS_EXPECT_H

#include <cel/broker.h>
#include <cel/producer.h>

#include "check.h"
#include "support.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

/* test_expect_int waits up to timeout_ms for r, checks that it succeeded
 * with the integer want, and frees it. */
static inline void
test_expect_int(cel_result_t *r, long long want, int64_t timeout_ms)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v;

    CHECK_OK(cel_result_get(r, timeout_ms, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), want);
    cel_result_free(r);
}

/* test_read_raw reads one message from queue q with the raw broker client
 * b, waiting up to timeout_ms (d: release with cel_delivery_clear). */
static inline void
test_read_raw(cel_broker_t *b, const char *q, int timeout_ms, cel_delivery_t *d)
{
    cel_error_t err = CEL_ERROR_INIT;
    char tag[CEL_SHORTSTR_SIZE];

    CHECK_OK(cel_broker_consume(b, q, true, tag, sizeof(tag), &err));
    CHECK_OK(cel_broker_next(b, timeout_ms, d, &err));
    CHECK_OK(cel_broker_cancel(b, tag, &err));
}

/* A workerd on a queue of its own, and a client sending to it. */
typedef struct {
    pid_t pid;
    char queue[80];
    char log[160]; /* its log, "" when not kept */
    cel_client_t *client;
} test_worker_t;

/* test_client_open opens a client of the suite's broker whose tasks go
 * to queue. */
static inline cel_client_t *
test_client_open(const char *queue)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_t *c;

    co.queue = queue;
    co.broker_url = test_broker_url();
    CHECK_OK(cel_client_open(&co, &c, &err));
    return c;
}

/* test_worker_open starts workerd with n children on a fresh queue named
 * after prefix (extra: NULL or more arguments, NULL-terminated), its log
 * in /tmp/<queue>.log when keep_log, and opens a client on that queue. */
static inline void
test_worker_open(test_worker_t *w, const char *prefix, int n, bool keep_log,
                 const char *const *extra)
{
    test_unique_name(prefix, w->queue, sizeof(w->queue));
    w->log[0] = '\0';
    if (keep_log) {
        snprintf(w->log, sizeof(w->log), "/tmp/%s.log", w->queue);
    }
    w->pid = test_workerd_start(w->queue, n, w->log[0] ? w->log : NULL, extra);
    w->client = test_client_open(w->queue);
}

/* test_worker_close closes the client, stops workerd warm (it must exit
 * 0) and removes its log. */
static inline void
test_worker_close(test_worker_t *w)
{
    cel_client_close(w->client);
    int status = test_workerd_stop(w->pid, SIGTERM, 20000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (w->log[0]) {
        unlink(w->log);
    }
}

#endif
