/* cli/cmd_archive.c — placeholder until this group lands; every command here still fails clearly. */
#include "commands.h"

int cmd_image_save(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_image_load(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_image_import(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

