/* image/archive_internal.h — what the archive files of image/ share. */
#ifndef SERVIN_ARCHIVE_INTERNAL_H
#define SERVIN_ARCHIVE_INTERNAL_H

#include "servin/error.h"

/* Annotations on the manifest descriptors of index.json. */
#define SERVIN_ANN_REF_NAME "org.opencontainers.image.ref.name"
#define SERVIN_ANN_CONTAINERD_NAME "io.containerd.image.name"
/* Servin's own: the image's repo digests, comma-separated, so that save -> load keeps them. */
#define SERVIN_ANN_REPO_DIGESTS "io.servin.image.repo-digests"

/* Extract the tar stream (any compression) read from fd into the existing directory dir.
 * Members that would land outside dir are refused; devices and fifos are skipped. */
int archive_extract_fd(int fd, const char *dir, struct servin_error *err);

/* The real path of a member named in the archive's JSON, which must be a regular file inside
 * dir (symlinks are followed only within dir). ENOENT when it is missing. */
int archive_member_path(const char *dir, const char *name, char **out, struct servin_error *err);

#endif
