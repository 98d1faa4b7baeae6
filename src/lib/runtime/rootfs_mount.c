/* runtime/rootfs_mount.c — one entry of the spec's "mounts": options to flags, then the mount. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "runtime/rootfs_internal.h"
#include "servin/cleanup.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000 /* statfs(2) f_flags; older glibc headers lack the name */
#endif

struct flag_option {
    const char *name;
    bool clear; /* the option removes the flag ("rw", "suid", ...) */
    unsigned long flag;
};

static const struct flag_option flag_options[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
};

static const struct flag_option propagation_options[] = {
    {"private", false, MS_PRIVATE},       {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},         {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},           {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

/* The recursive variants (runtime-spec 1.1) apply to every mount below too, via mount_setattr. */
static const struct flag_option recursive_options[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

/* The atime mode is one field of three values; clearing any of them means the default, relatime. */
static const struct flag_option recursive_atime_options[] = {
    {"rnoatime", false, MOUNT_ATTR_NOATIME},         {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME},       {"rnorelatime", true, MOUNT_ATTR_RELATIME},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Flags a MS_REMOUNT|MS_BIND can change on one mount. */
#define PER_MOUNT_FLAGS                                                                                      \
    (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |               \
     MS_STRICTATIME | MS_NOSYMFOLLOW)

static const struct flag_option *find_option(const struct flag_option *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

static void append_data(char **data, const char *opt)
{
    char *joined = *data ? xasprintf("%s,%s", *data, opt) : xstrdup(opt);
    free(*data);
    *data = joined;
}

int rootfs_mount_parse_options(json_t *options, struct rootfs_mount_opts *out, struct servin_error *err)
{
    memset(out, 0, sizeof(*out));
    if (options && !json_is_array(options))
        return servin_error_set(err, EINVAL, "mount options must be an array of strings");
    size_t i;
    json_t *v;
    json_array_foreach (options, i, v) {
        const char *opt = json_string_value(v);
        if (!opt) {
            rootfs_mount_opts_free(out);
            return servin_error_set(err, EINVAL, "mount option #%zu is not a string", i);
        }
        const struct flag_option *o;
        if ((o = find_option(flag_options, N_OF(flag_options), opt))) {
            if (o->clear)
                out->flags &= ~o->flag;
            else
                out->flags |= o->flag;
        } else if ((o = find_option(propagation_options, N_OF(propagation_options), opt))) {
            if (out->n_propagation == ROOTFS_MAX_PROPAGATION) {
                rootfs_mount_opts_free(out);
                return servin_error_set(err, EINVAL, "too many propagation options");
            }
            out->propagation[out->n_propagation++] = o->flag;
        } else if ((o = find_option(recursive_options, N_OF(recursive_options), opt))) {
            if (o->clear) {
                out->attr_set &= ~(uint64_t)o->flag;
                out->attr_clr |= o->flag;
            } else {
                out->attr_set |= o->flag;
                out->attr_clr &= ~(uint64_t)o->flag;
            }
        } else if ((o = find_option(recursive_atime_options, N_OF(recursive_atime_options), opt))) {
            out->attr_clr |= MOUNT_ATTR__ATIME;
            out->attr_set =
                (out->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | (o->clear ? MOUNT_ATTR_RELATIME : o->flag);
        } else if (strcmp(opt, "tmpcopyup") == 0 || strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0) {
            rootfs_mount_opts_free(out);
            return servin_error_set(err, ENOTSUP, "mount option \"%s\" is not supported by Servin", opt);
        } else {
            append_data(&out->data, opt);
        }
    }
    return 0;
}

void rootfs_mount_opts_free(struct rootfs_mount_opts *opts)
{
    free(opts->data);
    opts->data = NULL;
}

static void cleanup_opts(struct rootfs_mount_opts *opts)
{
    rootfs_mount_opts_free(opts);
}

unsigned long rootfs_mount_flags_of(int fd)
{
    static const struct {
        unsigned long st, ms;
    } map[] = {{ST_NOSUID, MS_NOSUID},     {ST_NODEV, MS_NODEV},
               {ST_NOEXEC, MS_NOEXEC},     {ST_RDONLY, MS_RDONLY},
               {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
               {ST_RELATIME, MS_RELATIME}, {ST_NOSYMFOLLOW, MS_NOSYMFOLLOW}};
    struct statvfs sv;
    unsigned long flags = 0;
    if (fstatvfs(fd, &sv) < 0)
        return 0;
    for (size_t i = 0; i < N_OF(map); i++)
        if (sv.f_flag & map[i].st)
            flags |= map[i].ms;
    return flags;
}

int rootfs_remount_bind(int fd, unsigned long flags, const char *what, struct servin_error *err)
{
    char path[ROOTFS_FD_PATH_MAX];
    rootfs_fd_path(fd, path);
    unsigned long f = MS_REMOUNT | MS_BIND | (flags & PER_MOUNT_FLAGS);
    if (mount(NULL, path, NULL, f, NULL) == 0)
        return 0;
    int saved = errno;
    /* In a user namespace, flags the source mount had (nosuid, nodev, noexec, atime) are locked
     * and cannot be dropped: keep them and try again. */
    if (saved == EPERM) {
        f |= rootfs_mount_flags_of(fd);
        if (f & MS_NOATIME)
            f &= ~(unsigned long)(MS_RELATIME | MS_STRICTATIME);
        if (mount(NULL, path, NULL, f, NULL) == 0)
            return 0;
        saved = errno;
    }
    return servin_error_errno(err, saved, "remount %s with its options", what);
}

/* Propagation and recursive attributes, applied to the new mount at dest (reopened: the fd taken
 * before mounting names the directory underneath). */
static int apply_after(int root_fd, const char *dest, const struct rootfs_mount_opts *o,
                       struct servin_error *err)
{
    if (o->n_propagation == 0 && !o->attr_set && !o->attr_clr)
        return 0;
    _cleanup_close_ int fd = rootfs_open_in_root(root_fd, dest, ROOTFS_NO_CREATE, err);
    if (fd < 0)
        return fd;
    char path[ROOTFS_FD_PATH_MAX];
    rootfs_fd_path(fd, path);
    for (size_t i = 0; i < o->n_propagation; i++)
        if (mount(NULL, path, NULL, o->propagation[i], NULL) < 0)
            return servin_error_errno(err, errno, "set the propagation of %s", dest);
    if (o->attr_set || o->attr_clr) {
        struct mount_attr attr = {.attr_set = o->attr_set, .attr_clr = o->attr_clr};
        if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
            return servin_error_errno(err, errno, "apply the recursive options to %s", dest);
    }
    return 0;
}

/* "/a/./b//../c" -> "/a/c", textually, ".." stopping at "/". */
static char *clean_path(const char *path)
{
    _cleanup_free_ char *copy = xstrdup(path);
    char *out = xmalloc(strlen(path) + 2);
    size_t len = 0;
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            while (len > 0 && out[--len] != '/')
                ;
            continue;
        }
        out[len++] = '/';
        memcpy(out + len, c, strlen(c));
        len += strlen(c);
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return out;
}

/* Mounting over procfs files can switch off what the kernel enforces through them (LSM labels
 * in /proc/self/attr, sysctls): only /proc itself and the files tools like lxcfs replace may be
 * mounted over. The check is on the resolved fd, so a symlink to /proc cannot dodge it. */
static int check_proc_destination(int fd, const char *dest, struct servin_error *err)
{
    static const char *const allowed[] = {
        "/proc",       "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",  "/proc/stat",
        "/proc/swaps", "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid",
    };
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0)
        return servin_error_errno(err, errno, "check the filesystem of %s", dest);
    if (sf.f_type != PROC_SUPER_MAGIC)
        return 0;
    _cleanup_free_ char *clean = clean_path(dest);
    for (size_t i = 0; i < N_OF(allowed); i++)
        if (strcmp(clean, allowed[i]) == 0)
            return 0;
    return servin_error_set(err, EPERM,
                            "mount on %s: the destination is inside /proc, where only /proc itself and "
                            "files such as /proc/cpuinfo or /proc/meminfo may be mounted over",
                            dest);
}

static int mount_bind(int root_fd, const char *bundle, const char *source, const char *dest,
                      const struct rootfs_mount_opts *o, struct servin_error *err)
{
    if (!source || !*source)
        return servin_error_set(err, EINVAL, "bind mount on %s has no source", dest);
    _cleanup_free_ char *src = source[0] == '/' ? xstrdup(source) : xasprintf("%s/%s", bundle, source);
    /* The source is the host's, chosen by whoever wrote the spec: it is trusted, the rootfs is not. */
    _cleanup_close_ int src_fd = open(src, O_PATH | O_CLOEXEC);
    struct stat st;
    if (src_fd < 0 || fstat(src_fd, &st) < 0)
        return servin_error_errno(err, errno, "bind-mount %s on %s: open the source", src, dest);

    enum rootfs_create create = S_ISDIR(st.st_mode) ? ROOTFS_CREATE_DIR : ROOTFS_CREATE_FILE;
    _cleanup_close_ int dst_fd = rootfs_open_in_root(root_fd, dest, create, err);
    if (dst_fd < 0)
        return servin_error_wrap(err, "bind-mount %s on %s", src, dest);
    int ret = check_proc_destination(dst_fd, dest, err);
    if (ret < 0)
        return ret;
    char sp[ROOTFS_FD_PATH_MAX], dp[ROOTFS_FD_PATH_MAX];
    if (mount(rootfs_fd_path(src_fd, sp), rootfs_fd_path(dst_fd, dp), NULL, o->flags & (MS_BIND | MS_REC),
              NULL) < 0)
        return servin_error_errno(err, errno, "bind-mount %s on %s", src, dest);

    /* A bind mount ignores every other flag; they take a second, remount pass. */
    if (o->flags & PER_MOUNT_FLAGS) {
        _cleanup_close_ int fd = rootfs_open_in_root(root_fd, dest, ROOTFS_NO_CREATE, err);
        if (fd < 0)
            return fd;
        ret = rootfs_remount_bind(fd, o->flags, dest, err);
        if (ret < 0)
            return ret;
    }
    return apply_after(root_fd, dest, o, err);
}

static int mount_fs(int root_fd, const char *bundle, const char *type, const char *source, const char *dest,
                    const struct rootfs_mount_opts *o, struct servin_error *err)
{
    _cleanup_close_ int fd = rootfs_open_in_root(root_fd, dest, ROOTFS_CREATE_DIR, err);
    if (fd < 0)
        return servin_error_wrap(err, "mount %s on %s", type, dest);
    int ret = check_proc_destination(fd, dest, err);
    if (ret < 0)
        return ret;
    char path[ROOTFS_FD_PATH_MAX];
    rootfs_fd_path(fd, path);
    if (mount(source && *source ? source : type, path, type, o->flags, o->data) < 0) {
        int saved = errno;
        if (saved == ENODEV)
            return servin_error_set(err, ENODEV, "mount %s on %s: unknown filesystem type \"%s\"", type, dest,
                                    type);
        /* Without a network namespace of its own, a user namespace may not mount sysfs: show the
         * host's read-only instead, as other runtimes do. */
        if (saved == EPERM && strcmp(type, "sysfs") == 0) {
            struct rootfs_mount_opts b = *o;
            b.flags |= MS_BIND | MS_REC | MS_RDONLY;
            return mount_bind(root_fd, bundle, "/sys", dest, &b, err);
        }
        if (saved == EINVAL && o->data)
            return servin_error_errno(err, saved, "mount %s on %s with options \"%s\"", type, dest, o->data);
        return servin_error_errno(err, saved, "mount %s on %s", type, dest);
    }
    return apply_after(root_fd, dest, o, err);
}

int rootfs_mount_entry(int root_fd, const char *bundle, json_t *mount_obj, struct servin_error *err)
{
    if (!json_is_object(mount_obj))
        return servin_error_set(err, EINVAL, "an entry of \"mounts\" is not an object");
    const char *dest = json_string_value(json_object_get(mount_obj, "destination"));
    const char *type = json_string_value(json_object_get(mount_obj, "type"));
    const char *source = json_string_value(json_object_get(mount_obj, "source"));
    if (!dest || !*dest)
        return servin_error_set(err, EINVAL, "an entry of \"mounts\" has no destination");

    _cleanup_(cleanup_opts) struct rootfs_mount_opts o;
    int ret = rootfs_mount_parse_options(json_object_get(mount_obj, "options"), &o, err);
    if (ret < 0)
        return servin_error_wrap(err, "mount on %s", dest);
    if (type && strcmp(type, "bind") == 0)
        o.flags |= MS_BIND;

    if (o.flags & MS_BIND)
        return mount_bind(root_fd, bundle, source, dest, &o, err);
    if (!type || !*type)
        return servin_error_set(err, EINVAL, "mount on %s: no type given and not a bind mount", dest);
    if (strcmp(type, "cgroup") == 0 && !(o.flags & MS_REMOUNT))
        return rootfs_mount_cgroup(root_fd, dest, &o, err);
    return mount_fs(root_fd, bundle, type, source, dest, &o, err);
}
