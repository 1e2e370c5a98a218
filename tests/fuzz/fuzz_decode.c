/* libFuzzer target: every decoder that reads bytes from the network.
 * Input: a headers JSON object, a newline, then the message body (no
 * newline: all body, no headers). The task decoder, the result decoder
 * and the JSON loader must return an error for anything malformed and
 * never crash, leak or read out of bounds. */
#include <cel/message.h>

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    (void)cel_result_decode(env.body, env.body_len, &r, &err);
    cel_result_msg_clear(&r);
    cel_envelope_clear(&env);
    return 0;
}
