/* connection.c: open, log in, open the channel, close; and the translation
 * of rabbitmq-c's replies into CEL_E* codes with the broker's words. */
#include "broker_internal.h"

#include <cel/url.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

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
ms_to_tv(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

static int
connect_socket(cel_broker_t *b, const cel_url_t *u, const cel_broker_opts_t *o,
               cel_error_t *err)
{
    char where[600];
    struct timeval tv = ms_to_tv(o->connect_timeout_ms);

    cel_url_redact(u, where, sizeof(where));
    if (u->tls) {
        return cel_error_set(err, CEL_EURL,
                             "amqps:// (TLS) is not supported yet: %.100s",
                             where);
    }
    amqp_socket_t *sock = amqp_tcp_socket_new(b->conn);
    if (sock == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "cannot create a socket");
    }
    int status = amqp_socket_open_noblock(sock, u->host, u->port, &tv);
    if (status != AMQP_STATUS_OK) {
        return cel_error_set(err, CEL_ECONN, "cannot connect to %.100s: %s",
                             where, amqp_error_string2(status));
    }
    set_keepalive(amqp_socket_get_sockfd(sock));
    return 0;
}

static int
login(cel_broker_t *b, const cel_url_t *u, const cel_broker_opts_t *o,
      cel_error_t *err)
{
    struct timeval tv = ms_to_tv(o->connect_timeout_ms);
    amqp_table_entry_t entry;
    amqp_table_t props = {0, &entry};

    amqp_set_handshake_timeout(b->conn, &tv);
    if (o->name != NULL) {
        entry.key = amqp_cstring_bytes("connection_name");
        entry.value.kind = AMQP_FIELD_KIND_UTF8;
        entry.value.value.bytes = amqp_cstring_bytes(o->name);
        props.num_entries = 1;
    }
    amqp_rpc_reply_t r = amqp_login_with_properties(
        b->conn, u->vhost, 0, 131072, o->heartbeat_s, &props,
        AMQP_SASL_METHOD_PLAIN, u->user, u->password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        cel_error_t why = CEL_ERROR_INIT;
        cel__broker_check(b, r, "login", &why);
        b->closed = true;
        /* RabbitMQ refuses bad credentials with ACCESS_REFUSED, or by
         * dropping the socket during the handshake. */
        return cel_error_set(err, CEL_ECONN,
                             "login refused for user %.64s on vhost %.64s "
                             "(wrong user, password or vhost?): %.60s",
                             u->user, u->vhost, why.text);
    }
    tv = ms_to_tv(o->rpc_timeout_ms);
    amqp_set_rpc_timeout(b->conn, &tv);
    b->channel = 1;
    amqp_channel_open(b->conn, b->channel);
    return cel__broker_check(b, amqp_get_rpc_reply(b->conn), "channel.open",
                             err);
}

int
cel_broker_open(const char *url, const cel_broker_opts_t *opts,
                cel_broker_t **out, cel_error_t *err)
{
    static const cel_broker_opts_t defaults = CEL_BROKER_OPTS_INIT;
    const cel_broker_opts_t *o = opts ? opts : &defaults;
    cel_url_t u;
    int r;

    *out = NULL;
    r = cel_url_parse(url, &u, err);
    if (r != 0) {
        return r;
    }
    cel_broker_t *b = calloc(1, sizeof(*b));
    if (b == NULL || (b->conn = amqp_new_connection()) == NULL) {
        free(b);
        return cel_error_set(err, CEL_ENOMEM, "out of memory");
    }
    init_amqp_pool(&b->pool, 4096);
    r = connect_socket(b, &u, o, err);
    if (r == 0) {
        r = login(b, &u, o, err);
    }
    if (r != 0) {
        b->closed = true;
        cel_broker_close(b);
        return r;
    }
    *out = b;
    return 0;
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
    if (!b->closed) {
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

bool
cel_broker_pending(const cel_broker_t *b)
{
    return !b->closed &&
           (amqp_frames_enqueued(b->conn) || amqp_data_in_buffer(b->conn));
}
