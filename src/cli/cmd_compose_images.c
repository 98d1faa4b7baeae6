/* cli/cmd_compose_images.c — a project's images: `compose pull`, `push`, `build`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_compose_ops.h"
#include "servin/cleanup.h"
#include "servin/registry.h"

enum { OPT_IGNORE_FAILURES = 256, OPT_NO_CACHE, OPT_PULL, OPT_INCLUDE_DEPS };

/* The services named (all when none), in the model's order. */
static int selected(struct compose_session *s, char **names, struct servin_compose_service ***out, size_t *n)
{
    int code = compose_check_services(s, names);
    if (code)
        return code;
    struct servin_compose_service **list = xcalloc(s->project->n_services + 1, sizeof(*list));
    size_t k = 0;
    for (size_t i = 0; i < s->project->n_services; i++) {
        if (compose_service_named(names, s->project->services[i].name))
            list[k++] = &s->project->services[i];
    }
    *out = list;
    *n = k;
    return 0;
}

/* Pulls (or pushes) svc's image with progress; 0 also when it failed but tolerate says go on (the
 * error then a warning), else the exit code of the failure. */
static int transfer_image(struct compose_session *s, const struct servin_compose_service *svc, bool push,
                          bool quiet, bool tolerate)
{
    s->env.progress(s->env.progress_arg, "Image", svc->image, push ? "Pushing" : "Pulling");
    struct servin_progress *pg = quiet ? NULL : servin_progress_new(stderr, isatty(STDERR_FILENO));
    struct servin_error err = {0};
    int r;
    if (push) {
        struct servin_push_opts po = {.progress = pg};
        struct servin_push_result res = {0};
        r = servin_registry_push(s->env.store, svc->image, &po, &res, &err);
        servin_push_result_free(&res);
    } else {
        struct servin_pull_opts po = {.progress = pg};
        struct servin_pull_result res = {0};
        r = servin_registry_pull(s->env.store, svc->image, &po, &res, &err);
        servin_pull_result_free(&res);
    }
    servin_progress_free(pg);
    if (r < 0) {
        servin_error_wrap(&err, "%s %s for service %s", push ? "push" : "pull", svc->image, svc->name);
        if (!tolerate)
            return cli_fail(&err);
        fprintf(stderr, "WARN[0000] %s\n", err.msg);
        return 0;
    }
    s->env.progress(s->env.progress_arg, "Image", svc->image, push ? "Pushed" : "Pulled");
    return 0;
}

int cmd_compose_pull(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"quiet", no_argument, 0, 'q'},
                                             {"ignore-pull-failures", no_argument, 0, OPT_IGNORE_FAILURES},
                                             {"ignore-buildable", no_argument, 0, 'B'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool quiet = false, ignore = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "qh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == 'q')
            quiet = true;
        else if (c == OPT_IGNORE_FAILURES)
            ignore = true;
        else if (c != 'B')
            return CLI_EXIT_USAGE;
    }
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    _cleanup_free_ struct servin_compose_service **list = NULL;
    size_t n = 0;
    code = selected(&s, optind < argc ? argv + optind : NULL, &list, &n);
    for (size_t i = 0; i < n && !code; i++) {
        const struct servin_compose_service *svc = list[i];
        /* Nothing to pull for an image only built here. */
        if (!svc->image || (svc->pull_policy && strcmp(svc->pull_policy, "build") == 0))
            continue;
        if (svc->build && svc->pull_policy && strcmp(svc->pull_policy, "never") == 0)
            continue;
        /* A service that can be built may fail to pull: it will be built. */
        code = transfer_image(&s, svc, false, quiet, ignore || svc->build);
    }
    compose_session_close(&s);
    return code;
}

int cmd_compose_push(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"quiet", no_argument, 0, 'q'},
                                             {"ignore-push-failures", no_argument, 0, OPT_IGNORE_FAILURES},
                                             {"include-deps", no_argument, 0, OPT_INCLUDE_DEPS},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool quiet = false, ignore = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "qh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == 'q')
            quiet = true;
        else if (c == OPT_IGNORE_FAILURES)
            ignore = true;
        else if (c != OPT_INCLUDE_DEPS)
            return CLI_EXIT_USAGE;
    }
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    _cleanup_free_ struct servin_compose_service **list = NULL;
    size_t n = 0;
    code = selected(&s, optind < argc ? argv + optind : NULL, &list, &n);
    for (size_t i = 0; i < n && !code; i++) {
        const struct servin_compose_service *svc = list[i];
        /* Docker Compose pushes the images of services that build and name their image. */
        if (!svc->image || !svc->build)
            continue;
        code = transfer_image(&s, svc, true, quiet, ignore);
    }
    compose_session_close(&s);
    return code;
}

int cmd_compose_build(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"quiet", no_argument, 0, 'q'},
                                             {"no-cache", no_argument, 0, OPT_NO_CACHE},
                                             {"pull", no_argument, 0, OPT_PULL},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool quiet = false, no_cache = false, pull = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "qh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == 'q')
            quiet = true;
        else if (c == OPT_NO_CACHE)
            no_cache = true;
        else if (c == OPT_PULL)
            pull = true;
        else
            return CLI_EXIT_USAGE;
    }
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    if (quiet) {
        s.quiet = true;
        s.env.build_progress = NULL;
    }
    compose_catch_signals();
    _cleanup_free_ struct servin_compose_service **list = NULL;
    size_t n = 0;
    code = selected(&s, optind < argc ? argv + optind : NULL, &list, &n);
    for (size_t i = 0; i < n && !code; i++) {
        if (!list[i]->build)
            continue;
        struct servin_error err = {0};
        if (servin_compose_build_service(&s.env, list[i], no_cache, pull, &err) < 0)
            code = cli_fail(&err);
    }
    compose_session_close(&s);
    return code;
}
