/* runtime/cgroup_ops.c — what is done to a container's cgroup: join, limit, freeze, list, kill, remove,
 * stats. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

#define FREEZE_TIMEOUT_MS 5000
#define KILL_TIMEOUT_MS 10000
#define RMDIR_TIMEOUT_MS 2000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Every distinct directory of the cgroup, in controller order. */
static size_t unique_dirs(const struct servin_cgroup *cg, const char *out[CG_NCTRL])
{
    size_t n = 0;
    if (cg->mode == SERVIN_CGROUP_V2) {
        out[n++] = cg->v2_dir;
        return n;
    }
    for (int c = 0; c < CG_NCTRL; c++) {
        if (!cg->v1_dir[c])
            continue;
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup = dup || strcmp(out[i], cg->v1_dir[c]) == 0;
        if (!dup)
            out[n++] = cg->v1_dir[c];
    }
    return n;
}

int servin_cgroup_add_pid(const struct servin_cgroup *cg, pid_t pid, struct servin_error *err)
{
    const char *dirs[CG_NCTRL];
    size_t n = unique_dirs(cg, dirs);
    char value[24];
    snprintf(value, sizeof(value), "%d", (int)pid);
    for (size_t i = 0; i < n; i++)
        if (cg_write(cg, dirs[i], "cgroup.procs", value, err) < 0)
            return servin_error_wrap(err, "move process %d into its cgroup", (int)pid);
    return 0;
}

int servin_cgroup_set_resources(const struct servin_cgroup *cg, const json_t *resources,
                                struct servin_error *err)
{
    struct cg_resources res;
    int ret = cg_resources_parse(resources, &res, err);
    if (ret == 0)
        ret = cg->mode == SERVIN_CGROUP_V2 ? cg_v2_apply(cg, &res, err) : cg_v1_apply(cg, &res, err);
    cg_resources_clear(&res);
    return ret;
}

static const char *freezer_dir(const struct servin_cgroup *cg, const char *what, struct servin_error *err)
{
    const char *dir = cg->mode == SERVIN_CGROUP_V2 ? cg->v2_dir : cg->v1_dir[CG_FREEZER];
    if (!dir)
        servin_error_set(err, ENOTSUP, "%s: the freezer cgroup controller is not mounted", what);
    return dir;
}

int servin_cgroup_is_frozen(const struct servin_cgroup *cg, bool *frozen, struct servin_error *err)
{
    const char *dir = freezer_dir(cg, "read freezer state", err);
    if (!dir)
        return -ENOTSUP;
    _cleanup_free_ char *text = NULL;
    if (cg->mode == SERVIN_CGROUP_V1) {
        if (cg_read(dir, "freezer.state", &text, err) < 0)
            return servin_error_wrap(err, "read freezer state");
        *frozen = strcmp(text, "FROZEN") == 0;
        return 0;
    }
    uint64_t v = 0;
    if (cg_read_key_u64(dir, "cgroup.events", "frozen", &v, NULL) == 0) {
        *frozen = v == 1;
        return 0;
    }
    /* Kernels before 5.2 have no freezer on v2 at all. */
    if (cg_read(dir, "cgroup.freeze", &text, err) < 0)
        return servin_error_wrap(err, "read freezer state");
    *frozen = strcmp(text, "1") == 0;
    return 0;
}

int servin_cgroup_freeze(const struct servin_cgroup *cg, struct servin_error *err)
{
    const char *dir = freezer_dir(cg, "freeze", err);
    if (!dir)
        return -ENOTSUP;
    bool v1 = cg->mode == SERVIN_CGROUP_V1;
    const char *file = v1 ? "freezer.state" : "cgroup.freeze", *value = v1 ? "FROZEN" : "1";
    if (cg_write(cg, dir, file, value, err) < 0)
        return servin_error_wrap(err, "freeze");

    /* Freezing is asynchronous: the kernel reports FREEZING (v1) or "frozen 0" (v2) until every
     * task has stopped. */
    long long deadline = now_ms() + FREEZE_TIMEOUT_MS;
    for (int round = 0;; round++) {
        bool frozen = false;
        if (servin_cgroup_is_frozen(cg, &frozen, err) < 0)
            return servin_error_wrap(err, "freeze");
        if (frozen)
            return 0;
        if (now_ms() > deadline)
            break;
        sleep_ms(round < 10 ? 1 : 10);
        /* On v1 a task forked while freezing can leave the cgroup FREEZING; asking again retries it. */
        if (v1 && round % 10 == 9)
            cg_write(cg, dir, file, value, NULL);
    }
    cg_write(cg, dir, file, v1 ? "THAWED" : "0", NULL);
    return servin_error_set(err, EBUSY,
                            "freeze %s: the tasks did not all stop within %d s; thawed them again", dir,
                            FREEZE_TIMEOUT_MS / 1000);
}

int servin_cgroup_thaw(const struct servin_cgroup *cg, struct servin_error *err)
{
    const char *dir = freezer_dir(cg, "thaw", err);
    if (!dir)
        return -ENOTSUP;
    bool v1 = cg->mode == SERVIN_CGROUP_V1;
    if (cg_write(cg, dir, v1 ? "freezer.state" : "cgroup.freeze", v1 ? "THAWED" : "0", err) < 0)
        return servin_error_wrap(err, "thaw");
    return 0;
}

/* The directory whose cgroup.procs lists the container's processes. */
static const char *procs_dir(const struct servin_cgroup *cg)
{
    if (cg->mode == SERVIN_CGROUP_V2)
        return cg->v2_dir;
    static const int prefer[] = {CG_PIDS, CG_MEMORY, CG_FREEZER, CG_CPU, CG_DEVICES};
    for (size_t i = 0; i < sizeof(prefer) / sizeof(prefer[0]); i++)
        if (cg->v1_dir[prefer[i]])
            return cg->v1_dir[prefer[i]];
    for (int c = 0; c < CG_NCTRL; c++)
        if (cg->v1_dir[c])
            return cg->v1_dir[c];
    return NULL;
}

int servin_cgroup_pids(const struct servin_cgroup *cg, pid_t **pids, size_t *n, struct servin_error *err)
{
    const char *dir = procs_dir(cg);
    _cleanup_free_ char *text = NULL;
    *pids = NULL;
    *n = 0;
    if (!dir)
        return servin_error_set(err, ENOENT, "list cgroup processes: no cgroup hierarchy is mounted");
    if (cg_read(dir, "cgroup.procs", &text, err) < 0)
        return servin_error_wrap(err, "list cgroup processes");
    size_t cap = 8, count = 0;
    _cleanup_free_ pid_t *out = xmalloc(cap * sizeof(*out));
    for (char *p = text; *p;) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p)
            return servin_error_set(err, EINVAL,
                                    "list cgroup processes: unexpected \"%.20s\" in %s/cgroup.procs", p, dir);
        if (count == cap) {
            cap *= 2;
            out = xreallocarray(out, cap, sizeof(*out));
        }
        out[count++] = (pid_t)v;
        p = end + strspn(end, " \n");
    }
    *pids = steal_pointer(&out);
    *n = count;
    return 0;
}

/* Poll until cgroup.procs is empty; SIGKILL stragglers each round when `resend`. */
static int wait_empty(const struct servin_cgroup *cg, bool resend, struct servin_error *err)
{
    long long deadline = now_ms() + KILL_TIMEOUT_MS;
    for (int round = 0;; round++) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int ret = servin_cgroup_pids(cg, &pids, &n, err);
        /* A cgroup that vanished under us has nothing left in it: its directory is gone (ENOENT),
         * or it was removed while its files were still open (ENODEV). */
        if (ret == -ENOENT || ret == -ENODEV)
            return 0;
        if (ret < 0)
            return servin_error_wrap(err, "kill cgroup");
        if (n == 0)
            return 0;
        if (now_ms() > deadline)
            return servin_error_set(err, EBUSY,
                                    "kill cgroup %s: %zu processes still there after %d s (first: %d)",
                                    procs_dir(cg), n, KILL_TIMEOUT_MS / 1000, (int)pids[0]);
        if (resend)
            for (size_t i = 0; i < n; i++)
                if (kill(pids[i], SIGKILL) < 0 && errno != ESRCH)
                    log_debug("kill %d: %s", (int)pids[i], strerror(errno));
        sleep_ms(round < 10 ? 1 : 10);
    }
}

int servin_cgroup_kill_all(const struct servin_cgroup *cg, struct servin_error *err)
{
    if (cg->mode == SERVIN_CGROUP_V2 && cg_file_exists(cg->v2_dir, "cgroup.kill")) {
        /* The kernel kills every task, including ones forked meanwhile, in one step (Linux 5.14). */
        if (cg_write(cg, cg->v2_dir, "cgroup.kill", "1", err) < 0)
            return servin_error_wrap(err, "kill cgroup");
        return wait_empty(cg, false, err);
    }
    /* Freeze first so that no task can fork while the list is walked; SIGKILL is delivered to
     * frozen tasks as soon as they are thawed. A cgroup already gone is not an error. */
    bool frozen = freezer_dir(cg, "", NULL) && servin_cgroup_freeze(cg, NULL) == 0;
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    if (servin_cgroup_pids(cg, &pids, &n, NULL) == 0)
        for (size_t i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
    if (frozen && servin_cgroup_thaw(cg, err) < 0)
        return servin_error_wrap(err, "kill cgroup");
    return wait_empty(cg, true, err);
}

/* rmdir a cgroup and any sub-cgroups below it, deepest first. */
static int remove_tree(const char *dir, bool plain, struct servin_error *err)
{
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : servin_error_errno(err, errno, "remove cgroup %s", dir);
    DIR *d = fdopendir(fd);
    if (!d)
        return servin_error_errno(err, errno, "remove cgroup %s", dir);
    fd = -1;
    struct dirent *e;
    int ret = 0;
    while (ret == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        bool is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            is_dir = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir) {
            _cleanup_free_ char *sub = xasprintf("%s/%s", dir, e->d_name);
            ret = remove_tree(sub, plain, err);
        } else if (plain && unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
            ret = servin_error_errno(err, errno, "remove %s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    if (ret < 0)
        return ret;
    if (rmdir(dir) < 0 && errno != ENOENT)
        return servin_error_errno(err, errno, "remove cgroup %s", dir);
    return 0;
}

int servin_cgroup_destroy(const struct servin_cgroup *cg, struct servin_error *err)
{
    const char *dirs[CG_NCTRL];
    size_t n = unique_dirs(cg, dirs);
    long long deadline = now_ms() + RMDIR_TIMEOUT_MS;
    for (size_t i = 0; i < n; i++) {
        /* Tasks that were just killed leave their cgroup a moment after they die: EBUSY until then. */
        for (;;) {
            int ret = remove_tree(dirs[i], cg->plain_files, err);
            if (ret == 0)
                break;
            if (ret != -EBUSY || now_ms() > deadline)
                return servin_error_wrap(err, "destroy cgroup");
            sleep_ms(10);
        }
    }
    return 0;
}

/* Read one number for the stats, where a missing file (controller off) reads as `missing`. */
static int stat_u64(const char *dir, const char *file, const char *key, uint64_t missing, uint64_t *out,
                    struct servin_error *err)
{
    *out = missing;
    if (!dir)
        return 0;
    struct servin_error e = {0};
    int ret = key ? cg_read_key_u64(dir, file, key, out, &e) : cg_read_u64(dir, file, out, &e);
    if (ret == -ENOENT) {
        *out = missing;
        return 0;
    }
    if (ret < 0) {
        if (err)
            *err = e;
        return servin_error_wrap(err, "read cgroup stats");
    }
    return 0;
}

int servin_cgroup_stats(const struct servin_cgroup *cg, struct servin_cgroup_stats *st,
                        struct servin_error *err)
{
    const uint64_t UNL = SERVIN_CGROUP_UNLIMITED;
    int ret = 0;
    memset(st, 0, sizeof(*st));
    if (cg->mode == SERVIN_CGROUP_V2) {
        const char *d = cg->v2_dir;
        uint64_t usec = 0;
        if ((ret = stat_u64(d, "memory.current", NULL, 0, &st->memory_usage, err)) < 0 ||
            (ret = stat_u64(d, "memory.max", NULL, UNL, &st->memory_limit, err)) < 0 ||
            (ret = stat_u64(d, "memory.stat", "inactive_file", 0, &st->memory_inactive_file, err)) < 0 ||
            (ret = stat_u64(d, "cpu.stat", "usage_usec", 0, &usec, err)) < 0 ||
            (ret = stat_u64(d, "pids.current", NULL, 0, &st->pids_current, err)) < 0 ||
            (ret = stat_u64(d, "pids.max", NULL, UNL, &st->pids_limit, err)) < 0)
            return ret;
        st->cpu_usage_ns = usec * 1000;
        return 0;
    }
    const char *mem = cg->v1_dir[CG_MEMORY], *pids = cg->v1_dir[CG_PIDS], *acct = cg->v1_dir[CG_CPUACCT];
    if ((ret = stat_u64(mem, "memory.usage_in_bytes", NULL, 0, &st->memory_usage, err)) < 0 ||
        (ret = stat_u64(mem, "memory.limit_in_bytes", NULL, UNL, &st->memory_limit, err)) < 0 ||
        (ret = stat_u64(mem, "memory.stat", "total_inactive_file", 0, &st->memory_inactive_file, err)) < 0 ||
        (ret = stat_u64(acct, "cpuacct.usage", NULL, 0, &st->cpu_usage_ns, err)) < 0 ||
        (ret = stat_u64(pids, "pids.current", NULL, 0, &st->pids_current, err)) < 0 ||
        (ret = stat_u64(pids, "pids.max", NULL, UNL, &st->pids_limit, err)) < 0)
        return ret;
    /* v1 shows "no limit" as the largest page-aligned counter value rather than a word. */
    if (st->memory_limit >= 0x7FFFFFFFFFFFF000ULL)
        st->memory_limit = UNL;
    return 0;
}
