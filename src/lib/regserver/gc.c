/* regserver/gc.c — `servin registry gc`: drop blob links no manifest names, then the files nothing uses. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"
#include "servin/regserver.h"
#include "servin/store.h"

static void cleanup_dirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

/* Links to blobs that no manifest names: an upload never followed by its manifest, or what a
 * deleted manifest left. Counted (and, unless dry, removed) in one transaction. */
static int drop_links(struct servin_store *store, bool dry_run, uint64_t *count, struct servin_error *err)
{
    static const char unused[] =
        "FROM registry_blobs WHERE digest NOT IN (SELECT digest FROM registry_manifest_refs)";
    _cleanup_free_ char *n = NULL;
    _cleanup_free_ char *count_sql = xasprintf("SELECT count(*) %s", unused);
    int ret = img_sql_text(store, err, &n, count_sql, NULL);
    if (ret < 0)
        return ret;
    *count = n ? strtoull(n, NULL, 10) : 0;
    if (dry_run || *count == 0)
        return 0;
    _cleanup_free_ char *delete_sql = xasprintf("DELETE %s", unused);
    return img_sql_run(store, err, delete_sql, NULL);
}

/* Whether a blob file is still needed by the registry or by a local image of the same store. */
static int blob_needed(struct servin_store *store, const char *digest, bool dry_run, bool *needed,
                       struct servin_error *err)
{
    _cleanup_free_ char *found = NULL;
    /* In a dry run the unused links are still there; count only links that a manifest names. */
    const char *links = dry_run ? "SELECT 1 FROM registry_blobs WHERE digest = ?1 AND digest IN "
                                  "(SELECT digest FROM registry_manifest_refs) UNION ALL "
                                : "SELECT 1 FROM registry_blobs WHERE digest = ?1 UNION ALL ";
    _cleanup_free_ char *sql = xasprintf("%s"
                                         "SELECT 1 FROM registry_manifests WHERE digest = ?1 UNION ALL "
                                         "SELECT 1 FROM image_blobs WHERE digest = ?1 UNION ALL "
                                         "SELECT 1 FROM layers WHERE blob_digest = ?1 LIMIT 1",
                                         links);
    int ret = img_sql_text(store, err, &found, sql, "s", digest);
    *needed = found != NULL;
    return ret;
}

static int sweep_blobs(struct servin_store *store, bool dry_run, servin_regserver_gc_report_fn report,
                       void *ctx, struct servin_regserver_gc_stats *stats, struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_store_path(store, "content/blobs/sha256");
    __attribute__((cleanup(cleanup_dirp))) DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : servin_error_errno(err, errno, "read directory %s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_hex64(de->d_name))
            continue;
        _cleanup_free_ char *digest = xasprintf("sha256:%s", de->d_name);
        bool needed = true;
        int ret = blob_needed(store, digest, dry_run, &needed, err);
        if (ret < 0)
            return ret;
        if (needed)
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        if (!dry_run && unlink(path) < 0 && errno != ENOENT)
            return servin_error_errno(err, errno, "remove blob %s", path);
        stats->blobs_removed++;
        stats->bytes_freed += (uint64_t)st.st_size;
        if (report)
            report(ctx, digest, (uint64_t)st.st_size);
    }
    return 0;
}

int servin_regserver_gc(const char *storage, bool dry_run, servin_regserver_gc_report_fn report, void *ctx,
                        struct servin_regserver_gc_stats *stats, struct servin_error *err)
{
    memset(stats, 0, sizeof(*stats));
    _cleanup_store_ struct servin_store *store = NULL;
    int ret = servin_store_open(storage, &store, err);
    if (ret < 0)
        return servin_error_wrap(err, "registry gc");
    /* The exclusive gc lock waits for pulls and for uploads being committed, which hold it shared. */
    _cleanup_close_ int lock = -1;
    ret = servin_store_lock(store, "gc", SERVIN_LOCK_EXCLUSIVE, &lock, err);
    if (ret == 0)
        ret = servin_store_begin(store, err);
    if (ret < 0)
        return servin_error_wrap(err, "registry gc");
    ret = drop_links(store, dry_run, &stats->links_removed, err);
    if (ret < 0) {
        servin_store_rollback(store);
        return servin_error_wrap(err, "registry gc");
    }
    ret = servin_store_commit(store, err);
    /* Files go only after the rows are committed, so no row ever names a missing file. */
    if (ret == 0)
        ret = sweep_blobs(store, dry_run, report, ctx, stats, err);
    if (ret < 0)
        return servin_error_wrap(err, "registry gc");
    log_debug("registry gc: %llu links, %llu blobs, %llu bytes%s", (unsigned long long)stats->links_removed,
              (unsigned long long)stats->blobs_removed, (unsigned long long)stats->bytes_freed,
              dry_run ? " (dry run)" : "");
    return 0;
}
