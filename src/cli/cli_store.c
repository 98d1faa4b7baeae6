/* cli/cli_store.c — opening the store once per command; apart so the runtime binary needs no SQLite. */
#include "cli.h"

struct servin_store *cli_store(struct cli_ctx *ctx)
{
    if (ctx->store)
        return ctx->store;
    struct servin_error err = {0};
    if (servin_store_open_at(ctx->root, ctx->state_dir, &ctx->store, &err) < 0) {
        cli_fail(&err);
        return NULL;
    }
    return ctx->store;
}
