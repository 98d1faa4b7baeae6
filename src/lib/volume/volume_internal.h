/* volume/volume_internal.h — what the files of the volume area share. */
#ifndef SERVIN_VOLUME_INTERNAL_H
#define SERVIN_VOLUME_INTERNAL_H

#include "servin/volume.h"

/* <root>/volumes/<name> */
char *vol_dir(struct servin_store *store, const char *name);
/* The local driver's options (type, device, o), checked before anything is created. */
int vol_check_options(json_t *options, struct servin_error *err);
/* servin_volume_create's work, inside the caller's write transaction (the name is trusted). */
int vol_create_locked(struct servin_store *store, const struct servin_volume_create_opts *opts,
                      struct servin_volume *out, bool *created, struct servin_error *err);
/* Copy the tree under path inside the root at root_fd (resolved in that root; nothing when it
 * does not exist or is not a directory) into the empty directory dest, with owners, modes,
 * times, symlinks and device nodes; dest itself takes the source directory's owner and mode. */
int vol_copy_up(int root_fd, const char *path, const char *dest, struct servin_error *err);
/* True when dir holds no entry (a missing dir counts as empty). */
bool vol_dir_empty(const char *dir);

#endif
