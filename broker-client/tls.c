/* tls.c: amqps:// connections. Peer and hostname verification are on by
 * default, against the URL's CA (ssl_ca_certs) or the system's trust
 * store; a URL turns them off only by saying so (ssl_cert_reqs=CERT_NONE,
 * ssl_check_hostname=false), never a failed verification. A client
 * certificate comes from ssl_certfile (and ssl_keyfile). */
#include "broker_internal.h"

#include <amqp_ssl_socket.h>

/* Debian's bundle of the system's trusted CAs (ca-certificates). */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

int
cel__tls_socket(amqp_connection_state_t conn, const cel_url_t *u,
                amqp_socket_t **out, cel_error_t *err)
{
    const char *ca = u->ca_certs[0] ? u->ca_certs : SYSTEM_CA_BUNDLE;
    amqp_socket_t *s = amqp_ssl_socket_new(conn);

    if (s == NULL) {
        return cel_error_set(err, CEL_ENOMEM, "cannot create a TLS socket");
    }
    amqp_ssl_socket_set_verify_peer(s, u->verify_peer);
    amqp_ssl_socket_set_verify_hostname(s, u->verify_peer && u->check_hostname);
    if (u->verify_peer && amqp_ssl_socket_set_cacert(s, ca) != AMQP_STATUS_OK) {
        return cel_error_set(err, CEL_EURL,
                             "cannot read the CA certificates in %.150s "
                             "(ssl_ca_certs)",
                             ca);
    }
    if (u->certfile[0] &&
        amqp_ssl_socket_set_key(s, u->certfile,
                                u->keyfile[0] ? u->keyfile : u->certfile) !=
            AMQP_STATUS_OK) {
        return cel_error_set(err, CEL_EURL,
                             "cannot use the client certificate %.100s with "
                             "key %.100s (ssl_certfile, ssl_keyfile)",
                             u->certfile,
                             u->keyfile[0] ? u->keyfile : u->certfile);
    }
    *out = s;
    return 0;
}

int
cel__tls_error(const cel_url_t *u, const char *where, int status,
               cel_error_t *err)
{
    switch (status) {
    case AMQP_STATUS_SSL_PEER_VERIFY_FAILED:
        return cel_error_set(
            err, CEL_ECONN,
            "certificate verify failed: the certificate of "
            "%.100s is not signed by a CA in %.100s",
            where, u->ca_certs[0] ? u->ca_certs : "the system's trust store");
    case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED:
        return cel_error_set(err, CEL_ECONN,
                             "certificate verify failed: the certificate of "
                             "%.100s is not for host %.100s",
                             where, u->host);
    case AMQP_STATUS_SSL_CONNECTION_FAILED:
        return cel_error_set(err, CEL_ECONN,
                             "TLS handshake with %.100s failed (a plain "
                             "AMQP port, or the broker refused our "
                             "certificate?)",
                             where);
    }
    return cel_error_set(err, CEL_ECONN, "cannot connect to %.100s: %s", where,
                         amqp_error_string2(status));
}
