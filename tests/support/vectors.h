/* vectors.h: walking the captured Celery messages in a vector file. */
#ifndef CEL_TESTS_VECTORS_H
#define CEL_TESTS_VECTORS_H

#include <jansson.h>

#include <cel/message.h>

/* test_vectors_walk loads path and calls fn for every message record in
 * it (an object with "properties" and `key`), returning how many it found.
 * A file that cannot be read fails the test. */
int test_vectors_walk(const char *path, const char *key,
                      void (*fn)(const json_t *record));

/* test_vectors_envelope fills env (release with cel_envelope_clear) from a
 * message record: its properties and headers copied, its body borrowed
 * from the record's body_utf8. */
void test_vectors_envelope(const json_t *rec, cel_envelope_t *env);

#endif
