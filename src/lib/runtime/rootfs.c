/* runtime/rootfs.c — the container's root filesystem, in order: propagation, mounts, devices,
 * masked and read-only paths, pivot_root, read-only root; and the console bind. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/rootfs_internal.h"
#include "runtime/runtime_internal.h"
#include "servin/cleanup.h"

static int propagation_flag(const char *name, unsigned long *flag, struct servin_error *err)
{
    static const struct {
        const char *name;
        unsigned long flag;
    } table[] = {{"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
                 {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
                 {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
                 {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};
    if (!name) {
        *flag = MS_PRIVATE | MS_REC;
        return 0;
    }
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i].name, name) == 0) {
            *flag = table[i].flag;
            return 0;
        }
    return servin_error_set(err, EINVAL, "unknown linux.rootfsPropagation \"%s\"", name);
}

/* When /dev is the host's own (a bind mount), nodes made here would land on the host. */
static bool dev_is_host_bind(json_t *mounts)
{
    size_t i;
    json_t *m;
    json_array_foreach (mounts, i, m) {
        const char *dest = json_string_value(json_object_get(m, "destination"));
        const char *type = json_string_value(json_object_get(m, "type"));
        if (!dest || (strcmp(dest, "/dev") != 0 && strcmp(dest, "/dev/") != 0))
            continue;
        bool bind = type && strcmp(type, "bind") == 0;
        size_t k;
        json_t *o;
        json_array_foreach (json_object_get(m, "options"), k, o) {
            const char *s = json_string_value(o);
            if (s && (strcmp(s, "bind") == 0 || strcmp(s, "rbind") == 0))
                bind = true;
        }
        return bind;
    }
    return false;
}

static int enter_root(const char *rootfs, bool no_pivot, struct servin_error *err)
{
    if (no_pivot) {
        /* Without pivot_root (e.g. on a ramfs root), move the rootfs over "/" and chroot into it. */
        if (chdir(rootfs) < 0)
            return servin_error_errno(err, errno, "enter the rootfs %s", rootfs);
        if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
            return servin_error_errno(err, errno, "move the rootfs %s over /", rootfs);
        if (chroot(".") < 0)
            return servin_error_errno(err, errno, "chroot into %s", rootfs);
        return chdir("/") < 0 ? servin_error_errno(err, errno, "enter the new root") : 0;
    }

    _cleanup_close_ int old_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int new_root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (old_root < 0 || new_root < 0)
        return servin_error_errno(err, errno, "open the roots for pivot_root");
    if (fchdir(new_root) < 0)
        return servin_error_errno(err, errno, "enter the rootfs %s", rootfs);
    /* pivot_root(".", ".") stacks the old root on top of the new one, so no directory for it is
     * needed inside the image; it is then detached from under us. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return servin_error_errno(err, errno, "pivot_root into %s", rootfs);
    if (fchdir(old_root) < 0)
        return servin_error_errno(err, errno, "enter the old root");
    /* Slave first, so that the unmount below cannot propagate to the host. */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return servin_error_errno(err, errno, "make the old root a slave mount");
    if (umount2(".", MNT_DETACH) < 0)
        return servin_error_errno(err, errno, "detach the old root");
    return chdir("/") < 0 ? servin_error_errno(err, errno, "enter the new root") : 0;
}

static int remount_root_readonly(struct servin_error *err)
{
    _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return servin_error_errno(err, errno, "open / to make it read-only");
    return rootfs_remount_bind(root, rootfs_mount_flags_of(root) | MS_RDONLY, "/ (root.readonly)", err);
}

int servin_rootfs_prepare(json_t *spec, const char *bundle, bool no_pivot, struct servin_error *err)
{
    json_t *root = json_object_get(spec, "root");
    const char *root_path = json_string_value(json_object_get(root, "path"));
    if (!root_path || !*root_path)
        return servin_error_set(err, EINVAL, "the spec has no root.path");
    if (!bundle)
        bundle = ".";
    _cleanup_free_ char *joined =
        root_path[0] == '/' ? xstrdup(root_path) : xasprintf("%s/%s", bundle, root_path);
    char rootfs[PATH_MAX];
    if (!realpath(joined, rootfs))
        return servin_error_errno(err, errno, "find the rootfs %s", joined);

    json_t *linux_obj = json_object_get(spec, "linux");
    unsigned long prop = 0;
    int ret =
        propagation_flag(json_string_value(json_object_get(linux_obj, "rootfsPropagation")), &prop, err);
    if (ret < 0)
        return ret;
    /* Nothing mounted from here on may reach the host: start from rprivate (rslave when the spec
     * wants host mounts to keep flowing in) and set what the spec asked on the new root at the end. */
    unsigned long first = (prop & (MS_SLAVE | MS_SHARED)) ? MS_SLAVE | MS_REC : MS_PRIVATE | MS_REC;
    if (mount(NULL, "/", NULL, first, NULL) < 0)
        return servin_error_errno(err, errno, "make / %s", first & MS_SLAVE ? "rslave" : "rprivate");
    /* pivot_root needs the new root to be a mount point; a bind onto itself makes it one. */
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return servin_error_errno(err, errno, "bind-mount the rootfs %s onto itself", rootfs);

    {
        _cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
            return servin_error_errno(err, errno, "open the rootfs %s", rootfs);
        json_t *mounts = json_object_get(spec, "mounts");
        if (mounts && !json_is_array(mounts))
            return servin_error_set(err, EINVAL, "\"mounts\" must be an array");
        size_t i;
        json_t *m;
        json_array_foreach (mounts, i, m) {
            ret = rootfs_mount_entry(root_fd, bundle, m, err);
            if (ret < 0)
                return ret;
        }
        if (!dev_is_host_bind(mounts)) {
            ret = rootfs_dev_setup(root_fd, spec, err);
            if (ret < 0)
                return ret;
        }
        ret = rootfs_paths_apply(root_fd, spec, err);
        if (ret < 0)
            return ret;
    }

    ret = enter_root(rootfs, no_pivot, err);
    if (ret < 0)
        return ret;
    if (json_is_true(json_object_get(root, "readonly"))) {
        ret = remount_root_readonly(err);
        if (ret < 0)
            return ret;
    }
    if (prop != (MS_PRIVATE | MS_REC) && mount(NULL, "/", NULL, prop, NULL) < 0)
        return servin_error_errno(err, errno, "set the propagation of the new root");
    return 0;
}

int servin_rootfs_bind_console(int slave_fd, struct servin_error *err)
{
    _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return servin_error_errno(err, errno, "open / to bind the console");
    _cleanup_close_ int console = rootfs_open_in_root(root, "/dev/console", ROOTFS_CREATE_FILE, err);
    if (console < 0)
        return servin_error_wrap(err, "bind the console");

    /* open_tree and move_mount bind by fd alone, so a container without /proc still gets a console. */
    _cleanup_close_ int tree = open_tree(slave_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree >= 0 &&
        move_mount(tree, "", console, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0)
        return 0;
    char sp[ROOTFS_FD_PATH_MAX], cp[ROOTFS_FD_PATH_MAX];
    if (mount(rootfs_fd_path(slave_fd, sp), rootfs_fd_path(console, cp), NULL, MS_BIND, NULL) < 0)
        return servin_error_errno(err, errno, "bind the console onto /dev/console");
    return 0;
}
