/* container/spec.c — the OCI runtime spec (config.json) of a container, from its Docker-shaped
 * config and the image's, with Docker's defaults. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/spec_internal.h"
#include "runtime/rootfs_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/runtime.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_SHM_SIZE (64LL * 1024 * 1024)
#define DEFAULT_NOFILE 1048576
#define CPU_PERIOD_US 100000

static const char *const masked_paths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                             "/proc/sysrq-trigger"};

static const char *const rlimit_names[] = {"cpu",      "fsize",  "data",    "stack", "core",  "rss",
                                           "nproc",    "nofile", "memlock", "as",    "locks", "sigpending",
                                           "msgqueue", "nice",   "rtprio",  "rttime"};

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : NULL;
}

static json_int_t num(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* Index of "KEY=" in an env array, or -1. */
static long env_find(json_t *env, const char *entry)
{
    size_t klen = strcspn(entry, "=");
    size_t i;
    json_t *v;
    json_array_foreach (env, i, v) {
        const char *s = json_string_value(v);
        if (s && strncmp(s, entry, klen) == 0 && (s[klen] == '=' || s[klen] == '\0'))
            return (long)i;
    }
    return -1;
}

/* Later entries replace earlier ones with the same key, in place, as Docker merges environments. */
static void env_set(json_t *env, const char *entry)
{
    long i = env_find(env, entry);
    if (i >= 0)
        json_array_set_new(env, (size_t)i, json_string(entry));
    else
        json_array_append_new(env, json_string(entry));
}

void servin_container_apply_image_defaults(json_t *config, json_t *image_config)
{
    json_t *cfg = json_object_get(config, "Config");
    json_t *img = json_object_get(image_config, "config");
    if (!json_is_object(img))
        img = json_object_get(image_config, "Config");
    if (!json_is_object(cfg) || !json_is_object(img))
        return;
    /* Docker's rule: an entrypoint of the user's own drops the image's Cmd, written for the old one. */
    json_t *entry = json_object_get(cfg, "Entrypoint");
    bool user_entrypoint = json_array_size(entry) > 0;
    if (!user_entrypoint) {
        if (json_array_size(json_object_get(cfg, "Cmd")) == 0 && json_is_array(json_object_get(img, "Cmd")))
            json_object_set(cfg, "Cmd", json_object_get(img, "Cmd"));
        if ((!entry || json_is_null(entry)) && json_is_array(json_object_get(img, "Entrypoint")))
            json_object_set(cfg, "Entrypoint", json_object_get(img, "Entrypoint"));
    }
    json_t *env = json_is_array(json_object_get(img, "Env")) ? json_deep_copy(json_object_get(img, "Env"))
                                                             : json_array();
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(cfg, "Env"), i, v) {
        if (json_is_string(v))
            env_set(env, json_string_value(v));
    }
    json_object_set_new(cfg, "Env", env);
    const char *keys[] = {"WorkingDir", "User", "StopSignal"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (!str(cfg, keys[k]) && str(img, keys[k]))
            json_object_set(cfg, keys[k], json_object_get(img, keys[k]));
    const char *objects[] = {"Labels", "ExposedPorts", "Volumes"};
    for (size_t k = 0; k < sizeof(objects) / sizeof(objects[0]); k++) {
        json_t *from = json_object_get(img, objects[k]);
        if (!json_is_object(from))
            continue;
        json_t *into = json_object_get(cfg, objects[k]);
        if (!json_is_object(into)) {
            into = json_object();
            json_object_set_new(cfg, objects[k], into);
        }
        json_object_update_missing(into, from);
    }
    /* As Docker: the --health-* flags override the image's check field by field. */
    json_t *img_hc = json_object_get(img, "Healthcheck");
    json_t *hc = json_object_get(cfg, "Healthcheck");
    if (!json_is_object(hc) && json_is_object(img_hc)) {
        json_object_set_new(cfg, "Healthcheck", json_deep_copy(img_hc));
    } else if (json_is_object(hc) && json_is_object(img_hc)) {
        if (json_array_size(json_object_get(hc, "Test")) == 0 && json_object_get(img_hc, "Test"))
            json_object_set(hc, "Test", json_object_get(img_hc, "Test"));
        const char *hkeys[] = {"Interval", "Timeout", "StartPeriod", "Retries"};
        for (size_t k = 0; k < sizeof(hkeys) / sizeof(hkeys[0]); k++)
            if (json_integer_value(json_object_get(hc, hkeys[k])) == 0 && json_object_get(img_hc, hkeys[k]))
                json_object_set(hc, hkeys[k], json_object_get(img_hc, hkeys[k]));
    }
}

static json_t *mount_entry(const char *dest, const char *type, const char *source, const char *options)
{
    json_t *opts = json_array();
    _cleanup_free_ char *copy = xstrdup(options);
    for (char *save = NULL, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
        json_array_append_new(opts, json_string(o));
    return json_pack("{s:s,s:s,s:s,s:o}", "destination", dest, "type", type, "source", source, "options",
                     opts);
}

static bool has_destination(json_t *mounts, const char *dest)
{
    size_t i;
    json_t *m;
    json_array_foreach (mounts, i, m) {
        const char *d = str(m, "destination");
        if (d && strcmp(d, dest) == 0)
            return true;
    }
    return false;
}

static bool is_propagation(const char *o)
{
    static const char *const modes[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave"};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(o, modes[i]) == 0)
            return true;
    return false;
}

/* The container's MountPoints (volumes, binds and --mount tmpfs, resolved by
 * servin_volume_prepare_container) and --tmpfs /ctr[:opts]. A record without MountPoints (written
 * by a caller that did not prepare volumes) still gets its absolute-path Binds. */
static int user_mounts(json_t *hc, json_t *points, json_t *mounts, struct servin_error *err)
{
    size_t i;
    json_t *v;
    json_array_foreach (points, i, v)
        json_array_append(mounts, json_object_get(v, "Spec"));
    json_array_foreach (json_is_array(points) ? NULL : json_object_get(hc, "Binds"), i, v) {
        const char *bind = json_string_value(v);
        if (!bind)
            return servin_error_set(err, EINVAL, "Binds must list \"source:destination[:options]\" strings");
        _cleanup_free_ char *copy = xstrdup(bind);
        char *dest = strchr(copy, ':');
        if (!dest)
            return servin_error_set(err, EINVAL,
                                    "invalid volume \"%s\": expected /host/path:/container/path[:ro]", bind);
        *dest++ = '\0';
        char *opts = strchr(dest, ':');
        if (opts)
            *opts++ = '\0';
        if (copy[0] != '/')
            return servin_error_set(err, EINVAL,
                                    "invalid volume \"%s\": named volumes are not supported yet, give an "
                                    "absolute host path",
                                    bind);
        if (dest[0] != '/')
            return servin_error_set(err, EINVAL, "invalid volume \"%s\": the container path must be absolute",
                                    bind);
        bool ro = false;
        _cleanup_free_ char *extra = xstrdup("");
        for (char *save = NULL, *o = opts ? strtok_r(opts, ",", &save) : NULL; o;
             o = strtok_r(NULL, ",", &save)) {
            if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0)
                ro = strcmp(o, "ro") == 0;
            else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0)
                continue; /* SELinux relabelling: no SELinux here. */
            else if (is_propagation(o)) {
                char *next = xasprintf("%s,%s", extra, o);
                free(extra);
                extra = next;
            } else
                return servin_error_set(err, EINVAL, "invalid volume \"%s\": unknown option \"%s\"", bind, o);
        }
        /* Docker creates a missing host directory for -v. */
        if (access(copy, F_OK) < 0 && servin_mkdir_p(copy, 0755, err) < 0)
            return servin_error_wrap(err, "create the host directory of volume \"%s\"", bind);
        _cleanup_free_ char *options =
            xasprintf("rbind%s%s", ro ? ",ro" : "", extra[0] ? extra : ",rprivate");
        json_array_append_new(mounts, mount_entry(dest, "bind", copy, options));
    }
    const char *dest;
    json_object_foreach (json_object_get(hc, "Tmpfs"), dest, v) {
        if (dest[0] != '/')
            return servin_error_set(err, EINVAL, "invalid tmpfs \"%s\": the container path must be absolute",
                                    dest);
        const char *o = json_string_value(v);
        _cleanup_free_ char *options = xasprintf("nosuid,nodev,noexec%s%s", o && *o ? "," : "", o ? o : "");
        json_array_append_new(mounts, mount_entry(dest, "tmpfs", "tmpfs", options));
    }
    return 0;
}

static json_t *system_mounts(json_t *hc, const char *dir, json_t *user)
{
    bool priv = json_is_true(json_object_get(hc, "Privileged"));
    json_int_t shm = num(hc, "ShmSize") > 0 ? num(hc, "ShmSize") : DEFAULT_SHM_SIZE;
    _cleanup_free_ char *shm_opts = xasprintf("nosuid,noexec,nodev,mode=1777,size=%lld", (long long)shm);
    json_t *m = json_array();
    json_array_append_new(m, mount_entry("/proc", "proc", "proc", "nosuid,noexec,nodev"));
    json_array_append_new(m,
                          mount_entry("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
    json_array_append_new(m, mount_entry("/dev/pts", "devpts", "devpts",
                                         "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
    json_array_append_new(
        m, mount_entry("/sys", "sysfs", "sysfs", priv ? "nosuid,noexec,nodev" : "nosuid,noexec,nodev,ro"));
    json_array_append_new(
        m, mount_entry("/sys/fs/cgroup", "cgroup", "cgroup",
                       priv ? "nosuid,noexec,nodev,relatime" : "nosuid,noexec,nodev,relatime,ro"));
    json_array_append_new(m, mount_entry("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
    if (!has_destination(user, "/dev/shm"))
        json_array_append_new(m, mount_entry("/dev/shm", "tmpfs", "shm", shm_opts));
    const char *files[] = {"resolv.conf", "hostname", "hosts"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        _cleanup_free_ char *dest = xasprintf("/etc/%s", files[i]);
        _cleanup_free_ char *src = xasprintf("%s/%s", dir, files[i]);
        if (!has_destination(user, dest))
            json_array_append_new(m, mount_entry(dest, "bind", src, "rbind,rprivate"));
    }
    json_array_extend(m, user);
    return m;
}

/* Docker's default open-file limit, unless the runtime could not set it anyway: without
 * CAP_SYS_RESOURCE it can go no higher than our own hard limit, and would warn on every start. */
static json_int_t default_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max >= DEFAULT_NOFILE)
        return DEFAULT_NOFILE;
    cap_flag_value_t v = CAP_CLEAR;
    cap_t caps = cap_get_proc();
    if (caps) {
        cap_get_flag(caps, CAP_SYS_RESOURCE, CAP_EFFECTIVE, &v);
        cap_free(caps);
    }
    return v == CAP_SET ? DEFAULT_NOFILE : (json_int_t)rl.rlim_max;
}

static int rlimits(json_t *hc, json_t **out, struct servin_error *err)
{
    json_t *list = json_array();
    bool nofile = false;
    size_t i;
    json_t *u;
    json_array_foreach (json_object_get(hc, "Ulimits"), i, u) {
        const char *name = str(u, "Name");
        bool known = false;
        for (size_t k = 0; name && k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
            known = known || strcasecmp(name, rlimit_names[k]) == 0;
        if (!known) {
            json_decref(list);
            return servin_error_set(err, EINVAL, "invalid ulimit \"%s\": unknown name", name ? name : "");
        }
        json_int_t soft = num(u, "Soft"), hard = num(u, "Hard");
        if (soft > hard) {
            json_decref(list);
            return servin_error_set(err, EINVAL,
                                    "invalid ulimit %s: soft limit %lld is above the hard limit %lld", name,
                                    (long long)soft, (long long)hard);
        }
        char type[32];
        snprintf(type, sizeof(type), "RLIMIT_%s", name);
        for (char *p = type; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        nofile = nofile || strcmp(type, "RLIMIT_NOFILE") == 0;
        json_array_append_new(list, json_pack("{s:s,s:I,s:I}", "type", type, "soft", soft, "hard", hard));
    }
    ctr_default_ulimits(list, &nofile);
    if (!nofile)
        json_array_append_new(list, json_pack("{s:s,s:I,s:I}", "type", "RLIMIT_NOFILE", "soft",
                                              default_nofile(), "hard", default_nofile()));
    *out = list;
    return 0;
}

static int resources(json_t *hc, json_t **out, struct servin_error *err)
{
    bool priv = json_is_true(json_object_get(hc, "Privileged"));
    json_t *r = json_pack("{s:[{s:b,s:s}]}", "devices", "allow", priv, "access", "rwm");
    json_int_t mem = num(hc, "Memory"), swap = num(hc, "MemorySwap");
    if (mem < 0 || (swap > 0 && mem > 0 && swap < mem)) {
        json_decref(r);
        return servin_error_set(err, EINVAL,
                                mem < 0 ? "invalid memory limit: must not be negative"
                                        : "invalid memory swap limit: must be at least the memory limit");
    }
    if (mem > 0 || swap != 0) {
        json_t *m = json_object();
        if (mem > 0)
            json_object_set_new(m, "limit", json_integer(mem));
        /* Docker: no swap setting with a memory limit allows as much swap again. */
        json_int_t total = swap != 0 ? swap : mem * 2;
        if (total != 0 && (mem > 0 || swap == -1))
            json_object_set_new(m, "swap", json_integer(total));
        json_object_set_new(r, "memory", m);
    }
    json_int_t nano = num(hc, "NanoCpus"), quota = num(hc, "CpuQuota"), period = num(hc, "CpuPeriod");
    if (nano < 0) {
        json_decref(r);
        return servin_error_set(err, EINVAL, "invalid --cpus: must not be negative");
    }
    if (nano > 0 && (quota > 0 || period > 0)) {
        json_decref(r);
        return servin_error_set(
            err, EINVAL, "conflicting options: --cpus and --cpu-period/--cpu-quota cannot both be set");
    }
    json_t *cpu = json_object();
    if (nano > 0) {
        json_object_set_new(cpu, "period", json_integer(CPU_PERIOD_US));
        json_object_set_new(cpu, "quota", json_integer(nano * CPU_PERIOD_US / 1000000000LL));
    }
    if (quota > 0)
        json_object_set_new(cpu, "quota", json_integer(quota));
    if (period > 0)
        json_object_set_new(cpu, "period", json_integer(period));
    if (num(hc, "CpuShares") > 0)
        json_object_set_new(cpu, "shares", json_integer(num(hc, "CpuShares")));
    if (str(hc, "CpusetCpus"))
        json_object_set_new(cpu, "cpus", json_string(str(hc, "CpusetCpus")));
    if (str(hc, "CpusetMems"))
        json_object_set_new(cpu, "mems", json_string(str(hc, "CpusetMems")));
    if (json_object_size(cpu) > 0)
        json_object_set_new(r, "cpu", cpu);
    else
        json_decref(cpu);
    if (num(hc, "PidsLimit") > 0)
        json_object_set_new(r, "pids", json_pack("{s:I}", "limit", num(hc, "PidsLimit")));
    *out = r;
    return 0;
}

/* Entrypoint + Cmd, HOSTNAME/PATH/TERM/HOME defaults, cwd and the user. */
static int process(struct servin_store *store, const struct servin_container *c, json_t *cfg, json_t *hc,
                   const char *hostname, json_t **out, struct servin_error *err)
{
    json_t *args = json_array();
    if (json_is_array(json_object_get(cfg, "Entrypoint")))
        json_array_extend(args, json_object_get(cfg, "Entrypoint"));
    if (json_is_array(json_object_get(cfg, "Cmd")))
        json_array_extend(args, json_object_get(cfg, "Cmd"));
    if (json_array_size(args) == 0 || !json_is_string(json_array_get(args, 0)) ||
        !*json_string_value(json_array_get(args, 0))) {
        json_decref(args);
        return servin_error_set(err, EINVAL,
                                "no command specified: the image has none, give one after the image name");
    }
    const char *cwd = str(cfg, "WorkingDir") ?: "/";
    if (cwd[0] != '/') {
        json_decref(args);
        return servin_error_set(err, EINVAL,
                                "the working directory \"%s\" is invalid: it must be an absolute path", cwd);
    }
    _cleanup_free_ char *passwd = ctr_rootfs_read(store, c, "etc/passwd");
    _cleanup_free_ char *group = ctr_rootfs_read(store, c, "etc/group");
    struct ctr_user user;
    int ret = ctr_user_resolve(str(cfg, "User"), passwd, group, &user, err);
    if (ret < 0) {
        json_decref(args);
        return ret;
    }
    bool tty = json_is_true(json_object_get(cfg, "Tty"));
    json_t *env = json_array();
    json_array_append_new(env, json_string(DEFAULT_PATH));
    _cleanup_free_ char *host_env = xasprintf("HOSTNAME=%s", hostname);
    json_array_append_new(env, json_string(host_env));
    if (tty)
        json_array_append_new(env, json_string("TERM=xterm"));
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(cfg, "Env"), i, v) {
        if (json_is_string(v))
            env_set(env, json_string_value(v));
    }
    if (env_find(env, "HOME") < 0) {
        _cleanup_free_ char *home = xasprintf("HOME=%s", user.home);
        json_array_append_new(env, json_string(home));
    }
    json_t *gids = json_array();
    for (size_t g = 0; g < user.n_groups; g++)
        json_array_append_new(gids, json_integer(user.groups[g]));
    /* Docker's --group-add (Kubernetes' supplemental groups): numbers, or names of the image's groups. */
    json_array_foreach (json_object_get(hc, "GroupAdd"), i, v) {
        gid_t extra;
        int gret = ctr_group_id(json_string_value(v), group, &extra, err);
        if (gret < 0) {
            json_decref(gids);
            json_decref(env);
            json_decref(args);
            ctr_user_clear(&user);
            return gret;
        }
        bool dup = extra == user.gid;
        size_t k;
        json_t *have;
        json_array_foreach (gids, k, have)
            dup = dup || json_integer_value(have) == (json_int_t)extra;
        if (!dup)
            json_array_append_new(gids, json_integer(extra));
    }
    json_t *p =
        json_pack("{s:b,s:{s:I,s:I,s:o},s:o,s:o,s:s}", "terminal", tty, "user", "uid", (json_int_t)user.uid,
                  "gid", (json_int_t)user.gid, "additionalGids", gids, "args", args, "env", env, "cwd", cwd);
    ctr_user_clear(&user);
    *out = p;
    return 0;
}

char *servin_container_netns_path(struct servin_store *store, const char *id)
{
    return xasprintf("%s/netns/%s", store->run_root, id);
}

/* The namespace NetworkMode asks for: the container's own pinned one, the one of container:X
 * (followed through X's own mode), or NULL for the host's or a fresh one (none). */
static int network_namespace(struct servin_store *store, const struct servin_container *c, json_t *hc,
                             char **out, struct servin_error *err)
{
    const char *mode = str(hc, "NetworkMode");
    *out = NULL;
    if (mode && (strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0))
        return 0;
    if (mode && strncmp(mode, "ns:", 3) == 0) {
        if (mode[3] != '/')
            return servin_error_set(err, EINVAL, "invalid --network %s: the namespace path must be absolute",
                                    mode);
        *out = xstrdup(mode + 3);
        return 0;
    }
    if (!mode || strncmp(mode, "container:", 10) != 0) {
        *out = servin_container_netns_path(store, c->id);
        return 0;
    }
    struct servin_container other = {0};
    int ret = servin_container_get(store, mode + 10, &other, err);
    if (ret < 0)
        return servin_error_wrap(err, "invalid --network %s", mode);
    if (strcmp(other.id, c->id) == 0) {
        servin_container_clear(&other);
        return servin_error_set(err, EINVAL, "invalid --network %s: a container cannot join itself", mode);
    }
    json_t *ohc = json_object_get(other.config, "HostConfig");
    /* X runs on --network none in a namespace the runtime made: the start of a container joining
     * it pins that namespace at X's path first (network/attach.c). */
    const char *omode = str(ohc, "NetworkMode");
    if (omode && strcmp(omode, "none") == 0)
        *out = servin_container_netns_path(store, other.id);
    else
        ret = network_namespace(store, &other, ohc, out, err);
    servin_container_clear(&other);
    return ret;
}

void ctr_hostname(const struct servin_container *c, json_t *cfg, json_t *hc, char out[256])
{
    const char *mode = str(hc, "NetworkMode");
    bool host_network = mode && strcmp(mode, "host") == 0;
    out[0] = '\0';
    if (str(cfg, "Hostname"))
        snprintf(out, 256, "%s", str(cfg, "Hostname"));
    else if (host_network)
        gethostname(out, 255);
    if (!out[0])
        snprintf(out, 256, "%.12s", c->id);
}

int servin_container_write_etc(struct servin_store *store, const struct servin_container *c, const char *ip,
                               json_t *network_dns, struct servin_error *err)
{
    json_t *cfg = json_object_get(c->config, "Config"), *hc = json_object_get(c->config, "HostConfig");
    const char *mode = str(hc, "NetworkMode");
    char hostname[256];
    ctr_hostname(c, cfg, hc, hostname);
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    return ctr_write_etc_files(dir, hostname, mode && strcmp(mode, "host") == 0, hc, ip, network_dns, err);
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static int build(struct servin_store *store, const struct servin_container *c, json_t *cfg, json_t *hc,
                 const char *dir, json_t **out, struct servin_error *err)
{
    const char *mode = str(hc, "NetworkMode");
    bool host_network = mode && strcmp(mode, "host") == 0;
    char hostname[256];
    ctr_hostname(c, cfg, hc, hostname);
    /* On another container's network the name is that container's too, as in Docker: its
     * /etc/hosts, which this one sees, names it. */
    struct servin_container other = {0};
    struct servin_error ignored = {0};
    if (mode && strncmp(mode, "container:", 10) == 0 && !str(cfg, "Hostname") &&
        servin_container_get(store, mode + 10, &other, &ignored) == 0) {
        json_t *ocfg = json_object_get(other.config, "Config");
        ctr_hostname(&other, ocfg, json_object_get(other.config, "HostConfig"), hostname);
        servin_container_clear(&other);
    }
    _cleanup_free_ char *netns = NULL;
    int nret = network_namespace(store, c, hc, &netns, err);
    if (nret < 0)
        return nret;

    json_t *proc = NULL, *caps = NULL, *limits = NULL, *seccomp = NULL, *res = NULL, *user = json_array();
    bool nnp = false;
    int ret = process(store, c, cfg, hc, hostname, &proc, err);
    if (ret == 0)
        ret = ctr_capabilities(hc, &caps, err);
    if (ret == 0)
        ret = ctr_security_opts(hc, json_object_get(caps, "bounding"), &seccomp, &nnp, err);
    if (ret == 0)
        ret = rlimits(hc, &limits, err);
    if (ret == 0)
        ret = resources(hc, &res, err);
    if (ret == 0)
        ret = user_mounts(hc, json_object_get(c->config, "MountPoints"), user, err);
    if (ret == 0)
        ret = ctr_apply_init(hc, proc, user, err);
    if (ret == 0)
        ret = ctr_write_etc_files(dir, hostname, host_network, hc, NULL, NULL, err);
    if (ret < 0) {
        json_decref(proc);
        json_decref(caps);
        json_decref(limits);
        json_decref(seccomp);
        json_decref(res);
        json_decref(user);
        return ret;
    }
    json_object_set_new(proc, "capabilities", caps);
    json_object_set_new(proc, "rlimits", limits);
    json_object_set_new(proc, "noNewPrivileges", json_boolean(nnp));
    if (json_object_get(hc, "OomScoreAdj") && num(hc, "OomScoreAdj") != 0)
        json_object_set_new(proc, "oomScoreAdj", json_integer(num(hc, "OomScoreAdj")));

    bool priv = json_is_true(json_object_get(hc, "Privileged"));
    _cleanup_free_ char *rootfs = xasprintf("%s/merged", dir);
    _cleanup_free_ char *cgroups_path = NULL;
    json_t *ns = NULL;
    bool own_uts = true;
    ret = ctr_cgroups_path(c, hc, &cgroups_path, err);
    if (ret == 0)
        ret = ctr_namespaces(store, c, hc, netns, host_network, &ns, &own_uts, err);
    json_t *devices = priv ? ctr_host_devices() : json_array();
    if (ret == 0 && !priv)
        ret = ctr_devices(hc, devices, json_object_get(res, "devices"), err);
    if (ret < 0) {
        json_decref(devices);
        json_decref(ns);
        json_decref(seccomp);
        json_decref(proc);
        json_decref(res);
        json_decref(user);
        return ret;
    }
    json_t *linux_obj = json_pack("{s:o,s:s,s:o,s:o}", "namespaces", ns, "cgroupsPath", cgroups_path,
                                  "resources", res, "devices", devices);
    if (!priv) {
        /* Kubernetes gives its own lists (empty ones for an unmasked /proc). */
        json_t *masked = json_object_get(hc, "MaskedPaths"), *ro = json_object_get(hc, "ReadonlyPaths");
        json_object_set_new(linux_obj, "maskedPaths",
                            json_is_array(masked)
                                ? json_deep_copy(masked)
                                : string_array(masked_paths, sizeof(masked_paths) / sizeof(masked_paths[0])));
        json_object_set_new(linux_obj, "readonlyPaths",
                            json_is_array(ro) ? json_deep_copy(ro)
                                              : string_array(readonly_paths, sizeof(readonly_paths) /
                                                                                 sizeof(readonly_paths[0])));
    }
    /* Podman's --cgroup-conf: cgroup v2 files set as they are. */
    if (json_object_size(json_object_get(hc, "CgroupConf")) > 0)
        json_object_set_new(res, "unified", json_deep_copy(json_object_get(hc, "CgroupConf")));
    if (seccomp)
        json_object_set_new(linux_obj, "seccomp", seccomp);
    if (json_object_size(json_object_get(hc, "Sysctls")) > 0)
        json_object_set(linux_obj, "sysctl", json_object_get(hc, "Sysctls"));

    json_t *spec = json_pack("{s:s,s:o,s:{s:s,s:b},s:o,s:{s:s,s:s},s:o}", "ociVersion", SERVIN_OCI_VERSION,
                             "process", proc, "root", "path", rootfs, "readonly",
                             json_is_true(json_object_get(hc, "ReadonlyRootfs")), "mounts",
                             system_mounts(hc, dir, user), "annotations", "io.servin.container.name",
                             c->name ? c->name : "", "io.servin.container.id", c->id, "linux", linux_obj);
    json_decref(user);
    /* Setting the hostname of a joined (a pod's) or the host's UTS namespace would change theirs. */
    if (own_uts)
        json_object_set_new(spec, "hostname", json_string(hostname));
    if (own_uts && str(cfg, "Domainname"))
        json_object_set(spec, "domainname", json_object_get(cfg, "Domainname"));
    *out = spec;
    return 0;
}

/* Docker creates a missing working directory in the container's root before it starts. The walk
 * stays inside the root whatever symlinks the image holds. Not mounted: nothing to do yet. */
static int make_workdir(const char *dir, json_t *cfg, struct servin_error *err)
{
    const char *cwd = str(cfg, "WorkingDir");
    if (!cwd || strcmp(cwd, "/") == 0)
        return 0;
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    struct stat st, dst;
    if (stat(merged, &st) < 0 || stat(dir, &dst) < 0 || st.st_dev == dst.st_dev)
        return 0;
    _cleanup_close_ int root = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return servin_error_errno(err, errno, "open %s", merged);
    int fd = rootfs_open_in_root(root, cwd, ROOTFS_CREATE_DIR, err);
    if (fd < 0)
        return servin_error_wrap(err, "create the working directory %s", cwd);
    close(fd);
    return 0;
}

int servin_container_write_spec(struct servin_store *store, const struct servin_container *c,
                                struct servin_error *err)
{
    json_t *image_config = NULL;
    int ret = servin_image_config(store, c->image_id, &image_config, err);
    if (ret < 0)
        return servin_error_wrap(err, "write the spec of container %.12s", c->id);
    ret = servin_container_write_spec_from(store, c, image_config, err);
    json_decref(image_config);
    return ret;
}

int servin_container_write_spec_from(struct servin_store *store, const struct servin_container *c,
                                     json_t *image_config, struct servin_error *err)
{
    int ret;
    /* The caller applied the image's defaults already; applying them again changes nothing, and
     * covers a record written without them. */
    json_t *config = json_deep_copy(c->config);
    if (!json_is_object(json_object_get(config, "Config")))
        json_object_set_new(config, "Config", json_object());
    servin_container_apply_image_defaults(config, image_config);

    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    json_t *hc = json_object_get(config, "HostConfig");
    json_t *spec = NULL;
    ret = build(store, c, json_object_get(config, "Config"), json_is_object(hc) ? hc : NULL, dir, &spec, err);
    if (ret == 0)
        ret = make_workdir(dir, json_object_get(config, "Config"), err);
    json_decref(config);
    if (ret < 0) {
        json_decref(spec);
        return ret;
    }
    _cleanup_free_ char *text = json_dumps(spec, JSON_INDENT(2));
    json_decref(spec);
    _cleanup_free_ char *path = xasprintf("%s/config.json", dir);
    ret = servin_write_file_atomic(path, text, strlen(text), 0600, err);
    if (ret < 0)
        return servin_error_wrap(err, "write the spec of container %.12s", c->id);
    return 0;
}
