/* libFuzzer target: the broker URL parser and its redacted form. What the
 * redacted text says must not depend on the password at all: the same URL
 * with another password of the same length must redact to the same text,
 * so no part of a password can reach a log line. */
#include <cel/url.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[2048], shown[2048], other_shown[2048];
    cel_url_t u, other;
    cel_error_t err;

    if (size >= sizeof(text)) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (cel_url_parse(text, &u, &err) != 0) {
        return 0;
    }
    other = u;
    for (char *p = other.password; *p != '\0'; p++) {
        *p = *p == 'Q' ? 'R' : 'Q';
    }
    cel_url_redact(&u, shown, sizeof(shown));
    cel_url_redact(&other, other_shown, sizeof(other_shown));
    if (strcmp(shown, other_shown) != 0) {
        abort(); /* the password shows through the redaction */
    }
    return 0;
}
