/* runtime/runtime_cgroup.h — what the lifecycle needs from the cgroup layer, in its own words. */
#ifndef SERVIN_RUNTIME_CGROUP_H
#define SERVIN_RUNTIME_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "servin/error.h"

/* Create the container's cgroup (linux.cgroupsPath, or one named after id), apply
 * linux.resources and move pid into it; path_out (the cgroup layer's JSON description, as text) is
 * what the other calls take and what the state file keeps. */
int oci_cgroup_enter(const char *id, json_t *linux_obj, pid_t pid, char **path_out, struct servin_error *err);
struct servin_cgroup;
/* Reopen the cgroup described by path (free with servin_cgroup_free). */
int oci_cgroup_open(const char *path, struct servin_cgroup **out, struct servin_error *err);
int oci_cgroup_destroy(const char *path, struct servin_error *err);
bool oci_cgroup_is_frozen(const char *path);
int oci_cgroup_freeze(const char *path, bool frozen, struct servin_error *err);
int oci_cgroup_pids(const char *path, pid_t **pids, size_t *n, struct servin_error *err);
/* Signal every process of the cgroup. */
int oci_cgroup_signal_all(const char *path, int sig, struct servin_error *err);

#endif
