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
#include "servin/network.h"
#include "servin/fs.h"
#include "servin/log.h"
#include "servin/runtime.h"
#include "servin/timefmt.h"
#include "servin/volume.h"

bool cli_container_is_active(const struct servin_container *c)
{
    return c->state == SERVIN_CONTAINER_RUNNING || c->state == SERVIN_CONTAINER_PAUSED ||
           c->state == SERVIN_CONTAINER_RESTARTING;
}

void cli_container_mark_stopped(struct servin_store *store, const struct servin_container *c)
{
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, c->id);
    _cleanup_free_ char *p = xasprintf("%s/stopped", run_dir);
    struct servin_error ignored = {0};
    servin_mkdir_p(run_dir, 0700, &ignored);
    _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        log_warn("mark %s stopped: %s", c->id, strerror(errno));
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *lasting = xasprintf("%s/" CLI_STOPPED_BY_USER, dir);
    _cleanup_close_ int fd2 = open(lasting, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}

int cli_container_lock(struct servin_store *store, const char *id, int *fd, struct servin_error *err)
{
    _cleanup_free_ char *name = xasprintf("container-%s", id);
    return servin_store_lock(store, name, SERVIN_LOCK_EXCLUSIVE, fd, err);
}

static void unlink_lock(struct servin_store *store, const char *id)
{
    _cleanup_free_ char *p = servin_store_path(store, "locks/container-%s.lock", id);
    unlink(p);
}

static bool pid_gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return !rp || rp[1] == '\0' || rp[2] == 'Z' || rp[2] == 'X';
}

void cli_wait_pid_gone(pid_t pid, long timeout_ms)
{
    for (long waited = 0; pid > 0 && waited < timeout_ms && !pid_gone(pid); waited += 10)
        usleep(10000);
}

void cli_container_tidy(struct servin_store *store, struct servin_container *c)
{
    if (cli_container_is_active(c) || c->monitor_pid > 0)
        return;
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    _cleanup_free_ char *state_dir = xasprintf("%s/%s", oci_root, c->id);
    if (access(state_dir, F_OK) < 0)
        return; /* the usual case: the monitor's cleanup ran */
    _cleanup_close_ int lock_fd = -1;
    struct servin_error ignored = {0};
    if (cli_container_lock(store, c->id, &lock_fd, &ignored) < 0)
        return;
    /* Under the lock a start may have finished meanwhile: its monitor owns everything then. */
    if (servin_container_reconcile(store, c, &ignored) < 0 || cli_container_is_active(c) ||
        c->monitor_pid > 0)
        return;
    servin_oci_delete(oci_root, c->id, true, &ignored);
    servin_network_container_stop(store, c->id, &ignored);
    servin_container_unmount_rootfs(store, c, &ignored);
}

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

int cli_container_wait_stopped(struct servin_store *store, struct servin_container *c, long timeout_ms,
                               struct servin_error *err)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int r = servin_container_reconcile(store, c, err);
        if (r < 0)
            return r;
        if (!cli_container_is_active(c))
            return 0;
        if (timeout_ms >= 0 && elapsed_ms(&start) >= timeout_ms)
            return -ETIMEDOUT;
        usleep(20000);
    }
}

static int stop_signal_of(const struct servin_container *c)
{
    const char *s = json_string_value(json_object_get(json_object_get(c->config, "Config"), "StopSignal"));
    int sig = s ? servin_signal_parse(s) : -1;
    return sig > 0 ? sig : SIGTERM;
}

static int stop_timeout_of(const struct servin_container *c)
{
    json_t *t = json_object_get(json_object_get(c->config, "Config"), "StopTimeout");
    return json_is_integer(t) ? (int)json_integer_value(t) : 10;
}

/* Signal the container's init; a container that is already gone is not an error here. */
static int signal_container(struct servin_store *store, const struct servin_container *c, int sig, bool all,
                            struct servin_error *err)
{
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    int r = servin_oci_kill(oci_root, c->id, sig, all, err);
    if (r == -ENOENT || r == -ESRCH) {
        servin_error_clear(err);
        return 0;
    }
    return r;
}

int cli_container_stop(struct servin_store *store, struct servin_container *c, int timeout_s,
                       struct servin_error *err)
{
    int r = servin_container_reconcile(store, c, err);
    if (r < 0 || !cli_container_is_active(c))
        return r;
    if (timeout_s < 0)
        timeout_s = stop_timeout_of(c);
    cli_container_mark_stopped(store, c);
    bool paused = c->state == SERVIN_CONTAINER_PAUSED;
    r = signal_container(store, c, stop_signal_of(c), false, err);
    if (r < 0)
        return servin_error_wrap(err, "stop container %s", c->name);
    if (paused) {
        /* A frozen process cannot act on its signal: thaw it, as Docker does. */
        _cleanup_free_ char *oci_root = servin_container_oci_root(store);
        struct servin_error ignored = {0};
        servin_oci_resume(oci_root, c->id, &ignored);
    }
    r = cli_container_wait_stopped(store, c, timeout_s < 0 ? -1 : (long)timeout_s * 1000, err);
    if (r != -ETIMEDOUT)
        return r;
    r = signal_container(store, c, SIGKILL, true, err);
    if (r < 0)
        return servin_error_wrap(err, "kill container %s", c->name);
    r = cli_container_wait_stopped(store, c, 30000, err);
    if (r == -ETIMEDOUT)
        return servin_error_set(err, ETIMEDOUT, "container %s did not exit after SIGKILL", c->name);
    return r;
}

int cli_container_remove(struct servin_store *store, struct servin_container *c, bool force,
                         struct servin_error *err)
{
    /* Docker's --rm takes the container's anonymous volumes along. */
    bool volumes = json_is_true(json_object_get(json_object_get(c->config, "HostConfig"), "AutoRemove"));
    return cli_container_remove_volumes(store, c, force, volumes, err);
}

int cli_container_remove_volumes(struct servin_store *store, struct servin_container *c, bool force,
                                 bool volumes, struct servin_error *err)
{
    _cleanup_strv_ char **anonymous = NULL;
    int r = servin_container_reconcile(store, c, err);
    if (r < 0)
        return r;
    if (cli_container_is_active(c)) {
        if (!force)
            return servin_error_set(
                err, EBUSY,
                "cannot remove container \"/%s\": container is running: stop the container "
                "before removing or force remove",
                c->name);
        cli_container_mark_stopped(store, c);
        r = signal_container(store, c, SIGKILL, true, err);
        if (r < 0)
            return servin_error_wrap(err, "remove container %s", c->name);
        pid_t monitor = c->monitor_pid;
        r = cli_container_wait_stopped(store, c, 30000, err);
        if (r < 0 && r != -ETIMEDOUT)
            return r;
        servin_error_clear(err);
        /* A monitor still waiting for an attach that never came has no container to lose: end it
         * rather than leave it waiting forever. One that is merely finishing gets a moment first. */
        cli_wait_pid_gone(monitor, 2000);
        if (monitor > 0 && !pid_gone(monitor)) {
            kill(monitor, SIGTERM);
            cli_wait_pid_gone(monitor, 5000);
            if (!pid_gone(monitor))
                kill(monitor, SIGKILL);
        }
    }
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    struct servin_error ignored = {0};
    servin_oci_delete(oci_root, c->id, true, &ignored);
    servin_network_container_removed(store, c->id, &ignored);
    r = servin_container_unmount_rootfs(store, c, err);
    if (r < 0)
        return servin_error_wrap(err, "remove container %s", c->name);
    /* Read before the record goes: its removal drops the links that name them. */
    if (volumes && servin_volume_anonymous_of(store, c->id, &anonymous, err) < 0)
        return servin_error_wrap(err, "remove container %s", c->name);
    r = servin_container_delete_record(store, c->id, err);
    unlink_lock(store, c->id);
    if (r == 0)
        servin_volume_remove_unused(store, anonymous);
    if (r == -ENOENT) {
        /* Someone else (the monitor's --rm) was faster: the container is gone, as asked. */
        servin_error_clear(err);
        return 0;
    }
    return r;
}

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
    int r = cli_container_stop(ctx->store, c, *(int *)arg, err);
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
    int r = cli_container_stop(ctx->store, c, *(int *)arg, err);
    if (r < 0)
        return r;
    int exit_code = 0;
    struct cli_start_opts so = {0};
    r = cli_container_start(ctx, c, &so, &exit_code, err);
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
    int r = servin_container_reconcile(ctx->store, c, err);
    if (r < 0)
        return r;
    if (!cli_container_is_active(c))
        return servin_error_set(err, EINVAL, "cannot kill container: %s: container %s is not running", given,
                                c->id);
    int sig = *(int *)arg;
    cli_container_mark_stopped(ctx->store, c);
    _cleanup_free_ char *oci_root = servin_container_oci_root(ctx->store);
    r = servin_oci_kill(oci_root, c->id, sig, false, err);
    if (r < 0)
        return servin_error_wrap(err, "cannot kill container %s", given);
    printf("%s\n", given);
    return 0;
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
    bool pause = *(bool *)arg;
    int r = servin_container_reconcile(ctx->store, c, err);
    if (r < 0)
        return r;
    if (pause && c->state != SERVIN_CONTAINER_RUNNING)
        return servin_error_set(err, EINVAL, "container %s is %s, not running", given,
                                servin_container_state_name(c->state));
    if (!pause && c->state != SERVIN_CONTAINER_PAUSED)
        return servin_error_set(err, EINVAL, "container %s is not paused", given);
    _cleanup_free_ char *oci_root = servin_container_oci_root(ctx->store);
    r = pause ? servin_oci_pause(oci_root, c->id, err) : servin_oci_resume(oci_root, c->id, err);
    if (r < 0)
        return servin_error_wrap(err, "%s %s", pause ? "pause" : "unpause", given);
    c->state = pause ? SERVIN_CONTAINER_PAUSED : SERVIN_CONTAINER_RUNNING;
    r = servin_container_save_state(ctx->store, c, err);
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
    int r = cli_container_remove_volumes(ctx->store, c, flags[0], volumes, err);
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
    int r = cli_container_wait_stopped(ctx->store, c, -1, err);
    if (r < 0)
        return r;
    int code = cli_container_read_exit(ctx->store, c);
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
        if (cli_container_is_active(&list[i]))
            continue;
        if (cli_container_remove(store, &list[i], false, &err) < 0) {
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

static bool pid_file_alive(const char *path)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    struct servin_error ignored = {0};
    if (servin_read_file(path, &text, &len, &ignored) < 0)
        return false;
    pid_t pid = (pid_t)atoi(text);
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

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
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, ct.id);
    _cleanup_free_ char *exit_path = xasprintf("%s/exit", run_dir);
    _cleanup_close_ int lock_fd = -1;
    struct servin_error ignored = {0};
    if (cli_container_lock(store, ct.id, &lock_fd, &err) < 0) {
        servin_container_clear(&ct);
        return cli_fail(&err);
    }
    /* Started again while we were on our way: that run owns the mount and the runtime state now. */
    if (servin_container_reconcile(store, &ct, &ignored) == 0 && cli_container_is_active(&ct) &&
        ct.monitor_pid > 0) {
        servin_container_clear(&ct);
        return 0;
    }
    servin_oci_delete(oci_root, ct.id, true, &ignored);
    int code = 0;
    if (servin_network_container_stop(store, ct.id, &err) < 0) {
        code = cli_fail(&err);
        servin_error_clear(&err);
    }
    if (servin_container_unmount_rootfs(store, &ct, &err) < 0) {
        code = cli_fail(&err);
        servin_error_clear(&err);
    }
    /* The monitor is still alive while it runs us, so reconcile alone would keep it running:
     * record the exit from the monitor's file. */
    json_t *ex = json_load_file(exit_path, 0, NULL);
    if (ex) {
        ct.state = SERVIN_CONTAINER_EXITED;
        ct.exit_code = (int)json_integer_value(json_object_get(ex, "ExitCode"));
        ct.finished_at = (int64_t)json_integer_value(json_object_get(ex, "FinishedAt"));
        ct.oom_killed = json_is_true(json_object_get(ex, "OOMKilled"));
        json_decref(ex);
    } else if (cli_container_is_active(&ct)) {
        ct.state = SERVIN_CONTAINER_EXITED;
        ct.exit_code = 255;
    }
    if (!ct.finished_at)
        ct.finished_at = servin_time_now_ns();
    ct.pid = 0;
    ct.monitor_pid = 0;
    if (servin_container_save_state(store, &ct, &err) < 0)
        code = cli_fail(&err);
    _cleanup_free_ char *fg = xasprintf("%s/fg.pid", run_dir);
    if (rm && !pid_file_alive(fg) && cli_container_remove(store, &ct, true, &err) < 0)
        code = cli_fail(&err);
    servin_container_clear(&ct);
    return code;
}
