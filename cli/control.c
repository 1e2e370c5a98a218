/* control.c: `celeriac control`: tell the workers to do something, as
 * `celery control` does: the commands Celery's registry marks "control",
 * with its argument names and types. remote.c sends them and prints the
 * answers. */
#include "cli.h"

static const char usage_text[] =
    "usage: celeriac control COMMAND [ARGS...] [-d NODE[,NODE...]]\n"
    "                        [--timeout S] [--json] [-b URL]\n"
    "\n"
    "Tells the workers (Celery's or workerd) through their mailboxes, and\n"
    "prints each node's answer as `celery control` does.\n"
    "\n"
    "Commands:\n"
    "  revoke ID... [--terminate [--signal SIG]]\n"
    "                         do not run these tasks; with --terminate,\n"
    "                         also kill those running (SIGTERM, or SIG)\n"
    "  shutdown               stop the workers (they do not answer it)\n"
    "  pool_grow [N]          N more pool processes (default 1)\n"
    "  pool_shrink [N]        N fewer pool processes (default 1)\n"
    "  add_consumer QUEUE [EXCHANGE [TYPE [ROUTING_KEY]]]\n"
    "                         start consuming QUEUE\n"
    "  cancel_consumer QUEUE  stop consuming QUEUE\n"
    "  rate_limit TASK RATE   e.g. 10/s, 5/m, 100/h; 0 for none\n"
    "  time_limit TASK SOFT [HARD]\n"
    "                         time limits in seconds\n"
    "  enable_events          send task events\n"
    "  disable_events         stop sending task events\n"
    "  heartbeat              send a worker-heartbeat event now\n"
    "\n"
    "  --terminate   revoke: kill the tasks that run already\n"
    "  --signal SIG  revoke: the signal for --terminate (a name such as\n"
    "                SIGKILL or KILL; default SIGTERM)\n"
    "  -d, --destination NODE[,NODE...]\n"
    "                only these nodes; the wait ends when all have\n"
    "                answered\n"
    "  -t, --timeout S\n"
    "                seconds to wait for answers (default 1)\n"
    "  -j, --json    the answers as one JSON array: [{\"NODE\": ANSWER},\n"
    "                ...]\n" //
    CEL_CLI_BROKER_HELP      //
    "  -h, --help    this text\n"
    "\n"
    "Exit: 0 a node answered (shutdown: sent), 1 none did (or one\n"
    "answered with an error, or a broker error), 2 misuse.\n";

/* celery/worker/control.py: @control_command, with its args. */
static const cel_cli_remote_t commands[] = {
    {"revoke", {{NULL, 0}}, 1, "task_id", false, true},
    {"shutdown", {{NULL, 0}}, 0, NULL, true, false},
    {"pool_grow", {{"n", 'i'}, {NULL, 0}}, 0, NULL, false, false},
    {"pool_shrink", {{"n", 'i'}, {NULL, 0}}, 0, NULL, false, false},
    {"add_consumer",
     {{"queue", 's'},
      {"exchange", 's'},
      {"exchange_type", 's'},
      {"routing_key", 's'}},
     1,
     NULL,
     false,
     false},
    {"cancel_consumer", {{"queue", 's'}, {NULL, 0}}, 1, NULL, false, false},
    {"rate_limit",
     {{"task_name", 's'}, {"rate_limit", 's'}, {NULL, 0}},
     2,
     NULL,
     false,
     false},
    {"time_limit",
     {{"task_name", 's'}, {"soft", 'f'}, {"hard", 'f'}, {NULL, 0}},
     2,
     NULL,
     false,
     false},
    {"enable_events", {{NULL, 0}}, 0, NULL, false, false},
    {"disable_events", {{NULL, 0}}, 0, NULL, false, false},
    {"heartbeat", {{NULL, 0}}, 0, NULL, false, false},
};

int
cel__control_main(int argc, char **argv)
{
    static const cel_cli_remotes_t set = {
        usage_text, commands, sizeof(commands) / sizeof(commands[0])};

    return cel__cli_remote_main(argc, argv, &set);
}
