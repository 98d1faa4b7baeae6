/* cli/compose_commands.c — the subcommands of `servin compose`, with their help. */
#include "cmd_compose_ops.h"
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
    {{"compose up", NULL, NULL, "[OPTIONS] [SERVICE...]", "Create and start containers",
      "      --abort-on-container-exit  Stop all containers if any container stops\n"
      "      --build                    Build images before starting containers\n"
      "  -d, --detach                   Run containers in the background\n"
      "      --force-recreate           Recreate containers even if their configuration has not changed\n"
      "      --no-build                 Don't build an image, even if it's missing\n"
      "      --no-color                 Produce monochrome output\n"
      "      --no-deps                  Don't start linked services\n"
      "      --no-log-prefix            Don't print a prefix in logs\n"
      "      --no-recreate              Don't recreate existing containers\n"
      "      --no-start                 Don't start the services after creating them\n"
      "      --quiet-pull               Pull without printing progress information\n"
      "      --remove-orphans           Remove containers for services not defined in the compose file\n"
      "      --scale SERVICE=NUM        Scale SERVICE to NUM instances (overrides deploy.replicas)\n"
      "  -t, --timeout int              Shutdown timeout in seconds\n"
      "      --timestamps               Show timestamps\n"
      "      --wait                     Wait for services to be running|healthy (implies --detach)\n"
      "      --wait-timeout int         Maximum duration in seconds to wait\n"},
     cmd_compose_up},
    {{"compose down", NULL, NULL, "[OPTIONS]", "Stop and remove containers, networks",
      "      --remove-orphans   Remove containers for services not defined in the compose file\n"
      "      --rmi string       Remove images used by services: \"local\" (built ones) or \"all\"\n"
      "  -t, --timeout int      Shutdown timeout in seconds\n"
      "  -v, --volumes          Remove named volumes declared in the volumes section and anonymous "
      "volumes\n"},
     cmd_compose_down},
    {{"compose ps", NULL, NULL, "[OPTIONS] [SERVICE...]", "List containers",
      "  -a, --all             Show all stopped containers too\n"
      "      --format string   table (default), json, or a Go template\n"
      "  -q, --quiet           Only display IDs\n"
      "      --services        Display services\n"
      "      --status string   Filter by state (running, exited, ...)\n"},
     cmd_compose_ps},
    {{"compose ls", NULL, NULL, "[OPTIONS]", "List running compose projects",
      "  -a, --all             Show all stopped projects too\n"
      "      --format string   table (default) or json\n"
      "  -q, --quiet           Only display project names\n"},
     cmd_compose_ls},
    {{"compose logs", NULL, NULL, "[OPTIONS] [SERVICE...]", "View output from containers",
      "  -f, --follow          Follow log output\n"
      "      --index int       Index of the container if the service has multiple replicas\n"
      "      --no-color        Produce monochrome output\n"
      "      --no-log-prefix   Don't print a prefix in logs\n"
      "  -n, --tail string     Number of lines to show from the end of the logs (default \"all\")\n"
      "  -t, --timestamps      Show timestamps\n"},
     cmd_compose_logs},
    {{"compose exec", NULL, NULL, "[OPTIONS] SERVICE COMMAND [ARGS...]",
      "Execute a command in a running container",
      "  -d, --detach          Detached mode: run the command in the background\n"
      "  -e, --env list        Set environment variables\n"
      "      --index int       Index of the container if the service has multiple replicas (default 1)\n"
      "      --privileged      Give extended privileges to the process\n"
      "  -T, --no-TTY          Disable pseudo-TTY allocation (default: a TTY when stdin is one)\n"
      "  -u, --user string     Run the command as this user\n"
      "  -w, --workdir string  Path to the working directory for this command\n"},
     cmd_compose_exec},
    {{"compose run", NULL, NULL, "[OPTIONS] SERVICE [COMMAND] [ARGS...]",
      "Run a one-off command on a service",
      "      --build            Build the image before starting the container\n"
      "  -d, --detach           Run the container in the background and print its name\n"
      "      --entrypoint string  Override the entrypoint of the image\n"
      "  -e, --env list         Set environment variables\n"
      "  -l, --label list       Add or override a label\n"
      "      --name string      Assign a name to the container\n"
      "      --no-deps          Don't start linked services\n"
      "  -p, --publish list     Publish a container's port(s) to the host\n"
      "      --quiet-pull       Pull without printing progress information\n"
      "      --remove-orphans   Remove containers for services not defined in the compose file\n"
      "      --rm               Automatically remove the container when it exits\n"
      "      --service-ports    Run with the service's ports published\n"
      "  -T, --no-TTY           Disable pseudo-TTY allocation (default: a TTY when stdin is one)\n"
      "  -u, --user string      Run as this user\n"
      "  -w, --workdir string   Working directory inside the container\n"},
     cmd_compose_run},
    {{"compose start", NULL, NULL, "[SERVICE...]", "Start services", ""}, cmd_compose_start},
    {{"compose stop", NULL, NULL, "[OPTIONS] [SERVICE...]", "Stop services",
      "  -t, --timeout int   Specify a shutdown timeout in seconds\n"},
     cmd_compose_stop},
    {{"compose restart", NULL, NULL, "[OPTIONS] [SERVICE...]", "Restart service containers",
      "  -t, --timeout int   Specify a shutdown timeout in seconds\n"},
     cmd_compose_restart},
    {{"compose pause", NULL, NULL, "[SERVICE...]", "Pause services", ""}, cmd_compose_pause},
    {{"compose unpause", NULL, NULL, "[SERVICE...]", "Unpause services", ""}, cmd_compose_unpause},
    {{"compose kill", NULL, NULL, "[OPTIONS] [SERVICE...]", "Force stop service containers",
      "  -s, --signal string   SIGNAL to send to the container (default \"SIGKILL\")\n"},
     cmd_compose_kill},
    {{"compose rm", NULL, NULL, "[OPTIONS] [SERVICE...]", "Removes stopped service containers",
      "  -f, --force     Don't ask to confirm removal\n"
      "  -s, --stop      Stop the containers, if required, before removing\n"
      "  -v, --volumes   Remove any anonymous volumes attached to containers\n"},
     cmd_compose_rm},
    {{"compose pull", NULL, NULL, "[OPTIONS] [SERVICE...]", "Pull service images",
      "      --ignore-pull-failures   Pull what it can and ignores images with pull failures\n"
      "  -q, --quiet                  Pull without printing progress information\n"},
     cmd_compose_pull},
    {{"compose push", NULL, NULL, "[OPTIONS] [SERVICE...]", "Push service images",
      "      --ignore-push-failures   Push what it can and ignores images with push failures\n"
      "  -q, --quiet                  Push without printing progress information\n"},
     cmd_compose_push},
    {{"compose build", NULL, NULL, "[OPTIONS] [SERVICE...]", "Build or rebuild services",
      "      --no-cache   Do not use cache when building the image\n"
      "      --pull       Always attempt to pull a newer version of the image\n"
      "  -q, --quiet      Don't print anything to STDOUT\n"},
     cmd_compose_build},
    {{"compose images", NULL, NULL, "[OPTIONS] [SERVICE...]", "List images used by the created containers",
      "      --format string   table (default) or json\n"
      "  -q, --quiet           Only display IDs\n"},
     cmd_compose_images},
    {{"compose top", NULL, NULL, "[SERVICE...]", "Display the running processes", ""}, cmd_compose_top},
    {{"compose port", NULL, NULL, "[OPTIONS] SERVICE PRIVATE_PORT",
      "Print the public port for a port binding",
      "      --index int         Index of the container if the service has multiple replicas (default 1)\n"
      "      --protocol string   tcp or udp (default \"tcp\")\n"},
     cmd_compose_port},
    {{NULL, NULL, NULL, NULL, NULL, NULL}, NULL},
};
