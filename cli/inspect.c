/* inspect.c: `celeriac inspect`: ask the workers what they are doing, as
 * `celery inspect` does: the commands Celery's registry marks "inspect",
 * with its argument names. remote.c sends them and prints the answers. */
#include "cli.h"

static const char usage_text[] =
    "usage: celeriac inspect COMMAND [ARGS...] [-d NODE[,NODE...]]\n"
    "                        [--timeout S] [--json] [-b URL]\n"
    "\n"
    "Asks the workers (Celery's or workerd) through their mailboxes, and\n"
    "prints each node's answer as `celery inspect` does.\n"
    "\n"
    "Commands:\n"
    "  ping                  are you there? ({\"ok\": \"pong\"})\n"
    "  stats                 pid, pool, task counts, broker, rusage\n"
    "  active                the tasks running now\n"
    "  reserved              the tasks received, not yet running\n"
    "  scheduled             the tasks waiting for their eta\n"
    "  registered [ATTR...]  the task names (with their ATTRs, default\n"
    "                        exchange, routing_key and rate_limit)\n"
    "  active_queues         the queues consumed\n"
    "  revoked               the ids of revoked tasks\n"
    "  query_task ID...      the state of these tasks\n"
    "  conf                  the worker's configuration\n"
    "  clock                 its logical clock\n"
    "  report                its software and settings\n"
    "\n"
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
    "Exit: 0 a node answered, 1 none did (or one answered with an error,\n"
    "or a broker error), 2 misuse.\n";

/* celery/worker/control.py: @inspect_command, visible ones. */
static const cel_cli_remote_t commands[] = {
    {"ping", {{NULL, 0}}, 0, NULL, false, false},
    {"stats", {{NULL, 0}}, 0, NULL, false, false},
    {"active", {{NULL, 0}}, 0, NULL, false, false},
    {"reserved", {{NULL, 0}}, 0, NULL, false, false},
    {"scheduled", {{NULL, 0}}, 0, NULL, false, false},
    {"registered", {{NULL, 0}}, 0, "taskinfoitems", false, false},
    {"active_queues", {{NULL, 0}}, 0, NULL, false, false},
    {"revoked", {{NULL, 0}}, 0, NULL, false, false},
    {"query_task", {{NULL, 0}}, 1, "ids", false, false},
    {"conf", {{NULL, 0}}, 0, NULL, false, false},
    {"clock", {{NULL, 0}}, 0, NULL, false, false},
    {"report", {{NULL, 0}}, 0, NULL, false, false},
};

int
cel__inspect_main(int argc, char **argv)
{
    static const cel_cli_remotes_t set = {
        usage_text, commands, sizeof(commands) / sizeof(commands[0])};

    return cel__cli_remote_main(argc, argv, &set);
}
