/* main.c: the celeriac command line client: picks the command and runs it.
 *
 *   celeriac call TASK [ARGS_JSON [KWARGS_JSON]]   one task, its result
 *   celeriac map TASK [FILE|-]                     one task per input line
 *   celeriac purge [QUEUE] [-f]                    empty a queue
 *   celeriac status [QUEUE...]                     messages and consumers
 *   celeriac inspect COMMAND [ARGS...]             ask the workers
 *   celeriac control COMMAND [ARGS...]             tell the workers
 *
 * Every command takes -b URL (default $CELERIAC_BROKER_URL, else
 * amqp://guest:guest@localhost:5672//) and --help. Exit codes, the same
 * for every command: 0 success; 1 a task failed, a queue is missing, no
 * worker answered (inspect, control), or a broker error; 2 misuse (the usage
 * goes to stderr); 3 a wait for a result ran out (--timeout). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: celeriac COMMAND [ARGS...] [-b URL]\n"
    "\n"
    "Commands:\n"
    "  call TASK [ARGS_JSON [KWARGS_JSON]]  send one task, print its result\n"
    "  map TASK [FILE|-]                    one task per line of input,\n"
    "                                       results in input order\n"
    "  purge [QUEUE] [-f]                   delete the messages waiting in\n"
    "                                       a queue (default celery)\n"
    "  status [QUEUE...]                    messages ready and consumers of\n"
    "                                       queues (default celery)\n"
    "  inspect COMMAND [ARGS...]            ask the workers (ping, stats,\n"
    "                                       active, registered, ...)\n"
    "  control COMMAND [ARGS...]            tell the workers (revoke,\n"
    "                                       shutdown, rate_limit, ...)\n"
    "\n"
    "Every command takes --help, which tells more, and:\n" //
    CEL_CLI_BROKER_HELP                                    //
    "\n"                                                   //
    "Exit: 0 success, 1 task failure, missing queue, no worker answered\n"
    "or broker error, 2 misuse, 3 timeout.\n";

static const struct {
    const char *name;
    int (*main)(int argc, char **argv);
} commands[] = {
    {"call", cel__call_main},       {"map", cel__map_main},
    {"purge", cel__purge_main},     {"status", cel__status_main},
    {"inspect", cel__inspect_main}, {"control", cel__control_main},
};

int
main(int argc, char **argv)
{
    if (argc < 2) {
        cel__cli_usage(usage_text, NULL);
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cel__cli_help(usage_text);
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            int code = commands[i].main(argc - 1, argv + 1);
            /* A full disk or a closed pipe must not pass for success. */
            if (fflush(stdout) != 0 && code == CEL_EXIT_OK) {
                code = CEL_EXIT_FAILED;
            }
            return code;
        }
    }
    cel__cli_usage(usage_text, "unknown command (the commands are: call, "
                               "map, purge, status, inspect, control)");
}
