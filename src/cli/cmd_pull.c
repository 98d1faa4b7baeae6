/* cli/cmd_pull.c — `servin pull`. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/reference.h"
#include "servin/registry.h"

static int pull_one(struct servin_store *store, const char *text, const struct servin_pull_opts *opts,
                    bool quiet, bool *newer)
{
    struct servin_error err = {0};
    struct servin_pull_result res = {0};
    if (servin_registry_pull(store, text, opts, &res, &err) < 0)
        return cli_fail(&err);
    if (!quiet)
        printf("Digest: %s\n", res.manifest_digest);
    if (!res.up_to_date)
        *newer = true;
    servin_pull_result_free(&res);
    return 0;
}

int cmd_pull(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"all-tags", no_argument, 0, 'a'},
                                             {"platform", required_argument, 0, 'P'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool all = false, quiet = false;
    const char *platform_text = NULL;
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
        case 'P':
            platform_text = optarg;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(ctx, "\"%s\" requires exactly 1 argument.", ctx->cmd->path);
    const char *text = argv[optind];

    struct servin_error err = {0};
    struct servin_platform platform;
    if (platform_text && servin_platform_parse(platform_text, &platform, &err) < 0)
        return cli_fail(&err);

    /* Check the name before touching the store, so bad input changes nothing. */
    struct servin_ref ref = {0};
    if (servin_ref_parse_name(text, &ref, &err) < 0) {
        servin_error_wrap(&err, "pull %s", text);
        return cli_fail(&err);
    }
    bool bare = !ref.tag && !ref.digest;
    _cleanup_free_ char *name = servin_ref_name(&ref);
    _cleanup_free_ char *familiar = servin_ref_familiar_name(&ref);
    servin_ref_free(&ref);
    if (all && !bare)
        return cli_failf("pull %s: tag can't be used with --all-tags/-a", text);

    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;

    struct servin_progress *progress = quiet ? NULL : servin_progress_new(stdout, isatty(STDOUT_FILENO));
    struct servin_pull_opts opts = {.platform = platform_text ? &platform : NULL, .progress = progress};
    int code = 0;
    bool newer = false;

    if (all) {
        _cleanup_strv_ char **tags = NULL;
        if (servin_registry_list_tags(text, NULL, &tags, &err) < 0) {
            servin_error_wrap(&err, "pull %s", text);
            code = cli_fail(&err);
            goto out;
        }
        if (!tags[0]) {
            code = cli_failf("pull %s: the repository has no tags", text);
            goto out;
        }
        for (char **t = tags; *t && code == 0; t++) {
            _cleanup_free_ char *one = xasprintf("%s:%s", name, *t);
            code = pull_one(store, one, &opts, quiet, &newer);
        }
        if (code == 0 && !quiet)
            printf("Status: %s for %s\n", newer ? "Downloaded newer image" : "Image is up to date", familiar);
        if (code == 0)
            printf("%s\n", name);
        goto out;
    }

    if (bare && !quiet)
        printf("Using default tag: %s\n", SERVIN_DEFAULT_TAG);
    struct servin_pull_result res = {0};
    if (servin_registry_pull(store, text, &opts, &res, &err) < 0) {
        code = cli_fail(&err);
        goto out;
    }
    if (!quiet) {
        printf("Digest: %s\n", res.manifest_digest);
        printf("Status: %s for %s\n", res.up_to_date ? "Image is up to date" : "Downloaded newer image",
               res.familiar);
    }
    printf("%s\n", res.reference);
    servin_pull_result_free(&res);
out:
    servin_progress_free(progress);
    return code;
}
