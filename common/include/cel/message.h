/* message.h: Celery's message protocol v2 (json serializer) and the rpc://
 * result messages, as Celery 5.x encodes and decodes them.
 *
 * An envelope is what travels over AMQP: the basic properties that Celery
 * uses, the headers table as a JSON object, and the body bytes. The broker
 * client turns envelopes into AMQP frames and back; nothing here knows AMQP.
 * Decoding never trusts its input: it returns CEL_EPROTO (or CEL_ETOOBIG)
 * with a sentence that says what is wrong. */
#ifndef CEL_COMMON_MESSAGE_H
#define CEL_COMMON_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <cel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CEL_SHORTSTR_SIZE 256 /* AMQP short strings hold at most 255 bytes */

/* The properties and content of one AMQP message. String properties are
 * empty when absent; delivery_mode and priority are -1 when absent. */
typedef struct {
    char content_type[CEL_SHORTSTR_SIZE];
    char content_encoding[CEL_SHORTSTR_SIZE];
    char correlation_id[CEL_SHORTSTR_SIZE];
    char reply_to[CEL_SHORTSTR_SIZE];
    char expiration[CEL_SHORTSTR_SIZE];
    int delivery_mode;
    int priority;
    json_t *headers;  /* owned; an object, or NULL when there are none */
    const char *body; /* body bytes (not NUL-terminated) */
    size_t body_len;
    char *body_owned; /* set when the envelope owns body; freed by clear */
} cel_envelope_t;

/* cel_copy_str copies src into dst[size] (size > 0), cut to size - 1 bytes:
 * snprintf's "%s" without its formatter, for fields filled per task. */
void cel_copy_str(char *dst, size_t size, const char *src);

/* cel_envelope_init empties env; cel_envelope_clear releases what it owns
 * and empties it again. */
void cel_envelope_init(cel_envelope_t *env);
void cel_envelope_clear(cel_envelope_t *env);

/* Task states, as in celery.states. */
typedef enum {
    CEL_STATE_PENDING = 0,
    CEL_STATE_RECEIVED,
    CEL_STATE_STARTED,
    CEL_STATE_RETRY,
    CEL_STATE_REVOKED,
    CEL_STATE_FAILURE,
    CEL_STATE_SUCCESS,
} cel_state_t;

/* cel_state_name returns "PENDING", "SUCCESS", ... (a static string, never
 * freed; "UNKNOWN" for a value outside the enum). cel_state_parse maps a
 * name back into *out: 0, or CEL_EINVAL for an unknown name or NULL. */
const char *cel_state_name(cel_state_t state);
CEL_NODISCARD int cel_state_parse(const char *name, cel_state_t *out);

/* cel_state_ready is true for SUCCESS, FAILURE and REVOKED. */
bool cel_state_ready(cel_state_t state);

/* What a producer says about a task it sends. Zero-initialise with
 * CEL_TASK_SPEC_INIT and set what you need; every pointer is borrowed. */
typedef struct {
    const char *name;      /* registered task name, required */
    const char *id;        /* NULL: a fresh uuid is made */
    const json_t *args;    /* array; NULL means [] */
    const json_t *kwargs;  /* object; NULL means {} */
    const char *reply_to;  /* rpc reply queue; NULL or "" for none */
    const char *parent_id; /* NULL for a root task */
    const char *root_id;   /* NULL: the task's own id */
    const char *group;
    const char *shadow;
    const char *origin; /* NULL: "gen<pid>@<host>" */
    int64_t eta_us;     /* wall-clock µs, 0 for none */
    int64_t expires_us; /* wall-clock µs, 0 for none */
    double time_limit;  /* hard, seconds, 0 for none */
    double soft_time_limit;
    int retries;
    int priority;      /* AMQP priority, 0..255 */
    int delivery_mode; /* 1 transient, else 2 (persistent, Celery's) */
    bool ignore_result;
    const json_t *headers;   /* extra headers (an object), added after the
                                protocol's; a protocol header is refused */
    const char *compression; /* 'zlib', 'gzip' or 'bzip2' (Celery's
                                compression option): the body compressed as
                                kombu does, named in the header; NULL: none */
    const json_t *embed;     /* the body's third element: an object whose
                                "callbacks", "errbacks", "chain" and "chord"
                                are written (a missing one as null); NULL:
                                all null */
} cel_task_spec_t;

#define CEL_TASK_SPEC_INIT                                                     \
    {                                                                          \
        0                                                                      \
    }

/* cel_task_origin writes the default origin header, "gen<pid>@<host>".
 * It costs two system calls, so a long-lived sender computes it once and
 * passes it as spec.origin. */
void cel_task_origin(char *out, size_t size);

/* cel_task_encode builds the v2 message for spec into env (which it
 * initialises; release it with cel_envelope_clear). The task id is written
 * into id_out. Returns 0, CEL_EINVAL for a bad spec, or CEL_ENOMEM. */
CEL_NODISCARD int cel_task_encode(const cel_task_spec_t *spec,
                                  cel_envelope_t *env, char *id_out,
                                  size_t id_size, cel_error_t *err);

/* A decoded task message. The strings and JSON values are borrowed from the
 * envelope and from `body`; they stay valid until cel_task_msg_clear and
 * while the envelope lives. Absent or null headers give NULL or 0. */
typedef struct {
    int protocol; /* 2, or 1 for an old message converted on the fly */
    const char *id;
    const char *task;
    const char *reply_to;       /* NULL when no reply is wanted */
    const char *correlation_id; /* the property, else the id */
    const char *root_id;
    const char *parent_id;
    const char *group;
    const char *eta;
    const char *expires;
    int64_t retries;
    double time_limit; /* [hard, soft] from the timelimit header */
    double soft_time_limit;
    bool ignore_result;
    json_t *args;   /* an array */
    json_t *kwargs; /* an object */
    json_t *embed;  /* an object, or NULL when it has nothing to act on
                       (every value null or []) */
    json_t *body;   /* owned: the parsed body the fields point into */
} cel_task_msg_t;

/* cel_task_decode parses env as a Celery task message (protocol 2, or 1).
 * Bodies over max_body_bytes (0: no limit) give CEL_ETOOBIG. Even on
 * failure, out->id, out->task and out->reply_to are set when they could be
 * read, so the caller can still report a FAILURE to the right place.
 * Always call cel_task_msg_clear afterwards. */
CEL_NODISCARD int cel_task_decode(const cel_envelope_t *env,
                                  size_t max_body_bytes, cel_task_msg_t *out,
                                  cel_error_t *err);
void cel_task_msg_clear(cel_task_msg_t *msg);

/* How long workerd goes on publishing results the broker returned because
 * their reply queue did not exist (it publishes results with mandatory):
 * the oldest result for such a queue goes again 0.25, 0.5, 1, 2, 4 and 8 s
 * after the queue's first result came back, and the others follow the
 * first that the broker keeps. A reply queue that is deleted, and declared
 * again by its client under the same name within this, loses no result of
 * workerd's; celeriac's producer keeps the results pending at a deletion
 * pending only when its queue was gone for less than this, less a margin.
 * Shared by both sides, which must agree on it. */
#define CEL_RETURN_WINDOW_MS 8000

/* cel_result_encode builds an rpc:// result message for task_id into env:
 * body {"task_id","status","result","traceback","children"}, properties
 * application/json, utf-8, delivery_mode 1, correlation_id = correlation_id
 * (or task_id when NULL). result and traceback may be NULL (JSON null). */
CEL_NODISCARD int cel_result_encode(const char *task_id,
                                    const char *correlation_id,
                                    cel_state_t state, const json_t *result,
                                    const char *traceback, cel_envelope_t *env,
                                    cel_error_t *err);

/* A result message to build: cel_result_encode's arguments, and the
 * "children" Celery lists (the tasks the finished one sent on: its chain's
 * next step, its links), as an array of result tuples [[id, null], null].
 * Every pointer is borrowed. */
typedef struct {
    const char *task_id;
    const char *correlation_id; /* NULL: task_id */
    cel_state_t state;
    const json_t *result;   /* NULL: null */
    const char *traceback;  /* NULL: null */
    const json_t *children; /* NULL: [] */
} cel_result_spec_t;

/* cel_result_build is cel_result_encode from a spec. */
CEL_NODISCARD int cel_result_build(const cel_result_spec_t *spec,
                                   cel_envelope_t *env, cel_error_t *err);

/* A decoded result message; fields are borrowed from `body`. */
typedef struct {
    const char *task_id;
    cel_state_t state;
    json_t *result;        /* any JSON; an exception object for failures */
    const char *traceback; /* NULL when null */
    json_t *body;          /* owned */
} cel_result_msg_t;

/* cel_result_decode parses an rpc:// result body. Returns 0 or CEL_EPROTO.
 * Always call cel_result_msg_clear afterwards. */
CEL_NODISCARD int cel_result_decode(const char *body, size_t len,
                                    cel_result_msg_t *out, cel_error_t *err);
void cel_result_msg_clear(cel_result_msg_t *msg);

/* cel_exc_new returns a new reference to Celery's exception form
 * {"exc_type": type, "exc_message": [message], "exc_module": module}. */
json_t *cel_exc_new(const char *type, const char *module, const char *message);

/* cel_exc_describe reads an exception object: *type gets exc_type (or
 * "Exception"), and message (size bytes) gets the text Python's str(exc)
 * would show. Returns 0, or CEL_EPROTO when exc is not such an object. */
int cel_exc_describe(const json_t *exc, const char **type, char *message,
                     size_t size);

/* cel_json_load parses text as Celery's json serializer writes it (NUL in
 * strings allowed, any top-level value). Returns a new reference or NULL
 * with the reason in err. */
json_t *cel_json_load(const char *text, size_t len, cel_error_t *err);

/* cel_json_dump returns a malloc'd compact JSON text of value, or NULL. */
char *cel_json_dump(const json_t *value, size_t *len);

/* cel_utf8_valid tells whether s[0..n) is well-formed UTF-8 (what a JSON
 * string must be), for text from the wire that becomes a json_t without
 * jansson's slower check. */
bool cel_utf8_valid(const char *s, size_t n);

/* cel_pyrepr writes Python's repr() of a JSON value (tuple form for arrays
 * when as_tuple), cut to size - 1 bytes, as Celery's argsrepr shows it. */
void cel_pyrepr(const json_t *value, bool as_tuple, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
