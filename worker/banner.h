/* banner.h: the start-up banner, laid out as Celery's worker prints its
 * own (celery/apps/worker.py): node, version, system, broker (passwords
 * hidden), results, concurrency, task events, queues, and at -l info or
 * debug the registered tasks. */
#ifndef CEL_WORKER_BANNER_H
#define CEL_WORKER_BANNER_H

#include "config.h"
#include "registry.h"

/* cel__banner_print writes the banner to fd in one write(2), as it is
 * (not as log lines), before the children fork. Nothing is written when
 * memory runs out: the banner is no reason to stop a worker. */
void cel__banner_print(int fd, const cel_worker_config_t *cfg,
                       const cel_registry_t *reg);

#endif
