/* queues.c: cel_client_queue_inspect and cel_client_queue_purge, on the
 * client's publishing connection (tx) under send_lock, as send.c uses it:
 * a connection the broker closed is only seen by reading, so it is read
 * first, and replaced when it was lost. */
#include "producer_internal.h"

#include <cel/queues.h>

int
cel__client_take_tx(cel_client_t *c, cel_error_t *err)
{
    pthread_mutex_lock(&c->send_lock);
    if (c->tx == NULL) {
        return cel_error_set(err, CEL_ECLOSED, "the client was closed");
    }
    if (cel_broker_drain(c->tx, NULL) != 0 || cel_broker_fd(c->tx) < 0) {
        return cel__client_reopen_tx(c, err);
    }
    return 0;
}

int
cel_client_queue_inspect(cel_client_t *c, const char *queue, int64_t *messages,
                         int64_t *consumers, cel_error_t *err)
{
    int r = cel__client_take_tx(c, err);
    if (r == 0) {
        r = cel_broker_queue_inspect(c->tx, queue, messages, consumers, err);
    }
    pthread_mutex_unlock(&c->send_lock);
    return r;
}

int
cel_client_queue_purge(cel_client_t *c, const char *queue, int64_t *purged,
                       cel_error_t *err)
{
    int64_t n = 0;

    int r = cel__client_take_tx(c, err);
    if (r == 0) {
        r = cel_broker_queue_purge(c->tx, queue, &n, err);
    }
    pthread_mutex_unlock(&c->send_lock);
    if (r == 0) {
        *purged = n;
    }
    return r;
}
