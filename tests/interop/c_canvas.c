/* c_canvas: the C producer's canvas on real workers, for test_c_canvas.py.
 * A chain run whole by a Python Celery worker, a chain whose steps go back
 * and forth between the Python worker's queue and workerd's, a link and a
 * group on the Python worker, and a chord across both. Prints one line per
 * check and exits 1 when one fails. Usage: c_canvas BROKER_URL PY_QUEUE C_QUEUE
 */
#include <cel/producer.h>

#include "../examples/tasks.h"

#include <stdio.h>
#include <string.h>

#define WAIT_MS 60000

static int failures;

static void
check(const char *what, bool ok)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    failures += !ok;
}

static int64_t
value_of(cel_result_t *r)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v = NULL;

    if (r == NULL || cel_result_get(r, WAIT_MS, &v, &err) != 0) {
        printf("  %s\n", r ? err.text : "no result");
        return -1;
    }
    return json_integer_value(v);
}

static cel_sig_t *
on(cel_sig_t *s, const char *queue)
{
    if (s != NULL && cel_sig_set_queue(s, queue) != 0) {
        cel_sig_free(s);
        return NULL;
    }
    return s;
}

static cel_result_t *
send_chain(cel_client_t *c, cel_sig_t **sigs, size_t n, const char *queue)
{
    cel_opts_t o = CEL_OPTS_INIT;

    o.queue = queue;
    cel_result_t *r =
        cel_chain_apply_async(c, (const cel_sig_t *const *)sigs, n, &o);
    for (size_t i = 0; i < n; i++) {
        cel_sig_free(sigs[i]);
    }
    return r;
}

/* chain(add.s(2, 2), add.s(4), add.s(8)) on Celery's worker. */
static void
python_chain(cel_client_t *c, const char *py)
{
    cel_sig_t *sigs[] = {add_s(2, 2), add_sp(4), add_sp(8), add_si(1, 1)};
    cel_result_t *r = send_chain(c, sigs, 4, py);
    cel_result_t *p = cel_result_parent(r);

    check("a C chain on Celery's worker gives the last step's value",
          value_of(r) == 2);
    check("its steps' values come back too",
          value_of(p) == 16 && value_of(cel_result_parent(p)) == 8);
    cel_result_free(r);
}

/* add(1, 1) on Python, add(x, 10) on workerd, py_double(x) on Python
 * (a task only it has), add(x, 1) on workerd: 25. */
static void
mixed_chain(cel_client_t *c, const char *py, const char *cq)
{
    cel_sig_t *sigs[] = {on(add_s(1, 1), py), on(add_sp(10), cq),
                         on(cel_sig_new("py_double", NULL, NULL), py),
                         on(add_sp(1), cq)};
    cel_result_t *r = send_chain(c, sigs, 4, py);
    cel_result_t *p = cel_result_parent(r);

    check("a chain across Python and workerd gives 25", value_of(r) == 25);
    check("the Python step in the middle gave 24", value_of(p) == 24);
    cel_result_free(r);
}

/* add.apply_async((3, 4), link=add.s(100)) and a group, on Python. */
static void
python_link_group(cel_client_t *c, const char *py)
{
    cel_error_t err = CEL_ERROR_INIT;
    cel_opts_t o = CEL_OPTS_INIT;
    cel_sig_t *link = add_sp(100);

    o.queue = py;
    o.link = link;
    cel_result_t *r = add_apply_async(c, &o, 3, 4);
    check("a link sent by Celery's worker comes back",
          value_of(r) == 7 && value_of(cel_result_link(r)) == 107);
    cel_result_free(r);
    cel_sig_free(link);

    cel_sig_t *sigs[] = {add_s(1, 1), add_s(2, 2), add_s(3, 3)};
    cel_result_t *rs[3];
    o.link = NULL;
    bool ok =
        cel_group_send(c, (const cel_sig_t *const *)sigs, 3, &o, rs, &err) == 0;
    for (int i = 0; ok && i < 3; i++) {
        ok = value_of(rs[i]) == 2 * (i + 1);
        cel_result_free(rs[i]);
    }
    check("a group on Celery's worker, values in order", ok);
    for (int i = 0; i < 3; i++) {
        cel_sig_free(sigs[i]);
    }
}

/* chord([add(1, 1) on Python, add(2, 2) on workerd])(echo on Python),
 * and a chord whose member fails on Python. */
static void
mixed_chord(cel_client_t *c, const char *py, const char *cq)
{
    cel_error_t err = CEL_ERROR_INIT;
    const json_t *v = NULL;
    cel_sig_t *h[] = {on(add_s(1, 1), py), on(add_s(2, 2), cq)};
    cel_sig_t *body = on(echo_sp(), py);
    cel_result_t *r =
        cel_chord_apply_async(c, (const cel_sig_t *const *)h, 2, body, NULL);
    json_t *want = json_pack("[ii]", 2, 4);

    check("a chord across Python and workerd gives [2, 4]",
          r != NULL && cel_result_get(r, WAIT_MS, &v, &err) == 0 &&
              json_equal(v, want));
    json_decref(want);
    cel_result_free(r);
    cel_sig_free(h[0]);
    h[0] = on(broken_function_s(0), py);
    r = cel_chord_apply_async(c, (const cel_sig_t *const *)h, 2, body, NULL);
    check("a Python member's failure fails the chord",
          r != NULL && cel_result_get(r, WAIT_MS, &v, &err) == CEL_ETASK &&
              strstr(err.text, "Called broken function") != NULL);
    cel_result_free(r);
    cel_sig_free(h[0]);
    cel_sig_free(h[1]);
    cel_sig_free(body);
}

int
main(int argc, char **argv)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_t *c;

    if (argc != 4) {
        fputs("usage: c_canvas BROKER_URL PY_QUEUE C_QUEUE\n", stderr);
        return 2;
    }
    co.broker_url = argv[1];
    co.celery_workers = true;
    if (cel_client_open(&co, &c, &err) != 0) {
        printf("FAIL: open: %s\n", err.text);
        return 1;
    }
    python_chain(c, argv[2]);
    mixed_chain(c, argv[2], argv[3]);
    python_link_group(c, argv[2]);
    mixed_chord(c, argv[2], argv[3]);
    cel_client_close(c);
    return failures ? 1 : 0;
}
