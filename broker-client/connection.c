/* connection.c: open, log in, open the channel, close; and the translation
 * of rabbitmq-c's replies into CEL_E* codes with the broker's words. */
#include "broker_internal.h"

#include <cel/clock.h>
#include <cel/url.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <amqp_tcp_socket.h>

static int
server_close_text(const amqp_rpc_reply_t *reply, char *out, size_t size)
{
    const amqp_bytes_t *text = NULL;
    int code = 0;

    if (reply->reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *m = reply->reply.decoded;
        text = &m->reply_text;
        code = m->reply_code;
    } else if (reply->reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *m = reply->reply.decoded;
        text = &m->reply_text;
        code = m->reply_code;
    }
    if (text != NULL) {
        snprintf(out, size, "%.*s", (int)text->len, (const char *)text->bytes);
    } else {
        snprintf(out, size, "unexpected method 0x%08x",
                 (unsigned)reply->reply.id);
    }
    return code;
}

static void
reopen_channel(cel_broker_t *b)
{
    amqp_channel_close_ok_t ok = {0};

    amqp_send_method(b->conn, b->channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    /* A fresh channel number avoids racing the broker's cleanup of the old
     * one; channel_max is at least a few hundred on any RabbitMQ. */
    b->channel = (amqp_channel_t)(b->channel % 2000 + 1);
    b->reopened++;
    amqp_channel_open(b->conn, b->channel);
    if (amqp_get_rpc_reply(b->conn).reply_type != AMQP_RESPONSE_NORMAL) {
        b->closed = true;
    }
    /* The new channel is not in confirm mode, and whatever the old one had
     * not confirmed will never be: count it as refused. */
    b->refused += b->published - b->confirmed;
    b->confirming = false;
    b->published = b->confirmed = 0;
}

int
cel__broker_status(cel_broker_t *b, int status, const char *what,
                   cel_error_t *err)
{
    if (status >= 0) {
        return 0;
    }
    if (status == AMQP_STATUS_TIMEOUT) {
        return cel_error_set(err, CEL_ETIMEDOUT, "%s: timed out", what);
    }
    if (status == AMQP_STATUS_CONNECTION_CLOSED ||
        status == AMQP_STATUS_SOCKET_ERROR ||
        status == AMQP_STATUS_SOCKET_CLOSED ||
        status == AMQP_STATUS_HEARTBEAT_TIMEOUT) {
        b->closed = true;
        return cel_error_set(err, CEL_ECLOSED, "%s: %s", what,
                             amqp_error_string2(status));
    }
    return cel_error_set(err, CEL_EBROKER, "%s: %s", what,
                         amqp_error_string2(status));
}

int
cel__broker_check(cel_broker_t *b, amqp_rpc_reply_t reply, const char *what,
                  cel_error_t *err)
{
    char text[128];

    switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL: return 0;
    case AMQP_RESPONSE_NONE:
        return cel_error_set(err, CEL_EBROKER, "%s: no reply", what);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return cel__broker_status(b, reply.library_error, what, err);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        server_close_text(&reply, text, sizeof(text));
        if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            reopen_channel(b);
            return cel_error_set(err, CEL_EBROKER, "%s: %s", what, text);
        }
        b->closed = true;
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method(b->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        return cel_error_set(err, CEL_ECLOSED, "%s: connection closed: %s",
                             what, text);
    }
    return cel_error_set(err, CEL_EBROKER, "%s: unknown reply", what);
}

static void
set_keepalive(int fd)
{
    int on = 1, idle = 30, intvl = 10, cnt = 3;

    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static struct timeval
ms_to_tv(int64_t ms)
{
    ms = ms < 1 ? 1 : ms; /* a zero timeval would mean "do not wait" */
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
                         .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* Why a TCP connection to u fails, in the system's words ("Connection
 * refused"), found by trying once more within timeout_ms. */
static const char *
connect_reason(const cel_url_t *u, int timeout_ms)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    char port[16];
    int e = ETIMEDOUT;

    snprintf(port, sizeof(port), "%d", u->port);
    if (getaddrinfo(u->host, port, &hints, &ai) != 0 || ai == NULL) {
        return "the host name does not resolve";
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        e = errno;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        socklen_t len = sizeof(e);
        if (e == EINPROGRESS && poll(&p, 1, timeout_ms) == 1) {
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    return e == EINPROGRESS ? "no answer in time" : strerror(e);
}

static int
connect_socket(cel_broker_t *b, const cel_url_t *u, const cel_broker_opts_t *o,
               cel_error_t *err)
{
    char where[600];
    struct timeval tv = ms_to_tv(o->connect_timeout_ms);

    cel_url_redact(u, where, sizeof(where));
    amqp_socket_t *sock = NULL;
    int r = u->tls ? cel__tls_socket(b->conn, u, &sock, err)
            : (sock = amqp_tcp_socket_new(b->conn)) != NULL
                ? 0
                : cel_error_set(err, CEL_ENOMEM, "cannot create a socket");
    if (r != 0) {
        return r;
    }
    int status = amqp_socket_open_noblock(sock, u->host, u->port, &tv);
    if (status == AMQP_STATUS_SOCKET_ERROR) {
        /* rabbitmq-c keeps the reason to itself: ask once more, for
         * "Connection refused" and the like */
        return cel_error_set(err, CEL_ECONN,
                             "cannot connect to %.100s: %s (host %.100s, "
                             "port %d)",
                             where, connect_reason(u, o->connect_timeout_ms),
                             u->host, u->port);
    }
    if (status != AMQP_STATUS_OK) {
        return u->tls ? cel__tls_error(u, where, status, err)
                      : cel_error_set(err, CEL_ECONN,
                                      "cannot connect to %.100s: %s", where,
                                      amqp_error_string2(status));
    }
    set_keepalive(amqp_socket_get_sockfd(sock));
    return 0;
}

/* Says why the handshake or the login failed. Only a broker's own
 * connection.close names the credentials; a server that says nothing,
 * hangs up or answers in another protocol is not taken for a broker that
 * refused them. The password never appears. */
static int
login_error(const cel_url_t *u, amqp_rpc_reply_t r, int64_t limit_ms,
            cel_error_t *err)
{
    char text[128];
    int st = r.library_error;

    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
        int code = server_close_text(&r, text, sizeof(text));
        if (code == AMQP_ACCESS_REFUSED || code == AMQP_NOT_ALLOWED) {
            return cel_error_set(err, CEL_EAUTH,
                                 "login refused for user %.64s on vhost %.64s "
                                 "(wrong user, password or vhost?): %.60s",
                                 u->user, u->vhost, text);
        }
        return cel_error_set(err, CEL_ECONN,
                             "the broker at %.100s:%d closed the connection "
                             "during login: %.80s",
                             u->host, u->port, text);
    }
    if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        return cel_error_set(err, CEL_ECONN, "login to %.100s:%d: no reply",
                             u->host, u->port);
    }
    if (st == AMQP_STATUS_TIMEOUT) {
        return cel_error_set(err, CEL_ECONN,
                             "the server at %.100s:%d did not answer the AMQP "
                             "handshake within %.1f s (not an AMQP broker?)",
                             u->host, u->port, (double)limit_ms / 1000.0);
    }
    if (st == AMQP_STATUS_CONNECTION_CLOSED || st == AMQP_STATUS_SOCKET_ERROR ||
        st == AMQP_STATUS_SOCKET_CLOSED) {
        return cel_error_set(err, CEL_ECONN,
                             "the server at %.100s:%d hung up during the AMQP "
                             "handshake (not an AMQP 0-9-1 broker?): %s",
                             u->host, u->port, amqp_error_string2(st));
    }
    if (st == AMQP_STATUS_BAD_AMQP_DATA || st == AMQP_STATUS_UNKNOWN_CLASS ||
        st == AMQP_STATUS_UNKNOWN_METHOD || st == AMQP_STATUS_WRONG_METHOD ||
        st == AMQP_STATUS_UNEXPECTED_STATE ||
        st == AMQP_STATUS_INCOMPATIBLE_AMQP_VERSION) {
        return cel_error_set(err, CEL_ECONN,
                             "the server at %.100s:%d is not an AMQP 0-9-1 "
                             "broker: its answer to the handshake is not "
                             "AMQP 0-9-1 (%s)",
                             u->host, u->port, amqp_error_string2(st));
    }
    if (u->tls && st == AMQP_STATUS_SSL_ERROR) {
        return cel_error_set(err, CEL_ECONN,
                             "the broker at %.100s:%d closed the TLS "
                             "connection during the AMQP handshake: does it "
                             "want a client certificate (ssl_certfile) that "
                             "its CA signed?",
                             u->host, u->port);
    }
    return cel_error_set(err, CEL_ECONN,
                         "the AMQP handshake with %.100s:%d failed: %s",
                         u->host, u->port, amqp_error_string2(st));
}

/* consumer_cancel_notify asks RabbitMQ to send basic.cancel to a consumer
 * whose queue is deleted; rabbitmq-c does not ask for it, and without it
 * the consumer just stops getting messages (a producer would wait for its
 * replies for ever). connection.blocked asks it to say when it stops
 * reading what the connection publishes (a memory or disk alarm), and
 * why. rabbitmq-c merges this table into its own capabilities. entries
 * must hold 4. */
static amqp_table_t
client_properties(const cel_broker_opts_t *o, amqp_table_entry_t *entries)
{
    amqp_table_t props = {0, entries};

    entries[2].key = amqp_cstring_bytes("consumer_cancel_notify");
    entries[2].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    entries[2].value.value.boolean = 1;
    entries[3].key = amqp_cstring_bytes("connection.blocked");
    entries[3].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    entries[3].value.value.boolean = 1;
    entries[0].key = amqp_cstring_bytes("capabilities");
    entries[0].value.kind = AMQP_FIELD_KIND_TABLE;
    entries[0].value.value.table = (amqp_table_t){2, &entries[2]};
    props.num_entries = 1;
    if (o->name != NULL) {
        entries[1].key = amqp_cstring_bytes("connection_name");
        entries[1].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[1].value.value.bytes = amqp_cstring_bytes(o->name);
        props.num_entries = 2;
    }
    return props;
}

/* Logs in and opens the channel by deadline_ms, so that the whole open,
 * TCP connect included, keeps to connect_timeout_ms. */
static int
login(cel_broker_t *b, const cel_url_t *u, const cel_broker_opts_t *o,
      int64_t deadline_ms, cel_error_t *err)
{
    struct timeval tv = ms_to_tv(deadline_ms - cel_clock_now_ms());
    amqp_table_entry_t entries[4];
    amqp_table_t props = client_properties(o, entries);

    amqp_set_handshake_timeout(b->conn, &tv);
    amqp_rpc_reply_t r = amqp_login_with_properties(
        b->conn, u->vhost, 0, 131072, o->heartbeat_s, &props,
        AMQP_SASL_METHOD_PLAIN, u->user, u->password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        (void)cel__broker_check(b, r, "login", NULL); /* answers a close */
        b->closed = true;
        return login_error(u, r, o->connect_timeout_ms, err);
    }
    int64_t left = deadline_ms - cel_clock_now_ms();
    tv = ms_to_tv(left < o->rpc_timeout_ms ? left : o->rpc_timeout_ms);
    amqp_set_rpc_timeout(b->conn, &tv);
    b->channel = 1;
    amqp_channel_open(b->conn, b->channel);
    int rc =
        cel__broker_check(b, amqp_get_rpc_reply(b->conn), "channel.open", err);
    tv = ms_to_tv(o->rpc_timeout_ms);
    amqp_set_rpc_timeout(b->conn, &tv);
    return rc;
}

static int
open_node(const cel_url_t *u, const cel_broker_opts_t *o, cel_broker_t **out,
          cel_error_t *err)
{
    int64_t deadline_ms = cel_clock_now_ms() + o->connect_timeout_ms;

    cel_broker_t *b = calloc(1, sizeof(*b));
    if (b == NULL || (b->conn = amqp_new_connection()) == NULL) {
        free(b);
        return cel_error_set(err, CEL_ENOMEM, "out of memory");
    }
    init_amqp_pool(&b->pool, 4096);
    int r = connect_socket(b, u, o, err);
    if (r == 0) {
        r = login(b, u, o, deadline_ms, err);
    }
    if (r != 0) {
        b->closed = true;
        cel_broker_close(b);
        return r;
    }
    b->url = *u;
    snprintf(b->task_queue_type, sizeof(b->task_queue_type), "%s",
             o->queue_type ? o->queue_type : "");
    b->task_delivery_limit = o->delivery_limit;
    *out = b;
    return 0;
}

/* The error of the last node tried, when every node of a list failed. */
static int
none_answered(int r, int n, const cel_error_t *last, cel_error_t *err)
{
    char why[sizeof(last->text)];

    snprintf(why, sizeof(why), "%s", last->text);
    return cel_error_set(
        err, r, "none of the %d brokers answered; the last: %s", n, why);
}

int
cel_broker_open(const char *url, const cel_broker_opts_t *opts,
                cel_broker_t **out, cel_error_t *err)
{
    static const cel_broker_opts_t defaults = CEL_BROKER_OPTS_INIT;
    const cel_broker_opts_t *o = opts ? opts : &defaults;
    cel_url_t urls[CEL_URL_MAX_NODES];
    cel_error_t e = CEL_ERROR_INIT;
    int n = 0;

    *out = NULL;
    int r = cel_url_list_parse(url, urls, CEL_URL_MAX_NODES, &n, err);
    int first = o->first_node < 0 ? 0 : o->first_node % (n > 0 ? n : 1);
    for (int k = 0; r == 0 && k < n; k++) {
        int i = (first + k) % n;
        r = open_node(&urls[i], o, out, n > 1 ? &e : err);
        if (r == 0) {
            (*out)->node = i;
            (*out)->nodes = n;
            return 0;
        }
        r = r == CEL_ENOMEM ? r : k + 1 < n ? 0 : r;
    }
    return n > 1 && r != CEL_ENOMEM ? none_answered(r, n, &e, err) : r;
}

int
cel_broker_node(const cel_broker_t *b, char *redacted, size_t size)
{
    if (redacted != NULL && size > 0) {
        cel_url_redact(&b->url, redacted, size);
    }
    return b->node;
}

int
cel_broker_nodes(const cel_broker_t *b)
{
    return b->nodes;
}

unsigned
cel_broker_reopened(const cel_broker_t *b)
{
    return b->reopened;
}

static void
broker_free(cel_broker_t *b)
{
    empty_amqp_pool(&b->pool);
    amqp_destroy_connection(b->conn);
    free(b);
}

void
cel_broker_close(cel_broker_t *b)
{
    if (b == NULL) {
        return;
    }
    /* A blocked connection is not read by the broker: a close would wait
     * for an answer that does not come. */
    if (!b->closed && !b->blocked) {
        amqp_channel_close(b->conn, b->channel, AMQP_REPLY_SUCCESS);
        amqp_connection_close(b->conn, AMQP_REPLY_SUCCESS);
    }
    broker_free(b);
}

void
cel_broker_abandon(cel_broker_t *b)
{
    if (b != NULL) {
        broker_free(b);
    }
}

int
cel_broker_heartbeat_s(const cel_broker_t *b)
{
    return b == NULL || b->closed ? 0 : amqp_get_heartbeat(b->conn);
}

int
cel_broker_beat(cel_broker_t *b, cel_error_t *err)
{
    amqp_frame_t f = {.frame_type = AMQP_FRAME_HEARTBEAT, .channel = 0};

    if (cel_broker_heartbeat_s(b) == 0) {
        return 0;
    }
    cel_broker_cork(b, false);
    return cel__broker_status(b, amqp_send_frame(b->conn, &f), "heartbeat",
                              err);
}

void
cel_broker_cork(cel_broker_t *b, bool on)
{
    int v = on ? 1 : 0;

    if (!b->closed && b->corked != on) {
        b->corked = on;
        (void)setsockopt(amqp_get_sockfd(b->conn), IPPROTO_TCP, TCP_CORK, &v,
                         sizeof(v));
    }
}

int
cel_broker_fd(const cel_broker_t *b)
{
    return b->closed ? -1 : amqp_get_sockfd(b->conn);
}

int
cel_broker_socket_fd(const cel_broker_t *b)
{
    return amqp_get_sockfd(b->conn);
}

bool
cel_broker_pending(const cel_broker_t *b)
{
    return !b->closed &&
           (amqp_frames_enqueued(b->conn) || amqp_data_in_buffer(b->conn));
}
