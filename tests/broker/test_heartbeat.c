/* Heartbeats hold during long tasks. workerd runs with a 1 s heartbeat,
 * and a task runs for 6 s, six intervals: rabbitmq-c sends heartbeats only
 * from inside its own calls, so without the child's watcher thread the
 * broker would close the connection under the task (two missed
 * intervals) and the child would reconnect. The task's value must arrive
 * and the child must still be on its first connection. */
#include <cel/producer.h>

#include "../examples/tasks.h"
#include "check.h"
#include "support/expect.h"
#include "support/support.h"

#include <stdio.h>

int
main(void)
{
    static const char *const opts[] = {"--heartbeat", "1", "-l", "info", NULL};
    test_worker_t w;

    test_worker_open(&w, "heartbeat", 1, true, opts);
    test_expect_int(slow_sum_delay(w.client, 6.0, 2, 3), 5, 30000);
    test_expect_int(add_delay(w.client, 1, 1), 2, 30000);
    CHECK_EQ_INT(test_file_count(w.log, "connected; consuming"), 1);
    CHECK_EQ_INT(test_file_count(w.log, ": ERROR/"), 0); /* no error logged */
    CHECK_EQ_INT(test_file_count(w.log, ": CRITICAL/"), 0);
    test_worker_close(&w);
    puts("ok");
    return 0;
}
