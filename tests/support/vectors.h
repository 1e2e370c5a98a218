/* vectors.h: walking the captured Celery messages in a vector file. */
#ifndef CEL_TESTS_VECTORS_H
#define CEL_TESTS_VECTORS_H

#include <jansson.h>

/* test_vectors_walk loads path and calls fn for every message record in
 * it (an object with "properties" and `key`), returning how many it found.
 * A file that cannot be read fails the test. */
int test_vectors_walk(const char *path, const char *key,
                      void (*fn)(const json_t *record));

#endif
