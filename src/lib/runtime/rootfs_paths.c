/* runtime/rootfs_paths.c — linux.maskedPaths and linux.readonlyPaths.
 *
 * They are applied before pivot_root, resolved inside the rootfs like mount destinations: the
 * mounts made here move with the rootfs, and /proc/self/fd of the host's procfs is still there to
 * mount through even when the spec gives the container no /proc. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/rootfs_internal.h"
#include "servin/cleanup.h"

/* Open a listed path; a path the container does not have is skipped (returns 0, *fd = -1). */
static int open_listed(int root_fd, const char *path, int *fd, struct servin_error *err)
{
    *fd = rootfs_open_in_root(root_fd, path, ROOTFS_NO_CREATE, err);
    if (*fd == -ENOENT) {
        servin_error_clear(err);
        *fd = -1;
        return 0;
    }
    return *fd < 0 ? *fd : 0;
}

static int mask_path(int root_fd, const char *path, struct servin_error *err)
{
    _cleanup_close_ int fd = -1;
    int ret = open_listed(root_fd, path, &fd, err);
    if (ret < 0 || fd < 0)
        return ret;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return servin_error_errno(err, errno, "mask %s", path);
    char target[ROOTFS_FD_PATH_MAX];
    rootfs_fd_path(fd, target);
    /* An empty read-only tmpfs hides a directory; the null device hides a file's content. */
    if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            return servin_error_errno(err, errno, "mask %s with an empty read-only tmpfs", path);
    } else {
        if (mount("/dev/null", target, NULL, MS_BIND, NULL) < 0)
            return servin_error_errno(err, errno, "mask %s with /dev/null", path);
    }
    return 0;
}

static int make_readonly(int root_fd, const char *path, struct servin_error *err)
{
    _cleanup_close_ int fd = -1;
    int ret = open_listed(root_fd, path, &fd, err);
    if (ret < 0 || fd < 0)
        return ret;
    char target[ROOTFS_FD_PATH_MAX];
    rootfs_fd_path(fd, target);
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        return servin_error_errno(err, errno, "bind %s onto itself to make it read-only", path);
    _cleanup_close_ int again = rootfs_open_in_root(root_fd, path, ROOTFS_NO_CREATE, err);
    if (again < 0)
        return again;
    /* Only "read-only" is asked for: every other flag the mount had stays. */
    return rootfs_remount_bind(again, rootfs_mount_flags_of(again) | MS_RDONLY, path, err);
}

static int for_each_path(int root_fd, json_t *list, const char *key,
                         int (*apply)(int, const char *, struct servin_error *), struct servin_error *err)
{
    if (!list)
        return 0;
    if (!json_is_array(list))
        return servin_error_set(err, EINVAL, "linux.%s must be an array of paths", key);
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v) {
        const char *path = json_string_value(v);
        if (!path || path[0] != '/')
            return servin_error_set(err, EINVAL, "linux.%s[%zu] is not an absolute path", key, i);
        int ret = apply(root_fd, path, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

int rootfs_paths_apply(int root_fd, json_t *spec, struct servin_error *err)
{
    json_t *linux_obj = json_object_get(spec, "linux");
    int ret =
        for_each_path(root_fd, json_object_get(linux_obj, "maskedPaths"), "maskedPaths", mask_path, err);
    if (ret < 0)
        return ret;
    return for_each_path(root_fd, json_object_get(linux_obj, "readonlyPaths"), "readonlyPaths", make_readonly,
                         err);
}
