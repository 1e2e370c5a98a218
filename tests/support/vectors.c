/* vectors.c: the walk shared by the vector tests. */
#include "vectors.h"

#include "check.h"

static int
walk(const json_t *v, const char *key, void (*fn)(const json_t *))
{
    const char *k;
    json_t *item;
    size_t i;
    int n = 0;

    if (json_is_array(v)) {
        json_array_foreach (v, i, item) {
            n += walk(item, key, fn);
        }
    } else if (json_is_object(v)) {
        if (json_object_get(v, key) != NULL &&
            json_object_get(v, "properties") != NULL) {
            fn(v);
            return 1;
        }
        json_object_foreach ((json_t *)v, k, item) {
            n += walk(item, key, fn);
        }
    }
    return n;
}

int
test_vectors_walk(const char *path, const char *key,
                  void (*fn)(const json_t *record))
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);

    if (doc == NULL) {
        CHECK_FAIL_("%s: %s", path, jerr.text);
    }
    int n = walk(doc, key, fn);
    json_decref(doc);
    return n;
}
