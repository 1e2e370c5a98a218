/* events.h: Celery's events, as `celery events`, its Receiver and State
 * (Flower's model) read them: JSON on the celeryev topic exchange, routing
 * key the type with '-' as '.', header hostname, transient.
 *
 * Worker events (worker-online, worker-heartbeat every 2 s,
 * worker-offline) come from the control process (control.c) and are
 * always sent. Task events (task-received, -started, -succeeded, -failed,
 * -retried, -revoked, -rejected) come from the child that ran the task,
 * only while task events are on (-E, enable_events), batched as Celery's
 * prefork pool does: a JSON list under routing key task.multi, sent when
 * the child is about to wait for work, or once CEL_EVENTS_BATCH are
 * waiting. */
#ifndef CEL_WORKER_EVENTS_H
#define CEL_WORKER_EVENTS_H

#include <cel/broker.h>

#include "ops.h"

#define CEL_EVENTS_EXCHANGE "celeryev"
#define CEL_EVENTS_BATCH    64
#define CEL_EVENTS_FREQ_S   2.0 /* worker-heartbeat's period, as Celery */

/* cel__event_new makes an event of type with the fields every event has
 * (type, hostname, utcoffset, pid, clock, timestamp); the caller owns it.
 * NULL when out of memory. */
json_t *cel__event_new(cel_ops_t *ops, const char *hostname, const char *type,
                       pid_t pid);

/* cel__event_publish sends one event (an object) or a batch (an array,
 * routing key task.multi) to celeryev, declaring the exchange on b first
 * when *declared is false. Steals body. */
int cel__event_publish(cel_broker_t *b, const char *hostname, json_t *body,
                       bool *declared, cel_error_t *err);

/* A child's task events waiting to go as one task.multi list. */
typedef struct {
    json_t *batch; /* an array, or NULL when empty */
    bool declared; /* celeryev declared on the current connection */
} cel_event_batch_t;

/* cel__events_add appends ev (stolen) to q; cel__events_flush sends what
 * q holds (nothing: 0) and empties it. */
void cel__events_add(cel_event_batch_t *q, json_t *ev);
int cel__events_flush(cel_event_batch_t *q, cel_broker_t *b,
                      const char *hostname, cel_error_t *err);

/* The worker event of type (worker-online, -heartbeat, -offline) with
 * freq, active, processed, loadavg and sw_*; the caller owns it. */
json_t *cel__event_worker(cel_ops_t *ops, const char *hostname,
                          const char *type, int active, int64_t processed);

#endif
