/* cli/cmd_compose_ops.h — the `servin compose` subcommands that act on a project (all but
 * `config`), and what they share: the loaded project, progress lines, log streaming. */
#ifndef SERVIN_CLI_CMD_COMPOSE_OPS_H
#define SERVIN_CLI_CMD_COMPOSE_OPS_H

#include "cli.h"
#include "compose_cli.h"
#include "servin/compose.h"
#include "servin/compose_stack.h"

/* A loaded project, its store and the env the library calls take. */
struct compose_session {
    struct cli_ctx *ctx;
    const struct servin_compose_project *project; /* owned by the dispatcher */
    struct servin_compose_env env;
    bool quiet; /* no progress lines */
};

/* Load the project (through the dispatcher, which keeps it) and open the store; on failure prints
 * the error and returns the exit code (> 0). */
int compose_session_open(struct compose_cli *cc, struct compose_session *s);
/* The same with every profile's services (`run` of a service whose profile is not enabled). */
int compose_session_open_all_profiles(struct compose_cli *cc, struct compose_session *s);
void compose_session_close(struct compose_session *s);
/* The services named on the command line must exist in the model: 0, or prints and returns the code. */
int compose_check_services(struct compose_session *s, char *const *names);
/* Whether the command line names this service: every one when it names none (names NULL). */
bool compose_service_named(char *const *names, const char *name);
/* Ctrl-C (SIGINT/SIGTERM/SIGHUP) sets this flag instead of killing us, while between steps. */
extern volatile int compose_interrupted;
void compose_catch_signals(void);

/* Log streaming (cmd_compose_logs.c). */
struct compose_log_opts {
    bool follow;
    bool timestamps;
    bool no_prefix;
    bool color;
    long tail;        /* -1 = all */
    int64_t since_ns; /* 0 = all */
};
/* Print the containers' logs prefixed with "<service>-<n>  | ". With follow, one child process per
 * container streams until its container ends; returns when all have ended. */
int compose_print_logs(struct compose_session *s, struct servin_container *list, size_t n,
                       const struct compose_log_opts *o);
/* `up` in the foreground: stream the containers' logs until all end or Ctrl-C; Ctrl-C (or, with
 * abort_on_exit, the first container to exit) stops the stack. Returns up's exit code. */
int compose_attach_foreground(struct compose_session *s, struct servin_container *list, size_t n,
                              const struct compose_log_opts *o, bool abort_on_exit);

/* The subcommands; argv[0] is the subcommand's name. */
int cmd_compose_up(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_down(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_ps(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_ls(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_logs(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_exec(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_run(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_start(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_stop(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_restart(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_pause(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_unpause(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_kill(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_rm(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_pull(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_push(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_build(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_images(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_top(struct compose_cli *cc, int argc, char **argv);
int cmd_compose_port(struct compose_cli *cc, int argc, char **argv);

#endif
