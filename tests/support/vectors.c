/* vectors.c: the walk shared by the vector tests. */
#include "vectors.h"

#include <stdio.h>
#include <string.h>

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

void
test_vectors_envelope(const json_t *rec, cel_envelope_t *env)
{
    const json_t *p = json_object_get(rec, "properties");
    const char *body = json_string_value(json_object_get(rec, "body_utf8"));

    cel_envelope_init(env);
    snprintf(env->content_type, sizeof(env->content_type), "%s",
             json_string_value(json_object_get(p, "content_type")));
    snprintf(env->content_encoding, sizeof(env->content_encoding), "%s",
             json_string_value(json_object_get(p, "content_encoding")));
#define OPT(field)                                                             \
    if (json_string_value(json_object_get(p, #field)))                         \
    snprintf(env->field, sizeof(env->field), "%s",                             \
             json_string_value(json_object_get(p, #field)))
    OPT(correlation_id);
    OPT(reply_to);
    OPT(expiration);
#undef OPT
    env->delivery_mode =
        (int)json_integer_value(json_object_get(p, "delivery_mode"));
    env->priority = (int)json_integer_value(json_object_get(p, "priority"));
    env->headers = json_deep_copy(json_object_get(p, "headers"));
    env->body = body;
    env->body_len = strlen(body);
}
