/* fs.h — small filesystem helpers used across libservin. */
#ifndef SERVIN_FS_H
#define SERVIN_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "servin/error.h"

int servin_mkdir_p(const char *path, mode_t mode, struct servin_error *err);
/* Remove a tree without following symlinks; a missing path is not an error. */
int servin_rm_rf(const char *path, struct servin_error *err);
/* Read a whole file into a NUL-terminated buffer. */
int servin_read_file(const char *path, char **out, size_t *len, struct servin_error *err);
/* Write to a temp file beside path, fsync, rename: readers see the old or the new content, never half. */
int servin_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                             struct servin_error *err);
/* The same, without the fsync: for files that need not survive a power loss, because they live in
 * the run dir (gone at reboot anyway) or are written again at every container start. Readers still
 * never see a half-written file. */
int servin_write_file_volatile(const char *path, const void *data, size_t len, mode_t mode,
                               struct servin_error *err);
/* The file holds the pid of a live process. */
bool servin_pid_file_alive(const char *path);
/* Total size in bytes of regular files under path (hard links counted once per inode is not attempted). */
long long servin_dir_size(const char *path);

#endif
