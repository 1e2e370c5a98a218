/* url.c: amqp:// URL parsing. The text is split on its delimiters first and
 * each part is percent-decoded afterwards, so an encoded '@', ':' or '/'
 * inside a user name, password or vhost never changes the split. */
#include <cel/url.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes src[0..len) into out (size bytes). Returns -1 on a bad escape,
 * an embedded NUL or overflow. */
static int
pct_decode(const char *src, size_t len, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len) {
                return -1;
            }
            int h = hexval(src[i + 1]), l = hexval(src[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                return -1;
            }
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (o + 1 >= size) {
            return -1;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int
parse_port(const char *s, size_t len, int *port)
{
    char buf[8];
    char *end;

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    long v = strtol(buf, &end, 10);
    if (*end != '\0' || v < 1 || v > 65535 || buf[0] < '0' || buf[0] > '9') {
        return -1;
    }
    *port = (int)v;
    return 0;
}

static int
parse_userinfo(const char *s, size_t len, cel_url_t *url, cel_error_t *err)
{
    const char *colon = memchr(s, ':', len);
    size_t ulen = colon ? (size_t)(colon - s) : len;

    if (pct_decode(s, ulen, url->user, sizeof(url->user)) != 0) {
        return cel_error_set(err, CEL_EURL, "bad user name in broker URL");
    }
    if (colon != NULL && pct_decode(colon + 1, len - ulen - 1, url->password,
                                    sizeof(url->password)) != 0) {
        return cel_error_set(err, CEL_EURL, "bad password in broker URL");
    }
    return 0;
}

static int
parse_hostport(const char *s, size_t len, cel_url_t *url, cel_error_t *err)
{
    const char *host = s, *colon;
    size_t hlen;

    if (len > 0 && s[0] == '[') { /* IPv6 literal */
        const char *close = memchr(s, ']', len);
        if (close == NULL) {
            return cel_error_set(err, CEL_EURL, "unterminated [ in host");
        }
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close + 1 < s + len && close[1] == ':' ? close + 1 : NULL;
        if (colon == NULL && close + 1 != s + len) {
            return cel_error_set(err, CEL_EURL, "junk after ] in host");
        }
    } else {
        colon = memchr(s, ':', len);
        hlen = colon ? (size_t)(colon - s) : len;
    }
    if (hlen > 0 && pct_decode(host, hlen, url->host, sizeof(url->host)) != 0) {
        return cel_error_set(err, CEL_EURL, "bad host in broker URL");
    }
    if (colon != NULL &&
        parse_port(colon + 1, (size_t)(s + len - colon - 1), &url->port) != 0) {
        return cel_error_set(err, CEL_EURL,
                             "bad port in broker URL (want 1-65535)");
    }
    return 0;
}

static void
url_defaults(cel_url_t *url, bool tls)
{
    memset(url, 0, sizeof(*url));
    url->tls = tls;
    url->port = tls ? 5671 : 5672;
    strcpy(url->host, "localhost");
    strcpy(url->user, "guest");
    strcpy(url->password, "guest");
    strcpy(url->vhost, "/");
    url->verify_peer = true;
    url->check_hostname = true;
}

static bool
is_word(const char *v, const char *a, const char *b, const char *c)
{
    return strcasecmp(v, a) == 0 || strcasecmp(v, b) == 0 ||
           strcasecmp(v, c) == 0;
}

/* One key=value of the query, its value percent-decoded. */
static int
query_pair(const char *k, size_t klen, const char *v, size_t vlen,
           cel_url_t *url, cel_error_t *err)
{
    char val[256];
    char *file = NULL;

    if (pct_decode(v, vlen, val, sizeof(val)) != 0) {
        return cel_error_set(err, CEL_EURL,
                             "bad value in the broker URL's "
                             "query");
    }
#define KEY(name) (klen == sizeof(name) - 1 && strncmp(k, name, klen) == 0)
    if (KEY("ssl_ca_certs")) {
        file = url->ca_certs;
    } else if (KEY("ssl_certfile")) {
        file = url->certfile;
    } else if (KEY("ssl_keyfile")) {
        file = url->keyfile;
    } else if (KEY("ssl_cert_reqs")) {
        if (!is_word(val, "CERT_NONE", "none", "0") &&
            !is_word(val, "CERT_REQUIRED", "required", "2") &&
            !is_word(val, "CERT_OPTIONAL", "optional", "1")) {
            return cel_error_set(err, CEL_EURL,
                                 "ssl_cert_reqs wants CERT_REQUIRED, "
                                 "CERT_OPTIONAL or CERT_NONE");
        }
        url->verify_peer = !is_word(val, "CERT_NONE", "none", "0");
    } else if (KEY("ssl_check_hostname")) {
        url->check_hostname = !is_word(val, "false", "no", "0");
    }
#undef KEY
    if (file != NULL) {
        snprintf(file, sizeof(url->ca_certs), "%s", val);
    }
    return 0;
}

static int
parse_query(const char *q, cel_url_t *url, cel_error_t *err)
{
    int r = 0;

    while (r == 0 && *q != '\0' && *q != '#') {
        size_t len = strcspn(q, "&#");
        const char *eq = memchr(q, '=', len);
        if (eq != NULL) {
            r = query_pair(q, (size_t)(eq - q), eq + 1,
                           (size_t)(q + len - eq - 1), url, err);
        }
        q += len + (q[len] == '&');
    }
    return r;
}

int
cel_url_parse(const char *text, cel_url_t *url, cel_error_t *err)
{
    const char *rest;

    if (text == NULL) {
        return cel_error_set(err, CEL_EURL, "no broker URL");
    }
    if (strncmp(text, "amqp://", 7) == 0) {
        url_defaults(url, false);
        rest = text + 7;
    } else if (strncmp(text, "amqps://", 8) == 0) {
        url_defaults(url, true);
        rest = text + 8;
    } else {
        return cel_error_set(err, CEL_EURL,
                             "broker URL must start with amqp:// or amqps://");
    }
    size_t alen = strcspn(rest, "/?#");
    const char *path = rest + alen;
    const char *at = NULL;
    for (const char *p = rest; p < path; p++) {
        if (*p == '@') {
            at = p; /* the last '@' ends the user info */
        }
    }
    int r = 0;
    if (at != NULL) {
        r = parse_userinfo(rest, (size_t)(at - rest), url, err);
    }
    const char *hp = at ? at + 1 : rest;
    if (r == 0) {
        r = parse_hostport(hp, (size_t)(path - hp), url, err);
    }
    if (r == 0 && *path == '/') {
        size_t vlen = strcspn(path + 1, "?#");
        if (vlen > 0 &&
            pct_decode(path + 1, vlen, url->vhost, sizeof(url->vhost)) != 0) {
            r = cel_error_set(err, CEL_EURL, "bad vhost in broker URL");
        }
    }
    const char *query = strchr(path, '?');
    if (r == 0 && query != NULL) {
        r = parse_query(query + 1, url, err);
    }
    return r;
}

static size_t
pct_encode(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0' && o + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '/' || c == '@' || c == ':' || c == '%' || c <= ' ' ||
            c >= 0x7f) {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return o;
}

void
cel_url_redact(const cel_url_t *url, char *out, size_t size)
{
    char user[256 * 3], vhost[256 * 3];
    bool v6 = strchr(url->host, ':') != NULL;

    pct_encode(url->user, user, sizeof(user));
    if (strcmp(url->vhost, "/") == 0) {
        strcpy(vhost, "/"); /* kombu writes the default vhost as "//" */
    } else {
        pct_encode(url->vhost, vhost, sizeof(vhost));
    }
    snprintf(out, size, "%s://%s:***@%s%s%s:%d/%s", url->tls ? "amqps" : "amqp",
             user, v6 ? "[" : "", url->host, v6 ? "]" : "", url->port, vhost);
}

int
cel_url_list_parse(const char *text, cel_url_t *urls, int max, int *n,
                   cel_error_t *err)
{
    char one[2048];

    *n = 0;
    if (text == NULL) {
        return cel_error_set(err, CEL_EURL, "no broker URL");
    }
    for (const char *p = text;; p++) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++, len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }
        if (len >= sizeof(one) || *n == max) {
            return cel_error_set(err, CEL_EURL,
                                 len >= sizeof(one)
                                     ? "broker URL %d of the list is too long"
                                     : "more than %d broker URLs",
                                 len >= sizeof(one) ? *n + 1 : max);
        }
        memcpy(one, p, len);
        one[len] = '\0';
        int r = cel_url_parse(one, &urls[*n], err);
        if (r != 0) {
            if (end != NULL || *n > 0) {
                char why[sizeof(err->text)];
                snprintf(why, sizeof(why), "%s", err->text);
                cel_error_set(err, r, "broker URL %d of the list: %s", *n + 1,
                              why);
            }
            return r;
        }
        ++*n;
        if (end == NULL) {
            return 0;
        }
        p = end;
    }
}

void
cel_url_list_redact(const char *text, char *out, size_t size)
{
    cel_url_t urls[CEL_URL_MAX_NODES];
    cel_error_t err = CEL_ERROR_INIT;
    int n = 0;
    size_t used = 0;

    if (size == 0) {
        return;
    }
    out[0] = '\0';
    if (cel_url_list_parse(text, urls, CEL_URL_MAX_NODES, &n, &err) != 0) {
        snprintf(out, size, "(bad URL: %s)", err.text);
        return;
    }
    for (int i = 0; i < n && used + 1 < size; i++) {
        char one[1024];
        cel_url_redact(&urls[i], one, sizeof(one));
        int w = snprintf(out + used, size - used, "%s%s", i ? ";" : "", one);
        if (w < 0 || (size_t)w >= size - used) {
            return; /* cut */
        }
        used += (size_t)w;
    }
}
