/* cli/cmd_exec.c — `exec`, `attach` and `top`: reaching into a running container. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "run_flags.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/runtime.h"

static int running_container(struct servin_store *store, const char *text, struct servin_container *c,
                             struct servin_error *err)
{
    int r = servin_container_get(store, text, c, err);
    if (r < 0)
        return r;
    if (c->state == SERVIN_CONTAINER_PAUSED)
        return servin_error_set(err, EINVAL, "container %s is paused, unpause the container before exec",
                                text);
    if (c->state != SERVIN_CONTAINER_RUNNING)
        return servin_error_set(err, EINVAL, "container %s is not running", text);
    return 0;
}

/* "name" or "uid" looked up in the container's /etc/passwd (or /etc/group for a group). */
static int lookup_id(const char *rootfs, const char *file, const char *name, long *out)
{
    char *end = NULL;
    long v = strtol(name, &end, 10);
    if (end != name && *end == '\0' && v >= 0) {
        *out = v;
        return 0;
    }
    _cleanup_free_ char *path = xasprintf("%s/etc/%s", rootfs, file);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    char line[1024];
    size_t nl = strlen(name);
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, nl) != 0 || line[nl] != ':')
            continue;
        /* name:x:ID:... */
        char *p = strchr(line + nl + 1, ':');
        if (!p)
            return -1;
        *out = strtol(p + 1, NULL, 10);
        return 0;
    }
    return -1;
}

static int apply_user(struct servin_store *store, const char *id, json_t *process, const char *spec,
                      struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_container_dir(store, id);
    _cleanup_free_ char *rootfs = xasprintf("%s/merged", dir);
    _cleanup_free_ char *user = xstrdup(spec);
    char *colon = strchr(user, ':');
    if (colon)
        *colon = '\0';
    long uid = 0, gid = 0;
    if (lookup_id(rootfs, "passwd", user, &uid) < 0)
        return servin_error_set(err, EINVAL, "unable to find user %s: no matching entries in passwd file",
                                user);
    if (colon) {
        if (lookup_id(rootfs, "group", colon + 1, &gid) < 0)
            return servin_error_set(err, EINVAL, "unable to find group %s: no matching entries in group file",
                                    colon + 1);
    } else {
        /* The user's primary group from its passwd line, as a login would have. */
        _cleanup_free_ char *path = xasprintf("%s/etc/passwd", rootfs);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[1024];
        while (f && fgets(line, sizeof(line), f)) {
            char *fields[4] = {0};
            char *save = NULL, *p = line;
            for (int i = 0; i < 4; i++, p = NULL)
                fields[i] = strtok_r(p, ":", &save);
            if (fields[3] && fields[2] && strtol(fields[2], NULL, 10) == uid) {
                gid = strtol(fields[3], NULL, 10);
                break;
            }
        }
    }
    json_t *u = json_object_get(process, "user");
    if (!json_is_object(u))
        json_object_set_new(process, "user", u = json_object());
    json_object_set_new(u, "uid", json_integer(uid));
    json_object_set_new(u, "gid", json_integer(gid));
    json_object_del(u, "additionalGids");
    return 0;
}

/* ---- the pty of `exec -t`: the runtime hands its master to our console socket ---- */

struct pty_proxy {
    int listen_fd;
    int master;
    bool stdin_on;
};

static int recv_fd(int sock)
{
    char data[1];
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
        return -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm), sizeof(int));
            return fd;
        }
    return -1;
}

static volatile sig_atomic_t winch_seen;

static void on_winch(int sig)
{
    (void)sig;
    winch_seen = 1;
}

/* The size of our terminal (stdin, else stdout: `servin daemon` gives an exec without -i a pty as
 * stdout only) onto the container's pty. */
static void copy_window_size(int master)
{
    struct winsize ws;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
        ioctl(master, TIOCSWINSZ, &ws);
}

/* The proxy runs in a child process, not a thread: the runtime forks to enter the container, and a
 * fork taken while another thread holds an allocator lock deadlocks the child. */
static _Noreturn void pty_proxy_main(struct pty_proxy *p)
{
    int conn = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        _exit(0);
    p->master = recv_fd(conn);
    close(conn);
    if (p->master < 0)
        _exit(0);
    /* A resize of our terminal (SIGWINCH, sent to its foreground group) follows into the container. */
    struct sigaction sa = {.sa_handler = on_winch};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGWINCH, &sa, NULL);
    copy_window_size(p->master);
    char buf[8192];
    bool in_open = p->stdin_on;
    for (;;) {
        struct pollfd fds[2] = {{.fd = p->master, .events = POLLIN},
                                {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN}};
        if (winch_seen) {
            winch_seen = 0;
            copy_window_size(p->master);
        }
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents) {
            ssize_t n = read(p->master, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break; /* EIO: every slave fd is closed, the process ended */
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    break;
                off += w;
            }
        }
        if (in_open && fds[1].revents) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                in_open = false;
            else if (write(p->master, buf, (size_t)n) < 0)
                in_open = false;
        }
    }
    _exit(0);
}

int cmd_exec(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"interactive", no_argument, 0, 'i'},
                                             {"tty", no_argument, 0, 't'},
                                             {"detach", no_argument, 0, 'd'},
                                             {"env", required_argument, 0, 'e'},
                                             {"user", required_argument, 0, 'u'},
                                             {"workdir", required_argument, 0, 'w'},
                                             {"privileged", no_argument, 0, 'P'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool interactive = false, tty = false, detach = false, privileged = false;
    const char *user = NULL, *workdir = NULL;
    _cleanup_strv_ char **env = xcalloc((size_t)argc + 1, sizeof(char *));
    size_t nenv = 0;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "itde:u:w:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'i':
            interactive = true;
            break;
        case 't':
            tty = true;
            break;
        case 'd':
            detach = true;
            break;
        case 'e':
            env[nenv++] = xstrdup(optarg);
            break;
        case 'u':
            user = optarg;
            break;
        case 'w':
            workdir = optarg;
            break;
        case 'P':
            privileged = true;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind < 2)
        return cli_usage_error(ctx, "\"%s\" requires at least 2 arguments.", ctx->cmd->path);
    struct servin_error err = {0};
    /* CVE-2019-5736: what enters a container must not be the binary on disk. */
    if (!getenv("SERVIN_NO_REEXEC") && servin_reexec_sealed(NULL, ctx->argv, &err) < 0)
        return cli_fail(&err);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_container ct = {0};
    if (running_container(store, argv[optind], &ct, &err) < 0)
        return cli_fail(&err);
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    _cleanup_free_ char *sock_path = NULL;
    _cleanup_free_ char *sock_dir = NULL;
    json_t *process = NULL;
    int code = CLI_EXIT_FAILURE;
    struct pty_proxy proxy = {.listen_fd = -1, .master = -1, .stdin_on = interactive};
    pid_t proxy_pid = -1;
    bool raw = false;
    struct termios saved;

    if (servin_oci_process_template(oci_root, ct.id, &process, &err) < 0) {
        code = cli_fail(&err);
        goto out;
    }
    json_t *args = json_array();
    for (int i = optind + 1; i < argc; i++)
        json_array_append_new(args, json_string(argv[i]));
    json_object_set_new(process, "args", args);
    json_object_set_new(process, "terminal", json_boolean(tty));
    json_object_del(process, "consoleSize");
    struct winsize ws;
    /* The pty is sized before the process starts: the proxy's copy comes too late for a first read. */
    if (tty && (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) &&
        ws.ws_row && ws.ws_col)
        json_object_set_new(process, "consoleSize",
                            json_pack("{s:i,s:i}", "height", (int)ws.ws_row, "width", (int)ws.ws_col));
    if (workdir)
        json_object_set_new(process, "cwd", json_string(workdir));
    json_t *penv = json_object_get(process, "env");
    if (!json_is_array(penv))
        json_object_set_new(process, "env", penv = json_array());
    for (size_t i = 0; i < nenv; i++)
        json_array_append_new(penv, json_string(env[i]));
    if (user && apply_user(store, ct.id, process, user, &err) < 0) {
        code = cli_fail(&err);
        goto out;
    }
    if (privileged) {
        json_object_del(process, "capabilities");
        json_t *caps = json_object();
        /* Every capability the kernel knows, in every set the exec uses. */
        json_t *all = json_array();
        const char *names[] = {"CAP_CHOWN",
                               "CAP_DAC_OVERRIDE",
                               "CAP_DAC_READ_SEARCH",
                               "CAP_FOWNER",
                               "CAP_FSETID",
                               "CAP_KILL",
                               "CAP_SETGID",
                               "CAP_SETUID",
                               "CAP_SETPCAP",
                               "CAP_LINUX_IMMUTABLE",
                               "CAP_NET_BIND_SERVICE",
                               "CAP_NET_BROADCAST",
                               "CAP_NET_ADMIN",
                               "CAP_NET_RAW",
                               "CAP_IPC_LOCK",
                               "CAP_IPC_OWNER",
                               "CAP_SYS_MODULE",
                               "CAP_SYS_RAWIO",
                               "CAP_SYS_CHROOT",
                               "CAP_SYS_PTRACE",
                               "CAP_SYS_PACCT",
                               "CAP_SYS_ADMIN",
                               "CAP_SYS_BOOT",
                               "CAP_SYS_NICE",
                               "CAP_SYS_RESOURCE",
                               "CAP_SYS_TIME",
                               "CAP_SYS_TTY_CONFIG",
                               "CAP_MKNOD",
                               "CAP_LEASE",
                               "CAP_AUDIT_WRITE",
                               "CAP_AUDIT_CONTROL",
                               "CAP_SETFCAP",
                               "CAP_MAC_OVERRIDE",
                               "CAP_MAC_ADMIN",
                               "CAP_SYSLOG",
                               "CAP_WAKE_ALARM",
                               "CAP_BLOCK_SUSPEND"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            json_array_append_new(all, json_string(names[i]));
        const char *sets[] = {"bounding", "effective", "permitted"};
        for (size_t i = 0; i < 3; i++)
            json_object_set(caps, sets[i], all);
        json_decref(all);
        json_object_set_new(process, "capabilities", caps);
    }

    _cleanup_free_ char *seccomp_cache = servin_container_seccomp_cache(store);
    struct servin_oci_exec_opts o = {.state_root = oci_root,
                                     .id = ct.id,
                                     .process = process,
                                     .detach = detach,
                                     .seccomp_cache_dir = seccomp_cache};
    if (tty && !detach) {
        /* A short private directory: a socket path must fit in 108 bytes, the run dir may not. */
        sock_dir = xstrdup("/tmp/servin-exec-XXXXXX");
        if (!mkdtemp(sock_dir)) {
            code = cli_failf("exec: create a directory for the console socket: %s", strerror(errno));
            free(sock_dir);
            sock_dir = NULL;
            goto out;
        }
        sock_path = xasprintf("%s/console.sock", sock_dir);
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        strcpy(addr.sun_path, sock_path);
        unlink(sock_path);
        proxy.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (proxy.listen_fd < 0 || bind(proxy.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
            listen(proxy.listen_fd, 1) < 0) {
            code = cli_failf("exec: console socket %s: %s", sock_path, strerror(errno));
            goto out;
        }
        o.console_socket = sock_path;
        fflush(NULL);
        proxy_pid = fork();
        if (proxy_pid == 0)
            pty_proxy_main(&proxy);
        if (proxy_pid < 0) {
            code = cli_failf("exec: start the terminal proxy: %s", strerror(errno));
            goto out;
        }
        if (interactive && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
            struct termios t = saved;
            cfmakeraw(&t);
            raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
        }
    } else if (tty) {
        /* Detached with a pty: nobody reads it; the runtime needs somewhere to send the master. */
        json_object_set_new(process, "terminal", json_false());
    }
    if (!interactive || detach) {
        /* Without -i the process reads an empty stdin, as in Docker. */
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            close(null);
        }
    }
    int exit_code = 0;
    pid_t pid = 0;
    int r = servin_oci_exec(&o, &pid, &exit_code, &err);
    if (proxy_pid > 0) {
        /* The proxy ends on the pty's EIO once the process is gone and its output drained; one that
         * never got a pty (the exec failed) is still waiting in accept(). */
        if (r < 0)
            kill(proxy_pid, SIGTERM);
        while (waitpid(proxy_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    if (r < 0) {
        code = cli_fail(&err);
        if (exit_code == 126 || exit_code == 127)
            code = exit_code;
        else if (err.code == ENOENT)
            code = 127;
    } else {
        code = detach ? 0 : exit_code;
    }
out:
    if (proxy.listen_fd >= 0)
        close(proxy.listen_fd);
    if (proxy.master >= 0)
        close(proxy.master);
    if (sock_path)
        unlink(sock_path);
    if (sock_dir)
        rmdir(sock_dir);
    json_decref(process);
    servin_container_clear(&ct);
    return code;
}

/* ---- attach ---- */

int cmd_attach(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"no-stdin", no_argument, 0, 'n'},
                                             {"sig-proxy", required_argument, 0, 's'},
                                             {"detach-keys", required_argument, 0, 'k'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool no_stdin = false, sig_proxy = true;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'n')
            no_stdin = true;
        else if (c == 's')
            sig_proxy = strcmp(optarg, "false") != 0;
    }
    if (argc - optind != 1)
        return cli_usage_error(ctx, "\"%s\" requires exactly 1 argument.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    struct servin_container ct = {0};
    if (servin_container_get(store, argv[optind], &ct, &err) < 0)
        return cli_fail(&err);
    int code;
    if (!servin_container_is_active(&ct)) {
        code = cli_failf("You cannot attach to a stopped container, start it first");
    } else {
        bool open_stdin = json_is_true(json_object_get(json_object_get(ct.config, "Config"), "OpenStdin"));
        code = cli_container_attach_and_wait(ctx, &ct, open_stdin && !no_stdin, sig_proxy);
    }
    servin_container_clear(&ct);
    return code;
}

/* ---- top ---- */

int cmd_top(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1)
        return c == 'h' ? 0 : CLI_EXIT_USAGE;
    if (argc - optind < 1)
        return cli_usage_error(ctx, "\"%s\" requires at least 1 argument.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    struct servin_container ct = {0};
    if (servin_container_get(store, argv[optind], &ct, &err) < 0)
        return cli_fail(&err);
    if (!servin_container_is_active(&ct)) {
        int code = cli_failf("container %s is not running", argv[optind]);
        servin_container_clear(&ct);
        return code;
    }
    json_t *top = NULL;
    if (servin_container_top(store, &ct, &top, &err) < 0) {
        servin_container_clear(&ct);
        return cli_fail(&err);
    }
    struct cli_table *t = cli_table_new();
    cli_table_add(t, "PID\tUSER\tTIME\tCMD");
    size_t i;
    json_t *row;
    json_array_foreach (json_object_get(top, "Processes"), i, row)
        cli_table_add(t, "%s\t%s\t%s\t%s", json_string_value(json_array_get(row, 0)),
                      json_string_value(json_array_get(row, 1)), json_string_value(json_array_get(row, 2)),
                      json_string_value(json_array_get(row, 3)));
    cli_table_flush(t, stdout);
    json_decref(top);
    servin_container_clear(&ct);
    return 0;
}
