/* daemon/cri/container_stream_io.c — the relays of the streaming server: an exec's pipes, a
 * container's attach socket, and TCP connections inside a pod's network namespace, each to and
 * from one websocket speaking Kubernetes' channel protocol (see container_stream.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "container_stream.h"
#include "servin/cleanup.h"
#include "servin/monitor.h"

enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2, CH_ERROR = 3, CH_RESIZE = 4, CH_CLOSE = 255 };

/* One client message, decoded: channel and payload (base64 undone). 0 data, 1 nothing to act on
 * (ping answered, empty), -1 the stream ended (close frame or error). */
static int client_message(int fd, const struct stream_req *r, int *channel, unsigned char **data, size_t *len)
{
    int op;
    unsigned char *p = NULL;
    size_t n = 0;
    if (ws_recv(fd, &op, &p, &n) < 0)
        return -1;
    if (op == WS_CLOSE) {
        free(p);
        return -1;
    }
    if (op == WS_PING) {
        ws_send(fd, WS_PONG, p, n);
        free(p);
        return 1;
    }
    if ((op != WS_BINARY && op != WS_TEXT) || n == 0) {
        free(p);
        return 1;
    }
    if (r->base64 && op == WS_TEXT) {
        *channel = p[0] - '0';
        unsigned char *dec = xmalloc(n);
        int m = EVP_DecodeBlock(dec, p + 1, (int)(n - 1));
        /* DecodeBlock counts the padding's zero bytes: drop them. */
        for (size_t i = n - 1; m > 0 && i > 1 && p[i] == '='; i--)
            m--;
        free(p);
        *data = dec;
        *len = m > 0 ? (size_t)m : 0;
        return 0;
    }
    *channel = p[0];
    memmove(p, p + 1, n - 1);
    *data = p;
    *len = n - 1;
    return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void send_status(int fd, const struct stream_req *r, int exit_code, const char *failure)
{
    json_t *st;
    if (failure)
        st = json_pack("{s:{},s:s,s:s,s:s}", "metadata", "status", "Failure", "message", failure, "reason",
                       "InternalError");
    else if (exit_code == 0)
        st = json_pack("{s:{},s:s}", "metadata", "status", "Success");
    else {
        _cleanup_free_ char *msg =
            xasprintf("command terminated with non-zero exit code: exit status %d", exit_code);
        _cleanup_free_ char *code = xasprintf("%d", exit_code);
        st = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s,s:s}]}}", "metadata", "status", "Failure", "message",
                       msg, "reason", "NonZeroExitCode", "details", "causes", "reason", "ExitCode", "message",
                       code);
    }
    _cleanup_free_ char *text = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    ws_send_channel(fd, CH_ERROR, text, strlen(text), r->base64);
}

/* ---- exec ---- */

/* With a terminal, `servin exec -t` gets a pty of ours as its stdout: its terminal proxy copies
 * that pty's size into the container's at start and on SIGWINCH, which is how a resize reaches
 * it. Raw, so that the container's output passes unchanged. */
static int open_pty(int fds[2])
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return -1;
    char name[128];
    struct termios t;
    int slave = -1;
    if (grantpt(master) == 0 && unlockpt(master) == 0 && ptsname_r(master, name, sizeof(name)) == 0)
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0 || tcgetattr(slave, &t) < 0) {
        close(master);
        if (slave >= 0)
            close(slave);
        return -1;
    }
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
    fds[0] = master;
    fds[1] = slave;
    return 0;
}

static void exec_resize(int master, pid_t pid, const unsigned char *data, size_t len)
{
    json_t *size = json_loadb((const char *)data, len, 0, NULL);
    json_int_t w = json_integer_value(json_object_get(size, "Width"));
    json_int_t h = json_integer_value(json_object_get(size, "Height"));
    json_decref(size);
    struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
    if (w > 0 && h > 0 && ioctl(master, TIOCSWINSZ, &ws) == 0)
        kill(-pid, SIGWINCH);
}

void stream_exec(int fd, struct stream_req *r)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || (r->in && pipe2(in, O_CLOEXEC) < 0) ||
        (r->tty ? open_pty(out) : pipe2(out, O_CLOEXEC)) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        send_status(fd, r, -1, "could not create the exec's pipes");
        goto out;
    }
    struct servin_store store = {.root = r->root};
    pid_t pid = cri_exec_spawn(&store, r->container, r->cmd, r->n_cmd, r->in, r->tty, r->in ? in[0] : null,
                               out[1], errp[1]);
    close(out[1]);
    close(errp[1]);
    out[1] = errp[1] = -1;
    if (r->in) {
        close(in[0]);
        in[0] = -1;
    }
    if (pid < 0) {
        send_status(fd, r, -1, "could not start servin exec");
        goto out;
    }
    int fds[2] = {out[0], errp[0]};
    bool client = true;
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[3] = {{.fd = fds[0], .events = POLLIN},
                              {.fd = fds[1], .events = POLLIN},
                              {.fd = client ? fd : -1, .events = POLLIN}};
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (!p[k].revents)
                continue;
            char buf[32768];
            ssize_t n = read(fds[k], buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(fds[k]);
                fds[k] = -1;
                if (k == 0)
                    out[0] = -1;
                else
                    errp[0] = -1;
                continue;
            }
            bool wanted = k == 0 ? r->out : r->err;
            if (wanted && ws_send_channel(fd, k == 0 ? CH_STDOUT : CH_STDERR, buf, (size_t)n, r->base64) < 0)
                client = false;
        }
        if (p[2].revents) {
            int ch = -1;
            unsigned char *data = NULL;
            size_t len = 0;
            int got = client_message(fd, r, &ch, &data, &len);
            if (got < 0) {
                /* The client is gone: nobody will read the output; end the process. */
                client = false;
                kill(-pid, SIGKILL);
            } else if (got == 0 && ch == CH_STDIN && in[1] >= 0) {
                if (write_all(in[1], data, len) < 0) {
                    close(in[1]);
                    in[1] = -1;
                }
            } else if (got == 0 && ch == CH_RESIZE && r->tty && out[0] >= 0) {
                exec_resize(out[0], pid, data, len);
            } else if (got == 0 && ch == CH_CLOSE && len >= 1 && data[0] == CH_STDIN && in[1] >= 0) {
                close(in[1]);
                in[1] = -1;
            }
            free(data);
        }
    }
    if (in[1] >= 0) {
        close(in[1]);
        in[1] = -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (client)
        send_status(fd, r, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), NULL);
out:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    if (null >= 0)
        close(null);
}

/* ---- attach ---- */

/* Without a tty the attach socket carries Docker's stdcopy frames: a header (stream, 3 zero
 * bytes, big-endian length) before each piece of output. */
struct frames {
    unsigned char buf[65536 + 8];
    size_t len;
};

static int forward_frames(int fd, const struct stream_req *r, struct frames *f)
{
    size_t off = 0;
    while (f->len - off >= 8) {
        uint32_t n = ((uint32_t)f->buf[off + 4] << 24) | ((uint32_t)f->buf[off + 5] << 16) |
                     ((uint32_t)f->buf[off + 6] << 8) | f->buf[off + 7];
        if (n > sizeof(f->buf) - 8)
            return -1;
        if (f->len - off - 8 < n)
            break;
        int stream = f->buf[off];
        bool wanted = stream == 2 ? r->err : r->out;
        if (wanted &&
            ws_send_channel(fd, stream == 2 ? CH_STDERR : CH_STDOUT, f->buf + off + 8, n, r->base64) < 0)
            return -1;
        off += 8 + n;
    }
    memmove(f->buf, f->buf + off, f->len - off);
    f->len -= off;
    return 0;
}

void stream_attach(int fd, struct stream_req *r)
{
    struct servin_error err = {0};
    const char *run_dir = r->root;
    int sock = servin_monitor_attach_connect(run_dir, &err);
    if (sock < 0) {
        send_status(fd, r, -1, err.msg);
        return;
    }
    struct frames *f = xcalloc(1, sizeof(*f));
    bool in_open = r->in;
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents) {
            ssize_t n = r->tty ? read(sock, f->buf, sizeof(f->buf))
                               : read(sock, f->buf + f->len, sizeof(f->buf) - f->len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                send_status(fd, r, 0, NULL);
                break;
            }
            if (r->tty) {
                if (r->out && ws_send_channel(fd, CH_STDOUT, f->buf, (size_t)n, r->base64) < 0)
                    break;
            } else {
                f->len += (size_t)n;
                if (forward_frames(fd, r, f) < 0)
                    break;
            }
        }
        if (p[1].revents) {
            int ch = -1;
            unsigned char *data = NULL;
            size_t len = 0;
            int got = client_message(fd, r, &ch, &data, &len);
            if (got < 0) {
                free(data);
                break; /* the client detached; the container goes on */
            }
            if (got == 0 && ch == CH_STDIN && in_open && write_all(sock, data, len) < 0)
                in_open = false;
            if (got == 0 && ch == CH_CLOSE && len >= 1 && data[0] == CH_STDIN && in_open) {
                shutdown(sock, SHUT_WR);
                in_open = false;
            }
            if (got == 0 && ch == CH_RESIZE && r->tty) {
                json_t *size = json_loadb((const char *)data, len, 0, NULL);
                json_int_t w = json_integer_value(json_object_get(size, "Width"));
                json_int_t h = json_integer_value(json_object_get(size, "Height"));
                json_decref(size);
                servin_error_clear(&err);
                if (w > 0 && h > 0)
                    servin_monitor_resize(run_dir, (unsigned)h, (unsigned)w, &err);
            }
            free(data);
        }
    }
    free(f);
    close(sock);
}

/* ---- port forwarding ---- */

/* A TCP connection to 127.0.0.1:port made inside the namespace (setns affects this thread only,
 * and a socket keeps the namespace it was made in). */
static int connect_in(const char *netns, int port, char *why, size_t why_len)
{
    int self = -1, target = -1, sock = -1;
    if (netns && *netns) {
        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        target = open(netns, O_RDONLY | O_CLOEXEC);
        if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0) {
            snprintf(why, why_len, "enter the pod's network namespace %s: %s", netns, strerror(errno));
            goto out;
        }
    }
    sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int e = errno;
    if (self >= 0 && setns(self, CLONE_NEWNET) < 0)
        abort(); /* a daemon thread left in a pod's namespace would serve the wrong network */
    if (sock < 0) {
        snprintf(why, why_len, "socket: %s", strerror(e));
        goto out;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
        snprintf(why, why_len, "failed to connect to localhost:%d inside the pod's network namespace: %s",
                 port, strerror(errno));
        close(sock);
        sock = -1;
    }
out:
    if (self >= 0)
        close(self);
    if (target >= 0)
        close(target);
    return sock;
}

void stream_port_forward(int fd, struct stream_req *r)
{
    size_t n = r->n_ports;
    int *socks = xcalloc(n + 1, sizeof(int));
    size_t open_socks = 0;
    for (size_t i = 0; i < n; i++) {
        /* Each channel opens with its port, little endian, as kubelet's websocket forwarding does. */
        unsigned char port_le[2] = {(unsigned char)(r->ports[i] & 0xff), (unsigned char)(r->ports[i] >> 8)};
        ws_send_channel(fd, (int)(2 * i), port_le, 2, r->base64);
        ws_send_channel(fd, (int)(2 * i + 1), port_le, 2, r->base64);
        char why[512] = "";
        socks[i] = connect_in(r->netns, r->ports[i], why, sizeof(why));
        if (socks[i] < 0)
            ws_send_channel(fd, (int)(2 * i + 1), why, strlen(why), r->base64);
        else
            open_socks++;
    }
    struct pollfd *p = xcalloc(n + 1, sizeof(*p));
    while (open_socks > 0) {
        for (size_t i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = socks[i], .events = POLLIN};
        p[n] = (struct pollfd){.fd = fd, .events = POLLIN};
        if (poll(p, n + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (!p[i].revents || socks[i] < 0)
                continue;
            char buf[32768];
            ssize_t got = read(socks[i], buf, sizeof(buf));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(socks[i]);
                socks[i] = -1;
                open_socks--;
                continue;
            }
            if (ws_send_channel(fd, (int)(2 * i), buf, (size_t)got, r->base64) < 0)
                open_socks = 0;
        }
        if (p[n].revents) {
            int ch = -1;
            unsigned char *data = NULL;
            size_t len = 0;
            int got = client_message(fd, r, &ch, &data, &len);
            if (got < 0) {
                free(data);
                break;
            }
            if (got == 0 && ch >= 0 && ch % 2 == 0 && (size_t)(ch / 2) < n && socks[ch / 2] >= 0 &&
                write_all(socks[ch / 2], data, len) < 0) {
                close(socks[ch / 2]);
                socks[ch / 2] = -1;
                open_socks--;
            }
            free(data);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (socks[i] >= 0)
            close(socks[i]);
    free(socks);
    free(p);
}
