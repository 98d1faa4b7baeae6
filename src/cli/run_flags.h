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

/* Options for starting a created (or exited) container through its monitor. */
struct cli_start_opts {
    bool wait_for_attach; /* foreground: the container starts once we attach */
    bool foreground_rm;   /* foreground --rm: we remove it ourselves after reading the exit code */
};
/* Mount the rootfs, spawn the monitor and record the container as running. *exit_code gets the
 * monitor's verdict (126/127/125) when the start fails. */
int cli_container_start(struct cli_ctx *ctx, struct servin_container *c, const struct cli_start_opts *opts,
                        int *exit_code, struct servin_error *err);
/* Attach the terminal to a running container (raw mode and window size with a tty, signals forwarded
 * unless tty), until its output ends; then wait for and return its exit code. */
int cli_container_attach_and_wait(struct cli_ctx *ctx, struct servin_container *c, bool attach_stdin,
                                  bool proxy_signals);
/* Wait until the container is no longer running (or timeout_ms passes, -1 = forever); 0 when it
 * stopped, -ETIMEDOUT otherwise. *c is refreshed. */
int cli_container_wait_stopped(struct servin_store *store, struct servin_container *c, long timeout_ms,
                               struct servin_error *err);
/* Running, paused or restarting: something a stop must act on. */
bool cli_container_is_active(const struct servin_container *c);
/* Touch <run_dir>/stopped so the monitor does not restart the container after this exit. */
/* The user stopped or killed the container: its monitor must not restart it (the run dir's
 * `stopped`), and neither must `system restore` after a reboot for "unless-stopped" (this file in
 * the container dir, removed by the next start). */
#define CLI_STOPPED_BY_USER "stopped-by-user"
void cli_container_mark_stopped(struct servin_store *store, const struct servin_container *c);
/* Stop (StopSignal, then SIGKILL after timeout_s; < 0 = the container's StopTimeout or 10). */
int cli_container_stop(struct servin_store *store, struct servin_container *c, int timeout_s,
                       struct servin_error *err);
/* Kill if needed, unmount, delete the runtime state and the record (rm -f). */
int cli_container_remove(struct servin_store *store, struct servin_container *c, bool force,
                         struct servin_error *err);
/* The same; volumes: also the container's anonymous volumes that no other container uses (rm -v). */
int cli_container_remove_volumes(struct servin_store *store, struct servin_container *c, bool force,
                                 bool volumes, struct servin_error *err);
/* Serialise start and the monitor's cleanup of one container (a file lock under <root>/locks). */
int cli_container_lock(struct servin_store *store, const char *id, int *fd, struct servin_error *err);
/* A container that ended without its monitor's cleanup (the monitor was killed, the machine
 * crashed) still holds its runtime state, cgroup and rootfs mount: release them. */
void cli_container_tidy(struct servin_store *store, struct servin_container *c);
/* Wait (up to timeout_ms) until a process that is not our child is gone. */
void cli_wait_pid_gone(pid_t pid, long timeout_ms);
/* The container's exit code from its exit file, or the record's; -1 when unknown. */
int cli_container_read_exit(struct servin_store *store, const struct servin_container *c);

#endif
