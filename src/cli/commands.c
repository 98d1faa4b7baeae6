/* cli/commands.c — every command, its aliases and its help, in one table. */
#include "commands.h"

const struct cli_command cli_commands[] = {
    {"version", NULL, cmd_version, "[OPTIONS]", "Show the Servin version information",
     "  -f, --format string   Format the output: 'json' or a Go template\n"},
    {"system info", "info", cmd_system_info, "[OPTIONS]", "Display system-wide information",
     "  -f, --format string   Format the output: 'json' or a Go template\n"},

    {"image pull", "pull|images pull", cmd_pull, "[OPTIONS] NAME[:TAG|@DIGEST]",
     "Download an image from a registry",
     "  -a, --all-tags        Download all tagged images in the repository\n"
     "      --platform string Set platform (os/arch[/variant]) if the image is multi-platform\n"
     "  -q, --quiet           Suppress verbose output\n"},
    {"image push", "push|images push", cmd_push, "[OPTIONS] NAME[:TAG]",
     "Upload an image to a registry",
     "  -a, --all-tags        Push all tags of the repository\n"
     "  -q, --quiet           Suppress verbose output\n"},
    {"login", NULL, cmd_login, "[OPTIONS] [SERVER]", "Log in to a registry",
     "  -u, --username string  Username\n"
     "  -p, --password string  Password\n"
     "      --password-stdin   Take the password from stdin\n"},
    {"logout", NULL, cmd_logout, "[SERVER]", "Log out from a registry", ""},

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

    {"oci", NULL, cmd_oci, "[--root DIR] COMMAND", "Run OCI bundles with runc's command line (see 'servin oci --help')",
     ""},
};

const size_t cli_commands_count = sizeof(cli_commands) / sizeof(cli_commands[0]);
