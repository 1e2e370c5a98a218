/* producer.c: calls the module's tasks through libceleriac, as a program
 * of a project of its own does: producer BROKER_URL [QUEUE] prints
 * mul(6, 7) and hypot(3, 4). */
#include <cel/producer.h>

#include <stdio.h>
#include <stdlib.h>

static int
call(cel_client_t *c, const char *task, json_t *args)
{
    cel_error_t err = CEL_ERROR_INIT;
    json_t *v = NULL;

    int r = cel_apply(c, task, args, NULL, NULL, 30000, &v, &err);
    if (r == 0) {
        char *text = json_dumps(v, JSON_ENCODE_ANY);
        printf("%s = %s\n", task, text);
        free(text);
    } else {
        fprintf(stderr, "%s: %s (%s)\n", task, err.text, cel_err_name(r));
    }
    json_decref(v);
    json_decref(args);
    return r;
}

int
main(int argc, char **argv)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_t *c;

    co.broker_url = argc > 1 ? argv[1] : NULL;
    co.queue = argc > 2 ? argv[2] : NULL;
    co.log = cel_client_log_stderr; /* say so when it reconnects */
    if (cel_client_open(&co, &c, &err) != 0) {
        fprintf(stderr, "producer: %s\n", err.text);
        return 1;
    }
    int r = call(c, "mul", json_pack("[ii]", 6, 7));
    r = r != 0 ? r : call(c, "hypot", json_pack("[ii]", 3, 4));
    cel_client_close(c);
    return r != 0;
}
