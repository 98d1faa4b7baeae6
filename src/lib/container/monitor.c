/* container/monitor.c — `servin-runtime monitor`: one per container, our conmon.
 *
 * It creates and starts the container through the runtime core (the init is its child; it is a
 * child subreaper so that it also reaps what the container double-forks), holds its stdio, and on
 * each exit writes the exit file, deletes the runtime container (cgroups gone), and restarts it or
 * runs the on-exit command. It opens no database and keeps no large buffer: an idle monitor must
 * cost well under a few MiB. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/monitor_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/monitor.h"
#include "servin/runtime.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define BACKOFF_RESET_NS (10LL * 1000000000)

static int sig_wr = -1;

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(sig_wr, &b, 1) < 0) {
        /* a full pipe already holds a wake-up */
    }
    errno = saved;
}

static void write_run_file(struct mon *m, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void write_run_file(struct mon *m, const char *name, const char *fmt, ...)
{
    char path[PATH_MAX], buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    snprintf(path, sizeof(path), "%s/%s", m->o.run_dir, name);
    struct servin_error ignored = {0};
    servin_write_file_volatile(path, buf, (size_t)n, 0644, &ignored);
}

static bool run_file_exists(struct mon *m, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", m->o.run_dir, name);
    return access(path, F_OK) == 0;
}

/* `run --rm` in the foreground writes its pid to fg.pid and, while it lives, cleans up and removes
 * the container itself once we are gone: one process start fewer on the path to its exit. */
static bool foreground_cli_alive(struct mon *m)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/fg.pid", m->o.run_dir);
    return servin_pid_file_alive(path);
}

static void remove_run_file(struct mon *m, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", m->o.run_dir, name);
    unlink(path);
}

/* The readiness line for the spawner, once; the pipe closes after it. */
static void report(int *ready_fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int *ready_fd, const char *fmt, ...)
{
    if (*ready_fd < 0)
        return;
    char buf[SERVIN_ERROR_MSG_MAX + 32];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    for (int i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = ' ';
    buf[n++] = '\n';
    if (write(*ready_fd, buf, (size_t)n) < 0) {
        /* the spawner is gone: nobody to tell */
    }
    close(*ready_fd);
    *ready_fd = -1;
}

static int exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

/* With a tty, the runtime's init sends the pty master to a console socket, a path we listen on. */
static int receive_fd(int listen_fd)
{
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    if (poll(&p, 1, 5000) <= 0)
        return -ETIMEDOUT;
    _cleanup_close_ int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return -errno;
    char data;
    struct iovec iov = {.iov_base = &data, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) <= 0)
        return -EPROTO;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS)
        return -EPROTO;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

/* The container's stdio: pipes, or the console socket for a pty. Puts the container's ends on our
 * fds 0-2 for the runtime to hand to the init, and keeps ours. */
static int prepare_stdio(struct mon *m, int *console_listen, struct servin_error *err)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    if (m->o.tty) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d/console.sock", m->run_dirfd);
        *console_listen = monitor_listen_unix(path, err);
        return *console_listen < 0 ? *console_listen : 0;
    }
    if ((m->o.open_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0)
                close(in[i]);
            if (out[i] >= 0)
                close(out[i]);
        }
        return servin_error_errno(err, e, "create the container's stdio pipes");
    }
    if (m->o.open_stdin) {
        dup2(in[0], 0);
        close(in[0]);
        m->in_fd = in[1];
        fcntl(m->in_fd, F_SETFL, O_NONBLOCK);
    }
    dup2(out[1], 1);
    dup2(errp[1], 2);
    close(out[1]);
    close(errp[1]);
    m->out_fd = out[0];
    m->err_fd = errp[0];
    return 0;
}

static void restore_stdio(void)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return;
    for (int fd = 0; fd < 3; fd++)
        dup2(null, fd);
    close(null);
}

/* The memory cgroup's OOM kill counter of pid: memory.events (v2) or memory.oom_control (v1). */
static void find_oom_file(struct mon *m)
{
    char path[64], line[512];
    m->oom_file[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)m->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        if (strcmp(c1 + 1, "memory") == 0)
            snprintf(m->oom_file, sizeof(m->oom_file), "/sys/fs/cgroup/memory%s/memory.oom_control", c2 + 1);
        else if (strncmp(line, "0:", 2) == 0 && c1[1] == '\0' && !m->oom_file[0])
            snprintf(m->oom_file, sizeof(m->oom_file), "/sys/fs/cgroup%s/memory.events", c2 + 1);
    }
    fclose(f);
}

static long read_oom_kills(struct mon *m)
{
    char buf[1024];
    if (!m->oom_file[0])
        return 0;
    int fd = open(m->oom_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    const char *p = strstr(buf, "oom_kill ");
    return p ? strtol(p + 9, NULL, 10) : 0;
}

/* Create and start the container; on failure *code gets 125, or 126/127 from a failed exec. */
static int start_container(struct mon *m, int *code, struct servin_error *err)
{
    _cleanup_close_ int console_listen = -1;
    char console_path[64];
    *code = 125;
    m->exited = false;
    m->status = 0;
    m->pid = 0;
    int ret = prepare_stdio(m, &console_listen, err);
    if (ret < 0)
        return ret;
    snprintf(console_path, sizeof(console_path), "/proc/self/fd/%d/console.sock", m->run_dirfd);
    struct servin_oci_create_opts co = {.state_root = m->o.oci_root,
                                        .id = m->o.id,
                                        .bundle = m->o.bundle,
                                        .console_socket = m->o.tty ? console_path : NULL,
                                        .seccomp_cache_dir = m->o.seccomp_cache_dir};
    /* A runtime container of this id left by a monitor that was killed would block the create. */
    struct servin_error ignored = {0};
    servin_oci_delete(m->o.oci_root, m->o.id, true, &ignored);
    ret = servin_oci_create(&co, &m->pid, err);
    restore_stdio();
    if (ret == 0) {
        /* Now, while the init surely lives: a short-lived one may be gone right after start. */
        find_oom_file(m);
        m->oom_kills = read_oom_kills(m);
    }
    if (m->o.tty) {
        remove_run_file(m, "console.sock");
        if (ret == 0) {
            int master = receive_fd(console_listen);
            if (master < 0) {
                ret = servin_error_errno(err, -master, "receive the container's terminal");
            } else {
                m->pty_fd = master;
                struct winsize ws = {.ws_row = m->rows, .ws_col = m->cols};
                if (m->rows && m->cols)
                    ioctl(master, TIOCSWINSZ, &ws);
                m->out_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
                m->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
                fcntl(master, F_SETFL, O_NONBLOCK);
            }
        }
    }
    bool start_tried = ret == 0;
    if (ret == 0)
        ret = servin_oci_start(m->o.oci_root, m->o.id, err);
    if (ret < 0) {
        /* An init that could not exec says why and exits 126/127; one that never got that far
         * still waits for `start`, and is killed after a short wait. */
        int status = 0;
        pid_t got = 0;
        for (int i = 0; m->pid > 0 && got == 0; i++) {
            got = waitpid(m->pid, &status, WNOHANG);
            if (got == 0 && i == (start_tried ? 200 : 0))
                kill(m->pid, SIGKILL);
            else if (got == 0)
                usleep(10000);
        }
        if (got == m->pid && WIFEXITED(status) && (WEXITSTATUS(status) == 126 || WEXITSTATUS(status) == 127))
            *code = WEXITSTATUS(status);
        m->exited = true;
        m->status = status;
        servin_oci_delete(m->o.oci_root, m->o.id, true, &ignored);
        mon_close_stdio(m);
        m->pid = 0;
        return ret;
    }
    return 0;
}

/* The message of a failed start without the runtime's "start container <id>: " prefix. */
static const char *bare_message(struct mon *m, const char *msg)
{
    char prefix[128];
    int n = snprintf(prefix, sizeof(prefix), "start container %s: ", m->o.id);
    return strncmp(msg, prefix, (size_t)n) == 0 ? msg + n : msg;
}

static bool should_restart(struct mon *m, int code, int restarts)
{
    const char *p = m->o.restart_policy;
    if (!p || strcmp(p, "no") == 0 || m->signalled || run_file_exists(m, "stopped"))
        return false;
    if (strcmp(p, "on-failure") == 0)
        return code != 0 && (m->o.restart_max <= 0 || restarts < m->o.restart_max);
    return strcmp(p, "always") == 0 || strcmp(p, "unless-stopped") == 0;
}

/* Wait before a restart; a signal cuts it short. */
static void backoff_wait(struct mon *m, int ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0 || m->signalled)
            return;
        struct pollfd p = {.fd = m->sig_rd, .events = POLLIN};
        if (poll(&p, 1, (int)left) > 0) {
            unsigned char sigs[64];
            ssize_t n = read(m->sig_rd, sigs, sizeof(sigs));
            for (ssize_t i = 0; i < n; i++)
                if (sigs[i] != SIGCHLD)
                    m->signalled = true;
            mon_reap(m);
        }
    }
}

static _Noreturn void finish(struct mon *m, char *const *on_exit)
{
    remove_run_file(m, "attach.sock");
    remove_run_file(m, "ctl.sock");
    remove_run_file(m, "monitor.pid");
    close(m->attach_fd);
    close(m->ctl_fd);
    logfile_close(&m->log);
    if (on_exit && on_exit[0] && !foreground_cli_alive(m)) {
        /* The on-exit command (cleanup, or rm for --rm) may remove our run dir: we are done with it. */
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGCHLD, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            execvp(on_exit[0], on_exit);
            _exit(127);
        }
        int status;
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    _exit(0);
}

static int parse_args(int argc, char **argv, struct mon *m, int *ready_fd, int *mode, bool *tty_attach)
{
    enum {
        O_READY = 256,
        O_ID,
        O_BUNDLE,
        O_OCI,
        O_RUN,
        O_LOG,
        O_LOGSIZE,
        O_LOGFILES,
        O_LOGFORMAT,
        O_TTY,
        O_STDIN,
        O_WAIT,
        O_RESTART,
        O_RESTARTMAX,
        O_SPAWN,
        O_ATTACH,
        O_HEALTH_ARG,
        O_HEALTH_INTERVAL,
        O_HEALTH_TIMEOUT,
        O_HEALTH_RETRIES,
        O_HEALTH_START,
        O_SECCOMP_CACHE
    };
    static const struct option lo[] = {
        {"ready-fd", required_argument, 0, O_READY},
        {"id", required_argument, 0, O_ID},
        {"bundle", required_argument, 0, O_BUNDLE},
        {"oci-root", required_argument, 0, O_OCI},
        {"run-dir", required_argument, 0, O_RUN},
        {"log-path", required_argument, 0, O_LOG},
        {"log-max-size", required_argument, 0, O_LOGSIZE},
        {"log-max-files", required_argument, 0, O_LOGFILES},
        {"log-format", required_argument, 0, O_LOGFORMAT},
        {"tty", no_argument, 0, O_TTY},
        {"open-stdin", no_argument, 0, O_STDIN},
        {"wait-for-attach", no_argument, 0, O_WAIT},
        {"restart", required_argument, 0, O_RESTART},
        {"restart-max", required_argument, 0, O_RESTARTMAX},
        {"spawn", no_argument, 0, O_SPAWN},
        {"attach", no_argument, 0, O_ATTACH},
        {"health-arg", required_argument, 0, O_HEALTH_ARG},
        {"health-interval", required_argument, 0, O_HEALTH_INTERVAL},
        {"health-timeout", required_argument, 0, O_HEALTH_TIMEOUT},
        {"health-retries", required_argument, 0, O_HEALTH_RETRIES},
        {"health-start-period", required_argument, 0, O_HEALTH_START},
        {"seccomp-cache", required_argument, 0, O_SECCOMP_CACHE},
        {0, 0, 0, 0},
    };
    struct servin_monitor_opts *o = &m->o;
    size_t nhealth = 0;
    o->log_max_files = 1;
    optind = 0;
    opterr = 0; /* one error line, ours */
    int c;
    while ((c = getopt_long(argc, argv, "+:", lo, NULL)) != -1) {
        switch (c) {
        case O_READY:
            *ready_fd = atoi(optarg);
            break;
        case O_ID:
            o->id = optarg;
            break;
        case O_BUNDLE:
            o->bundle = optarg;
            break;
        case O_OCI:
            o->oci_root = optarg;
            break;
        case O_RUN:
            o->run_dir = optarg;
            break;
        case O_SECCOMP_CACHE:
            o->seccomp_cache_dir = optarg;
            break;
        case O_LOG:
            o->log_path = optarg;
            break;
        case O_LOGSIZE:
            o->log_max_size = strtoll(optarg, NULL, 10);
            break;
        case O_LOGFILES:
            o->log_max_files = atoi(optarg);
            break;
        case O_LOGFORMAT:
            o->log_format = optarg;
            break;
        case O_TTY:
            o->tty = true;
            *tty_attach = true;
            break;
        case O_STDIN:
            o->open_stdin = true;
            break;
        case O_WAIT:
            o->wait_for_attach = true;
            break;
        case O_RESTART:
            o->restart_policy = optarg;
            break;
        case O_RESTARTMAX:
            o->restart_max = atoi(optarg);
            break;
        case O_SPAWN:
            *mode = 1;
            break;
        case O_ATTACH:
            *mode = 2;
            break;
        case O_HEALTH_ARG:
            m->health_argv = xreallocarray(m->health_argv, nhealth + 2, sizeof(char *));
            m->health_argv[nhealth++] = optarg;
            m->health_argv[nhealth] = NULL;
            break;
        case O_HEALTH_INTERVAL:
            o->health_interval_ns = strtoll(optarg, NULL, 10);
            break;
        case O_HEALTH_TIMEOUT:
            o->health_timeout_ns = strtoll(optarg, NULL, 10);
            break;
        case O_HEALTH_RETRIES:
            o->health_retries = atoi(optarg);
            break;
        case O_HEALTH_START:
            o->health_start_period_ns = strtoll(optarg, NULL, 10);
            break;
        default:
            return -1;
        }
    }
    o->on_exit_argv = optind < argc ? argv + optind : NULL;
    o->health_argv = m->health_argv;
    if (o->health_interval_ns <= 0)
        o->health_interval_ns = SERVIN_HEALTH_DEFAULT_INTERVAL_NS;
    if (o->health_timeout_ns <= 0)
        o->health_timeout_ns = SERVIN_HEALTH_DEFAULT_TIMEOUT_NS;
    if (o->health_retries <= 0)
        o->health_retries = SERVIN_HEALTH_DEFAULT_RETRIES;
    return 0;
}

/* `monitor --spawn ...`: spawn a monitor as servin_monitor_spawn does, print "<pid> <monitor pid>". */
static _Noreturn void spawn_mode(struct mon *m)
{
    struct servin_error err = {0};
    pid_t cpid = 0, mpid = 0;
    int code = 0;
    if (servin_monitor_spawn(&m->o, &cpid, &mpid, &code, &err) < 0) {
        fprintf(stderr, "servin: %s\n", err.msg);
        exit(code ? code : 125);
    }
    printf("%d %d\n", (int)cpid, (int)mpid);
    exit(0);
}

/* `monitor --attach --run-dir DIR [--tty]`: the attach client on our own stdio. */
static _Noreturn void attach_mode(struct mon *m, bool tty)
{
    struct servin_error err = {0};
    if (servin_monitor_attach(m->o.run_dir, m->o.open_stdin ? 0 : -1, 1, 2, tty, &err) < 0) {
        fprintf(stderr, "servin: %s\n", err.msg);
        exit(125);
    }
    exit(0);
}

static void setup_signals(struct mon *m)
{
    int sp[2];
    if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0)
        _exit(125);
    m->sig_rd = sp[0];
    m->sig_wr = sig_wr = sp[1];
    /* Handlers, not ignored or blocked signals: the container's init is our clone and would inherit
     * a mask or SIG_IGN across its exec, while handlers reset to the default there. */
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* Every write to a client or a pipe passes MSG_NOSIGNAL or expects EPIPE: no SIGPIPE handling. */
    signal(SIGPIPE, SIG_DFL);
}

_Noreturn void servin_monitor_main(int argc, char **argv)
{
    /* Static, zero already: the log's line buffers stay out of the stack, and only the fields
     * set here are touched (a whole-struct assignment would dirty every page of it). */
    static struct mon mon;
    struct mon *m = &mon;
    int ready_fd = -1, mode = 0;
    bool tty_attach = false;
    m->run_dirfd = m->attach_fd = m->ctl_fd = m->out_fd = m->err_fd = m->in_fd = m->pty_fd = -1;
    m->sig_rd = m->sig_wr = m->health.out_fd = -1;
    m->health.due_ms = -1;
    if (parse_args(argc, argv, m, &ready_fd, &mode, &tty_attach) < 0) {
        fprintf(stderr, "servin: monitor: unknown or incomplete flag %s\n", argv[optind - 1]);
        exit(125);
    }
    if (ready_fd >= 0)
        fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
    if (mode == 2 && m->o.run_dir)
        attach_mode(m, tty_attach);
    if (!m->o.id || !m->o.bundle || !m->o.oci_root || !m->o.run_dir) {
        report(&ready_fd, "err 125 monitor: --id, --bundle, --oci-root and --run-dir are required");
        fprintf(stderr, "servin: monitor: --id, --bundle, --oci-root and --run-dir are required\n");
        exit(125);
    }
    if (mode == 1)
        spawn_mode(m);

    struct servin_error err = {0};
    char pidbuf[32];
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    setup_signals(m);
    if (servin_mkdir_p(m->o.run_dir, 0700, &err) < 0) {
        report(&ready_fd, "err 125 %s", err.msg);
        _exit(125);
    }
    m->run_dirfd = open(m->o.run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
    write_run_file(m, "monitor.pid", "%s", pidbuf);
    /* A fresh start: the last run's exit and a stop request are history. */
    remove_run_file(m, "exit");
    remove_run_file(m, "stopped");
    bool cri = m->o.log_format && strcmp(m->o.log_format, "cri") == 0;
    if (logfile_open(&m->log, m->o.log_path, cri, m->o.log_max_size, m->o.log_max_files, &err) < 0 ||
        mon_io_listen(m, &err) < 0) {
        report(&ready_fd, "err 125 %s", err.msg);
        remove_run_file(m, "monitor.pid");
        _exit(125);
    }
    if (m->o.wait_for_attach) {
        report(&ready_fd, "ok 0 %d", (int)getpid());
        if (!mon_io_wait_client(m)) {
            write_run_file(m, "exit", "{\"ExitCode\":%d,\"FinishedAt\":%lld,\"OOMKilled\":false}",
                           128 + SIGTERM, (long long)monitor_now_ns());
            finish(m, m->o.on_exit_argv);
        }
    }

    int restarts = 0, delay = BACKOFF_FIRST_MS;
    for (;;) {
        int code;
        int64_t started = monitor_now_ns();
        servin_error_clear(&err);
        if (start_container(m, &code, &err) < 0) {
            const char *msg = bare_message(m, err.msg);
            /* A spawner still waiting handles the failure itself: no on-exit command then. */
            bool told = ready_fd < 0;
            report(&ready_fd, "err %d %s", code, msg);
            for (int i = m->nclients - 1; i >= 0; i--) {
                char line[SERVIN_ERROR_MSG_MAX + 16];
                int n = snprintf(line, sizeof(line), "servin: %s\n", msg);
                unsigned char hdr[8] = {2,
                                        0,
                                        0,
                                        0,
                                        (unsigned char)(n >> 24),
                                        (unsigned char)(n >> 16),
                                        (unsigned char)(n >> 8),
                                        (unsigned char)n};
                if (!m->o.tty)
                    send(m->clients[i].fd, hdr, sizeof(hdr), MSG_NOSIGNAL);
                send(m->clients[i].fd, line, (size_t)n, MSG_NOSIGNAL);
            }
            mon_close_clients(m);
            write_run_file(m, "exit", "{\"ExitCode\":%d,\"FinishedAt\":%lld,\"OOMKilled\":false}", code,
                           (long long)monitor_now_ns());
            if (!told || !should_restart(m, code, restarts))
                finish(m, told ? m->o.on_exit_argv : NULL);
        } else {
            mon_health_begin(m, started);
            write_run_file(m, "state",
                           "{\"Status\":\"running\",\"Pid\":%d,\"StartedAt\":%lld,\"RestartCount\":%d}",
                           (int)m->pid, (long long)started, restarts);
            report(&ready_fd, "ok %d %d", (int)m->pid, (int)getpid());
            mon_trim_memory();
            int status = mon_io_run(m);
            mon_health_end(m);
            code = exit_code_of(status);
            bool oom = read_oom_kills(m) > m->oom_kills;
            write_run_file(m, "exit", "{\"ExitCode\":%d,\"FinishedAt\":%lld,\"OOMKilled\":%s}", code,
                           (long long)monitor_now_ns(), oom ? "true" : "false");
            servin_oci_delete(m->o.oci_root, m->o.id, true, &err);
            mon_close_stdio(m);
            mon_close_clients(m);
            m->pid = 0;
            if (!should_restart(m, code, restarts))
                finish(m, m->o.on_exit_argv);
        }
        if (monitor_now_ns() - started >= BACKOFF_RESET_NS)
            delay = BACKOFF_FIRST_MS;
        write_run_file(m, "state",
                       "{\"Status\":\"restarting\",\"Pid\":0,\"StartedAt\":%lld,\"RestartCount\":%d}",
                       (long long)started, restarts);
        backoff_wait(m, delay);
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
        if (!should_restart(m, code, restarts))
            finish(m, m->o.on_exit_argv);
        restarts++;
    }
}
