/* raw.c: bench_raw, the ceiling of scripts/bench. A minimal rabbitmq-c
 * loop that moves what a task and its result move through the broker,
 * with no task logic: one process publishes N messages shaped exactly like
 * celeriac's add(i, i) task (same properties, headers and body size,
 * persistent), W processes consume them (prefetch 256, acks batched by
 * 128) and publish a message shaped like its rpc result to a reply queue,
 * and one process consumes the replies. Prints tasks/s from the first
 * publish to the last reply, as JSON.
 *
 * Usage: bench_raw N [W [transient|persistent [bare|headers|dispatch|
 *                                               dispatch1]]]
 *        bench_raw ping N   (N sequential round trips: p50, p99, max)
 * (broker: $CELERIAC_BROKER_URL). transient and bare vary the task
 * message (delivery mode 1; no headers) to show what each costs; dispatch
 * and dispatch1 put one consumer in front of the W processes (below). */
#include <cel/clock.h>
#include <cel/id.h>
#include <cel/message.h>
#include <cel/url.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PREFETCH  256
#define ACK_EVERY 128

static cel_url_t url;
static char task_queue[64], reply_queue[64];

static void
die(const char *what)
{
    fprintf(stderr, "bench_raw: %s\n", what);
    exit(1);
}

static amqp_connection_state_t
connect_broker(void)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);

    if (s == NULL || amqp_socket_open(s, url.host, url.port) != 0 ||
        amqp_login(c, url.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, url.user,
                   url.password)
                .reply_type != AMQP_RESPONSE_NORMAL) {
        die("cannot connect");
    }
    amqp_channel_open(c, 1);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) {
        die("channel.open");
    }
    return c;
}

/* JSON headers to an AMQP table, for the types a task's headers use. */
static void
to_field(const json_t *v, amqp_field_value_t *f)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        f->kind = AMQP_FIELD_KIND_UTF8;
        f->value.bytes = amqp_cstring_bytes(json_string_value(v));
        break;
    case JSON_INTEGER:
        f->kind = AMQP_FIELD_KIND_I64;
        f->value.i64 = json_integer_value(v);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        f->kind = AMQP_FIELD_KIND_BOOLEAN;
        f->value.boolean = json_is_true(v);
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        f->kind = AMQP_FIELD_KIND_ARRAY;
        f->value.array.num_entries = (int)n;
        f->value.array.entries = calloc(n ? n : 1, sizeof(amqp_field_value_t));
        for (size_t i = 0; i < n; i++) {
            to_field(json_array_get(v, i), &f->value.array.entries[i]);
        }
        break;
    }
    default: f->kind = AMQP_FIELD_KIND_VOID; break;
    }
}

static amqp_basic_properties_t
props_of(const cel_envelope_t *env)
{
    amqp_basic_properties_t p = {0};
    const char *key;
    json_t *v;
    int n = 0;

    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
               AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
               AMQP_BASIC_PRIORITY_FLAG;
    p.content_type = amqp_cstring_bytes(env->content_type);
    p.content_encoding = amqp_cstring_bytes(env->content_encoding);
    p.correlation_id = amqp_cstring_bytes(env->correlation_id);
    p.delivery_mode = (uint8_t)env->delivery_mode;
    if (env->reply_to[0] != '\0') {
        p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
        p.reply_to = amqp_cstring_bytes(env->reply_to);
    }
    if (env->headers != NULL) {
        amqp_table_entry_t *e =
            calloc(json_object_size(env->headers) + 1, sizeof(*e));
        json_object_foreach (env->headers, key, v) {
            e[n].key = amqp_cstring_bytes(key);
            to_field(v, &e[n++].value);
        }
        p._flags |= AMQP_BASIC_HEADERS_FLAG;
        p.headers = (amqp_table_t){n, e};
    }
    return p;
}

static void
declare(amqp_connection_state_t c, const char *q, bool durable)
{
    amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0,
                       amqp_empty_table);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) {
        die("queue.declare");
    }
}

static void
consume(amqp_connection_state_t c, const char *q, bool no_ack)
{
    amqp_basic_qos(c, 1, 0, PREFETCH, 0);
    amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0, no_ack,
                       0, amqp_empty_table);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) {
        die("basic.consume");
    }
}

/* The worker loop: deliver, publish the result, ack (batched). */
static void
work(const cel_envelope_t *result, long n, int ready_fd)
{
    amqp_connection_state_t c = connect_broker();
    amqp_basic_properties_t p = props_of(result);
    amqp_bytes_t body = {result->body_len, (void *)result->body};
    uint64_t unacked = 0, last = 0;

    consume(c, task_queue, false);
    (void)!write(ready_fd, "w", 1);
    for (long i = 0; i < n; i++) {
        amqp_envelope_t e;
        struct timeval tv = {0, 20000};
        amqp_maybe_release_buffers(c);
        amqp_rpc_reply_t r =
            amqp_consume_message(c, &e, unacked ? &tv : NULL, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            if (r.library_error == AMQP_STATUS_TIMEOUT) {
                amqp_basic_ack(c, 1, last, 1); /* idle: ack what is done */
                unacked = 0;
                i--;
                continue;
            }
            break; /* the parent is done with us */
        }
        amqp_basic_publish(c, 1, amqp_empty_bytes,
                           amqp_cstring_bytes(reply_queue), 0, 0, &p, body);
        last = e.delivery_tag;
        if (++unacked == ACK_EVERY) {
            amqp_basic_ack(c, 1, last, 1);
            unacked = 0;
        }
        amqp_destroy_envelope(&e);
    }
    pause(); /* until killed: the parent counts the replies */
}

/* Dispatch modes: one process consumes and hands each message over a pipe
 * to one of W processes in turn; they pass its delivery tag back when done,
 * and the consumer acks, with `multiple`, up to the tag below which all are
 * done. In "dispatch" the W processes publish the results on their own
 * connections (as Celery's pool processes do); in "dispatch1" the consumer
 * publishes them too, so the broker sees one connection. This is the shape
 * of a worker whose master is its only broker consumer, measured here
 * without any task logic so it can be set beside the W-consumer loop. */
#define RING (PREFETCH * 4) /* > the unacked messages the consumer can hold */

typedef struct {
    uint64_t tag;
    uint32_t len;
} handoff_t;

static bool master_publishes;

static void
publish_result(amqp_connection_state_t c, amqp_basic_properties_t *p,
               amqp_bytes_t body)
{
    amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(reply_queue),
                       0, 0, p, body);
}

/* Runs the handed messages in buf[0, have); returns the bytes used. */
static size_t
run_handed(amqp_connection_state_t c, amqp_basic_properties_t *p,
           amqp_bytes_t body, const char *buf, size_t have, int done_fd)
{
    uint64_t tags[512];
    size_t at = 0, ntags = 0;
    handoff_t h;

    while (have - at >= sizeof(h)) {
        memcpy(&h, buf + at, sizeof(h));
        if (have - at < sizeof(h) + h.len) {
            break;
        }
        if (c != NULL) {
            publish_result(c, p, body);
        }
        tags[ntags++] = h.tag;
        at += sizeof(h) + h.len;
        if (ntags == sizeof(tags) / sizeof(tags[0])) {
            (void)!write(done_fd, tags, sizeof(tags));
            ntags = 0;
        }
    }
    if (ntags > 0) {
        (void)!write(done_fd, tags, ntags * sizeof(tags[0]));
    }
    return at;
}

static void
hand_worker(const cel_envelope_t *result, int in_fd, int done_fd, int ready_fd)
{
    amqp_connection_state_t c = master_publishes ? NULL : connect_broker();
    amqp_basic_properties_t p = props_of(result);
    amqp_bytes_t body = {result->body_len, (void *)result->body};
    static char buf[1 << 16];
    size_t have = 0;

    (void)!write(ready_fd, "w", 1);
    for (;;) {
        ssize_t got = read(in_fd, buf + have, sizeof(buf) - have);
        if (got <= 0) {
            _exit(0); /* the consumer is gone */
        }
        have += (size_t)got;
        size_t used = run_handed(c, &p, body, buf, have, done_fd);
        memmove(buf, buf + used, have - used);
        have -= used;
    }
}

/* Hands every complete delivery rabbitmq-c has to the next process. */
static void
hand_out(amqp_connection_state_t c, bool readable, int workers, const int *to)
{
    static long next;

    while (readable || amqp_data_in_buffer(c) || amqp_frames_enqueued(c)) {
        amqp_envelope_t e;
        struct timeval now = {0, 0};
        readable = false;
        amqp_maybe_release_buffers(c);
        if (amqp_consume_message(c, &e, &now, 0).reply_type !=
            AMQP_RESPONSE_NORMAL) {
            return; /* only part of a frame has come */
        }
        handoff_t h = {e.delivery_tag, (uint32_t)e.message.body.len};
        struct iovec iov[2] = {{&h, sizeof(h)}, {e.message.body.bytes, h.len}};
        (void)!writev(to[next++ % workers], iov, 2);
        amqp_destroy_envelope(&e);
    }
}

/* Reads done tags, publishes their results in dispatch1, acks. */
static void
take_done(amqp_connection_state_t c, int done_fd, amqp_basic_properties_t *p,
          amqp_bytes_t body)
{
    static bool done[RING];
    static uint64_t upto, acked;
    uint64_t tags[1024];
    ssize_t got = read(done_fd, tags, sizeof(tags));

    for (ssize_t i = 0; i < got / (ssize_t)sizeof(tags[0]); i++) {
        if (master_publishes) {
            publish_result(c, p, body);
        }
        done[tags[i] % RING] = true;
    }
    while (done[(upto + 1) % RING]) {
        done[++upto % RING] = false;
    }
    if (upto - acked >= ACK_EVERY ||
        (upto > acked && !amqp_data_in_buffer(c))) {
        amqp_basic_ack(c, 1, upto, 1);
        acked = upto;
    }
}

static void
dispatch(int workers, const int *to, int done_fd, const cel_envelope_t *result)
{
    amqp_connection_state_t c = connect_broker();
    amqp_basic_properties_t p = props_of(result);
    amqp_bytes_t body = {result->body_len, (void *)result->body};

    consume(c, task_queue, false);
    for (;;) {
        struct pollfd pf[2] = {{amqp_get_sockfd(c), POLLIN, 0},
                               {done_fd, POLLIN, 0}};
        bool buffered = amqp_data_in_buffer(c) || amqp_frames_enqueued(c);
        (void)poll(pf, 2, buffered ? 0 : -1);
        hand_out(c, pf[0].revents != 0, workers, to);
        if (pf[1].revents != 0) {
            take_done(c, done_fd, &p, body);
        }
    }
}

static void
collect(long n, int ready_fd, int done_fd)
{
    amqp_connection_state_t c = connect_broker();

    consume(c, reply_queue, true);
    (void)!write(ready_fd, "c", 1);
    for (long i = 0; i < n; i++) {
        amqp_envelope_t e;
        amqp_maybe_release_buffers(c);
        if (amqp_consume_message(c, &e, NULL, 0).reply_type !=
            AMQP_RESPONSE_NORMAL) {
            die("consume replies");
        }
        amqp_destroy_envelope(&e);
    }
    int64_t t = cel_clock_now_us();
    (void)!write(done_fd, &t, sizeof(t));
    exit(0);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Round trips with nothing but rabbitmq-c on both ends: the floor under
 * any task queue's latency on this broker. */
static int
ping(long n, const cel_envelope_t *task, const cel_envelope_t *result)
{
    int ready[2];
    int64_t *us = calloc((size_t)n, sizeof(*us));

    if (pipe(ready) != 0) {
        die("pipe");
    }
    pid_t w = fork();
    if (w == 0) {
        work(result, n + 20, ready[1]);
    }
    amqp_connection_state_t c = connect_broker();
    char b;
    if (read(ready[0], &b, 1) != 1) {
        die("the worker failed to start");
    }
    consume(c, reply_queue, true);
    amqp_basic_properties_t p = props_of(task);
    amqp_bytes_t body = {task->body_len, (void *)task->body};
    for (long i = -20; i < n; i++) {
        amqp_envelope_t e;
        int64_t t0 = cel_clock_now_us();
        amqp_basic_publish(c, 1, amqp_empty_bytes,
                           amqp_cstring_bytes(task_queue), 0, 0, &p, body);
        amqp_maybe_release_buffers(c);
        if (amqp_consume_message(c, &e, NULL, 0).reply_type !=
            AMQP_RESPONSE_NORMAL) {
            die("consume reply");
        }
        amqp_destroy_envelope(&e);
        if (i >= 0) {
            us[i] = cel_clock_now_us() - t0;
        }
    }
    kill(w, SIGKILL);
    waitpid(w, NULL, 0);
    amqp_queue_delete(c, 1, amqp_cstring_bytes(task_queue), 0, 0);
    amqp_queue_delete(c, 1, amqp_cstring_bytes(reply_queue), 0, 0);
    qsort(us, (size_t)n, sizeof(*us), cmp_i64);
    printf("{\"n\": %ld, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
           "\"max_ms\": %.3f}\n",
           n, (double)us[n / 2] / 1000.0, (double)us[n * 99 / 100] / 1000.0,
           (double)us[n - 1] / 1000.0);
    return 0;
}

int
main(int argc, char **argv)
{
    bool pinging = argc > 1 && strcmp(argv[1], "ping") == 0;
    if (pinging) {
        argv++;
        argc--;
    }
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int workers = argc > 2 ? atoi(argv[2]) : 1;
    bool transient = argc > 3 && strcmp(argv[3], "transient") == 0;
    bool bare = argc > 4 && strcmp(argv[4], "bare") == 0;
    bool handing = argc > 4 && strncmp(argv[4], "dispatch", 8) == 0;
    master_publishes = argc > 4 && strcmp(argv[4], "dispatch1") == 0;
    const char *u = getenv("CELERIAC_BROKER_URL");
    cel_error_t err;
    cel_envelope_t task, result;
    char id[CEL_SHORTSTR_SIZE];
    int ready[2], done[2];
    pid_t kids[17];

    if (n < 1 || workers < 1 || workers > 16 ||
        cel_url_parse(u ? u : "amqp://guest:guest@localhost:5672//", &url,
                      &err) != 0) {
        die("usage: bench_raw N [WORKERS 1..16] (and a valid "
            "CELERIAC_BROKER_URL)");
    }
    strcpy(task_queue, "bench-raw-");
    cel_id_new(task_queue + strlen(task_queue));
    strcpy(reply_queue, "bench-raw-r-");
    cel_id_new(reply_queue + strlen(reply_queue));

    /* One real task message and its real result, as the models: add, or
     * with $CEL_BENCH_PAYLOAD bytes, echo of a string that long. */
    const char *payload = getenv("CEL_BENCH_PAYLOAD");
    json_t *args = json_pack("[II]", (json_int_t)123456, (json_int_t)123456);
    json_t *value = json_integer(246912);
    cel_task_spec_t spec = CEL_TASK_SPEC_INIT;
    spec.name = "add";
    if (payload != NULL && atol(payload) > 0) {
        size_t len = (size_t)atol(payload);
        char *text = malloc(len + 1);
        if (text == NULL) {
            die("out of memory");
        }
        memset(text, 'x', len);
        text[len] = '\0';
        json_decref(args);
        json_decref(value);
        value = json_string(text);
        args = json_pack("[O]", value);
        free(text);
        spec.name = "echo";
    }
    spec.args = args;
    spec.reply_to = reply_queue;
    if (cel_task_encode(&spec, &task, id, sizeof(id), &err) != 0 ||
        cel_result_encode(id, id, CEL_STATE_SUCCESS, value, NULL, &result,
                          &err) != 0) {
        die(err.text);
    }
    if (transient) {
        task.delivery_mode = 1;
    }
    if (bare) {
        json_decref(task.headers);
        task.headers = NULL;
    }

    amqp_connection_state_t pub = connect_broker();
    declare(pub, task_queue, true);
    declare(pub, reply_queue, false);
    if (pinging) {
        return ping(n, &task, &result);
    }
    if (pipe(ready) != 0 || pipe(done) != 0) {
        die("pipe");
    }
    int to[16], back[2];
    if (handing && pipe(back) != 0) {
        die("pipe");
    }
    for (int i = 0; i <= workers; i++) {
        int hp[2];
        if (handing && i < workers && pipe(hp) != 0) {
            die("pipe");
        }
        kids[i] = fork();
        if (kids[i] == 0) {
            if (i == workers) {
                collect(n, ready[1], done[1]);
            }
            if (handing) {
                hand_worker(&result, hp[0], back[1], ready[1]);
            }
            work(&result, n, ready[1]);
        }
        if (handing && i < workers) {
            to[i] = hp[1];
        }
    }
    pid_t disp = -1;
    if (handing) {
        disp = fork();
        if (disp == 0) {
            dispatch(workers, to, back[0], &result);
        }
    }
    for (int i = 0; i <= workers; i++) {
        char b;
        if (read(ready[0], &b, 1) != 1) {
            die("a child failed to start");
        }
    }
    amqp_basic_properties_t p = props_of(&task);
    amqp_bytes_t body = {task.body_len, (void *)task.body};
    int64_t t0 = cel_clock_now_us();
    for (long i = 0; i < n; i++) {
        if (amqp_basic_publish(pub, 1, amqp_empty_bytes,
                               amqp_cstring_bytes(task_queue), 0, 0, &p,
                               body) != 0) {
            die("publish");
        }
    }
    int64_t t1 = cel_clock_now_us(), t2 = 0;
    if (read(done[0], &t2, sizeof(t2)) != sizeof(t2)) {
        die("the collector failed");
    }
    for (int i = 0; i < workers; i++) {
        kill(kids[i], SIGKILL);
    }
    if (disp > 0) {
        kill(disp, SIGKILL);
        waitpid(disp, NULL, 0);
    }
    for (int i = 0; i <= workers; i++) {
        waitpid(kids[i], NULL, 0);
    }
    amqp_queue_delete(pub, 1, amqp_cstring_bytes(task_queue), 0, 0);
    amqp_queue_delete(pub, 1, amqp_cstring_bytes(reply_queue), 0, 0);
    printf("{\"n\": %ld, \"workers\": %d, \"layout\": \"%s\", "
           "\"delivery_mode\": %d, "
           "\"headers\": %s, \"task_bytes\": %zu, \"result_bytes\": %zu, "
           "\"tasks_per_s\": %.1f, \"msgs_per_s\": %.1f, "
           "\"send_per_s\": %.1f}\n",
           n, workers,
           !handing           ? "consumers"
           : master_publishes ? "dispatch1"
                              : "dispatch",
           task.delivery_mode, bare ? "false" : "true", task.body_len,
           result.body_len, (double)n * 1e6 / (double)(t2 - t0),
           2.0 * (double)n * 1e6 / (double)(t2 - t0),
           (double)n * 1e6 / (double)(t1 - t0));
    amqp_connection_close(pub, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(pub);
    return 0;
}
