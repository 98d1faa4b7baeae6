/* util/fs.c — directories, whole-file reads and atomic writes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/fs.h"

int servin_mkdir_p(const char *path, mode_t mode, struct servin_error *err)
{
    _cleanup_free_ char *copy = xstrdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
            return servin_error_errno(err, errno, "create directory %s", copy);
        *p = '/';
    }
    if (mkdir(copy, mode) < 0 && errno != EEXIST)
        return servin_error_errno(err, errno, "create directory %s", copy);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    /* Layers may hold read-only dirs; make them writable so their entries can go. */
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int make_dirs_writable(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_D && (st->st_mode & 0700) != 0700)
        chmod(path, st->st_mode | 0700);
    return 0;
}

int servin_rm_rf(const char *path, struct servin_error *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : servin_error_errno(err, errno, "remove %s", path);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0 && errno != ENOENT)
            return servin_error_errno(err, errno, "remove %s", path);
        return 0;
    }
    nftw(path, make_dirs_writable, 64, FTW_PHYS | FTW_MOUNT);
    if (nftw(path, remove_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
        return servin_error_errno(err, errno, "remove %s", path);
    return 0;
}

int servin_read_file(const char *path, char **out, size_t *len, struct servin_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return servin_error_errno(err, errno, "open %s", path);
    size_t cap = 8192, used = 0;
    _cleanup_free_ char *buf = xmalloc(cap);
    for (;;) {
        if (used + 1 >= cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return servin_error_errno(err, errno, "read %s", path);
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    if (len)
        *len = used;
    *out = steal_pointer(&buf);
    return 0;
}

static int write_file_replace(const char *path, const void *data, size_t len, mode_t mode, bool sync,
                              struct servin_error *err)
{
    _cleanup_free_ char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return servin_error_errno(err, errno, "create %s", tmp);
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            unlink(tmp);
            return servin_error_errno(err, e, "write %s", path);
        }
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, mode) < 0 || (sync && fsync(fd) < 0) || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return servin_error_errno(err, e, "write %s", path);
    }
    return 0;
}

int servin_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                             struct servin_error *err)
{
    return write_file_replace(path, data, len, mode, true, err);
}

int servin_write_file_volatile(const char *path, const void *data, size_t len, mode_t mode,
                               struct servin_error *err)
{
    return write_file_replace(path, data, len, mode, false, err);
}

static __thread long long size_total;
static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode))
        size_total += st->st_size;
    return 0;
}

long long servin_dir_size(const char *path)
{
    size_total = 0;
    nftw(path, add_size, 64, FTW_PHYS | FTW_MOUNT);
    return size_total;
}

bool servin_pid_file_alive(const char *path)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    struct servin_error ignored = {0};
    if (servin_read_file(path, &text, &len, &ignored) < 0)
        return false;
    pid_t pid = (pid_t)atoi(text);
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}
