/* cri/cri_config.c — a CRI ContainerConfig (JSON, see cri_container.h) as the Docker-shaped config
 * the container library builds its spec from: one field at a time, each bad value named. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/cri_container.h"
#include "servin/fs.h"
#include "servin/log.h"

/* A field by its .proto name, or by its proto3 JSON name (lowerCamelCase). */
static json_t *field(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (v || !strchr(name, '_'))
        return v;
    char camel[128];
    size_t n = 0;
    for (const char *p = name; *p && n < sizeof(camel) - 1; p++) {
        if (*p == '_' && p[1]) {
            camel[n++] = (char)toupper((unsigned char)*++p);
        } else {
            camel[n++] = *p;
        }
    }
    camel[n] = '\0';
    return json_object_get(obj, camel);
}

static const char *text(json_t *obj, const char *name)
{
    const char *s = json_string_value(field(obj, name));
    return s && *s ? s : NULL;
}

/* Numbers: JSON numbers, decimal strings (proto3 JSON's 64-bit form) or {"value": N}. */
static bool number(json_t *v, int64_t *out)
{
    if (json_is_object(v))
        v = json_object_get(v, "value");
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        *out = (int64_t)json_real_value(v);
        return true;
    }
    if (json_is_string(v) && *json_string_value(v)) {
        char *end;
        errno = 0;
        long long n = strtoll(json_string_value(v), &end, 10);
        if (errno == 0 && *end == '\0') {
            *out = n;
            return true;
        }
    }
    return false;
}

static int64_t num(json_t *obj, const char *name)
{
    int64_t v = 0;
    return number(field(obj, name), &v) ? v : 0;
}

static bool flag(json_t *obj, const char *name)
{
    return json_is_true(field(obj, name));
}

/* An enum: its number, or its name among names[] (index = value); -1 when unknown. */
static int enum_value(json_t *v, const char *const *names, int n, int dflt)
{
    int64_t i;
    if (!v || json_is_null(v))
        return dflt;
    if (json_is_string(v)) {
        for (int k = 0; k < n; k++)
            if (strcmp(json_string_value(v), names[k]) == 0)
                return k;
        return -1;
    }
    return number(v, &i) && i >= 0 && i < n ? (int)i : -1;
}

static const char *const ns_modes[] = {"POD", "CONTAINER", "NODE", "TARGET"};
enum { NS_POD, NS_CONTAINER, NS_NODE, NS_TARGET };

static bool has_path(const char *p)
{
    return p && *p;
}

static void set_str(json_t *obj, const char *key, const char *value)
{
    json_object_set_new(obj, key, json_string(value));
}

static int warned_hugepages;

int servin_cri_apply_resources(json_t *r, json_t *hc, struct servin_error *err)
{
    if (!r || json_is_null(r))
        return 0;
    if (!json_is_object(r))
        return servin_error_set(err, EINVAL, "linux.resources must be an object");
    static const struct {
        const char *cri, *docker;
    } nums[] = {{"cpu_period", "CpuPeriod"},
                {"cpu_quota", "CpuQuota"},
                {"cpu_shares", "CpuShares"},
                {"memory_limit_in_bytes", "Memory"},
                {"memory_swap_limit_in_bytes", "MemorySwap"},
                {"oom_score_adj", "OomScoreAdj"}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        json_t *v = field(r, nums[i].cri);
        int64_t n = 0;
        if (!v || json_is_null(v))
            continue;
        if (!number(v, &n))
            return servin_error_set(err, EINVAL, "invalid linux.resources.%s: not a number", nums[i].cri);
        if (n < 0 && strcmp(nums[i].cri, "oom_score_adj") != 0 && strcmp(nums[i].cri, "cpu_quota") != 0)
            return servin_error_set(err, EINVAL, "invalid linux.resources.%s %lld: must not be negative",
                                    nums[i].cri, (long long)n);
        if (strcmp(nums[i].cri, "oom_score_adj") == 0 && (n < -1000 || n > 1000))
            return servin_error_set(
                err, EINVAL, "invalid linux.resources.oom_score_adj %lld: not in -1000..1000", (long long)n);
        /* CRI's 0 means "not set"; -1 quota means "no limit", which is also ours when unset. */
        if (n > 0 || strcmp(nums[i].cri, "oom_score_adj") == 0)
            json_object_set_new(hc, nums[i].docker, json_integer(n));
        else
            json_object_del(hc, nums[i].docker);
    }
    /* containerd's rule: with a memory limit and no swap limit, no swap. */
    if (num(hc, "Memory") > 0 && num(r, "memory_swap_limit_in_bytes") == 0)
        json_object_set_new(hc, "MemorySwap", json_integer(num(hc, "Memory")));
    if (text(r, "cpuset_cpus"))
        set_str(hc, "CpusetCpus", text(r, "cpuset_cpus"));
    if (text(r, "cpuset_mems"))
        set_str(hc, "CpusetMems", text(r, "cpuset_mems"));
    if (json_array_size(field(r, "hugepage_limits")) > 0 && !warned_hugepages++)
        log_warn("CRI hugepage limits are ignored: this runtime does not manage the hugetlb controller");
    json_t *unified = field(r, "unified");
    if (json_object_size(unified) > 0) {
        const char *k;
        json_t *v;
        json_object_foreach (unified, k, v)
            if (!json_is_string(v))
                return servin_error_set(err, EINVAL, "invalid linux.resources.unified[\"%s\"]: not a string",
                                        k);
        json_object_set_new(hc, "CgroupConf", json_deep_copy(unified));
    }
    return 0;
}

/* Mounts: Binds "host:container[:ro,<propagation>]". */
static int mounts(json_t *list, json_t *binds, struct servin_error *err)
{
    static const char *const propagation[] = {"PROPAGATION_PRIVATE", "PROPAGATION_HOST_TO_CONTAINER",
                                              "PROPAGATION_BIDIRECTIONAL"};
    static const char *const mode[] = {"rprivate", "rslave", "rshared"};
    size_t i;
    json_t *m;
    json_array_foreach (list, i, m) {
        const char *ctr = text(m, "container_path"), *host = text(m, "host_path");
        if (!ctr || ctr[0] != '/')
            return servin_error_set(err, EINVAL, "invalid mount %zu: container_path \"%s\" must be absolute",
                                    i, ctr ? ctr : "");
        if (!host || host[0] != '/')
            return servin_error_set(err, EINVAL, "invalid mount %s: host_path \"%s\" must be absolute", ctr,
                                    host ? host : "");
        if (strchr(ctr, ':') || strchr(host, ':') || strchr(ctr, ',') || strchr(host, ','))
            return servin_error_set(err, EINVAL, "invalid mount %s: paths with ':' or ',' are not supported",
                                    ctr);
        int p = enum_value(field(m, "propagation"), propagation, 3, 0);
        if (p < 0)
            return servin_error_set(err, EINVAL, "invalid mount %s: unknown propagation", ctr);
        _cleanup_free_ char *b =
            xasprintf("%s:%s:%s,%s", host, ctr, flag(m, "readonly") ? "ro" : "rw", mode[p]);
        json_array_append_new(binds, json_string(b));
    }
    return 0;
}

static bool mounts_target(json_t *list, const char *dest)
{
    size_t i;
    json_t *m;
    json_array_foreach (list, i, m) {
        const char *c = text(m, "container_path");
        if (c && strcmp(c, dest) == 0)
            return true;
    }
    return false;
}

static int devices(json_t *list, json_t *out, struct servin_error *err)
{
    size_t i;
    json_t *d;
    json_array_foreach (list, i, d) {
        const char *ctr = text(d, "container_path"), *host = text(d, "host_path");
        if (!host || host[0] != '/')
            return servin_error_set(err, EINVAL, "invalid device %zu: host_path must be absolute", i);
        if (ctr && ctr[0] != '/')
            return servin_error_set(err, EINVAL, "invalid device %s: container_path must be absolute", host);
        json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "PathOnHost", host, "PathInContainer",
                                             ctr ? ctr : host, "CgroupPermissions",
                                             text(d, "permissions") ?: "rwm"));
    }
    return 0;
}

/* seccomp (SecurityProfile) or the older seccomp_profile_path. */
static int seccomp(json_t *sc, json_t *opts, struct servin_error *err)
{
    static const char *const types[] = {"RuntimeDefault", "Unconfined", "Localhost"};
    json_t *prof = field(sc, "seccomp");
    const char *old = text(sc, "seccomp_profile_path");
    int type = 0;
    const char *local = NULL;
    if (json_is_object(prof)) {
        type = enum_value(field(prof, "profile_type"), types, 3, 0);
        if (type < 0)
            return servin_error_set(err, EINVAL, "invalid seccomp profile_type");
        local = text(prof, "localhost_ref");
    } else if (old) {
        if (strcmp(old, "unconfined") == 0)
            type = 1;
        else if (strncmp(old, "localhost/", 10) == 0)
            type = 2, local = old + 10;
        else if (strcmp(old, "runtime/default") != 0 && strcmp(old, "docker/default") != 0)
            return servin_error_set(err, EINVAL, "invalid seccomp_profile_path \"%s\"", old);
    }
    if (type == 1) {
        json_array_append_new(opts, json_string("seccomp=unconfined"));
    } else if (type == 2) {
        if (!local || local[0] != '/')
            return servin_error_set(err, EINVAL,
                                    "invalid seccomp profile: a Localhost profile needs an absolute "
                                    "localhost_ref");
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        if (servin_read_file(local, &body, &len, err) < 0) {
            err->code = EINVAL;
            return servin_error_wrap(err, "invalid seccomp profile %s", local);
        }
        _cleanup_free_ char *opt = xasprintf("seccomp=%s", body);
        json_array_append_new(opts, json_string(opt));
    }
    return 0;
}

/* The process user: run_as_username or run_as_user, with run_as_group. */
static int user(json_t *sc, json_t *cfg, struct servin_error *err)
{
    const char *name = text(sc, "run_as_username");
    int64_t uid = -1, gid = -1;
    json_t *u = field(sc, "run_as_user"), *g = field(sc, "run_as_group");
    if (u && !json_is_null(u) && (!number(u, &uid) || uid < 0))
        return servin_error_set(err, EINVAL, "invalid run_as_user: not a user id");
    if (g && !json_is_null(g) && (!number(g, &gid) || gid < 0))
        return servin_error_set(err, EINVAL, "invalid run_as_group: not a group id");
    if (gid >= 0 && !name && uid < 0)
        return servin_error_set(err, EINVAL,
                                "invalid security context: run_as_group is set without run_as_user "
                                "or run_as_username");
    _cleanup_free_ char *spec = NULL;
    if (name)
        spec = gid >= 0 ? xasprintf("%s:%lld", name, (long long)gid) : xstrdup(name);
    else if (uid >= 0)
        spec = gid >= 0 ? xasprintf("%lld:%lld", (long long)uid, (long long)gid)
                        : xasprintf("%lld", (long long)uid);
    if (spec)
        set_str(cfg, "User", spec);
    return 0;
}

static int capabilities(json_t *sc, json_t *hc, struct servin_error *err)
{
    json_t *caps = field(sc, "capabilities");
    const char *lists[][2] = {{"add_capabilities", "CapAdd"}, {"drop_capabilities", "CapDrop"}};
    for (size_t k = 0; k < 2; k++) {
        json_t *l = field(caps, lists[k][0]);
        size_t i;
        json_t *v;
        json_array_foreach (l, i, v)
            if (!json_is_string(v))
                return servin_error_set(err, EINVAL, "invalid capabilities.%s: not a list of names",
                                        lists[k][0]);
        if (json_array_size(l) > 0)
            json_object_set_new(hc, lists[k][1], json_deep_copy(l));
    }
    return 0;
}

/* pid, ipc, network and the UTS namespace that follows the network. */
static int namespaces(json_t *sc, const struct servin_cri_pod_ref *pod, json_t *hc, json_t *cfg,
                      struct servin_error *err)
{
    json_t *opts = field(sc, "namespace_options");
    int net = enum_value(field(opts, "network"), ns_modes, 4, NS_POD);
    int pid = enum_value(field(opts, "pid"), ns_modes, 4, NS_POD);
    int ipc = enum_value(field(opts, "ipc"), ns_modes, 4, NS_POD);
    if (net < 0 || net == NS_TARGET || net == NS_CONTAINER)
        return servin_error_set(err, EINVAL,
                                "invalid namespace_options.network: only POD and NODE are supported");
    if (ipc < 0 || ipc == NS_TARGET)
        return servin_error_set(err, EINVAL,
                                "invalid namespace_options.ipc: only POD, CONTAINER and NODE are "
                                "supported");
    if (pid < 0)
        return servin_error_set(err, EINVAL, "invalid namespace_options.pid");
    bool host_net = net == NS_NODE || !has_path(pod->netns_path);
    if (host_net) {
        set_str(hc, "NetworkMode", "host");
        set_str(hc, "UTSMode", "host");
    } else {
        _cleanup_free_ char *m = xasprintf("ns:%s", pod->netns_path);
        set_str(hc, "NetworkMode", m);
        if (has_path(pod->uts_path)) {
            _cleanup_free_ char *u = xasprintf("ns:%s", pod->uts_path);
            set_str(hc, "UTSMode", u);
        }
    }
    if (ipc == NS_NODE || (ipc == NS_POD && !has_path(pod->ipc_path))) {
        set_str(hc, "IpcMode", "host");
    } else if (ipc == NS_POD) {
        _cleanup_free_ char *m = xasprintf("ns:%s", pod->ipc_path);
        set_str(hc, "IpcMode", m);
    }
    if (pid == NS_NODE) {
        set_str(hc, "PidMode", "host");
    } else if (pid == NS_TARGET) {
        const char *target = text(opts, "target_id");
        if (!target)
            return servin_error_set(err, EINVAL, "invalid namespace_options: pid TARGET needs target_id");
        _cleanup_free_ char *m = xasprintf("container:%s", target);
        set_str(hc, "PidMode", m);
    } else if (pid == NS_POD && pod->pid_mode == NS_POD && pod->pid_share_container) {
        _cleanup_free_ char *m = xasprintf("container:%s", pod->pid_share_container);
        set_str(hc, "PidMode", m);
    }
    if (!host_net && pod->hostname && *pod->hostname)
        set_str(cfg, "Hostname", pod->hostname);
    return 0;
}

static int security(json_t *lnx, const struct servin_cri_pod_ref *pod, json_t *cfg, json_t *hc,
                    struct servin_error *err)
{
    json_t *sc = field(lnx, "security_context");
    if (sc && !json_is_object(sc))
        return servin_error_set(err, EINVAL, "linux.security_context must be an object");
    int ret = namespaces(sc, pod, hc, cfg, err);
    if (ret == 0)
        ret = user(sc, cfg, err);
    if (ret == 0)
        ret = capabilities(sc, hc, err);
    if (ret < 0)
        return ret;
    json_t *opts = json_array();
    json_object_set_new(hc, "SecurityOpt", opts);
    if (flag(sc, "no_new_privs"))
        json_array_append_new(opts, json_string("no-new-privileges"));
    ret = seccomp(sc, opts, err);
    if (ret < 0)
        return ret;
    json_object_set_new(hc, "Privileged", json_boolean(flag(sc, "privileged")));
    json_object_set_new(hc, "ReadonlyRootfs", json_boolean(flag(sc, "readonly_rootfs")));
    json_t *groups = json_array();
    size_t i;
    json_t *v;
    json_array_foreach (field(sc, "supplemental_groups"), i, v) {
        int64_t g;
        if (!number(v, &g) || g < 0) {
            json_decref(groups);
            return servin_error_set(err, EINVAL, "invalid supplemental_groups: not a list of group ids");
        }
        _cleanup_free_ char *s = xasprintf("%lld", (long long)g);
        json_array_append_new(groups, json_string(s));
    }
    json_object_set_new(hc, "GroupAdd", groups);
    /* kubelet sends the lists it wants (empty ones for an unmasked /proc); absent: our defaults. */
    const char *paths[][2] = {{"masked_paths", "MaskedPaths"}, {"readonly_paths", "ReadonlyPaths"}};
    for (size_t k = 0; k < 2; k++) {
        json_t *l = field(sc, paths[k][0]);
        if (json_is_array(l) && json_array_size(l) > 0)
            json_object_set_new(hc, paths[k][1], json_deep_copy(l));
    }
    return 0;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

char *servin_cri_container_name(json_t *cri, const struct servin_cri_pod_ref *pod)
{
    json_t *md = field(cri, "metadata");
    char *name = xasprintf("k8s_%s_%s_%s_%s_%lld", text(md, "name") ?: "container",
                           pod->name ? pod->name : "pod", pod->namespace ? pod->namespace : "default",
                           pod->uid ? pod->uid : "", (long long)num(md, "attempt"));
    for (char *p = name; *p; p++)
        if (!name_char(*p))
            *p = '-';
    return name;
}

static json_t *string_map(json_t *m)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach (m, k, v)
        if (json_is_string(v))
            json_object_set(out, k, v);
    return out;
}

int servin_cri_container_config(json_t *cri, const struct servin_cri_pod_ref *pod, json_t **out,
                                struct servin_error *err)
{
    *out = NULL;
    if (!json_is_object(cri))
        return servin_error_set(err, EINVAL, "the container config is missing");
    json_t *md = field(cri, "metadata");
    if (!json_is_object(md) || !text(md, "name"))
        return servin_error_set(err, EINVAL, "the container config has no metadata.name");
    json_t *image = field(cri, "image");
    if (!text(image, "image"))
        return servin_error_set(err, EINVAL, "the container config has no image");
    const char *wd = text(cri, "working_dir");
    if (wd && wd[0] != '/')
        return servin_error_set(err, EINVAL, "invalid working_dir \"%s\": it must be an absolute path", wd);

    json_t *config = json_object(), *cfg = json_object(), *hc = json_object(), *info = json_object();
    json_object_set_new(config, "Config", cfg);
    json_object_set_new(config, "HostConfig", hc);
    json_object_set_new(config, "Cri", info);
    int ret = 0;
    /* command replaces the image's entrypoint (and with it the image's Cmd), args its Cmd. */
    const char *lists[][2] = {{"command", "Entrypoint"}, {"args", "Cmd"}};
    for (size_t k = 0; k < 2 && ret == 0; k++) {
        json_t *l = field(cri, lists[k][0]);
        size_t i;
        json_t *v;
        json_array_foreach (l, i, v)
            if (!json_is_string(v))
                ret = servin_error_set(err, EINVAL, "invalid %s: not a list of strings", lists[k][0]);
        if (ret == 0 && json_array_size(l) > 0)
            json_object_set_new(cfg, lists[k][1], json_deep_copy(l));
    }
    if (wd)
        set_str(cfg, "WorkingDir", wd);
    json_t *env = json_array();
    json_object_set_new(cfg, "Env", env);
    size_t i;
    json_t *v;
    json_array_foreach (field(cri, "envs"), i, v) {
        const char *k = text(v, "key");
        if (!k || strchr(k, '=')) {
            ret = ret ? ret
                      : servin_error_set(err, EINVAL, "invalid envs[%zu]: the key is empty or holds '='", i);
            break;
        }
        json_t *val = field(v, "value");
        _cleanup_free_ char *e = xasprintf("%s=%s", k, json_is_string(val) ? json_string_value(val) : "");
        json_array_append_new(env, json_string(e));
    }
    /* stop_signal: the enum's value names are the signals' ("SIGINT"); RUNTIME_DEFAULT keeps the image's. */
    const char *stop = text(cri, "stop_signal");
    if (stop && strncmp(stop, "SIG", 3) == 0)
        set_str(cfg, "StopSignal", stop);
    json_object_set_new(cfg, "Tty", json_boolean(flag(cri, "tty")));
    json_object_set_new(cfg, "OpenStdin", json_boolean(flag(cri, "stdin")));
    json_object_set_new(cfg, "StdinOnce", json_boolean(flag(cri, "stdin_once")));
    json_t *labels = json_object();
    json_object_set_new(cfg, "Labels", labels);
    set_str(labels, SERVIN_CRI_POD_LABEL, pod->id);
    set_str(labels, SERVIN_CRI_NAME_LABEL, text(md, "name"));

    json_t *binds = json_array();
    json_object_set_new(hc, "Binds", binds);
    json_object_set_new(hc, "RestartPolicy", json_pack("{s:s}", "Name", "no"));
    json_t *lnx = field(cri, "linux");
    if (ret == 0)
        ret = mounts(field(cri, "mounts"), binds, err);
    /* The pod's /etc files, unless kubelet mounts its own (it does /etc/hosts). */
    const char *files[][2] = {{"/etc/hosts", pod->hosts_path},
                              {"/etc/resolv.conf", pod->resolv_path},
                              {"/etc/hostname", pod->hostname_path}};
    for (size_t k = 0; ret == 0 && k < 3; k++) {
        if (!has_path(files[k][1]) || mounts_target(field(cri, "mounts"), files[k][0]))
            continue;
        _cleanup_free_ char *b = xasprintf("%s:%s:rw,rprivate", files[k][1], files[k][0]);
        json_array_append_new(binds, json_string(b));
    }
    json_t *devs = json_array();
    json_object_set_new(hc, "Devices", devs);
    if (ret == 0)
        ret = devices(field(cri, "devices"), devs, err);
    if (ret == 0 && lnx && !json_is_object(lnx))
        ret = servin_error_set(err, EINVAL, "linux must be an object");
    if (ret == 0)
        ret = servin_cri_apply_resources(field(lnx, "resources"), hc, err);
    if (ret == 0)
        ret = security(lnx, pod, cfg, hc, err);
    if (ret == 0 && has_path(pod->cgroup_parent))
        set_str(hc, "CgroupParent", pod->cgroup_parent);
    const char *log_path = text(cri, "log_path");
    if (ret == 0 && log_path && has_path(pod->log_directory)) {
        if (log_path[0] == '/' || strstr(log_path, ".."))
            ret = servin_error_set(err, EINVAL,
                                   "invalid log_path \"%s\": it must be relative to the pod's log "
                                   "directory, without \"..\"",
                                   log_path);
        _cleanup_free_ char *full = xasprintf("%s/%s", pod->log_directory, log_path);
        json_object_set_new(hc, "LogConfig",
                            json_pack("{s:s,s:{s:s}}", "Type", "cri", "Config", "path", full));
    }

    set_str(info, "PodSandboxId", pod->id);
    json_object_set_new(
        info, "Metadata",
        json_pack("{s:s,s:I}", "name", text(md, "name"), "attempt", (json_int_t)num(md, "attempt")));
    json_object_set_new(info, "Labels", string_map(field(cri, "labels")));
    json_object_set_new(info, "Annotations", string_map(field(cri, "annotations")));
    json_object_set_new(info, "Image", json_deep_copy(image));
    set_str(info, "LogPath", log_path ? log_path : "");
    json_t *cmounts = json_array();
    json_array_foreach (field(cri, "mounts"), i, v)
        json_array_append_new(
            cmounts, json_pack("{s:s,s:s,s:b}", "container_path", text(v, "container_path") ?: "",
                               "host_path", text(v, "host_path") ?: "", "readonly", flag(v, "readonly")));
    json_object_set_new(info, "Mounts", cmounts);
    if (ret < 0) {
        json_decref(config);
        return ret;
    }
    *out = config;
    return 0;
}
