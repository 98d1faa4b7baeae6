/* cli/cmd_container.c — the lifecycle verbs on existing containers: stop, kill, restart, pause,
 * unpause, rm, rename, wait, prune, and the hidden `container cleanup` their monitors run on exit. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "run_flags.h"
#include "servin/cleanup.h"
#include "servin/events.h"
#include "servin/fs.h"
#include "servin/log.h"
#include "servin/network.h"
#include "servin/runtime.h"
#include "servin/timefmt.h"
#include "servin/volume.h"

/* Each CONTAINER argument through fn; errors are printed and make the exit code 1, as Docker's. */
static int for_each(struct cli_ctx *ctx, int first, int argc, char **argv,
                    int (*fn)(struct cli_ctx *ctx, struct servin_container *c, const char *given, void *arg,
                              struct servin_error *err),
                    void *arg)
{
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    int code = 0;
    for (int i = first; i < argc; i++) {
        struct servin_error err = {0};
        struct servin_container c = {0};
        if (servin_container_get(store, argv[i], &c, &err) < 0 || fn(ctx, &c, argv[i], arg, &err) < 0) {
            cli_fail(&err);
            code = 1;
        }
        servin_container_clear(&c);
    }
    return code;
}

static int need_args(struct cli_ctx *ctx, int argc, int min)
{
    if (argc - optind < min)
        return cli_usage_error(ctx, "\"%s\" requires at least %d argument%s.", ctx->cmd->path, min,
                               min == 1 ? "" : "s");
    return 0;
}

/* ---- stop, restart ---- */

static int stop_one(struct cli_ctx *ctx, struct servin_container *c, const char *given, void *arg,
                    struct servin_error *err)
{
    int r = servin_container_stop(ctx->store, c, *(int *)arg, err);
    if (r == 0)
        printf("%s\n", given);
    return r;
}

static int parse_timeout_flag(struct cli_ctx *ctx, int argc, char **argv, int *timeout)
{
    static const struct option longopts[] = {{"time", required_argument, 0, 't'},
                                             {"timeout", required_argument, 0, 't'},
                                             {"signal", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "t:s:h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 't') {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < -1)
                return cli_usage_error(
                    ctx, "invalid argument \"%s\" for \"-t, --time\" flag: expected seconds", optarg);
            *timeout = (int)v;
        }
    }
    return need_args(ctx, argc, 1) ? CLI_EXIT_USAGE : -1;
}

int cmd_stop(struct cli_ctx *ctx, int argc, char **argv)
{
    int timeout = -1;
    int r = parse_timeout_flag(ctx, argc, argv, &timeout);
    if (r >= 0)
        return r;
    return for_each(ctx, optind, argc, argv, stop_one, &timeout);
}

static int restart_one(struct cli_ctx *ctx, struct servin_container *c, const char *given, void *arg,
                       struct servin_error *err)
{
    int r = servin_container_stop(ctx->store, c, *(int *)arg, err);
    if (r < 0)
        return r;
    int exit_code = 0;
    struct servin_start_opts so = {0};
    r = servin_container_start(ctx->store, c, &so, &exit_code, err);
    if (r < 0)
        return servin_error_wrap(err, "restart %s", given);
    printf("%s\n", given);
    return 0;
}

int cmd_restart(struct cli_ctx *ctx, int argc, char **argv)
{
    int timeout = -1;
    int r = parse_timeout_flag(ctx, argc, argv, &timeout);
    if (r >= 0)
        return r;
    return for_each(ctx, optind, argc, argv, restart_one, &timeout);
}

/* ---- kill, pause, unpause ---- */

static int kill_one(struct cli_ctx *ctx, struct servin_container *c, const char *given, void *arg,
                    struct servin_error *err)
{
    int r = servin_container_kill(ctx->store, c, *(int *)arg, err);
    if (r == -EBUSY)
        return servin_error_set(err, EINVAL, "cannot kill container: %s: container %s is not running", given,
                                c->id);
    if (r == 0)
        printf("%s\n", given);
    return r;
}

int cmd_kill(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"signal", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0}};
    int sig = SIGKILL, c;
    while ((c = cli_getopt(ctx, argc, argv, "s:h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 's') {
            sig = servin_signal_parse(optarg);
            if (sig <= 0)
                return cli_failf("invalid signal: %s", optarg);
        }
    }
    if (need_args(ctx, argc, 1))
        return CLI_EXIT_USAGE;
    return for_each(ctx, optind, argc, argv, kill_one, &sig);
}

static int pause_one(struct cli_ctx *ctx, struct servin_container *c, const char *given, void *arg,
                     struct servin_error *err)
{
    int r = servin_container_pause(ctx->store, c, *(bool *)arg, err);
    if (r == 0)
        printf("%s\n", given);
    return r;
}

static int cmd_pause_common(struct cli_ctx *ctx, int argc, char **argv, bool pause)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1)
        return c == 'h' ? 0 : CLI_EXIT_USAGE;
    if (need_args(ctx, argc, 1))
        return CLI_EXIT_USAGE;
    return for_each(ctx, optind, argc, argv, pause_one, &pause);
}

int cmd_pause(struct cli_ctx *ctx, int argc, char **argv)
{
    return cmd_pause_common(ctx, argc, argv, true);
}

int cmd_unpause(struct cli_ctx *ctx, int argc, char **argv)
{
    return cmd_pause_common(ctx, argc, argv, false);
}

/* ---- rm, rename ---- */

static int rm_one(struct cli_ctx *ctx, struct servin_container *c, const char *given, void *arg,
                  struct servin_error *err)
{
    const bool *flags = arg; /* force, volumes */
    bool volumes =
        flags[1] || json_is_true(json_object_get(json_object_get(c->config, "HostConfig"), "AutoRemove"));
    int r = servin_container_remove_volumes(ctx->store, c, flags[0], volumes, err);
    if (r == 0)
        printf("%s\n", given);
    return r;
}

int cmd_rm(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"force", no_argument, 0, 'f'},
                                             {"volumes", no_argument, 0, 'v'},
                                             {"link", no_argument, 0, 'l'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool flags[2] = {false, false}; /* force, volumes */
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "fvlh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'f')
            flags[0] = true;
        if (c == 'v')
            flags[1] = true;
    }
    if (need_args(ctx, argc, 1))
        return CLI_EXIT_USAGE;
    return for_each(ctx, optind, argc, argv, rm_one, flags);
}

int cmd_rename(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1)
        return c == 'h' ? 0 : CLI_EXIT_USAGE;
    if (argc - optind != 2)
        return cli_usage_error(ctx, "\"%s\" requires exactly 2 arguments.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    const char *new_name = argv[optind + 1][0] == '/' ? argv[optind + 1] + 1 : argv[optind + 1];
    if (servin_container_rename(store, argv[optind], new_name, &err) < 0)
        return cli_fail(&err);
    return 0;
}

/* ---- update ---- */

int cmd_update(struct cli_ctx *ctx, int argc, char **argv)
{
    json_t *changes = NULL;
    int code = 0;
    if (run_flags_update_parse(ctx, argc, argv, &changes, &code) != 0)
        return code;
    if (optind >= argc) {
        json_decref(changes);
        return cli_usage_error(ctx, "\"%s\" requires at least 1 argument.", ctx->cmd->path);
    }
    if (json_object_size(changes) == 0) {
        json_decref(changes);
        return cli_failf("update: nothing to change: give --memory, --cpus, --pids-limit, --restart, ...");
    }
    struct servin_store *store = cli_store(ctx);
    if (!store) {
        json_decref(changes);
        return CLI_EXIT_FAILURE;
    }
    for (int i = optind; i < argc; i++) {
        struct servin_error err = {0};
        struct servin_container c = {0};
        if (servin_container_get(store, argv[i], &c, &err) < 0 ||
            servin_container_update(store, &c, changes, &err) < 0)
            code = cli_fail(&err);
        else
            printf("%s\n", argv[i]);
        servin_container_clear(&c);
    }
    json_decref(changes);
    return code;
}

/* ---- wait ---- */

static int wait_one(struct cli_ctx *ctx, struct servin_container *c, const char *given, void *arg,
                    struct servin_error *err)
{
    (void)given;
    (void)arg;
    /* A created container has not run yet: wait for it to start and end, as Docker does. */
    while (c->state == SERVIN_CONTAINER_CREATED) {
        usleep(50000);
        int r = servin_container_reconcile(ctx->store, c, err);
        if (r < 0)
            return r;
    }
    int r = servin_container_wait_stopped(ctx->store, c, -1, err);
    if (r < 0)
        return r;
    int code = servin_container_read_exit(ctx->store, c);
    printf("%d\n", code >= 0 ? code : c->exit_code);
    fflush(stdout);
    return 0;
}

int cmd_wait(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1)
        return c == 'h' ? 0 : CLI_EXIT_USAGE;
    if (need_args(ctx, argc, 1))
        return CLI_EXIT_USAGE;
    return for_each(ctx, optind, argc, argv, wait_one, NULL);
}

/* ---- prune ---- */

int cmd_container_prune(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"force", no_argument, 0, 'f'},
                                             {"filter", required_argument, 0, 'F'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool force = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "fh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'f')
            force = true;
        if (c == 'F')
            return cli_failf(
                "container prune: --filter is not supported yet; remove containers by name with rm");
    }
    if (!force &&
        !cli_confirm("WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"))
        return 0;
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    struct servin_container *list = NULL;
    size_t n = 0;
    if (servin_container_list(store, &list, &n, &err) < 0)
        return cli_fail(&err);
    int code = 0;
    bool header = false;
    for (size_t i = 0; i < n; i++) {
        if (servin_container_is_active(&list[i]))
            continue;
        if (servin_container_remove(store, &list[i], false, &err) < 0) {
            cli_fail(&err);
            servin_error_clear(&err);
            code = 1;
            continue;
        }
        if (!header) {
            printf("Deleted Containers:\n");
            header = true;
        }
        printf("%s\n", list[i].id);
    }
    if (header)
        printf("\n");
    printf("Total reclaimed space: 0B\n");
    servin_containers_free(list, n);
    return code;
}

/* ---- container cleanup (run by the monitor at the container's final exit) ---- */

int cmd_container_cleanup(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"rm", no_argument, 0, 'r'}, {"help", no_argument, 0, 'h'}, {0}};
    bool rm = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'r')
            rm = true;
    }
    if (argc - optind != 1)
        return cli_usage_error(ctx, "\"%s\" requires exactly 1 argument.", ctx->cmd->path);
    /* Opening a store creates it: a store deleted while the container ran must stay deleted. */
    _cleanup_free_ char *db = xasprintf("%s/servin.db", ctx->root ? ctx->root : SERVIN_DEFAULT_ROOT);
    if (access(db, F_OK) < 0)
        return 0;
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    struct servin_container ct = {0};
    if (servin_container_get(store, argv[optind], &ct, &err) < 0) {
        /* Already removed (rm -f raced us): nothing left to clean. */
        return err.code == ENOENT ? 0 : cli_fail(&err);
    }
    int code = 0;
    int r = servin_container_cleanup_exited(store, &ct, &err);
    if (r == 1) {
        servin_container_clear(&ct);
        return 0;
    }
    if (r < 0) {
        code = cli_fail(&err);
        servin_error_clear(&err);
    }
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, ct.id);
    _cleanup_free_ char *fg = xasprintf("%s/fg.pid", run_dir);
    if (rm && !servin_pid_file_alive(fg) && servin_container_remove(store, &ct, true, &err) < 0)
        code = cli_fail(&err);
    servin_container_clear(&ct);
    return code;
}
