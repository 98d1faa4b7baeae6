/* cli/commands.h — the command table and the functions behind it, one file per group. */
#ifndef SERVIN_CLI_COMMANDS_H
#define SERVIN_CLI_COMMANDS_H

#include "cli.h"

extern const struct cli_command cli_commands[];
extern const size_t cli_commands_count;

/* cmd_version.c, cmd_system.c */
int cmd_version(struct cli_ctx *ctx, int argc, char **argv);
int cmd_system_info(struct cli_ctx *ctx, int argc, char **argv);
int cmd_config_check(struct cli_ctx *ctx, int argc, char **argv);
int cmd_system_restore(struct cli_ctx *ctx, int argc, char **argv);
/* cmd_system_prune.c */
int cmd_system_prune(struct cli_ctx *ctx, int argc, char **argv);
/* cmd_pull.c, cmd_push.c, cmd_login.c (registry) */
int cmd_pull(struct cli_ctx *ctx, int argc, char **argv);
int cmd_push(struct cli_ctx *ctx, int argc, char **argv);
int cmd_login(struct cli_ctx *ctx, int argc, char **argv);
int cmd_logout(struct cli_ctx *ctx, int argc, char **argv);
/* cmd_build.c */
int cmd_build(struct cli_ctx *ctx, int argc, char **argv);
/* `login` with another default server (cmd_login.c) */
int cli_login_run(struct cli_ctx *ctx, int argc, char **argv, const char *default_server);
/* cmd_registry.c, cmd_registry_client.c (the built-in registry server and its client forms) */
int cmd_registry_start(struct cli_ctx *ctx, int argc, char **argv);
int cmd_registry_stop(struct cli_ctx *ctx, int argc, char **argv);
int cmd_registry_gc(struct cli_ctx *ctx, int argc, char **argv);
int cmd_registry_list(struct cli_ctx *ctx, int argc, char **argv);
int cmd_registry_push(struct cli_ctx *ctx, int argc, char **argv);
int cmd_registry_pull(struct cli_ctx *ctx, int argc, char **argv);
int cmd_registry_login(struct cli_ctx *ctx, int argc, char **argv);
int cmd_registry_logout(struct cli_ctx *ctx, int argc, char **argv);
int cmd_registry_ping(struct cli_ctx *ctx, int argc, char **argv);
/* cmd_images.c */
int cmd_images_ls(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image_inspect(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image_history(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image_tag(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image_rm(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image_prune(struct cli_ctx *ctx, int argc, char **argv);
/* cmd_archive.c */
int cmd_image_save(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image_load(struct cli_ctx *ctx, int argc, char **argv);
int cmd_image_import(struct cli_ctx *ctx, int argc, char **argv);

/* cmd_volume.c */
int cmd_volume_create(struct cli_ctx *ctx, int argc, char **argv);
int cmd_volume_ls(struct cli_ctx *ctx, int argc, char **argv);
int cmd_volume_inspect(struct cli_ctx *ctx, int argc, char **argv);
int cmd_volume_rm(struct cli_ctx *ctx, int argc, char **argv);
int cmd_volume_prune(struct cli_ctx *ctx, int argc, char **argv);
int cmd_volume_rm_all(struct cli_ctx *ctx, int argc, char **argv);

/* cmd_run.c, cmd_container.c, cmd_ps.c, cmd_logs.c, cmd_exec.c (containers) */
int cmd_run(struct cli_ctx *ctx, int argc, char **argv);
int cmd_create(struct cli_ctx *ctx, int argc, char **argv);
int cmd_start(struct cli_ctx *ctx, int argc, char **argv);
int cmd_stop(struct cli_ctx *ctx, int argc, char **argv);
int cmd_restart(struct cli_ctx *ctx, int argc, char **argv);
int cmd_kill(struct cli_ctx *ctx, int argc, char **argv);
int cmd_pause(struct cli_ctx *ctx, int argc, char **argv);
int cmd_unpause(struct cli_ctx *ctx, int argc, char **argv);
int cmd_rm(struct cli_ctx *ctx, int argc, char **argv);
int cmd_rename(struct cli_ctx *ctx, int argc, char **argv);
int cmd_wait(struct cli_ctx *ctx, int argc, char **argv);
int cmd_container_prune(struct cli_ctx *ctx, int argc, char **argv);
int cmd_container_cleanup(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ps(struct cli_ctx *ctx, int argc, char **argv);
int cmd_container_inspect(struct cli_ctx *ctx, int argc, char **argv);
int cmd_logs(struct cli_ctx *ctx, int argc, char **argv);
int cmd_exec(struct cli_ctx *ctx, int argc, char **argv);
int cmd_attach(struct cli_ctx *ctx, int argc, char **argv);
int cmd_top(struct cli_ctx *ctx, int argc, char **argv);
/* cmd_commit.c */
int cmd_commit(struct cli_ctx *ctx, int argc, char **argv);
/* cmd_cp.c */
int cmd_cp(struct cli_ctx *ctx, int argc, char **argv);
/* cmd_stats.c */
int cmd_stats(struct cli_ctx *ctx, int argc, char **argv);
/* cmd_export.c */
int cmd_container_diff(struct cli_ctx *ctx, int argc, char **argv);
int cmd_container_export(struct cli_ctx *ctx, int argc, char **argv);

/* src/daemon/main.c */
int cmd_daemon(struct cli_ctx *ctx, int argc, char **argv);
int cmd_cri_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_cri_test(struct cli_ctx *ctx, int argc, char **argv);
/* The CRI socket when no --cri-socket names it: cri.socket_path when the config file or the
 * environment set it, else cri.sock in the store's run directory (/run/servin/cri.sock for the
 * default store). NULL (reported) when the store does not open. */
char *cri_socket_default(struct cli_ctx *ctx);

/* cmd_network.c */
int cmd_network_create(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_ls(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_inspect(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_rm(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_prune(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_connect(struct cli_ctx *ctx, int argc, char **argv);
int cmd_network_disconnect(struct cli_ctx *ctx, int argc, char **argv);
int cmd_port(struct cli_ctx *ctx, int argc, char **argv);

/* cmd_compose.c (its subcommands: compose_commands.c) */
int cmd_compose(struct cli_ctx *ctx, int argc, char **argv);

/* cmd_oci.c */
int cmd_oci(struct cli_ctx *ctx, int argc, char **argv);

#endif
