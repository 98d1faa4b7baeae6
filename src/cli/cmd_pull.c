/* cli/cmd_pull.c — placeholder until this group lands; every command here still fails clearly. */
#include "commands.h"

int cmd_pull(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_push(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_login(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

int cmd_logout(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_failf("%s: not implemented yet", ctx->cmd->path);
}

