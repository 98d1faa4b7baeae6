/* pod/pod.c — a pod sandbox's life: run (record, cgroup, namespaces, CNI, files), stop, remove,
 * stats. Each step of run is undone when a later one fails, so a failed run leaves nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pod/pod_internal.h"
#include "servin/cgroup.h"
#include "servin/cleanup.h"
#include "servin/cni.h"
#include "servin/fs.h"
#include "servin/log.h"

char *servin_pod_cgroup_parent_path(const char *parent)
{
    if (!parent || !*parent || strstr(parent, "..") || strchr(parent, ':') || strchr(parent, '\n'))
        return NULL;
    size_t n = strlen(parent);
    if (!strchr(parent, '/') && n > 6 && strcmp(parent + n - 6, ".slice") == 0) {
        /* systemd: "a-b-c.slice" lives in /a.slice/a-b.slice/a-b-c.slice. */
        _cleanup_free_ char *base = xstrndup(parent, n - 6);
        if (strcmp(base, "-") == 0)
            return NULL;
        if (base[0] == '-' || base[strlen(base) - 1] == '-' || strstr(base, "--"))
            return NULL;
        char *out = xstrdup("");
        for (char *dash = base;; dash++) {
            dash = strchr(dash, '-');
            _cleanup_free_ char *prefix = dash ? xstrndup(base, (size_t)(dash - base)) : xstrdup(base);
            char *next = xasprintf("%s/%s.slice", out, prefix);
            free(out);
            out = next;
            if (!dash)
                break;
        }
        return out;
    }
    return parent[0] == '/' ? xstrdup(parent) : xasprintf("/%s", parent);
}

static int check_ports(json_t *ports, struct servin_error *err)
{
    if (ports && !json_is_array(ports))
        return servin_error_set(err, EINVAL, "port_mappings must be a list");
    size_t i;
    json_t *m;
    json_array_foreach (ports, i, m) {
        json_int_t cport = json_integer_value(json_object_get(m, "container_port"));
        json_int_t hport = json_integer_value(json_object_get(m, "host_port"));
        const char *proto = json_string_value(json_object_get(m, "protocol"));
        const char *host_ip = json_string_value(json_object_get(m, "host_ip"));
        if (cport <= 0 || cport > 65535)
            return servin_error_set(err, EINVAL, "port mapping %zu: container_port %lld is not a port number",
                                    i, (long long)cport);
        if (hport < 0 || hport > 65535)
            return servin_error_set(err, EINVAL, "port mapping %zu: host_port %lld is not a port number", i,
                                    (long long)hport);
        if (proto && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0)
            return servin_error_set(err, EINVAL, "port mapping %zu: unknown protocol \"%s\"", i, proto);
        unsigned char buf[16];
        if (host_ip && *host_ip && inet_pton(AF_INET, host_ip, buf) != 1 &&
            inet_pton(AF_INET6, host_ip, buf) != 1)
            return servin_error_set(err, EINVAL, "port mapping %zu: host_ip \"%s\" is not an IP address", i,
                                    host_ip);
    }
    return 0;
}

static bool hostname_valid(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 63)
        return false;
    for (const char *c = h; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '.'))
            return false;
    return true;
}

static int check_config(const struct servin_pod_config *cfg, struct servin_error *err)
{
    if (!cfg->name || !*cfg->name)
        return servin_error_set(err, EINVAL, "pod sandbox config: metadata.name is required");
    if (strlen(cfg->name) > 253 || (cfg->namespace && strlen(cfg->namespace) > 253) ||
        (cfg->uid && strlen(cfg->uid) > 253))
        return servin_error_set(err, EINVAL,
                                "pod sandbox config: metadata name, namespace or uid is too long");
    const char *hostname = cfg->hostname && *cfg->hostname ? cfg->hostname : cfg->name;
    if (cfg->network_mode != SERVIN_NS_NODE && !hostname_valid(hostname))
        return servin_error_set(
            err, EINVAL,
            "pod sandbox config: hostname \"%s\" is not a valid host name (letters, digits, "
            "'-' and '.', at most 63)",
            hostname);
    if (cfg->log_directory && *cfg->log_directory && cfg->log_directory[0] != '/')
        return servin_error_set(err, EINVAL,
                                "pod sandbox config: log_directory \"%s\" is not an absolute path",
                                cfg->log_directory);
    if ((cfg->labels && !json_is_object(cfg->labels)) ||
        (cfg->annotations && !json_is_object(cfg->annotations)))
        return servin_error_set(err, EINVAL, "pod sandbox config: labels and annotations must be maps");
    if (cfg->network_mode != SERVIN_NS_POD && cfg->network_mode != SERVIN_NS_NODE)
        return servin_error_set(err, EINVAL,
                                "pod sandbox config: network namespace mode must be POD or NODE");
    if (cfg->ipc_mode != SERVIN_NS_POD && cfg->ipc_mode != SERVIN_NS_NODE)
        return servin_error_set(err, EINVAL, "pod sandbox config: IPC namespace mode must be POD or NODE");
    int ret = pod_dns_check(cfg->dns, err);
    if (ret < 0)
        return servin_error_wrap(err, "pod sandbox config");
    if ((ret = check_ports(cfg->port_mappings, err)) < 0)
        return servin_error_wrap(err, "pod sandbox config");
    if ((ret = pod_sysctls_check(cfg->sysctls, cfg->network_mode == SERVIN_NS_NODE,
                                 cfg->ipc_mode == SERVIN_NS_NODE, err)) < 0)
        return servin_error_wrap(err, "pod sandbox config");
    if (cfg->cgroup_parent && *cfg->cgroup_parent) {
        _cleanup_free_ char *path = servin_pod_cgroup_parent_path(cfg->cgroup_parent);
        if (!path)
            return servin_error_set(err, EINVAL,
                                    "pod sandbox config: cgroup_parent \"%s\" is neither a cgroup path "
                                    "nor a systemd slice name",
                                    cfg->cgroup_parent);
    }
    return 0;
}

static json_t *ref_or(json_t *j, json_t *fallback)
{
    if (!j) /* NULL means the default */
        return fallback;
    json_decref(fallback);
    return json_deep_copy(j);
}

static void fill_record(const struct servin_pod_config *cfg, struct servin_pod *p)
{
    memset(p, 0, sizeof(*p));
    pod_new_id(p->id);
    p->name = xstrdup(cfg->name);
    p->namespace = xstrdup(cfg->namespace ? cfg->namespace : "");
    p->uid = xstrdup(cfg->uid ? cfg->uid : "");
    p->attempt = cfg->attempt;
    p->state = SERVIN_POD_NOTREADY;
    p->created = pod_now_ns();
    p->labels = ref_or(cfg->labels, json_object());
    p->annotations = ref_or(cfg->annotations, json_object());
    p->network_mode = cfg->network_mode;
    p->ipc_mode = cfg->ipc_mode;
    p->pid_mode = cfg->pid_mode;
    /* On the host's network the pod has the host's UTS namespace, so its name. */
    p->hostname = xstrdup(p->network_mode == SERVIN_NS_NODE ? ""
                          : cfg->hostname && *cfg->hostname ? cfg->hostname
                                                            : cfg->name);
    p->log_directory = xstrdup(cfg->log_directory ? cfg->log_directory : "");
    p->runtime_handler = xstrdup(cfg->runtime_handler ? cfg->runtime_handler : "");
    p->cgroup_parent = xstrdup(cfg->cgroup_parent ? cfg->cgroup_parent : "");
    char *path =
        cfg->cgroup_parent && *cfg->cgroup_parent ? servin_pod_cgroup_parent_path(cfg->cgroup_parent) : NULL;
    p->cgroup_path = path ? path : xasprintf("/servin/pods/%s", p->id);
    p->cgroup = json_null();
    p->dns = ref_or(cfg->dns, json_object());
    p->port_mappings = ref_or(cfg->port_mappings, json_array());
    p->sysctls = ref_or(cfg->sysctls, json_object());
    p->netns_path = xstrdup("");
    p->ipc_path = xstrdup("");
    p->uts_path = xstrdup("");
    p->ip = xstrdup("");
    p->additional_ips = json_array();
    p->cni_net = json_null();
    p->cni_result = json_null();
    p->config = json_pack("{s:O?}", "extra", cfg->extra);
}

int pod_cgroup_create_in(const struct servin_cgroup_system *sys, struct servin_pod *p,
                         struct servin_error *err)
{
    struct servin_cgroup *cg = NULL;
    bool existed = false;
    if (servin_cgroup_open(sys, p->cgroup_path, p->id, &cg, err) == 0) {
        const char *dir = servin_cgroup_dir(cg, "memory");
        if (!dir)
            dir = servin_cgroup_dir(cg, "pids");
        struct stat sb;
        existed = dir && stat(dir, &sb) == 0;
        servin_cgroup_free(cg);
        cg = NULL;
    }
    int ret = servin_cgroup_create(sys, p->cgroup_path, p->id, &cg, err);
    if (ret < 0)
        return servin_error_wrap(err, "create the pod cgroup %s", p->cgroup_path);
    json_decref(p->cgroup);
    p->cgroup = servin_cgroup_to_json(cg);
    p->cgroup_created = !existed;
    servin_cgroup_free(cg);
    return 0;
}

static int cgroup_create(struct servin_pod *p, struct servin_error *err)
{
    struct servin_cgroup_system *sys = NULL;
    int ret = servin_cgroup_system_detect(&sys, err);
    if (ret < 0)
        return ret;
    ret = pod_cgroup_create_in(sys, p, err);
    servin_cgroup_system_free(sys);
    return ret;
}

int pod_cgroup_remove(struct servin_pod *p, struct servin_error *err)
{
    if (!p->cgroup_created || !json_is_object(p->cgroup))
        return 0;
    struct servin_cgroup *cg = NULL;
    int ret = servin_cgroup_from_json(p->cgroup, &cg, err);
    if (ret < 0)
        return ret;
    /* Nothing should be left in a pod whose containers were removed; whatever is goes now. */
    struct servin_error ignored = {0};
    servin_cgroup_kill_all(cg, &ignored);
    ret = servin_cgroup_destroy(cg, err);
    servin_cgroup_free(cg);
    if (ret == 0) {
        json_decref(p->cgroup);
        p->cgroup = json_null();
        p->cgroup_created = false;
    }
    return ret;
}

static void cni_runtime(const struct servin_pod *p, struct servin_cni_runtime *rt)
{
    *rt = (struct servin_cni_runtime){
        .container_id = p->id,
        .netns = pod_ns_pinned(p->netns_path) ? p->netns_path : "",
        .ifname = "eth0",
        .k8s_namespace = p->namespace,
        .k8s_name = p->name,
        .k8s_uid = p->uid,
        .port_mappings = p->port_mappings,
    };
}

static int network_add(struct servin_pod *p, const struct servin_pod_net_opts *net_opts,
                       struct servin_error *err)
{
    const char *conf_dir = net_opts && net_opts->cni_conf_dir ? net_opts->cni_conf_dir : SERVIN_CNI_CONF_DIR;
    const char *bin_dir = net_opts && net_opts->cni_bin_dir ? net_opts->cni_bin_dir : SERVIN_CNI_BIN_DIR;
    struct servin_cni_net *net = NULL;
    int ret = servin_cni_load(conf_dir, bin_dir, &net, err);
    if (ret < 0) {
        /* Not the request's fault: the node's network is not configured (yet). */
        err->code = ENETDOWN;
        return servin_error_wrap(err, "set up the pod network");
    }
    struct servin_cni_runtime rt;
    cni_runtime(p, &rt);
    json_t *result = NULL;
    ret = servin_cni_add(net, &rt, &result, err);
    if (ret < 0) {
        servin_cni_net_free(net);
        return servin_error_wrap(err, "set up the pod network");
    }
    json_decref(p->cni_net);
    p->cni_net = servin_cni_net_to_json(net);
    json_decref(p->cni_result);
    p->cni_result = result;
    servin_cni_net_free(net);
    char *ip = NULL;
    json_t *more = NULL;
    if (servin_cni_result_ips(result, &ip, &more) == 0) {
        free(p->ip);
        p->ip = ip;
        json_decref(p->additional_ips);
        p->additional_ips = more;
    } else
        json_decref(more);
    return 0;
}

/* CNI DEL with the config and result ADD had; the namespace may already be gone. */
static int network_del(struct servin_pod *p, struct servin_error *err)
{
    if (!json_is_object(p->cni_net))
        return 0;
    struct servin_cni_net *net = NULL;
    int ret = servin_cni_net_from_json(p->cni_net, &net, err);
    if (ret < 0)
        return ret;
    struct servin_cni_runtime rt;
    cni_runtime(p, &rt);
    ret = servin_cni_del(net, &rt, json_is_object(p->cni_result) ? p->cni_result : NULL, err);
    servin_cni_net_free(net);
    if (ret < 0)
        return servin_error_wrap(err, "tear down the pod network");
    json_decref(p->cni_net);
    p->cni_net = json_null();
    json_decref(p->cni_result);
    p->cni_result = json_null();
    free(p->ip);
    p->ip = xstrdup("");
    json_decref(p->additional_ips);
    p->additional_ips = json_array();
    return 0;
}

static void remove_dirs(struct servin_store *store, const char *id)
{
    struct servin_error ignored = {0};
    _cleanup_free_ char *dir = pod_dir(store, id);
    servin_rm_rf(dir, &ignored);
    _cleanup_free_ char *run = pod_run_dir(store, id);
    rmdir(run);
}

int servin_pod_run(struct servin_store *store, const struct servin_pod_config *cfg,
                   const struct servin_pod_net_opts *net, struct servin_pod *out, struct servin_error *err)
{
    int ret = check_config(cfg, err);
    if (ret < 0)
        return ret;
    struct servin_pod p;
    fill_record(cfg, &p);
    if ((ret = pod_record_insert(store, &p, err)) < 0) {
        servin_pod_clear(&p);
        return ret;
    }
    struct servin_error undo = {0};
    bool cgroup = false, ns = false, network = false;
    if ((ret = cgroup_create(&p, err)) < 0)
        goto fail;
    cgroup = true;
    if ((ret = pod_ns_create(store, &p, err)) < 0)
        goto fail;
    ns = true;
    if (p.network_mode != SERVIN_NS_NODE) {
        if ((ret = network_add(&p, net, err)) < 0)
            goto fail;
        network = true;
    }
    if (*p.log_directory && (ret = servin_mkdir_p(p.log_directory, 0755, err)) < 0)
        goto fail;
    if ((ret = pod_files_write(store, &p, err)) < 0)
        goto fail;
    p.state = SERVIN_POD_READY;
    if ((ret = pod_record_update(store, &p, err)) < 0)
        goto fail;
    if (out)
        *out = p;
    else
        servin_pod_clear(&p);
    return 0;
fail:
    if (network && network_del(&p, &undo) < 0)
        log_warn("undo pod %.12s: %s", p.id, undo.msg);
    if (ns)
        pod_ns_release(store, &p);
    if (cgroup && pod_cgroup_remove(&p, &undo) < 0)
        log_warn("undo pod %.12s: %s", p.id, undo.msg);
    remove_dirs(store, p.id);
    pod_record_delete(store, p.id, &undo);
    servin_pod_clear(&p);
    return ret;
}

static int stop_loaded(struct servin_store *store, struct servin_pod *p, struct servin_error *err)
{
    int ret = network_del(p, err);
    if (ret < 0) {
        /* Keep the namespace so that a retry can still DEL inside it; the pod is not ready anyway. */
        p->state = SERVIN_POD_NOTREADY;
        struct servin_error ignored = {0};
        pod_record_update(store, p, &ignored);
        return ret;
    }
    pod_ns_release(store, p);
    p->state = SERVIN_POD_NOTREADY;
    return pod_record_update(store, p, err);
}

int servin_pod_stop(struct servin_store *store, const char *id, struct servin_error *err)
{
    struct servin_pod p;
    int ret = servin_pod_get(store, id, &p, err);
    if (ret < 0)
        return ret;
    ret = stop_loaded(store, &p, err);
    servin_pod_clear(&p);
    return ret;
}

int servin_pod_remove(struct servin_store *store, const char *id, struct servin_error *err)
{
    struct servin_pod p;
    int ret = servin_pod_get(store, id, &p, err);
    if (ret < 0)
        return ret;
    if ((ret = stop_loaded(store, &p, err)) < 0 || (ret = pod_cgroup_remove(&p, err)) < 0) {
        servin_error_wrap(err, "remove pod sandbox %.12s", p.id);
        servin_pod_clear(&p);
        return ret;
    }
    remove_dirs(store, p.id);
    ret = pod_record_delete(store, p.id, err);
    servin_pod_clear(&p);
    return ret;
}

int servin_pod_reconcile(struct servin_store *store, int *changed, struct servin_error *err)
{
    /* Loading already reports such pods NOTREADY; their rows and networks are settled here. */
    struct servin_pod_filter f = {.state = -1};
    struct servin_pod *list = NULL;
    size_t n = 0;
    if (changed)
        *changed = 0;
    int ret = servin_pod_list(store, &f, &list, &n, err);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < n; i++) {
        struct servin_pod *p = &list[i];
        bool lost = (*p->netns_path && !pod_ns_pinned(p->netns_path)) ||
                    (*p->ipc_path && !pod_ns_pinned(p->ipc_path)) ||
                    (*p->uts_path && !pod_ns_pinned(p->uts_path));
        if (!lost)
            continue;
        struct servin_error one = {0};
        if (stop_loaded(store, p, &one) < 0)
            log_warn("pod sandbox %.12s lost its namespaces: %s", p->id, one.msg);
        if (changed)
            (*changed)++;
    }
    servin_pods_free(list, n);
    return 0;
}

char *servin_pod_netns_path(struct servin_store *store, const char *id, struct servin_error *err)
{
    struct servin_pod p;
    if (servin_pod_get(store, id, &p, err) < 0)
        return NULL;
    char *out = NULL;
    if (p.network_mode == SERVIN_NS_NODE)
        servin_error_set(err, EINVAL, "pod sandbox %.12s uses the host's network", p.id);
    else if (!pod_ns_pinned(p.netns_path))
        servin_error_set(err, ENOENT, "pod sandbox %.12s is not ready: it has no network namespace", p.id);
    else
        out = xstrdup(p.netns_path);
    servin_pod_clear(&p);
    return out;
}

int servin_pod_stats(struct servin_store *store, const struct servin_pod *p, struct servin_pod_stats *st,
                     struct servin_error *err)
{
    memset(st, 0, sizeof(*st));
    st->timestamp = pod_now_ns();
    if (json_is_object(p->cgroup)) {
        struct servin_cgroup *cg = NULL;
        struct servin_cgroup_stats cs;
        struct servin_error ignored = {0};
        if (servin_cgroup_from_json(p->cgroup, &cg, &ignored) == 0 &&
            servin_cgroup_stats(cg, &cs, &ignored) == 0) {
            st->has_cgroup = true;
            st->cpu_usage_ns = cs.cpu_usage_ns;
            st->memory_usage = cs.memory_usage;
            st->memory_working_set =
                cs.memory_usage > cs.memory_inactive_file ? cs.memory_usage - cs.memory_inactive_file : 0;
            st->pids = cs.pids_current;
        }
        servin_cgroup_free(cg);
    }
    if (p->state == SERVIN_POD_READY && pod_ns_pinned(p->netns_path)) {
        struct servin_error ignored = {0};
        pod_netdev_stats(p->netns_path, "eth0", st, &ignored);
    }
    return 0;
}

bool servin_pod_network_ready(const struct servin_pod_net_opts *net_opts, char **why)
{
    const char *conf_dir = net_opts && net_opts->cni_conf_dir ? net_opts->cni_conf_dir : SERVIN_CNI_CONF_DIR;
    const char *bin_dir = net_opts && net_opts->cni_bin_dir ? net_opts->cni_bin_dir : SERVIN_CNI_BIN_DIR;
    struct servin_cni_net *net = NULL;
    struct servin_error err = {0};
    if (servin_cni_load(conf_dir, bin_dir, &net, &err) < 0) {
        if (why)
            *why = xstrdup(err.msg);
        return false;
    }
    servin_cni_net_free(net);
    return true;
}
