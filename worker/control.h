/* control.h: the control process, forked by the master beside the
 * children (one per worker). It holds a broker connection of its own,
 * answers remote control on the worker's pidbox queue (pidbox.c: Celery's
 * `celery inspect` and `celery control`, Flower, and `celeriac inspect`),
 * and sends the worker events (worker-online, a worker-heartbeat every
 * 2 s, worker-offline). What a command changes it writes into the board
 * (ops.h), where the master and the children read it. */
#ifndef CEL_WORKER_CONTROL_H
#define CEL_WORKER_CONTROL_H

#include <cel/broker.h>

#include "board.h"
#include "config.h"
#include "registry.h"

typedef struct {
    const cel_worker_config_t *cfg;
    const cel_registry_t *reg;
    cel_board_t *board;
    pid_t master;
    cel_broker_t *broker;    /* owned; NULL while disconnected */
    bool events_declared;    /* celeryev on this connection */
    bool beat_now;           /* the heartbeat command: send one at once */
    bool pidbox_warned;      /* said that another worker holds the mailbox */
    unsigned reopened;       /* cel_broker_reopened when the mailbox's
                                consumer last started */
    int64_t next_beat_ms;    /* monotonic */
    int64_t pidbox_retry_ms; /* monotonic: when to ask for the mailbox
                                again (another worker held it); 0: not */
    int64_t started_ms;      /* monotonic, for stats' uptime */
    char pidbox[CEL_SHORTSTR_SIZE + 16]; /* NODE.celery.pidbox */
} cel_control_t;

/* cel__control_main runs the control process until SIGTERM; its exit
 * code. Called right after fork. */
int cel__control_main(const cel_worker_config_t *cfg, const cel_registry_t *reg,
                      cel_board_t *board, pid_t master);

/* cel__control_beat sends a worker event of type now (worker-online,
 * worker-heartbeat, worker-offline). 0 or a broker error. */
int cel__control_beat(cel_control_t *ctl, const char *type, cel_error_t *err);

/* A remote-control command: fn answers args (an object, never NULL) with
 * a new JSON value; answers is false for a command that never answers
 * (shutdown). */
typedef json_t *(*cel_command_fn)(cel_control_t *ctl, const json_t *args);
typedef struct {
    const char *name;
    cel_command_fn fn;
    bool answers;
} cel_command_t;

/* The commands that read (inspect.c) and those that act (remote.c), each
 * list ended by a NULL name. */
extern const cel_command_t cel__inspect_commands[];
extern const cel_command_t cel__remote_commands[];

/* pidbox.c: declares the pidbox queue and consumes it (no ack, as
 * Celery), and handles one message: who it is for, the command, and the
 * answer to reply_to. 0 or a broker error. */
int cel__pidbox_start(cel_control_t *ctl, cel_error_t *err);
int cel__pidbox_handle(cel_control_t *ctl, const cel_delivery_t *d,
                       cel_error_t *err);

/* Helpers the commands share: {"ok": text} and {"error": text}. */
json_t *cel__cmd_ok(const char *fmt, ...) CEL_PRINTF(1, 2);
json_t *cel__cmd_error(const char *fmt, ...) CEL_PRINTF(1, 2);

#endif
