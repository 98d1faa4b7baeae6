/* container/lifecycle.c — start, stop, kill, pause, remove and wait: what every front end (the CLI,
 * the daemon) does to a container, in one place. Each change is also written to the event journal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/events.h"
#include "servin/fs.h"
#include "servin/health.h"
#include "servin/image.h"
#include "servin/log.h"
#include "servin/monitor.h"
#include "servin/network.h"
#include "servin/runtime.h"
#include "servin/timefmt.h"
#include "servin/volume.h"

static int64_t now_ns(void)
{
    return servin_time_now_ns();
}

bool servin_container_is_active(const struct servin_container *c)
{
    return c->state == SERVIN_CONTAINER_RUNNING || c->state == SERVIN_CONTAINER_PAUSED ||
           c->state == SERVIN_CONTAINER_RESTARTING;
}

void servin_container_mark_stopped(struct servin_store *store, const struct servin_container *c)
{
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, c->id);
    _cleanup_free_ char *p = xasprintf("%s/stopped", run_dir);
    struct servin_error ignored = {0};
    servin_mkdir_p(run_dir, 0700, &ignored);
    _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        log_warn("mark %s stopped: %s", c->id, strerror(errno));
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *lasting = xasprintf("%s/" SERVIN_CONTAINER_STOPPED_BY_USER, dir);
    _cleanup_close_ int fd2 = open(lasting, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}

int servin_container_lock(struct servin_store *store, const char *id, int *fd, struct servin_error *err)
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

void servin_pid_wait_gone(pid_t pid, long timeout_ms)
{
    if (pid <= 0)
        return;
    /* A pidfd becomes readable the moment the process exits, even when it is not our child; the
     * polling below is for kernels before 5.3. */
    _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        while (poll(&p, 1, (int)timeout_ms) < 0 && errno == EINTR)
            ;
        return;
    }
    for (long waited = 0; waited < timeout_ms && !pid_gone(pid); waited += 10)
        usleep(10000);
}

void servin_container_tidy(struct servin_store *store, struct servin_container *c)
{
    if (servin_container_is_active(c) || c->monitor_pid > 0)
        return;
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    _cleanup_free_ char *state_dir = xasprintf("%s/%s", oci_root, c->id);
    if (access(state_dir, F_OK) < 0)
        return; /* the usual case: the monitor's cleanup ran */
    _cleanup_close_ int lock_fd = -1;
    struct servin_error ignored = {0};
    if (servin_container_lock(store, c->id, &lock_fd, &ignored) < 0)
        return;
    /* Under the lock a start may have finished meanwhile: its monitor owns everything then. */
    if (servin_container_reconcile(store, c, &ignored) < 0 || servin_container_is_active(c) ||
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

int servin_container_wait_stopped(struct servin_store *store, struct servin_container *c, long timeout_ms,
                                  struct servin_error *err)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int r = servin_container_reconcile(store, c, err);
        if (r < 0)
            return r;
        if (!servin_container_is_active(c))
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
    if (r < 0) {
        /* The container may have ended meanwhile (e.g. with the PID namespace it shared), its
         * monitor removing the cgroup under our feet: then there is nothing left to signal. */
        struct servin_container now = {0};
        struct servin_error ignored = {0};
        if (servin_container_get(store, c->id, &now, &ignored) == 0 &&
            servin_container_reconcile(store, &now, &ignored) == 0 && !servin_container_is_active(&now)) {
            servin_error_clear(err);
            r = 0;
        }
        servin_container_clear(&now);
    }
    return r;
}

int servin_container_stop_begin(struct servin_store *store, struct servin_container *c,
                                struct servin_error *err)
{
    int r = servin_container_reconcile(store, c, err);
    if (r < 0 || !servin_container_is_active(c))
        return r;
    servin_container_mark_stopped(store, c);
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
    return 0;
}

int servin_container_stop_finish(struct servin_store *store, struct servin_container *c, int timeout_s,
                                 struct servin_error *err)
{
    if (timeout_s < 0)
        timeout_s = stop_timeout_of(c);
    int r = servin_container_wait_stopped(store, c, timeout_s < 0 ? -1 : (long)timeout_s * 1000, err);
    if (r == 0)
        servin_event_container(store, c, "stop", NULL);
    if (r != -ETIMEDOUT)
        return r;
    servin_error_clear(err);
    r = signal_container(store, c, SIGKILL, true, err);
    if (r < 0)
        return servin_error_wrap(err, "kill container %s", c->name);
    r = servin_container_wait_stopped(store, c, 30000, err);
    if (r == -ETIMEDOUT)
        return servin_error_set(err, ETIMEDOUT, "container %s did not exit after SIGKILL", c->name);
    if (r == 0)
        servin_event_container(store, c, "stop", NULL);
    return r;
}

int servin_container_stop(struct servin_store *store, struct servin_container *c, int timeout_s,
                          struct servin_error *err)
{
    int r = servin_container_reconcile(store, c, err);
    if (r < 0 || !servin_container_is_active(c))
        return r;
    r = servin_container_stop_begin(store, c, err);
    if (r < 0)
        return r;
    return servin_container_stop_finish(store, c, timeout_s, err);
}

int servin_container_remove(struct servin_store *store, struct servin_container *c, bool force,
                            struct servin_error *err)
{
    /* Docker's --rm takes the container's anonymous volumes along. */
    bool volumes = json_is_true(json_object_get(json_object_get(c->config, "HostConfig"), "AutoRemove"));
    return servin_container_remove_volumes(store, c, force, volumes, err);
}

int servin_container_remove_volumes(struct servin_store *store, struct servin_container *c, bool force,
                                    bool volumes, struct servin_error *err)
{
    _cleanup_strv_ char **anonymous = NULL;
    int r = servin_container_reconcile(store, c, err);
    if (r < 0)
        return r;
    if (servin_container_is_active(c)) {
        if (!force)
            return servin_error_set(
                err, EBUSY,
                "cannot remove container \"/%s\": container is running: stop the container "
                "before removing or force remove",
                c->name);
        servin_container_mark_stopped(store, c);
        r = signal_container(store, c, SIGKILL, true, err);
        if (r < 0)
            return servin_error_wrap(err, "remove container %s", c->name);
        pid_t monitor = c->monitor_pid;
        r = servin_container_wait_stopped(store, c, 30000, err);
        if (r < 0 && r != -ETIMEDOUT)
            return r;
        servin_error_clear(err);
        /* A monitor still waiting for an attach that never came has no container to lose: end it
         * rather than leave it waiting forever. One that is merely finishing gets a moment first. */
        servin_pid_wait_gone(monitor, 2000);
        if (monitor > 0 && !pid_gone(monitor)) {
            kill(monitor, SIGTERM);
            servin_pid_wait_gone(monitor, 5000);
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
    if (r == 0)
        servin_event_container(store, c, "destroy", NULL);
    return r;
}

char *servin_container_log_path(struct servin_store *store, const struct servin_container *c)
{
    json_t *log_cfg = json_object_get(json_object_get(c->config, "HostConfig"), "LogConfig");
    const char *type = json_string_value(json_object_get(log_cfg, "Type"));
    const char *path = json_string_value(json_object_get(json_object_get(log_cfg, "Config"), "path"));
    if (type && strcmp(type, "cri") == 0 && path && path[0] == '/')
        return xstrdup(path);
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    return xasprintf("%s/log.json", dir);
}

static char *self_exe(void)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return xstrdup("servin");
    buf[n] = '\0';
    return xstrdup(buf);
}

static void unlink_in(const char *dir, const char *name)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
    unlink(p);
}

static int64_t state_file_started_at(const char *run_dir)
{
    _cleanup_free_ char *p = xasprintf("%s/state", run_dir);
    json_t *st = json_load_file(p, 0, NULL);
    int64_t v = st ? (int64_t)json_integer_value(json_object_get(st, "StartedAt")) : 0;
    json_decref(st);
    return v;
}

static void health_config_clear(struct servin_health_config *h)
{
    servin_health_config_clear(h);
}

int servin_container_start(struct servin_store *store, struct servin_container *c,
                           const struct servin_start_opts *opts, int *exit_code, struct servin_error *err)
{
    _cleanup_free_ char *bundle = servin_container_dir(store, c->id);
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, c->id);
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    _cleanup_free_ char *log_path = NULL;
    _cleanup_free_ char *exe = self_exe();
    json_t *cfg = json_object_get(c->config, "Config");
    json_t *host = json_object_get(c->config, "HostConfig");
    json_t *log_cfg = json_object_get(host, "LogConfig");
    json_t *policy = json_object_get(host, "RestartPolicy");
    _cleanup_free_ char *seccomp_cache = servin_container_seccomp_cache(store);
    struct servin_monitor_opts mo = {.id = c->id,
                                     .bundle = bundle,
                                     .oci_root = oci_root,
                                     .run_dir = run_dir,
                                     .seccomp_cache_dir = seccomp_cache};
    _cleanup_close_ int lock_fd = -1;
    __attribute__((cleanup(health_config_clear))) struct servin_health_config health = {0};
    int r;

    *exit_code = 125;
    r = servin_health_config_from(json_object_get(cfg, "Healthcheck"), &health, err);
    if (r < 0)
        return r;
    mo.health_argv = health.argv;
    mo.health_interval_ns = health.interval_ns;
    mo.health_timeout_ns = health.timeout_ns;
    mo.health_start_period_ns = health.start_period_ns;
    mo.health_retries = health.retries;
    /* A cleanup of the previous run still going would unmount what we mount now. */
    r = servin_container_lock(store, c->id, &lock_fd, err);
    if (r < 0)
        return r;
    r = servin_container_mount_rootfs(store, c, err);
    if (r < 0)
        return r;
    /* The network namespace is wired before the runtime joins it (see network.h). */
    r = servin_network_container_start(store, c, err);
    if (r < 0) {
        struct servin_error ignored = {0};
        servin_container_unmount_rootfs(store, c, &ignored);
        return r;
    }
    /* Leftovers of the previous run would make the new one look stopped or exited at once. */
    struct servin_error ignored = {0};
    servin_oci_delete(oci_root, c->id, true, &ignored);
    r = servin_mkdir_p(run_dir, 0700, err);
    if (r < 0)
        return r;
    unlink_in(run_dir, "exit");
    unlink_in(run_dir, "stopped");
    unlink_in(run_dir, "state");
    unlink_in(run_dir, "health");
    unlink_in(bundle, SERVIN_CONTAINER_STOPPED_BY_USER);
    unlink_in(run_dir, "fg.pid");
    if (opts->foreground_rm) {
        /* `container cleanup --rm` leaves the removal to us while we live, so that we can still
         * read the exit code. */
        _cleanup_free_ char *p = xasprintf("%s/fg.pid", run_dir);
        _cleanup_free_ char *pid = xasprintf("%d\n", (int)getpid());
        servin_write_file_volatile(p, pid, strlen(pid), 0600, &ignored);
    }

    const char *log_type = json_string_value(json_object_get(log_cfg, "Type"));
    if (!log_type || strcmp(log_type, "none") != 0) {
        log_path = servin_container_log_path(store, c);
        mo.log_path = log_path;
    }
    if (log_type && strcmp(log_type, "cri") == 0) {
        /* kubelet makes the pod's log directory; the container's own subdirectory may be ours to make. */
        mo.log_format = "cri";
        _cleanup_free_ char *parent = xstrdup(log_path);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            r = servin_mkdir_p(parent, 0755, err);
            if (r < 0)
                return servin_error_wrap(err, "create the log directory of container %.12s", c->id);
        }
    }
    json_t *log_opts = json_object_get(log_cfg, "Config");
    const char *max_size = json_string_value(json_object_get(log_opts, "max-size"));
    const char *max_file = json_string_value(json_object_get(log_opts, "max-file"));
    if (max_size)
        servin_parse_bytes(max_size, &mo.log_max_size, &ignored);
    mo.log_max_files = max_file ? atoi(max_file) : 1;
    if (mo.log_max_files < 1)
        mo.log_max_files = 1;
    mo.tty = json_is_true(json_object_get(cfg, "Tty"));
    mo.open_stdin = json_is_true(json_object_get(cfg, "OpenStdin"));
    mo.wait_for_attach = opts->wait_for_attach;
    mo.restart_policy = json_string_value(json_object_get(policy, "Name"));
    mo.restart_max = (int)json_integer_value(json_object_get(policy, "MaximumRetryCount"));

    char *on_exit[8] = {exe, "--root", store->root, "container", "cleanup", c->id, NULL, NULL};
    if (opts->foreground_rm) {
        on_exit[5] = "--rm";
        on_exit[6] = c->id;
    } else if (json_is_true(json_object_get(host, "AutoRemove"))) {
        on_exit[3] = "rm";
        on_exit[4] = "-f";
    }
    mo.on_exit_argv = on_exit;

    pid_t container_pid = 0, monitor_pid = 0;
    r = servin_monitor_spawn(&mo, &container_pid, &monitor_pid, exit_code, err);
    if (r < 0) {
        /* The monitor is gone: the container stays as it was, without a mount or network. */
        servin_network_container_stop(store, c->id, &ignored);
        servin_container_unmount_rootfs(store, c, &ignored);
        return r;
    }
    *exit_code = 0;

    /* The monitor's files are the truth; fill the record from what spawn told us unless the
     * container already ran to its end. */
    servin_container_reconcile(store, c, &ignored);
    _cleanup_free_ char *exit_path = xasprintf("%s/exit", run_dir);
    if (access(exit_path, F_OK) < 0 && c->state != SERVIN_CONTAINER_RUNNING) {
        int64_t started = state_file_started_at(run_dir);
        c->state = SERVIN_CONTAINER_RUNNING;
        c->pid = container_pid;
        c->monitor_pid = monitor_pid;
        c->started_at = started ? started : now_ns();
        c->exit_code = 0;
        c->oom_killed = false;
        r = servin_container_save_state(store, c, err);
        if (r < 0)
            return r;
        servin_container_reconcile(store, c, &ignored);
    }
    servin_event_container(store, c, "start", NULL);
    return 0;
}
int servin_container_read_exit(struct servin_store *store, const struct servin_container *c)
{
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, c->id);
    _cleanup_free_ char *p = xasprintf("%s/exit", run_dir);
    json_t *ex = json_load_file(p, 0, NULL);
    if (ex) {
        int code = (int)json_integer_value(json_object_get(ex, "ExitCode"));
        json_decref(ex);
        return code;
    }
    if (c->state == SERVIN_CONTAINER_EXITED || c->state == SERVIN_CONTAINER_DEAD)
        return c->exit_code;
    return -1;
}

int servin_container_kill(struct servin_store *store, struct servin_container *c, int sig,
                          struct servin_error *err)
{
    int r = servin_container_reconcile(store, c, err);
    if (r < 0)
        return r;
    if (!servin_container_is_active(c))
        return servin_error_set(err, EBUSY, "cannot kill container: %s: container %s is not running", c->name,
                                c->id);
    servin_container_mark_stopped(store, c);
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    r = servin_oci_kill(oci_root, c->id, sig, false, err);
    if (r < 0)
        return servin_error_wrap(err, "cannot kill container %s", c->name);
    servin_event_container(store, c, "kill", json_pack("{s:i}", "signal", sig));
    return 0;
}

int servin_container_pause(struct servin_store *store, struct servin_container *c, bool pause,
                           struct servin_error *err)
{
    int r = servin_container_reconcile(store, c, err);
    if (r < 0)
        return r;
    if (pause && c->state != SERVIN_CONTAINER_RUNNING)
        return servin_error_set(err, EBUSY, "container %s is %s, not running", c->name,
                                servin_container_state_name(c->state));
    if (!pause && c->state != SERVIN_CONTAINER_PAUSED)
        return servin_error_set(err, EBUSY, "container %s is not paused", c->name);
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    r = pause ? servin_oci_pause(oci_root, c->id, err) : servin_oci_resume(oci_root, c->id, err);
    if (r < 0)
        return servin_error_wrap(err, "%s %s", pause ? "pause" : "unpause", c->name);
    c->state = pause ? SERVIN_CONTAINER_PAUSED : SERVIN_CONTAINER_RUNNING;
    r = servin_container_save_state(store, c, err);
    if (r == 0)
        servin_event_container(store, c, pause ? "pause" : "unpause", NULL);
    return r;
}

int servin_container_create(struct servin_store *store, const char *image, const char *name, json_t *config,
                            struct servin_container *c, struct servin_error *err)
{
    char image_id[SERVIN_DIGEST_MAX];
    json_t *image_config = NULL;
    int r = servin_image_resolve(store, image, image_id, err);
    if (r < 0)
        return r;
    r = servin_image_config(store, image_id, &image_config, err);
    if (r < 0)
        return servin_error_wrap(err, "read the config of image %s", image);
    servin_container_apply_image_defaults(config, image_config);
    json_decref(image_config);
    json_t *cfg = json_object_get(config, "Config");
    if (json_array_size(json_object_get(cfg, "Entrypoint")) == 0 &&
        json_array_size(json_object_get(cfg, "Cmd")) == 0)
        return servin_error_set(err, EINVAL, "no command specified: the image has no CMD or ENTRYPOINT");

    if (name && name[0] == '/')
        name++;
    r = servin_container_create_record(store, name, image_id, image, config, c, err);
    if (r < 0)
        return r;
    r = servin_network_container_created(store, c, err);
    if (r == 0)
        r = servin_container_mount_rootfs(store, c, err);
    if (r == 0)
        r = servin_volume_prepare_container(store, c, err);
    if (r == 0)
        r = servin_container_write_spec(store, c, err);
    if (r < 0) {
        struct servin_error ignored = {0};
        _cleanup_strv_ char **anonymous = NULL;
        servin_volume_anonymous_of(store, c->id, &anonymous, &ignored);
        servin_container_unmount_rootfs(store, c, &ignored);
        servin_network_container_removed(store, c->id, &ignored);
        servin_container_delete_record(store, c->id, &ignored);
        servin_volume_remove_unused(store, anonymous);
        servin_container_clear(c);
        return r;
    }
    servin_event_container(store, c, "create", NULL);
    return 0;
}
