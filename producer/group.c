/* group.c: results handed back in the order they finish (as_completed,
 * imap_unordered), and map/starmap, which send a whole array and collect
 * the values in input order, and Celery's group of signatures. A group
 * links its ready results through the results themselves, so it costs
 * nothing per result. */
#include "producer_internal.h"

#include <cel/clock.h>

#include <stdlib.h>
#include <string.h>

cel_group_t *
cel_group_new(cel_client_t *c)
{
    cel_group_t *g = calloc(1, sizeof(*g));

    if (g == NULL) {
        cel_error_set(cel__client_error(), CEL_ENOMEM,
                      "out of memory for a group");
    } else {
        g->client = c;
        cel__lock(c);
        c->refs++;
        cel__unlock(c);
    }
    return g;
}

void
cel__group_push(cel_result_t *r)
{
    cel_group_t *g = r->group;

    r->next = NULL;
    if (g->tail != NULL) {
        g->tail->next = r;
    } else {
        g->head = r;
    }
    g->tail = r;
}

int
cel_group_add(cel_group_t *g, cel_result_t *r)
{
    cel_client_t *c = g->client;

    if (r->client != c) {
        return CEL_EINVAL;
    }
    cel__lock(c);
    int rc = r->group != NULL || !(r->flags & R_USER) || (r->flags & R_HELD)
                 ? CEL_EINVAL
                 : 0;
    if (rc == 0) {
        r->group = g;
        r->flags &= ~R_USER;
        g->held++;
        /* Ready already, and no callback to run first: it is next. */
        if (cel_state_ready(r->state) && !(r->flags & R_QUEUED)) {
            cel__group_push(r);
        }
    }
    cel__unlock(c);
    return rc;
}

int
cel_group_apply_async(cel_group_t *g, const char *name, const json_t *args,
                      const json_t *kwargs, const cel_opts_t *opts,
                      cel_error_t *err)
{
    cel_opts_t o = CEL_OPTS_INIT;
    cel_error_t e;

    if (opts != NULL) {
        o = *opts;
    }
    o.ignore_result = false; /* a group is for collecting results */
    if (cel__send(g->client, name, args, kwargs, &o, g, &e) != NULL) {
        return 0;
    }
    if (err != NULL) {
        *err = e;
    }
    return e.code;
}

static bool
has_next(cel_client_t *c, void *arg)
{
    cel_group_t *g = arg;

    (void)c;
    return g->head != NULL || g->held == 0;
}

cel_result_t *
cel_group_next(cel_group_t *g, int64_t timeout_ms)
{
    cel_client_t *c = g->client;
    cel_error_t *err = cel__client_error();
    cel_result_t *r = NULL;

    cel_error_clear(err);
    cel__lock(c);
    int rc = cel__wait_for(c, has_next, g, timeout_ms,
                           "no result of the group finished", err);
    if (rc == 0 && g->head == NULL) {
        cel_error_set(err, CEL_ENOTREADY,
                      "every result of the group was handed back");
    } else if (rc == 0) {
        r = g->head;
        g->head = r->next;
        if (g->head == NULL) {
            g->tail = NULL;
        }
        r->next = NULL;
        r->group = NULL;
        r->flags |= R_USER;
        g->held--;
    }
    cel__unlock(c);
    return r;
}

size_t
cel_group_size(cel_group_t *g)
{
    cel__lock(g->client);
    size_t n = g->held;
    cel__unlock(g->client);
    return n;
}

/* The results a group holds that are not ready yet are found through the
 * pending table and the callback queue (freeing a group is rare, and this
 * keeps a group from costing memory per result). Cut loose, each is freed
 * when its reply comes, or by cel_client_close. */
static void
let_go(cel_client_t *c, cel_group_t *g)
{
    while (g->head != NULL) {
        cel_result_t *r = g->head;
        g->head = r->next;
        r->group = NULL;
        cel__result_release(r);
    }
    for (cel_result_t *r = c->fire_head; r != NULL; r = r->next) {
        if (r->group == g) {
            r->group = NULL;
        }
    }
    for (size_t i = 0; i < c->pending.cap; i++) {
        cel_result_t *r = c->pending.slots[i];
        if (r != NULL && r->group == g) {
            r->group = NULL;
            free(r->hooks);
            r->hooks = NULL;
        }
    }
}

void
cel_group_free(cel_group_t *g)
{
    if (g == NULL) {
        return;
    }
    cel_client_t *c = g->client;
    cel__lock(c);
    if (g->held > 0) {
        let_go(c, g);
    }
    free(g);
    cel__unref_unlock(c);
}

/* Sends name once per item into a fresh group. With star, each item is
 * the argument array; otherwise it is the one argument. */
static int
send_all(cel_client_t *c, const char *name, const json_t *items, bool star,
         const cel_opts_t *opts, cel_result_t ***out, cel_group_t *g,
         cel_error_t *err)
{
    size_t n = json_array_size(items);
    json_t *one = json_array();
    int rc = json_is_array(items) && one ? 0 : CEL_EINVAL;

    if (rc != 0) {
        json_decref(one);
        return cel_error_set(err, rc, "items must be an array");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const json_t *args = json_array_get(items, i);
        if (star && !json_is_array(args)) {
            rc = cel_error_set(err, CEL_EINVAL,
                               "starmap item %zu is not an argument array", i);
            break;
        }
        if (!star) {
            json_array_clear(one);
            if (json_array_append(one, (json_t *)args) != 0) {
                rc = cel_error_set(err, CEL_ENOMEM, "out of memory");
                break;
            }
            args = one;
        }
        if (out != NULL) {
            (*out)[i] = cel__send(c, name, args, NULL, opts, NULL, err);
            rc = (*out)[i] != NULL ? 0 : err->code;
        } else {
            rc = cel_group_apply_async(g, name, args, NULL, opts, err);
        }
    }
    json_decref(one);
    return rc;
}

static int
collect(cel_result_t **rs, size_t n, int64_t timeout_ms, json_t *values,
        cel_error_t *err)
{
    int64_t deadline = cel_clock_now_ms() + timeout_ms;
    const json_t *v;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t left = deadline - cel_clock_now_ms();
        left = timeout_ms < 0 ? -1 : left < 0 ? 0 : left;
        rc = cel_result_get(rs[i], left, &v, err);
        if (rc == 0 && json_array_append(values, (json_t *)v) != 0) {
            rc = cel_error_set(err, CEL_ENOMEM, "out of memory");
        }
    }
    return rc;
}

static int
map(cel_client_t *c, const char *name, const json_t *items, bool star,
    const cel_opts_t *opts, int64_t timeout_ms, json_t **values,
    cel_error_t *err)
{
    cel_opts_t o = CEL_OPTS_INIT;
    cel_error_t e;
    size_t n = json_array_size(items);
    cel_result_t **rs = calloc(n ? n : 1, sizeof(cel_result_t *));

    *values = json_array();
    if (opts != NULL) {
        o = *opts;
    }
    o.ignore_result = false;
    int rc = rs && *values ? 0 : cel_error_set(&e, CEL_ENOMEM, "out of memory");
    if (rc == 0) {
        rc = send_all(c, name, items, star, &o, &rs, NULL, &e);
    }
    if (rc == 0) {
        rc = collect(rs, n, timeout_ms, *values, &e);
    }
    for (size_t i = 0; rs != NULL && i < n; i++) {
        cel_result_free(rs[i]);
    }
    free(rs);
    if (rc != 0) {
        json_decref(*values);
        *values = NULL;
        if (err != NULL) {
            *err = e;
        }
    }
    return rc;
}

int
cel_map(cel_client_t *c, const char *name, const json_t *items,
        const cel_opts_t *opts, int64_t timeout_ms, json_t **values,
        cel_error_t *err)
{
    return map(c, name, items, false, opts, timeout_ms, values, err);
}

int
cel_starmap(cel_client_t *c, const char *name, const json_t *items,
            const cel_opts_t *opts, int64_t timeout_ms, json_t **values,
            cel_error_t *err)
{
    return map(c, name, items, true, opts, timeout_ms, values, err);
}

int
cel_imap_unordered(cel_client_t *c, const char *name, const json_t *items,
                   const cel_opts_t *opts, cel_group_t **out, cel_error_t *err)
{
    cel_error_t e;
    cel_group_t *g = cel_group_new(c);
    int rc = g ? send_all(c, name, items, false, opts, NULL, g, &e)
               : cel_error_set(&e, CEL_ENOMEM, "out of memory");

    *out = NULL;
    if (rc != 0) {
        cel_group_free(g);
        if (err != NULL) {
            *err = e;
        }
        return rc;
    }
    *out = g;
    return 0;
}

/* Celery's group of signatures: one ordinary message per member, each
 * with the header group = one new group id (see <cel/canvas.h>). */
int
cel_group_send(cel_client_t *c, const cel_sig_t *const *sigs, size_t n,
               const cel_opts_t *opts, cel_result_t **results, cel_error_t *err)
{
    char gid[CEL_ID_SIZE];
    cel_error_t e;

    cel_id_new(gid);
    for (size_t i = 0; i < n; i++) {
        cel_call_t call = {sigs[i]->name, sigs[i]->args, sigs[i]->kwargs, NULL,
                           gid};
        cel_opts_t o;
        cel__sig_opts(sigs[i], opts, &o);
        results[i] = cel__send_call(c, &call, &o, NULL, &e);
        if (results[i] == NULL) {
            while (i-- > 0) {
                cel_result_free(results[i]);
                results[i] = NULL;
            }
            if (err != NULL) {
                *err = e;
            }
            return e.code;
        }
    }
    return 0;
}
