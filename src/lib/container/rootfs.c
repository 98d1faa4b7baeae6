/* container/rootfs.c — the container's root filesystem: overlayfs over the image's layers, and its diff. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/container_internal.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/log.h"

/* Overmounts stacked on merged/ by earlier failures are peeled off at most this many times. */
#define MAX_UNMOUNTS 16

static bool mounted_on(const char *path, const char *parent)
{
    struct stat st, pst;
    return stat(path, &st) == 0 && stat(parent, &pst) == 0 && st.st_dev != pst.st_dev;
}

static int make_dir(const char *path, mode_t mode, struct servin_error *err)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return servin_error_errno(err, errno, "create %s", path);
    return 0;
}

static void append(char **buf, size_t *len, const char *s)
{
    size_t n = strlen(s);
    *buf = xrealloc(*buf, *len + n + 1);
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

/* Overlay splits lowerdir at ':' and the option string at ','. */
static bool plain_path(const char *s)
{
    return !strpbrk(s, ":,\\");
}

/* "lowerdir=a:b:c": the top layer first, as overlayfs stacks them left over right. */
static char *lower_option(char **paths, size_t n)
{
    char *buf = xstrdup("lowerdir=");
    size_t len = strlen(buf);
    for (size_t i = n; i-- > 0;) {
        append(&buf, &len, paths[i]);
        if (i > 0)
            append(&buf, &len, ":");
    }
    return buf;
}

/* Short relative names for the layers: <dir>/l/<i> -> the layer's diff dir. With ~100 layers the
 * absolute paths would not fit in the one page the kernel accepts for mount options. */
static int link_layers(const char *dir, char **paths, size_t n, char ***names, struct servin_error *err)
{
    _cleanup_free_ char *links = xasprintf("%s/l", dir);
    int ret = make_dir(links, 0700, err);
    if (ret < 0)
        return ret;
    char **v = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *link = xasprintf("%s/%zu", links, i);
        if (unlink(link) < 0 && errno != ENOENT) {
            strv_free(v);
            return servin_error_errno(err, errno, "replace layer link %s", link);
        }
        if (symlink(paths[i], link) < 0) {
            strv_free(v);
            return servin_error_errno(err, errno, "link layer %s at %s", paths[i], link);
        }
        v[i] = xasprintf("l/%zu", i);
    }
    *names = v;
    return 0;
}

/* Mount with paths relative to dir: chdir there for the call, and back. */
static int mount_relative(const char *dir, const char *merged, const char *opts, struct servin_error *err)
{
    _cleanup_close_ int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0)
        return servin_error_errno(err, errno, "open the current directory");
    if (chdir(dir) < 0)
        return servin_error_errno(err, errno, "enter %s", dir);
    int saved = 0;
    if (mount("overlay", merged, "overlay", 0, opts) < 0)
        saved = errno;
    /* The mount's result is what matters; a caller that relies on its cwd hears about it here. */
    if (fchdir(cwd) < 0)
        log_warn("return to the previous working directory after mounting %s: %s", merged, strerror(errno));
    if (saved)
        return servin_error_errno(err, saved, "mount overlay at %s", merged);
    return 0;
}

/* "volatile" overlays skip every sync of the upper dir, unmount included, which otherwise syncs the
 * whole filesystem holding it: worth it for containers removed at exit, whose changes are thrown
 * away anyway (Podman does the same for `run --rm`). A crash leaves work/incompat/volatile behind,
 * which makes the next such mount fail: remove it first. Kernels before 5.10 refuse the option
 * (EINVAL), so the mount is retried without it. */
static int mount_overlay(const char *dir, const char *merged, const char *opts, bool relative, bool vol,
                         struct servin_error *err)
{
    if (vol) {
        _cleanup_free_ char *marker = xasprintf("%s/work/incompat/volatile", dir);
        struct servin_error ignored = {0};
        servin_rm_rf(marker, &ignored);
        _cleanup_free_ char *with = xasprintf("%s,volatile", opts);
        int ret = relative ? mount_relative(dir, merged, with, err) : 0;
        if (!relative && mount("overlay", merged, "overlay", 0, with) < 0)
            ret = servin_error_errno(err, errno, "mount overlay at %s", merged);
        if (ret == 0 || err->code != EINVAL)
            return ret;
        servin_error_clear(err);
    }
    if (relative)
        return mount_relative(dir, merged, opts, err);
    if (mount("overlay", merged, "overlay", 0, opts) < 0)
        return servin_error_errno(err, errno, "mount overlay at %s", merged);
    return 0;
}

/* Overlay at merged with upper/ and work/ of dir over the layer dirs (bottom layer first); frees
 * paths, which has room for one more entry. */
static int mount_paths(const char *dir, const char *merged, char **paths, size_t n, bool vol,
                       struct servin_error *err)
{
    bool plain = plain_path(dir);
    for (size_t i = 0; i < n; i++)
        plain = plain && plain_path(paths[i]);
    int ret;
    if (n == 0) {
        paths[n++] = xasprintf("%s/empty", dir);
        ret = make_dir(paths[0], 0755, err);
        if (ret < 0) {
            strv_free(paths);
            return ret;
        }
    }
    _cleanup_free_ char *lower = lower_option(paths, n);
    _cleanup_free_ char *opts = xasprintf("%s,upperdir=%s/upper,workdir=%s/work", lower, dir, dir);
    long page = sysconf(_SC_PAGESIZE);
    if (plain && (long)strlen(opts) + (long)sizeof(",volatile") < (page > 0 ? page : 4096) - 1) {
        strv_free(paths);
        return mount_overlay(dir, merged, opts, false, vol, err);
    }
    char **names = NULL;
    ret = link_layers(dir, paths, n, &names, err);
    strv_free(paths);
    if (ret < 0)
        return ret;
    free(lower);
    lower = lower_option(names, n);
    strv_free(names);
    free(opts);
    opts = xasprintf("%s,upperdir=upper,workdir=work", lower);
    if ((long)strlen(opts) + (long)sizeof(",volatile") >= (page > 0 ? page : 4096) - 1)
        return servin_error_set(err, E2BIG, "mount overlay at %s: the image has too many layers (%zu)",
                                merged, n);
    return mount_overlay(dir, merged, opts, true, vol, err);
}

static bool auto_removed(const struct servin_container *c)
{
    return json_is_true(json_object_get(json_object_get(c->config, "HostConfig"), "AutoRemove"));
}

static int do_mount(struct servin_store *store, const struct servin_container *c, const char *dir,
                    const char *merged, struct servin_error *err)
{
    struct servin_layer_desc *layers = NULL;
    size_t n = 0;
    int ret = servin_image_layers(store, c->image_id, &layers, &n, err);
    if (ret < 0)
        return servin_error_wrap(err, "read the layers of image %s", c->image_id);
    char **paths = xcalloc(n + 2, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        paths[i] = servin_layer_diff_path(store, layers[i].chain_id);
    servin_layer_descs_free(layers, n);
    /* No layers: an image of none (then overlayfs, which needs a lower dir, gets an empty one), or
     * an image that is gone from the store. */
    if (n == 0) {
        struct servin_image_summary summary;
        ret = servin_image_get(store, c->image_id, &summary, err);
        if (ret < 0) {
            free(paths);
            return servin_error_wrap(err, "read the layers of image %s", c->image_id);
        }
        servin_image_summary_clear(&summary);
    }
    return mount_paths(dir, merged, paths, n, auto_removed(c), err);
}

/* layer_dirs NULL: the layers of the container's image. */
static int mount_rootfs(struct servin_store *store, const struct servin_container *c,
                        const char *const *layer_dirs, size_t n_layers, struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
    _cleanup_free_ char *work = xasprintf("%s/work", dir);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    int ret = make_dir(upper, 0755, err);
    if (ret == 0)
        ret = make_dir(work, 0700, err);
    if (ret == 0)
        ret = make_dir(merged, 0755, err);
    if (ret < 0)
        return servin_error_wrap(err, "mount the root filesystem of container %.12s", c->id);
    if (mounted_on(merged, dir))
        return 0;
    if (layer_dirs) {
        char **paths = xcalloc(n_layers + 2, sizeof(char *));
        for (size_t i = 0; i < n_layers; i++)
            paths[i] = xstrdup(layer_dirs[i]);
        ret = mount_paths(dir, merged, paths, n_layers, auto_removed(c), err);
    } else {
        ret = do_mount(store, c, dir, merged, err);
    }
    if (ret < 0)
        return servin_error_wrap(err, "mount the root filesystem of container %.12s", c->id);
    /* Private: mounts the container makes below its root must not spread back to the host's
     * peers, and the host's must not spread into it. */
    if (mount(NULL, merged, NULL, MS_PRIVATE, NULL) < 0) {
        int saved = errno;
        umount2(merged, MNT_DETACH);
        return servin_error_errno(err, saved, "make the root filesystem of container %.12s private", c->id);
    }
    return 0;
}

int servin_container_mount_rootfs(struct servin_store *store, const struct servin_container *c,
                                  struct servin_error *err)
{
    return mount_rootfs(store, c, NULL, 0, err);
}

int servin_container_mount_layers(struct servin_store *store, const struct servin_container *c,
                                  const char *const *layer_dirs, size_t n, struct servin_error *err)
{
    return mount_rootfs(store, c, layer_dirs, n, err);
}

int servin_container_unmount_rootfs(struct servin_store *store, const struct servin_container *c,
                                    struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    for (int i = 0; i < MAX_UNMOUNTS && mounted_on(merged, dir); i++) {
        if (umount2(merged, 0) == 0)
            continue;
        if (errno == EINVAL || errno == ENOENT)
            return 0;
        /* Busy (a process still has its cwd there): detach now, the kernel frees it later. */
        if (errno == EBUSY && umount2(merged, MNT_DETACH) == 0)
            continue;
        return servin_error_errno(err, errno, "unmount the root filesystem of container %.12s at %s", c->id,
                                  merged);
    }
    if (mounted_on(merged, dir))
        return servin_error_set(
            err, EBUSY, "unmount the root filesystem of container %.12s: still mounted at %s", c->id, merged);
    return 0;
}

/* --- diff: what the container changed, from its upper dir --- */

struct diff_walk {
    char **lowers; /* layer diff dirs, any order */
    size_t n_lowers;
    char **out;
    size_t n;
};

static bool in_lower(const struct diff_walk *w, const char *rel)
{
    for (size_t i = 0; i < w->n_lowers; i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", w->lowers[i], rel);
        struct stat st;
        if (lstat(p, &st) == 0 && !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)))
            return true;
    }
    return false;
}

static void diff_add(struct diff_walk *w, char kind, const char *rel)
{
    w->out = xreallocarray(w->out, w->n + 2, sizeof(char *));
    w->out[w->n++] = xasprintf("%c /%s", kind, rel);
    w->out[w->n] = NULL;
}

/* Walk by fds, never following a symlink: a running container may swap a directory of its upper
 * dir for a link to anywhere on the host while we look. */
static int diff_dir(struct diff_walk *w, int dir_fd, const char *rel, struct servin_error *err)
{
    DIR *d = fdopendir(dir_fd);
    if (!d) {
        int saved = errno;
        close(dir_fd);
        return servin_error_errno(err, saved, "read /%s of the container's changes", rel);
    }
    struct dirent *e;
    int ret = 0;
    while (ret == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *child = rel[0] ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* Gone while we looked: a running container changes its files. */
        /* overlayfs records a deletion as a 0/0 character device in the upper dir. */
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
            diff_add(w, 'D', child);
            continue;
        }
        diff_add(w, in_lower(w, child) ? 'C' : 'A', child);
        if (!S_ISDIR(st.st_mode))
            continue;
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            ret = diff_dir(w, sub, child, err);
    }
    closedir(d);
    return ret;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a + 2, *(char *const *)b + 2);
}

int servin_container_diff(struct servin_store *store, const struct servin_container *c, char ***changes,
                          struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
    struct diff_walk w = {0};
    struct servin_layer_desc *layers = NULL;
    int ret = servin_image_layers(store, c->image_id, &layers, &w.n_lowers, err);
    if (ret < 0)
        return servin_error_wrap(err, "diff container %.12s", c->id);
    w.lowers = xcalloc(w.n_lowers + 1, sizeof(char *));
    for (size_t i = 0; i < w.n_lowers; i++)
        w.lowers[i] = servin_layer_diff_path(store, layers[i].chain_id);
    servin_layer_descs_free(layers, w.n_lowers);
    w.out = xcalloc(1, sizeof(char *));
    /* A container whose root was never mounted has changed nothing. */
    int upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (upper_fd >= 0)
        ret = diff_dir(&w, upper_fd, "", err);
    strv_free(w.lowers);
    if (ret < 0) {
        strv_free(w.out);
        return servin_error_wrap(err, "diff container %.12s", c->id);
    }
    qsort(w.out, w.n, sizeof(char *), compare_paths);
    *changes = w.out;
    return 0;
}
