/* cli/cmd_build.c — `servin build`: the command line over servin_build(), and its progress on a
 * terminal (highlighted steps) or as plain lines. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "servin/build.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

struct printer {
    bool tty, quiet;
    char *held; /* -q: the current step's output, shown only if the build fails */
    size_t held_len;
    bool line_open; /* the last output did not end in a newline */
    bool cached;    /* the step came from the cache: no time to show */
};

static void add_to(const char ***v, size_t *n, const char *s)
{
    *v = xreallocarray(*v, *n + 1, sizeof(char *));
    (*v)[(*n)++] = s;
}

static void progress(void *ctx, const struct servin_build_progress *p)
{
    struct printer *pr = ctx;
    if (p->event == SERVIN_BUILD_OUTPUT) {
        if (pr->quiet) {
            pr->held = xrealloc(pr->held, pr->held_len + p->len);
            memcpy(pr->held + pr->held_len, p->text, p->len);
            pr->held_len += p->len;
            return;
        }
        fwrite(p->text, 1, p->len, stdout);
        pr->line_open = p->len > 0 && p->text[p->len - 1] != '\n';
        fflush(stdout);
        return;
    }
    if (p->event == SERVIN_BUILD_STEP) {
        pr->held_len = 0;
        pr->cached = false;
    }
    if (p->event == SERVIN_BUILD_DONE && pr->cached)
        return;
    if (p->event == SERVIN_BUILD_CACHED)
        pr->cached = true;
    if (pr->quiet) {
        if (p->event == SERVIN_BUILD_WARNING)
            fprintf(stderr, "[Warning] %s\n", p->text);
        return;
    }
    if (pr->line_open) {
        putchar('\n');
        pr->line_open = false;
    }
    switch (p->event) {
    case SERVIN_BUILD_STEP:
        if (pr->tty)
            printf("\033[1;34mSTEP %d/%d\033[0m \033[2m[%s]\033[0m \033[1m%s\033[0m\n", p->step, p->n_steps,
                   p->stage, p->text);
        else
            printf("STEP %d/%d [%s]: %s\n", p->step, p->n_steps, p->stage, p->text);
        break;
    case SERVIN_BUILD_CACHED:
        printf(pr->tty ? "\033[36m--> Using cache\033[0m\n" : "--> Using cache\n");
        break;
    case SERVIN_BUILD_DONE:
        printf(pr->tty ? "\033[2m--> %.2fs\033[0m\n" : "--> %.2fs\n", p->seconds);
        break;
    case SERVIN_BUILD_WARNING:
        printf(pr->tty ? "\033[33m[Warning] %s\033[0m\n" : "[Warning] %s\n", p->text);
        break;
    default:
        printf("%s\n", p->text);
        break;
    }
    fflush(stdout);
}

static volatile int interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Ctrl-C stops the build between steps (a running step's container gets the signal too), and the
 * build then removes what it made instead of dying with a mounted overlay behind. */
static void catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int cmd_build(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"tag", required_argument, 0, 't'},
                                             {"file", required_argument, 0, 'f'},
                                             {"build-arg", required_argument, 0, 'A'},
                                             {"label", required_argument, 0, 'L'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"iidfile", required_argument, 0, 'I'},
                                             {"network", required_argument, 0, 'N'},
                                             {"secret", required_argument, 0, 'S'},
                                             {"target", required_argument, 0, 'T'},
                                             {"no-cache", no_argument, 0, 'C'},
                                             {"pull", no_argument, 0, 'P'},
                                             {"platform", required_argument, 0, 'p'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    struct servin_build_opts o = {.context_fd = -1};
    _cleanup_free_ const char **tags = NULL, **args = NULL, **labels = NULL, **secrets = NULL;
    const char *file = NULL, *iidfile = NULL;
    bool quiet = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "t:f:qh", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 't':
            add_to(&tags, &o.n_tags, optarg);
            break;
        case 'f':
            file = optarg;
            break;
        case 'A':
            add_to(&args, &o.n_build_args, optarg);
            break;
        case 'L':
            add_to(&labels, &o.n_labels, optarg);
            break;
        case 'q':
            quiet = true;
            break;
        case 'I':
            iidfile = optarg;
            break;
        case 'N':
            o.network = optarg;
            break;
        case 'S':
            add_to(&secrets, &o.n_secrets, optarg);
            break;
        case 'T':
            o.target = optarg;
            break;
        case 'C':
            o.no_cache = true;
            break;
        case 'P':
            o.pull = true;
            break;
        case 'p':
            o.platform = optarg;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(ctx, "\"%s\" requires exactly 1 argument.", ctx->cmd->path);
    if (o.network && strcmp(o.network, "none") != 0 && strcmp(o.network, "host") != 0 &&
        strcmp(o.network, "bridge") != 0 && strcmp(o.network, "default") != 0)
        return cli_failf("build: network mode \"%s\" is not supported: use none, host or bridge", o.network);
    const char *context = argv[optind];
    if (strcmp(context, "-") == 0)
        o.context_fd = STDIN_FILENO;
    else
        o.context_dir = context;
    /* -f is relative to where the command runs, as with Docker. */
    _cleanup_free_ char *file_abs = NULL;
    if (file) {
        file_abs = realpath(file, NULL);
        if (!file_abs)
            return cli_failf("build: the Buildfile %s: %s", file, strerror(errno));
    }
    o.file = file_abs;
    o.tags = tags;
    o.build_args = args;
    o.labels = labels;
    o.secrets = secrets;
    struct printer pr = {.tty = isatty(STDOUT_FILENO), .quiet = quiet};
    o.progress = progress;
    o.progress_ctx = &pr;
    o.cancel = &interrupted;
    catch_signals();

    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    char id[SERVIN_DIGEST_MAX];
    int code = 0;
    struct servin_error err = {0};
    int ret = servin_build(store, &o, id, &code, &err);
    if (ret < 0) {
        if (pr.line_open)
            putchar('\n');
        fflush(stdout);
        if (quiet && pr.held_len)
            fwrite(pr.held, 1, pr.held_len, stderr);
        free(pr.held);
        cli_fail(&err);
        return code ? code : CLI_EXIT_FAILURE;
    }
    free(pr.held);
    if (iidfile) {
        if (servin_write_file_atomic(iidfile, id, strlen(id), 0644, &err) < 0)
            return cli_fail(&err);
    }
    if (quiet)
        printf("%s\n", id);
    return 0;
}
