/* cli/cmd_config.c — `servin config check [PATH]`: validate a configuration file without using it. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "servin/cleanup.h"
#include "servin/config.h"

int cmd_config_check(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        return CLI_EXIT_USAGE;
    }
    if (argc - optind > 1)
        return cli_usage_error(ctx, "\"config check\" accepts at most one argument");

    _cleanup_free_ char *path = optind < argc ? xstrdup(argv[optind]) : servin_config_default_path();
    struct servin_config *cfg = NULL;
    struct servin_error err = {0};
    if (servin_config_check_file(path, &cfg, &err) < 0)
        return cli_fail(&err);
    printf("%s: valid\n", path);
    servin_config_unref(cfg);
    return 0;
}
