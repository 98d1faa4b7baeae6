/* image/unpack_entries.c — writing a layer's tar entries to disk, safely and in overlayfs form.
 *
 * Runs in the unpacking thread, whose current directory (and, as root, its root) is the layer
 * directory: every path here is relative. Each entry name is normalised (leading "/" dropped, ".."
 * refused) and the directories on its way are checked not to be symlinks before libarchive sees it;
 * libarchive's own SECURE_* flags and the chroot are second and third lines of defence. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OPAQUE_XATTR "trusted.overlay.opaque"

static const int EXTRACT_FLAGS = ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                 ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                 ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;

int unpack_fail(struct unpack_job *job, int code, const char *fmt, ...)
{
    char msg[SERVIN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return servin_error_set(job->err, code, "layer%s%s: %.1800s", *job->label ? " " : "", job->label, msg);
}

static int escapes(struct unpack_job *job, const char *name)
{
    return unpack_fail(job, EPERM, "entry \"%.500s\" escapes the layer root", name);
}

/* "/a//./b/" -> "a/b"; "" or "/" -> "."; NULL when a component is "..". */
static char *clean_path(const char *in)
{
    size_t len = strlen(in);
    char *out = xmalloc(len + 2);
    size_t o = 0;
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            free(out);
            return NULL;
        }
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p = end;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return out;
}

/* Forget the cached checked directory when `path` (about to be replaced) is it or one of its parents. */
static void invalidate_checked(struct unpack_job *job, const char *path)
{
    if (!job->checked_dir)
        return;
    size_t n = strlen(path);
    if (strncmp(job->checked_dir, path, n) == 0 &&
        (job->checked_dir[n] == '\0' || job->checked_dir[n] == '/')) {
        free(job->checked_dir);
        job->checked_dir = NULL;
    }
}

/* Refuse (1) when a directory on the way to `path` is a symlink: writing through it could land
 * outside the layer. Missing directories are fine (they will be created as real directories). Most
 * entries share the parent of the previous one, so a verified prefix is cached. */
static int through_symlink(struct unpack_job *job, const char *path, int *err_out)
{
    const char *slash = strrchr(path, '/');
    *err_out = 0;
    if (!slash)
        return 0;
    size_t dlen = (size_t)(slash - path);
    size_t start = 0;
    if (job->checked_dir) {
        size_t clen = strlen(job->checked_dir);
        if (clen <= dlen && strncmp(path, job->checked_dir, clen) == 0 && (clen == dlen || path[clen] == '/'))
            start = clen;
    }
    if (start == dlen)
        return 0;
    _cleanup_free_ char *dir = xstrndup(path, dlen);
    for (size_t i = start + 1; i <= dlen; i++) {
        if (i != dlen && dir[i] != '/')
            continue;
        dir[i] = '\0';
        struct stat st;
        if (lstat(dir, &st) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                return 0; /* libarchive creates it, or reports the clash */
            *err_out = errno;
            return 0;
        }
        if (S_ISLNK(st.st_mode))
            return 1;
        if (i != dlen)
            dir[i] = '/';
    }
    free(job->checked_dir);
    job->checked_dir = xstrndup(path, dlen);
    return 0;
}

/* Normalise `name` and make sure it stays inside the layer; NULL (with err set) when it does not. */
static char *safe_path(struct unpack_job *job, const char *name, const char *entry_name, int *ret)
{
    char *path = clean_path(name);
    if (!path) {
        *ret = escapes(job, entry_name);
        return NULL;
    }
    int e = 0;
    if (through_symlink(job, path, &e)) {
        free(path);
        *ret = escapes(job, entry_name);
        return NULL;
    }
    if (e) {
        free(path);
        *ret = unpack_fail(job, e, "entry \"%.500s\": %s", entry_name, strerror(e));
        return NULL;
    }
    return path;
}

static int write_failed(struct unpack_job *job, struct archive *out, const char *name)
{
    int e = archive_errno(out);
    return unpack_fail(job, e > 0 ? e : EIO, "cannot extract \"%.500s\": %s", name,
                       archive_error_string(out) ? archive_error_string(out) : "unknown error");
}

static int copy_data(struct unpack_job *job, struct archive *in, struct archive *out, const char *name)
{
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(in, &buf, &size, &offset);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return unpack_fail(job, EIO, "cannot read \"%.500s\": %s", name, archive_error_string(in));
        if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN)
            return write_failed(job, out, name);
    }
}

/* ".wh..wh..opq" in dir D: D hides whatever lower layers have in it (overlayfs' opaque xattr). */
static int make_opaque(struct unpack_job *job, const char *path, const char *entry_name)
{
    _cleanup_free_ char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    /* The marker may come before its directory's own entry: create the directory chain. */
    for (char *p = dir;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return unpack_fail(job, errno, "cannot create \"%.500s\": %s", dir, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return unpack_fail(job, ENOTDIR, "opaque marker \"%.500s\" is not in a directory", entry_name);
    if (lsetxattr(dir, OPAQUE_XATTR, "y", 1, 0) < 0)
        return unpack_fail(job, errno, "cannot mark \"%.500s\" opaque: %s", dir, strerror(errno));
    return 0;
}

/* ".wh.name" in dir D: D/name was deleted; overlayfs spells that as a 0:0 character device. */
static int make_whiteout(struct unpack_job *job, struct archive *out, struct archive_entry *entry,
                         const char *path, const char *base)
{
    const char *name = base + strlen(WHITEOUT_PREFIX);
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return escapes(job, archive_entry_pathname(entry));
    size_t dlen = (size_t)(base - path);
    _cleanup_free_ char *target = xasprintf("%.*s%s", (int)dlen, path, name);
    invalidate_checked(job, target);

    struct archive_entry *wh = archive_entry_new();
    archive_entry_set_pathname(wh, target);
    archive_entry_set_filetype(wh, AE_IFCHR);
    archive_entry_set_perm(wh, 0);
    archive_entry_set_rdev(wh, 0);
    archive_entry_set_uid(wh, archive_entry_uid(entry));
    archive_entry_set_gid(wh, archive_entry_gid(entry));
    archive_entry_set_mtime(wh, archive_entry_mtime(entry), archive_entry_mtime_nsec(entry));
    int ret = 0;
    if (archive_write_header(out, wh) < ARCHIVE_WARN || archive_write_finish_entry(out) < ARCHIVE_WARN)
        ret = write_failed(job, out, target);
    archive_entry_free(wh);
    return ret;
}

struct root_meta {
    bool set;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    struct timespec mtime;
};

static int extract_one(struct unpack_job *job, struct archive *in, struct archive *out,
                       struct archive_entry *entry, struct root_meta *root)
{
    const char *name = archive_entry_pathname(entry);
    if (!name)
        name = archive_entry_pathname_utf8(entry);
    if (!name)
        return unpack_fail(job, EINVAL, "an entry has no name");
    _cleanup_free_ char *entry_name = xstrdup(name);
    int ret = 0;
    _cleanup_free_ char *path = safe_path(job, entry_name, entry_name, &ret);
    if (!path)
        return ret;

    if (strcmp(path, ".") == 0) {
        /* The layer root itself: applied at the end, after the entries inside it changed its mtime. */
        if (archive_entry_filetype(entry) != AE_IFDIR)
            return escapes(job, entry_name);
        *root = (struct root_meta){.set = true,
                                   .mode = archive_entry_perm(entry),
                                   .uid = (uid_t)archive_entry_uid(entry),
                                   .gid = (gid_t)archive_entry_gid(entry),
                                   .mtime = {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)}};
        return 0;
    }

    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0) {
        if (strcmp(base, WHITEOUT_OPAQUE) == 0)
            return make_opaque(job, path, entry_name);
        /* Other ".wh..wh." names are aufs bookkeeping with no meaning in an image. */
        if (strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
            return 0;
        return make_whiteout(job, out, entry, path, base);
    }

    const char *link = archive_entry_hardlink(entry);
    if (!link)
        link = archive_entry_hardlink_utf8(entry);
    if (link) {
        _cleanup_free_ char *target = safe_path(job, link, entry_name, &ret);
        if (!target)
            return ret;
        if (strcmp(target, ".") == 0)
            return escapes(job, entry_name);
        archive_entry_copy_hardlink(entry, target);
    }

    invalidate_checked(job, path);
    archive_entry_copy_pathname(entry, path);
    int r = archive_write_header(out, entry);
    if (r < ARCHIVE_WARN)
        return write_failed(job, out, entry_name);
    if (r == ARCHIVE_WARN)
        log_debug("layer %s: %s: %s", job->label, entry_name, archive_error_string(out));
    if (archive_entry_filetype(entry) == AE_IFREG && !link)
        job->unpacked_size += (uint64_t)archive_entry_size(entry);
    if (archive_entry_size(entry) > 0 && (ret = copy_data(job, in, out, entry_name)) < 0)
        return ret;
    if (archive_write_finish_entry(out) < ARCHIVE_WARN)
        return write_failed(job, out, entry_name);
    return 0;
}

static int apply_root_meta(struct unpack_job *job, const struct root_meta *root)
{
    if (!root->set)
        return 0;
    /* chown first: it clears set-id bits that chmod then restores. */
    if (lchown(".", root->uid, root->gid) < 0 && errno != EPERM)
        return unpack_fail(job, errno, "cannot set the owner of the layer root: %s", strerror(errno));
    if (chmod(".", root->mode & 07777) < 0)
        return unpack_fail(job, errno, "cannot set the mode of the layer root: %s", strerror(errno));
    struct timespec times[2] = {root->mtime, root->mtime};
    if (utimensat(AT_FDCWD, ".", times, AT_SYMLINK_NOFOLLOW) < 0)
        return unpack_fail(job, errno, "cannot set the time of the layer root: %s", strerror(errno));
    return 0;
}

int unpack_entries(struct unpack_job *job, struct archive *in)
{
    struct archive *out = archive_write_disk_new();
    /* No user/group lookup is set, so owners stay numeric, as a container expects. */
    /* libarchive's symlink check opens and stats every directory on every entry's path, which costs
     * about a third of the system calls of an unpack. In a chroot it only repeats through_symlink,
     * with the chroot behind it; without one we keep it as the second line of defence. */
    archive_write_disk_set_options(out,
                                   EXTRACT_FLAGS | (job->chrooted ? 0 : ARCHIVE_EXTRACT_SECURE_SYMLINKS));
    struct root_meta root = {0};
    int ret = 0;
    for (;;) {
        struct archive_entry *entry;
        int r = archive_read_next_header(in, &entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            ret = unpack_fail(job, EIO, "not a valid tar stream: %s", archive_error_string(in));
            break;
        }
        ret = extract_one(job, in, out, entry, &root);
        if (ret < 0)
            break;
    }
    /* Closing applies the deferred directory modes and times. */
    if (archive_write_close(out) < ARCHIVE_WARN && ret == 0)
        ret = write_failed(job, out, "directories");
    archive_write_free(out);
    free(job->checked_dir);
    job->checked_dir = NULL;
    if (ret == 0)
        ret = apply_root_meta(job, &root);
    return ret;
}
