/* Compressed task bodies, as Celery's compression option sends them:
 * kombu's own bytes for 'zlib' and 'bzip2', bodies compressed here with
 * zlib (zlib and gzip wrappers) and libbz2 decode to the same call; a zip
 * bomb stops at the limit without holding more than it; corrupt, truncated
 * and unknown compressions are refused with a reason. */
#include <cel/message.h>

#include <sys/resource.h>
#include <time.h>

#include <bzlib.h>
#include <zlib.h>

#include "check.h"

#define KOMBU_BODY                                                             \
    "[[2, 2], {}, {\"callbacks\": null, \"errbacks\": null, \"chain\": "       \
    "null, \"chord\": null}]"

/* What kombu 5.2.4 sends for add.apply_async((2, 2), compression='zlib')
 * (and 'gzip': the same bytes) and for compression='bzip2'. */
static const char kombu_zlib[] =
    "\x78\x9c\x8b\x8e\x36\xd2\x51\x30\x8a\xd5\x51\xa8\xae\x05\x62\xa5\xe4\xc4"
    "\x9c\x9c\xa4\xc4\xe4\xec\x62\x25\x2b\x85\xbc\xd2\x9c\x1c\x1d\x05\xa5\xd4"
    "\xa2\x22\x34\x91\xe4\x8c\xc4\xcc\x3c\x64\x6e\x7e\x51\x0a\x94\x5b\x1b\x0b"
    "\x00\x0a\x20\x19\xf1";
static const char kombu_bz2[] =
    "\x42\x5a\x68\x39\x31\x41\x59\x26\x53\x59\xd3\x54\xdc\xe7\x00\x00\x0f\x9b"
    "\x80\x50\x04\x10\x10\x00\x0a\x3e\x6d\x9a\x0a\x20\x00\x54\x35\x00\x68\x34"
    "\x06\x9a\x09\x53\x13\x50\xd1\xe9\x0f\x50\xc8\xa1\x50\x43\xd9\x48\xc6\x94"
    "\xf2\x96\xcc\x43\xc0\x2b\x3b\xf2\x4f\x78\xde\xd4\x91\x96\xa3\x21\x50\xcb"
    "\x1e\xd7\x21\x80\x44\xbe\x50\x80\x48\x72\x9f\x17\x72\x45\x38\x50\x90\xd3"
    "\x54\xdc\xe7";

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static void
buf_room(buf_t *b, size_t n)
{
    if (b->cap - b->len < n) {
        b->cap = (b->cap + n) * 2;
        b->data = realloc(b->data, b->cap);
        CHECK(b->data != NULL);
    }
}

/* Deflates `copies` times text[0..len) into one stream, zlib's wrapper
 * (window_bits 15, as Python's zlib.compress) or gzip's (15 + 16). The
 * input is never held whole, so a gigabyte costs a few kilobytes. */
static buf_t
deflate_copies(const char *text, size_t len, size_t copies, int window_bits)
{
    buf_t b = {0};
    z_stream z;

    memset(&z, 0, sizeof(z));
    CHECK(deflateInit2(&z, 1, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY) ==
          Z_OK);
    for (size_t i = 0; i <= copies; i++) {
        int flush = i == copies ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = (Bytef *)text;
        z.avail_in = i == copies ? 0 : (uInt)len;
        do {
            buf_room(&b, 65536);
            z.next_out = (Bytef *)b.data + b.len;
            z.avail_out = 65536;
            int zr = deflate(&z, flush);
            CHECK(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
            b.len += 65536 - z.avail_out;
        } while (z.avail_out == 0 || (flush == Z_FINISH && z.avail_in > 0));
    }
    deflateEnd(&z);
    return b;
}

static buf_t
deflate_text(const char *text, int window_bits)
{
    return deflate_copies(text, strlen(text), 1, window_bits);
}

static buf_t
bzip2_text(const char *text, size_t len)
{
    unsigned n = (unsigned)(len + len / 100 + 600);
    buf_t b = {malloc(n), 0, n};

    CHECK(b.data != NULL);
    CHECK(BZ2_bzBuffToBuffCompress(b.data, &n, (char *)text, (unsigned)len, 9,
                                   0, 0) == BZ_OK);
    b.len = n;
    return b;
}

static cel_envelope_t
compressed_envelope(const char *compression, const char *body, size_t len)
{
    cel_envelope_t env;

    cel_envelope_init(&env);
    strcpy(env.content_type, "application/json");
    strcpy(env.content_encoding, "utf-8");
    strcpy(env.reply_to, "reply-q");
    env.headers = json_pack("{s:s, s:s}", "id", "tid-1", "task", "add");
    if (compression != NULL) {
        json_object_set_new(env.headers, "compression",
                            json_string(compression));
    }
    env.body = body;
    env.body_len = len;
    return env;
}

/* Decodes body as `compression` and checks it reads as plain would, with
 * the limit at the larger of the two sizes. */
static void
expect_same(const char *compression, const char *body, size_t len,
            const char *plain)
{
    cel_envelope_t env = compressed_envelope(compression, body, len);
    cel_envelope_t want = compressed_envelope(NULL, plain, strlen(plain));
    cel_task_msg_t m, w;
    cel_error_t err = CEL_ERROR_INIT;

    size_t limit = strlen(plain) > len ? strlen(plain) : len;

    CHECK_OK(cel_task_decode(&want, 0, &w, &err));
    CHECK_OK(cel_task_decode(&env, limit, &m, &err));
    CHECK_STR_EQ(m.id, "tid-1");
    CHECK_STR_EQ(m.task, "add");
    CHECK(json_equal(m.body, w.body));
    cel_task_msg_clear(&m);
    cel_task_msg_clear(&w);
    cel_envelope_clear(&env);
    cel_envelope_clear(&want);
}

static void
expect_bad(const char *compression, const char *body, size_t len,
           size_t max_body_bytes, int code, const char *reason)
{
    cel_envelope_t env = compressed_envelope(compression, body, len);
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;

    CHECK_EQ_INT(cel_task_decode(&env, max_body_bytes, &m, &err), code);
    CHECK_CONTAINS(err.text, reason);
    CHECK_STR_EQ(m.id, "tid-1"); /* the FAILURE still finds its caller */
    CHECK_STR_EQ(m.reply_to, "reply-q");
    CHECK(m.body == NULL);
    cel_task_msg_clear(&m);
    cel_envelope_clear(&env);
}

static void
test_kombu_bytes(void)
{
    cel_envelope_t env = compressed_envelope("application/x-gzip", kombu_zlib,
                                             sizeof(kombu_zlib) - 1);
    json_t *args = json_pack("[i, i]", 2, 2);
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;

    CHECK_OK(cel_task_decode(&env, 1024, &m, &err));
    CHECK(json_equal(m.args, args));
    CHECK(json_array_size(m.body) == 3); /* [args, kwargs, embed] */
    cel_task_msg_clear(&m);
    json_decref(args);
    cel_envelope_clear(&env);
    expect_same("application/x-gzip", kombu_zlib, sizeof(kombu_zlib) - 1,
                KOMBU_BODY);
    expect_same("application/x-bz2", kombu_bz2, sizeof(kombu_bz2) - 1,
                KOMBU_BODY);
    /* The names kombu's consumer takes besides the MIME types. */
    expect_same("zlib", kombu_zlib, sizeof(kombu_zlib) - 1, KOMBU_BODY);
    expect_same("gzip", kombu_zlib, sizeof(kombu_zlib) - 1, KOMBU_BODY);
    expect_same("bzip2", kombu_bz2, sizeof(kombu_bz2) - 1, KOMBU_BODY);
    expect_same("bzip", kombu_bz2, sizeof(kombu_bz2) - 1, KOMBU_BODY);
    expect_same("Application/X-Gzip", kombu_zlib, sizeof(kombu_zlib) - 1,
                KOMBU_BODY);
}

/* A body of about 300 kB, so the output buffer grows several times. */
static char *
large_body(void)
{
    size_t n = 300000;
    char *s = malloc(n + 64);

    CHECK(s != NULL);
    strcpy(s, "[[\"");
    for (size_t i = 3; i < n; i++) {
        s[i] = (char)('a' + (i * 7919 % 26));
    }
    strcpy(s + n, "\", 2], {\"k\": [1.5, null]}, {}]");
    return s;
}

static void
test_roundtrip(void)
{
    char *big = large_body();
    const char *texts[] = {KOMBU_BODY, "[[], {}, {}]", big};

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        const char *t = texts[i];
        buf_t z = deflate_text(t, 15), gz = deflate_text(t, 15 + 16);
        buf_t bz = bzip2_text(t, strlen(t));

        CHECK(gz.data[0] == '\x1f' && gz.data[1] == '\x8b');
        expect_same("application/x-gzip", z.data, z.len, t);
        expect_same("application/x-gzip", gz.data, gz.len, t);
        expect_same("application/x-bz2", bz.data, bz.len, t);
        free(z.data);
        free(gz.data);
        free(bz.data);
    }
    free(big);
}

/* A protocol 1 body compressed, and bodies kombu reads as uncompressed. */
static void
test_other_forms(void)
{
    const char *v1 = "{\"id\": \"tid-1\", \"task\": \"add\", \"args\": [2, 2]}";
    buf_t z = deflate_text(v1, 15);
    cel_envelope_t env =
        compressed_envelope("application/x-gzip", z.data, z.len);
    json_t *args = json_pack("[i, i]", 2, 2);
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;

    json_object_clear(env.headers);
    json_object_set_new(env.headers, "compression", json_string("zlib"));
    CHECK_OK(cel_task_decode(&env, 0, &m, &err));
    CHECK_EQ_INT(m.protocol, 1);
    CHECK(json_equal(m.args, args));
    cel_task_msg_clear(&m);
    cel_envelope_clear(&env);
    json_decref(args);
    free(z.data);

    for (int i = 0; i < 3; i++) {
        json_t *none = i == 0   ? json_null()
                       : i == 1 ? json_false()
                                : json_string("");
        env = compressed_envelope(NULL, KOMBU_BODY, strlen(KOMBU_BODY));
        json_object_set_new(env.headers, "compression", none);
        CHECK_OK(cel_task_decode(&env, 0, &m, &err));
        cel_task_msg_clear(&m);
        cel_envelope_clear(&env);
    }
}

/* Python's zlib and bz2 ignore bytes after the stream, and bz2 reads
 * streams written one after another. */
static void
test_concatenated(void)
{
    buf_t a = bzip2_text("[[2, ", 5), b = bzip2_text("2], {}, {}]", 11);
    buf_t z = deflate_text(KOMBU_BODY, 15);

    buf_room(&a, b.len);
    memcpy(a.data + a.len, b.data, b.len);
    a.len += b.len;
    expect_same("application/x-bz2", a.data, a.len, "[[2, 2], {}, {}]");
    buf_room(&a, 8);
    memcpy(a.data + a.len, "trailer", 7);
    expect_same("application/x-bz2", a.data, a.len + 7, "[[2, 2], {}, {}]");
    buf_room(&z, 8);
    memcpy(z.data + z.len, "trailer", 7);
    expect_same("application/x-gzip", z.data, z.len + 7, KOMBU_BODY);
    free(a.data);
    free(b.data);
    free(z.data);
}

static long
peak_rss_kb(void)
{
    struct rusage ru;

    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    return ru.ru_maxrss;
}

/* 1 GiB of zeros in about a megabyte, against workerd's default limit of
 * 16 MiB: refused once the output passes 16 MiB, holding no more. */
static void
test_zip_bomb(void)
{
    static const char zeros[1 << 16];
    const size_t limit = 16u << 20;
    buf_t bomb = deflate_copies(zeros, sizeof(zeros), 1u << 14, 15);
    long before = peak_rss_kb();
    struct timespec t0, t1;

    printf("1 GiB of zeros deflates to %zu bytes\n", bomb.len);
    CHECK(bomb.len < limit);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect_bad("application/x-gzip", bomb.data, bomb.len, limit, CEL_ETOOBIG,
               "body inflates past the limit of 16777216 bytes "
               "(compression application/x-gzip)");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("refused in %.3f s; peak RSS grew by %ld kB\n",
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
           peak_rss_kb() - before);
    CHECK(peak_rss_kb() - before < 128 * 1024);
    free(bomb.data);
}

/* Exactly the limit is read; one byte over it is not, in each format. */
static void
test_limit(void)
{
    char *text = calloc(1, (4u << 20) + 1);

    CHECK(text != NULL);
    memset(text, ' ', 4u << 20);
    memcpy(text, "[[], {}, {}]", 12);
    size_t n = strlen(text);
    buf_t bodies[] = {deflate_text(text, 15), deflate_text(text, 15 + 16),
                      bzip2_text(text, n)};
    const char *names[] = {"application/x-gzip", "application/x-gzip",
                           "application/x-bz2"};

    for (size_t i = 0; i < 3; i++) {
        expect_same(names[i], bodies[i].data, bodies[i].len, text);
        expect_bad(names[i], bodies[i].data, bodies[i].len, n - 1, CEL_ETOOBIG,
                   "inflates past the limit");
        expect_bad(names[i], bodies[i].data, bodies[i].len, 1u << 20,
                   CEL_ETOOBIG, "limit of 1048576 bytes (compression");
        free(bodies[i].data);
    }
    free(text);
}

static void
test_corrupt(void)
{
    buf_t z = deflate_text(KOMBU_BODY, 15), gz = deflate_text(KOMBU_BODY, 31);
    buf_t bz = bzip2_text(KOMBU_BODY, strlen(KOMBU_BODY));
    const char *x_gzip = "application/x-gzip", *x_bz2 = "application/x-bz2";

    expect_bad(x_gzip, z.data, z.len - 4, 0, CEL_EPROTO, "truncated");
    expect_bad(x_gzip, gz.data, gz.len - 1, 0, CEL_EPROTO, "truncated");
    expect_bad(x_bz2, bz.data, bz.len - 1, 0, CEL_EPROTO, "truncated");
    expect_bad(x_gzip, z.data, 0, 0, CEL_EPROTO, "truncated");
    expect_bad(x_bz2, bz.data, 0, 0, CEL_EPROTO, "truncated");
    z.data[z.len - 1] ^= 1; /* the Adler-32 */
    expect_bad(x_gzip, z.data, z.len, 0, CEL_EPROTO,
               "compressed body (application/x-gzip) is corrupt: incorrect "
               "data check");
    gz.data[gz.len - 5] ^= 1; /* the CRC-32 */
    expect_bad(x_gzip, gz.data, gz.len, 0, CEL_EPROTO, "is corrupt");
    bz.data[bz.len / 2] ^= 0x10;
    expect_bad(x_bz2, bz.data, bz.len, 0, CEL_EPROTO, "is corrupt");
    /* A plain body that only claims to be compressed. */
    expect_bad(x_gzip, KOMBU_BODY, strlen(KOMBU_BODY), 0, CEL_EPROTO,
               "incorrect header check");
    expect_bad(x_bz2, KOMBU_BODY, strlen(KOMBU_BODY), 0, CEL_EPROTO,
               "not a bzip2 stream");
    /* Inflates fine, but to something that is not JSON. */
    buf_t junk = deflate_text("[[2, 2], {", 15);
    expect_bad(x_gzip, junk.data, junk.len, 0, CEL_EPROTO, "invalid JSON");
    free(junk.data);
    free(z.data);
    free(gz.data);
    free(bz.data);
}

static void
test_unknown(void)
{
    buf_t z = deflate_text(KOMBU_BODY, 15);
    cel_envelope_t env = compressed_envelope(NULL, z.data, z.len);
    cel_task_msg_t m;
    cel_error_t err = CEL_ERROR_INIT;

    expect_bad("application/x-lzma", z.data, z.len, 0, CEL_EPROTO,
               "compression application/x-lzma is not supported (only "
               "application/x-gzip and application/x-bz2)");
    expect_bad("application/zstd", z.data, z.len, 0, CEL_EPROTO,
               "not supported");
    json_object_set_new(env.headers, "compression", json_integer(1));
    CHECK_EQ_INT(cel_task_decode(&env, 0, &m, &err), CEL_EPROTO);
    CHECK_CONTAINS(err.text, "header compression is not a string");
    cel_task_msg_clear(&m);
    cel_envelope_clear(&env);
    free(z.data);
}

/* What the producer sends with compression= comes back whole through the
 * decoder, named as kombu names it. */
static void
test_encode_compressed(void)
{
    static const char *const names[][2] = {{"zlib", "application/x-gzip"},
                                           {"gzip", "application/x-gzip"},
                                           {"bzip2", "application/x-bz2"}};
    json_t *args = json_pack("[s, i]", "compress me, compress me", 7);

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
        cel_envelope_t env;
        cel_task_msg_t m;
        cel_error_t err = CEL_ERROR_INIT;
        spec.name = "echo";
        spec.args = args;
        spec.compression = names[i][0];
        CHECK_OK(cel_task_encode(&spec, &env, NULL, 0, &err));
        CHECK_STR_EQ(
            json_string_value(json_object_get(env.headers, "compression")),
            names[i][1]);
        CHECK(env.body[0] != '['); /* not the JSON text */
        CHECK_OK(cel_task_decode(&env, 1024, &m, &err));
        CHECK(json_equal(m.args, args));
        cel_task_msg_clear(&m);
        cel_envelope_clear(&env);
    }
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    cel_envelope_t env;
    cel_error_t err = CEL_ERROR_INIT;
    spec.name = "echo";
    spec.compression = "xz";
    CHECK_EQ_INT(cel_task_encode(&spec, &env, NULL, 0, &err), CEL_EINVAL);
    json_decref(args);
}

int
main(void)
{
    test_kombu_bytes();
    test_roundtrip();
    test_other_forms();
    test_concatenated();
    test_limit();
    test_corrupt();
    test_unknown();
    test_zip_bomb();
    test_encode_compressed();
    puts("ok");
    return 0;
}
