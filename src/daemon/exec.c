/* daemon/exec.c — attach and exec: Docker's hijacked streams (101 UPGRADED, Upgrade: tcp).
 *
 * attach relays the client's socket to the monitor's attach socket, which already speaks Docker's
 * framing (raw with a tty, stdcopy frames without). An attach that comes before the start (what
 * `docker run` does) is remembered, and the start then asks the monitor to wait for it, so that no
 * early output is lost.
 *
 * exec runs `servin exec` (this binary) as a child process with pipes for its stdio: the runtime's
 * exec forks into the container's namespaces, which a threaded daemon must not do in-process (a fork
 * taken while another thread holds an allocator lock deadlocks), and the process needs stdio of its
 * own. The CLI's exec path is thus the daemon's, word for word.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "daemon.h"
#include "daemon_internal.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/monitor.h"

extern char **environ;

/* ---- pending attaches: container ids with a client waiting for the start ---- */

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *pending; /* {"<id>": count} */

static void pending_add(const char *id, int delta)
{
    pthread_mutex_lock(&pending_lock);
    if (!pending)
        pending = json_object();
    json_int_t n = json_integer_value(json_object_get(pending, id)) + delta;
    if (n > 0)
        json_object_set_new(pending, id, json_integer(n));
    else
        json_object_del(pending, id);
    pthread_mutex_unlock(&pending_lock);
}

bool daemon_attach_pending(const char *id)
{
    pthread_mutex_lock(&pending_lock);
    bool any = pending && json_object_get(pending, id) != NULL;
    pthread_mutex_unlock(&pending_lock);
    return any;
}

/* ---- relaying ---- */

/* Copy client <-> (out_r, in_w) until out_r ends. Client bytes go to in_w when want_in (then the
 * client's half-close closes in_w's write side); early bytes were read before the upgrade. */
static void relay(int client, int out_r, int *in_wp, bool want_in, const char *early, size_t early_len,
                  bool in_is_sock)
{
    char buf[32768];
    int in_w = *in_wp;
    bool in_open = want_in && in_w >= 0;
    if (in_open && early_len && daemon_write_all(in_w, early, early_len) < 0)
        in_open = false;
    for (;;) {
        struct pollfd p[2] = {{.fd = out_r, .events = POLLIN},
                              {.fd = client, .events = in_open ? POLLIN : 0}};
        if (daemon_stopping())
            return;
        if (poll(p, 2, 500) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[0].revents) {
            ssize_t n = read(out_r, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return;
            if (daemon_write_all(client, buf, (size_t)n) < 0)
                return; /* the client went away */
        }
        if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(client, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || daemon_write_all(in_w, buf, (size_t)n) < 0) {
                in_open = false;
                if (in_is_sock) {
                    shutdown(in_w, SHUT_WR);
                } else {
                    close(in_w);
                    *in_wp = -1;
                }
                if (n < 0)
                    return;
            }
        }
        if (!in_open && (p[1].revents & (POLLHUP | POLLERR)))
            return;
    }
}

/* ---- attach ---- */

struct attach_job {
    char *id;
    char *run_dir;
    char *log_path; /* logs=1: what the container wrote so far comes first */
    bool want_stdin, tty, stream;
    bool waiting; /* registered as pending */
};

struct replay_ctx {
    int sock;
    bool tty;
};

static int replay_line(void *ctx, int stream, const char *text, size_t len)
{
    struct replay_ctx *rc = ctx;
    unsigned char hdr[8] = {(unsigned char)stream,
                            0,
                            0,
                            0,
                            (unsigned char)(len >> 24),
                            (unsigned char)(len >> 16),
                            (unsigned char)(len >> 8),
                            (unsigned char)len};
    if (!rc->tty && daemon_write_all(rc->sock, hdr, 8) < 0)
        return -1;
    return daemon_write_all(rc->sock, text, len);
}

static void attach_job_free(void *p)
{
    struct attach_job *j = p;
    if (j->waiting)
        pending_add(j->id, -1);
    free(j->id);
    free(j->run_dir);
    free(j->log_path);
    free(j);
}

static void attach_main(void *arg, int sock, const char *early, size_t early_len)
{
    struct attach_job *j = arg;
    struct servin_error err = {0};
    int fd = -1;
    if (j->log_path) {
        struct replay_ctx rc = {.sock = sock, .tty = j->tty};
        struct servin_log_read_opts o = {.tail = -1, .run_dir = j->run_dir};
        servin_log_read(j->log_path, &o, replay_line, &rc, &err);
        servin_error_clear(&err);
    }
    if (!j->stream)
        return;
    /* Before the start the monitor is not there yet: wait for its socket (a minute at most). */
    for (int i = 0; i < 6000; i++) {
        servin_error_clear(&err);
        fd = servin_monitor_attach_connect(j->run_dir, &err);
        if (fd >= 0 || !j->waiting)
            break;
        usleep(10000);
    }
    if (j->waiting) {
        pending_add(j->id, -1);
        j->waiting = false;
    }
    if (fd < 0)
        return;
    int in_fd = fd;
    relay(sock, fd, &in_fd, j->want_stdin, early, early_len, true);
    close(fd);
}

static int attach(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store;
    struct servin_container c = {0};
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    servin_container_reconcile(store, &c, &err);
    bool active = servin_container_is_active(&c);
    if (!active && c.state != SERVIN_CONTAINER_CREATED) {
        /* Docker attaches to a stopped container too (its start may follow); so do we. */
    }
    if (c.state == SERVIN_CONTAINER_PAUSED) {
        servin_container_clear(&c);
        return dreply_error(r, 409, "You cannot attach to a paused container, unpause it first");
    }
    struct attach_job *j = xcalloc(1, sizeof(*j));
    j->id = xstrdup(c.id);
    j->run_dir = servin_container_run_dir(store, c.id);
    j->want_stdin = dreq_query_bool(r, "stdin", false);
    j->stream = dreq_query_bool(r, "stream", false);
    j->tty = json_is_true(json_object_get(json_object_get(c.config, "Config"), "Tty"));
    if (dreq_query_bool(r, "logs", false))
        j->log_path = servin_container_log_path(store, &c);
    if (!j->stream && !j->log_path) {
        /* Docker: with neither stream nor logs there is nothing to attach to. */
        servin_container_clear(&c);
        attach_job_free(j);
        return dreply_error(r, 400, "attach: choose stream=1 or logs=1 (or both)");
    }
    if (!active && j->stream) {
        j->waiting = true;
        pending_add(j->id, 1);
    }
    bool tty = json_is_true(json_object_get(json_object_get(c.config, "Config"), "Tty"));
    servin_container_clear(&c);
    return dreply_hijack(
        r, tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
        attach_main, j, attach_job_free);
}

/* ---- exec ---- */

struct exec_entry {
    char id[65];
    char *container; /* full id */
    json_t *config;  /* the create body */
    bool running, done;
    int exit_code;
    pid_t pid;
    int pty; /* the master of the pty a tty exec runs on, while it runs (-1 otherwise) */
};

static pthread_mutex_t exec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct exec_entry **execs;
static size_t n_execs;

static struct exec_entry *exec_find(const char *id)
{
    for (size_t i = 0; i < n_execs; i++)
        if (strcmp(execs[i]->id, id) == 0)
            return execs[i];
    return NULL;
}

static void random_hex(char out[65])
{
    unsigned char b[32];
    _cleanup_close_ int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)rand();
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int exec_create(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *body = NULL;
    if (!store || dreq_json_body(r, &body, &err) < 0)
        return dreply_servin_error(r, &err);
    json_t *cmd = json_object_get(body, "Cmd");
    if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
        json_decref(body);
        return dreply_error(r, 400, "No exec command specified");
    }
    size_t i;
    json_t *v;
    json_array_foreach (cmd, i, v)
        if (!json_is_string(v)) {
            json_decref(body);
            return dreply_error(r, 400, "invalid Cmd: expected a list of strings");
        }
    struct servin_container c = {0};
    if (dreq_container(r, r->params[0], &c, NULL) < 0) {
        json_decref(body);
        return 0;
    }
    servin_container_reconcile(store, &c, &err);
    if (c.state != SERVIN_CONTAINER_RUNNING) {
        int rc = dreply_error(r, 409, "Container %s is %s", c.id,
                              c.state == SERVIN_CONTAINER_PAUSED ? "paused, unpause the container before exec"
                                                                 : "not running");
        servin_container_clear(&c);
        json_decref(body);
        return rc;
    }
    struct exec_entry *e = xcalloc(1, sizeof(*e));
    random_hex(e->id);
    e->container = xstrdup(c.id);
    e->config = body;
    e->pty = -1;
    servin_container_clear(&c);
    pthread_mutex_lock(&exec_lock);
    execs = xreallocarray(execs, n_execs + 1, sizeof(*execs));
    execs[n_execs++] = e;
    pthread_mutex_unlock(&exec_lock);
    return dreply_json(r, 201, json_pack("{s:s}", "Id", e->id));
}

/* `servin --root ROOT exec [flags] CONTAINER CMD...` from the exec's config. */
static char **exec_argv(const char *root, const struct exec_entry *e, bool tty, bool in)
{
    json_t *cfg = e->config;
    size_t n = 0, cap = 16 + 2 * json_array_size(json_object_get(cfg, "Env")) +
                        json_array_size(json_object_get(cfg, "Cmd"));
    char **argv = xcalloc(cap, sizeof(char *));
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[len > 0 ? len : 0] = '\0';
    argv[n++] = xstrdup(len > 0 ? self : "servin");
    argv[n++] = xstrdup("--root");
    argv[n++] = xstrdup(root);
    argv[n++] = xstrdup("exec");
    if (in)
        argv[n++] = xstrdup("-i");
    if (tty)
        argv[n++] = xstrdup("-t");
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(cfg, "Env"), i, v)
        if (json_is_string(v))
            argv[n++] = xasprintf("--env=%s", json_string_value(v));
    const char *user = json_string_value(json_object_get(cfg, "User"));
    if (user && *user)
        argv[n++] = xasprintf("--user=%s", user);
    const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
    if (wd && *wd)
        argv[n++] = xasprintf("--workdir=%s", wd);
    if (json_is_true(json_object_get(cfg, "Privileged")))
        argv[n++] = xstrdup("--privileged");
    argv[n++] = xstrdup(e->container);
    json_array_foreach (json_object_get(cfg, "Cmd"), i, v)
        argv[n++] = xstrdup(json_string_value(v));
    argv[n] = NULL;
    return argv;
}

/* posix_spawn: safe from a threaded process, with a clean signal mask and dispositions. */
static pid_t spawn(char **argv, int in_fd, int out_fd, int err_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    posix_spawnattr_init(&attr);
    sigset_t none, pipe_only;
    sigemptyset(&none);
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &pipe_only);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, &attr, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return pid;
}

/* A tty exec runs `servin exec -t` on a pty of ours: the child is a session leader whose
 * controlling terminal is the pty's slave (opened after setsid, without O_NOCTTY), so a resize of
 * the master reaches it as SIGWINCH and it passes the size on to the container's own pty. */
static pid_t spawn_on_pty(char **argv, const char *slave, int in_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, slave, O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_init(&attr);
    sigset_t none, pipe_only;
    sigemptyset(&none);
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &pipe_only);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, &attr, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return pid;
}

/* A pty pair whose slave passes bytes through untouched (the container's own pty does the terminal
 * work); the master in *master, the slave's path in slave. */
static int open_pty(int *master, char *slave, size_t len, unsigned short rows, unsigned short cols)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return -1;
    struct termios t;
    int s = -1;
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, len) != 0 ||
        (s = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || tcgetattr(s, &t) < 0) {
        if (s >= 0)
            close(s);
        close(m);
        return -1;
    }
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    struct winsize ws = {.ws_row = rows ? rows : 24, .ws_col = cols ? cols : 80};
    ioctl(m, TIOCSWINSZ, &ws);
    close(s);
    *master = m;
    return 0;
}

struct exec_job {
    char *root;
    char id[65];
    bool tty, in, out, err_stream;
    unsigned short rows, cols; /* ConsoleSize of the start (or create) body; 0 = none given */
};

static void exec_job_free(void *p)
{
    struct exec_job *j = p;
    free(j->root);
    free(j);
}

static void exec_finish(const char *id, int status)
{
    pthread_mutex_lock(&exec_lock);
    struct exec_entry *e = exec_find(id);
    if (e) {
        e->running = false;
        e->done = true;
        e->exit_code =
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    pthread_mutex_unlock(&exec_lock);
}

/* With a pty master (a tty exec): stdout and stderr go to its slave, stdin is in_fd. */
static pid_t exec_spawn(struct exec_job *j, int in_fd, int out_fd, int err_fd, int pty, const char *slave)
{
    pthread_mutex_lock(&exec_lock);
    struct exec_entry *e = exec_find(j->id);
    char **argv = e ? exec_argv(j->root, e, j->tty, j->in) : NULL;
    pthread_mutex_unlock(&exec_lock);
    if (!argv)
        return -1;
    pid_t pid = pty >= 0 ? spawn_on_pty(argv, slave, in_fd) : spawn(argv, in_fd, out_fd, err_fd);
    strv_free(argv);
    pthread_mutex_lock(&exec_lock);
    e = exec_find(j->id);
    if (e && pid > 0) {
        e->pid = pid;
        e->pty = pty;
    }
    pthread_mutex_unlock(&exec_lock);
    return pid;
}

static void exec_forget_pty(const char *id)
{
    pthread_mutex_lock(&exec_lock);
    struct exec_entry *e = exec_find(id);
    if (e)
        e->pty = -1;
    pthread_mutex_unlock(&exec_lock);
}

/* Without a tty the two output pipes become stdcopy frames on the client socket. */
static void relay_frames(int client, int out_r, int err_r, int in_w, bool want_in, const char *early,
                         size_t early_len)
{
    char buf[32768];
    unsigned char hdr[8];
    bool in_open = want_in && in_w >= 0;
    int fds[2] = {out_r, err_r};
    if (in_open && early_len && daemon_write_all(in_w, early, early_len) < 0)
        in_open = false;
    if (!in_open && in_w >= 0) {
        close(in_w);
        in_w = -1;
    }
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[3] = {{.fd = fds[0], .events = POLLIN},
                              {.fd = fds[1], .events = POLLIN},
                              {.fd = in_open ? client : -1, .events = POLLIN}};
        if (daemon_stopping())
            break;
        if (poll(p, 3, 500) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (!p[k].revents)
                continue;
            ssize_t n = read(fds[k], buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(fds[k]);
                fds[k] = -1;
                continue;
            }
            hdr[0] = (unsigned char)(k + 1);
            hdr[1] = hdr[2] = hdr[3] = 0;
            hdr[4] = (unsigned char)(n >> 24);
            hdr[5] = (unsigned char)(n >> 16);
            hdr[6] = (unsigned char)(n >> 8);
            hdr[7] = (unsigned char)n;
            /* A client gone away: keep draining so the process is not blocked on a full pipe. */
            if (daemon_write_all(client, hdr, 8) < 0 || daemon_write_all(client, buf, (size_t)n) < 0)
                in_open = false;
        }
        if (in_open && p[2].revents) {
            ssize_t n = read(client, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || daemon_write_all(in_w, buf, (size_t)n) < 0) {
                in_open = false;
                close(in_w);
                in_w = -1;
            }
        }
    }
    for (int k = 0; k < 2; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    if (in_w >= 0)
        close(in_w);
}

static void exec_main(void *arg, int sock, const char *early, size_t early_len)
{
    struct exec_job *j = arg;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || null < 0) {
        const char *msg = "servin: exec: cannot create pipes\n";
        daemon_write_all(sock, msg, strlen(msg));
        exec_finish(j->id, 126 << 8);
        goto out;
    }
    int pty = -1;
    char slave[64];
    if (j->tty && open_pty(&pty, slave, sizeof(slave), j->rows, j->cols) < 0) {
        const char *msg = "servin: exec: cannot allocate a pty\n";
        daemon_write_all(sock, msg, strlen(msg));
        exec_finish(j->id, 126 << 8);
        goto out;
    }
    pid_t pid = exec_spawn(j, j->in ? in[0] : null, out[1], j->tty ? out[1] : errp[1], pty, slave);
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    in[0] = out[1] = errp[1] = -1;
    if (pid < 0) {
        if (pty >= 0)
            close(pty);
        exec_finish(j->id, 126 << 8);
        goto out;
    }
    if (j->tty) {
        /* Output comes from the pty (EIO once the process and its output are done); input still goes
         * through the stdin pipe, so that the client's half-close is the process's end of input. */
        close(out[0]);
        close(errp[0]);
        out[0] = errp[0] = -1;
        if (!j->in) {
            close(in[1]);
            in[1] = -1;
        }
        relay(sock, pty, &in[1], j->in, early, early_len, false);
        exec_forget_pty(j->id);
        close(pty);
    } else {
        relay_frames(sock, out[0], errp[0], in[1], j->in, early, early_len);
        out[0] = errp[0] = in[1] = -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    exec_finish(j->id, status);
out:
    for (int k = 0; k < 2; k++) {
        if (in[k] >= 0)
            close(in[k]);
        if (out[k] >= 0)
            close(out[k]);
        if (errp[k] >= 0)
            close(errp[k]);
    }
    if (null >= 0)
        close(null);
}

static void *detached_exec(void *arg)
{
    struct exec_job *j = arg;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t pid = exec_spawn(j, null, null, null, -1, NULL);
    if (null >= 0)
        close(null);
    int status = 126 << 8;
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    exec_finish(j->id, status);
    exec_job_free(j);
    return NULL;
}

static int exec_start(struct dreq *r)
{
    struct servin_error err = {0};
    json_t *body = NULL;
    if (dreq_json_body(r, &body, &err) < 0)
        return dreply_servin_error(r, &err);
    struct exec_job *j = xcalloc(1, sizeof(*j));
    pthread_mutex_lock(&exec_lock);
    struct exec_entry *e = exec_find(r->params[0]);
    bool busy = e && (e->running || e->done);
    if (e && !busy) {
        e->running = true;
        snprintf(j->id, sizeof(j->id), "%s", e->id);
        j->tty =
            json_is_true(json_object_get(body, "Tty")) || json_is_true(json_object_get(e->config, "Tty"));
        j->in = json_is_true(json_object_get(e->config, "AttachStdin"));
        json_t *size = json_object_get(body, "ConsoleSize");
        if (!json_is_array(size))
            size = json_object_get(e->config, "ConsoleSize");
        json_int_t rows = json_integer_value(json_array_get(size, 0)),
                   cols = json_integer_value(json_array_get(size, 1));
        if (rows > 0 && rows < 65536 && cols > 0 && cols < 65536) {
            j->rows = (unsigned short)rows;
            j->cols = (unsigned short)cols;
        }
    }
    pthread_mutex_unlock(&exec_lock);
    bool detach = json_is_true(json_object_get(body, "Detach"));
    json_decref(body);
    if (!e || busy) {
        free(j);
        return e ? dreply_error(r, 409, "exec %s has already run", r->params[0])
                 : dreply_error(r, 404, "No such exec instance: %s", r->params[0]);
    }
    j->root = xstrdup(r->d->root ? r->d->root : SERVIN_DEFAULT_ROOT);
    if (detach) {
        j->in = false;
        j->tty = false;
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&th, &attr, detached_exec, j);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            exec_job_free(j);
            return dreply_error(r, 500, "start the exec: %s", strerror(rc));
        }
        return dreply_empty(r, 200);
    }
    return dreply_hijack(
        r, j->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
        exec_main, j, exec_job_free);
}

static int exec_inspect(struct dreq *r)
{
    pthread_mutex_lock(&exec_lock);
    struct exec_entry *e = exec_find(r->params[0]);
    json_t *out = NULL;
    if (e) {
        json_t *cmd = json_object_get(e->config, "Cmd");
        json_t *args = json_deep_copy(cmd);
        json_array_remove(args, 0);
        const char *user = json_string_value(json_object_get(e->config, "User"));
        out = json_pack("{s:s,s:b,s:o,s:{s:b,s:O,s:o,s:b,s:s},s:b,s:b,s:b,s:s,s:i,s:b,s:s}", "ID", e->id,
                        "Running", e->running, "ExitCode", e->done ? json_integer(e->exit_code) : json_null(),
                        "ProcessConfig", "tty", json_is_true(json_object_get(e->config, "Tty")), "entrypoint",
                        json_array_get(cmd, 0), "arguments", args, "privileged",
                        json_is_true(json_object_get(e->config, "Privileged")), "user", user ? user : "",
                        "OpenStdin", json_is_true(json_object_get(e->config, "AttachStdin")), "OpenStderr",
                        json_is_true(json_object_get(e->config, "AttachStderr")), "OpenStdout",
                        json_is_true(json_object_get(e->config, "AttachStdout")), "ContainerID", e->container,
                        "Pid", e->running ? (int)e->pid : 0, "CanRemove", false, "DetachKeys", "");
    }
    pthread_mutex_unlock(&exec_lock);
    if (!out)
        return dreply_error(r, 404, "No such exec instance: %s", r->params[0]);
    return dreply_json(r, 200, out);
}

/* The size goes onto the pty the exec's `servin exec -t` child runs on; the child passes it to the
 * container's pty (see spawn_on_pty). An exec without a tty, or not running, has nothing to size. */
static int exec_resize(struct dreq *r)
{
    long long h = dreq_query_int(r, "h", -1), w = dreq_query_int(r, "w", -1);
    if (h <= 0 || w <= 0 || h > 65535 || w > 65535)
        return dreply_error(r, 400, "resize needs h and w between 1 and 65535");
    pthread_mutex_lock(&exec_lock);
    struct exec_entry *e = exec_find(r->params[0]);
    bool found = e != NULL;
    int rc = 0;
    if (e && e->pty >= 0) {
        struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
        rc = ioctl(e->pty, TIOCSWINSZ, &ws);
    }
    pthread_mutex_unlock(&exec_lock);
    if (!found)
        return dreply_error(r, 404, "No such exec instance: %s", r->params[0]);
    if (rc < 0)
        return dreply_error(r, 500, "resize exec %s: %s", r->params[0], strerror(errno));
    return dreply_empty(r, 200);
}

void daemon_exec_cleanup(void)
{
    pthread_mutex_lock(&exec_lock);
    for (size_t i = 0; i < n_execs; i++) {
        free(execs[i]->container);
        json_decref(execs[i]->config);
        free(execs[i]);
    }
    free(execs);
    execs = NULL;
    n_execs = 0;
    pthread_mutex_unlock(&exec_lock);
    pthread_mutex_lock(&pending_lock);
    json_decref(pending);
    pending = NULL;
    pthread_mutex_unlock(&pending_lock);
}

const struct droute daemon_exec_routes[] = {
    {"POST", "/containers/*/attach", attach, 0}, {"POST", "/containers/*/exec", exec_create, 0},
    {"POST", "/exec/*/start", exec_start, 0},    {"POST", "/exec/*/resize", exec_resize, 0},
    {"GET", "/exec/*/json", exec_inspect, 0},    {NULL, NULL, NULL, 0},
};
