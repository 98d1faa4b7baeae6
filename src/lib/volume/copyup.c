/* volume/copyup.c — Docker's copy-up: a new volume mounted over image content starts with a copy
 * of that content, owners and modes included, so that an image's /var/lib/app keeps working when
 * it becomes a volume. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/rootfs_internal.h"
#include "servin/cleanup.h"
#include "volume/volume_internal.h"

/* An image tree is not trusted: a deep one must not exhaust our stack. */
#define MAX_DEPTH 256

bool vol_dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return true;
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    closedir(d);
    return empty;
}

static int copy_file(int src_dir, const char *name, int dst_dir, const struct stat *st,
                     struct servin_error *err)
{
    _cleanup_close_ int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return servin_error_errno(err, errno, "open %s", name);
    _cleanup_close_ int out =
        openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return servin_error_errno(err, errno, "create %s", name);
    off_t left = st->st_size;
    while (left > 0) {
        ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return servin_error_errno(err, errno, "copy %s", name);
        if (n == 0)
            break; /* the file shrank under us: what we have is what there is */
        left -= n;
    }
    return 0;
}

/* Owner first: chown clears the set-id bits that the mode then sets. Times last. */
static void copy_meta(int dst_dir, const char *name, const struct stat *st)
{
    fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
    if (!S_ISLNK(st->st_mode))
        fchmodat(dst_dir, name, st->st_mode & 07777, 0);
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW);
}

static int copy_tree(int src, int dst, int depth, struct servin_error *err)
{
    if (depth > MAX_DEPTH)
        return servin_error_set(err, ELOOP, "the tree is deeper than %d levels", MAX_DEPTH);
    int dup_fd = fcntl(src, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0)
        return servin_error_errno(err, errno, "read a directory");
    DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return servin_error_errno(err, errno, "read a directory");
    }
    int ret = 0;
    struct dirent *e;
    while (ret == 0 && (e = readdir(d))) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            ret = servin_error_errno(err, errno, "stat %s", name);
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(dst, name, 0700) < 0) {
                ret = servin_error_errno(err, errno, "create directory %s", name);
                break;
            }
            _cleanup_close_ int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            _cleanup_close_ int t = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s < 0 || t < 0) {
                ret = servin_error_errno(err, errno, "open directory %s", name);
                break;
            }
            ret = copy_tree(s, t, depth + 1, err);
            if (ret < 0)
                ret = servin_error_wrap(err, "%s", name);
        } else if (S_ISREG(st.st_mode)) {
            ret = copy_file(src, name, dst, &st, err);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
            if (n < 0) {
                ret = servin_error_errno(err, errno, "read link %s", name);
                break;
            }
            target[n] = '\0';
            if (symlinkat(target, dst, name) < 0)
                ret = servin_error_errno(err, errno, "create link %s", name);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
            /* An overlayfs whiteout (0:0 char device) never shows through the merged view. */
            if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0)
                ret = servin_error_errno(err, errno, "create node %s", name);
        } else {
            continue; /* sockets mean nothing in a copy */
        }
        if (ret == 0)
            copy_meta(dst, name, &st);
    }
    closedir(d);
    return ret;
}

int vol_copy_up(int root_fd, const char *path, const char *dest, struct servin_error *err)
{
    struct servin_error inner = {0};
    _cleanup_close_ int at = rootfs_open_in_root(root_fd, path, ROOTFS_NO_CREATE, &inner);
    if (at < 0)
        return 0; /* nothing of the image there: the volume starts empty */
    char buf[ROOTFS_FD_PATH_MAX];
    _cleanup_close_ int src = open(rootfs_fd_path(at, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src < 0)
        return 0; /* a file, not a directory: Docker copies nothing either */
    _cleanup_close_ int dst = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dst < 0)
        return servin_error_errno(err, errno, "open %s", dest);
    int ret = copy_tree(src, dst, 0, err);
    if (ret < 0)
        return servin_error_wrap(err, "copy the image's %s into the volume", path);
    struct stat st;
    if (fstat(src, &st) == 0) {
        fchown(dst, st.st_uid, st.st_gid);
        fchmod(dst, st.st_mode & 07777);
    }
    return 0;
}
