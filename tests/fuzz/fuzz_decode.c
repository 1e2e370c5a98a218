/* libFuzzer target: every decoder that reads bytes from the network.
 * Input: a headers JSON object, a newline, then the message body (no
 * newline: all body, no headers). The task decoder, the result decoder
 * and the JSON loader must return an error for anything malformed and
 * never crash, leak or read out of bounds, and so must the body read as
 * each compression kombu sends; and celeriac's JSON reader must agree
 * with jansson's on the whole input (both refuse it, or both read equal
 * values) and write back what jansson writes. */
#include <cel/message.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs with a raw NUL byte are left out: jansson's reader drops a NUL
 * it has read one byte too far (so it reads "9\0" as 9), where ours
 * refuses a NUL outside a string everywhere. */
static void
same_as_jansson(const char *text, size_t size)
{
    cel_error_t err;

    if (memchr(text, '\0', size) != NULL) {
        json_decref(cel_json_load(text, size, &err));
        return;
    }
    json_t *ours = cel_json_load(text, size, &err);
    json_t *theirs =
        json_loadb(text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    if ((ours == NULL) != (theirs == NULL) ||
        (ours != NULL && !json_equal(ours, theirs))) {
        fprintf(stderr, "JSON readers disagree: ours %s, jansson %s\n",
                ours ? "read it" : err.text, theirs ? "read it" : "refused");
        abort();
    }
    if (ours != NULL) {
        char *a = cel_json_dump(ours, NULL);
        char *b = json_dumps(ours, JSON_COMPACT | JSON_ENCODE_ANY |
                                       JSON_REAL_PRECISION(17));
        if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0)) {
            fprintf(stderr, "JSON writers disagree: %s / %s\n", a, b);
            abort();
        }
        free(a);
        free(b);
    }
    json_decref(ours);
    json_decref(theirs);
}

/* The body again, as if kombu had compressed it with each method, under a
 * small limit so that a bomb the fuzzer finds costs little. */
static void
decode_compressed(const char *body, size_t len)
{
    static const char *const names[] = {"application/x-gzip",
                                        "application/x-bz2"};
    cel_envelope_t env;
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cel_envelope_init(&env);
        env.headers = json_pack("{s:s, s:s, s:s}", "id", "i", "task", "t",
                                "compression", names[i]);
        env.body = body;
        env.body_len = len;
        if (cel_task_decode(&env, 1 << 16, &m, &err) != 0 &&
            (err.code == 0 || err.text[0] == '\0')) {
            fprintf(stderr, "a refusal without a reason\n");
            abort();
        }
        cel_task_msg_clear(&m);
        cel_envelope_clear(&env);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    cel_envelope_t env;
    cel_task_msg_t m;
    cel_result_msg_t r;
    cel_error_t err;

    cel_envelope_init(&env);
    strcpy(env.content_type, "application/json");
    strcpy(env.content_encoding, "utf-8");
    if (nl != NULL) {
        env.headers = cel_json_load(text, (size_t)(nl - text), &err);
        env.body = nl + 1;
        env.body_len = size - (size_t)(nl - text) - 1;
    } else {
        env.body = text;
        env.body_len = size;
    }
    if (cel_task_decode(&env, 1 << 20, &m, &err) == 0) {
        char repr[256];
        cel_pyrepr(m.args, true, repr, sizeof(repr));
    }
    cel_task_msg_clear(&m);
    decode_compressed(env.body, env.body_len);
    (void)cel_result_decode(env.body, env.body_len, &r, &err);
    cel_result_msg_clear(&r);
    cel_envelope_clear(&env);
    same_as_jansson(text, size);
    return 0;
}
