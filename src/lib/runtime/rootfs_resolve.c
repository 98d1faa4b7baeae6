/* runtime/rootfs_resolve.c — resolve (and create) a path inside the rootfs without ever leaving it.
 *
 * A container image or a volume can hold symlinks that point anywhere; a mount destination must
 * still land inside the rootfs (CVE-2021-30465). openat2(RESOLVE_IN_ROOT) makes the kernel treat
 * the rootfs fd as "/" for the whole walk; the caller then mounts onto /proc/self/fd/N of the fd
 * it got, so nothing can swap the path between the check and the mount. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/rootfs_internal.h"
#include "servin/cleanup.h"

/* The same bound the kernel puts on nested symlinks. */
#define MAX_LINK_DEPTH 40

static bool have_openat2 = true;

void rootfs_resolve_use_openat2(bool on)
{
    have_openat2 = on;
}

const char *rootfs_fd_path(int fd, char buf[ROOTFS_FD_PATH_MAX])
{
    snprintf(buf, ROOTFS_FD_PATH_MAX, "/proc/self/fd/%d", fd);
    return buf;
}

/* Without openat2: normalise "." and ".." textually (clamped at the root) and open each component
 * with O_NOFOLLOW, refusing any symlink, since following one safely is exactly what we lack. */
static int walk_no_symlinks(int root_fd, const char *path)
{
    _cleanup_free_ char *copy = xstrdup(path);
    _cleanup_free_ char **parts = xcalloc(strlen(path) / 2 + 2, sizeof(char *));
    size_t n = 0;
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            if (n > 0)
                n--;
            continue;
        }
        parts[n++] = c;
    }
    int cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return -errno;
    for (size_t i = 0; i < n; i++) {
        int next = openat(cur, parts[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close(cur);
        if (next < 0)
            return -saved;
        struct stat st;
        if (fstat(next, &st) < 0 || S_ISLNK(st.st_mode)) {
            close(next);
            return -ELOOP;
        }
        cur = next;
    }
    return cur;
}

/* Returns an O_PATH fd, or -errno; never sets err, so callers can treat ENOENT as they like. */
static int resolve(int root_fd, const char *path)
{
    while (*path == '/')
        path++;
    if (*path == '\0')
        path = ".";
    if (have_openat2) {
        struct open_how how = {
            .flags = O_PATH | O_CLOEXEC,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        for (int tries = 0;; tries++) {
            long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
            if (fd >= 0)
                return (int)fd;
            /* RESOLVE_IN_ROOT answers EAGAIN when a rename raced the walk; a retry is safe. */
            if (errno == EAGAIN && tries < 16)
                continue;
            if (errno == ENOSYS) {
                have_openat2 = false;
                break;
            }
            return -errno;
        }
    }
    return walk_no_symlinks(root_fd, path);
}

static int create_path(int root_fd, const char *path, enum rootfs_create create, int depth,
                       struct servin_error *err);

/* name is missing under parent (the resolved parent_path): create it. When it already exists yet
 * did not resolve, it is a dangling symlink: create its target, inside the root, instead. */
static int create_component(int root_fd, int parent, const char *parent_path, const char *name, bool as_file,
                            int depth, struct servin_error *err)
{
    int ret;
    if (as_file) {
        int fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        ret = fd < 0 ? -errno : 0;
        if (fd >= 0)
            close(fd);
    } else {
        ret = mkdirat(parent, name, 0755) < 0 ? -errno : 0;
    }
    if (ret == 0)
        return 0;
    if (ret != -EEXIST)
        return servin_error_errno(err, -ret, "create %s/%s inside the rootfs", parent_path, name);

    char target[PATH_MAX];
    ssize_t n = readlinkat(parent, name, target, sizeof(target) - 1);
    if (n < 0)
        return 0; /* not a symlink after all (it appeared meanwhile): the caller resolves it again */
    target[n] = '\0';
    _cleanup_free_ char *next = target[0] == '/' ? xstrdup(target) : xasprintf("%s/%s", parent_path, target);
    return create_path(root_fd, next, as_file ? ROOTFS_CREATE_FILE : ROOTFS_CREATE_DIR, depth + 1, err);
}

static int create_path(int root_fd, const char *path, enum rootfs_create create, int depth,
                       struct servin_error *err)
{
    if (depth > MAX_LINK_DEPTH)
        return servin_error_set(err, ELOOP, "create %s inside the rootfs: too many levels of symbolic links",
                                path);
    size_t plen = strlen(path);
    _cleanup_free_ char *prefix = xmalloc(plen + 2);
    _cleanup_free_ char *parent_path = xmalloc(plen + 2);
    size_t len = 0;
    prefix[0] = '\0';
    _cleanup_close_ int parent = resolve(root_fd, "/");
    if (parent < 0)
        return servin_error_errno(err, -parent, "open the rootfs");

    const char *p = path;
    for (;;) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            return 0;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        _cleanup_free_ char *name = xstrndup(p, n);
        memcpy(parent_path, prefix, len + 1);
        prefix[len++] = '/';
        memcpy(prefix + len, p, n);
        len += n;
        prefix[len] = '\0';
        p = end;
        bool last = p[strspn(p, "/")] == '\0';

        int fd = resolve(root_fd, prefix);
        if (fd == -ENOENT) {
            int ret = create_component(root_fd, parent, parent_path[0] ? parent_path : "", name,
                                       last && create == ROOTFS_CREATE_FILE, depth, err);
            if (ret < 0)
                return ret;
            fd = resolve(root_fd, prefix);
        }
        if (fd < 0)
            return servin_error_errno(err, -fd, "resolve %s inside the rootfs", prefix);
        close(parent);
        parent = fd;
    }
}

int rootfs_open_in_root(int root_fd, const char *path, enum rootfs_create create, struct servin_error *err)
{
    int fd = resolve(root_fd, path);
    if (fd >= 0)
        return fd;
    if (fd != -ENOENT || create == ROOTFS_NO_CREATE) {
        if (fd == -ELOOP && !have_openat2)
            return servin_error_set(err, ELOOP,
                                    "resolve %s inside the rootfs: it goes through a symlink, which this "
                                    "kernel (no openat2) cannot follow safely",
                                    path);
        return servin_error_errno(err, -fd, "resolve %s inside the rootfs", path);
    }
    int ret = create_path(root_fd, path, create, 0, err);
    if (ret < 0)
        return ret;
    fd = resolve(root_fd, path);
    if (fd < 0)
        return servin_error_errno(err, -fd, "resolve %s inside the rootfs", path);
    return fd;
}
