/* tasks.h: the example tasks, declared once for both sides. A producer
 * that includes <cel/producer.h> first gets typed stubs such as
 * fun_delay(client, x); the task module, which includes <cel/task.h>
 * first, gets the argument unpacking. The task names on the wire are the
 * C names, so Python can call them too: app.send_task('add', (2, 3)). */
#ifndef CEL_EXAMPLES_TASKS_H
#define CEL_EXAMPLES_TASKS_H

#include <cel/declare.h>

CEL_TASK1(fun, int64_t, x)             /* [x, x*x, pid] */
CEL_TASK2(add, int64_t, x, int64_t, y) /* x + y */
CEL_TASK1(sum_all_values, int64_t, x)  /* 1 + 2 + ... + x */
CEL_TASK3(slow_sum, double, nsecs, int64_t, x, int64_t, y)
CEL_TASK3(slow_diff, double, nsecs, int64_t, x, int64_t, y)
CEL_TASK1(broken_function, double, nsecs) /* ValueError */
CEL_TASK2(count_primes, int64_t, from, int64_t, to)
CEL_TASK1(count, int64_t, number)           /* 10,000,000 * number, slowly */
CEL_TASK1(echo, const json_t *, value)      /* value, unchanged */
CEL_TASK0(crash)                            /* SIGKILLs its child */
CEL_TASK1(crash_once, const char *, marker) /* crash unless marker exists */
CEL_TASK2(flaky, int64_t, fails, int64_t, max_retries) /* retries, backoff */
CEL_TASK1(sleepy, double, nsecs)         /* honours the soft time limit */
CEL_TASK1(hog, int64_t, mib)             /* keeps mib MiB, returns the pid */
CEL_TASK1(whoami, const json_t *, value) /* its request, as an object */
CEL_TASK0(expected_failure) /* ExpectedException('Task expected to fail',
                               'test') */

#endif
