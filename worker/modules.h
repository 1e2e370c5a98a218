/* modules.h: task modules given with -A, loaded with dlopen before the
 * children fork, so every child inherits the same registry. */
#ifndef CEL_WORKER_MODULES_H
#define CEL_WORKER_MODULES_H

#include <cel/error.h>

#include "config.h"
#include "registry.h"

typedef struct {
    void *handles[CEL_MAX_APPS];
    int count;
} cel_modules_t;

/* cel__modules_load opens each module and calls its cel_module_init with
 * reg. Returns 0, or CEL_EINVAL with the module and dlerror() in err. */
int cel__modules_load(const cel_worker_config_t *cfg, cel_registry_t *reg,
                      cel_modules_t *mods, cel_error_t *err);
void cel__modules_unload(cel_modules_t *mods);

#endif
