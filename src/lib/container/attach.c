/* container/attach.c — the client side of the monitor's sockets: attach and resize. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "container/monitor_internal.h"
#include "servin/cleanup.h"
#include "servin/monitor.h"

/* sun_path holds 108 bytes; a longer path is reached through its directory's /proc/self/fd link. */
static int unix_addr(const char *path, struct sockaddr_un *addr, int *dirfd, struct servin_error *err)
{
    *addr = (struct sockaddr_un){.sun_family = AF_UNIX};
    *dirfd = -1;
    if (strlen(path) < sizeof(addr->sun_path)) {
        strcpy(addr->sun_path, path);
        return 0;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return servin_error_set(err, ENAMETOOLONG, "socket path %s is too long", path);
    *slash = '\0';
    *dirfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0)
        return servin_error_errno(err, errno, "open the directory of socket %s", path);
    int n = snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", *dirfd, slash + 1);
    if (n < 0 || (size_t)n >= sizeof(addr->sun_path)) {
        close(*dirfd);
        *dirfd = -1;
        return servin_error_set(err, ENAMETOOLONG, "socket name in %s is too long", path);
    }
    return 0;
}

int monitor_listen_unix(const char *path, struct servin_error *err)
{
    struct sockaddr_un addr;
    _cleanup_close_ int dirfd = -1;
    int ret = unix_addr(path, &addr, &dirfd, err);
    if (ret < 0)
        return ret;
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return servin_error_errno(err, errno, "create socket %s", path);
    unlink(addr.sun_path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0)
        return servin_error_errno(err, errno, "listen on %s", path);
    return steal_fd(&fd);
}

int monitor_connect_unix(const char *path, struct servin_error *err)
{
    struct sockaddr_un addr;
    _cleanup_close_ int dirfd = -1;
    int ret = unix_addr(path, &addr, &dirfd, err);
    if (ret < 0)
        return ret;
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return servin_error_errno(err, errno, "create socket for %s", path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return servin_error_errno(err, errno, "connect to %s", path);
    return steal_fd(&fd);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Docker's stdcopy frames: 8-byte header (stream, 3 zero bytes, big-endian length), then data. */
struct demux {
    unsigned char hdr[8];
    size_t hdr_len;
    size_t left; /* payload bytes of the current frame still to come */
    int stream;
};

static void demux_feed(struct demux *d, const char *buf, size_t len, int out_fd, int err_fd)
{
    while (len > 0) {
        if (d->left == 0) {
            size_t k = sizeof(d->hdr) - d->hdr_len < len ? sizeof(d->hdr) - d->hdr_len : len;
            memcpy(d->hdr + d->hdr_len, buf, k);
            d->hdr_len += k;
            buf += k;
            len -= k;
            if (d->hdr_len == sizeof(d->hdr)) {
                d->stream = d->hdr[0];
                d->left =
                    (size_t)d->hdr[4] << 24 | (size_t)d->hdr[5] << 16 | (size_t)d->hdr[6] << 8 | d->hdr[7];
                d->hdr_len = 0;
            }
            continue;
        }
        size_t k = d->left < len ? d->left : len;
        int fd = d->stream == 2 ? err_fd : out_fd;
        if (fd >= 0)
            write_all(fd, buf, k);
        d->left -= k;
        buf += k;
        len -= k;
    }
}

int servin_monitor_attach(const char *run_dir, int stdin_fd, int stdout_fd, int stderr_fd, bool tty,
                          struct servin_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/attach.sock", run_dir);
    _cleanup_close_ int sock = monitor_connect_unix(path, err);
    if (sock < 0)
        return servin_error_wrap(err, "attach");
    struct demux d = {0};
    bool in_open = stdin_fd >= 0;
    char buf[16384];
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN},
                              {.fd = in_open ? stdin_fd : -1, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return servin_error_errno(err, errno, "attach: wait for the container");
        }
        if (p[0].revents) {
            ssize_t n = read(sock, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return 0; /* the container's output ended */
            if (tty)
                write_all(stdout_fd, buf, (size_t)n);
            else
                demux_feed(&d, buf, (size_t)n, stdout_fd, stderr_fd);
        }
        if (p[1].revents) {
            ssize_t n = read(stdin_fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || send_all(sock, buf, (size_t)n) < 0) {
                /* Our input ended: the monitor closes the container's stdin (StdinOnce). */
                in_open = false;
                shutdown(sock, SHUT_WR);
            }
        }
    }
}

int servin_monitor_attach_connect(const char *run_dir, struct servin_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/attach.sock", run_dir);
    return monitor_connect_unix(path, err);
}

/* One request on the monitor's control socket; "ok" is success, "err <why>" an error. */
static int ctl_request(const char *run_dir, const char *request, const char *what, struct servin_error *err)
{
    char path[PATH_MAX], answer[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/ctl.sock", run_dir);
    _cleanup_close_ int sock = monitor_connect_unix(path, err);
    if (sock < 0)
        return servin_error_wrap(err, "%s", what);
    if (send_all(sock, request, strlen(request)) < 0)
        return servin_error_errno(err, errno, "%s: talk to the monitor", what);
    ssize_t got = read(sock, answer, sizeof(answer) - 1);
    answer[got > 0 ? got : 0] = '\0';
    answer[strcspn(answer, "\n")] = '\0';
    if (strcmp(answer, "ok") == 0)
        return 0;
    return servin_error_set(err, EIO, "%s: %s", what,
                            strncmp(answer, "err ", 4) == 0 ? answer + 4 : "no answer");
}

int servin_monitor_resize(const char *run_dir, unsigned rows, unsigned cols, struct servin_error *err)
{
    char request[64];
    snprintf(request, sizeof(request), "resize %u %u\n", rows, cols);
    return ctl_request(run_dir, request, "resize", err);
}

int servin_monitor_reopen_log(const char *run_dir, struct servin_error *err)
{
    return ctl_request(run_dir, "reopen-log\n", "reopen the container log", err);
}
