/* cli/cmd_compose_up.c — `compose up` and `compose down`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_compose_ops.h"
#include "servin/cleanup.h"
#include "servin/timefmt.h"

enum {
    OPT_BUILD = 256,
    OPT_NO_BUILD,
    OPT_FORCE_RECREATE,
    OPT_NO_RECREATE,
    OPT_NO_DEPS,
    OPT_REMOVE_ORPHANS,
    OPT_SCALE,
    OPT_WAIT,
    OPT_WAIT_TIMEOUT,
    OPT_ABORT,
    OPT_NO_START,
    OPT_NO_COLOR,
    OPT_NO_LOG_PREFIX,
    OPT_QUIET_PULL,
    OPT_TIMESTAMPS,
    OPT_RMI,
    OPT_VOLUMES,
};

static int parse_timeout(struct cli_ctx *ctx, const char *text, long *out)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < 0)
        return cli_usage_error(ctx, "invalid argument \"%s\" for \"-t, --timeout\" flag: expected seconds",
                               text);
    *out = v;
    return 0;
}

static int parse_scale(struct cli_ctx *ctx, const char *text, struct servin_compose_scale *out)
{
    const char *eq = strchr(text, '=');
    char *end = NULL;
    long v = eq ? strtol(eq + 1, &end, 10) : -1;
    if (!eq || eq == text || end == eq + 1 || *end || v < 0 || v > 10000)
        return cli_usage_error(ctx, "invalid argument \"%s\" for \"--scale\" flag: expected SERVICE=NUM",
                               text);
    out->service = xstrndup(text, (size_t)(eq - text));
    out->replicas = (int)v;
    return 0;
}

int cmd_compose_up(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {
        {"detach", no_argument, 0, 'd'},
        {"build", no_argument, 0, OPT_BUILD},
        {"no-build", no_argument, 0, OPT_NO_BUILD},
        {"force-recreate", no_argument, 0, OPT_FORCE_RECREATE},
        {"no-recreate", no_argument, 0, OPT_NO_RECREATE},
        {"no-deps", no_argument, 0, OPT_NO_DEPS},
        {"remove-orphans", no_argument, 0, OPT_REMOVE_ORPHANS},
        {"scale", required_argument, 0, OPT_SCALE},
        {"wait", no_argument, 0, OPT_WAIT},
        {"wait-timeout", required_argument, 0, OPT_WAIT_TIMEOUT},
        {"abort-on-container-exit", no_argument, 0, OPT_ABORT},
        {"no-start", no_argument, 0, OPT_NO_START},
        {"no-color", no_argument, 0, OPT_NO_COLOR},
        {"no-log-prefix", no_argument, 0, OPT_NO_LOG_PREFIX},
        {"quiet-pull", no_argument, 0, OPT_QUIET_PULL},
        {"timestamps", no_argument, 0, OPT_TIMESTAMPS},
        {"timeout", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0},
    };
    struct servin_compose_up_opts o = {.timeout_s = -1};
    _cleanup_free_ struct servin_compose_scale *scale = NULL;
    size_t n_scale = 0;
    bool detach = false, abort_on_exit = false, quiet_pull = false;
    struct compose_log_opts lopts = {.tail = -1, .color = isatty(STDOUT_FILENO), .follow = true};
    int code = 0;
    int c;
    while (code == 0 && (c = cli_getopt(ctx, argc, argv, "dt:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            goto out;
        case 'd':
            detach = true;
            break;
        case OPT_BUILD:
            o.build = true;
            break;
        case OPT_NO_BUILD:
            o.no_build = true;
            break;
        case OPT_FORCE_RECREATE:
            o.force_recreate = true;
            break;
        case OPT_NO_RECREATE:
            o.no_recreate = true;
            break;
        case OPT_NO_DEPS:
            o.no_deps = true;
            break;
        case OPT_REMOVE_ORPHANS:
            o.remove_orphans = true;
            break;
        case OPT_SCALE:
            scale = xreallocarray(scale, n_scale + 1, sizeof(*scale));
            code = parse_scale(ctx, optarg, &scale[n_scale]);
            if (!code)
                n_scale++;
            break;
        case OPT_WAIT:
            o.wait = true;
            break;
        case OPT_WAIT_TIMEOUT:
            code = parse_timeout(ctx, optarg, &o.wait_timeout_s);
            break;
        case OPT_ABORT:
            abort_on_exit = true;
            break;
        case OPT_NO_START:
            o.no_start = true;
            break;
        case OPT_NO_COLOR:
            lopts.color = false;
            break;
        case OPT_NO_LOG_PREFIX:
            lopts.no_prefix = true;
            break;
        case OPT_QUIET_PULL:
            quiet_pull = true;
            break;
        case OPT_TIMESTAMPS:
            lopts.timestamps = true;
            break;
        case 't':
            code = parse_timeout(ctx, optarg, &o.timeout_s);
            break;
        default:
            code = CLI_EXIT_USAGE;
            break;
        }
    }
    if (code)
        goto out;
    if (o.build && o.no_build) {
        code = cli_failf("--build and --no-build are incompatible");
        goto out;
    }
    if (o.force_recreate && o.no_recreate) {
        code = cli_failf("--force-recreate and --no-recreate are incompatible");
        goto out;
    }
    if (detach && abort_on_exit) {
        code = cli_failf("--abort-on-container-exit and --detach are incompatible");
        goto out;
    }
    if (o.wait)
        detach = true; /* --wait implies --detach, as in Docker Compose */
    o.scale = scale;
    o.n_scale = n_scale;
    char **services = optind < argc ? argv + optind : NULL;
    o.services = services;

    struct compose_session s;
    code = compose_session_open(cc, &s);
    if (code)
        goto out;
    if (quiet_pull)
        s.env.pull_out = NULL;
    code = compose_check_services(&s, services);
    if (code) {
        compose_session_close(&s);
        goto out;
    }
    compose_catch_signals();
    int64_t began = servin_time_now_ns();
    struct servin_error err = {0};
    int r = servin_compose_up(&s.env, &o, &err);
    if (r < 0 && !(r == -ECANCELED && !detach))
        code = cli_fail(&err);
    if (!code && !detach && !o.no_start) {
        struct servin_container *list = NULL;
        size_t n = 0;
        /* Output from just before this `up` on: what the started containers print. */
        lopts.since_ns = began - 1000000000LL;
        if (servin_compose_containers(s.env.store, s.project->name, services, 0, &list, &n, &err) < 0)
            code = cli_fail(&err);
        else
            code = compose_attach_foreground(&s, list, n, &lopts, abort_on_exit);
        servin_containers_free(list, n);
    }
    compose_session_close(&s);
out:
    for (size_t i = 0; i < n_scale; i++)
        free((char *)scale[i].service);
    return code;
}

int cmd_compose_down(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {
        {"volumes", no_argument, 0, 'v'},
        {"rmi", required_argument, 0, OPT_RMI},
        {"remove-orphans", no_argument, 0, OPT_REMOVE_ORPHANS},
        {"timeout", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0},
    };
    struct servin_compose_down_opts o = {.timeout_s = -1};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "vt:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'v':
            o.volumes = true;
            break;
        case OPT_RMI:
            if (strcmp(optarg, "local") != 0 && strcmp(optarg, "all") != 0)
                return cli_usage_error(ctx, "invalid argument \"%s\" for \"--rmi\" flag: use local or all",
                                       optarg);
            o.rmi = optarg;
            break;
        case OPT_REMOVE_ORPHANS:
            o.remove_orphans = true;
            break;
        case 't': {
            int code = parse_timeout(ctx, optarg, &o.timeout_s);
            if (code)
                return code;
            break;
        }
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "\"compose down\" takes no service names (got \"%s\")", argv[optind]);
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    struct servin_error err = {0};
    if (servin_compose_down(&s.env, &o, &err) < 0)
        code = cli_fail(&err);
    compose_session_close(&s);
    return code;
}
