/* daemon/cri/sandbox_service.c — CRI pod sandboxes: RunPodSandbox, StopPodSandbox,
 * RemovePodSandbox, PodSandboxStatus, ListPodSandbox, PodSandboxStats, ListPodSandboxStats, and
 * the NetworkReady check of Status. The sandbox itself (pinned namespaces, CNI, cgroup, files)
 * is libservin's (pod.h); this file translates messages and maps errors to gRPC codes. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container_internal.h"
#include "cri_service.h"
#include "servin/cleanup.h"
#include "servin/cri_container.h"
#include "servin/log.h"
#include "servin/pod.h"

/* Containers of a stopping pod get no grace: kubelet stopped them with theirs already, and the
 * CRI says StopPodSandbox terminates what is left forcibly. */
#define POD_STOP_CONTAINER_TIMEOUT_S 0

static struct servin_pod_net_opts net_opts(void)
{
    return (struct servin_pod_net_opts){.cni_conf_dir = cri_ctx->cni_conf_dir,
                                        .cni_bin_dir = cri_ctx->cni_bin_dir};
}

int cri_sandbox_start(struct servin_error *err)
{
    /* Pods whose namespaces a reboot took are NOTREADY now, and their addresses are released. */
    struct servin_store *store = NULL;
    if (servin_store_open_at(cri_ctx->root ? cri_ctx->root : SERVIN_DEFAULT_ROOT, cri_ctx->state_dir, &store,
                             err) < 0)
        return servin_error_wrap(err, "CRI sandboxes");
    int changed = 0;
    struct servin_error e = {0};
    if (servin_pod_reconcile(store, &changed, &e) < 0)
        log_warn("CRI: check pod sandboxes after start: %s", e.msg);
    else if (changed)
        log_info("CRI: %d pod sandbox(es) lost their namespaces and are not ready", changed);
    servin_store_close(store);
    return 0;
}

void cri_sandbox_stop(void)
{
}

bool cri_network_ready(struct cri_call *call, const char **reason, const char **message)
{
    struct servin_pod_net_opts o = net_opts();
    char *why = NULL;
    bool ok = servin_pod_network_ready(&o, &why);
    if (!ok) {
        *reason = "NetworkPluginNotReady";
        *message = cri_strdup(call, why ? why : "no CNI network configuration");
    }
    free(why);
    return ok;
}

/* A protobuf-c map<string,string> (entries with key and value) as a JSON object; NULL when a key
 * or value is not UTF-8 (a client may send any bytes; JSON holds only text). */
#define MAP_JSON(entries, n)                                                                                 \
    ({                                                                                                       \
        json_t *_o = json_object();                                                                          \
        for (size_t _i = 0; _o && _i < (n); _i++) {                                                          \
            json_t *_v = json_string((entries)[_i]->value ? (entries)[_i]->value : "");                      \
            if (!_v || !(entries)[_i]->key || json_object_set_new(_o, (entries)[_i]->key, _v) < 0) {         \
                json_decref(_o);                                                                             \
                _o = NULL;                                                                                   \
            }                                                                                                \
        }                                                                                                    \
        _o;                                                                                                  \
    })

static void map_add_json(struct cri_call *call, ProtobufCMessage *msg, const char *field, json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach (obj, k, v)
        cri_map_add(call, msg, field, k, json_string_value(v) ? json_string_value(v) : "");
}

static json_t *strings_json(char **list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(list[i] ? list[i] : ""));
    return a;
}

static int fail_pod(struct cri_call *call, const struct servin_error *err)
{
    if (err->code == ENETDOWN)
        return cri_fail(call, GRPC_FAILED_PRECONDITION, "%s", err->msg);
    return cri_fail_error(call, err);
}

/* The daemon's store and the pod ID names in *pod; NULL when either is missing (the call's error set). */
static struct servin_store *get_pod(struct cri_call *call, const char *id, struct servin_pod *pod)
{
    struct servin_store *store = cri_store(call);
    if (!store)
        return NULL;
    struct servin_error err = {0};
    if (servin_pod_get(store, id, pod, &err) < 0) {
        cri_fail_error(call, &err);
        return NULL;
    }
    return store;
}

/* The pods *f matches, filtered also by the labels in selector (taken); -1 with the call's error set. */
static int list_pods(struct cri_call *call, struct servin_store *store, struct servin_pod_filter *f,
                     json_t *selector, struct servin_pod **list, size_t *n)
{
    f->labels = selector;
    struct servin_error err = {0};
    int ret = servin_pod_list(store, f, list, n, &err);
    json_decref(selector);
    return ret < 0 ? cri_fail_error(call, &err) : 0;
}

static int run_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req_msg,
                           ProtobufCMessage **resp_msg)
{
    const Runtime__V1__RunPodSandboxRequest *req = (const void *)req_msg;
    const Runtime__V1__PodSandboxConfig *c = req->config;
    if (!c || !c->metadata)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "RunPodSandbox: config.metadata is required");
    if (!c->metadata->name || !*c->metadata->name)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "RunPodSandbox: config.metadata.name is required");
    if (req->runtime_handler && *req->runtime_handler &&
        strcmp(req->runtime_handler, CRI_RUNTIME_NAME) != 0 && strcmp(req->runtime_handler, "runc") != 0)
        return cri_fail(call, GRPC_INVALID_ARGUMENT,
                        "RunPodSandbox: runtime handler \"%s\" is not configured (servin has the default "
                        "handler \"\" only)",
                        req->runtime_handler);
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    json_t *labels = MAP_JSON(c->labels, c->n_labels);
    json_t *annotations = MAP_JSON(c->annotations, c->n_annotations);
    json_t *dns = NULL;
    if (c->dns_config)
        dns = json_pack("{s:o,s:o,s:o}", "servers",
                        strings_json(c->dns_config->servers, c->dns_config->n_servers), "searches",
                        strings_json(c->dns_config->searches, c->dns_config->n_searches), "options",
                        strings_json(c->dns_config->options, c->dns_config->n_options));
    json_t *ports = json_array();
    for (size_t i = 0; i < c->n_port_mappings; i++) {
        const Runtime__V1__PortMapping *m = c->port_mappings[i];
        const char *proto = m->protocol == RUNTIME__V1__PROTOCOL__UDP    ? "udp"
                            : m->protocol == RUNTIME__V1__PROTOCOL__SCTP ? "sctp"
                            : m->protocol == RUNTIME__V1__PROTOCOL__TCP  ? "tcp"
                                                                         : "?";
        json_array_append_new(ports, json_pack("{s:s,s:i,s:i,s:s}", "protocol", proto, "container_port",
                                               (int)m->container_port, "host_port", (int)m->host_port,
                                               "host_ip", m->host_ip ? m->host_ip : ""));
    }
    json_t *sysctls = NULL;
    json_t *extra = json_object();
    struct servin_pod_config cfg = {
        .name = c->metadata->name,
        .namespace = c->metadata->namespace_,
        .uid = c->metadata->uid,
        .attempt = c->metadata->attempt,
        .hostname = c->hostname,
        .log_directory = c->log_directory,
        .runtime_handler = req->runtime_handler,
        .labels = labels,
        .annotations = annotations,
        .dns = dns,
        .port_mappings = ports,
        .pid_mode = SERVIN_NS_CONTAINER,
    };
    const Runtime__V1__LinuxPodSandboxConfig *lx = c->linux;
    if (lx) {
        cfg.cgroup_parent = lx->cgroup_parent;
        sysctls = MAP_JSON(lx->sysctls, lx->n_sysctls);
        cfg.sysctls = sysctls;
        const Runtime__V1__LinuxSandboxSecurityContext *sc = lx->security_context;
        if (sc) {
            if (sc->namespace_options) {
                cfg.network_mode = (enum servin_pod_nsmode)sc->namespace_options->network;
                cfg.pid_mode = (enum servin_pod_nsmode)sc->namespace_options->pid;
                cfg.ipc_mode = (enum servin_pod_nsmode)sc->namespace_options->ipc;
            }
            json_object_set_new(extra, "privileged", json_boolean(sc->privileged));
            json_object_set_new(extra, "readonly_rootfs", json_boolean(sc->readonly_rootfs));
            if (sc->run_as_user)
                json_object_set_new(extra, "run_as_user", json_integer(sc->run_as_user->value));
            if (sc->run_as_group)
                json_object_set_new(extra, "run_as_group", json_integer(sc->run_as_group->value));
        }
    }
    const Runtime__V1__NamespaceOption *nso =
        lx && lx->security_context ? lx->security_context->namespace_options : NULL;
    bool own_userns = nso && nso->userns_options &&
                      nso->userns_options->mode == RUNTIME__V1__NAMESPACE_MODE__POD &&
                      (nso->userns_options->n_uids > 0 || nso->userns_options->n_gids > 0);
    if (cfg.pid_mode == SERVIN_NS_TARGET)
        cfg.pid_mode = SERVIN_NS_CONTAINER; /* TARGET names a container: meaningless for a pod */
    int ret = 0;
    if (!labels || !annotations || (lx && !sysctls))
        ret = cri_fail(call, GRPC_INVALID_ARGUMENT,
                       "RunPodSandbox: labels, annotations and sysctls must be UTF-8");
    else if (own_userns)
        ret = cri_fail(
            call, GRPC_INVALID_ARGUMENT,
            "RunPodSandbox: a user namespace of the pod's own (userns_options mode POD) is not supported "
            "by servin; run the pod in the host's user namespace (hostUsers: true)");
    else if (strchr(cfg.name, '\n') || (cfg.namespace && strchr(cfg.namespace, '\n')))
        ret = cri_fail(call, GRPC_INVALID_ARGUMENT, "RunPodSandbox: metadata must not hold newlines");
    cfg.extra = extra;
    struct servin_pod_net_opts o = net_opts();
    struct servin_pod pod;
    struct servin_error err = {0};
    if (ret == 0) {
        if (servin_pod_run(store, &cfg, &o, &pod, &err) < 0)
            ret = fail_pod(call, &err);
        else {
            Runtime__V1__RunPodSandboxResponse *resp =
                cri_new(call, &runtime__v1__run_pod_sandbox_response__descriptor);
            resp->pod_sandbox_id = cri_strdup(call, pod.id);
            *resp_msg = &resp->base;
            log_info("CRI: pod sandbox %.12s (%s/%s) ready, IP %s", pod.id, pod.namespace, pod.name,
                     *pod.ip ? pod.ip : "-");
            servin_pod_clear(&pod);
        }
    }
    json_decref(labels);
    json_decref(annotations);
    json_decref(dns);
    json_decref(ports);
    json_decref(sysctls);
    json_decref(extra);
    return ret;
}

static int stop_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **resp_msg)
{
    const Runtime__V1__StopPodSandboxRequest *req = (const void *)req_msg;
    struct servin_pod pod;
    struct servin_store *store = get_pod(call, req->pod_sandbox_id, &pod);
    if (!store)
        return -1;
    struct servin_error err = {0};
    /* The pod's network and namespaces go even when a container would not stop: what is left of it
     * dies with them, and kubelet retries the stop for the error below. */
    int ret = servin_cri_pod_stop_containers(store, pod.id, POD_STOP_CONTAINER_TIMEOUT_S, false, &err);
    struct servin_error pod_err = {0};
    int pod_ret = servin_pod_stop(store, pod.id, &pod_err);
    servin_pod_clear(&pod);
    if (ret < 0)
        return fail_pod(call, &err);
    return pod_ret < 0 ? fail_pod(call, &pod_err) : 0;
}

static int remove_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **resp_msg)
{
    const Runtime__V1__RemovePodSandboxRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    struct servin_pod pod;
    struct servin_error err = {0};
    /* Removing what is already gone succeeds: kubelet retries removals it is not sure of. */
    if (servin_pod_get(store, req->pod_sandbox_id, &pod, &err) < 0)
        return err.code == ENOENT ? 0 : cri_fail_error(call, &err);
    int ret = servin_cri_pod_stop_containers(store, pod.id, POD_STOP_CONTAINER_TIMEOUT_S, true, &err);
    if (ret == 0)
        ret = servin_pod_remove(store, pod.id, &err);
    else {
        /* A container that could not be removed keeps the pod's record (kubelet retries), but not
         * its network. */
        struct servin_error ignored = {0};
        servin_pod_stop(store, pod.id, &ignored);
    }
    servin_pod_clear(&pod);
    return ret < 0 ? fail_pod(call, &err) : 0;
}

static Runtime__V1__PodSandboxMetadata *metadata(struct cri_call *call, const struct servin_pod *p)
{
    Runtime__V1__PodSandboxMetadata *m = cri_new(call, &runtime__v1__pod_sandbox_metadata__descriptor);
    m->name = cri_strdup(call, p->name);
    m->uid = cri_strdup(call, p->uid);
    m->namespace_ = cri_strdup(call, p->namespace);
    m->attempt = p->attempt;
    return m;
}

static Runtime__V1__PodSandboxState state_of(const struct servin_pod *p)
{
    return p->state == SERVIN_POD_READY ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                                        : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
}

static char *verbose_info(struct cri_call *call, struct servin_store *store, const struct servin_pod *p)
{
    _cleanup_free_ char *hosts = servin_pod_file_path(store, p->id, "hosts");
    _cleanup_free_ char *resolv = servin_pod_file_path(store, p->id, "resolv.conf");
    _cleanup_free_ char *hostname = servin_pod_file_path(store, p->id, "hostname");
    json_t *info = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:s,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:s,s:s}", "id", p->id,
        "hostname", p->hostname, "logDirectory", p->log_directory, "cgroupParent", p->cgroup_parent,
        "cgroupPath", p->cgroup_path, "namespaces", "network", p->netns_path, "ipc", p->ipc_path, "uts",
        p->uts_path, "ip", p->ip, "additionalIPs", p->additional_ips, "dns", p->dns, "portMappings",
        p->port_mappings, "sysctls", p->sysctls, "cniNetwork", p->cni_net, "cniResult", p->cni_result,
        "cgroup", p->cgroup, "config", p->config, "hostsPath", hosts, "resolvConfPath", resolv);
    json_object_set_new(info, "hostnamePath", json_string(hostname));
    json_object_set_new(info, "runtimeHandler", json_string(p->runtime_handler));
    char *text = json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(info);
    char *out = cri_strdup(call, text ? text : "{}");
    free(text);
    return out;
}

static int pod_sandbox_status(struct cri_call *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **resp_msg)
{
    const Runtime__V1__PodSandboxStatusRequest *req = (const void *)req_msg;
    struct servin_pod p;
    struct servin_store *store = get_pod(call, req->pod_sandbox_id, &p);
    if (!store)
        return -1;
    Runtime__V1__PodSandboxStatusResponse *resp =
        cri_new(call, &runtime__v1__pod_sandbox_status_response__descriptor);
    Runtime__V1__PodSandboxStatus *st = cri_new(call, &runtime__v1__pod_sandbox_status__descriptor);
    resp->status = st;
    st->id = cri_strdup(call, p.id);
    st->metadata = metadata(call, &p);
    st->state = state_of(&p);
    st->created_at = p.created;
    st->network = cri_new(call, &runtime__v1__pod_sandbox_network_status__descriptor);
    st->network->ip = cri_strdup(call, p.ip);
    size_t i;
    json_t *v;
    json_array_foreach (p.additional_ips, i, v) {
        Runtime__V1__PodIP *ip = cri_new(call, &runtime__v1__pod_ip__descriptor);
        ip->ip = cri_strdup(call, json_string_value(v));
        cri_append(call, &st->network->base, "additional_ips", ip);
    }
    st->linux = cri_new(call, &runtime__v1__linux_pod_sandbox_status__descriptor);
    st->linux->namespaces = cri_new(call, &runtime__v1__namespace__descriptor);
    Runtime__V1__NamespaceOption *ns = cri_new(call, &runtime__v1__namespace_option__descriptor);
    ns->network = (Runtime__V1__NamespaceMode)p.network_mode;
    ns->pid = (Runtime__V1__NamespaceMode)p.pid_mode;
    ns->ipc = (Runtime__V1__NamespaceMode)p.ipc_mode;
    st->linux->namespaces->options = ns;
    map_add_json(call, &st->base, "labels", p.labels);
    map_add_json(call, &st->base, "annotations", p.annotations);
    st->runtime_handler = cri_strdup(call, p.runtime_handler);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    resp->timestamp = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    if (req->verbose)
        cri_map_add(call, &resp->base, "info", "info", verbose_info(call, store, &p));
    servin_pod_clear(&p);
    *resp_msg = &resp->base;
    return 0;
}

static int list_pod_sandbox(struct cri_call *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ListPodSandboxRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    struct servin_pod_filter f = {.state = -1};
    json_t *selector = NULL;
    if (req->filter) {
        f.id = req->filter->id;
        if (req->filter->state)
            f.state = req->filter->state->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                          ? SERVIN_POD_READY
                          : SERVIN_POD_NOTREADY;
        if (req->filter->n_label_selector > 0)
            selector = MAP_JSON(req->filter->label_selector, req->filter->n_label_selector);
    }
    struct servin_pod *list = NULL;
    size_t n = 0;
    if (list_pods(call, store, &f, selector, &list, &n) < 0)
        return -1;
    Runtime__V1__ListPodSandboxResponse *resp =
        cri_new(call, &runtime__v1__list_pod_sandbox_response__descriptor);
    for (size_t i = 0; i < n; i++) {
        Runtime__V1__PodSandbox *s = cri_new(call, &runtime__v1__pod_sandbox__descriptor);
        s->id = cri_strdup(call, list[i].id);
        s->metadata = metadata(call, &list[i]);
        s->state = state_of(&list[i]);
        s->created_at = list[i].created;
        map_add_json(call, &s->base, "labels", list[i].labels);
        map_add_json(call, &s->base, "annotations", list[i].annotations);
        s->runtime_handler = cri_strdup(call, list[i].runtime_handler);
        cri_append(call, &resp->base, "items", s);
    }
    servin_pods_free(list, n);
    *resp_msg = &resp->base;
    return 0;
}

static Runtime__V1__PodSandboxStats *pod_stats(struct cri_call *call, struct servin_store *store,
                                               const struct servin_pod *p)
{
    struct servin_pod_stats st;
    struct servin_error err = {0};
    servin_pod_stats(store, p, &st, &err);
    Runtime__V1__PodSandboxStats *s = cri_new(call, &runtime__v1__pod_sandbox_stats__descriptor);
    Runtime__V1__PodSandboxAttributes *a = cri_new(call, &runtime__v1__pod_sandbox_attributes__descriptor);
    a->id = cri_strdup(call, p->id);
    a->metadata = metadata(call, p);
    map_add_json(call, &a->base, "labels", p->labels);
    map_add_json(call, &a->base, "annotations", p->annotations);
    s->attributes = a;
    Runtime__V1__LinuxPodSandboxStats *lx = cri_new(call, &runtime__v1__linux_pod_sandbox_stats__descriptor);
    s->linux = lx;
    if (st.has_cgroup) {
        lx->cpu = cri_new(call, &runtime__v1__cpu_usage__descriptor);
        lx->cpu->timestamp = st.timestamp;
        lx->cpu->usage_core_nano_seconds = cri_u64(call, st.cpu_usage_ns);
        lx->memory = cri_new(call, &runtime__v1__memory_usage__descriptor);
        lx->memory->timestamp = st.timestamp;
        lx->memory->working_set_bytes = cri_u64(call, st.memory_working_set);
        lx->memory->usage_bytes = cri_u64(call, st.memory_usage);
        lx->process = cri_new(call, &runtime__v1__process_usage__descriptor);
        lx->process->timestamp = st.timestamp;
        lx->process->process_count = cri_u64(call, st.pids);
    }
    if (st.has_network) {
        lx->network = cri_new(call, &runtime__v1__network_usage__descriptor);
        lx->network->timestamp = st.timestamp;
        Runtime__V1__NetworkInterfaceUsage *i =
            cri_new(call, &runtime__v1__network_interface_usage__descriptor);
        i->name = "eth0";
        i->rx_bytes = cri_u64(call, st.rx_bytes);
        i->rx_errors = cri_u64(call, st.rx_errors);
        i->tx_bytes = cri_u64(call, st.tx_bytes);
        i->tx_errors = cri_u64(call, st.tx_errors);
        lx->network->default_interface = i;
        cri_append(call, &lx->network->base, "interfaces", i);
    }
    /* The running containers' own stats, as kubelet's summary wants them with the pod's. */
    Runtime__V1__ContainerStatsFilter cf = RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
    cf.pod_sandbox_id = (char *)p->id;
    Runtime__V1__ListContainerStatsRequest creq = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
    creq.filter = &cf;
    ProtobufCMessage *cresp = NULL;
    if (cri_list_container_stats(call, &creq.base, &cresp) == 0 && cresp) {
        const Runtime__V1__ListContainerStatsResponse *r = (const void *)cresp;
        for (size_t i = 0; i < r->n_stats; i++)
            cri_append(call, &lx->base, "containers", r->stats[i]);
    } else
        call->code = GRPC_OK; /* a pod without container stats still has its own */
    return s;
}

static int pod_sandbox_stats(struct cri_call *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **resp_msg)
{
    const Runtime__V1__PodSandboxStatsRequest *req = (const void *)req_msg;
    struct servin_pod p;
    struct servin_store *store = get_pod(call, req->pod_sandbox_id, &p);
    if (!store)
        return -1;
    Runtime__V1__PodSandboxStatsResponse *resp =
        cri_new(call, &runtime__v1__pod_sandbox_stats_response__descriptor);
    resp->stats = pod_stats(call, store, &p);
    servin_pod_clear(&p);
    *resp_msg = &resp->base;
    return 0;
}

static int list_pod_sandbox_stats(struct cri_call *call, const ProtobufCMessage *req_msg,
                                  ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ListPodSandboxStatsRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    /* Stats are for running pods, as kubelet's summary API wants them. */
    struct servin_pod_filter f = {.state = SERVIN_POD_READY};
    json_t *selector = NULL;
    if (req->filter) {
        f.id = req->filter->id;
        if (req->filter->n_label_selector > 0)
            selector = MAP_JSON(req->filter->label_selector, req->filter->n_label_selector);
    }
    struct servin_pod *list = NULL;
    size_t n = 0;
    if (list_pods(call, store, &f, selector, &list, &n) < 0)
        return -1;
    Runtime__V1__ListPodSandboxStatsResponse *resp =
        cri_new(call, &runtime__v1__list_pod_sandbox_stats_response__descriptor);
    for (size_t i = 0; i < n && !cri_deadline_passed(call); i++)
        cri_append(call, &resp->base, "stats", pod_stats(call, store, &list[i]));
    servin_pods_free(list, n);
    *resp_msg = &resp->base;
    return 0;
}

const struct cri_method cri_sandbox_methods[] = {
    CRI_METHOD(RuntimeService, RunPodSandbox, run_pod_sandbox, "sandbox/run"),
    CRI_METHOD(RuntimeService, StopPodSandbox, stop_pod_sandbox, "sandbox/stop"),
    CRI_METHOD(RuntimeService, RemovePodSandbox, remove_pod_sandbox, "sandbox/remove"),
    CRI_METHOD(RuntimeService, PodSandboxStatus, pod_sandbox_status, "sandbox/status"),
    CRI_METHOD(RuntimeService, ListPodSandbox, list_pod_sandbox, "sandbox/list"),
    CRI_METHOD(RuntimeService, StreamPodSandboxes, NULL, NULL),
    CRI_METHOD(RuntimeService, PodSandboxStats, pod_sandbox_stats, "sandbox/stats"),
    CRI_METHOD(RuntimeService, ListPodSandboxStats, list_pod_sandbox_stats, "sandbox/stats/list"),
    CRI_METHOD(RuntimeService, StreamPodSandboxStats, NULL, NULL),
    CRI_METHOD(RuntimeService, UpdatePodSandboxResources, NULL, "sandbox/update"),
    {NULL},
};
