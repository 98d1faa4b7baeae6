/* runtime/proc_util.c — pieces the container init and `exec` share: sockets, the pty, PATH lookup. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/runtime_proc.h"
#include "servin/cleanup.h"

int oci_unix_address(const char *path, struct sockaddr_un *addr, int *dir_fd, struct servin_error *err)
{
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    *dir_fd = -1;
    if (strlen(path) < sizeof(addr->sun_path)) {
        strcpy(addr->sun_path, path);
        return 0;
    }
    /* sun_path holds 108 bytes; deep state roots are longer. Reach the directory through an fd. */
    const char *slash = strrchr(path, '/');
    if (!slash || strlen(slash) > 64)
        return servin_error_set(err, ENAMETOOLONG, "socket path %s is too long", path);
    _cleanup_free_ char *dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return servin_error_errno(err, errno, "open %s", dir);
    snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d%s", fd, slash);
    *dir_fd = fd;
    return 0;
}

int oci_connect_unix(const char *path, struct servin_error *err)
{
    struct sockaddr_un addr;
    _cleanup_close_ int dir_fd = -1;
    int ret = oci_unix_address(path, &addr, &dir_fd, err);
    if (ret < 0)
        return ret;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return servin_error_errno(err, errno, "create socket for %s", path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int e = errno;
        close(fd);
        return servin_error_errno(err, e, "connect to %s", path);
    }
    return fd;
}

static int send_fd(int sock, int fd)
{
    char data = 'P';
    struct iovec iov = {.iov_base = &data, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int oci_open_console(int console_sock, json_t *console_size, struct servin_error *err)
{
    _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return servin_error_errno(err, errno, "open /dev/ptmx for the console");
    int unlock = 0, n = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
        return servin_error_errno(err, errno, "set up the console pty");
    char path[64];
    snprintf(path, sizeof(path), "/dev/pts/%d", n);
    int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return servin_error_errno(err, errno, "open console %s", path);
    if (console_size) {
        struct winsize ws = {.ws_row = (unsigned short)json_integer_value(json_object_get(console_size, "height")),
                             .ws_col = (unsigned short)json_integer_value(json_object_get(console_size, "width"))};
        ioctl(slave, TIOCSWINSZ, &ws);
    }
    int ret = send_fd(console_sock, master);
    if (ret < 0) {
        close(slave);
        return servin_error_errno(err, -ret, "send the console to the console socket");
    }
    return slave;
}

int oci_take_console(int slave, struct servin_error *err)
{
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
        int e = errno;
        close(slave);
        return servin_error_errno(err, e, "make the console the controlling terminal");
    }
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0) {
            int e = errno;
            close(slave);
            return servin_error_errno(err, e, "attach stdio to the console");
        }
    close(slave);
    return 0;
}

char *oci_find_program(const char *name, json_t *env)
{
    if (strchr(name, '/'))
        return xstrdup(name);
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    size_t i;
    json_t *e;
    json_array_foreach(env, i, e)
    {
        const char *s = json_string_value(e);
        if (s && strncmp(s, "PATH=", 5) == 0)
            path = s + 5;
    }
    _cleanup_free_ char *copy = xstrdup(path);
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *candidate = xasprintf("%s/%s", *dir ? dir : ".", name);
        struct stat st;
        if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0)
            return candidate;
        free(candidate);
    }
    return NULL;
}

char **oci_strv_from_json(json_t *arr)
{
    size_t n = json_array_size(arr);
    char **v = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        v[i] = (char *)json_string_value(json_array_get(arr, i));
    return v;
}
