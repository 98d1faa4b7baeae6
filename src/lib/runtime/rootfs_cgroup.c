/* runtime/rootfs_cgroup.c — a "cgroup" mounts entry.
 *
 * On a unified (v2) host this is a cgroup2 mount. On a v1 or hybrid host a cgroup filesystem
 * cannot be mounted per container, so the destination becomes a small tmpfs holding one bind
 * mount per host hierarchy, each of the container's own cgroup (read-only when the entry says
 * "ro"), which is what programs inside expect to find at /sys/fs/cgroup. In a cgroup namespace
 * each hierarchy is mounted anew instead, so that the kernel roots it at the namespace. */
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "runtime/rootfs_internal.h"
#include "servin/cleanup.h"

#define HOST_CGROUP_ROOT "/sys/fs/cgroup"

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
    char *out = s;
    for (char *in = s; *in; in++) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] && in[3]) {
            *out++ = (char)(((in[1] - '0') << 6) | ((in[2] - '0') << 3) | (in[3] - '0'));
            in += 3;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

/* Is every item of the comma list want among the comma list have? */
static bool all_in(const char *want, const char *have)
{
    _cleanup_free_ char *w = xstrdup(want);
    char *save = NULL;
    size_t n = 0;
    for (char *item = strtok_r(w, ",", &save); item; item = strtok_r(NULL, ",", &save), n++) {
        size_t len = strlen(item);
        const char *p = have;
        bool found = false;
        while (!found && (p = strstr(p, item))) {
            found = (p == have || p[-1] == ',') && (p[len] == ',' || p[len] == '\0');
            p += len;
        }
        if (!found)
            return false;
    }
    return n > 0;
}

/* This process's cgroup path in the hierarchy with these super options (v1) or in v2. */
static char *own_cgroup(const char *fstype, const char *super_opts)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return NULL;
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *controllers = c1 + 1, *path = c2 + 1;
        bool v2 = strcmp(fstype, "cgroup2") == 0;
        if (v2 ? controllers[0] == '\0' : (controllers[0] != '\0' && all_in(controllers, super_opts)))
            return xstrdup(path);
    }
    return NULL;
}

/* In its own cgroup namespace the init sees "/" as its cgroup, so the host path of that cgroup is
 * unknown; a new mount of the hierarchy is then rooted at the namespace's root by the kernel. */
static bool in_cgroup_namespace(void)
{
    struct stat self, init;
    return stat("/proc/self/ns/cgroup", &self) == 0 && stat("/proc/1/ns/cgroup", &init) == 0 &&
           self.st_ino != init.st_ino;
}

/* The options naming a v1 hierarchy (its controllers, "name=..."), without rw, release_agent etc. */
static char *hierarchy_options(const char *super_opts)
{
    _cleanup_free_ char *copy = xstrdup(super_opts);
    char *out = NULL;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (strcmp(item, "rw") == 0 || strcmp(item, "ro") == 0 ||
            (strchr(item, '=') && strncmp(item, "name=", 5) != 0))
            continue;
        char *joined = out ? xasprintf("%s,%s", out, item) : xstrdup(item);
        free(out);
        out = joined;
    }
    return out;
}

static int mount_hierarchy(int root_fd, const char *dest, const char *mountpoint, const char *mnt_root,
                           const char *fstype, const char *super_opts, bool fresh,
                           const struct rootfs_mount_opts *o, struct servin_error *err)
{
    const char *name = strrchr(mountpoint, '/') + 1;
    _cleanup_free_ char *cg = own_cgroup(fstype, super_opts);
    _cleanup_free_ char *src = NULL;
    size_t rlen = strlen(mnt_root);
    if (cg && strcmp(mnt_root, "/") != 0 && strncmp(cg, mnt_root, rlen) == 0)
        memmove(cg, cg + rlen, strlen(cg + rlen) + 1);
    struct stat st;
    if (cg && strcmp(cg, "/") != 0)
        src = xasprintf("%s%s", mountpoint, cg);
    if (!src || stat(src, &st) < 0) {
        free(src);
        src = xstrdup(mountpoint);
    }

    _cleanup_free_ char *target = xasprintf("%s/%s", dest, name);
    _cleanup_close_ int fd = rootfs_open_in_root(root_fd, target, ROOTFS_CREATE_DIR, err);
    if (fd < 0)
        return fd;
    char path[ROOTFS_FD_PATH_MAX];
    rootfs_fd_path(fd, path);
    if (fresh) {
        _cleanup_free_ char *data = strcmp(fstype, "cgroup") == 0 ? hierarchy_options(super_opts) : NULL;
        unsigned long flags = (o->flags & MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (mount("cgroup", path, fstype, flags, data) < 0)
            return servin_error_errno(err, errno, "mount the cgroup hierarchy %s on %s", data ? data : fstype,
                                      target);
    } else if (mount(src, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        return servin_error_errno(err, errno, "bind-mount cgroup %s on %s", src, target);
    }
    _cleanup_close_ int again = rootfs_open_in_root(root_fd, target, ROOTFS_NO_CREATE, err);
    if (again < 0)
        return again;
    int ret =
        rootfs_remount_bind(again, (o->flags & MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, target, err);
    if (ret < 0)
        return ret;

    /* Co-mounted controllers ("cpu,cpuacct") are also reachable under each name, as on the host. */
    if (strchr(name, ',')) {
        _cleanup_close_ int dir = rootfs_open_in_root(root_fd, dest, ROOTFS_NO_CREATE, err);
        if (dir < 0)
            return dir;
        _cleanup_free_ char *names = xstrdup(name);
        char *save = NULL;
        for (char *one = strtok_r(names, ",", &save); one; one = strtok_r(NULL, ",", &save))
            if (symlinkat(name, dir, one) < 0 && errno != EEXIST)
                return servin_error_errno(err, errno, "link %s/%s to %s", dest, one, name);
    }
    return 0;
}

static int mount_v1_tree(int root_fd, const char *dest, const struct rootfs_mount_opts *o,
                         struct servin_error *err)
{
    {
        _cleanup_close_ int fd = rootfs_open_in_root(root_fd, dest, ROOTFS_CREATE_DIR, err);
        if (fd < 0)
            return servin_error_wrap(err, "mount cgroup on %s", dest);
        char path[ROOTFS_FD_PATH_MAX];
        if (mount("cgroup", rootfs_fd_path(fd, path), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") <
            0)
            return servin_error_errno(err, errno, "mount a tmpfs for the cgroups on %s", dest);
    }

    bool fresh = in_cgroup_namespace();
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return servin_error_errno(err, errno, "read /proc/self/mountinfo");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        char *sep = strstr(line, " - ");
        if (!sep)
            continue;
        *sep = '\0';
        char fstype[32], super_opts[512], mnt_root[1024], mountpoint[1024];
        if (sscanf(sep + 3, "%31s %*s %511s", fstype, super_opts) != 2 ||
            sscanf(line, "%*s %*s %*s %1023s %1023s", mnt_root, mountpoint) != 2)
            continue;
        if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
            continue;
        unescape(mnt_root);
        unescape(mountpoint);
        /* Only the host's hierarchies, one level under its cgroup root; never the container's own. */
        const char *slash = strrchr(mountpoint, '/');
        if (strncmp(mountpoint, HOST_CGROUP_ROOT "/", sizeof(HOST_CGROUP_ROOT)) != 0 ||
            slash != mountpoint + sizeof(HOST_CGROUP_ROOT) - 1)
            continue;
        /* A root above ours ("/../..") also says the init is in a cgroup namespace, even where
         * /proc/1/ns cannot be read. */
        bool below = strncmp(mnt_root, "/..", 3) == 0;
        int ret =
            mount_hierarchy(root_fd, dest, mountpoint, mnt_root, fstype, super_opts, fresh || below, o, err);
        if (ret < 0)
            return ret;
    }

    if (o->flags & MS_RDONLY) {
        _cleanup_close_ int fd = rootfs_open_in_root(root_fd, dest, ROOTFS_NO_CREATE, err);
        if (fd < 0)
            return fd;
        return rootfs_remount_bind(fd, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, dest, err);
    }
    return 0;
}

int rootfs_mount_cgroup(int root_fd, const char *dest, const struct rootfs_mount_opts *o,
                        struct servin_error *err)
{
    struct statfs sf;
    if (statfs(HOST_CGROUP_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
        _cleanup_close_ int fd = rootfs_open_in_root(root_fd, dest, ROOTFS_CREATE_DIR, err);
        if (fd < 0)
            return servin_error_wrap(err, "mount cgroup2 on %s", dest);
        char path[ROOTFS_FD_PATH_MAX];
        if (mount("cgroup2", rootfs_fd_path(fd, path), "cgroup2",
                  o->flags & ~(unsigned long)(MS_BIND | MS_REC), NULL) < 0)
            return servin_error_errno(err, errno, "mount cgroup2 on %s", dest);
        return 0;
    }
    return mount_v1_tree(root_fd, dest, o, err);
}
