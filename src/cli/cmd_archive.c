/* cli/cmd_archive.c — `servin save`, `servin load` and `servin import`. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "servin/archive.h"
#include "servin/cleanup.h"

/* cli_getopt, and at the end the operands (which it moved behind the options: "save busybox -o
 * x.tar" works, as in Docker) collected into *operands. */
static int getopt_anywhere(struct cli_ctx *ctx, int argc, char **argv, const char *optstring,
                           const struct option *longopts, char ***operands, size_t *n)
{
    int c = cli_getopt(ctx, argc, argv, optstring, longopts);
    if (c != -1)
        return c;
    for (; optind < argc; optind++) {
        *operands = xreallocarray(*operands, *n + 2, sizeof(char *));
        (*operands)[(*n)++] = argv[optind];
        (*operands)[*n] = NULL;
    }
    return -1;
}

int cmd_image_save(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"format", required_argument, 0, 'F'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    const char *output = NULL;
    enum servin_archive_format format = SERVIN_ARCHIVE_DOCKER;
    struct servin_error err = {0};
    _cleanup_free_ char **args = NULL;
    size_t n = 0;
    int c;
    while ((c = getopt_anywhere(ctx, argc, argv, "o:h", longopts, &args, &n)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'o')
            output = optarg;
        else if (c == 'F' && servin_archive_format_parse(optarg, &format, &err) < 0)
            return cli_fail(&err);
    }
    if (n == 0)
        return cli_usage_error(ctx, "\"%s\" requires at least 1 argument.", ctx->cmd->path);
    if (output && !*output)
        return cli_failf("save: the output file name is empty");
    if (!output && isatty(STDOUT_FILENO))
        return cli_failf("cowardly refusing to save to a terminal. Use the -o flag or redirect");

    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    const char *const *images = (const char *const *)args;
    int ret = output ? servin_archive_save_file(store, images, n, format, output, &err)
                     : servin_archive_save_fd(store, images, n, format, STDOUT_FILENO, &err);
    if (ret < 0) {
        servin_error_wrap(&err, "save");
        return cli_fail(&err);
    }
    return 0;
}

static void report_loaded(void *ctx, const char *tag, const char *id)
{
    if (*(bool *)ctx)
        return;
    if (tag)
        printf("Loaded image: %s\n", tag);
    else
        printf("Loaded image ID: %s\n", id);
}

int cmd_image_load(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"input", required_argument, 0, 'i'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    const char *input = NULL;
    bool quiet = false;
    _cleanup_free_ char **args = NULL;
    size_t n = 0;
    int c;
    while ((c = getopt_anywhere(ctx, argc, argv, "i:qh", longopts, &args, &n)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'i')
            input = optarg;
        else if (c == 'q')
            quiet = true;
    }
    if (n > 0)
        return cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    if (!input && isatty(STDIN_FILENO))
        return cli_failf("requested load from stdin, but stdin is empty");

    _cleanup_close_ int fd = -1;
    if (input) {
        fd = open(input, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_failf("load: open %s: %s", input, strerror(errno));
    }
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    if (servin_archive_load_fd(store, input ? fd : STDIN_FILENO, report_loaded, &quiet, &err) < 0) {
        servin_error_wrap(&err, "load");
        return cli_fail(&err);
    }
    return 0;
}

int cmd_image_import(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"change", required_argument, 0, 'c'},
                                             {"message", required_argument, 0, 'm'},
                                             {"platform", required_argument, 0, 'P'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    _cleanup_free_ const char **changes = NULL;
    struct servin_import_opts opts = {0};
    _cleanup_free_ char **args = NULL;
    size_t n = 0;
    int c;
    while ((c = getopt_anywhere(ctx, argc, argv, "c:m:h", longopts, &args, &n)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'c') {
            changes = xreallocarray(changes, opts.n_changes + 1, sizeof(char *));
            changes[opts.n_changes++] = optarg;
        } else if (c == 'm') {
            opts.message = optarg;
        } else if (c == 'P') {
            opts.platform = optarg;
        }
    }
    opts.changes = changes;
    if (n < 1 || n > 2)
        return cli_usage_error(ctx, "\"%s\" requires at least 1 and at most 2 arguments.", ctx->cmd->path);
    const char *source = args[0];
    opts.tag = n > 1 ? args[1] : NULL;
    bool is_url = strncmp(source, "http://", 7) == 0 || strncmp(source, "https://", 8) == 0;
    if (strcmp(source, "-") == 0 && isatty(STDIN_FILENO))
        return cli_failf("import: refusing to read a tarball from a terminal; pipe it in or name a file");

    _cleanup_close_ int fd = -1;
    if (!is_url && strcmp(source, "-") != 0) {
        fd = open(source, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_failf("import: open %s: %s", source, strerror(errno));
    }
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    char id[SERVIN_DIGEST_MAX];
    int ret = is_url ? servin_image_import_url(store, source, &opts, id, &err)
                     : servin_image_import_fd(store, fd >= 0 ? fd : STDIN_FILENO, &opts, id, &err);
    if (ret < 0) {
        servin_error_wrap(&err, "import");
        return cli_fail(&err);
    }
    printf("%s\n", id);
    return 0;
}
