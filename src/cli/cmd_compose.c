/* cli/cmd_compose.c — `servin compose [OPTIONS] COMMAND`: the global options parsed once into the
 * load options, then the subcommand of compose_commands.c. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "compose_cli.h"
#include "servin/cleanup.h"

static char **add(char **v, const char *s)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    v = xreallocarray(v, n + 2, sizeof(*v));
    v[n] = xstrdup(s);
    v[n + 1] = NULL;
    return v;
}

/* After the help cli_getopt prints from the command table: the subcommands. */
static void print_commands(FILE *out)
{
    fputs("\nCommands:\n", out);
    for (const struct compose_command *c = compose_commands; c->cmd.path; c++)
        fprintf(out, "  %-12s %s\n", c->cmd.path + strlen("compose "), c->cmd.summary);
    fputs("\nRun 'servin compose COMMAND --help' for more information on a command.\n", out);
}

static void warn_stderr(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "warning: %s\n", msg);
}

static struct servin_compose_project *load(struct compose_cli *cc, bool all_profiles)
{
    if (cc->project && cc->opts.all_profiles == all_profiles)
        return cc->project;
    servin_compose_project_free(cc->project);
    cc->project = NULL;
    cc->opts.all_profiles = all_profiles;
    struct servin_error err = {0};
    if (servin_compose_load(&cc->opts, &cc->project, &err) < 0) {
        cli_fail(&err);
        return NULL;
    }
    return cc->project;
}

struct servin_compose_project *compose_cli_project(struct compose_cli *cc)
{
    return load(cc, false);
}

struct servin_compose_project *compose_cli_project_all_profiles(struct compose_cli *cc)
{
    return load(cc, true);
}

static const struct compose_command *find(const char *name)
{
    for (const struct compose_command *c = compose_commands; c->cmd.path; c++) {
        if (strcmp(c->cmd.path + strlen("compose "), name) == 0)
            return c;
        for (const char *a = c->cmd.aliases; a && *a;) {
            const char *bar = strchr(a, '|');
            size_t len = bar ? (size_t)(bar - a) : strlen(a);
            const char *word = a + strlen("compose ");
            if (len > strlen("compose ") && strlen(name) == len - strlen("compose ") &&
                strncmp(word, name, strlen(name)) == 0)
                return c;
            a += len + (bar ? 1 : 0);
        }
    }
    return NULL;
}

int cmd_compose(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"file", required_argument, 0, 'f'},
                                             {"project-name", required_argument, 0, 'p'},
                                             {"project-directory", required_argument, 0, 'd'},
                                             {"env-file", required_argument, 0, 'e'},
                                             {"profile", required_argument, 0, 'P'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    struct compose_cli cc = {.ctx = ctx, .opts = {.warn = warn_stderr}};
    int code = CLI_EXIT_OK, c;
    while ((c = cli_getopt(ctx, argc, argv, "f:p:h", longopts)) != -1) {
        switch (c) {
        case 'f':
            cc.files = add(cc.files, optarg);
            break;
        case 'p':
            cc.opts.project_name = optarg;
            break;
        case 'd':
            cc.opts.project_dir = optarg;
            break;
        case 'e':
            cc.env_files = add(cc.env_files, optarg);
            break;
        case 'P':
            cc.profiles = add(cc.profiles, optarg);
            break;
        case 'h':
            print_commands(stdout);
            code = CLI_EXIT_OK;
            goto out;
        default:
            code = CLI_EXIT_USAGE;
            goto out;
        }
    }
    if (optind >= argc) {
        cli_print_help(ctx->cmd, stdout);
        print_commands(stdout);
        goto out;
    }
    const struct compose_command *sub = find(argv[optind]);
    if (!sub) {
        fprintf(stderr, "servin: unknown compose command \"%s\"\nSee 'servin compose --help'.\n",
                argv[optind]);
        code = CLI_EXIT_USAGE;
        goto out;
    }
    cc.opts.files = cc.files;
    cc.opts.env_files = cc.env_files;
    cc.opts.profiles = cc.profiles;
    ctx->cmd = &sub->cmd;
    int sargc = argc - optind;
    char **sargv = argv + optind;
    optind = 0;
    code = sub->run(&cc, sargc, sargv);
out:
    servin_compose_project_free(cc.project);
    strv_free(cc.files);
    strv_free(cc.env_files);
    strv_free(cc.profiles);
    return code;
}
