/* pidbox.c: Celery's remote-control mailbox, the worker's side. The
 * worker's queue NODE.celery.pidbox is bound to the celery.pidbox fanout
 * exchange and consumed without acks, as kombu's Node does, but declared
 * exclusive (RabbitMQ 4.3 refuses transient non-exclusive queues). A
 * message is {method, arguments, destination, pattern, matcher, ticket,
 * reply_to}: it is for this worker when destination names it, else when
 * pattern matches (matcher "glob", or "pcre" taken as glob too), else
 * always; one whose expires header has passed is dropped. The answer,
 * {NODE: answer}, goes to reply_to with the ticket and the clock in its
 * headers. A command that is not known, or arguments that are not an
 * object, are answered {"error": ...}; nothing is ever dropped silently
 * but a message that is not a command at all, which is logged. */
#include "control.h"

#include <cel/clock.h>
#include <cel/log.h>

#include <fnmatch.h>
#include <string.h>

#define PIDBOX_EXCHANGE "celery.pidbox"
#define PIDBOX_TTL_MS   300000 /* Celery's control_queue_ttl */
#define PIDBOX_EXPIRES  10000  /* and control_queue_expires */

int
cel__pidbox_start(cel_control_t *ctl, cel_error_t *err)
{
    cel_queue_opts_t q = {.exclusive = true,
                          .auto_delete = true,
                          .expires_ms = PIDBOX_EXPIRES,
                          .message_ttl_ms = PIDBOX_TTL_MS};
    if (strlen(ctl->pidbox) >= CEL_SHORTSTR_SIZE) {
        return cel_error_set(err, CEL_EINVAL,
                             "node name too long for a pidbox queue");
    }
    int r = cel_broker_declare_exchange(ctl->broker, PIDBOX_EXCHANGE, "fanout",
                                        false, false, err);

    r = r != 0 ? r
               : cel_broker_declare_queue(ctl->broker, ctl->pidbox, &q, err);
    r = r != 0 ? r
               : cel_broker_bind(ctl->broker, ctl->pidbox, PIDBOX_EXCHANGE, "",
                                 err);
    return r != 0 ? r
                  : cel_broker_consume(ctl->broker, ctl->pidbox, true, NULL, 0,
                                       err);
}

/* Is the message for this node? */
static bool
for_me(const cel_control_t *ctl, const json_t *body)
{
    const json_t *dest = json_object_get(body, "destination");
    const char *pattern = json_string_value(json_object_get(body, "pattern"));
    const char *matcher = json_string_value(json_object_get(body, "matcher"));
    const char *me = ctl->cfg->hostname;

    if (json_is_array(dest) && json_array_size(dest) > 0) {
        size_t i;
        const json_t *v;
        json_array_foreach (dest, i, v) {
            const char *name = json_string_value(v);
            if (name != NULL && strcmp(name, me) == 0) {
                return true;
            }
        }
        return false;
    }
    if (pattern != NULL && matcher != NULL) {
        return fnmatch(pattern, me, 0) == 0;
    }
    return true;
}

static const cel_command_t *
find(const char *method)
{
    const cel_command_t *lists[] = {cel__inspect_commands,
                                    cel__remote_commands};

    for (size_t l = 0; l < 2; l++) {
        for (const cel_command_t *c = lists[l]; c->name != NULL; c++) {
            if (strcmp(c->name, method) == 0) {
                return c;
            }
        }
    }
    return NULL;
}

/* The answer to body's command (NULL when it gives none). */
static json_t *
answer(cel_control_t *ctl, const json_t *body, const char *method)
{
    const json_t *args = json_object_get(body, "arguments");
    const cel_command_t *cmd = find(method);
    json_t *empty = NULL;

    if (cmd == NULL) {
        CEL_LOG(CEL_LOG_WARN, "remote control: unknown command %.100s", method);
        return cel__cmd_error("unknown command '%.100s'", method);
    }
    if (args == NULL || json_is_null(args)) {
        args = empty = json_object();
    }
    if (!json_is_object(args)) {
        return cel__cmd_error("%s: arguments must be an object", method);
    }
    CEL_LOG(CEL_LOG_INFO, "remote control: %s", method);
    json_t *a = cmd->fn(ctl, args);
    json_decref(empty);
    if (!cmd->answers) {
        json_decref(a);
        return NULL;
    }
    return a != NULL ? a : cel__cmd_error("%s: out of memory", method);
}

/* Answers go only to a mailbox's reply exchange, reply.NAME.pidbox (a
 * direct exchange, declared here as every Celery node declares it): a
 * command naming any other exchange could make the declare fail (another
 * type) and close the channel, or send answers where they do not belong. */
static bool
reply_exchange(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    return n > strlen("reply..pidbox") && n <= 255 &&
           strncmp(name, "reply.", 6) == 0 &&
           strcmp(name + n - 7, ".pidbox") == 0;
}

static int
reply(cel_control_t *ctl, const json_t *reply_to, const char *ticket, json_t *a,
      cel_error_t *err)
{
    const char *exchange =
        json_string_value(json_object_get(reply_to, "exchange"));
    const char *key =
        json_string_value(json_object_get(reply_to, "routing_key"));
    cel_envelope_t env;

    if (!reply_exchange(exchange) || key == NULL || strlen(key) > 255) {
        json_decref(a);
        CEL_LOG(CEL_LOG_WARN,
                "remote control: not answering to reply_to exchange %.100s "
                "(only reply.NAME.pidbox ones)",
                exchange != NULL ? exchange : "(none)");
        return 0;
    }
    json_t *body = json_pack("{s:o}", ctl->cfg->hostname, a);
    cel_envelope_init(&env);
    cel_copy_str(env.content_type, sizeof(env.content_type),
                 "application/json");
    cel_copy_str(env.content_encoding, sizeof(env.content_encoding), "utf-8");
    env.delivery_mode = 1;
    env.headers = json_pack("{s:s?, s:I}", "ticket", ticket, "clock",
                            (json_int_t)cel__ops_tick(&ctl->board->ops));
    env.body_owned = cel_json_dump(body, &env.body_len);
    env.body = env.body_owned;
    json_decref(body);
    unsigned reopened = cel_broker_reopened(ctl->broker);
    int r = cel_broker_declare_exchange(ctl->broker, exchange, "direct", false,
                                        false, err);
    if (r == 0 && env.body != NULL) {
        r = cel_broker_publish(ctl->broker, exchange, key, &env, err);
    }
    cel_envelope_clear(&env);
    if (r != 0 && cel_broker_reopened(ctl->broker) != reopened) {
        /* The broker closed the channel, not the connection: the answer
         * is lost, the mailbox is consumed again (control.c). */
        CEL_LOG(CEL_LOG_WARN, "remote control: no answer to %.100s: %s",
                exchange, err->text);
        cel_error_clear(err);
        return 0;
    }
    return r;
}

/* Celery drops a command whose expires header (epoch seconds) passed. */
static bool
expired(const cel_delivery_t *d)
{
    const json_t *e = json_object_get(d->env.headers, "expires");
    double at = json_is_number(e) ? json_number_value(e) : 0;

    return at > 0 && at < (double)cel_clock_wall_us() / 1e6;
}

int
cel__pidbox_handle(cel_control_t *ctl, const cel_delivery_t *d,
                   cel_error_t *err)
{
    json_error_t jerr;
    json_t *body = json_loadb(d->env.body, d->env.body_len, 0, &jerr);
    const char *method = json_string_value(json_object_get(body, "method"));
    int r = 0;

    if (method == NULL) {
        CEL_LOG(CEL_LOG_WARN,
                "remote control: a message that is not a command (%.80s)",
                body == NULL ? jerr.text : "no method");
    } else if (expired(d)) {
        CEL_LOG(CEL_LOG_INFO, "remote control: %.100s expired; dropped",
                method);
    } else if (for_me(ctl, body)) {
        json_t *a = answer(ctl, body, method);
        const json_t *reply_to = json_object_get(body, "reply_to");
        if (a != NULL && json_is_object(reply_to)) {
            r = reply(ctl, reply_to,
                      json_string_value(json_object_get(body, "ticket")), a,
                      err);
        } else {
            json_decref(a);
        }
    }
    json_decref(body);
    return r;
}
