/* fuzz_seed: writes the fuzz corpora from the captured Celery messages.
 * Usage: fuzz_seed OUT_DIR VECTOR_FILE...
 * OUT_DIR/decode gets one "headers JSON \n body" file per captured message;
 * OUT_DIR/url gets a handful of broker URLs of every shape;
 * OUT_DIR/iso a handful of eta/expires values Celery accepts or refuses;
 * OUT_DIR/table gets each message's headers twice, as JSON and as the AMQP
 * table py-amqp put on the wire, and a few tables at the limits. */
#include "../support/vectors.h"

#include <cel/message.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *out_dir;
static int written;

static void
write_file(const char *sub, const char *a, size_t alen, const char *b,
           size_t blen)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s/seed-%04d", out_dir, sub, written++);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(a, 1, alen, f) != alen ||
        (b != NULL &&
         (fputc('\n', f) == EOF || fwrite(b, 1, blen, f) != blen))) {
        fprintf(stderr, "fuzz_seed: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

static size_t
b64_decode(const char *in, unsigned char *out, size_t size)
{
    static const char *alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned bits = 0, nbits = 0;
    size_t n = 0;

    for (; in != NULL && *in != '\0' && *in != '='; in++) {
        const char *p = strchr(alphabet, *in);
        if (p == NULL || n == size) {
            return 0;
        }
        bits = (bits << 6) | (unsigned)(p - alphabet);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out[n++] = (unsigned char)(bits >> nbits);
        }
    }
    return n;
}

/* The content header is class, weight, body size and property flags (14
 * bytes), then content-type and content-encoding (shortstrs) when their
 * flags are set, then the headers table: its 32-bit size and its body. */
static void
seed_table(const json_t *rec)
{
    static unsigned char raw[65536];
    const json_t *h =
        json_object_get(json_object_get(rec, "properties"), "headers");
    char *text = h ? cel_json_dump(h, NULL) : NULL;
    size_t n = b64_decode(
        json_string_value(json_object_get(rec, "content_header_payload_b64")),
        raw, sizeof(raw));
    size_t at = 14;

    if (text != NULL) {
        write_file("table", text, strlen(text), NULL, 0);
    }
    free(text);
    unsigned flags = n >= at ? (unsigned)raw[12] << 8 | raw[13] : 0;
    for (unsigned bit = 0x8000; bit > 0x2000 && at < n; bit >>= 1) {
        at += flags & bit ? 1 + (size_t)raw[at] : 0;
    }
    if ((flags & 0x2000) && at + 4 <= n) {
        size_t len = (size_t)raw[at] << 24 | (size_t)raw[at + 1] << 16 |
                     (size_t)raw[at + 2] << 8 | raw[at + 3];
        if (len <= n - at - 4) {
            write_file("table", (const char *)raw + at, 4 + len, NULL, 0);
        }
    }
}

/* Keys of 255 and 256 bytes, and nesting at the limit and one past it. */
static void
seed_table_edges(void)
{
    char text[600];

    for (int len = 255; len <= 256; len++) {
        int n = snprintf(text, sizeof(text), "{\"%0*d\":1}", len, 0);
        write_file("table", text, (size_t)n, NULL, 0);
    }
    for (int depth = 32; depth <= 33; depth++) {
        int n = 0;
        for (int d = 0; d < depth; d++) {
            n += snprintf(text + n, sizeof(text) - (size_t)n, "%s",
                          d % 2 ? "[" : "{\"h\":");
        }
        n += snprintf(text + n, sizeof(text) - (size_t)n, "0");
        for (int d = depth - 1; d >= 0; d--) {
            n += snprintf(text + n, sizeof(text) - (size_t)n, "%s",
                          d % 2 ? "]" : "}");
        }
        write_file("table", text, (size_t)n, NULL, 0);
    }
}

static void
seed_message(const json_t *rec)
{
    const json_t *p = json_object_get(rec, "properties");
    const char *body = json_string_value(json_object_get(rec, "body_utf8"));
    const json_t *h = json_object_get(p, "headers");
    char *headers = h ? cel_json_dump(h, NULL) : strdup("{}");

    if (body != NULL && headers != NULL) {
        write_file("decode", headers, strlen(headers), body, strlen(body));
    }
    free(headers);
}

int
main(int argc, char **argv)
{
    static const char *const urls[] = {
        "amqp://guest:guest@localhost:5672//",
        "amqp://user:s3cretPassw0rd@rabbit.example.com:5673/vhost",
        "amqp://a%40b:p%2Fw@[::1]:5672/%2Fv",
        "amqps://u:p@host/",
        "amqp://host",
        "pyamqp://guest@127.0.0.1//",
    };
    static const char *const isos[] = {
        "2026-11-21T21:51:16.741105+00:00",
        "2026-11-21 21:51:16Z",
        "2020-1-1",
        "2020-01-01t00:00-05:30",
        "2020-01-01\303\25100:00:00.000000001",
        "2024-02-29T23:59:59.999999+23:59",
        "0001-01-01T00:00:00-00:01",
        "9999-12-31T23:59:59+05:99",
        "2030-01-01T-1:00:00+0530",
    };
    char dir[4096];

    if (argc < 3) {
        fprintf(stderr, "usage: fuzz_seed OUT_DIR VECTOR_FILE...\n");
        return 2;
    }
    out_dir = argv[1];
    for (const char *const *sub = (const char *const[]){"", "/decode", "/url",
                                                        "/iso", "/table", NULL};
         *sub != NULL; sub++) {
        snprintf(dir, sizeof(dir), "%s%s", out_dir, *sub);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            perror(dir);
            return 1;
        }
    }
    for (int i = 2; i < argc; i++) {
        test_vectors_walk(argv[i], "body_utf8", seed_message);
        test_vectors_walk(argv[i], "content_header_payload_b64", seed_table);
    }
    for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
        write_file("url", urls[i], strlen(urls[i]), NULL, 0);
    }
    for (size_t i = 0; i < sizeof(isos) / sizeof(*isos); i++) {
        write_file("iso", isos[i], strlen(isos[i]), NULL, 0);
    }
    seed_table_edges();
    printf("fuzz_seed: %d seeds in %s\n", written, out_dir);
    return 0;
}
