/* size.h — a container's disk use: what it wrote (its upper dir) and its whole root filesystem. */
#ifndef SERVIN_SIZE_H
#define SERVIN_SIZE_H

#include <stdint.h>

#include "servin/container.h"
#include "servin/error.h"
#include "servin/store.h"

/* rw: the sizes of the files and symlinks in the upper dir (Docker's SizeRw); root_fs: that plus
 * the image's unpacked size (SizeRootFs, the "virtual" size of `ps -s`). */
int servin_container_size(struct servin_store *store, const struct servin_container *c, uint64_t *rw,
                          uint64_t *root_fs, struct servin_error *err);

#endif
