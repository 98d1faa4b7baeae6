/* container/orphans.c — release what containers that no longer run still hold.
 *
 * A monitor killed with its container (kill -9, OOM, a crash), or a `servin run` killed in the
 * middle of a start, leaves the runtime state and cgroup, the rootfs mount, the pinned network
 * namespace with its veth, firewall rules, DNS entries and address leases. The monitor's cleanup
 * never ran, so `system prune` and `system restore` run the same steps for it here. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/network.h"
#include "servin/runtime.h"

/* Anything left to release: runtime state, a pinned namespace or a rootfs mount. Leases without a
 * namespace are the network's to find (servin_network_cleanup_orphans). */
static bool holds_something(struct servin_store *store, const struct servin_container *c)
{
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    _cleanup_free_ char *state_dir = xasprintf("%s/%s", oci_root, c->id);
    _cleanup_free_ char *netns = servin_container_netns_path(store, c->id);
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    struct stat st, pst;
    bool mounted = stat(merged, &st) == 0 && stat(dir, &pst) == 0 && st.st_dev != pst.st_dev;
    return mounted || access(state_dir, F_OK) == 0 || access(netns, F_OK) == 0;
}

static bool live(const struct servin_container *c)
{
    return servin_container_is_active(c) || c->monitor_pid > 0;
}

int servin_container_cleanup_orphans(struct servin_store *store, int *cleaned, struct servin_error *err)
{
    *cleaned = 0;
    struct servin_container *list = NULL;
    size_t n = 0;
    /* Listing reconciles: a container whose monitor and init are gone reads as exited. */
    int ret = servin_container_list(store, &list, &n, err);
    if (ret < 0)
        return servin_error_wrap(err, "find orphaned container resources");
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        struct servin_container *c = &list[i];
        if (live(c) || c->state == SERVIN_CONTAINER_REMOVING || !holds_something(store, c))
            continue;
        /* A start in progress holds the lock and owns what it has set up so far. */
        _cleanup_close_ int lock_fd = -1;
        struct servin_error inner = {0};
        if (servin_container_lock(store, c->id, &lock_fd, &inner) < 0)
            continue;
        if (servin_container_reconcile(store, c, &inner) < 0 || live(c))
            continue;
        servin_oci_delete(oci_root, c->id, true, &inner);
        servin_error_clear(&inner);
        int r = servin_network_container_stop(store, c->id, first < 0 ? &inner : err);
        if (r == 0)
            r = servin_container_unmount_rootfs(store, c, first < 0 ? &inner : err);
        if (r < 0 && first == 0)
            first = r;
        (*cleaned)++;
    }
    servin_containers_free(list, n);
    /* Leases and namespaces of containers whose record is gone. */
    int net_cleaned = 0;
    struct servin_error inner = {0};
    int r = servin_network_cleanup_orphans(store, &net_cleaned, first < 0 ? &inner : err);
    if (r < 0 && first == 0)
        first = r;
    *cleaned += net_cleaned;
    return first;
}
