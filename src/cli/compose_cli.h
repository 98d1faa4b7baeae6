/* cli/compose_cli.h — `servin compose`: the global options every subcommand shares, the project
 * they load, and the table of subcommands (compose_commands.c). */
#ifndef SERVIN_CLI_COMPOSE_H
#define SERVIN_CLI_COMPOSE_H

#include "cli.h"
#include "servin/compose.h"

struct compose_cli {
    struct cli_ctx *ctx;
    struct servin_compose_options opts; /* from -f, -p, --project-directory, --env-file, --profile */
    char **files, **env_files, **profiles;
    struct servin_compose_project *project; /* loaded on first use by compose_cli_project */
};

struct compose_command {
    struct cli_command cmd; /* path "compose up", usage, summary, options: for --help; cmd.run unused */
    int (*run)(struct compose_cli *cc, int argc, char **argv);
};

/* NULL-terminated (cmd.path NULL), in compose_commands.c: add a subcommand there. */
extern const struct compose_command compose_commands[];

/* The project of the global options, loaded once; prints the error and returns NULL on failure.
 * all_profiles: keep services of every profile (`config --profiles`, `run` of a profiled one). */
struct servin_compose_project *compose_cli_project(struct compose_cli *cc);
struct servin_compose_project *compose_cli_project_all_profiles(struct compose_cli *cc);

/* cmd_compose_config.c */
int cmd_compose_config(struct compose_cli *cc, int argc, char **argv);

#endif
