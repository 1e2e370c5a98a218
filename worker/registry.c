/* registry.c: a small open table of task names. Modules register a handful
 * of tasks, so a linear scan over a contiguous array is as fast as a hash
 * and simpler. */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
cel__registry_init(cel_registry_t *reg)
{
    memset(reg, 0, sizeof(*reg));
}

void
cel__registry_clear(cel_registry_t *reg)
{
    for (size_t i = 0; i < reg->count; i++) {
        free(reg->entries[i].name);
    }
    free(reg->entries);
    cel__registry_init(reg);
}

cel_task_fn
cel__registry_find(const cel_registry_t *reg, const char *name)
{
    for (size_t i = 0; name != NULL && i < reg->count; i++) {
        if (strcmp(reg->entries[i].name, name) == 0) {
            return reg->entries[i].fn;
        }
    }
    return NULL;
}

int
cel_registry_add(cel_registry_t *reg, const char *name, cel_task_fn fn)
{
    const char *why = name == NULL || name[0] == '\0' ? "a task with no name"
                      : fn == NULL                    ? "no function for task"
                      : cel__registry_find(reg, name) != NULL
                          ? "registered twice (by this module or one loaded "
                            "before it): task"
                          : NULL;
    if (why != NULL) {
        snprintf(reg->refused, sizeof(reg->refused), "%s \"%.80s\"", why,
                 name ? name : "");
        return CEL_EINVAL;
    }
    if (reg->count == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        void *p = realloc(reg->entries, cap * sizeof(*reg->entries));
        if (p == NULL) {
            return CEL_ENOMEM;
        }
        reg->entries = p;
        reg->cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL) {
        return CEL_ENOMEM;
    }
    reg->entries[reg->count].name = copy;
    reg->entries[reg->count].fn = fn;
    reg->count++;
    return 0;
}
