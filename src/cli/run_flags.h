/* cli/run_flags.h — `run`/`create` flags into Docker's create body, and the start path that `run`,
 * `start`, `restart` and `attach` share. */
#ifndef SERVIN_CLI_RUN_FLAGS_H
#define SERVIN_CLI_RUN_FLAGS_H

#include <jansson.h>
#include <stdbool.h>

#include "cli.h"
#include "servin/container.h"

struct run_flags {
    json_t *config;    /* {"Config": {...}, "HostConfig": {...}} in Docker's shape */
    const char *name;  /* --name, or NULL */
    const char *image; /* IMAGE as typed */
    const char *pull;  /* --pull missing|always|never */
    bool detach, interactive, tty, auto_remove;
};

/* Parse argv (argv[0] is the command name). Returns 0 when the caller should go on; otherwise the
 * caller returns *code at once (0 after --help, the usage error's code after a bad flag). */
int run_flags_parse(struct cli_ctx *ctx, int argc, char **argv, struct run_flags *out, int *code);
void run_flags_clear(struct run_flags *f);
/* `update`'s flags (--memory, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --cpu-quota,
 * --cpu-period, --pids-limit, --restart) as a Docker Resources object in *changes, parsed as run
 * parses them. Non-zero: the caller returns *code (0 after --help). */
int run_flags_update_parse(struct cli_ctx *ctx, int argc, char **argv, json_t **changes, int *code);

/* run_flags_net.c: the network flags (ids from RUN_OPT_NETWORK on, above run_flags.c's own). */
enum {
    RUN_OPT_NETWORK = 1000,
    RUN_OPT_NETWORK_ALIAS,
    RUN_OPT_IP,
    RUN_OPT_DNS,
    RUN_OPT_DNS_SEARCH,
    RUN_OPT_DNS_OPTION,
    RUN_OPT_ADD_HOST,
    RUN_OPT_PUBLISH,
    RUN_OPT_PUBLISH_ALL,
    RUN_OPT_EXPOSE,
};
int run_flags_net_opt(struct cli_ctx *ctx, int opt, const char *arg, json_t *config);
/* Move --network-alias/--ip under the chosen network; refuse them where Docker does. */
int run_flags_net_finish(struct cli_ctx *ctx, json_t *config);

/* ---- Shared with cmd_run.c, cmd_container.c and cmd_exec.c ---- */

/* Attach the terminal to a running container (raw mode and window size with a tty, signals forwarded
 * unless tty), until its output ends; then wait for and return its exit code. */
int cli_container_attach_and_wait(struct cli_ctx *ctx, struct servin_container *c, bool attach_stdin,
                                  bool proxy_signals);
/* The file that remembers a user's stop (see SERVIN_CONTAINER_STOPPED_BY_USER). */
#define CLI_STOPPED_BY_USER SERVIN_CONTAINER_STOPPED_BY_USER

#endif
