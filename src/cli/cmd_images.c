/* cli/cmd_images.c — placeholder until this group lands; every command here still fails clearly. */
#include "commands.h"

int cmd_images_ls(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_image_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_image_history(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_image_tag(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_image_rm(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_image_prune(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

