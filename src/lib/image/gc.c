/* image/gc.c — free layers and blobs no image uses, and the leftovers of interrupted writes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/image_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/log.h"

/* A temp file younger than this may belong to a writer on another host sharing the store, or to a
 * process whose pid we cannot see; older ones are abandoned. */
#define LEFTOVER_AGE_SECS (10 * 60)

static void cleanup_dirp(DIR **d)
{
    if (*d)
        closedir(*d);
}
#define _cleanup_dir_ _cleanup_(cleanup_dirp)

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

/* Temp names of the form "<name>.tmp-<pid>[-<n>]" are abandoned when that process is gone; any
 * entry is abandoned when old. Other names (mkstemp's "tmp-XXXXXX") carry no pid to trust. */
static bool is_abandoned(const char *path, const char *name, time_t now)
{
    const char *tmp = strstr(name, ".tmp-");
    if (tmp) {
        char *end = NULL;
        long pid = strtol(tmp + 5, &end, 10);
        bool pid_named = end != tmp + 5 && (*end == '\0' || *end == '-');
        if (pid_named && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
            return true;
    }
    struct stat st;
    if (lstat(path, &st) < 0)
        return false;
    return now - st.st_mtime > LEFTOVER_AGE_SECS;
}

static uint64_t entry_size(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    if (S_ISDIR(st.st_mode)) {
        long long n = servin_dir_size(path);
        return n > 0 ? (uint64_t)n : 0;
    }
    return (uint64_t)st.st_size;
}

static int remove_entry(const char *path, uint64_t *reclaimed, struct servin_error *err)
{
    uint64_t size = entry_size(path);
    int ret = servin_rm_rf(path, err);
    if (ret < 0)
        return ret;
    *reclaimed += size;
    log_debug("gc: removed %s (%llu bytes)", path, (unsigned long long)size);
    return 0;
}

enum sweep_kind { SWEEP_LAYERS, SWEEP_BLOBS, SWEEP_LEFTOVERS };

static int still_recorded(struct servin_store *store, enum sweep_kind kind, const char *hex, bool *kept,
                          struct servin_error *err)
{
    _cleanup_free_ char *digest = xasprintf("sha256:%s", hex);
    _cleanup_free_ char *found = NULL;
    int ret;
    if (kind == SWEEP_LAYERS)
        ret = img_sql_text(store, err, &found, "SELECT 1 FROM layers WHERE chain_id = ?", "s", digest);
    else
        /* A layer row keeps its blob too: an imported image sharing the layer may need it for push. */
        ret = img_sql_text(store, err, &found,
                           "SELECT 1 FROM image_blobs WHERE digest = ?1 UNION ALL "
                           "SELECT 1 FROM layers WHERE blob_digest = ?1 UNION ALL "
                           /* a registry server sharing this root serves these */
                           "SELECT 1 FROM registry_blobs WHERE digest = ?1 UNION ALL "
                           "SELECT 1 FROM registry_manifests WHERE digest = ?1 LIMIT 1",
                           "s", digest);
    *kept = found != NULL;
    return ret;
}

static int sweep(struct servin_store *store, const char *rel, enum sweep_kind kind, uint64_t *reclaimed,
                 struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_store_path(store, "%s", rel);
    _cleanup_dir_ DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : servin_error_errno(err, errno, "read directory %s", dir);
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
        bool garbage;
        if (kind != SWEEP_LEFTOVERS && is_hex64(de->d_name)) {
            bool kept = false;
            int ret = still_recorded(store, kind, de->d_name, &kept, err);
            if (ret < 0)
                return ret;
            garbage = !kept;
        } else {
            garbage = is_abandoned(path, de->d_name, now);
        }
        if (!garbage)
            continue;
        int ret = remove_entry(path, reclaimed, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int gc_locked(struct servin_store *store, uint64_t *reclaimed, struct servin_error *err)
{
    int ret = servin_store_begin(store, err);
    if (ret < 0)
        return ret;
    ret = img_sql_run(store, err,
                      "DELETE FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)", NULL);
    if (ret < 0) {
        servin_store_rollback(store);
        return ret;
    }
    ret = servin_store_commit(store, err);
    if (ret < 0)
        return ret;

    /* Files go only after the rows are committed: a crash in between leaves files no row names,
     * which the sweeps below remove next time, never a row naming missing files (a broken image).
     * The sweeps also catch orphans of any earlier crash. */
    static const struct {
        const char *rel;
        enum sweep_kind kind;
    } sweeps[] = {{"layers", SWEEP_LAYERS},
                  {"content/blobs/sha256", SWEEP_BLOBS},
                  {"content/ingest", SWEEP_LEFTOVERS},
                  {"tmp", SWEEP_LEFTOVERS}};
    for (size_t i = 0; i < sizeof(sweeps) / sizeof(sweeps[0]); i++) {
        ret = sweep(store, sweeps[i].rel, sweeps[i].kind, reclaimed, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int gc(struct servin_store *store, bool wait, uint64_t *reclaimed, struct servin_error *err)
{
    *reclaimed = 0;
    _cleanup_close_ int fd = -1;
    int ret;
    if (wait) {
        ret = servin_store_lock(store, "gc", SERVIN_LOCK_EXCLUSIVE, &fd, err);
        if (ret < 0)
            return servin_error_wrap(err, "collect garbage");
    } else {
        _cleanup_free_ char *path = servin_store_path(store, "locks/gc.lock");
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return servin_error_errno(err, errno, "collect garbage: open lock %s", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno == EWOULDBLOCK || errno == EINTR) {
                log_debug("gc: the store is busy with a pull or another GC; leaving garbage for later");
                return 0;
            }
            return servin_error_errno(err, errno, "collect garbage: lock %s", path);
        }
    }
    ret = gc_locked(store, reclaimed, err);
    if (ret < 0)
        return servin_error_wrap(err, "collect garbage");
    return 0;
}

int servin_store_gc(struct servin_store *store, uint64_t *reclaimed, struct servin_error *err)
{
    return gc(store, true, reclaimed, err);
}

int servin_store_gc_try(struct servin_store *store, uint64_t *reclaimed, struct servin_error *err)
{
    return gc(store, false, reclaimed, err);
}
