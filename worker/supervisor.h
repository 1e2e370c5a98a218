/* supervisor.h: the master process. It runs no AMQP: it forks the
 * children, replaces the ones that die, and turns signals into warm and
 * cold shutdowns. */
#ifndef CEL_WORKER_SUPERVISOR_H
#define CEL_WORKER_SUPERVISOR_H

#include "config.h"
#include "registry.h"

#include <stdbool.h>

/* cel__supervisor_run runs the master until shutdown; returns the exit
 * code for main, and sets *restart when the shutdown was a warm restart
 * (SIGHUP), after which main runs workerd again. */
int cel__supervisor_run(const cel_worker_config_t *cfg,
                        const cel_registry_t *reg, bool *restart);

#endif
