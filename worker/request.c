/* request.c: the running task's request (<cel/request.h>), read from the
 * message and delivery the child keeps in the task's context. */
#include "task_ctx.h"

const char *
cel_task_root_id(const cel_task_ctx_t *ctx)
{
    return ctx->msg->root_id ? ctx->msg->root_id : ctx->msg->id;
}

const char *
cel_task_parent_id(const cel_task_ctx_t *ctx)
{
    return ctx->msg->parent_id;
}

const char *
cel_task_group(const cel_task_ctx_t *ctx)
{
    return ctx->msg->group;
}

const char *
cel_task_eta(const cel_task_ctx_t *ctx)
{
    return ctx->msg->eta;
}

const char *
cel_task_expires(const cel_task_ctx_t *ctx)
{
    return ctx->msg->expires;
}

const char *
cel_task_reply_to(const cel_task_ctx_t *ctx)
{
    return ctx->msg->reply_to;
}

const char *
cel_task_correlation_id(const cel_task_ctx_t *ctx)
{
    return ctx->msg->correlation_id;
}

void
cel_task_delivery_info(const cel_task_ctx_t *ctx, cel_delivery_info_t *out)
{
    *out = ctx->delivery;
}
