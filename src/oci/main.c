/* oci/main.c — servin-runtime: the OCI runtime alone, with runc's command line.
 *
 * Tools that drive runc (containerd, podman, CRI-O, conmon) can use it as their runtime binary, and
 * `servin oci ...` hands over to it. It links only what the runtime needs, so it starts in a
 * fraction of the time of the full `servin` binary, which loads the registry and archive libraries. */
#include <stdlib.h>

#include "commands.h"
#include "servin/log.h"

int main(int argc, char **argv)
{
    struct cli_ctx ctx = {.argc = argc, .argv = argv};
    const char *env_level = getenv("SERVIN_LOG_LEVEL");
    int level = env_level ? servin_log_level_parse(env_level) : -1;
    if (level >= 0)
        servin_log_set_level((enum servin_log_level)level);
    static const struct cli_command oci = {"oci", NULL, cmd_oci, "[--root DIR] COMMAND", "OCI runtime", ""};
    ctx.cmd = &oci;
    int code = cmd_oci(&ctx, argc, argv);
    servin_log_close();
    return code;
}
