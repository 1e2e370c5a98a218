/* task_ctx.h: the state behind cel_task_ctx_t while one task runs: who it
 * is, and the exception it raised, if any. */
#ifndef CEL_WORKER_TASK_CTX_H
#define CEL_WORKER_TASK_CTX_H

#include <cel/task.h>

struct cel_task_ctx {
    const char *id;
    const char *name;
    const char *hostname;
    int64_t retries;
    bool failed;
    char exc_type[128];
    char exc_module[128];
    char exc_message[1024];
};

#endif
