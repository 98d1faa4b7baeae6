/* runtime/rootfs_dev.c — device nodes and the usual /dev symlinks inside the rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/rootfs_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

struct device {
    const char *path;
    mode_t type; /* S_IFCHR, S_IFBLK or S_IFIFO */
    unsigned major, minor;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* What every container gets, as the runtime-spec lists it. */
static const struct device default_devices[] = {
    {"/dev/null", S_IFCHR, 1, 3, 0666, 0, 0},    {"/dev/zero", S_IFCHR, 1, 5, 0666, 0, 0},
    {"/dev/full", S_IFCHR, 1, 7, 0666, 0, 0},    {"/dev/random", S_IFCHR, 1, 8, 0666, 0, 0},
    {"/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0}, {"/dev/tty", S_IFCHR, 5, 0, 0666, 0, 0},
};

static const struct {
    const char *name, *target;
} dev_links[] = {
    {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

/* Where mknod is refused (a user namespace), the host's node is bind-mounted onto an empty file. */
static int bind_host_node(int parent, const char *name, const struct device *d, struct servin_error *err)
{
    int fd = openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000);
    if (fd < 0)
        return servin_error_errno(err, errno, "create %s to bind the host's device onto", d->path);
    close(fd);
    _cleanup_close_ int target = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int host = open(d->path, O_PATH | O_CLOEXEC);
    if (target < 0 || host < 0)
        return servin_error_errno(err, errno, "bind-mount device %s from the host", d->path);
    char tp[ROOTFS_FD_PATH_MAX], hp[ROOTFS_FD_PATH_MAX];
    if (mount(rootfs_fd_path(host, hp), rootfs_fd_path(target, tp), NULL, MS_BIND, NULL) < 0)
        return servin_error_errno(err, errno, "bind-mount device %s from the host", d->path);
    return 0;
}

static int create_device(int root_fd, const struct device *d, struct servin_error *err)
{
    size_t len = strlen(d->path);
    if (d->path[0] != '/' || strstr(d->path, "/../") || (len >= 3 && strcmp(d->path + len - 3, "/..") == 0))
        return servin_error_set(err, EINVAL, "device path \"%s\" must be absolute and without \"..\"",
                                d->path);
    _cleanup_free_ char *dir = xstrdup(d->path);
    char *slash = strrchr(dir, '/');
    const char *name = d->path + (slash - dir) + 1;
    *slash = '\0';
    if (*name == '\0')
        return servin_error_set(err, EINVAL, "device path \"%s\" names no file", d->path);
    _cleanup_close_ int parent = rootfs_open_in_root(root_fd, dir[0] ? dir : "/", ROOTFS_CREATE_DIR, err);
    if (parent < 0)
        return servin_error_wrap(err, "create device %s", d->path);

    dev_t rdev = makedev(d->major, d->minor);
    for (int attempt = 0;; attempt++) {
        if (mknodat(parent, name, d->type | (d->mode & 07777), d->type == S_IFIFO ? 0 : rdev) == 0)
            break;
        int saved = errno;
        if (saved == EPERM && d->type != S_IFIFO)
            return bind_host_node(parent, name, d, err);
        struct stat st;
        if (saved != EEXIST || attempt > 0 || fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return servin_error_errno(err, saved, "create device %s", d->path);
        /* The image may ship its own node: keep it if it is the same device, else replace it. */
        if ((st.st_mode & S_IFMT) == d->type && (d->type == S_IFIFO || st.st_rdev == rdev))
            break;
        if (S_ISDIR(st.st_mode) || unlinkat(parent, name, 0) < 0)
            return servin_error_errno(err, S_ISDIR(st.st_mode) ? EISDIR : errno, "replace %s with a device",
                                      d->path);
    }
    /* mknod obeys the umask; the spec's mode is meant as given. The node was just made by us (or
     * checked above), so these by-name calls cannot follow a symlink. */
    if (fchmodat(parent, name, d->mode & 07777, 0) < 0)
        return servin_error_errno(err, errno, "set the mode of %s", d->path);
    if (fchownat(parent, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return servin_error_errno(err, errno, "set the owner of %s", d->path);
    return 0;
}

static int parse_device(json_t *j, struct device *d, struct servin_error *err)
{
    const char *path = json_string_value(json_object_get(j, "path"));
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!path || !type)
        return servin_error_set(err, EINVAL, "an entry of linux.devices lacks its path or type");
    memset(d, 0, sizeof(*d));
    d->path = path;
    if (strcmp(type, "c") == 0 || strcmp(type, "u") == 0)
        d->type = S_IFCHR;
    else if (strcmp(type, "b") == 0)
        d->type = S_IFBLK;
    else if (strcmp(type, "p") == 0)
        d->type = S_IFIFO;
    else
        return servin_error_set(err, EINVAL, "device %s: unknown type \"%s\" (expected c, b, u or p)", path,
                                type);
    d->major = (unsigned)json_integer_value(json_object_get(j, "major"));
    d->minor = (unsigned)json_integer_value(json_object_get(j, "minor"));
    json_t *mode = json_object_get(j, "fileMode");
    d->mode = mode ? (mode_t)json_integer_value(mode) : 0666;
    d->uid = (uid_t)json_integer_value(json_object_get(j, "uid"));
    d->gid = (gid_t)json_integer_value(json_object_get(j, "gid"));
    if (d->type != S_IFIFO &&
        (!json_is_integer(json_object_get(j, "major")) || !json_is_integer(json_object_get(j, "minor"))))
        return servin_error_set(err, EINVAL, "device %s needs major and minor numbers", path);
    return 0;
}

static bool listed(json_t *devices, const char *path)
{
    size_t i;
    json_t *d;
    json_array_foreach (devices, i, d) {
        const char *p = json_string_value(json_object_get(d, "path"));
        if (p && strcmp(p, path) == 0)
            return true;
    }
    return false;
}

int rootfs_dev_setup(int root_fd, json_t *spec, struct servin_error *err)
{
    json_t *devices = json_object_get(json_object_get(spec, "linux"), "devices");
    if (devices && !json_is_array(devices))
        return servin_error_set(err, EINVAL, "linux.devices must be an array");

    for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
        if (listed(devices, default_devices[i].path))
            continue;
        int ret = create_device(root_fd, &default_devices[i], err);
        if (ret < 0)
            return ret;
    }
    size_t i;
    json_t *j;
    json_array_foreach (devices, i, j) {
        struct device d;
        int ret = parse_device(j, &d, err);
        if (ret == 0)
            ret = create_device(root_fd, &d, err);
        if (ret < 0)
            return ret;
    }

    _cleanup_close_ int dev = rootfs_open_in_root(root_fd, "/dev", ROOTFS_CREATE_DIR, err);
    if (dev < 0)
        return dev;
    for (size_t k = 0; k < sizeof(dev_links) / sizeof(dev_links[0]); k++)
        if (symlinkat(dev_links[k].target, dev, dev_links[k].name) < 0 && errno != EEXIST)
            return servin_error_errno(err, errno, "create the symlink /dev/%s", dev_links[k].name);
    if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 && errno != EEXIST)
        return servin_error_errno(err, errno, "create the symlink /dev/core");

    /* init.c binds the console after the root may have turned read-only, so its mount point is
     * made now. */
    if (json_is_true(json_object_get(json_object_get(spec, "process"), "terminal"))) {
        _cleanup_close_ int console = rootfs_open_in_root(root_fd, "/dev/console", ROOTFS_CREATE_FILE, err);
        if (console < 0)
            return console;
    }
    return 0;
}
