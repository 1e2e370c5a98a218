/* queues.h: a client's look at task queues, for operators: how many
 * messages wait in a queue and how many consumers read it, and emptying
 * it (Celery's `celery purge`). Neither call ever creates a queue, and a
 * queue that is missing leaves the client as usable as before.
 *
 * Both use the client's publishing connection, under the same lock as
 * sends (so they are safe from any thread, between sends), and reconnect
 * it first if it was lost. They read no replies and run no callbacks. */
#ifndef CEL_PRODUCER_QUEUES_H
#define CEL_PRODUCER_QUEUES_H

#include <stdint.h>

#include <cel/error.h>
#include <cel/producer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cel_client_queue_inspect asks the broker about queue (borrowed): 0 with
 * the number of messages ready in it (not those delivered and not yet
 * acked) in *messages and of its consumers in *consumers. Otherwise a
 * negative code, with err filled and the outputs untouched: CEL_ENOTFOUND
 * when there is no such queue ("no queue named Q"), CEL_EINVAL for a name
 * that is empty or over 255 bytes, CEL_ECLOSED after cel_client_close,
 * CEL_EBROKER with the broker's words (e.g. RESOURCE_LOCKED: another
 * connection's exclusive queue), or a connection error. */
CEL_NODISCARD int cel_client_queue_inspect(cel_client_t *c, const char *queue,
                                           int64_t *messages,
                                           int64_t *consumers,
                                           cel_error_t *err);

/* cel_client_queue_purge deletes the messages ready in queue (borrowed);
 * those a worker holds unacked stay. 0 with how many went in *purged, or
 * the codes of cel_client_queue_inspect. Tasks purged never run, and
 * their results never come: results of this client that wait for them
 * stay PENDING. */
CEL_NODISCARD int cel_client_queue_purge(cel_client_t *c, const char *queue,
                                         int64_t *purged, cel_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
