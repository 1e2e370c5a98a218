/* url.h: broker URLs as Celery writes them,
 *   amqp://user:password@host:port/vhost   (amqps:// for TLS, verified by
 *                                           default; see cel_url_t)
 * with percent-decoding of every part. Defaults: user and password
 * "guest", port 5672 (5671 for amqps), vhost "/". As in kombu, both
 * "amqp://host//" and "amqp://host" name the vhost "/"; "%2F" spells a
 * slash inside a vhost name. */
#ifndef CEL_COMMON_URL_H
#define CEL_COMMON_URL_H

#include <stdbool.h>

#include <cel/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CEL_DEFAULT_BROKER_URL "amqp://guest:guest@localhost:5672//"

typedef struct {
    char host[256];
    int port;
    char user[256];
    char password[256];
    char vhost[256];
    bool tls;
    /* TLS settings, in kombu's query keys, so that one URL serves Celery
     * and celeriac: ?ssl_ca_certs=F&ssl_certfile=F&ssl_keyfile=F
     * &ssl_cert_reqs=CERT_REQUIRED|CERT_NONE&ssl_check_hostname=true|false.
     * Other keys are ignored, as kombu's transport options would be. */
    char ca_certs[256];  /* CA bundle; "": the system's trust store */
    char certfile[256];  /* client certificate (PEM); "": none */
    char keyfile[256];   /* its key; "": in certfile */
    bool verify_peer;    /* default true; CERT_NONE turns it off */
    bool check_hostname; /* default true */
} cel_url_t;

/* cel_url_parse fills url from text. Returns 0, or CEL_EURL with a reason
 * in err (the reason never contains the password). */
CEL_NODISCARD int cel_url_parse(const char *text, cel_url_t *url,
                                cel_error_t *err);

/* A failover list, as Celery's broker_url writes it: URLs separated by
 * ';' ("amqp://a//;amqp://b//"), tried in turn. */
#define CEL_URL_MAX_NODES 16

/* cel_url_list_parse reads one URL or a failover list into urls (max
 * entries) and their number into *n. Returns 0, or CEL_EURL saying which
 * entry is at fault (never its password). */
CEL_NODISCARD int cel_url_list_parse(const char *text, cel_url_t *urls, int max,
                                     int *n, cel_error_t *err);

/* cel_url_list_redact writes a URL or failover list with every password
 * hidden, the URLs separated by ';' (cut to size - 1), or "(bad URL: ...)"
 * when it cannot be read. */
void cel_url_list_redact(const char *text, char *out, size_t size);

/* cel_url_redact writes url's text form with the password replaced by
 * "***" (e.g. "amqp://guest:***@localhost:5672//") into out. This is the
 * only form in which a URL may be logged. */
void cel_url_redact(const cel_url_t *url, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif
