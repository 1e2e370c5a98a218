/* libFuzzer target: cel_clock_parse_iso, which reads the eta and expires
 * headers of every task message. Any bytes must be accepted or refused
 * without a crash or undefined behaviour (the text sits in a buffer of
 * exactly its size, so reading past its NUL is caught), and what it accepts
 * must survive a round trip: formatted by cel_clock_format_iso and parsed
 * again, it is the same instant. */
#include <cel/clock.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), iso[CEL_ISO_SIZE];
    int64_t us, again = 0;

    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (cel_clock_parse_iso(text, &us) == 0) {
        cel_clock_format_iso(us, iso);
        if (cel_clock_parse_iso(iso, &again) != 0 || again != us) {
            fprintf(stderr, "%lld formats as %s, which reads back as %lld\n",
                    (long long)us, iso, (long long)again);
            abort();
        }
    }
    free(text);
    return 0;
}
