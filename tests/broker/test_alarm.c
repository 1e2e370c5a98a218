/* A broker in a memory alarm blocks what producers publish: it stops
 * reading their connections and says so (connection.blocked, with its
 * reason). A call must still keep to its timeout, close included, and say
 * that the broker is blocking publishing and why (CEL_EBLOCKED), never a
 * bare "no result"; a send while blocked fails at once with the same
 * reason; once the alarm clears, calls work again.
 *
 * The alarm is the broker's whole node, so this test runs alone
 * (RUN_SERIAL), and the checks run in a child process: whatever becomes
 * of them, the parent clears the alarm. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <cel/clock.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CALL_MS 3000

static void
set_watermark(const char *fraction)
{
    CHECK_EQ_INT(test_broker_ctl("set_vm_memory_high_watermark %s", fraction),
                 0);
}

/* Is the node's memory alarm on? */
static bool
alarm_on(void)
{
    char cmd[1024], line[512];
    bool on = false;

    snprintf(cmd, sizeof(cmd),
             "%s/scripts/broker ctl eval 'rabbit_alarm:get_alarms().'",
             CEL_SOURCE_DIR);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f) != NULL) {
        on = on || strstr(line, "memory") != NULL;
    }
    pclose(f);
    return on;
}

static void
wait_alarm(bool want)
{
    int64_t deadline = cel_clock_now_ms() + 30000;

    while (alarm_on() != want) {
        if (cel_clock_now_ms() > deadline) {
            CHECK_FAIL_("the memory alarm never went %s", want ? "on" : "off");
        }
        cel_clock_sleep_ms(200, NULL);
    }
}

static void
checks(void)
{
    cel_error_t err = CEL_ERROR_INIT;
    char queue[96];
    json_t *v = NULL;

    test_unique_name("alarm", queue, sizeof(queue));
    set_watermark("0.00001");
    wait_alarm(true);

    /* No worker is needed: the task never gets past the broker's door. */
    int64_t t0 = cel_clock_now_ms();
    cel_client_t *c = test_client_open(queue);
    json_t *args = json_pack("[ii]", 1, 2);
    int r = cel_apply(c, "add", args, NULL, NULL, CALL_MS, &v, &err);
    CHECK_EQ_INT(r, CEL_EBLOCKED);
    CHECK_CONTAINS(err.text, "blocking publishing");
    CHECK_CONTAINS(err.text, "memory");
    cel_result_t *again = add_delay(c, 3, 4);
    CHECK(again == NULL);
    CHECK_CONTAINS(cel_client_error(c), "blocking publishing");
    cel_client_close(c);
    int64_t took = cel_clock_now_ms() - t0;
    printf("blocked call and close took %lld ms (timeout %d ms)\n",
           (long long)took, CALL_MS);
    /* Generous: the close used to wait out a 15 s handshake. */
    CHECK(took < CALL_MS + 8000);

    set_watermark("0.4");
    wait_alarm(false);
    pid_t w = test_workerd_start(queue, 1, NULL, NULL);
    c = test_client_open(queue);
    CHECK_OK(cel_apply(c, "add", args, NULL, NULL, 30000, &v, &err));
    CHECK_EQ_INT(json_integer_value(v), 3);
    json_decref(v);
    json_decref(args);
    cel_client_close(c);
    CHECK(test_workerd_stop(w, SIGTERM, 20000) != -1);
}

static void
clear_alarm(void)
{
    set_watermark("0.4"); /* whatever happened in the checks */
}

int
main(void)
{
    CHECK_EQ_INT(test_guarded(checks, clear_alarm), 0);
    puts("ok");
    return 0;
}
