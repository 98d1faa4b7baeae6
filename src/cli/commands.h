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
/* prune.c: Docker's prune filters and output blocks, shared by the prune commands. */
struct cli_prune_filters {
    bool has_until;
    int64_t until_ns;  /* only what was created before */
    json_t *labels;    /* ["k", "k=v"]: must have */
    json_t *no_labels; /* label!=: must not have */
};
#define CLI_PRUNE_FILTERS_INIT {.labels = json_array(), .no_labels = json_array()}
/* One --filter value; prints the error and returns the exit code when it is not until=/label=. */
int cli_prune_filter_parse(struct cli_prune_filters *f, const char *text);
void cli_prune_filters_clear(struct cli_prune_filters *f);
/* Does an object with these labels, created at created_ns (0: unknown, never until=), match? */
bool cli_prune_matches(const struct cli_prune_filters *f, json_t *labels, int64_t created_ns);
/* "Title:" before the first item, a blank line after the last. */
struct cli_section {
    const char *title;
    bool printed;
};
void cli_section_item(struct cli_section *s, const char *item);
void cli_section_end(struct cli_section *s);
/* Remove the unused networks (not the default one) / volumes that match, printing them. */
int cli_prune_networks(struct servin_store *store, const struct cli_prune_filters *f);
int cli_prune_volumes(struct servin_store *store, const struct cli_prune_filters *f, uint64_t *reclaimed);
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
int cmd_update(struct cli_ctx *ctx, int argc, char **argv);
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
