/* runtime/rootfs_internal.h — helpers shared by the rootfs*.c files (the container's mounts). */
#ifndef SERVIN_ROOTFS_INTERNAL_H
#define SERVIN_ROOTFS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "servin/error.h"

enum rootfs_create {
    ROOTFS_NO_CREATE,
    ROOTFS_CREATE_DIR,  /* missing components become directories */
    ROOTFS_CREATE_FILE, /* ... and a missing last component an empty file (file bind mounts) */
};

/* Open path as O_PATH inside the tree at root_fd, "/" meaning root_fd itself: symlinks and ".."
 * are resolved as if root_fd were the root, so nothing outside it can be reached. Missing
 * components are created as asked. Returns the fd, or a negative errno with err set. */
int rootfs_open_in_root(int root_fd, const char *path, enum rootfs_create create, struct servin_error *err);

/* Tests only: turn openat2 off to exercise the fallback walk, which refuses every symlink. */
void rootfs_resolve_use_openat2(bool on);

/* "/proc/self/fd/N": mount(2) follows it to exactly the object fd was opened on. */
#define ROOTFS_FD_PATH_MAX 32
const char *rootfs_fd_path(int fd, char buf[ROOTFS_FD_PATH_MAX]);

#define ROOTFS_MAX_PROPAGATION 8

/* The "options" of one mounts entry, split by meaning. */
struct rootfs_mount_opts {
    unsigned long flags;                               /* mount(2) flags, MS_BIND|MS_REC included */
    unsigned long propagation[ROOTFS_MAX_PROPAGATION]; /* MS_SHARED etc., applied in order after */
    size_t n_propagation;
    uint64_t attr_set, attr_clr; /* recursive options (rro, rnosuid, ...), for mount_setattr */
    char *data;                  /* everything else, comma-joined, or NULL */
};

int rootfs_mount_parse_options(json_t *options, struct rootfs_mount_opts *out, struct servin_error *err);
void rootfs_mount_opts_free(struct rootfs_mount_opts *opts);

/* Carry out one entry of the spec's "mounts"; bundle anchors relative bind sources. */
int rootfs_mount_entry(int root_fd, const char *bundle, json_t *mount, struct servin_error *err);

/* Remount the bind mount at fd with the per-mount flags among flags (ro, nosuid, nodev, noexec,
 * atime); flags a user namespace may not drop are kept. what names the path in errors. */
int rootfs_remount_bind(int fd, unsigned long flags, const char *what, struct servin_error *err);

/* The per-mount flags (MS_RDONLY, MS_NOSUID, ...) the mount holding fd has now. */
unsigned long rootfs_mount_flags_of(int fd);

/* A "cgroup" mounts entry: cgroup2 on a unified host, else a tmpfs of read-only v1 binds. */
int rootfs_mount_cgroup(int root_fd, const char *dest, const struct rootfs_mount_opts *opts,
                        struct servin_error *err);

/* Default devices, linux.devices and the /dev symlinks, created in the rootfs at root_fd. */
int rootfs_dev_setup(int root_fd, json_t *spec, struct servin_error *err);

/* linux.maskedPaths and linux.readonlyPaths, resolved inside the rootfs at root_fd. */
int rootfs_paths_apply(int root_fd, json_t *spec, struct servin_error *err);

#endif
