/* json_same.h: JSON equality that also holds for keys with a NUL byte
 * (jansson's json_equal looks keys up by strlen, so it finds no "a\0b"),
 * for the header-table tests. Header-only: the unit test and the fuzz
 * target both use it. */
#ifndef CEL_TESTS_JSON_SAME_H
#define CEL_TESTS_JSON_SAME_H

#include <stdbool.h>

#include <jansson.h>

/* test_json_same compares a and b, keys by their length. */
static inline bool
test_json_same(const json_t *a, const json_t *b)
{
    if (!json_is_object(a) && !json_is_array(a)) {
        return json_equal(a, b);
    }
    if (json_typeof(a) != json_typeof(b) ||
        json_array_size(a) != json_array_size(b) ||
        json_object_size(a) != json_object_size(b)) {
        return false;
    }
    for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
        if (!test_json_same(json_array_get(a, i), json_array_get(b, i))) {
            return false;
        }
    }
    for (void *it = json_object_iter((json_t *)a); it != NULL;
         it = json_object_iter_next((json_t *)a, it)) {
        const json_t *v = json_object_getn(b, json_object_iter_key(it),
                                           json_object_iter_key_len(it));
        if (v == NULL || !test_json_same(json_object_iter_value(it), v)) {
            return false;
        }
    }
    return true;
}

#endif
