/* Broker URL parsing as kombu reads it, and redaction that never shows the
 * password. */
#include <cel/url.h>

#include "check.h"

static cel_url_t
parse_ok(const char *text)
{
    cel_url_t u;
    cel_error_t err = CEL_ERROR_INIT;

    CHECK_OK(cel_url_parse(text, &u, &err));
    return u;
}

static void
check_bad(const char *text, const char *reason)
{
    cel_url_t u;
    cel_error_t err = CEL_ERROR_INIT;

    CHECK_EQ_INT(cel_url_parse(text, &u, &err), CEL_EURL);
    CHECK_CONTAINS(err.text, reason);
    CHECK(strstr(err.text, "s3cret") == NULL);
}

/* Failover lists, as Celery's broker_url writes them. */
static void
check_lists(void)
{
    cel_url_t urls[CEL_URL_MAX_NODES];
    cel_error_t err = CEL_ERROR_INIT;
    char red[1024];
    int n = 0;

    CHECK_OK(
        cel_url_list_parse("amqp://h1//", urls, CEL_URL_MAX_NODES, &n, &err));
    CHECK_EQ_INT(n, 1);
    CHECK_OK(cel_url_list_parse("amqp://u:p1@h1:5673//; amqps://u:p2@h2/v ;"
                                "amqp://h3",
                                urls, CEL_URL_MAX_NODES, &n, &err));
    CHECK_EQ_INT(n, 3);
    CHECK_STR_EQ(urls[0].host, "h1");
    CHECK_EQ_INT(urls[0].port, 5673);
    CHECK(urls[1].tls);
    CHECK_STR_EQ(urls[1].vhost, "v");
    CHECK_STR_EQ(urls[2].host, "h3");
    cel_url_list_redact("amqp://u:p1@h1:5673//;amqps://u:p2@h2/v", red,
                        sizeof(red));
    CHECK_STR_EQ(red, "amqp://u:***@h1:5673//;amqps://u:***@h2:5671/v");
    cel_url_list_redact("amqp://u:p1@h1;http://u:p2@h2", red, sizeof(red));
    CHECK(strstr(red, "p1") == NULL && strstr(red, "p2") == NULL);
    CHECK_CONTAINS(red, "bad URL");
    cel_url_list_redact("amqp://u:p1@h1;amqp://u:p2@h2", red, 20);
    CHECK(strlen(red) < 20 && strstr(red, "p1") == NULL);

    CHECK_EQ_INT(cel_url_list_parse("amqp://h1;http://s3cret@h2", urls,
                                    CEL_URL_MAX_NODES, &n, &err),
                 CEL_EURL);
    CHECK_CONTAINS(err.text, "URL 2 of the list");
    CHECK(strstr(err.text, "s3cret") == NULL);
    CHECK_EQ_INT(
        cel_url_list_parse("amqp://h1;", urls, CEL_URL_MAX_NODES, &n, &err),
        CEL_EURL);
    CHECK_EQ_INT(
        cel_url_list_parse("amqp://a;amqp://b;amqp://c", urls, 2, &n, &err),
        CEL_EURL);
    CHECK_CONTAINS(err.text, "more than 2");
}

int
main(void)
{
    cel_url_t u = parse_ok("amqp://guest:guest@localhost:5672//");
    CHECK_STR_EQ(u.host, "localhost");
    CHECK_EQ_INT(u.port, 5672);
    CHECK_STR_EQ(u.user, "guest");
    CHECK_STR_EQ(u.password, "guest");
    CHECK_STR_EQ(u.vhost, "/");
    CHECK(!u.tls);

    u = parse_ok("amqp://bob:p%40ss%3Aw%2Frd@rabbit.example:5673/prod%2Feu");
    CHECK_STR_EQ(u.user, "bob");
    CHECK_STR_EQ(u.password, "p@ss:w/rd");
    CHECK_STR_EQ(u.host, "rabbit.example");
    CHECK_EQ_INT(u.port, 5673);
    CHECK_STR_EQ(u.vhost, "prod/eu");

    u = parse_ok("amqp://h");
    CHECK_STR_EQ(u.host, "h");
    CHECK_EQ_INT(u.port, 5672);
    CHECK_STR_EQ(u.vhost, "/");
    CHECK_STR_EQ(u.user, "guest");

    u = parse_ok("amqp://guest@127.0.0.1/");
    CHECK_STR_EQ(u.vhost, "/");
    CHECK_STR_EQ(u.password, "guest");

    u = parse_ok("amqps://u:s3cret@[::1]:5999/v");
    CHECK(u.tls);
    CHECK_STR_EQ(u.host, "::1");
    CHECK_EQ_INT(u.port, 5999);
    CHECK_STR_EQ(u.vhost, "v");
    CHECK_EQ_INT(parse_ok("amqps://h").port, 5671);

    char red[512];
    cel_url_redact(&u, red, sizeof(red));
    CHECK_STR_EQ(red, "amqps://u:***@[::1]:5999/v");
    u = parse_ok("amqp://guest:s3cret@localhost:5672//");
    cel_url_redact(&u, red, sizeof(red));
    CHECK_STR_EQ(red, "amqp://guest:***@localhost:5672//");
    CHECK(strstr(red, "s3cret") == NULL);

    check_bad("http://h", "amqp://");
    check_bad("amqp://u:s3cret@h:0/", "port");
    check_bad("amqp://u:s3cret@h:99999/", "port");
    check_bad("amqp://u:s3cret@h:12x/", "port");
    check_bad("amqp://u:s3cr%zzet@h/", "password");
    check_bad("amqp://u:s3cret@[::1/", "[");
    check_bad("amqp://h/%00", "vhost");
    check_bad(NULL, "no broker URL");
    check_lists();
    puts("ok");
    return 0;
}
