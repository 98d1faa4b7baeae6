/* cli/compose_commands.c — the subcommands of `servin compose`, with their help. */
#include "compose_cli.h"

const struct compose_command compose_commands[] = {
    {{"compose config", "compose convert", NULL, "[OPTIONS] [SERVICE...]",
      "Parse, resolve and render the compose files in canonical format",
      "      --format string   Format the output: yaml (default) or json\n"
      "      --hash string     Print the config hash of the services (\"*\" for all)\n"
      "      --images          Print the image names, one per line\n"
      "      --networks        Print the network names, one per line\n"
      "  -o, --output string   Save to a file instead of STDOUT\n"
      "      --profiles        Print the profile names, one per line\n"
      "  -q, --quiet           Only validate the configuration, don't print anything\n"
      "      --services        Print the service names, one per line\n"
      "      --volumes         Print the volume names, one per line\n"},
     cmd_compose_config},
    {{NULL, NULL, NULL, NULL, NULL, NULL}, NULL},
};
