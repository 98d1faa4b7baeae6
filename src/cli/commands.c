/* cli/commands.c — every command, its aliases and its help, in one table. */
#include "commands.h"

/* The flags `run` and `create` share (run_flags.c). */
#define RUN_OPTIONS_HELP                                                                                             \
    "      --cap-add list           Add Linux capabilities\n"                                                        \
    "      --cap-drop list          Drop Linux capabilities\n"                                                       \
    "  -c, --cpu-shares int         CPU shares (relative weight)\n"                                                  \
    "      --cpus decimal           Number of CPUs\n"                                                                \
    "      --entrypoint string      Overwrite the default ENTRYPOINT of the image\n"                                 \
    "  -e, --env list               Set environment variables\n"                                                     \
    "      --env-file list          Read in a file of environment variables\n"                                       \
    "  -h, --hostname string        Container host name\n"                                                           \
    "      --init                   Run an init inside the container that forwards signals and reaps processes\n"   \
    "  -i, --interactive            Keep STDIN open even if not attached\n"                                          \
    "  -l, --label list             Set meta data on a container\n"                                                  \
    "      --log-driver string      Logging driver: json-file (default) or none\n"                                   \
    "      --log-opt list           Log driver options (max-size=10m, max-file=3)\n"                                 \
    "  -m, --memory bytes           Memory limit\n"                                                                  \
    "      --memory-swap bytes      Memory plus swap limit; -1 for unlimited swap\n"                                 \
    "      --name string            Assign a name to the container\n"                                                \
    "      --add-host list          Add a custom host-to-IP mapping (host:ip)\n"                                    \
    "      --dns list               Set custom DNS servers\n"                                                       \
    "      --dns-option list        Set DNS options\n"                                                              \
    "      --dns-search list        Set custom DNS search domains\n"                                                \
    "      --expose list            Expose a port or a range of ports\n"                                            \
    "      --ip string              IPv4 address (e.g., 172.30.100.104)\n"                                          \
    "      --network string         Connect a container to a network: bridge, none, host, NAME, container:ID\n"     \
    "      --network-alias list     Add network-scoped alias for the container\n"                                   \
    "  -p, --publish list           Publish a container's port(s) to the host ([ip:][hostPort[-end]:]containerPort[-end][/proto])\n" \
    "  -P, --publish-all            Publish all exposed ports to random ports\n"                                    \
    "      --pids-limit int         Tune container pids limit (-1 for unlimited)\n"                                  \
    "      --privileged             Give extended privileges to this container\n"                                    \
    "      --pull string            Pull image before running (always, missing, never) (default \"missing\")\n"      \
    "      --read-only              Mount the container's root filesystem as read only\n"                            \
    "      --restart string         Restart policy: no, on-failure[:max-retries], always, unless-stopped\n"          \
    "      --security-opt list      Security options: no-new-privileges, seccomp=unconfined|PROFILE.json\n"         \
    "      --shm-size bytes         Size of /dev/shm\n"                                                              \
    "      --stop-signal string     Signal to stop the container (default SIGTERM)\n"                                \
    "      --stop-timeout int       Timeout (in seconds) to stop a container\n"                                      \
    "  -t, --tty                    Allocate a pseudo-TTY\n"                                                         \
    "      --ulimit ulimit          Ulimit options (nofile=1024:2048)\n"                                             \
    "  -u, --user string            Username or UID (format: <name|uid>[:<group|gid>])\n"                            \
    "  -v, --volume list            Bind mount a volume (NAME:/path, /host/path:/path, /path)[:ro|rw]\n"            \
    "      --mount mount            Attach a mount (type=volume|bind|tmpfs,source=,target=,readonly,...)\n"         \
    "      --tmpfs list             Mount a tmpfs directory (/path[:size=..,mode=..])\n"                            \
    "      --volumes-from list      Mount volumes from the specified container(s)[:ro|rw]\n"                        \
    "  -w, --workdir string         Working directory inside the container\n"

const struct cli_command cli_commands[] = {
    {"version", NULL, cmd_version, "[OPTIONS]", "Show the Servin version information",
     "  -f, --format string   Format the output: 'json' or a Go template\n"},
    {"system info", "info", cmd_system_info, "[OPTIONS]", "Display system-wide information",
     "  -f, --format string   Format the output: 'json' or a Go template\n"},
    {"config check", NULL, cmd_config_check, "[PATH]",
     "Validate a configuration file (default: the one servin would read)", ""},
    {"system restore", NULL, cmd_system_restore, "",
     "Mark containers lost by a reboot or a killed monitor as exited, release what they held (mounts, "
     "veths, firewall rules, leases, DNS entries), restart those whose restart policy is always or "
     "unless-stopped (not stopped by the user), remove exited --rm ones",
     ""},
    {"system prune", NULL, cmd_system_prune, "[OPTIONS]",
     "Remove unused data: stopped containers, unused networks, dangling images, build cache (and "
     "what containers that no longer run left of their mounts and networking)",
     "  -a, --all             Remove all unused images not just dangling ones\n"
     "      --filter filter   Provide filter values (until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE])\n"
     "  -f, --force           Do not prompt for confirmation\n"
     "      --volumes         Prune volumes not used by any container\n"},

    {"image pull", "pull|images pull", cmd_pull, "[OPTIONS] NAME[:TAG|@DIGEST]",
     "Download an image from a registry",
     "  -a, --all-tags        Download all tagged images in the repository\n"
     "      --platform string Set platform (os/arch[/variant]) if the image is multi-platform\n"
     "  -q, --quiet           Suppress verbose output\n"},
    {"image build", "build|builder build|images build", cmd_build, "[OPTIONS] PATH | -",
     "Build an image from a Buildfile (Dockerfile syntax)",
     "      --build-arg list    Set build-time variables (NAME=VALUE, or NAME from the environment)\n"
     "  -f, --file string       Name of the Buildfile (default: PATH/Buildfile, else PATH/Dockerfile)\n"
     "      --iidfile string    Write the image ID to the file\n"
     "      --label list        Set metadata for an image\n"
     "      --network string    Networking for the RUN instructions: none, host, bridge (default: bridge,\n"
     "                          the default network)\n"
     "      --no-cache          Do not use the cache when building the image\n"
     "      --platform string   Platform to build for (only the host's: RUN steps run natively)\n"
     "      --pull              Always attempt to pull a newer version of the base images\n"
     "  -q, --quiet             Suppress the build output and print the image ID on success\n"
     "      --secret list       Secret file to expose to RUN --mount=type=secret (id=ID,src=PATH)\n"
     "  -t, --tag list          Name and optionally a tag in the 'name:tag' format\n"
     "      --target string     Set the target build stage to build\n"},
    {"image push", "push|images push", cmd_push, "[OPTIONS] NAME[:TAG]",
     "Upload an image to a registry",
     "  -a, --all-tags        Push all tags of the repository\n"
     "  -q, --quiet           Suppress verbose output\n"},
    {"login", NULL, cmd_login, "[OPTIONS] [SERVER]", "Log in to a registry",
     "  -u, --username string  Username\n"
     "  -p, --password string  Password\n"
     "      --password-stdin   Take the password from stdin\n"},
    {"logout", NULL, cmd_logout, "[SERVER]", "Log out from a registry", ""},

    {"registry start", NULL, cmd_registry_start, "[OPTIONS]", "Run the built-in OCI registry server",
     "      --address string   Address to listen on (default \"127.0.0.1\")\n"
     "  -d, --detach           Run in the background\n"
     "      --htpasswd string  Require Basic auth against this htpasswd file (bcrypt entries)\n"
     "      --insecure-public  Allow a non-loopback address without both auth and TLS\n"
     "  -p, --port int         Port to listen on, 0 for any free one (default 5000)\n"
     "      --storage string   Directory for blobs and metadata (default: the store root, sharing its blobs)\n"
     "      --tls-cert string  TLS certificate (PEM)\n"
     "      --tls-key string   TLS private key (PEM)\n"},
    {"registry stop", NULL, cmd_registry_stop, "[OPTIONS]", "Stop a registry started with --detach",
     "  -p, --port int         Port of the registry to stop (default 5000)\n"},
    {"registry list", "registry ls", cmd_registry_list, "", "List registries: servers started here and logins, with their status", ""},
    {"registry gc", NULL, cmd_registry_gc, "[OPTIONS]", "Delete registry blobs no manifest references",
     "      --dry-run          Only show what would be deleted\n"
     "      --storage string   Registry storage directory (default: the store root)\n"},
    {"registry push", NULL, cmd_registry_push, "[OPTIONS] IMAGE [REGISTRY]",
     "Push a local image to a registry (default localhost:5000)",
     "  -q, --quiet           Suppress verbose output\n"},
    {"registry pull", NULL, cmd_registry_pull, "[OPTIONS] IMAGE [REGISTRY]",
     "Pull an image from a registry (default localhost:5000)",
     "  -q, --quiet           Suppress verbose output\n"},
    {"registry login", NULL, cmd_registry_login, "[OPTIONS] [SERVER]",
     "Log in to a registry (default localhost:5000; env SERVIN_REGISTRY_USER, SERVIN_REGISTRY_PASSWORD)",
     "  -u, --username string  Username\n"
     "  -p, --password string  Password\n"
     "      --password-stdin   Take the password from stdin\n"},
    {"registry logout", NULL, cmd_registry_logout, "[OPTIONS] [SERVER]", "Log out from a registry (default localhost:5000)",
     "      --all             Log out from every registry\n"},
    {"registry ping", NULL, cmd_registry_ping, "[SERVER]", "Check that a registry answers the v2 API (default localhost:5000)", ""},

    {"image ls", "images|image list|images ls|images list", cmd_images_ls, "[OPTIONS] [REPOSITORY[:TAG]]",
     "List images",
     "  -a, --all             Show all images (default hides intermediate images)\n"
     "      --digests         Show digests\n"
     "  -f, --filter filter   Filter output (dangling=true|false, reference=PATTERN)\n"
     "      --format string   Format output using a Go template, or 'json'\n"
     "      --no-trunc        Don't truncate output\n"
     "  -q, --quiet           Only show image IDs\n"},
    {"image inspect", "images inspect", cmd_image_inspect, "[OPTIONS] IMAGE [IMAGE...]",
     "Display detailed information on one or more images",
     "  -f, --format string   Format output using a Go template\n"},
    {"image history", "history|images history", cmd_image_history, "[OPTIONS] IMAGE",
     "Show the history of an image",
     "      --format string   Format output using a Go template, or 'json'\n"
     "  -H, --human           Print sizes and dates in human readable format (default true)\n"
     "      --no-trunc        Don't truncate output\n"
     "  -q, --quiet           Only show image IDs\n"},
    {"image tag", "tag|images tag", cmd_image_tag, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
     "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", ""},
    {"image rm", "rmi|image remove|images rm|images remove", cmd_image_rm, "[OPTIONS] IMAGE [IMAGE...]",
     "Remove one or more images",
     "  -f, --force           Force removal of the image\n"},
    {"image prune", "images prune", cmd_image_prune, "[OPTIONS]", "Remove unused images",
     "  -a, --all             Remove all unused images, not just dangling ones\n"
     "  -f, --force           Do not prompt for confirmation\n"},
    {"image save", "save|images save", cmd_image_save, "[OPTIONS] IMAGE [IMAGE...]",
     "Save one or more images to a tar archive (streamed to STDOUT by default)",
     "  -o, --output string   Write to a file, instead of STDOUT\n"
     "      --format string   Archive format: docker-archive (default) or oci-archive\n"},
    {"image load", "load|images load", cmd_image_load, "[OPTIONS]",
     "Load images from a tar archive or STDIN",
     "  -i, --input string    Read from tar archive file, instead of STDIN\n"
     "  -q, --quiet           Suppress the load output\n"},
    {"image import", "import|images import", cmd_image_import,
     "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create an image",
     "  -c, --change list     Apply Dockerfile instruction to the created image\n"
     "  -m, --message string  Set commit message for imported image\n"
     "      --platform string Set platform (os/arch)\n"},

    {"container run", "run", cmd_run, "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
     RUN_OPTIONS_HELP
     "  -d, --detach                 Run container in background and print container ID\n"
     "      --rm                     Automatically remove the container when it exits\n"},
    {"container create", "create", cmd_create, "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
     RUN_OPTIONS_HELP},
    {"container start", "start", cmd_start, "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers",
     "  -a, --attach          Attach STDOUT/STDERR and forward signals\n"
     "  -i, --interactive     Attach container's STDIN\n"},
    {"container stop", "stop|containers stop", cmd_stop, "[OPTIONS] CONTAINER [CONTAINER...]",
     "Stop one or more running containers",
     "  -t, --time int        Seconds to wait before killing the container (default StopTimeout or 10)\n"},
    {"container kill", "kill", cmd_kill, "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
     "  -s, --signal string   Signal to send to the container (default KILL)\n"},
    {"container restart", "restart", cmd_restart, "[OPTIONS] CONTAINER [CONTAINER...]",
     "Restart one or more containers",
     "  -t, --time int        Seconds to wait before killing the container\n"},
    {"container pause", "pause", cmd_pause, "CONTAINER [CONTAINER...]",
     "Pause all processes within one or more containers", ""},
    {"container unpause", "unpause", cmd_unpause, "CONTAINER [CONTAINER...]",
     "Unpause all processes within one or more containers", ""},
    {"container rm", "rm|container remove|containers rm", cmd_rm, "[OPTIONS] CONTAINER [CONTAINER...]",
     "Remove one or more containers",
     "  -f, --force           Force the removal of a running container (uses SIGKILL)\n"
     "  -v, --volumes         Remove anonymous volumes associated with the container\n"},
    {"container rename", "rename", cmd_rename, "CONTAINER NEW_NAME", "Rename a container", ""},
    {"container update", "update", cmd_update, "[OPTIONS] CONTAINER [CONTAINER...]",
     "Update configuration of one or more containers",
     "      --cpu-period int       Limit CPU CFS (Completely Fair Scheduler) period\n"
     "      --cpu-quota int        Limit CPU CFS (Completely Fair Scheduler) quota\n"
     "  -c, --cpu-shares int       CPU shares (relative weight)\n"
     "      --cpus decimal         Number of CPUs\n"
     "      --cpuset-cpus string   CPUs in which to allow execution (0-3, 0,1)\n"
     "  -m, --memory bytes         Memory limit\n"
     "      --memory-swap bytes    Swap limit equal to memory plus swap: -1 to enable unlimited swap\n"
     "      --pids-limit int       Tune container pids limit (set -1 for unlimited)\n"
     "      --restart string       Restart policy to apply when a container exits\n"},
    {"container wait", "wait", cmd_wait, "CONTAINER [CONTAINER...]",
     "Block until one or more containers stop, then print their exit codes", ""},
    {"container prune", NULL, cmd_container_prune, "[OPTIONS]", "Remove all stopped containers",
     "  -f, --force           Do not prompt for confirmation\n"},
    {"container ls", "ps|container ps|container list|containers ls|containers list|containers ps", cmd_ps,
     "[OPTIONS]", "List containers",
     "  -a, --all             Show all containers (default shows just running)\n"
     "  -f, --filter filter   Filter output (status=, name=, id=, label=, exited=, ancestor=)\n"
     "      --format string   Format output using a Go template, or 'json'\n"
     "  -n, --last int        Show n last created containers (includes all states)\n"
     "  -l, --latest          Show the latest created container (includes all states)\n"
     "      --no-trunc        Don't truncate output\n"
     "  -q, --quiet           Only display container IDs\n"},
    {"container inspect", "inspect|containers inspect", cmd_container_inspect, "[OPTIONS] NAME|ID [NAME|ID...]",
     "Display detailed information on one or more containers (or images)",
     "  -f, --format string   Format output using a Go template\n"
     "      --type string     Only inspect objects of the given type (container or image)\n"},
    {"container logs", "logs|containers logs", cmd_logs, "[OPTIONS] CONTAINER", "Fetch the logs of a container",
     "  -f, --follow          Follow log output\n"
     "      --since string    Show logs since timestamp (2013-01-02T13:23:37Z) or relative (42m)\n"
     "  -n, --tail string     Number of lines to show from the end of the logs (default \"all\")\n"
     "  -t, --timestamps      Show timestamps\n"
     "      --until string    Show logs before a timestamp or relative time\n"
     "      --details         Show extra details provided to logs\n"},
    {"container exec", "exec|containers exec", cmd_exec, "[OPTIONS] CONTAINER COMMAND [ARG...]",
     "Execute a command in a running container",
     "  -d, --detach          Detached mode: run command in the background\n"
     "  -e, --env list        Set environment variables\n"
     "  -i, --interactive     Keep STDIN open even if not attached\n"
     "      --privileged      Give extended privileges to the command\n"
     "  -t, --tty             Allocate a pseudo-TTY\n"
     "  -u, --user string     Username or UID (format: \"<name|uid>[:<group|gid>]\")\n"
     "  -w, --workdir string  Working directory inside the container\n"},
    {"container attach", "attach", cmd_attach, "[OPTIONS] CONTAINER",
     "Attach local standard input, output, and error streams to a running container",
     "      --no-stdin        Do not attach STDIN\n"
     "      --sig-proxy       Proxy all received signals to the process (default true)\n"},
    {"container top", "top", cmd_top, "CONTAINER", "Display the running processes of a container", ""},
    {"container stats", "stats|containers stats", cmd_stats, "[OPTIONS] [CONTAINER...]",
     "Display a live stream of container(s) resource usage statistics",
     "  -a, --all             Show all containers (default shows just running)\n"
     "      --format string   Format output using a Go template, 'table' or 'json'\n"
     "      --no-stream       Disable streaming stats and only pull the first result\n"
     "      --no-trunc        Do not truncate output\n"},
    {"container cp", "cp", cmd_cp, "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tservin cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
     "Copy files/folders between a container and the local filesystem",
     "  -a, --archive         Archive mode (copy all uid/gid information)\n"
     "  -L, --follow-link     Always follow symbol link in SRC_PATH\n"
     "  -q, --quiet           Suppress progress output (there is none)\n"},
    {"container commit", "commit", cmd_commit, "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
     "Create a new image from a container's changes",
     "  -a, --author string   Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")\n"
     "  -c, --change list     Apply Dockerfile instruction to the created image\n"
     "  -m, --message string  Commit message\n"
     "  -p, --pause           Pause container during commit (default true; --pause=false to not)\n"},
    {"container diff", "diff", cmd_container_diff, "CONTAINER",
     "Inspect changes to files or directories on a container's filesystem", ""},
    {"container export", "export", cmd_container_export, "[OPTIONS] CONTAINER",
     "Export a container's filesystem as a tar archive",
     "  -o, --output string   Write to a file, instead of STDOUT\n"},
    {"container cleanup", NULL, cmd_container_cleanup, "[--rm] CONTAINER",
     "(internal) Record a container's exit and release its rootfs; run by its monitor", ""},

    {"compose", NULL, cmd_compose, "[OPTIONS] COMMAND",
     "Define and run multi-container applications from compose files",
     "      --env-file list             Specify an alternate environment file\n"
     "  -f, --file list                 Compose configuration files\n"
     "      --profile list              Specify a profile to enable\n"
     "      --project-directory string  Specify an alternate working directory (default: the first file's)\n"
     "  -p, --project-name string       Project name\n"},
    {"daemon", NULL, cmd_daemon, "[OPTIONS]", "Serve the Docker Engine API (docker CLI, docker-compose, SDKs)",
     "  -H, --host string      Listen on unix:///path (default unix:///run/servin/servin.sock) or\n"
     "                         tcp://127.0.0.1:PORT (loopback only, with --tlsverify)\n"
     "      --tlsverify        Require client certificates signed by --tlscacert\n"
     "      --tlscacert string CA that signs the clients' certificates\n"
     "      --tlscert string   The daemon's certificate\n"
     "      --tlskey string    The daemon's key\n"
     "      --cri-socket path  Serve the Kubernetes CRI (gRPC, and JSON under /v1/) on this unix socket\n"
     "                         (default: cri.socket_path, else <state dir>/cri.sock, i.e.\n"
     "                         /run/servin/cri.sock; \"none\" to turn it off)\n"
     "      --cri-port int     Serve the CRI on 127.0.0.1:PORT too (development only)\n"
     "      --cni-conf-dir dir Pod networks: the first *.conflist/*.conf here (default /etc/cni/net.d)\n"
     "      --cni-bin-dir dir  CNI plugins, ':'-separated directories (default /usr/lib/cni)\n"},

    {"cri status", NULL, cmd_cri_status, "[OPTIONS]", "Show the CRI runtime's version and status (over gRPC)",
     "      --cri-socket path  The CRI socket (default: as `servin daemon` picks it)\n"
     "  -f, --format json      Print the Version and Status replies as JSON\n"},
    {"cri test", NULL, cmd_cri_test, "[OPTIONS]", "Check the CRI server: version, status, images, pods, health",
     "      --cri-socket path  The CRI socket (default: as `servin daemon` picks it)\n"},

    {"volume create", "volumes create", cmd_volume_create, "[OPTIONS] [VOLUME]", "Create a volume",
     "  -d, --driver string   Volume driver name (default \"local\")\n"
     "      --label list      Set metadata for a volume\n"
     "  -o, --opt map         Driver options: type=tmpfs|none, device=/host/path, o=size=64m|bind\n"},
    {"volume ls", "volumes|volume list|volumes ls|volumes list", cmd_volume_ls, "[OPTIONS]", "List volumes",
     "  -f, --filter filter   Filter output (dangling=true|false, label=KEY[=VALUE], name=, driver=)\n"
     "      --format string   Format output using a Go template, or 'json'\n"
     "  -q, --quiet           Only display volume names\n"},
    {"volume inspect", "volumes inspect", cmd_volume_inspect, "[OPTIONS] VOLUME [VOLUME...]",
     "Display detailed information on one or more volumes",
     "  -f, --format string   Format output using a Go template\n"},
    {"volume rm", "volume remove|volumes rm|volumes remove", cmd_volume_rm, "[OPTIONS] VOLUME [VOLUME...]",
     "Remove one or more volumes (never one a container uses)",
     "  -f, --force           Do not fail on volumes that do not exist\n"},
    {"volume prune", "volumes prune", cmd_volume_prune, "[OPTIONS]",
     "Remove all volumes not used by any container",
     "  -f, --force           Do not prompt for confirmation\n"
     "      --filter filter   Only volumes with these labels (label=KEY[=VALUE])\n"},
    {"volume rm-all", "volumes rm-all", cmd_volume_rm_all, "[OPTIONS]",
     "Remove every volume; the ones in use are refused and reported",
     "  -f, --force           Do not prompt for confirmation\n"},

    {"port", "container port", cmd_port, "CONTAINER [PRIVATE_PORT[/PROTO]]",
     "List port mappings or a specific mapping for the container", ""},

    {"network create", "networks create", cmd_network_create, "[OPTIONS] NETWORK", "Create a network",
     "  -d, --driver string   Driver to manage the Network (default \"bridge\")\n"
     "      --gateway string  IPv4 Gateway for the master subnet\n"
     "      --internal        Restrict external access to the network\n"
     "      --ip-range string Allocate container ip from a sub-range\n"
     "      --label list      Set metadata on a network\n"
     "      --subnet string   Subnet in CIDR format that represents a network segment\n"},
    {"network ls", "network list|networks ls|networks list|networks", cmd_network_ls, "[OPTIONS]", "List networks",
     "  -f, --filter filter   Provide filter values (name=, id=, driver=, label=, type=custom|builtin)\n"
     "      --format string   Pretty-print networks using a Go template, or 'json'\n"
     "      --no-trunc        Do not truncate the output\n"
     "  -q, --quiet           Only display network IDs\n"},
    {"network inspect", "networks inspect", cmd_network_inspect, "[OPTIONS] NETWORK [NETWORK...]",
     "Display detailed information on one or more networks",
     "  -f, --format string   Format the output using the given Go template\n"},
    {"network rm", "network remove|networks rm", cmd_network_rm, "NETWORK [NETWORK...]", "Remove one or more networks",
     "  -f, --force           Do not error if the network does not exist\n"},
    {"network prune", "networks prune", cmd_network_prune, "[OPTIONS]",
     "Remove all unused networks (and what stopped containers left of their networking)",
     "      --filter filter   Provide filter values (until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE])\n"
     "  -f, --force           Do not prompt for confirmation\n"},
    {"network connect", "networks connect", cmd_network_connect, "[OPTIONS] NETWORK CONTAINER",
     "Connect a container to a network",
     "      --alias strings   Add network-scoped alias for the container\n"
     "      --ip string       IPv4 address (e.g., 172.30.100.104)\n"},
    {"network disconnect", "networks disconnect", cmd_network_disconnect, "[OPTIONS] NETWORK CONTAINER",
     "Disconnect a container from a network", "  -f, --force           Force the container to disconnect\n"},

    {"oci", NULL, cmd_oci, "[--root DIR] COMMAND", "Run OCI bundles with runc's command line (see 'servin oci --help')",
     ""},
};

const size_t cli_commands_count = sizeof(cli_commands) / sizeof(cli_commands[0]);
