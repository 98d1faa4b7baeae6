/* cli/cmd_commit.c — `commit`: a new image from a container's changes; prints the new image's id. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/commit.h"

int cmd_commit(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"author", required_argument, 0, 'a'},  {"change", required_argument, 0, 'c'},
        {"message", required_argument, 0, 'm'}, {"pause", optional_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},          {0}};
    struct servin_commit_opts o = {.pause = true};
    _cleanup_free_ const char **changes = xcalloc((size_t)argc + 1, sizeof(char *));
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "a:c:m:ph", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'a':
            o.author = optarg;
            break;
        case 'c':
            changes[o.n_changes++] = optarg;
            break;
        case 'm':
            o.message = optarg;
            break;
        case 'p':
            /* Docker's bool flag: -p, --pause, --pause=true or --pause=false. */
            if (!optarg || strcmp(optarg, "true") == 0 || strcmp(optarg, "1") == 0)
                o.pause = true;
            else if (strcmp(optarg, "false") == 0 || strcmp(optarg, "0") == 0)
                o.pause = false;
            else
                return cli_usage_error(ctx, "invalid argument \"%s\" for \"--pause\": use true or false",
                                       optarg);
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind < 1 || argc - optind > 2)
        return cli_usage_error(ctx, "\"%s\" requires at least 1 and at most 2 arguments.", ctx->cmd->path);
    o.changes = changes;
    o.reference = argc - optind == 2 ? argv[optind + 1] : NULL;
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    struct servin_container ct = {0};
    if (servin_container_get(store, argv[optind], &ct, &err) < 0)
        return cli_fail(&err);
    char id[SERVIN_DIGEST_MAX];
    int code = 0;
    if (servin_container_commit(store, &ct, &o, id, &err) < 0)
        code = cli_fail(&err);
    else
        printf("%s\n", id);
    servin_container_clear(&ct);
    return code;
}
