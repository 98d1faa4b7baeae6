/* container/monitor_spawn.c — start a monitor detached from the caller and wait for its word.
 *
 * The caller forks; the child calls setsid and forks the monitor, then exits at once, so the
 * monitor belongs to no one's session and outlives the CLI. The monitor is the lean servin-runtime
 * binary, executed with its options as flags, so its memory is that small binary's. It reports
 * over a pipe: "ok <container pid> <monitor pid>\n" or "err <exit code> <message>\n". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/monitor_internal.h"
#include "servin/cleanup.h"
#include "servin/monitor.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void push(char ***v, size_t *n, char *s)
{
    *v = xreallocarray(*v, *n + 2, sizeof(char *));
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}

char **monitor_build_argv(const char *program, const struct servin_monitor_opts *o, int ready_fd)
{
    char **v = NULL;
    size_t n = 0;
    push(&v, &n, xstrdup(program));
    push(&v, &n, xstrdup("monitor"));
    if (ready_fd >= 0)
        push(&v, &n, xasprintf("--ready-fd=%d", ready_fd));
    push(&v, &n, xasprintf("--id=%s", o->id));
    push(&v, &n, xasprintf("--bundle=%s", o->bundle));
    push(&v, &n, xasprintf("--oci-root=%s", o->oci_root));
    push(&v, &n, xasprintf("--run-dir=%s", o->run_dir));
    if (o->seccomp_cache_dir)
        push(&v, &n, xasprintf("--seccomp-cache=%s", o->seccomp_cache_dir));
    if (o->log_path) {
        push(&v, &n, xasprintf("--log-path=%s", o->log_path));
        push(&v, &n, xasprintf("--log-max-size=%lld", (long long)o->log_max_size));
        push(&v, &n, xasprintf("--log-max-files=%d", o->log_max_files));
        if (o->log_format && strcmp(o->log_format, "json-file") != 0)
            push(&v, &n, xasprintf("--log-format=%s", o->log_format));
    }
    if (o->tty)
        push(&v, &n, xstrdup("--tty"));
    if (o->open_stdin)
        push(&v, &n, xstrdup("--open-stdin"));
    if (o->wait_for_attach)
        push(&v, &n, xstrdup("--wait-for-attach"));
    if (o->restart_policy) {
        push(&v, &n, xasprintf("--restart=%s", o->restart_policy));
        push(&v, &n, xasprintf("--restart-max=%d", o->restart_max));
    }
    if (o->health_argv && o->health_argv[0]) {
        for (char *const *a = o->health_argv; *a; a++)
            push(&v, &n, xasprintf("--health-arg=%s", *a));
        push(&v, &n, xasprintf("--health-interval=%lld", (long long)o->health_interval_ns));
        push(&v, &n, xasprintf("--health-timeout=%lld", (long long)o->health_timeout_ns));
        push(&v, &n, xasprintf("--health-retries=%d", o->health_retries));
        push(&v, &n, xasprintf("--health-start-period=%lld", (long long)o->health_start_period_ns));
    }
    if (o->on_exit_argv && o->on_exit_argv[0]) {
        push(&v, &n, xstrdup("--"));
        for (char *const *a = o->on_exit_argv; *a; a++)
            push(&v, &n, xstrdup(*a));
    }
    return v;
}

/* servin-runtime beside the running binary (servin or servin-runtime itself), else in $PATH;
 * SERVIN_RUNTIME_BIN overrides, for tests and for callers that run from a sealed copy. */
static char *runtime_binary(struct servin_error *err)
{
    const char *env = getenv("SERVIN_RUNTIME_BIN");
    if (env && *env)
        return xstrdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return servin_error_errno(err, errno, "find our own binary"), NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (self[0] == '/' && slash && strncmp(self, "/memfd:", 7) != 0) {
        *slash = '\0';
        char *path = xasprintf("%s/servin-runtime", self);
        if (access(path, X_OK) == 0)
            return path;
        free(path);
    }
    /* A sealed copy (/memfd:...) has no directory: look in $PATH. */
    const char *env_path = getenv("PATH");
    _cleanup_free_ char *dirs = xstrdup(env_path ? env_path : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *path = xasprintf("%s/servin-runtime", d);
        if (d[0] == '/' && access(path, X_OK) == 0)
            return path;
        free(path);
    }
    servin_error_set(
        err, ENOENT,
        "servin-runtime was not found beside %s nor in $PATH; install it there or set SERVIN_RUNTIME_BIN",
        self);
    return NULL;
}

/* The monitor works from "/": relative paths are made absolute against the caller's directory. */
static char *absolute(const char *path)
{
    if (!path || path[0] == '/')
        return path ? xstrdup(path) : NULL;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return xstrdup(path);
    return xasprintf("%s/%s", cwd, path);
}

static _Noreturn void become_monitor(const char *program, char **argv, int ready_fd)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        _exit(125);
    if (null < 3)
        fcntl(null, F_SETFD, 0); /* dup2 onto itself keeps close-on-exec */
    if (ready_fd != 3) {
        if (dup2(ready_fd, 3) < 0)
            _exit(125);
    } else {
        fcntl(3, F_SETFD, 0);
    }
    /* None of the caller's files may stay open in a process that lives as long as the container. */
    syscall(SYS_close_range, 4U, ~0U, 0U);
    /* The caller's working directory may be a mount someone wants to remove while we live. */
    if (chdir("/") < 0)
        _exit(125);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    execv(program, argv);
    dprintf(3, "err 125 execute the monitor %s: %s\n", program, strerror(errno));
    _exit(125);
}

/* Read the monitor's one line (at most the buffer); 0 when it closed the pipe without a word. */
static size_t read_line(int fd, char *buf, size_t size)
{
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(buf, '\n', len))
            break;
    }
    buf[len] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return len;
}

int servin_monitor_spawn(const struct servin_monitor_opts *opts, pid_t *container_pid, pid_t *monitor_pid,
                         int *exit_code, struct servin_error *err)
{
    _cleanup_free_ char *program = NULL;
    _cleanup_strv_ char **argv = NULL;
    _cleanup_close_ int rd = -1, wr = -1;
    _cleanup_free_ char *bundle = NULL, *oci_root = NULL, *run_dir = NULL, *log_path = NULL,
                        *seccomp_cache = NULL;
    int ready[2];
    if (exit_code)
        *exit_code = 125;
    program = runtime_binary(err);
    if (!program)
        return -err->code;
    if (pipe2(ready, O_CLOEXEC) < 0)
        return servin_error_errno(err, errno, "start the monitor of %s: create its pipe", opts->id);
    rd = ready[0];
    wr = ready[1];
    bundle = absolute(opts->bundle);
    oci_root = absolute(opts->oci_root);
    run_dir = absolute(opts->run_dir);
    log_path = absolute(opts->log_path);
    struct servin_monitor_opts abs = *opts;
    abs.bundle = bundle;
    abs.oci_root = oci_root;
    abs.run_dir = run_dir;
    abs.log_path = log_path;
    seccomp_cache = absolute(opts->seccomp_cache_dir);
    abs.seccomp_cache_dir = seccomp_cache;
    argv = monitor_build_argv(program, &abs, 3);
    pid_t mid = fork();
    if (mid < 0)
        return servin_error_errno(err, errno, "start the monitor of %s: fork", opts->id);
    if (mid == 0) {
        setsid();
        pid_t mon = fork();
        if (mon == 0)
            become_monitor(program, argv, wr);
        _exit(mon < 0 ? 1 : 0);
    }
    close(steal_fd(&wr));
    int status = 0;
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return servin_error_set(err, EAGAIN, "start the monitor of %s: could not fork it", opts->id);
    char line[SERVIN_ERROR_MSG_MAX];
    if (read_line(rd, line, sizeof(line)) == 0)
        return servin_error_set(err, EPIPE, "start the monitor of %s: it exited without a word", opts->id);
    long cpid = 0, mpid = 0;
    int code = 125, used = 0;
    if (sscanf(line, "ok %ld %ld", &cpid, &mpid) == 2) {
        if (container_pid)
            *container_pid = (pid_t)cpid;
        if (monitor_pid)
            *monitor_pid = (pid_t)mpid;
        if (exit_code)
            *exit_code = 0;
        return 0;
    }
    if (sscanf(line, "err %d %n", &code, &used) >= 1 && used > 0) {
        if (exit_code)
            *exit_code = code;
        return servin_error_set(err, code == 127 ? ENOENT : code == 126 ? EACCES : EIO, "%s", line + used);
    }
    return servin_error_set(err, EPROTO, "start the monitor of %s: unexpected answer \"%s\"", opts->id, line);
}
