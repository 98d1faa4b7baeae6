/* cli/main.c — global flags, then dispatch to the command named by the leading words. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/container.h"
#include "servin/log.h"

static const char global_help[] =
    "Usage:  servin [OPTIONS] COMMAND\n\n"
    "A daemonless container engine.\n\n"
    "Global options:\n"
    "      --config string      Configuration file (default /etc/servin/config.yaml)\n"
    "      --root string        Storage root (default $SERVIN_ROOT, runtime.data_dir or /var/lib/servin)\n"
    "      --state-dir string   Run state directory (default $SERVIN_STATE_DIR or /run/servin)\n"
    "      --log-level string   Log level: debug, info, warn, error, fatal (default $SERVIN_LOG_LEVEL or warn)\n"
    "      --log-file string    Also append log messages to this file\n"
    "      --verbose            Same as --log-level debug\n"
    "  -h, --help               Print usage\n"
    "  -v, --version            Print version information and quit\n\n"
    "Commands:\n";

/* Does `words` (argv, n words) start with the space-separated path? Returns the words matched. */
static int match_path(const char *path, size_t path_len, int argc, char **argv)
{
    int used = 0;
    const char *p = path, *end = path + path_len;
    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        size_t wl = sp ? (size_t)(sp - p) : (size_t)(end - p);
        if (used >= argc || strlen(argv[used]) != wl || strncmp(argv[used], p, wl) != 0)
            return 0;
        used++;
        p += wl + (sp ? 1 : 0);
    }
    return used;
}

static int match_command(const struct cli_command *cmd, int argc, char **argv)
{
    int best = match_path(cmd->path, strlen(cmd->path), argc, argv);
    for (const char *a = cmd->aliases; a && *a;) {
        const char *bar = strchr(a, '|');
        size_t len = bar ? (size_t)(bar - a) : strlen(a);
        int n = match_path(a, len, argc, argv);
        if (n > best)
            best = n;
        a += len + (bar ? 1 : 0);
    }
    return best;
}

static void print_group(const char *group, FILE *out)
{
    size_t gl = group ? strlen(group) : 0;
    for (size_t i = 0; i < cli_commands_count; i++) {
        const struct cli_command *c = &cli_commands[i];
        if (group && (strncmp(c->path, group, gl) != 0 || c->path[gl] != ' '))
            continue;
        fprintf(out, "  %-16s %s\n", group ? c->path + gl + 1 : c->path, c->summary);
    }
}

/* "image", "images", "system": the first word of some command path or alias. */
static const char *group_of(const char *word)
{
    static const char *const groups[][2] = {{"image", "image"}, {"images", "image"}, {"system", "system"},
                                            {"container", "container"}, {"containers", "container"},
                                            {"config", "config"}};
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (strcmp(word, groups[i][0]) == 0)
            return groups[i][1];
    return NULL;
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx = {.argc = argc, .argv = argv};
    struct servin_config_flags flags = {0};
    const char *log_file = NULL;

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *value = NULL;
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
#define IS(flag) (name_len == strlen(flag) && strncmp(a, flag, name_len) == 0)
        if (IS("--root") || IS("--log-level") || IS("--log-file") || IS("--config") || IS("--state-dir")) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return cli_failf("flag needs an argument: %.*s", (int)name_len, a);
            if (IS("--root"))
                flags.data_dir = value;
            else if (IS("--log-level"))
                flags.log_level = value;
            else if (IS("--config"))
                flags.config_path = value;
            else if (IS("--state-dir"))
                flags.state_dir = value;
            else
                log_file = value;
        } else if (IS("--verbose") || IS("-D") || IS("--debug")) {
            flags.log_level = "debug";
        } else if (IS("--help") || IS("-h")) {
            fputs(global_help, stdout);
            print_group(NULL, stdout);
            return 0;
        } else if (IS("--version") || IS("-v")) {
            printf("Servin version %s\n", SERVIN_VERSION);
            return 0;
        } else {
            return cli_failf("unknown flag: %s\nSee 'servin --help'.", a);
        }
#undef IS
    }
    if (log_file && servin_log_set_file(log_file) < 0)
        return cli_failf("open log file %s: %s", log_file, strerror(errno));
    if (i >= argc) {
        fputs(global_help, stdout);
        print_group(NULL, stdout);
        return 0;
    }

    int rest = argc - i;
    char **words = argv + i;
    const struct cli_command *best = NULL;
    int best_n = 0;
    char *state_dir = NULL;
    for (size_t c = 0; c < cli_commands_count; c++) {
        int n = match_command(&cli_commands[c], rest, words);
        if (n > best_n) {
            best_n = n;
            best = &cli_commands[c];
        }
    }
    const char *group = group_of(words[0]);
    if (!best && group) {
        /* "servin image" or "servin image bogus": list what the group offers. */
        bool asked_help = rest == 1 || strcmp(words[1], "--help") == 0 || strcmp(words[1], "-h") == 0;
        FILE *out = asked_help ? stdout : stderr;
        if (!asked_help)
            fprintf(stderr, "servin: unknown command \"%s %s\"\n", words[0], words[1]);
        fprintf(out, "Usage:  servin %s COMMAND\n\nCommands:\n", group);
        print_group(group, out);
        return asked_help ? 0 : CLI_EXIT_USAGE;
    }
    if (!best)
        return cli_failf("unknown command \"%s\"\nSee 'servin --help'.", words[0]);

    ctx.cmd = best;
    /* `config check` judges a file without standing on it; everything else runs with it. */
    if (strcmp(best->path, "config check") != 0) {
        struct servin_error err = {0};
        if (servin_config_load(&flags, &ctx.config, &err) < 0)
            return cli_fail(&err);
        servin_config_set_current(ctx.config);
        ctx.root = ctx.config->runtime.data_dir;
        state_dir = servin_config_state_dir(ctx.config);
        ctx.state_dir = state_dir;
        /* What we re-execute (monitors, their on-exit cleanup) must see the same configuration. */
        if (flags.config_path)
            setenv("SERVIN_CONFIG", ctx.config->path, 1);
        if (flags.state_dir)
            setenv("SERVIN_STATE_DIR", ctx.state_dir, 1);
    }
    log_debug("command \"%s\" (root %s)", best->path, ctx.root ? ctx.root : "default");
    /* The command sees argv[0] = its name and then only its own arguments. */
    int cargc = rest - best_n + 1;
    char **cargv = words + best_n - 1;
    optind = 0;
    servin_container_init_hooks(); /* rmi must refuse images that containers use */
    int code = best->run(&ctx, cargc, cargv);
    if (ctx.store)
        servin_store_close(ctx.store);
    servin_config_set_current(NULL);
    servin_config_unref(ctx.config);
    free(state_dir);
    servin_log_close();
    return code;
}
