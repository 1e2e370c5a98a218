/* request.h: the running task's request, as Celery's `self.request` gives
 * it to a Python task: where it sits in a canvas, its retry count and eta,
 * where its result goes and how it was delivered. Included by
 * <cel/task.h>. Every string is borrowed from the message and valid during
 * the task's call; NULL when the message does not carry it. */
#ifndef CEL_WORKER_REQUEST_H
#define CEL_WORKER_REQUEST_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cel_task_ctx cel_task_ctx_t;

/* self.request.root_id, parent_id and group: the first task of the
 * workflow (the task itself when it is the first), the task that sent this
 * one (NULL for a root task), and the group it belongs to. */
const char *cel_task_root_id(const cel_task_ctx_t *ctx);
const char *cel_task_parent_id(const cel_task_ctx_t *ctx);
const char *cel_task_group(const cel_task_ctx_t *ctx);

/* self.request.eta and expires, as the message carries them (ISO-8601). */
const char *cel_task_eta(const cel_task_ctx_t *ctx);
const char *cel_task_expires(const cel_task_ctx_t *ctx);

/* self.request.reply_to and correlation_id: the rpc:// reply queue its
 * result goes to (NULL when none is wanted) and the id it is matched by. */
const char *cel_task_reply_to(const cel_task_ctx_t *ctx);
const char *cel_task_correlation_id(const cel_task_ctx_t *ctx);

/* self.request.delivery_info: the exchange ("" for the default one) and
 * routing key the message came with, its AMQP priority (0 when it had
 * none), and whether the broker delivered it before. */
typedef struct {
    const char *exchange;
    const char *routing_key;
    int priority;
    bool redelivered;
} cel_delivery_info_t;

void cel_task_delivery_info(const cel_task_ctx_t *ctx,
                            cel_delivery_info_t *out);

#ifdef __cplusplus
}
#endif
#endif
