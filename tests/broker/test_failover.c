/* A broker URL may be a failover list, as Celery's broker_url writes it:
 * URLs separated by ';', tried in turn. Here the first node is dead (a
 * port nobody listens on) and the second is the suite's broker:
 * - workerd's children connect to the second and say so, password
 *   hidden;
 * - the producer and the CLI do the same;
 * - when no node answers, the error says so, and a list workerd cannot
 *   read is refused at start (exit 2) naming the entry at fault.
 * Moving on when a live node dies is the cluster test's part. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <cel/clock.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define DEAD "amqp://guest:guest@127.0.0.1:1//"

static char list[1024];

static void
cli_call(const char *queue)
{
    char bin[512], cmd[2048], out[256] = "";

    test_build_path("bin", "celeriac", bin, sizeof(bin));
    snprintf(cmd, sizeof(cmd),
             "%s call add '[20, 22]' -b '%s' -Q '%s' "
             "--timeout 30",
             bin, list, queue);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    CHECK(fgets(out, sizeof(out), f) != NULL);
    CHECK_EQ_INT(pclose(f), 0);
    CHECK_STR_EQ(out, "42\n");
}

static void
none_answers(void)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_t *c = NULL;

    co.broker_url = DEAD ";amqp://guest:s3cret@127.0.0.1:2//";
    CHECK(cel_client_open(&co, &c, &err) != 0);
    CHECK_CONTAINS(err.text, "none of the 2 brokers answered");
    CHECK(strstr(err.text, "s3cret") == NULL);
}

static void
bad_list_refused(void)
{
    char bin[512], cmd[2048];

    test_build_path("bin", "workerd", bin, sizeof(bin));
    snprintf(cmd, sizeof(cmd),
             "%s -A x.so -b '" DEAD ";http://u:s3cret@h' 2>&1 | "
             "grep -q 'URL 2 of the list'",
             bin);
    CHECK_EQ_INT(system(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "%s -A x.so -b '" DEAD ";http://u:s3cret@h' "
             ">/dev/null 2>&1",
             bin);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

int
main(void)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    test_worker_t w;
    json_t *v = NULL;

    snprintf(list, sizeof(list), DEAD "; %s", test_broker_url());
    const char *extra[] = {"-b", list, "-l", "info", NULL};
    test_worker_open(&w, "failover", 2, true, extra);

    /* The producer, given the same list. */
    cel_client_t *c;
    co.queue = w.queue;
    co.broker_url = list;
    CHECK_OK(cel_client_open(&co, &c, &err));
    json_t *args = json_pack("[ii]", 2, 3);
    CHECK_OK(cel_apply(c, "add", args, NULL, NULL, 30000, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 5);
    json_decref(v);
    json_decref(args);
    cel_client_close(c);
    cli_call(w.queue);

    /* The master's ready line comes once both children consume; it and
     * the banner's transport line name the whole list, passwords hidden. */
    for (int i = 0; i < 300 && test_file_count(w.log, " ready: ") == 0; i++) {
        cel_clock_sleep_ms(100, NULL);
    }
    CHECK_EQ_INT(test_file_count(w.log, "(broker 2 of 2); consuming"), 2);
    CHECK_EQ_INT(test_file_count(w.log, "guest:***@127.0.0.1:1//;"), 2);
    CHECK_EQ_INT(test_file_count(w.log, ".> transport:   amqp://guest:***@"
                                        "127.0.0.1:1//;amqp://guest:***@"),
                 1);
    CHECK_EQ_INT(test_file_count(w.log, "guest:guest"), 0);
    test_worker_close(&w);
    none_answers();
    bad_list_refused();
    puts("ok");
    return 0;
}
