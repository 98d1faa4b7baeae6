/* copy.h — copying files in and out of containers with Docker's tar semantics (`servin cp`, and the
 * Docker API's archive GET/PUT/HEAD on /containers/{id}/archive).
 *
 * Every path on the container's side is resolved inside its root (openat2 RESOLVE_IN_ROOT): a
 * symlink in the image that points at /etc of the host reaches the container's /etc, never the
 * host's. Trees are walked and created through directory fds, so nothing is followed out of the
 * directory a copy started from. The host's side uses "/" as its root, which is plain resolution.
 *
 * A copy goes from a source (a tree under a root, or a tar stream) to a sink (a tar stream, or a
 * directory under a root). Entry names are "<top>/<path below the source>": top is the source's
 * base name unless renamed, and with contents_only (Docker's SRC/.) the entries are the source's
 * children themselves. */
#ifndef SERVIN_COPY_H
#define SERVIN_COPY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "servin/container.h"
#include "servin/error.h"
#include "servin/store.h"

struct archive;
struct archive_entry;
/* Called for each entry on its way into a tar (servin_copy_to_tar): it may change the entry or write
 * entries of its own to tar; returns 0 to write the entry, 1 to leave it out, or a negative error. */
typedef int (*servin_copy_filter_fn)(void *ctx, struct archive *tar, struct archive_entry *e,
                                     struct servin_error *err);

struct servin_copy_opts {
    bool follow_link;   /* the source path itself, when a symlink, is copied as what it points to (-L) */
    bool contents_only; /* copy what is in the source directory, not the directory (SRC/.) */
    const char *top;    /* name of the top entry in the destination; NULL: the source's base name */
    bool keep_owner;    /* keep the source's uid/gid (-a); otherwise files get uid/gid below */
    uid_t uid;
    gid_t gid;
    servin_copy_filter_fn filter; /* servin_copy_to_tar only; NULL for none */
    void *filter_ctx;
};

/* What is at a path: Docker's X-Docker-Container-Path-Stat fields. */
struct servin_path_stat {
    char *name; /* base name */
    int64_t size;
    mode_t mode;
    int64_t mtime;     /* unix seconds */
    char *link_target; /* "" unless a symlink (not followed) */
};
void servin_path_stat_clear(struct servin_path_stat *st);

/* Stat path inside root_fd (not following a final symlink unless follow). ENOENT when missing. */
int servin_copy_stat(int root_fd, const char *path, bool follow, struct servin_path_stat *st,
                     struct servin_error *err);
/* Write path (under root_fd) as a tar stream to out_fd. */
int servin_copy_to_tar(int root_fd, const char *path, const struct servin_copy_opts *opts, int out_fd,
                       struct servin_error *err);
/* Extract the tar stream read from in_fd into the existing directory dir (under root_fd). Entries
 * that would climb out with ".." or absolute names are refused; symlinks on the way resolve inside
 * root_fd. With opts->top, the first path component of every entry is replaced by it. */
int servin_copy_from_tar(int in_fd, int root_fd, const char *dir, const struct servin_copy_opts *opts,
                         struct servin_error *err);
/* Copy path under src_root into the existing directory dir under dst_root, without a tar between. */
int servin_copy_tree(int src_root, const char *path, int dst_root, const char *dir,
                     const struct servin_copy_opts *opts, struct servin_error *err);

/* A container's root filesystem held open for a copy: a running container's mounted root, or a
 * stopped one's mounted for the copy (under the container's lock, so a start waits) and unmounted
 * by servin_container_root_release. */
struct servin_container_root {
    int fd; /* O_PATH directory fd of the merged root */
    int lock_fd;
    bool mounted_here;
};
int servin_container_root_open(struct servin_store *store, const struct servin_container *c,
                               struct servin_container_root *root, struct servin_error *err);
void servin_container_root_release(struct servin_store *store, const struct servin_container *c,
                                   struct servin_container_root *root);

#endif
