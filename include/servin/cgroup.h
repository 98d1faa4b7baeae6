/* cgroup.h — container cgroups on v1, v2 and hybrid hosts: create, join, limit, freeze, kill, destroy.
 *
 * Modes. A pure v2 host (a cgroup2 mount holding the controllers) uses the unified tree. A host
 * with v1 controller mounts uses v1 for every controller, also when a cgroup2 tree is mounted
 * beside them (hybrid: systemd's "unified" mount holds none of the controllers we need).
 *
 * Paths. An absolute OCI cgroupsPath ("/servin/<id>") is used as given under every controller's
 * mount (v2: under the cgroup2 mount). A relative one, or none (then "servin/<id>"), is placed
 * under the runtime's own cgroup: on v1 under the own cgroup of each controller (so a runtime
 * confined to /a/b in the memory hierarchy creates /a/b/servin/<id> there); on v2 under the
 * PARENT of the own cgroup, because the own cgroup holds the runtime's processes and the kernel
 * refuses to enable controllers below a cgroup with processes ("no internal processes").
 * Because the result depends on who resolves it, record servin_cgroup_to_json() in the
 * container's state and reopen it with servin_cgroup_from_json() from other processes.
 */
#ifndef SERVIN_CGROUP_H
#define SERVIN_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "servin/error.h"

enum servin_cgroup_mode {
    SERVIN_CGROUP_V1 = 1,
    SERVIN_CGROUP_V2 = 2,
};

/* For servin_cgroup_system_open: the tree is plain files and directories (tests), so missing
 * control files are created on write and destroy removes files before directories. */
#define SERVIN_CGROUP_PLAIN_FILES 0x1u

/* The host's cgroup layout: mode, mountpoints and the runtime's own cgroup. */
struct servin_cgroup_system;
/* One container's cgroup (one directory per v1 controller, or one v2 directory). */
struct servin_cgroup;

#define SERVIN_CGROUP_UNLIMITED UINT64_MAX

struct servin_cgroup_stats {
    uint64_t memory_usage;         /* bytes charged, page cache included */
    uint64_t memory_limit;         /* bytes, SERVIN_CGROUP_UNLIMITED when none */
    uint64_t memory_inactive_file; /* reclaimable cache; Docker shows usage minus this */
    uint64_t cpu_usage_ns;         /* total CPU time of all tasks */
    uint64_t pids_current;
    uint64_t pids_limit; /* SERVIN_CGROUP_UNLIMITED when none */
};

/* Read /proc/self/mountinfo and /proc/self/cgroup. */
int servin_cgroup_system_detect(struct servin_cgroup_system **out, struct servin_error *err);
/* A layout given explicitly: for v2, root is the cgroup2 mount; for v1, root holds one directory
 * per controller (root/memory, root/cpu, ..., root/systemd for name=systemd). The runtime's own
 * cgroup is taken to be the root. */
int servin_cgroup_system_open(const char *root, enum servin_cgroup_mode mode, unsigned flags,
                              struct servin_cgroup_system **out, struct servin_error *err);
void servin_cgroup_system_free(struct servin_cgroup_system *sys);
enum servin_cgroup_mode servin_cgroup_system_mode(const struct servin_cgroup_system *sys);
/* True when v1 controllers are used while a cgroup2 tree is mounted too. */
bool servin_cgroup_system_hybrid(const struct servin_cgroup_system *sys);

/* Create the cgroup for cgroups_path (NULL or "" means "servin/<id>"); directories that exist
 * already are fine. On v2 the parents' cgroup.subtree_control get the controllers enabled; on
 * v1 a new cpuset inherits its parent's cpus and mems so that tasks can join it. */
int servin_cgroup_create(const struct servin_cgroup_system *sys, const char *cgroups_path, const char *id,
                         struct servin_cgroup **out, struct servin_error *err);
/* The same resolution as create, without creating anything. */
int servin_cgroup_open(const struct servin_cgroup_system *sys, const char *cgroups_path, const char *id,
                       struct servin_cgroup **out, struct servin_error *err);
/* {"mode": "v1"|"v2", "paths": {"memory": "/sys/fs/cgroup/memory/...", ...}} (v2: {"": dir}). */
json_t *servin_cgroup_to_json(const struct servin_cgroup *cg);
int servin_cgroup_from_json(const json_t *state, struct servin_cgroup **out, struct servin_error *err);
void servin_cgroup_free(struct servin_cgroup *cg);
/* The directory of a v1 controller ("memory", "name=systemd"); on v2 the one directory whatever
 * the name. NULL when that v1 controller is not mounted. */
const char *servin_cgroup_dir(const struct servin_cgroup *cg, const char *controller);
enum servin_cgroup_mode servin_cgroup_mode(const struct servin_cgroup *cg);

/* Move a process (all its threads) into the cgroup: used for the init and to join for exec. */
int servin_cgroup_add_pid(const struct servin_cgroup *cg, pid_t pid, struct servin_error *err);
/* Apply an OCI linux.resources object; only the fields present are written, so the same call
 * updates a live cgroup. NULL or {} does nothing. As in runc, 0 means "not set" for memory
 * limit/reservation/swap, cpu shares/quota/period, pids limit and blockIO weight, and -1 means
 * unlimited. Not applied, with a log line: realtime cpu fields, network, rdma, kernel memory;
 * on v2 also swappiness, disableOOMKiller and device rules (v2 needs an eBPF program for those).
 * linux.resources.unified is written as given on v2 and refused on v1. */
int servin_cgroup_set_resources(const struct servin_cgroup *cg, const json_t *resources,
                                struct servin_error *err);

/* Freeze every task and wait until the kernel reports the cgroup frozen. */
int servin_cgroup_freeze(const struct servin_cgroup *cg, struct servin_error *err);
int servin_cgroup_thaw(const struct servin_cgroup *cg, struct servin_error *err);
int servin_cgroup_is_frozen(const struct servin_cgroup *cg, bool *frozen, struct servin_error *err);

/* Pids in cgroup.procs (v1: of the memory, pids or freezer hierarchy, whichever is mounted). */
int servin_cgroup_pids(const struct servin_cgroup *cg, pid_t **pids, size_t *n, struct servin_error *err);
/* SIGKILL every task and wait until the cgroup is empty (cgroup.kill on v2 when the kernel has it). */
int servin_cgroup_kill_all(const struct servin_cgroup *cg, struct servin_error *err);
/* Remove the directories (and any sub-cgroups the container made), retrying briefly while
 * tasks finish exiting; directories already gone are fine. Parents such as "servin" stay. */
int servin_cgroup_destroy(const struct servin_cgroup *cg, struct servin_error *err);

int servin_cgroup_stats(const struct servin_cgroup *cg, struct servin_cgroup_stats *stats,
                        struct servin_error *err);

#endif
