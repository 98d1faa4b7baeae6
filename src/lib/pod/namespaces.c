/* pod/namespaces.c — the pod's shared namespaces, pinned as files.
 *
 * A short child unshares the network, IPC and UTS namespaces the pod does not share with the
 * host, sets the hostname and the pod's sysctls inside them, brings lo up, and bind-mounts
 * /proc/self/ns/<type> onto <run_root>/pods/<id>/ns/<type>. The mounts keep the namespaces alive
 * after the child exits; containers join them by path; unmounting them (stop) lets the kernel
 * free them once the last process inside is gone. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pod/pod_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

bool pod_ns_pinned(const char *path)
{
    struct statfs sf;
    return path && *path && statfs(path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)NSFS_MAGIC;
}

static void unpin(const char *path)
{
    if (!path || !*path)
        return;
    for (int i = 0; i < 8 && pod_ns_pinned(path); i++)
        if (umount2(path, MNT_DETACH) < 0)
            break;
    unlink(path);
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The sysctls a namespace of the pod holds (the list the kernel namespaces and Kubernetes allows). */
static bool ipc_sysctl(const char *k)
{
    return strcmp(k, "kernel.shmall") == 0 || strcmp(k, "kernel.shmmax") == 0 ||
           strcmp(k, "kernel.shmmni") == 0 || strcmp(k, "kernel.shm_rmid_forced") == 0 ||
           strcmp(k, "kernel.msgmax") == 0 || strcmp(k, "kernel.msgmnb") == 0 ||
           strcmp(k, "kernel.msgmni") == 0 || strcmp(k, "kernel.sem") == 0 || has_prefix(k, "fs.mqueue.");
}

int pod_sysctls_check(json_t *sysctls, bool host_network, bool host_ipc, struct servin_error *err)
{
    if (sysctls && !json_is_object(sysctls))
        return servin_error_set(err, EINVAL, "sysctls must be a map of names to values");
    const char *k;
    json_t *v;
    json_object_foreach (sysctls, k, v) {
        const char *val = json_string_value(v);
        if (!val || strchr(val, '\n'))
            return servin_error_set(err, EINVAL, "sysctl %s: the value must be a one-line string", k);
        if (!*k || strstr(k, "..") || strchr(k, '/') || k[0] == '.')
            return servin_error_set(err, EINVAL, "invalid sysctl name \"%s\"", k);
        bool net = has_prefix(k, "net.");
        if (net && host_network)
            return servin_error_set(err, EINVAL,
                                    "sysctl %s is not allowed: the pod uses the host's network namespace", k);
        if (ipc_sysctl(k) && host_ipc)
            return servin_error_set(err, EINVAL,
                                    "sysctl %s is not allowed: the pod uses the host's IPC namespace", k);
        if (!net && !ipc_sysctl(k))
            return servin_error_set(
                err, EINVAL, "sysctl %s is not namespaced: setting it in a pod would change the host", k);
    }
    return 0;
}

static int lo_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int ret = 0;
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        ret = -1;
    else {
        ifr.ifr_flags |= IFF_UP;
        ret = ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -1 : 0;
    }
    if (s >= 0)
        close(s);
    return ret;
}

/* What the child reports on failure through its pipe. */
struct child_report {
    int step; /* 1 unshare, 2 hostname, 3 lo, 4 sysctl, 5 pin */
    int err;
    int index; /* which sysctl or which namespace */
};

enum { NS_NET, NS_IPC, NS_UTS, NS_COUNT };
static const char *const ns_names[NS_COUNT] = {"net", "ipc", "uts"};

int pod_ns_create(struct servin_store *store, struct servin_pod *p, struct servin_error *err)
{
    bool host_net = p->network_mode == SERVIN_NS_NODE;
    bool want[NS_COUNT] = {!host_net, p->ipc_mode != SERVIN_NS_NODE, !host_net};
    _cleanup_free_ char *run = pod_run_dir(store, p->id);
    _cleanup_free_ char *dir = xasprintf("%s/ns", run);
    int ret = servin_mkdir_p(dir, 0700, err);
    if (ret < 0)
        return ret;
    char *paths[NS_COUNT] = {NULL, NULL, NULL};
    int flags = 0;
    for (int i = 0; i < NS_COUNT; i++) {
        if (!want[i])
            continue;
        paths[i] = xasprintf("%s/%s", dir, ns_names[i]);
        int fd = open(paths[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            ret = servin_error_errno(err, errno, "create %s", paths[i]);
            goto fail;
        }
        close(fd);
        flags |= i == NS_NET ? CLONE_NEWNET : i == NS_IPC ? CLONE_NEWIPC : CLONE_NEWUTS;
    }
    /* Everything the child needs is prepared here: after fork in a threaded daemon it must not
     * allocate. */
    size_t nsys = json_object_size(p->sysctls);
    char **sys_path = xcalloc(nsys + 1, sizeof(char *));
    char **sys_val = xcalloc(nsys + 1, sizeof(char *));
    char **sys_name = xcalloc(nsys + 1, sizeof(char *));
    {
        size_t i = 0;
        const char *k;
        json_t *v;
        json_object_foreach (p->sysctls, k, v) {
            sys_name[i] = xstrdup(k);
            sys_path[i] = xasprintf("/proc/sys/%s", k);
            for (char *c = sys_path[i] + strlen("/proc/sys/"); *c; c++)
                if (*c == '.')
                    *c = '/';
            sys_val[i] = xstrdup(json_string_value(v));
            i++;
        }
    }
    const char *hostname = want[NS_UTS] && p->hostname && *p->hostname ? p->hostname : NULL;
    const char *self_ns[NS_COUNT] = {"/proc/self/ns/net", "/proc/self/ns/ipc", "/proc/self/ns/uts"};
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        ret = servin_error_errno(err, errno, "pipe");
        goto fail_sys;
    }
    pid_t pid = flags ? fork() : 0;
    if (flags && pid == 0) {
        close(pipefd[0]);
        struct child_report r = {0, 0, 0};
        if (unshare(flags) < 0)
            r = (struct child_report){1, errno, 0};
        else if (hostname && sethostname(hostname, strlen(hostname)) < 0)
            r = (struct child_report){2, errno, 0};
        else if (want[NS_NET] && lo_up() < 0)
            r = (struct child_report){3, errno, 0};
        for (size_t i = 0; r.step == 0 && i < nsys; i++) {
            int fd = open(sys_path[i], O_WRONLY | O_CLOEXEC);
            size_t len = strlen(sys_val[i]);
            if (fd < 0 || write(fd, sys_val[i], len) != (ssize_t)len)
                r = (struct child_report){4, errno, (int)i};
            if (fd >= 0)
                close(fd);
        }
        for (int i = 0; r.step == 0 && i < NS_COUNT; i++)
            if (paths[i] && mount(self_ns[i], paths[i], NULL, MS_BIND, NULL) < 0)
                r = (struct child_report){5, errno, i};
        if (r.step) {
            ssize_t w = write(pipefd[1], &r, sizeof(r));
            (void)w;
        }
        _exit(r.step ? 1 : 0);
    }
    int fork_errno = errno;
    close(pipefd[1]);
    if (flags && pid < 0) {
        close(pipefd[0]);
        ret = servin_error_errno(err, fork_errno, "fork to create the pod's namespaces");
        goto fail_sys;
    }
    if (flags) {
        struct child_report r = {0, 0, 0};
        ssize_t got;
        while ((got = read(pipefd[0], &r, sizeof(r))) < 0 && errno == EINTR)
            ;
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (got == (ssize_t)sizeof(r) && r.step) {
            switch (r.step) {
            case 1:
                ret = servin_error_errno(err, r.err, "create the pod's namespaces: unshare");
                break;
            case 2:
                ret = servin_error_set(err, r.err == EINVAL ? EINVAL : r.err,
                                       "set the pod's hostname \"%s\": %s", hostname, strerror(r.err));
                break;
            case 3:
                ret = servin_error_errno(err, r.err, "bring lo up in the pod's network namespace");
                break;
            case 4:
                ret = servin_error_set(err, r.err == ENOENT ? EINVAL : r.err,
                                       "set sysctl %s=%s in the pod: %s", sys_name[r.index], sys_val[r.index],
                                       r.err == ENOENT ? "no such sysctl" : strerror(r.err));
                break;
            default:
                ret = servin_error_errno(err, r.err, "pin the pod's %s namespace on %s", ns_names[r.index],
                                         paths[r.index]);
            }
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ret = servin_error_set(err, EIO, "create the pod's namespaces: the helper process failed");
    }
    close(pipefd[0]);
fail_sys:
    strv_free(sys_path);
    strv_free(sys_val);
    strv_free(sys_name);
    if (ret < 0)
        goto fail;
    free(p->netns_path);
    free(p->ipc_path);
    free(p->uts_path);
    p->netns_path = paths[NS_NET] ? paths[NS_NET] : xstrdup("");
    p->ipc_path = paths[NS_IPC] ? paths[NS_IPC] : xstrdup("");
    p->uts_path = paths[NS_UTS] ? paths[NS_UTS] : xstrdup("");
    return 0;
fail:
    for (int i = 0; i < NS_COUNT; i++) {
        unpin(paths[i]);
        free(paths[i]);
    }
    rmdir(dir);
    rmdir(run);
    return ret;
}

void pod_ns_release(struct servin_store *store, struct servin_pod *p)
{
    char **fields[] = {&p->netns_path, &p->ipc_path, &p->uts_path};
    for (size_t i = 0; i < 3; i++) {
        unpin(*fields[i]);
        free(*fields[i]);
        *fields[i] = xstrdup("");
    }
    /* Also what a crash between pinning and recording left. */
    _cleanup_free_ char *run = pod_run_dir(store, p->id);
    for (int i = 0; i < NS_COUNT; i++) {
        _cleanup_free_ char *path = xasprintf("%s/ns/%s", run, ns_names[i]);
        unpin(path);
    }
    _cleanup_free_ char *dir = xasprintf("%s/ns", run);
    rmdir(dir);
    rmdir(run);
}

int pod_netdev_stats(const char *netns, const char *ifname, struct servin_pod_stats *st,
                     struct servin_error *err)
{
    _cleanup_close_ int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0)
        return servin_error_errno(err, errno, "open the pod's network namespace %s", netns);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return servin_error_errno(err, errno, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        char buf[8192];
        ssize_t n = 0;
        if (setns(nsfd, CLONE_NEWNET) == 0) {
            int fd = open("/proc/self/net/dev", O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                n = read(fd, buf, sizeof(buf));
                close(fd);
            }
        }
        if (n > 0) {
            ssize_t w = write(pipefd[1], buf, (size_t)n);
            (void)w;
        }
        _exit(n > 0 ? 0 : 1);
    }
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        return servin_error_errno(err, errno, "fork to read network statistics");
    }
    char buf[8193];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 &&
           ((n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0)
            len += (size_t)n;
    buf[len] = '\0';
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* "  eth0: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed multicast tx_bytes tx_packets
     * tx_errs ..." */
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *name = line;
        while (*name == ' ')
            name++;
        if (strcmp(name, ifname) != 0)
            continue;
        unsigned long long v[11] = {0};
        if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10]) == 11) {
            st->rx_bytes = v[0];
            st->rx_errors = v[2];
            st->tx_bytes = v[8];
            st->tx_errors = v[10];
            st->has_network = true;
        }
        return 0;
    }
    return servin_error_set(err, ENOENT, "no interface %s in the pod's network namespace", ifname);
}
