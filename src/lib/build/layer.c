/* build/layer.c — a step's root filesystem (an overlay over the state's layers with a fresh upper
 * dir) and the layer its upper dir becomes.
 *
 * The layer blob is an uncompressed tar (compressing is for pushing; the diff_id is then the blob's
 * own digest), written in a fixed order with fixed fields so that the same files give the same
 * digest. The upper dir is already in the form of an unpacked layer (overlay whiteouts, opaque
 * xattrs), so it is moved into layers/<chain>/diff rather than unpacked again from the blob. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "build/build_internal.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/content.h"
#include "servin/fs.h"

static void random_id(char out[65])
{
    unsigned char raw[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, raw, sizeof(raw)) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof(raw)) {
        /* Unique enough for a step directory: time and pid. */
        char seed[64];
        snprintf(seed, sizeof(seed), "%d-%ld", (int)getpid(), (long)random());
        char d[SERVIN_DIGEST_MAX];
        servin_digest_bytes(seed, strlen(seed), d);
        memcpy(out, servin_digest_hex(d), 64);
        out[64] = '\0';
        return;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

int bf_fs_open(struct servin_store *store, const struct bf_state *s, struct bf_fs *fs,
               struct servin_error *err)
{
    memset(fs, 0, sizeof(*fs));
    random_id(fs->id);
    fs->dir = servin_container_dir(store, fs->id);
    fs->merged = xasprintf("%s/merged", fs->dir);
    int ret = servin_mkdir_p(fs->dir, 0700, err);
    if (ret < 0)
        return ret;
    char **paths = xcalloc(s->n_layers + 1, sizeof(char *));
    for (size_t i = 0; i < s->n_layers; i++)
        paths[i] = servin_layer_diff_path(store, s->layers[i].chain_id);
    struct servin_container c = {0};
    memcpy(c.id, fs->id, sizeof(c.id));
    ret = servin_container_mount_layers(store, &c, (const char *const *)paths, s->n_layers, err);
    strv_free(paths);
    if (ret < 0)
        return ret;
    fs->mounted = true;
    return 0;
}

int bf_fs_unmount(struct servin_store *store, struct bf_fs *fs, struct servin_error *err)
{
    if (!fs->mounted)
        return 0;
    struct servin_container c = {0};
    memcpy(c.id, fs->id, sizeof(c.id));
    int ret = servin_container_unmount_rootfs(store, &c, err);
    if (ret == 0)
        fs->mounted = false;
    return ret;
}

void bf_fs_close(struct servin_store *store, struct bf_fs *fs)
{
    if (!fs->dir)
        return;
    struct servin_error ignored = {0};
    if (bf_fs_unmount(store, fs, &ignored) == 0)
        servin_rm_rf(fs->dir, NULL);
    free(fs->dir);
    free(fs->merged);
    fs->dir = fs->merged = NULL;
}

int bf_fs_open_in(const struct bf_fs *fs, const char *path, int flags, struct servin_error *err)
{
    _cleanup_close_ int root = open(fs->merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return servin_error_errno(err, errno, "open %s", fs->merged);
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    if (flags & O_CREAT)
        how.mode = 0644;
    while (*path == '/')
        path++;
    int fd = (int)syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof(how));
    if (fd < 0)
        return -errno;
    return fd;
}

/* --- the tar of an upper dir --- */

struct sink {
    struct servin_content_writer *w;
    struct servin_error *err;
    bool failed;
};

static la_ssize_t sink_write(struct archive *a, void *data, const void *buf, size_t len)
{
    struct sink *s = data;
    if (servin_content_writer_write(s->w, buf, len, s->err) < 0) {
        s->failed = true;
        archive_set_error(a, EIO, "%s", s->err->msg);
        return -1;
    }
    return (la_ssize_t)len;
}

struct hardlink {
    dev_t dev;
    ino_t ino;
    char *path;
};

struct walk {
    struct archive *tar;
    struct sink *sink;
    long long clamp;
    struct hardlink *links;
    size_t n_links;
    uint64_t size;
    size_t entries;
    struct servin_error *err;
};

static int tar_fail(struct walk *w, const char *what)
{
    if (w->sink->failed)
        return -w->err->code;
    return servin_error_set(w->err, EIO, "write the layer: %s: %s", what, archive_error_string(w->tar));
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static struct archive_entry *base_entry(struct walk *w, const char *name, const struct stat *st)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mode(e, st->st_mode);
    archive_entry_set_uid(e, st->st_uid);
    archive_entry_set_gid(e, st->st_gid);
    long long mtime = st->st_mtime;
    if (w->clamp >= 0 && mtime > w->clamp)
        mtime = w->clamp;
    archive_entry_set_mtime(e, mtime, 0);
    return e;
}

static int write_whiteout(struct walk *w, const char *parent, const char *name)
{
    _cleanup_free_ char *path = parent[0] ? xasprintf("%s/.wh.%s", parent, name) : xasprintf(".wh.%s", name);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, w->clamp >= 0 ? w->clamp : 0, 0);
    int r = archive_write_header(w->tar, e);
    archive_entry_free(e);
    w->entries++;
    return r == ARCHIVE_OK ? 0 : tar_fail(w, path);
}

static int copy_data(struct walk *w, int fd, const char *path)
{
    char buf[128 * 1024];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return servin_error_errno(w->err, errno, "read %s for the layer", path);
        if (n == 0)
            return 0;
        if (archive_write_data(w->tar, buf, (size_t)n) != n)
            return tar_fail(w, path);
        w->size += (uint64_t)n;
    }
}

static int walk_dir(struct walk *w, int dir_fd, const char *rel);

static int walk_entry(struct walk *w, int dir_fd, const char *rel, const char *name)
{
    _cleanup_free_ char *path = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return servin_error_errno(w->err, errno, "read %s of the step's changes", path);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
        return write_whiteout(w, rel, name);
    struct archive_entry *e = base_entry(w, path, &st);
    int ret = 0;
    _cleanup_close_ int fd = -1;
    if (S_ISREG(st.st_mode)) {
        if (st.st_nlink > 1) {
            for (size_t i = 0; i < w->n_links; i++) {
                if (w->links[i].dev == st.st_dev && w->links[i].ino == st.st_ino) {
                    archive_entry_set_hardlink(e, w->links[i].path);
                    archive_entry_set_size(e, 0);
                    int r = archive_write_header(w->tar, e);
                    archive_entry_free(e);
                    w->entries++;
                    return r == ARCHIVE_OK ? 0 : tar_fail(w, path);
                }
            }
            w->links = xreallocarray(w->links, w->n_links + 1, sizeof(*w->links));
            w->links[w->n_links++] = (struct hardlink){st.st_dev, st.st_ino, xstrdup(path)};
        }
        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            archive_entry_free(e);
            return servin_error_errno(w->err, errno, "open %s of the step's changes", path);
        }
        archive_entry_set_size(e, st.st_size);
    } else if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(dir_fd, name, target, sizeof(target) - 1);
        if (n < 0) {
            archive_entry_free(e);
            return servin_error_errno(w->err, errno, "read the link %s", path);
        }
        target[n] = '\0';
        archive_entry_set_symlink(e, target);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        archive_entry_set_rdevmajor(e, major(st.st_rdev));
        archive_entry_set_rdevminor(e, minor(st.st_rdev));
    }
    /* File capabilities survive; overlay's own trusted.* attributes do not belong in a layer. */
    if (!S_ISLNK(st.st_mode)) {
        char cap[256];
        _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d/%s", dir_fd, name);
        ssize_t n = lgetxattr(proc, "security.capability", cap, sizeof(cap));
        if (n > 0)
            archive_entry_xattr_add_entry(e, "security.capability", cap, (size_t)n);
    }
    if (archive_write_header(w->tar, e) != ARCHIVE_OK)
        ret = tar_fail(w, path);
    archive_entry_free(e);
    w->entries++;
    if (ret == 0 && fd >= 0)
        ret = copy_data(w, fd, path);
    if (ret == 0 && S_ISDIR(st.st_mode)) {
        int sub = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return servin_error_errno(w->err, errno, "open %s of the step's changes", path);
        char opq[4];
        _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", sub);
        ssize_t n = getxattr(proc, "trusted.overlay.opaque", opq, sizeof(opq));
        if (n == 1 && opq[0] == 'y')
            ret = write_whiteout(w, path, ".wh..opq");
        if (ret == 0)
            ret = walk_dir(w, sub, path);
        close(sub);
    }
    return ret;
}

static int walk_dir(struct walk *w, int dir_fd, const char *rel)
{
    struct dirent **names = NULL;
    _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", dir_fd);
    int n = scandir(proc, &names, NULL, by_name);
    if (n < 0)
        return servin_error_errno(w->err, errno, "list /%s of the step's changes", rel);
    int ret = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (ret == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
            ret = walk_entry(w, dir_fd, rel, name);
        free(names[i]);
    }
    free(names);
    return ret;
}

static int write_tar(struct servin_store *store, const char *upper, long long clamp,
                     char blob[SERVIN_DIGEST_MAX], uint64_t *blob_size, uint64_t *size, size_t *entries,
                     struct servin_error *err)
{
    struct servin_content_writer *cw = NULL;
    int ret = servin_content_writer_open(store, NULL, &cw, NULL, err);
    if (ret < 0)
        return ret;
    struct sink sink = {.w = cw, .err = err};
    struct walk w = {.tar = archive_write_new(), .sink = &sink, .clamp = clamp, .err = err};
    archive_write_set_format_pax_restricted(w.tar);
    archive_write_set_bytes_per_block(w.tar, 10240);
    _cleanup_close_ int fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        ret = servin_error_errno(err, errno, "open %s", upper);
    else if (archive_write_open(w.tar, &sink, NULL, sink_write, NULL) != ARCHIVE_OK)
        ret = tar_fail(&w, "start");
    if (ret == 0)
        ret = walk_dir(&w, fd, "");
    if (ret == 0 && archive_write_close(w.tar) != ARCHIVE_OK)
        ret = tar_fail(&w, "finish");
    archive_write_free(w.tar);
    for (size_t i = 0; i < w.n_links; i++)
        free(w.links[i].path);
    free(w.links);
    *size = w.size;
    *entries = w.entries;
    if (ret < 0 || w.entries == 0) {
        servin_content_writer_close(cw);
        return ret;
    }
    *blob_size = servin_content_writer_size(cw);
    servin_content_writer_defer_sync(cw);
    return servin_content_writer_commit(cw, 0, blob, err);
}

static int write_small(const char *path, const char *text, struct servin_error *err)
{
    return servin_write_file_atomic(path, text, strlen(text), 0644, err);
}

int bf_fs_commit(struct servin_store *store, struct bf_fs *fs, const struct bf_state *parent,
                 long long clamp_mtime, struct servin_layer_desc *layer_out, bool *empty,
                 struct servin_error *err)
{
    int ret = bf_fs_unmount(store, fs, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *upper = xasprintf("%s/upper", fs->dir);
    struct servin_layer_desc l = {0};
    size_t entries = 0;
    ret = write_tar(store, upper, clamp_mtime, l.blob_digest, &l.blob_size, &l.size, &entries, err);
    if (ret < 0)
        return ret;
    *empty = entries == 0;
    if (*empty)
        return 0;
    ret = servin_content_sync(store, l.blob_digest, err);
    if (ret < 0)
        return ret;
    memcpy(l.diff_id, l.blob_digest, sizeof(l.diff_id));
    servin_chain_id(parent->n_layers ? parent->layers[parent->n_layers - 1].chain_id : NULL, l.diff_id,
                    l.chain_id);
    _cleanup_free_ char *final = servin_store_path(store, "layers/%s", servin_digest_hex(l.chain_id));
    struct stat st;
    _cleanup_free_ char *final_diff = xasprintf("%s/diff", final);
    if (stat(final_diff, &st) != 0) {
        _cleanup_free_ char *tmp =
            servin_store_path(store, "layers/%s.tmp-%d-build", servin_digest_hex(l.chain_id), (int)getpid());
        _cleanup_free_ char *tmp_diff = xasprintf("%s/diff", tmp);
        _cleanup_free_ char *size_text = xasprintf("%" PRIu64 "\n", l.size);
        _cleanup_free_ char *diff_text = xasprintf("%s\n", l.diff_id);
        _cleanup_free_ char *f1 = xasprintf("%s/diff_id", tmp), *f2 = xasprintf("%s/size", tmp);
        servin_rm_rf(tmp, NULL);
        if (mkdir(tmp, 0700) < 0)
            return servin_error_errno(err, errno, "create %s", tmp);
        if (rename(upper, tmp_diff) < 0)
            ret = servin_error_errno(err, errno, "move the step's changes into %s", tmp_diff);
        if (ret == 0)
            ret = write_small(f1, diff_text, err);
        if (ret == 0)
            ret = write_small(f2, size_text, err);
        if (ret == 0 && rename(tmp, final) < 0 && !(errno == EEXIST || errno == ENOTEMPTY))
            ret = servin_error_errno(err, errno, "move the layer into %s", final);
        servin_rm_rf(tmp, NULL);
        if (ret < 0)
            return ret;
    }
    l.blob_media_type = (char *)SERVIN_MT_OCI_LAYER;
    *layer_out = l;
    return 0;
}
