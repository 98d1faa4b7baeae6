/* container/copy_root.c — hold a container's root filesystem open for a copy (cp, the archive API):
 * a running container's mounted root, or a stopped one's mounted just for the copy. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/copy.h"

static bool mounted_state(enum servin_container_state s)
{
    return s == SERVIN_CONTAINER_RUNNING || s == SERVIN_CONTAINER_PAUSED || s == SERVIN_CONTAINER_RESTARTING;
}

int servin_container_root_open(struct servin_store *store, const struct servin_container *c,
                               struct servin_container_root *root, struct servin_error *err)
{
    root->fd = root->lock_fd = -1;
    root->mounted_here = false;
    int ret;
    if (!mounted_state(c->state)) {
        /* The container's lock keeps a start (which mounts too) from running while the copy mounts
         * and later unmounts the same root; the state is read again under it. */
        _cleanup_free_ char *name = xasprintf("container-%s", c->id);
        ret = servin_store_lock(store, name, SERVIN_LOCK_EXCLUSIVE, &root->lock_fd, err);
        if (ret < 0)
            return ret;
        struct servin_container fresh = {0};
        ret = servin_container_get(store, c->id, &fresh, err);
        bool mounted = ret == 0 && mounted_state(fresh.state);
        servin_container_clear(&fresh);
        if (ret < 0)
            goto fail;
        if (!mounted) {
            if ((ret = servin_container_mount_rootfs(store, c, err)) < 0)
                goto fail;
            root->mounted_here = true;
        }
    }
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    root->fd = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root->fd < 0) {
        ret = servin_error_errno(err, errno, "open the root filesystem of container %.12s", c->id);
        goto fail;
    }
    return 0;
fail:
    servin_container_root_release(store, c, root);
    return ret;
}

void servin_container_root_release(struct servin_store *store, const struct servin_container *c,
                                   struct servin_container_root *root)
{
    if (root->fd >= 0)
        close(root->fd);
    root->fd = -1;
    if (root->mounted_here) {
        struct servin_error ignored = {0};
        servin_container_unmount_rootfs(store, c, &ignored);
        root->mounted_here = false;
    }
    if (root->lock_fd >= 0)
        close(root->lock_fd);
    root->lock_fd = -1;
}
