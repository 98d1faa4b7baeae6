/* cli/main.c — global flags, then dispatch to the command named by the leading words. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/log.h"

static const char global_help[] =
    "Usage:  servin [OPTIONS] COMMAND\n\n"
    "A daemonless container engine.\n\n"
    "Global options:\n"
    "      --root string        Storage root (default $SERVIN_ROOT or /var/lib/servin)\n"
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
                                            {"container", "container"}, {"containers", "container"}};
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (strcmp(word, groups[i][0]) == 0)
            return groups[i][1];
    return NULL;
}

static int set_log_level(const char *name)
{
    int level = servin_log_level_parse(name);
    if (level < 0)
        return cli_failf("invalid log level %s: use debug, info, warn, error or fatal", name);
    servin_log_set_level((enum servin_log_level)level);
    return 0;
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx = {.root = getenv("SERVIN_ROOT"), .argc = argc, .argv = argv};
    const char *env_level = getenv("SERVIN_LOG_LEVEL");
    if (env_level && *env_level && set_log_level(env_level) != 0)
        return CLI_EXIT_USAGE;

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *value = NULL;
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
#define IS(flag) (name_len == strlen(flag) && strncmp(a, flag, name_len) == 0)
        if (IS("--root") || IS("--log-level") || IS("--log-file")) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return cli_failf("flag needs an argument: %.*s", (int)name_len, a);
            if (IS("--root"))
                ctx.root = value;
            else if (IS("--log-level")) {
                if (set_log_level(value) != 0)
                    return CLI_EXIT_USAGE;
            } else if (servin_log_set_file(value) < 0)
                return cli_failf("open log file %s: %s", value, strerror(errno));
        } else if (IS("--verbose") || IS("-D") || IS("--debug")) {
            servin_log_set_level(SERVIN_LOG_DEBUG);
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
    if (i >= argc) {
        fputs(global_help, stdout);
        print_group(NULL, stdout);
        return 0;
    }

    int rest = argc - i;
    char **words = argv + i;
    const struct cli_command *best = NULL;
    int best_n = 0;
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
    log_debug("command \"%s\" (root %s)", best->path, ctx.root ? ctx.root : "default");
    /* The command sees argv[0] = its name and then only its own arguments. */
    int cargc = rest - best_n + 1;
    char **cargv = words + best_n - 1;
    optind = 0;
    servin_container_init_hooks(); /* rmi must refuse images that containers use */
    int code = best->run(&ctx, cargc, cargv);
    if (ctx.store)
        servin_store_close(ctx.store);
    servin_log_close();
    return code;
}
