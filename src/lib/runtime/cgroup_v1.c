/* runtime/cgroup_v1.c — one directory per v1 hierarchy, and linux.resources onto v1 control files. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/cgroup_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"

/* True when an earlier controller shares this directory (cpu,cpuacct mounted together). */
static bool seen_dir(const struct servin_cgroup *cg, int c)
{
    for (int i = 0; i < c; i++)
        if (cg->v1_dir[i] && strcmp(cg->v1_dir[i], cg->v1_dir[c]) == 0)
            return true;
    return false;
}

/* A new cpuset starts with no cpus and no mems, and the kernel refuses tasks until it has some:
 * give every level below the mount its parent's values when it has none. */
static int init_cpuset(const struct servin_cgroup *cg, const char *mount, struct servin_error *err)
{
    const char *leaf = cg->v1_dir[CG_CPUSET];
    _cleanup_free_ char *path = xstrdup(leaf);
    size_t start = strlen(mount);
    for (size_t i = start + 1; i <= strlen(leaf); i++) {
        if (leaf[i] != '/' && leaf[i] != '\0')
            continue;
        path[i] = '\0';
        _cleanup_free_ char *parent = xstrndup(leaf, strrchr(path, '/') - path);
        for (int k = 0; k < 2; k++) {
            const char *file = k == 0 ? "cpuset.cpus" : "cpuset.mems";
            _cleanup_free_ char *mine = NULL, *theirs = NULL;
            if (cg_read(path, file, &mine, NULL) == 0 && *mine)
                continue;
            if (cg_read(parent, file, &theirs, NULL) < 0 || !*theirs)
                continue;
            int ret = cg_write(cg, path, file, theirs, err);
            if (ret < 0)
                return servin_error_wrap(err, "inherit cpuset");
        }
        path[i] = leaf[i];
    }
    return 0;
}

int cg_v1_create(const struct servin_cgroup_system *sys, const struct servin_cgroup *cg,
                 struct servin_error *err)
{
    for (int c = 0; c < CG_NCTRL; c++) {
        if (!cg->v1_dir[c] || seen_dir(cg, c))
            continue;
        int ret = servin_mkdir_p(cg->v1_dir[c], 0755, err);
        if (ret < 0)
            return ret;
    }
    if (cg->v1_dir[CG_CPUSET])
        return init_cpuset(cg, sys->v1_mount[CG_CPUSET], err);
    return 0;
}

static const char *dir_for(const struct servin_cgroup *cg, int c, const char *what, struct servin_error *err)
{
    if (!cg->v1_dir[c])
        servin_error_set(err, ENOTSUP, "%s needs the %s cgroup controller, which is not mounted", what,
                         cg_ctrl_names[c]);
    return cg->v1_dir[c];
}

static int write_i64(const struct servin_cgroup *cg, const char *dir, const char *file, int64_t v,
                     const char *what, struct servin_error *err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    int ret = cg_write(cg, dir, file, buf, err);
    return ret < 0 ? servin_error_wrap(err, "set %s", what) : 0;
}

static int apply_memory(const struct servin_cgroup *cg, const struct cg_resources *res,
                        struct servin_error *err)
{
    const struct cg_opt_i64 *limit = &res->mem_limit, *swap = &res->mem_swap;
    if (!limit->set && !swap->set && !res->mem_reservation.set && !res->mem_swappiness.set &&
        !res->disable_oom_set)
        return 0;
    const char *dir = dir_for(cg, CG_MEMORY, "a memory limit", err);
    if (!dir)
        return -ENOTSUP;

    /* The kernel keeps limit <= memsw at every moment: raise memsw first when the new limit
     * would pass the current memsw, else lower the limit first. */
    bool have_memsw = cg->plain_files || cg_file_exists(dir, "memory.memsw.limit_in_bytes");
    if (swap->set && !have_memsw)
        log_warn("memory.swap is not applied: swap accounting is off in this kernel (no memory.memsw files)");
    bool write_swap = swap->set && have_memsw;
    int64_t swap_value = swap->v;
    /* An unlimited memory limit cannot sit below a finite memsw, so memsw goes unlimited too. */
    if (!swap->set && have_memsw && limit->set && limit->v == -1) {
        write_swap = true;
        swap_value = -1;
    }
    bool swap_first = false;
    if (write_swap && limit->set) {
        uint64_t cur = SERVIN_CGROUP_UNLIMITED;
        cg_read_u64(dir, "memory.memsw.limit_in_bytes", &cur, NULL);
        swap_first = limit->v == -1 || (uint64_t)limit->v > cur;
    }
    int ret = 0;
    if (swap_first &&
        (ret = write_i64(cg, dir, "memory.memsw.limit_in_bytes", swap_value, "memory+swap limit", err)) < 0)
        return ret;
    if (limit->set && (ret = write_i64(cg, dir, "memory.limit_in_bytes", limit->v, "memory limit", err)) < 0)
        return ret;
    if (write_swap && !swap_first &&
        (ret = write_i64(cg, dir, "memory.memsw.limit_in_bytes", swap_value, "memory+swap limit", err)) < 0)
        return ret;
    if (res->mem_reservation.set && (ret = write_i64(cg, dir, "memory.soft_limit_in_bytes",
                                                     res->mem_reservation.v, "memory reservation", err)) < 0)
        return ret;
    if (res->mem_swappiness.set &&
        (ret = write_i64(cg, dir, "memory.swappiness", res->mem_swappiness.v, "memory swappiness", err)) < 0)
        return ret;
    if (res->disable_oom_set && (ret = write_i64(cg, dir, "memory.oom_control", res->disable_oom ? 1 : 0,
                                                 "OOM killer switch", err)) < 0)
        return ret;
    return 0;
}

static int apply_cpu(const struct servin_cgroup *cg, const struct cg_resources *res, struct servin_error *err)
{
    int ret = 0;
    if (res->cpu_shares.set || res->cpu_period.set || res->cpu_quota.set || res->cpu_burst.set ||
        res->cpu_idle.set) {
        const char *dir = dir_for(cg, CG_CPU, "a CPU limit", err);
        if (!dir)
            return -ENOTSUP;
        if (res->cpu_shares.set &&
            (ret = write_i64(cg, dir, "cpu.shares", res->cpu_shares.v, "CPU shares", err)) < 0)
            return ret;
        /* The quota is checked against the period, so the period goes first. */
        if (res->cpu_period.set &&
            (ret = write_i64(cg, dir, "cpu.cfs_period_us", res->cpu_period.v, "CPU period", err)) < 0)
            return ret;
        if (res->cpu_quota.set &&
            (ret = write_i64(cg, dir, "cpu.cfs_quota_us", res->cpu_quota.v < 0 ? -1 : res->cpu_quota.v,
                             "CPU quota", err)) < 0)
            return ret;
        if (res->cpu_burst.set &&
            (ret = write_i64(cg, dir, "cpu.cfs_burst_us", res->cpu_burst.v, "CPU burst", err)) < 0)
            return ret;
        if (res->cpu_idle.set && (ret = write_i64(cg, dir, "cpu.idle", res->cpu_idle.v, "CPU idle", err)) < 0)
            return ret;
    }
    if (res->cpu_rt_runtime.set || res->cpu_rt_period.set)
        log_debug("linux.resources.cpu.realtimeRuntime/realtimePeriod are ignored");
    if (res->cpus || res->mems) {
        const char *dir = dir_for(cg, CG_CPUSET, "a cpuset", err);
        if (!dir)
            return -ENOTSUP;
        if (res->cpus && (ret = cg_write(cg, dir, "cpuset.cpus", res->cpus, err)) < 0)
            return servin_error_wrap(err, "set allowed CPUs");
        if (res->mems && (ret = cg_write(cg, dir, "cpuset.mems", res->mems, err)) < 0)
            return servin_error_wrap(err, "set allowed memory nodes");
    }
    return 0;
}

static int apply_devices(const struct servin_cgroup *cg, const struct cg_resources *res,
                         struct servin_error *err)
{
    if (res->n_devices == 0)
        return 0;
    const char *dir = dir_for(cg, CG_DEVICES, "a device rule", err);
    if (!dir)
        return -ENOTSUP;
    for (size_t i = 0; i < res->n_devices; i++) {
        const struct cg_device_rule *r = &res->devices[i];
        char major[24] = "*", minor[24] = "*", line[80];
        if (r->major >= 0)
            snprintf(major, sizeof(major), "%" PRId64, r->major);
        if (r->minor >= 0)
            snprintf(minor, sizeof(minor), "%" PRId64, r->minor);
        /* "a" covers every device whatever the numbers; the kernel wants them as wildcards. */
        if (r->type == 'a')
            snprintf(line, sizeof(line), "a *:* %s", r->access);
        else
            snprintf(line, sizeof(line), "%c %s:%s %s", r->type, major, minor, r->access);
        int ret = cg_write_rule(cg, dir, r->allow ? "devices.allow" : "devices.deny", line, err);
        if (ret < 0)
            return servin_error_wrap(err, "set device rule %zu", i);
    }
    return 0;
}

static const char *const throttle_files[4] = {
    "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
    "blkio.throttle.write_iops_device"};

static int apply_blkio(const struct servin_cgroup *cg, const struct cg_resources *res,
                       struct servin_error *err)
{
    bool any = res->blkio_weight.set;
    for (int t = 0; t < 4; t++)
        any = any || res->n_throttle[t] > 0;
    if (!any)
        return 0;
    const char *dir = dir_for(cg, CG_BLKIO, "a block I/O limit", err);
    if (!dir)
        return -ENOTSUP;
    int ret = 0;
    if (res->blkio_weight.set) {
        /* Kernels with the BFQ scheduler name the file blkio.bfq.weight. */
        const char *file =
            cg->plain_files || cg_file_exists(dir, "blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";
        if ((ret = write_i64(cg, dir, file, res->blkio_weight.v, "block I/O weight", err)) < 0)
            return ret;
    }
    for (int t = 0; t < 4; t++) {
        for (size_t i = 0; i < res->n_throttle[t]; i++) {
            const struct cg_blkio_device *d = &res->throttle[t][i];
            char line[80];
            snprintf(line, sizeof(line), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor, d->value);
            if ((ret = cg_write_rule(cg, dir, throttle_files[t], line, err)) < 0)
                return servin_error_wrap(err, "set block I/O throttle");
        }
    }
    return 0;
}

static int apply_hugepages(const struct servin_cgroup *cg, const struct cg_resources *res,
                           struct servin_error *err)
{
    if (res->n_hugepages == 0)
        return 0;
    const char *dir = dir_for(cg, CG_HUGETLB, "a huge page limit", err);
    if (!dir)
        return -ENOTSUP;
    for (size_t i = 0; i < res->n_hugepages; i++) {
        _cleanup_free_ char *file = xasprintf("hugetlb.%s.limit_in_bytes", res->hugepages[i].page_size);
        char value[32];
        snprintf(value, sizeof(value), "%" PRIu64, res->hugepages[i].limit);
        if (cg_write(cg, dir, file, value, err) < 0)
            return servin_error_wrap(err, "set %s huge page limit", res->hugepages[i].page_size);
    }
    return 0;
}

int cg_v1_apply(const struct servin_cgroup *cg, const struct cg_resources *res, struct servin_error *err)
{
    int ret = 0;
    if (res->unified)
        return servin_error_set(
            err, ENOTSUP, "linux.resources.unified needs cgroup v2, and this host's controllers are on v1");
    if ((ret = apply_memory(cg, res, err)) < 0 || (ret = apply_cpu(cg, res, err)) < 0)
        return ret;
    if (res->pids_limit.set) {
        const char *dir = dir_for(cg, CG_PIDS, "a pids limit", err);
        if (!dir)
            return -ENOTSUP;
        char value[32] = "max";
        if (res->pids_limit.v > 0)
            snprintf(value, sizeof(value), "%" PRId64, res->pids_limit.v);
        if (cg_write(cg, dir, "pids.max", value, err) < 0)
            return servin_error_wrap(err, "set pids limit");
    }
    if ((ret = apply_devices(cg, res, err)) < 0 || (ret = apply_blkio(cg, res, err)) < 0 ||
        (ret = apply_hugepages(cg, res, err)) < 0)
        return ret;
    if (res->mem_kernel.set || res->mem_kernel_tcp.set)
        log_debug("linux.resources.memory.kernel/kernelTCP are ignored: the kernel no longer supports them");
    if (res->blkio_ignored || res->network_ignored)
        log_debug("linux.resources blockIO.weightDevice/leafWeight, network and rdma are not applied");
    return 0;
}
