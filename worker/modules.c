/* modules.c: dlopen a task module and run its registration. RTLD_NOW makes
 * a module with a missing symbol fail at startup, not at its first task. */
#include "modules.h"

#include <cel/log.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* -A libtasks.so means the file in the current folder, as a user who
 * just built it expects; dlopen would search the library path for a name
 * with no slash. A name not found here is still looked up there (an
 * installed module). */
static void *
open_module(const char *path)
{
    char here[4096];

    if (strchr(path, '/') == NULL && access(path, F_OK) == 0 &&
        (size_t)snprintf(here, sizeof(here), "./%s", path) < sizeof(here)) {
        return dlopen(here, RTLD_NOW | RTLD_LOCAL);
    }
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

static int
load_one(const char *path, cel_registry_t *reg, void **handle, cel_error_t *err)
{
    size_t before = reg->count;

    *handle = open_module(path);
    if (*handle == NULL) {
        return cel_error_set(err, CEL_EINVAL, "cannot load task module: %s%s",
                             dlerror(),
                             strchr(path, '/') == NULL
                                 ? " (a name with no slash is looked for in "
                                   "the current folder, then on the "
                                   "library path)"
                                 : "");
    }
    cel_module_init_fn init;
    /* POSIX guarantees object and function pointers convert via dlsym. */
    *(void **)&init = dlsym(*handle, CEL_MODULE_INIT_SYMBOL);
    if (init == NULL) {
        return cel_error_set(err, CEL_EINVAL, "%.80s has no %s function", path,
                             CEL_MODULE_INIT_SYMBOL);
    }
    reg->refused[0] = '\0';
    int r = init(reg);
    if (r != 0) {
        return cel_error_set(err, CEL_EINVAL, "%.80s: %s failed with %d%s%s",
                             path, CEL_MODULE_INIT_SYMBOL, r,
                             reg->refused[0] ? ": " : "", reg->refused);
    }
    CEL_LOG(CEL_LOG_INFO, "loaded %s: %zu tasks", path, reg->count - before);
    for (size_t i = before; i < reg->count; i++) {
        CEL_LOG(CEL_LOG_DEBUG, "registered task %s (from %s)",
                reg->entries[i].name, path);
    }
    return 0;
}

int
cel__modules_load(const cel_worker_config_t *cfg, cel_registry_t *reg,
                  cel_modules_t *mods, cel_error_t *err)
{
    memset(mods, 0, sizeof(*mods));
    for (int i = 0; i < cfg->napps; i++) {
        int r = load_one(cfg->apps[i], reg, &mods->handles[i], err);
        mods->count = i + 1;
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

void
cel__modules_unload(cel_modules_t *mods)
{
    for (int i = 0; i < mods->count; i++) {
        if (mods->handles[i] != NULL) {
            dlclose(mods->handles[i]);
        }
    }
    mods->count = 0;
}
