/* registry.h: task names to functions. Filled by the task modules before
 * the children fork; read-only afterwards, so children share it safely. */
#ifndef CEL_WORKER_REGISTRY_H
#define CEL_WORKER_REGISTRY_H

#include <cel/task.h>

struct cel_registry {
    struct cel_registry_entry {
        char *name;
        cel_task_fn fn;
    } * entries;
    size_t count;
    size_t cap;
    char refused[160]; /* why the last refused registration was, for the
                          module loader's error; "" if none was */
};

void cel__registry_init(cel_registry_t *reg);
void cel__registry_clear(cel_registry_t *reg);

/* cel__registry_find returns the function for name, or NULL. */
cel_task_fn cel__registry_find(const cel_registry_t *reg, const char *name);

#endif
