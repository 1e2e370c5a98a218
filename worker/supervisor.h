/* supervisor.h: the master process. It runs no AMQP: it forks the
 * children, replaces the ones that die, and turns signals into warm and
 * cold shutdowns. */
#ifndef CEL_WORKER_SUPERVISOR_H
#define CEL_WORKER_SUPERVISOR_H

#include "config.h"
#include "registry.h"

/* cel__supervisor_run runs the master until shutdown; returns the exit
 * code for main. */
int cel__supervisor_run(const cel_worker_config_t *cfg,
                        const cel_registry_t *reg);

#endif
