/* container/size.c — how much a container wrote (its upper dir) and its whole root's size, for
 * `ps -s` and inspect's SizeRw / SizeRootFs. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/image.h"
#include "servin/size.h"

static __thread uint64_t walk_total;

static int add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    /* Files and symlinks count, directories and whiteouts (0/0 devices) do not, as in Docker. */
    if (flag == FTW_F || flag == FTW_SL)
        if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))
            walk_total += (uint64_t)st->st_size;
    return 0;
}

int servin_container_size(struct servin_store *store, const struct servin_container *c, uint64_t *rw,
                          uint64_t *root_fs, struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
    walk_total = 0;
    /* FTW_PHYS: never follow a symlink the container made; FTW_MOUNT: stay on the upper's filesystem. */
    if (nftw(upper, add_entry, 16, FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
        return servin_error_errno(err, errno, "measure %s", upper);
    *rw = walk_total;
    struct servin_image_summary img = {0};
    uint64_t image_size = 0;
    struct servin_error ignored = {0};
    /* An image removed from under the container (rmi -f) leaves only the container's own size. */
    if (servin_image_get(store, c->image_id, &img, &ignored) == 0) {
        image_size = img.size;
        servin_image_summary_clear(&img);
    }
    *root_fs = image_size + walk_total;
    return 0;
}
