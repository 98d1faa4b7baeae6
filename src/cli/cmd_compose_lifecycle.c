/* cli/cmd_compose_lifecycle.c — `compose start`, `stop`, `restart`, `pause`, `unpause`, `kill`, `rm`:
 * the verbs of `servin <verb>` applied to a project's containers, in depends_on order (starts) or
 * its reverse (stops). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_compose_ops.h"
#include "servin/cleanup.h"
#include "servin/runtime.h"

enum verb { V_START, V_STOP, V_RESTART, V_PAUSE, V_UNPAUSE, V_KILL, V_RM };

static void progress(struct compose_session *s, const char *name, const char *status)
{
    s->env.progress(s->env.progress_arg, "Container", name, status);
}

/* Start order: services by servin_compose_order, containers by number; one-offs are left alone. */
static int start_in_order(struct compose_session *s, char **services, struct servin_error *err)
{
    _cleanup_free_ struct servin_compose_service **order = NULL;
    size_t n = 0;
    int r = servin_compose_order(s->project, services, false, &order, &n, err);
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct servin_compose_service *svc = order[i];
        for (size_t d = 0; d < svc->n_depends_on && r == 0; d++) {
            bool selected = false;
            for (size_t k = 0; k < n; k++)
                selected = selected || strcmp(order[k]->name, svc->depends_on[d].service) == 0;
            if (selected)
                r = servin_compose_wait_condition(&s->env, svc->depends_on[d].service,
                                                  svc->depends_on[d].condition, -1, err);
        }
        char *one[] = {svc->name, NULL};
        struct servin_container *list = NULL;
        size_t count = 0;
        if (r == 0)
            r = servin_compose_containers(s->env.store, s->project->name, one, 0, &list, &count, err);
        for (size_t k = 0; k < count && r == 0; k++) {
            if (servin_container_is_active(&list[k]))
                continue;
            progress(s, list[k].name, "Starting");
            struct servin_start_opts so = {0};
            int code = 0;
            r = servin_container_start(s->env.store, &list[k], &so, &code, err);
            if (r < 0)
                servin_error_wrap(err, "start container %s", list[k].name);
            else
                progress(s, list[k].name, "Started");
        }
        servin_containers_free(list, count);
    }
    return r;
}

static int run_verb(struct compose_cli *cc, int argc, char **argv, enum verb verb)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"timeout", required_argument, 0, 't'},
                                             {"signal", required_argument, 0, 's'},
                                             {"force", no_argument, 0, 'f'},
                                             {"stop", no_argument, 0, 'S'},
                                             {"volumes", no_argument, 0, 'v'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    long timeout = -1;
    int sig = SIGKILL;
    bool force = false, stop_first = false, volumes = false;
    const char *optstring = verb == V_STOP || verb == V_RESTART ? "t:h"
                            : verb == V_KILL                    ? "s:h"
                            : verb == V_RM                      ? "fsvh"
                                                                : "h";
    int c;
    while ((c = cli_getopt(ctx, argc, argv, optstring, longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 't': {
            char *end = NULL;
            timeout = strtol(optarg, &end, 10);
            if (end == optarg || *end || timeout < 0)
                return cli_usage_error(ctx, "invalid argument \"%s\" for \"-t, --timeout\" flag", optarg);
            break;
        }
        case 's':
            if (verb == V_RM) {
                stop_first = true;
                break;
            }
            sig = servin_signal_parse(optarg);
            if (sig <= 0)
                return cli_usage_error(
                    ctx, "invalid argument \"%s\" for \"-s, --signal\" flag: unknown signal", optarg);
            break;
        case 'S':
            stop_first = true;
            break;
        case 'f':
            force = true;
            break;
        case 'v':
            volumes = true;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    char **services = optind < argc ? argv + optind : NULL;
    code = compose_check_services(&s, services);
    if (code) {
        compose_session_close(&s);
        return code;
    }
    struct servin_error err = {0};
    if (verb == V_START) {
        if (start_in_order(&s, services, &err) < 0)
            code = cli_fail(&err);
        compose_session_close(&s);
        return code;
    }
    struct servin_container *list = NULL;
    size_t n = 0;
    unsigned flags = verb == V_RM ? SERVIN_COMPOSE_WITH_ONEOFF : 0;
    if (servin_compose_containers(s.env.store, s.project->name, services, flags, &list, &n, &err) < 0) {
        code = cli_fail(&err);
        compose_session_close(&s);
        return code;
    }
    servin_compose_sort_for_stop(s.project, list, n);
    bool skip = false;
    if (verb == V_RM) {
        size_t removable = 0;
        for (size_t i = 0; i < n; i++)
            if (!servin_container_is_active(&list[i]) || stop_first)
                removable++;
        if (removable == 0) {
            fprintf(stderr, "No stopped containers\n");
        } else if (!force && isatty(STDIN_FILENO)) {
            fprintf(stderr, "Going to remove");
            for (size_t i = 0; i < n; i++)
                if (!servin_container_is_active(&list[i]) || stop_first)
                    fprintf(stderr, " %s", list[i].name);
            fprintf(stderr, "\n");
            if (!cli_confirm("Are you sure?"))
                skip = true;
        }
    }
    if (verb == V_STOP || verb == V_RESTART) {
        skip = true;
        if (servin_compose_stop_containers(&s.env, list, n, timeout, &err) < 0)
            code = cli_fail(&err);
    }
    for (size_t i = 0; i < n && !skip; i++) {
        struct servin_container *ct = &list[i];
        int r = 0;
        switch (verb) {
        case V_STOP:
        case V_RESTART:
            break;
        case V_PAUSE:
        case V_UNPAUSE:
            if ((verb == V_PAUSE && ct->state != SERVIN_CONTAINER_RUNNING) ||
                (verb == V_UNPAUSE && ct->state != SERVIN_CONTAINER_PAUSED))
                break;
            progress(&s, ct->name, verb == V_PAUSE ? "Pausing" : "Unpausing");
            r = servin_container_pause(s.env.store, ct, verb == V_PAUSE, &err);
            if (r == 0)
                progress(&s, ct->name, verb == V_PAUSE ? "Paused" : "Unpaused");
            break;
        case V_KILL:
            if (!servin_container_is_active(ct))
                break;
            progress(&s, ct->name, "Killing");
            r = servin_container_kill(s.env.store, ct, sig, &err);
            if (r == 0)
                progress(&s, ct->name, "Killed");
            break;
        case V_RM:
            if (servin_container_is_active(ct)) {
                if (!stop_first)
                    break;
                progress(&s, ct->name, "Stopping");
                r = servin_container_stop(s.env.store, ct, -1, &err);
                if (r < 0)
                    break;
                progress(&s, ct->name, "Stopped");
            }
            progress(&s, ct->name, "Removing");
            r = servin_container_remove_volumes(s.env.store, ct, true, volumes, &err);
            if (r == 0)
                progress(&s, ct->name, "Removed");
            break;
        case V_START:
            break;
        }
        if (r < 0) {
            code = cli_fail(&err);
            break;
        }
    }
    servin_containers_free(list, n);
    if (!code && verb == V_RESTART) {
        /* Start them again in dependency order. */
        if (start_in_order(&s, services, &err) < 0)
            code = cli_fail(&err);
    }
    compose_session_close(&s);
    return code;
}

int cmd_compose_start(struct compose_cli *cc, int argc, char **argv)
{
    return run_verb(cc, argc, argv, V_START);
}
int cmd_compose_stop(struct compose_cli *cc, int argc, char **argv)
{
    return run_verb(cc, argc, argv, V_STOP);
}
int cmd_compose_restart(struct compose_cli *cc, int argc, char **argv)
{
    return run_verb(cc, argc, argv, V_RESTART);
}
int cmd_compose_pause(struct compose_cli *cc, int argc, char **argv)
{
    return run_verb(cc, argc, argv, V_PAUSE);
}
int cmd_compose_unpause(struct compose_cli *cc, int argc, char **argv)
{
    return run_verb(cc, argc, argv, V_UNPAUSE);
}
int cmd_compose_kill(struct compose_cli *cc, int argc, char **argv)
{
    return run_verb(cc, argc, argv, V_KILL);
}
int cmd_compose_rm(struct compose_cli *cc, int argc, char **argv)
{
    return run_verb(cc, argc, argv, V_RM);
}
