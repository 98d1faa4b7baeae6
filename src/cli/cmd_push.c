/* cli/cmd_push.c — `servin push`. */
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/image.h"
#include "servin/reference.h"
#include "servin/registry.h"

static int push_one(struct servin_store *store, const char *text, const struct servin_push_opts *opts,
                    bool quiet)
{
    struct servin_error err = {0};
    struct servin_push_result res = {0};
    if (servin_registry_push(store, text, opts, &res, &err) < 0)
        return cli_fail(&err);
    if (!quiet)
        printf("%s: digest: %s size: %llu\n", res.tag, res.manifest_digest,
               (unsigned long long)res.manifest_size);
    servin_push_result_free(&res);
    return 0;
}

/* Every local tag of a repository ("name:tag" normalised), for --all-tags. */
static int repo_tags(struct servin_store *store, const char *name, char ***out, struct servin_error *err)
{
    struct servin_image_summary *list = NULL;
    size_t n = 0;
    int ret = servin_image_list(store, &list, &n, err);
    if (ret < 0)
        return ret;
    size_t len = strlen(name), count = 0;
    char **tags = xcalloc(1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        for (char **t = list[i].tags; t && *t; t++)
            if (strncmp(*t, name, len) == 0 && (*t)[len] == ':') {
                tags = xreallocarray(tags, count + 2, sizeof(char *));
                tags[count++] = xstrdup(*t);
                tags[count] = NULL;
            }
    servin_image_summaries_free(list, n);
    *out = tags;
    return 0;
}

int cmd_push(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"all-tags", no_argument, 0, 'a'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool all = false, quiet = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "aqh", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'a':
            all = true;
            break;
        case 'q':
            quiet = true;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(ctx, "\"%s\" requires exactly 1 argument.", ctx->cmd->path);
    const char *text = argv[optind];

    struct servin_error err = {0};
    struct servin_ref ref = {0};
    if (servin_ref_parse_name(text, &ref, &err) < 0) {
        servin_error_wrap(&err, "push %s", text);
        return cli_fail(&err);
    }
    bool bare = !ref.tag && !ref.digest;
    _cleanup_free_ char *name = servin_ref_name(&ref);
    servin_ref_free(&ref);
    if (all && !bare)
        return cli_failf("push %s: tag can't be used with --all-tags/-a", text);

    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_progress *progress = quiet ? NULL : servin_progress_new(stdout, isatty(STDOUT_FILENO));
    struct servin_push_opts opts = {.progress = progress};
    int code = 0;
    if (all) {
        _cleanup_strv_ char **tags = NULL;
        if (repo_tags(store, name, &tags, &err) < 0)
            code = cli_fail(&err);
        else if (!tags[0])
            code = cli_failf("push %s: An image does not exist locally with the tag: %s", text, name);
        for (char **t = tags; code == 0 && t && *t; t++)
            code = push_one(store, *t, &opts, quiet);
        if (code == 0 && quiet)
            printf("%s\n", name);
    } else {
        if (bare && !quiet)
            printf("Using default tag: %s\n", SERVIN_DEFAULT_TAG);
        code = push_one(store, text, &opts, quiet);
        if (code == 0 && quiet)
            printf("%s:%s\n", name, bare ? SERVIN_DEFAULT_TAG : strrchr(text, ':') + 1);
    }
    servin_progress_free(progress);
    return code;
}
