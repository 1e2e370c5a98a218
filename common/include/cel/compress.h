/* compress.h: message bodies compressed as Celery compresses them (its
 * `compression` option, kombu.compression). kombu names the method in the
 * message's `compression` header by a MIME type: "application/x-gzip" for
 * both 'zlib' and 'gzip' (a zlib stream either way) and
 * "application/x-bz2" for 'bzip2'. The content type and encoding stay
 * application/json and utf-8. */
#ifndef CEL_COMMON_COMPRESS_H
#define CEL_COMMON_COMPRESS_H

#include <stddef.h>

#include <cel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The bound on a decompressed body when the caller gives none: 1 GiB, the
 * largest --max-message-size workerd takes. */
#define CEL_DECOMPRESS_MAX_BYTES ((size_t)1 << 30)

/* A decompressed body: len bytes at data, then a NUL. */
typedef struct {
    char *data; /* malloc'd; the caller frees it with free() */
    size_t len;
} cel_inflated_t;

/* cel_body_decompress inflates body[0..len), compressed as the
 * `compression` header value `name` says, into *out: application/x-gzip
 * (a zlib stream, as kombu writes it, or a gzip file), application/x-bz2,
 * or an alias kombu's consumer takes too (zlib, gzip, bzip2, bzip), in any
 * case. The inflation is streamed and stops as soon as the output passes
 * max_bytes (0: CEL_DECOMPRESS_MAX_BYTES), so it never holds more than
 * max_bytes + 1 bytes: a zip bomb gives CEL_ETOOBIG. A corrupt or
 * truncated stream and an unknown name give CEL_EPROTO, and memory
 * CEL_ENOMEM, each with the reason in err; out->data is NULL then. Bytes
 * after the end of the (last) stream are ignored, as Python's zlib and bz2
 * do. */
CEL_NODISCARD int cel_body_decompress(const char *name, const char *body,
                                      size_t len, size_t max_bytes,
                                      cel_inflated_t *out, cel_error_t *err);

/* cel_compression_mime returns the `compression` header value kombu
 * writes for name ('zlib', 'gzip', 'bzip2', or a MIME type already), or
 * NULL for a name it does not know. Static storage. */
const char *cel_compression_mime(const char *name);

/* cel_body_compress compresses body[0..len) as kombu does for name (a
 * zlib stream at level 6 for 'zlib' and 'gzip', bzip2 at level 9 for
 * 'bzip2') into *out (out->data malloc'd, NUL-terminated; the caller frees
 * it). Returns 0, CEL_EINVAL for an unknown name, or CEL_ENOMEM or
 * CEL_ETOOBIG with the reason in err. */
CEL_NODISCARD int cel_body_compress(const char *name, const char *body,
                                    size_t len, cel_inflated_t *out,
                                    cel_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
