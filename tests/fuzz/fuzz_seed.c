/* fuzz_seed: writes the fuzz corpora from the captured Celery messages.
 * Usage: fuzz_seed OUT_DIR VECTOR_FILE...
 * OUT_DIR/decode gets one "headers JSON \n body" file per captured message;
 * OUT_DIR/url gets a handful of broker URLs of every shape;
 * OUT_DIR/iso a handful of eta/expires values Celery accepts or refuses. */
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
    for (const char *const *sub =
             (const char *const[]){"", "/decode", "/url", "/iso", NULL};
         *sub != NULL; sub++) {
        snprintf(dir, sizeof(dir), "%s%s", out_dir, *sub);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            perror(dir);
            return 1;
        }
    }
    for (int i = 2; i < argc; i++) {
        test_vectors_walk(argv[i], "body_utf8", seed_message);
    }
    for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
        write_file("url", urls[i], strlen(urls[i]), NULL, 0);
    }
    for (size_t i = 0; i < sizeof(isos) / sizeof(*isos); i++) {
        write_file("iso", isos[i], strlen(isos[i]), NULL, 0);
    }
    printf("fuzz_seed: %d seeds in %s\n", written, out_dir);
    return 0;
}
