/* compress.c: reading the bodies kombu compresses, with zlib and libbz2.
 *
 * Both codecs inflate into one buffer that grows by doubling up to
 * max + 1 bytes and never further: output past max stops the stream at
 * once, so a small body that inflates to gigabytes costs at most the bound
 * the caller gave. The codecs count in 32 bits, so input and output reach
 * them in pieces of at most CHUNK_BYTES. */
#define ZLIB_CONST
#include <cel/compress.h>

#include <stdint.h> /* SIZE_MAX */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bzlib.h>
#include <zlib.h>

#define CHUNK_BYTES ((size_t)1 << 30)
#define FIRST_BYTES ((size_t)16 << 10)
#define STEP_END    1 /* a step reached the end of its stream */

typedef enum { METHOD_NONE, METHOD_ZLIB, METHOD_BZIP2 } method_t;

/* An inflation in progress. in/in_left is the input the codec has not
 * consumed yet; out holds len bytes of cap (plus room for a NUL). */
typedef struct {
    const char *name; /* the header's value, for the error texts */
    const char *in;
    size_t in_left;
    char *out;
    size_t len, cap;
    size_t max; /* more output than this is refused */
    cel_error_t *err;
} job_t;

static const struct {
    const char *name;
    method_t method;
} methods[] = {
    {"application/x-gzip", METHOD_ZLIB},
    {"zlib", METHOD_ZLIB},
    {"gzip", METHOD_ZLIB},
    {"application/x-bz2", METHOD_BZIP2},
    {"bzip2", METHOD_BZIP2},
    {"bzip", METHOD_BZIP2},
};

static method_t
find_method(const char *name)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcasecmp(name, methods[i].name) == 0) {
            return methods[i].method;
        }
    }
    return METHOD_NONE;
}

static size_t
min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

static int
corrupt(const job_t *j, const char *why)
{
    if (why == NULL) {
        return cel_error_set(j->err, CEL_EPROTO,
                             "compressed body (%.60s) is truncated", j->name);
    }
    return cel_error_set(j->err, CEL_EPROTO,
                         "compressed body (%.60s) is corrupt: %.60s", j->name,
                         why);
}

static int
no_memory(const job_t *j)
{
    cel_error_set(j->err, CEL_ENOMEM,
                  "out of memory to decompress a body (%.60s)", j->name);
    return CEL_ENOMEM;
}

/* Makes room for more output; *room gets how much, never past max + 1
 * bytes in all. Called only while len <= max, so there is always some. */
static int
reserve(job_t *j, size_t *room)
{
    if (j->len == j->cap) {
        size_t limit = j->max + 1;
        size_t cap = j->cap == 0          ? FIRST_BYTES
                     : j->cap > limit / 2 ? limit
                                          : j->cap * 2;

        cap = min_size(cap, limit);
        char *p = realloc(j->out, cap + 1);
        if (p == NULL) {
            return no_memory(j);
        }
        j->out = p;
        j->cap = cap;
    }
    *room = min_size(j->cap - j->len, CHUNK_BYTES);
    return 0;
}

/* Counts what one call of a codec consumed and wrote, and refuses output
 * past the limit. */
static int
advance(job_t *j, size_t used, size_t made)
{
    j->in += used;
    j->in_left -= used;
    j->len += made;
    if (j->len <= j->max) {
        return 0;
    }
    return cel_error_set(j->err, CEL_ETOOBIG,
                         "body inflates past the limit of %zu bytes "
                         "(compression %.60s)",
                         j->max, j->name);
}

/* After a call that neither failed nor ended the stream, with room_left
 * of its output room unused: 0 to call the codec again. All input read and
 * room to spare means the codec wants input there is not. */
static int
go_on(const job_t *j, size_t room_left)
{
    return j->in_left == 0 && room_left > 0 ? corrupt(j, NULL) : 0;
}

static int
zlib_step(job_t *j, z_stream *z)
{
    size_t room = 0, given = min_size(j->in_left, CHUNK_BYTES);
    int r = reserve(j, &room);

    if (r != 0) {
        return r;
    }
    z->next_in = (const Bytef *)j->in;
    z->avail_in = (uInt)given;
    z->next_out = (Bytef *)(j->out + j->len);
    z->avail_out = (uInt)room;
    int zr = inflate(z, Z_NO_FLUSH);
    r = advance(j, given - z->avail_in, room - z->avail_out);
    if (r != 0 || zr == Z_STREAM_END) {
        return r != 0 ? r : STEP_END;
    }
    if (zr == Z_OK || zr == Z_BUF_ERROR) {
        return go_on(j, z->avail_out);
    }
    if (zr == Z_MEM_ERROR) {
        return no_memory(j);
    }
    return corrupt(j, zr == Z_NEED_DICT ? "it needs a preset dictionary"
                      : z->msg != NULL  ? z->msg
                                        : "bad data");
}

/* kombu's application/x-gzip is a zlib stream; 32 more window bits let
 * zlib read a gzip file's header as well. */
static int
inflate_zlib(job_t *j)
{
    z_stream z;
    int r = 0;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, MAX_WBITS + 32) != Z_OK) {
        return no_memory(j);
    }
    while (r == 0) {
        r = zlib_step(j, &z);
    }
    inflateEnd(&z);
    return r == STEP_END ? 0 : r;
}

static const char *
bzip2_reason(int br)
{
    switch (br) {
    case BZ_DATA_ERROR_MAGIC: return "not a bzip2 stream";
    case BZ_DATA_ERROR: return "bad data or checksum";
    default: return "libbz2 refused it";
    }
}

static int
bzip2_step(job_t *j, bz_stream *bz)
{
    size_t room = 0, given = min_size(j->in_left, CHUNK_BYTES);
    int r = reserve(j, &room);

    if (r != 0) {
        return r;
    }
    bz->next_in = (char *)j->in; /* libbz2 only reads it */
    bz->avail_in = (unsigned)given;
    bz->next_out = j->out + j->len;
    bz->avail_out = (unsigned)room;
    int br = BZ2_bzDecompress(bz);
    r = advance(j, given - bz->avail_in, room - bz->avail_out);
    if (r != 0 || br == BZ_STREAM_END) {
        return r != 0 ? r : STEP_END;
    }
    if (br == BZ_OK) {
        return go_on(j, bz->avail_out);
    }
    return br == BZ_MEM_ERROR ? no_memory(j) : corrupt(j, bzip2_reason(br));
}

static int
bzip2_stream(job_t *j)
{
    bz_stream bz;
    int r = 0;

    memset(&bz, 0, sizeof(bz));
    if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK) {
        return no_memory(j);
    }
    while (r == 0) {
        r = bzip2_step(j, &bz);
    }
    BZ2_bzDecompressEnd(&bz);
    return r == STEP_END ? 0 : r;
}

/* Streams written one after another (bzip2 -c a b, pbzip2) are read on
 * as Python's bz2.decompress does; other bytes after a stream are not. */
static int
inflate_bzip2(job_t *j)
{
    int r = bzip2_stream(j);

    while (r == 0 && j->in_left >= 3 && memcmp(j->in, "BZh", 3) == 0) {
        r = bzip2_stream(j);
    }
    return r;
}

int
cel_body_decompress(const char *name, const char *body, size_t len,
                    size_t max_bytes, cel_inflated_t *out, cel_error_t *err)
{
    method_t method = find_method(name);
    job_t j = {.name = name, .in = body, .in_left = len, .err = err};
    size_t room;
    int r;

    out->data = NULL;
    out->len = 0;
    if (method == METHOD_NONE) {
        return cel_error_set(err, CEL_EPROTO,
                             "compression %.60s is not supported (only "
                             "application/x-gzip and application/x-bz2)",
                             name);
    }
    j.max = max_bytes > 0 ? min_size(max_bytes, SIZE_MAX / 2)
                          : CEL_DECOMPRESS_MAX_BYTES;
    r = reserve(&j, &room); /* the first room, so j.out is never NULL */
    if (r == 0) {
        r = method == METHOD_ZLIB ? inflate_zlib(&j) : inflate_bzip2(&j);
    }
    if (r != 0) {
        free(j.out);
        return r;
    }
    j.out[j.len] = '\0';
    out->data = j.out;
    out->len = j.len;
    return 0;
}

const char *
cel_compression_mime(const char *name)
{
    method_t m = name != NULL ? find_method(name) : METHOD_NONE;

    return m == METHOD_ZLIB    ? "application/x-gzip"
           : m == METHOD_BZIP2 ? "application/x-bz2"
                               : NULL;
}

/* zlib.compress(body) as kombu calls it: a zlib stream, level 6. */
static int
deflate_zlib(const char *body, size_t len, cel_inflated_t *out,
             cel_error_t *err)
{
    uLongf cap = compressBound((uLong)len);
    char *buf = malloc(cap + 1);

    if (buf == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "out of memory to compress");
    }
    if (compress2((Bytef *)buf, &cap, (const Bytef *)body, (uLong)len,
                  Z_DEFAULT_COMPRESSION) != Z_OK) {
        free(buf);
        return cel_error_set(err, CEL_ENOMEM, "zlib cannot compress the body");
    }
    buf[cap] = '\0';
    out->data = buf;
    out->len = cap;
    return 0;
}

/* bz2.compress(body) as kombu calls it: level 9. */
static int
deflate_bzip2(const char *body, size_t len, cel_inflated_t *out,
              cel_error_t *err)
{
    if (len > UINT32_MAX / 2) {
        return cel_error_set(err, CEL_ETOOBIG,
                             "a body of %zu bytes is too "
                             "large for bzip2 here",
                             len);
    }
    unsigned int cap = (unsigned int)(len + len / 100 + 601);
    char *buf = malloc((size_t)cap + 1);

    if (buf == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "out of memory to compress");
    }
    if (BZ2_bzBuffToBuffCompress(buf, &cap, (char *)body, (unsigned int)len, 9,
                                 0, 0) != BZ_OK) {
        free(buf);
        return cel_error_set(err, CEL_ENOMEM, "bzip2 cannot compress the body");
    }
    buf[cap] = '\0';
    out->data = buf;
    out->len = cap;
    return 0;
}

int
cel_body_compress(const char *name, const char *body, size_t len,
                  cel_inflated_t *out, cel_error_t *err)
{
    method_t m = name != NULL ? find_method(name) : METHOD_NONE;

    out->data = NULL;
    out->len = 0;
    if (m == METHOD_NONE) {
        return cel_error_set(err, CEL_EINVAL,
                             "compression %.60s is not supported (zlib, gzip "
                             "or bzip2)",
                             name ? name : "(null)");
    }
    return m == METHOD_ZLIB ? deflate_zlib(body, len, out, err)
                            : deflate_bzip2(body, len, out, err);
}
