/* build/copy.c — COPY and ADD into a step's root: Docker's directory rules (a directory source
 * copies its contents; a destination ending in "/" or shared by several sources is a directory),
 * owners 0:0 unless --chown, modes kept unless --chmod, modification times kept, and for ADD local
 * tar archives unpacked. Every path on the destination side is resolved inside the step's root, so
 * a symlink in the image cannot send a write to the host. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "build/build_internal.h"
#include "image/archive_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

struct copier {
    const struct bf_copy_opts *o;
    struct servin_error *err;
};

static int open_in(int root, const char *rel, int flags)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    while (*rel == '/')
        rel++;
    int fd = (int)syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
    return fd < 0 ? -errno : fd;
}

/* mkdir -p of an absolute image path inside the root; returns a directory fd. */
static int make_dirs(int root, const char *path, struct servin_error *err)
{
    _cleanup_free_ char *copy = xstrdup(path);
    int fd = open_in(root, "", O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return servin_error_errno(err, -fd, "open the step's root");
    char *save = NULL;
    for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (mkdirat(fd, t, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            close(fd);
            return servin_error_errno(err, e, "create the directory %s", path);
        }
        /* Resolve through the root again: the component may be a symlink of the image. */
        size_t upto = (size_t)(t - copy) + strlen(t);
        _cleanup_free_ char *partial = xstrndup(path + (path[0] == '/' ? 0 : 0), upto);
        close(fd);
        fd = open_in(root, partial, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            return servin_error_errno(err, -fd, "open the directory %s", partial);
    }
    return fd;
}

static void set_meta(struct copier *c, int dir_fd, const char *name, const struct stat *st, bool link)
{
    const struct bf_copy_opts *o = c->o;
    uid_t uid = o->chown ? o->uid : (o->keep_owner ? st->st_uid : 0);
    gid_t gid = o->chown ? o->gid : (o->keep_owner ? st->st_gid : 0);
    int flags = AT_SYMLINK_NOFOLLOW;
    if (fchownat(dir_fd, name, uid, gid, flags) < 0) {
        /* Best effort, as for a file system that keeps one owner. */
    }
    if (!link) {
        mode_t mode = o->chmod ? o->mode : (st->st_mode & 07777);
        fchmodat(dir_fd, name, mode, 0);
    }
    struct timespec ts[2] = {st->st_mtim, st->st_mtim};
    utimensat(dir_fd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* Make room for an entry of another kind: a file over a directory of the image is replaced. */
static void clear_target(int dir_fd, const char *name, bool want_dir)
{
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return;
    if (S_ISDIR(st.st_mode) && want_dir)
        return;
    if (S_ISDIR(st.st_mode)) {
        _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d/%s", dir_fd, name);
        servin_rm_rf(proc, NULL);
    } else {
        unlinkat(dir_fd, name, 0);
    }
}

static int copy_file_data(int in, int out, const char *what, struct servin_error *err)
{
    char buf[128 * 1024];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return servin_error_errno(err, errno, "read %s", what);
        if (n == 0)
            return 0;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return servin_error_errno(err, errno, "write %s", what);
            done += w;
        }
    }
}

static int copy_entry(struct copier *c, int src_dir, const char *src_name, int dst_dir, const char *dst_name,
                      const char *rel);

static int copy_children(struct copier *c, int src, int dst, const char *rel)
{
    _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", src);
    DIR *d = opendir(proc);
    if (!d)
        return servin_error_errno(c->err, errno, "list %s", rel[0] ? rel : ".");
    struct dirent *e;
    int ret = 0;
    while (ret == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *child = rel[0] ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        if (bf_ignore_match(c->o->ignore, child) && !bf_ignore_has_exceptions(c->o->ignore))
            continue;
        ret = copy_entry(c, src, e->d_name, dst, e->d_name, child);
    }
    closedir(d);
    return ret;
}

static int copy_entry(struct copier *c, int src_dir, const char *src_name, int dst_dir, const char *dst_name,
                      const char *rel)
{
    struct stat st;
    if (fstatat(src_dir, src_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return servin_error_errno(c->err, errno, "read %s", rel);
    bool skip_self = bf_ignore_match(c->o->ignore, rel);
    if (S_ISDIR(st.st_mode)) {
        int src = openat(src_dir, src_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0)
            return servin_error_errno(c->err, errno, "open %s", rel);
        clear_target(dst_dir, dst_name, true);
        if (mkdirat(dst_dir, dst_name, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            close(src);
            return servin_error_errno(c->err, e, "create the directory for %s", rel);
        }
        int dst = openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0) {
            int e = errno;
            close(src);
            return servin_error_errno(c->err, e, "open the directory for %s", rel);
        }
        int ret = copy_children(c, src, dst, rel);
        close(src);
        close(dst);
        if (ret == 0)
            set_meta(c, dst_dir, dst_name, &st, false);
        return ret;
    }
    if (skip_self)
        return 0;
    clear_target(dst_dir, dst_name, false);
    if (S_ISREG(st.st_mode)) {
        _cleanup_close_ int in = openat(src_dir, src_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
            return servin_error_errno(c->err, errno, "open %s", rel);
        _cleanup_close_ int out =
            openat(dst_dir, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
            return servin_error_errno(c->err, errno, "create the copy of %s", rel);
        int ret = copy_file_data(in, out, rel, c->err);
        if (ret < 0)
            return ret;
    } else if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(src_dir, src_name, target, sizeof(target) - 1);
        if (n < 0)
            return servin_error_errno(c->err, errno, "read the link %s", rel);
        target[n] = '\0';
        if (symlinkat(target, dst_dir, dst_name) < 0)
            return servin_error_errno(c->err, errno, "create the link %s", rel);
        set_meta(c, dst_dir, dst_name, &st, true);
        return 0;
    } else if (mknodat(dst_dir, dst_name, st.st_mode, st.st_rdev) < 0) {
        return servin_error_errno(c->err, errno, "create the special file %s", rel);
    }
    set_meta(c, dst_dir, dst_name, &st, false);
    return 0;
}

/* A tar archive (any compression libarchive knows) that ADD unpacks rather than copies. */
static bool is_archive(int fd)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    struct archive_entry *e;
    bool yes =
        archive_read_open_fd(a, fd, 16384) == ARCHIVE_OK && archive_read_next_header(a, &e) == ARCHIVE_OK;
    archive_read_free(a);
    lseek(fd, 0, SEEK_SET);
    return yes;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int bf_copy(const struct bf_fs *fs, const struct bf_copy_opts *o, struct servin_error *err)
{
    struct copier c = {.o = o, .err = err};
    _cleanup_close_ int src_root = open(o->src_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (src_root < 0)
        return servin_error_errno(err, errno, "open %s", o->src_root);
    _cleanup_close_ int dst_root = open(fs->merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dst_root < 0)
        return servin_error_errno(err, errno, "open %s", fs->merged);
    int ret = 0;
    for (size_t i = 0; i < o->n_sources && ret == 0; i++) {
        const struct bf_source *s = &o->sources[i];
        /* Top-level symlinks of the source are followed, inside its root. */
        _cleanup_close_ int src = open_in(src_root, s->rel, s->is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
        if (src < 0)
            return servin_error_errno(err, -src, "open %s", s->rel);
        struct stat st;
        if (fstat(src, &st) < 0)
            return servin_error_errno(err, errno, "read %s", s->rel);
        if (S_ISDIR(st.st_mode)) {
            _cleanup_close_ int dst = make_dirs(dst_root, o->dest, err);
            if (dst < 0)
                return dst;
            ret = copy_children(&c, src, dst, s->rel);
            continue;
        }
        if (o->extract_archives && S_ISREG(st.st_mode) && is_archive(src)) {
            _cleanup_close_ int dst = make_dirs(dst_root, o->dest, err);
            if (dst < 0)
                return dst;
            _cleanup_free_ char *dir = xasprintf("/proc/self/fd/%d", dst);
            _cleanup_free_ char *real = realpath(dir, NULL);
            ret = archive_extract_fd(src, real ? real : dir, err);
            if (ret < 0)
                return servin_error_wrap(err, "ADD %s: unpack the archive", s->rel);
            continue;
        }
        /* A file: into the destination directory, or as the destination itself. */
        _cleanup_free_ char *parent = NULL;
        const char *name;
        if (o->dest_is_dir) {
            parent = xstrdup(o->dest);
            name = base_name(s->rel);
        } else {
            parent = xstrdup(o->dest);
            char *slash = strrchr(parent, '/');
            name = base_name(o->dest);
            if (slash)
                *slash = '\0';
        }
        _cleanup_close_ int dst = make_dirs(dst_root, parent, err);
        if (dst < 0)
            return dst;
        if (!S_ISREG(st.st_mode))
            return servin_error_set(err, EINVAL,
                                    "%s: only regular files, directories and links can be copied", s->rel);
        clear_target(dst, name, false);
        _cleanup_close_ int out =
            openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
            return servin_error_errno(err, errno, "create the copy of %s at %s", s->rel, o->dest);
        ret = copy_file_data(src, out, s->rel, err);
        if (ret == 0)
            set_meta(&c, dst, name, &st, false);
    }
    return ret;
}

int bf_copy_text(const struct bf_fs *fs, const char *dest, const char *text, mode_t mode, uid_t uid,
                 gid_t gid, struct servin_error *err)
{
    _cleanup_close_ int dst_root = open(fs->merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dst_root < 0)
        return servin_error_errno(err, errno, "open %s", fs->merged);
    _cleanup_free_ char *parent = xstrdup(dest);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    _cleanup_close_ int dir = make_dirs(dst_root, parent, err);
    if (dir < 0)
        return dir;
    const char *name = base_name(dest);
    clear_target(dir, name, false);
    _cleanup_close_ int out = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    size_t len = strlen(text);
    if (out < 0 || write(out, text, len) != (ssize_t)len)
        return servin_error_errno(err, errno ? errno : EIO, "write %s", dest);
    if (fchown(out, uid, gid) < 0 || fchmod(out, mode) < 0)
        return servin_error_errno(err, errno, "set the owner and mode of %s", dest);
    return 0;
}
