/* runtime/cgroup_v2.c — the unified hierarchy: enabling controllers, and linux.resources onto v2 files. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/cgroup_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"

/* The controllers a container may be limited by, in the order they are enabled. */
static const char *const v2_controllers[] = {"cpuset",  "cpu",  "io",   "memory",
                                             "hugetlb", "pids", "rdma", "misc"};
#define N_V2_CONTROLLERS (sizeof(v2_controllers) / sizeof(v2_controllers[0]))

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \n");
        size_t len = strcspn(p, " \n");
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p += len;
    }
    return false;
}

/* Enable in one parent the controllers it offers and has not enabled yet; returns in
 * `enabled` what its children will be offered. */
static int enable_in(const struct servin_cgroup *cg, const char *dir, const char *offered, char **enabled,
                     struct servin_error *err)
{
    _cleanup_free_ char *available = NULL, *current = NULL;
    /* A plain test tree has cgroup.controllers only where the test wrote one; elsewhere the
     * parent's subtree_control is what the kernel would show. */
    if (cg_read(dir, "cgroup.controllers", &available, NULL) < 0)
        available = xstrdup(offered ? offered : "");
    if (cg_read(dir, "cgroup.subtree_control", &current, NULL) < 0)
        current = xstrdup("");

    char want[256] = "", now[256] = "";
    for (size_t i = 0; i < N_V2_CONTROLLERS; i++) {
        const char *name = v2_controllers[i];
        if (!has_word(available, name))
            continue;
        snprintf(now + strlen(now), sizeof(now) - strlen(now), "%s%s", *now ? " " : "", name);
        if (!has_word(current, name))
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s+%s", *want ? " " : "", name);
    }
    *enabled = xstrdup(now);
    if (!*want || cg_write(cg, dir, "cgroup.subtree_control", want, NULL) == 0)
        return 0;

    /* One refused controller fails the whole write; enable the others one at a time so that a
     * missing one only shows later, as the error of the limit that needs it. */
    for (size_t i = 0; i < N_V2_CONTROLLERS; i++) {
        if (!has_word(available, v2_controllers[i]) || has_word(current, v2_controllers[i]))
            continue;
        _cleanup_free_ char *one = xasprintf("+%s", v2_controllers[i]);
        struct servin_error e = {0};
        if (cg_write(cg, dir, "cgroup.subtree_control", one, &e) < 0)
            log_warn("cannot enable the %s controller for child cgroups: %s", v2_controllers[i], e.msg);
    }
    return 0;
}

int cg_v2_create(const struct servin_cgroup_system *sys, const struct servin_cgroup *cg,
                 struct servin_error *err)
{
    int ret = servin_mkdir_p(cg->v2_dir, 0755, err);
    if (ret < 0)
        return ret;
    /* Every ancestor from the mount down to the parent must pass the controllers on. */
    const char *leaf = cg->v2_dir;
    size_t start = strlen(sys->v2_mount);
    if (strncmp(leaf, sys->v2_mount, start) != 0 || leaf[start] != '/')
        return servin_error_set(err, EINVAL, "cgroup %s is not below the cgroup2 mount %s", leaf,
                                sys->v2_mount);
    _cleanup_free_ char *path = xstrdup(leaf);
    _cleanup_free_ char *offered = NULL;
    for (size_t i = start; leaf[i]; i++) {
        if (leaf[i] != '/')
            continue;
        path[i] = '\0';
        char *enabled = NULL;
        ret = enable_in(cg, path, offered, &enabled, err);
        free(offered);
        offered = enabled;
        path[i] = '/';
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int write_str(const struct servin_cgroup *cg, const char *file, const char *value, const char *what,
                     struct servin_error *err)
{
    int ret = cg_write(cg, cg->v2_dir, file, value, err);
    return ret < 0 ? servin_error_wrap(err, "set %s", what) : 0;
}

/* -1 is "no limit" in OCI and "max" in v2 files. */
static void limit_text(int64_t v, char buf[32])
{
    if (v < 0)
        strcpy(buf, "max");
    else
        snprintf(buf, 32, "%" PRId64, v);
}

static int apply_memory(const struct servin_cgroup *cg, const struct cg_resources *res,
                        struct servin_error *err)
{
    char buf[32];
    int ret = 0;
    if (res->mem_limit.set) {
        limit_text(res->mem_limit.v, buf);
        if ((ret = write_str(cg, "memory.max", buf, "memory limit", err)) < 0)
            return ret;
    }
    if (res->mem_reservation.set) {
        limit_text(res->mem_reservation.v, buf);
        if ((ret = write_str(cg, "memory.low", buf, "memory reservation", err)) < 0)
            return ret;
    }
    if (res->mem_swap.set) {
        /* OCI's swap is memory plus swap (v1's memsw); v2 limits swap alone. */
        int64_t limit = res->mem_limit.v;
        if (!res->mem_limit.set) {
            uint64_t cur = SERVIN_CGROUP_UNLIMITED;
            cg_read_u64(cg->v2_dir, "memory.max", &cur, NULL);
            limit = cur == SERVIN_CGROUP_UNLIMITED ? -1 : (int64_t)cur;
        }
        if (res->mem_swap.v == -1) {
            strcpy(buf, "max");
        } else if (limit == -1) {
            return servin_error_set(err, EINVAL,
                                    "set swap limit: memory.swap %" PRId64
                                    " cannot be converted for cgroup v2 "
                                    "without a memory limit",
                                    res->mem_swap.v);
        } else if (res->mem_swap.v < limit) {
            return servin_error_set(
                err, EINVAL, "set swap limit: memory.swap %" PRId64 " is below the memory limit %" PRId64,
                res->mem_swap.v, limit);
        } else {
            snprintf(buf, sizeof(buf), "%" PRId64, res->mem_swap.v - limit);
        }
        if (!cg->plain_files && !cg_file_exists(cg->v2_dir, "memory.swap.max"))
            log_warn(
                "memory.swap is not applied: swap accounting is off in this kernel (no memory.swap.max)");
        else if ((ret = write_str(cg, "memory.swap.max", buf, "swap limit", err)) < 0)
            return ret;
    }
    if (res->mem_swappiness.set)
        log_debug("linux.resources.memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness");
    if (res->disable_oom_set && res->disable_oom)
        log_warn(
            "linux.resources.memory.disableOOMKiller is ignored: cgroup v2 cannot turn the OOM killer off");
    return 0;
}

static int apply_cpu(const struct servin_cgroup *cg, const struct cg_resources *res, struct servin_error *err)
{
    char buf[64];
    int ret = 0;
    if (res->cpu_shares.set) {
        snprintf(buf, sizeof(buf), "%" PRIu64, cg_shares_to_weight((uint64_t)res->cpu_shares.v));
        if ((ret = write_str(cg, "cpu.weight", buf, "CPU weight", err)) < 0)
            return ret;
    }
    if (res->cpu_quota.set || res->cpu_period.set) {
        /* cpu.max holds both numbers; keep the current one of the pair that was not given. */
        char quota[24] = "max";
        uint64_t period = 100000;
        _cleanup_free_ char *cur = NULL;
        if (cg_read(cg->v2_dir, "cpu.max", &cur, NULL) == 0) {
            unsigned long long p = 0;
            if (sscanf(cur, "%23s %llu", quota, &p) == 2 && p > 0)
                period = p;
        }
        if (res->cpu_quota.set) {
            if (res->cpu_quota.v < 0)
                strcpy(quota, "max");
            else
                snprintf(quota, sizeof(quota), "%" PRId64, res->cpu_quota.v);
        }
        if (res->cpu_period.set)
            period = (uint64_t)res->cpu_period.v;
        snprintf(buf, sizeof(buf), "%s %" PRIu64, quota, period);
        if ((ret = write_str(cg, "cpu.max", buf, "CPU quota", err)) < 0)
            return ret;
    }
    if (res->cpu_burst.set) {
        snprintf(buf, sizeof(buf), "%" PRId64, res->cpu_burst.v);
        if ((ret = write_str(cg, "cpu.max.burst", buf, "CPU burst", err)) < 0)
            return ret;
    }
    if (res->cpu_idle.set) {
        snprintf(buf, sizeof(buf), "%" PRId64, res->cpu_idle.v);
        if ((ret = write_str(cg, "cpu.idle", buf, "CPU idle", err)) < 0)
            return ret;
    }
    if (res->cpu_rt_runtime.set || res->cpu_rt_period.set)
        log_debug("linux.resources.cpu.realtimeRuntime/realtimePeriod are ignored");
    if (res->cpus && (ret = write_str(cg, "cpuset.cpus", res->cpus, "allowed CPUs", err)) < 0)
        return ret;
    if (res->mems && (ret = write_str(cg, "cpuset.mems", res->mems, "allowed memory nodes", err)) < 0)
        return ret;
    return 0;
}

static const char *const io_keys[4] = {"rbps", "wbps", "riops", "wiops"};

static int apply_io(const struct servin_cgroup *cg, const struct cg_resources *res, struct servin_error *err)
{
    char buf[80];
    int ret = 0;
    if (res->blkio_weight.set) {
        uint64_t w = cg_blkio_weight_to_io_weight((uint64_t)res->blkio_weight.v);
        /* Kernels with the BFQ scheduler take the weight in io.bfq.weight, on BFQ's own 1..1000 scale. */
        if (cg->plain_files || cg_file_exists(cg->v2_dir, "io.weight")) {
            snprintf(buf, sizeof(buf), "default %" PRIu64, w);
            ret = write_str(cg, "io.weight", buf, "I/O weight", err);
        } else {
            snprintf(buf, sizeof(buf), "%" PRId64, res->blkio_weight.v);
            ret = write_str(cg, "io.bfq.weight", buf, "I/O weight", err);
        }
        if (ret < 0)
            return ret;
    }
    for (int t = 0; t < 4; t++) {
        for (size_t i = 0; i < res->n_throttle[t]; i++) {
            const struct cg_blkio_device *d = &res->throttle[t][i];
            snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%" PRIu64, d->major, d->minor, io_keys[t],
                     d->value);
            if ((ret = cg_write_rule(cg, cg->v2_dir, "io.max", buf, err)) < 0)
                return servin_error_wrap(err, "set I/O limit");
        }
    }
    return 0;
}

int cg_v2_apply(const struct servin_cgroup *cg, const struct cg_resources *res, struct servin_error *err)
{
    int ret = 0;
    if ((ret = apply_memory(cg, res, err)) < 0 || (ret = apply_cpu(cg, res, err)) < 0 ||
        (ret = apply_io(cg, res, err)) < 0)
        return ret;
    if (res->pids_limit.set) {
        char buf[32] = "max";
        if (res->pids_limit.v > 0)
            snprintf(buf, sizeof(buf), "%" PRId64, res->pids_limit.v);
        if ((ret = write_str(cg, "pids.max", buf, "pids limit", err)) < 0)
            return ret;
    }
    for (size_t i = 0; i < res->n_hugepages; i++) {
        _cleanup_free_ char *file = xasprintf("hugetlb.%s.max", res->hugepages[i].page_size);
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64, res->hugepages[i].limit);
        if ((ret = write_str(cg, file, buf, "huge page limit", err)) < 0)
            return ret;
    }
    /* Device access on v2 is an eBPF program attached to the cgroup, which Servin does not load yet. */
    if (res->n_devices > 0)
        log_warn(
            "linux.resources.devices is not enforced on cgroup v2 yet (it needs an eBPF device program); "
            "the container can open any device node it has");
    /* unified goes last so that an explicit file value wins over the converted ones. */
    if (res->unified) {
        const char *key;
        json_t *value;
        json_object_foreach ((json_t *)res->unified, key, value) {
            if ((ret = cg_write(cg, cg->v2_dir, key, json_string_value(value), err)) < 0)
                return servin_error_wrap(err, "set linux.resources.unified[\"%s\"]", key);
        }
    }
    if (res->mem_kernel.set || res->mem_kernel_tcp.set || res->blkio_ignored || res->network_ignored)
        log_debug("linux.resources memory.kernel*, blockIO.weightDevice/leafWeight, network and rdma are not "
                  "applied");
    return 0;
}
