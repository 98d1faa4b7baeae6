/* network/netns.c — pinned network namespaces and host port checks.
 *
 * A container's network namespace is made before the container: a short child unshares a new
 * one, brings its lo up and bind-mounts /proc/self/ns/net onto <run_root>/netns/<id>. The backend
 * wires that file, and the runtime joins it by path, so no hook has to run between the runtime's
 * clone and the container's execve, and the namespace outlives restarts of the container. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "network/network_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

char *net_netns_path(struct servin_store *store, const char *container_id)
{
    return servin_container_netns_path(store, container_id);
}

bool net_netns_pinned(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)NSFS_MAGIC;
}

static int lo_up(void)
{
    _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return -errno;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* The empty file (and its directory) a namespace is bind-mounted onto to pin it. */
static int make_pin_file(const char *path, struct servin_error *err)
{
    _cleanup_free_ char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int ret = servin_mkdir_p(dir, 0700, err);
    if (ret < 0)
        return ret;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return servin_error_errno(err, errno, "create %s", path);
    close(fd);
    return 0;
}

int net_netns_pin(const char *path, struct servin_error *err)
{
    if (net_netns_pinned(path))
        return 0;
    int ret = make_pin_file(path, err);
    if (ret < 0)
        return ret;
    pid_t pid = fork();
    if (pid < 0)
        return servin_error_errno(err, errno, "fork to create a network namespace");
    if (pid == 0) {
        int e = 0;
        if (unshare(CLONE_NEWNET) < 0)
            e = 1;
        else if (lo_up() < 0)
            e = 2;
        else if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
            e = 3;
        _exit(e ? 100 + e * 10 + (errno & 7) : 0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(path);
        int step = WIFEXITED(status) ? (WEXITSTATUS(status) - 100) / 10 : 0;
        return servin_error_set(err, EIO, "create the network namespace %s: %s failed", path,
                                step == 1   ? "unshare"
                                : step == 2 ? "bringing lo up"
                                            : "pinning it with a bind mount");
    }
    return 0;
}

int net_netns_stand_in(const char *path, const char *ifname)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
            _exit(126);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        /* A veth pair: its other end goes with it when the backend deletes ifname. */
        execlp("ip", "ip", "link", "add", ifname, "type", "veth", "peer", "name", "standin0", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int net_netns_pin_pid(const char *path, pid_t pid, struct servin_error *err)
{
    if (pid <= 0)
        return servin_error_set(err, ESRCH, "pin the network namespace at %s: no process", path);
    int ret = make_pin_file(path, err);
    if (ret < 0)
        return ret;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/%d/ns/net", (int)pid);
    if (mount(proc, path, NULL, MS_BIND, NULL) < 0) {
        int e = errno;
        unlink(path);
        return servin_error_errno(err, e, "pin the network namespace of process %d at %s", (int)pid, path);
    }
    return 0;
}

void net_netns_unpin(const char *path)
{
    /* Possibly pinned twice by racing starts: take every layer off. */
    for (int i = 0; i < 8 && net_netns_pinned(path); i++)
        if (umount2(path, MNT_DETACH) < 0)
            break;
    unlink(path);
}

int net_port_check(const char *host_ip, int *port, const char *protocol, struct servin_error *err)
{
    bool udp = protocol && strcmp(protocol, "udp") == 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    if (host_ip && *host_ip && inet_pton(AF_INET, host_ip, &sa.sin_addr) != 1)
        return servin_error_set(err, EINVAL, "invalid host IP \"%s\" to publish on: not an IPv4 address",
                                host_ip);
    _cleanup_close_ int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (s < 0)
        return servin_error_errno(err, errno, "socket");
    int one = 1;
    /* A port in TIME_WAIT is free to publish; one with a listener is not. */
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        return servin_error_set(err, e == EADDRINUSE ? EADDRINUSE : e,
                                "cannot publish port: bind for %s:%d/%s failed: %s",
                                host_ip && *host_ip ? host_ip : "0.0.0.0", *port, udp ? "udp" : "tcp",
                                e == EADDRINUSE ? "the port is already in use on the host" : strerror(e));
    }
    if (*port == 0) {
        socklen_t len = sizeof(sa);
        if (getsockname(s, (struct sockaddr *)&sa, &len) < 0)
            return servin_error_errno(err, errno, "getsockname");
        *port = ntohs(sa.sin_port);
    }
    return 0;
}
