/* task_ctx.h: the state behind cel_task_ctx_t while one task runs: who it
 * is, and the exception it raised, if any. */
#ifndef CEL_WORKER_TASK_CTX_H
#define CEL_WORKER_TASK_CTX_H

#include <cel/message.h>
#include <cel/task.h>

#include <signal.h>

struct cel_task_ctx {
    const cel_task_msg_t *msg;    /* the request, borrowed */
    cel_delivery_info_t delivery; /* strings borrowed from the delivery */
    const char *id;
    const char *name;
    const char *hostname;
    int64_t retries;
    bool failed;
    bool retry;             /* cel_task_retry asked for another run */
    double retry_countdown; /* seconds */
    char exc_type[128];
    char exc_module[128];
    char exc_message[1024];
    json_t *exc_args; /* owned: the exception's args, when the task gave a
                         list (cel_task_fail_args); else [exc_message] */
};

/* Set by the child's SIGALRM handler when the running task passes its
 * soft time limit; cleared before each task. */
extern volatile sig_atomic_t cel__soft_limit_hit;

#endif
