/* runtime/cgroup_internal.h — shared between the cgroup files; not part of the public API. */
#ifndef SERVIN_CGROUP_INTERNAL_H
#define SERVIN_CGROUP_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "servin/cgroup.h"

/* The v1 hierarchies a container gets a directory in. */
enum cg_ctrl {
    CG_CPU,
    CG_CPUACCT,
    CG_CPUSET,
    CG_MEMORY,
    CG_DEVICES,
    CG_FREEZER,
    CG_BLKIO,
    CG_PIDS,
    CG_HUGETLB,
    CG_NET_CLS,
    CG_NET_PRIO,
    CG_PERF_EVENT,
    CG_RDMA,
    CG_MISC,
    CG_SYSTEMD,
    CG_NCTRL,
};

/* "memory", ..., "name=systemd": the names /proc/self/cgroup and mount options use. */
extern const char *const cg_ctrl_names[CG_NCTRL];
int cg_ctrl_from_name(const char *name);

struct servin_cgroup_system {
    enum servin_cgroup_mode mode;
    bool hybrid;
    bool plain_files;
    char *v2_mount;           /* the cgroup2 mountpoint (also set on hybrid hosts) */
    char *v2_own;             /* own cgroup below v2_mount, "/..." */
    char *v1_mount[CG_NCTRL]; /* NULL when that hierarchy is not mounted */
    char *v1_own[CG_NCTRL];   /* own cgroup below each v1 mount, "/..." */
};

struct servin_cgroup {
    enum servin_cgroup_mode mode;
    bool plain_files;
    char *v2_dir;
    char *v1_dir[CG_NCTRL];
};

/* Build the layout from the text of /proc/self/mountinfo and /proc/self/cgroup. */
int cg_system_parse(const char *mountinfo, const char *self_cgroup, struct servin_cgroup_system **out,
                    struct servin_error *err);

/* Control-file access. Values are written with one write(2), as cgroupfs requires. */
int cg_write(const struct servin_cgroup *cg, const char *dir, const char *file, const char *value,
             struct servin_error *err);
/* Like cg_write for files where each write adds a rule (devices.allow): on a plain tree the
 * lines are appended so that tests can see them all. */
int cg_write_rule(const struct servin_cgroup *cg, const char *dir, const char *file, const char *value,
                  struct servin_error *err);
/* Read a control file with trailing whitespace removed. */
int cg_read(const char *dir, const char *file, char **out, struct servin_error *err);
/* Read a file holding one unsigned number or "max" (SERVIN_CGROUP_UNLIMITED). */
int cg_read_u64(const char *dir, const char *file, uint64_t *out, struct servin_error *err);
/* Find "key value" in a flat keyed file such as memory.stat or cpu.stat. */
int cg_read_key_u64(const char *dir, const char *file, const char *key, uint64_t *out,
                    struct servin_error *err);
bool cg_file_exists(const char *dir, const char *file);

/* Optional values of an OCI linux.resources object; `set` says the field was present. */
struct cg_opt_i64 {
    bool set;
    int64_t v;
};

struct cg_device_rule {
    bool allow;
    char type;     /* 'a', 'b' or 'c' */
    int64_t major; /* -1 for any */
    int64_t minor;
    char access[4];
};

struct cg_blkio_device {
    int64_t major, minor;
    uint64_t value; /* weight or rate */
};

struct cg_hugepage {
    char *page_size; /* "2MB" */
    uint64_t limit;
};

struct cg_resources {
    struct cg_opt_i64 mem_limit, mem_reservation, mem_swap, mem_swappiness;
    struct cg_opt_i64 mem_kernel, mem_kernel_tcp;
    bool disable_oom_set, disable_oom;
    struct cg_opt_i64 cpu_shares, cpu_quota, cpu_period, cpu_burst, cpu_idle;
    struct cg_opt_i64 cpu_rt_runtime, cpu_rt_period;
    char *cpus, *mems;
    struct cg_opt_i64 pids_limit;
    struct cg_device_rule *devices;
    size_t n_devices;
    struct cg_opt_i64 blkio_weight;
    struct cg_blkio_device *throttle[4]; /* read bps, write bps, read iops, write iops */
    size_t n_throttle[4];
    struct cg_hugepage *hugepages;
    size_t n_hugepages;
    const json_t *unified; /* borrowed from the resources JSON */
    bool blkio_ignored;    /* weightDevice / leafWeight given: not applied */
    bool network_ignored;  /* network / rdma given: not applied */
};

int cg_resources_parse(const json_t *resources, struct cg_resources *res, struct servin_error *err);
void cg_resources_clear(struct cg_resources *res);
/* The v2 cpu.weight for v1 cpu.shares, as runc and crun convert it. */
uint64_t cg_shares_to_weight(uint64_t shares);
/* The v2 io.weight for a v1 blkio weight (10..1000 onto 1..10000). */
uint64_t cg_blkio_weight_to_io_weight(uint64_t weight);

/* Create directories (and prepare cpuset / subtree_control) for an opened cgroup. */
int cg_v1_create(const struct servin_cgroup_system *sys, const struct servin_cgroup *cg,
                 struct servin_error *err);
int cg_v2_create(const struct servin_cgroup_system *sys, const struct servin_cgroup *cg,
                 struct servin_error *err);
int cg_v1_apply(const struct servin_cgroup *cg, const struct cg_resources *res, struct servin_error *err);
int cg_v2_apply(const struct servin_cgroup *cg, const struct cg_resources *res, struct servin_error *err);

#endif
