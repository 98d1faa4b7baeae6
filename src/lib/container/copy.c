/* container/copy.c — copy trees between roots and tar streams (see copy.h): a source (a tree walked
 * through directory fds, or a tar reader) feeds a sink (a tar writer, or a directory created entry
 * by entry under a root, each parent resolved inside that root). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/rootfs_internal.h"
#include "servin/cleanup.h"
#include "servin/copy.h"

/* Where an entry's bytes come from: a file descriptor (tree source) or the tar being read. */
struct data_src {
    int fd;
    struct archive *ar;
};

static ssize_t data_read(struct data_src *d, void *buf, size_t n)
{
    if (d->ar)
        return archive_read_data(d->ar, buf, n);
    ssize_t r;
    do
        r = read(d->fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

struct sink;
typedef int (*sink_put_fn)(struct sink *s, struct archive_entry *e, struct data_src *data,
                           struct servin_error *err);

struct sink {
    sink_put_fn put;
    const struct servin_copy_opts *opts;
    struct archive *tar; /* tar sink */
    int root_fd;         /* directory sink */
    const char *dir;
};

/* ---- sinks ---- */

static int tar_put(struct sink *s, struct archive_entry *e, struct data_src *data, struct servin_error *err)
{
    if (s->opts && s->opts->filter) {
        int r = s->opts->filter(s->opts->filter_ctx, s->tar, e, err);
        if (r != 0)
            return r < 0 ? r : 0;
    }
    if (archive_write_header(s->tar, e) != ARCHIVE_OK)
        return servin_error_set(err, EIO, "write the archive entry %s: %s", archive_entry_pathname(e),
                                archive_error_string(s->tar));
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_size(e) <= 0)
        return 0;
    char buf[65536];
    ssize_t n;
    int64_t left = archive_entry_size(e);
    /* The header promised size bytes: a file that shrinks meanwhile is padded, one that grows cut. */
    while (left > 0 &&
           (n = data_read(data, buf, (size_t)(left < (int64_t)sizeof(buf) ? left : (int64_t)sizeof(buf)))) >
               0) {
        if (archive_write_data(s->tar, buf, (size_t)n) < 0)
            return servin_error_set(err, EIO, "write %s to the archive: %s", archive_entry_pathname(e),
                                    archive_error_string(s->tar));
        left -= n;
    }
    if (left > 0 && data->fd >= 0)
        return servin_error_errno(err, errno ? errno : EIO, "read %s", archive_entry_pathname(e));
    return 0;
}

static int copy_data(int fd, struct data_src *data, const char *name, struct servin_error *err)
{
    char buf[65536];
    for (;;) {
        ssize_t n = data_read(data, buf, sizeof(buf));
        if (n == 0)
            return 0;
        if (n < 0)
            return data->ar ? servin_error_set(err, EIO, "read %s from the archive: %s", name,
                                               archive_error_string(data->ar))
                            : servin_error_errno(err, errno, "read %s", name);
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return servin_error_errno(err, errno, "write %s", name);
            off += w;
        }
    }
}

static void set_times(int fd, const char *name, int flags, struct archive_entry *e)
{
    struct timespec ts[2] = {{.tv_sec = archive_entry_atime(e), .tv_nsec = archive_entry_atime_nsec(e)},
                             {.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)}};
    if (!archive_entry_atime_is_set(e))
        ts[0] = ts[1];
    utimensat(fd, name, ts, flags);
}

/* Create one entry at dir/<its name> under root. Parents missing from the stream are created as
 * directories; everything is created relative to a parent fd resolved inside the root. */
static int dir_put(struct sink *s, struct archive_entry *e, struct data_src *data, struct servin_error *err)
{
    const char *name = archive_entry_pathname(e);
    _cleanup_free_ char *full = xasprintf("%s/%s", s->dir, name);
    char *slash = strrchr(full, '/');
    _cleanup_free_ char *base = xstrdup(slash + 1);
    *slash = '\0';
    _cleanup_close_ int parent =
        rootfs_open_in_root(s->root_fd, full[0] ? full : "/", ROOTFS_CREATE_DIR, err);
    if (parent < 0)
        return servin_error_wrap(err, "copy %s", name);
    struct stat pst, st;
    if (fstat(parent, &pst) < 0 || !S_ISDIR(pst.st_mode))
        return servin_error_set(err, ENOTDIR, "copy %s: %s is not a directory", name, full[0] ? full : "/");
    _cleanup_close_ int pdir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pdir < 0)
        return servin_error_errno(err, errno, "open %s", full);
    bool exists = fstatat(pdir, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
    mode_t type = archive_entry_filetype(e);
    mode_t perm = archive_entry_perm(e);
    uid_t uid = (uid_t)archive_entry_uid(e);
    gid_t gid = (gid_t)archive_entry_gid(e);
    const char *hardlink = archive_entry_hardlink(e);

    if (type == AE_IFDIR && !hardlink) {
        if (exists && !S_ISDIR(st.st_mode))
            return servin_error_set(err, EEXIST, "cannot overwrite non-directory %s/%s with directory %s",
                                    full, base, name);
        if (!exists && mkdirat(pdir, base, 0700) < 0)
            return servin_error_errno(err, errno, "create directory %s/%s", full, base);
        _cleanup_close_ int fd = openat(pdir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return servin_error_errno(err, errno, "open directory %s/%s", full, base);
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, perm) < 0)
            return servin_error_errno(err, errno, "set the owner and mode of %s/%s", full, base);
        set_times(fd, "", AT_EMPTY_PATH, e);
        return 0;
    }
    if (exists && S_ISDIR(st.st_mode))
        return servin_error_set(err, EISDIR, "cannot overwrite directory %s/%s with non-directory %s", full,
                                base, name);
    if (exists && unlinkat(pdir, base, 0) < 0)
        return servin_error_errno(err, errno, "replace %s/%s", full, base);

    if (hardlink) {
        _cleanup_free_ char *target_path = xasprintf("%s/%s", s->dir, hardlink);
        _cleanup_close_ int target = rootfs_open_in_root(s->root_fd, target_path, ROOTFS_NO_CREATE, err);
        if (target < 0)
            return servin_error_wrap(err, "hard link %s", name);
        if (linkat(target, "", pdir, base, AT_EMPTY_PATH) < 0)
            return servin_error_errno(err, errno, "hard link %s to %s", name, hardlink);
        return 0;
    }
    switch (type) {
    case AE_IFREG: {
        _cleanup_close_ int fd =
            openat(pdir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return servin_error_errno(err, errno, "create %s/%s", full, base);
        int ret = copy_data(fd, data, name, err);
        if (ret < 0)
            return ret;
        /* chown clears set-id bits, so the mode goes last. */
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, perm) < 0)
            return servin_error_errno(err, errno, "set the owner and mode of %s/%s", full, base);
        set_times(fd, "", AT_EMPTY_PATH, e);
        return 0;
    }
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e);
        if (symlinkat(target ? target : "", pdir, base) < 0)
            return servin_error_errno(err, errno, "create symlink %s/%s", full, base);
        if (fchownat(pdir, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            return servin_error_errno(err, errno, "set the owner of %s/%s", full, base);
        set_times(pdir, base, AT_SYMLINK_NOFOLLOW, e);
        return 0;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
        if (mknodat(pdir, base, type | perm, archive_entry_rdev(e)) < 0)
            return servin_error_errno(err, errno, "create %s/%s", full, base);
        if (fchownat(pdir, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(pdir, base, perm, 0) < 0)
            return servin_error_errno(err, errno, "set the owner and mode of %s/%s", full, base);
        return 0;
    default:
        return 0; /* sockets and the like have nothing to copy */
    }
}

/* ---- the tree source ---- */

static void apply_owner(struct archive_entry *e, const struct servin_copy_opts *opts)
{
    if (!opts->keep_owner) {
        archive_entry_set_uid(e, opts->uid);
        archive_entry_set_gid(e, opts->gid);
    }
    archive_entry_set_uname(e, NULL);
    archive_entry_set_gname(e, NULL);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Emit the object at dirfd/name (stat st) as entry `path`, and below it when a directory. */
static int walk(struct sink *s, int obj, const struct stat *st, const char *path, bool emit,
                const struct servin_copy_opts *opts, int depth, struct servin_error *err)
{
    if (depth > 256)
        return servin_error_set(err, ELOOP, "copy %s: directories nested too deep", path);
    if (emit) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_copy_stat(e, st);
        archive_entry_set_pathname(e, path);
        apply_owner(e, opts);
        struct data_src data = {.fd = -1};
        if (S_ISLNK(st->st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(obj, "", target, sizeof(target) - 1);
            if (n < 0) {
                archive_entry_free(e);
                return servin_error_errno(err, errno, "read the symlink %s", path);
            }
            target[n] = '\0';
            archive_entry_set_symlink(e, target);
        } else if (S_ISREG(st->st_mode)) {
            char proc[ROOTFS_FD_PATH_MAX];
            /* Reopening the O_PATH fd through /proc reads exactly the file that was resolved. */
            data.fd = open(rootfs_fd_path(obj, proc), O_RDONLY | O_CLOEXEC | O_NOCTTY);
            if (data.fd < 0) {
                archive_entry_free(e);
                return servin_error_errno(err, errno, "open %s", path);
            }
        } else if (S_ISSOCK(st->st_mode)) {
            archive_entry_free(e);
            return 0;
        }
        int ret = s->put(s, e, &data, err);
        if (data.fd >= 0)
            close(data.fd);
        archive_entry_free(e);
        if (ret < 0)
            return ret;
    }
    if (!S_ISDIR(st->st_mode))
        return 0;
    int dfd = openat(obj, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return servin_error_errno(err, errno, "open directory %s", path);
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return servin_error_errno(err, errno, "read directory %s", path);
    }
    /* Sorted, so that archives come out the same every time. */
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrdup(de->d_name);
    }
    if (n)
        qsort(names, n, sizeof(*names), compare_names);
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        if (ret == 0) {
            _cleanup_close_ int child = openat(dirfd(d), names[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
            struct stat cst;
            if (child < 0 || fstat(child, &cst) < 0) {
                if (errno != ENOENT) /* removed since the listing: nothing to copy */
                    ret = servin_error_errno(err, errno, "stat %s/%s", path, names[i]);
            } else {
                _cleanup_free_ char *cpath = *path ? xasprintf("%s/%s", path, names[i]) : xstrdup(names[i]);
                ret = walk(s, child, &cst, cpath, true, opts, depth + 1, err);
            }
        }
        free(names[i]);
    }
    free(names);
    closedir(d);
    return ret;
}

static char *base_name(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    const char *start = path + len;
    while (start > path && start[-1] != '/')
        start--;
    return xstrndup(start, (size_t)(path + len - start));
}

static char *dir_name(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    while (len > 0 && path[len - 1] != '/')
        len--;
    while (len > 1 && path[len - 1] == '/')
        len--;
    return len ? xstrndup(path, len) : xstrdup(".");
}

/* An O_PATH fd on path under root: the final symlink followed or not. */
static int open_source(int root_fd, const char *path, bool follow, struct servin_error *err)
{
    _cleanup_free_ char *base = base_name(path);
    if (follow || !*base || strcmp(base, "/") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return rootfs_open_in_root(root_fd, path, ROOTFS_NO_CREATE, err);
    _cleanup_free_ char *dir = dir_name(path);
    _cleanup_close_ int parent = rootfs_open_in_root(root_fd, dir, ROOTFS_NO_CREATE, err);
    if (parent < 0)
        return parent;
    int fd = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return servin_error_errno(err, errno, "resolve %s inside the rootfs", path);
    return fd;
}

static int walk_source(int root_fd, const char *path, const struct servin_copy_opts *opts, struct sink *s,
                       struct servin_error *err)
{
    _cleanup_close_ int obj = open_source(root_fd, path, opts->follow_link, err);
    if (obj < 0)
        return obj;
    struct stat st;
    if (fstat(obj, &st) < 0)
        return servin_error_errno(err, errno, "stat %s", path);
    _cleanup_free_ char *base = base_name(path);
    bool root_like = !*base || strcmp(base, "/") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0;
    if (opts->contents_only || (root_like && !opts->top)) {
        if (!S_ISDIR(st.st_mode))
            return servin_error_set(err, ENOTDIR, "copy %s: not a directory", path);
        return walk(s, obj, &st, "", false, opts, 0, err);
    }
    return walk(s, obj, &st, opts->top ? opts->top : base, true, opts, 0, err);
}

/* ---- public ---- */

void servin_path_stat_clear(struct servin_path_stat *st)
{
    free(st->name);
    free(st->link_target);
    memset(st, 0, sizeof(*st));
}

int servin_copy_stat(int root_fd, const char *path, bool follow, struct servin_path_stat *out,
                     struct servin_error *err)
{
    _cleanup_close_ int obj = open_source(root_fd, path, follow, err);
    if (obj < 0)
        return obj;
    struct stat st;
    if (fstat(obj, &st) < 0)
        return servin_error_errno(err, errno, "stat %s", path);
    memset(out, 0, sizeof(*out));
    out->name = base_name(path);
    out->size = st.st_size;
    out->mode = st.st_mode;
    out->mtime = st.st_mtim.tv_sec;
    char target[PATH_MAX];
    ssize_t n = S_ISLNK(st.st_mode) ? readlinkat(obj, "", target, sizeof(target) - 1) : -1;
    out->link_target = n > 0 ? xstrndup(target, (size_t)n) : xstrdup("");
    return 0;
}

int servin_copy_to_tar(int root_fd, const char *path, const struct servin_copy_opts *opts, int out_fd,
                       struct servin_error *err)
{
    struct archive *tar = archive_write_new();
    archive_write_set_format_pax_restricted(tar);
    int ret;
    if (archive_write_open_fd(tar, out_fd) != ARCHIVE_OK) {
        ret = servin_error_set(err, EIO, "start the archive: %s", archive_error_string(tar));
    } else {
        struct sink s = {.put = tar_put, .opts = opts, .tar = tar};
        ret = walk_source(root_fd, path, opts, &s, err);
        if (ret == 0 && archive_write_close(tar) != ARCHIVE_OK)
            ret = servin_error_set(err, EIO, "finish the archive: %s", archive_error_string(tar));
    }
    archive_write_free(tar);
    return ret;
}

/* An archive name made relative and checked: leading "/" and "./" dropped, ".." refused. NULL for
 * the archive's own root ("." or ""). */
static int clean_name(const char *name, const char *top, char **out, struct servin_error *err)
{
    *out = NULL;
    while (*name == '/' || (name[0] == '.' && name[1] == '/'))
        name += name[0] == '/' ? 1 : 2;
    if (!*name || strcmp(name, ".") == 0)
        return 0;
    _cleanup_free_ char *copy = xstrdup(name);
    size_t len = strlen(copy);
    while (len && copy[len - 1] == '/')
        copy[--len] = '\0';
    for (char *p = copy; p;) {
        char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return servin_error_set(err, EINVAL, "archive entry %s climbs out of the destination", name);
        p = slash ? slash + 1 : NULL;
    }
    if (top) {
        const char *rest = strchr(copy, '/');
        *out = xasprintf("%s%s", top, rest ? rest : "");
    } else {
        *out = steal_pointer(&copy);
    }
    return 0;
}

int servin_copy_from_tar(int in_fd, int root_fd, const char *dir, const struct servin_copy_opts *opts,
                         struct servin_error *err)
{
    struct archive *ar = archive_read_new();
    archive_read_support_filter_all(ar);
    archive_read_support_format_tar(ar);
    archive_read_support_format_empty(ar);
    struct sink s = {.put = dir_put, .root_fd = root_fd, .dir = dir};
    int ret = 0;
    if (archive_read_open_fd(ar, in_fd, 65536) != ARCHIVE_OK) {
        ret = servin_error_set(err, EINVAL, "read the archive: %s", archive_error_string(ar));
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(ar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            ret = servin_error_set(err, EINVAL, "read the archive: %s", archive_error_string(ar));
            break;
        }
        char *name = NULL;
        if ((ret = clean_name(archive_entry_pathname(e), opts->top, &name, err)) < 0)
            break;
        if (!name)
            continue; /* the archive's "." is the destination itself, which exists */
        archive_entry_set_pathname(e, name);
        free(name);
        if (archive_entry_hardlink(e)) {
            if ((ret = clean_name(archive_entry_hardlink(e), opts->top, &name, err)) < 0)
                break;
            archive_entry_set_hardlink(e, name);
            free(name);
        }
        apply_owner(e, opts);
        struct data_src data = {.fd = -1, .ar = ar};
        if ((ret = dir_put(&s, e, &data, err)) < 0)
            break;
    }
out:
    archive_read_free(ar);
    return ret;
}

int servin_copy_tree(int src_root, const char *path, int dst_root, const char *dir,
                     const struct servin_copy_opts *opts, struct servin_error *err)
{
    struct sink s = {.put = dir_put, .root_fd = dst_root, .dir = dir};
    return walk_source(src_root, path, opts, &s, err);
}
