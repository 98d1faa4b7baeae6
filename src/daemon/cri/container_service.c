/* daemon/cri/container_service.c — CRI containers: create/start/stop/remove, list and status,
 * resource updates and log reopening. Exec and stats are in container_exec.c, the streaming
 * server (Exec/Attach/PortForward URLs) in container_stream.c. The containers themselves are
 * libservin's (servin/cri_container.h): kept in the store, so they survive a daemon restart. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container_internal.h"
#include "servin/cleanup.h"
#include "servin/monitor.h"
#include "servin/pod.h"

int cri_container_start(struct servin_error *err)
{
    return cri_stream_start(err);
}

void cri_container_stop(void)
{
    cri_stream_stop();
}

int cri_container_find(struct cri_call *call, struct servin_store *store, const char *id,
                       struct servin_container *c)
{
    struct servin_error err = {0};
    if (!id || !*id)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "%s: the container id is empty", call->method->name);
    int r = servin_container_get(store, id, c, &err);
    if (r < 0)
        return err.code == ENOENT ? cri_fail(call, GRPC_NOT_FOUND, "container %s not found", id)
                                  : cri_fail_error(call, &err);
    if (!servin_cri_info(c)) {
        servin_container_clear(c);
        return cri_fail(call, GRPC_NOT_FOUND, "container %s not found (it is not a Kubernetes container)",
                        id);
    }
    servin_container_reconcile(store, c, &err);
    return 0;
}

Runtime__V1__ContainerState cri_container_state(const struct servin_container *c)
{
    switch (c->state) {
    case SERVIN_CONTAINER_CREATED:
        return RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
    case SERVIN_CONTAINER_RUNNING:
    case SERVIN_CONTAINER_PAUSED:
    case SERVIN_CONTAINER_RESTARTING:
        return RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    case SERVIN_CONTAINER_EXITED:
    case SERVIN_CONTAINER_DEAD:
        return RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
    default:
        return RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN;
    }
}

/* The label selector of a filter: its map entries, read through the descriptor so that one
 * function serves ContainerFilter and ContainerStatsFilter. */
bool cri_labels_match(const struct servin_container *c, const ProtobufCMessage *filter, const char *field)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(filter->descriptor, field);
    if (!f)
        return true;
    size_t n = *(const size_t *)((const char *)filter + f->quantifier_offset);
    ProtobufCMessage *const *entries = *(ProtobufCMessage *const *const *)((const char *)filter + f->offset);
    json_t *labels = json_object_get(servin_cri_info(c), "Labels");
    for (size_t i = 0; i < n; i++) {
        /* Every generated map entry is {base, key, value}. */
        const struct {
            ProtobufCMessage base;
            char *key, *value;
        } *e = (const void *)entries[i];
        const char *have = json_string_value(json_object_get(labels, e->key));
        if (!have || strcmp(have, e->value) != 0)
            return false;
    }
    return true;
}

int cri_filter_containers(struct cri_call *call, struct servin_store *store, const char *pod_sandbox_id,
                          struct servin_container **list, size_t *n)
{
    struct servin_error err = {0};
    if (servin_cri_pod_containers(store, pod_sandbox_id && *pod_sandbox_id ? pod_sandbox_id : NULL, list, n,
                                  &err) < 0)
        return cri_fail_error(call, &err);
    return 0;
}

bool cri_filter_match(const struct servin_container *c, const char *id, const ProtobufCMessage *filter)
{
    if (*id && strncmp(c->id, id, strlen(id)) != 0)
        return false;
    return cri_labels_match(c, filter, "label_selector");
}

Runtime__V1__ContainerMetadata *cri_container_metadata(struct cri_call *call,
                                                       const struct servin_container *c)
{
    json_t *md = json_object_get(servin_cri_info(c), "Metadata");
    Runtime__V1__ContainerMetadata *m = cri_new(call, &runtime__v1__container_metadata__descriptor);
    m->name = cri_strdup(call, json_string_value(json_object_get(md, "name")));
    m->attempt = (uint32_t)json_integer_value(json_object_get(md, "attempt"));
    return m;
}

void cri_container_labels(struct cri_call *call, const struct servin_container *c, ProtobufCMessage *msg)
{
    json_t *info = servin_cri_info(c);
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get(info, "Labels"), k, v)
        cri_map_add(call, msg, "labels", k, json_string_value(v));
    json_object_foreach (json_object_get(info, "Annotations"), k, v)
        cri_map_add(call, msg, "annotations", k, json_string_value(v));
}

static Runtime__V1__ImageSpec *image_spec(struct cri_call *call, const struct servin_container *c)
{
    json_t *img = json_object_get(servin_cri_info(c), "Image");
    Runtime__V1__ImageSpec *s = cri_new(call, &runtime__v1__image_spec__descriptor);
    s->image = cri_strdup(call, json_string_value(json_object_get(img, "image")) ?: c->image_ref);
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get(img, "annotations"), k, v)
        cri_map_add(call, &s->base, "annotations", k, json_string_value(v));
    return s;
}

/* ---- create, start, stop, remove ---- */

/* The first running container of the pod: a pod that shares PIDs shares its namespace. */
static char *pid_share_container(struct servin_store *store, const char *pod_id)
{
    struct servin_container *list = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    char *id = NULL;
    if (servin_cri_pod_containers(store, pod_id, &list, &n, &err) < 0)
        return NULL;
    for (size_t i = n; i-- > 0 && !id;) /* newest first: walk from the oldest */
        if (list[i].state == SERVIN_CONTAINER_RUNNING && list[i].pid > 0)
            id = xstrdup(list[i].id);
    servin_containers_free(list, n);
    return id;
}

static int create_container(struct cri_call *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **resp_msg)
{
    const Runtime__V1__CreateContainerRequest *req = (const void *)req_msg;
    if (!req->config)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "CreateContainer: config is required");
    if (!*req->pod_sandbox_id)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "CreateContainer: pod_sandbox_id is required");
    if (!req->config->image || !*req->config->image->image)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "CreateContainer: config.image.image is required");
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    struct servin_error err = {0};
    struct servin_pod pod = {0};
    if (servin_pod_get(store, req->pod_sandbox_id, &pod, &err) < 0)
        return err.code == ENOENT
                   ? cri_fail(call, GRPC_NOT_FOUND, "pod sandbox %s not found", req->pod_sandbox_id)
                   : cri_fail_error(call, &err);
    if (pod.state != SERVIN_POD_READY) {
        int r = cri_fail(call, GRPC_FAILED_PRECONDITION, "pod sandbox %s is not ready", pod.id);
        servin_pod_clear(&pod);
        return r;
    }
    _cleanup_free_ char *hosts = servin_pod_file_path(store, pod.id, "hosts");
    _cleanup_free_ char *resolv = servin_pod_file_path(store, pod.id, "resolv.conf");
    _cleanup_free_ char *hostname = servin_pod_file_path(store, pod.id, "hostname");
    _cleanup_free_ char *pid_share =
        pod.pid_mode == SERVIN_NS_POD ? pid_share_container(store, pod.id) : NULL;
    struct servin_cri_pod_ref ref = {
        .id = pod.id,
        .name = pod.name,
        .namespace = pod.namespace,
        .uid = pod.uid,
        .attempt = pod.attempt,
        .netns_path = pod.netns_path,
        .ipc_path = pod.ipc_path,
        .uts_path = pod.uts_path,
        .pid_mode = (int)pod.pid_mode,
        .pid_share_container = pid_share,
        .hostname = pod.hostname,
        .hosts_path = hosts,
        .resolv_path = resolv,
        .hostname_path = pod.hostname && *pod.hostname ? hostname : NULL,
        .cgroup_parent = pod.cgroup_path,
        .log_directory = pod.log_directory,
    };
    json_t *cri = cri_message_json(&req->config->base);
    struct servin_container c = {0};
    int r = servin_cri_container_create(store, cri, &ref, req->config->image->image, &c, &err);
    json_decref(cri);
    servin_pod_clear(&pod);
    if (r < 0)
        return cri_fail_error(call, &err);
    Runtime__V1__CreateContainerResponse *resp =
        cri_new(call, &runtime__v1__create_container_response__descriptor);
    resp->container_id = cri_strdup(call, c.id);
    servin_container_clear(&c);
    *resp_msg = &resp->base;
    return 0;
}

static int start_container(struct cri_call *call, const ProtobufCMessage *req_msg,
                           ProtobufCMessage **resp_msg)
{
    const Runtime__V1__StartContainerRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    struct servin_container c = {0};
    if (!store || cri_container_find(call, store, req->container_id, &c) < 0)
        return -1;
    int r = 0;
    struct servin_error err = {0};
    if (c.state != SERVIN_CONTAINER_CREATED) {
        r = cri_fail(call, GRPC_FAILED_PRECONDITION, "container %s is %s, not created", c.id,
                     servin_container_state_name(c.state));
    } else {
        struct servin_start_opts so = {0};
        int exit_code = 0;
        if (servin_container_start(store, &c, &so, &exit_code, &err) < 0)
            r = cri_fail(call, GRPC_UNKNOWN, "start container %s: %s", c.id, err.msg);
    }
    servin_container_clear(&c);
    *resp_msg = NULL;
    return r;
}

static int stop_container(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__StopContainerRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    struct servin_container c = {0};
    if (!store || cri_container_find(call, store, req->container_id, &c) < 0)
        return -1;
    struct servin_error err = {0};
    int64_t timeout = req->timeout < 0 ? 0 : req->timeout;
    int r = servin_container_stop(store, &c, (int)(timeout > 86400 ? 86400 : timeout), &err);
    servin_container_clear(&c);
    *resp_msg = NULL;
    return r < 0 ? cri_fail_error(call, &err) : 0;
}

static int remove_container(struct cri_call *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **resp_msg)
{
    const Runtime__V1__RemoveContainerRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    *resp_msg = NULL;
    if (!*req->container_id)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "RemoveContainer: the container id is empty");
    struct servin_container c = {0};
    struct servin_error err = {0};
    /* Idempotent, as the CRI asks: a container that is gone already is removed. */
    if (servin_container_get(store, req->container_id, &c, &err) < 0)
        return err.code == ENOENT ? 0 : cri_fail_error(call, &err);
    if (!servin_cri_info(&c)) {
        servin_container_clear(&c);
        return cri_fail(call, GRPC_NOT_FOUND, "container %s not found (it is not a Kubernetes container)",
                        req->container_id);
    }
    int r = servin_container_remove(store, &c, true, &err);
    servin_container_clear(&c);
    return r < 0 ? cri_fail_error(call, &err) : 0;
}

/* ---- list and status ---- */

static int list_containers(struct cri_call *call, const ProtobufCMessage *req_msg,
                           ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ListContainersRequest *req = (const void *)req_msg;
    const Runtime__V1__ContainerFilter *f = req->filter;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    struct servin_container *list = NULL;
    size_t n = 0;
    if (cri_filter_containers(call, store, f ? f->pod_sandbox_id : NULL, &list, &n) < 0)
        return -1;
    Runtime__V1__ListContainersResponse *resp =
        cri_new(call, &runtime__v1__list_containers_response__descriptor);
    for (size_t i = 0; i < n; i++) {
        const struct servin_container *c = &list[i];
        if (f && !cri_filter_match(c, f->id, &f->base))
            continue;
        if (f && f->state && cri_container_state(c) != f->state->state)
            continue;
        Runtime__V1__Container *out = cri_new(call, &runtime__v1__container__descriptor);
        out->id = cri_strdup(call, c->id);
        out->pod_sandbox_id =
            cri_strdup(call, json_string_value(json_object_get(servin_cri_info(c), "PodSandboxId")));
        out->metadata = cri_container_metadata(call, c);
        out->image = image_spec(call, c);
        out->image_ref = cri_strdup(call, c->image_id);
        out->image_id = cri_strdup(call, c->image_id);
        out->state = cri_container_state(c);
        out->created_at = c->created;
        cri_container_labels(call, c, &out->base);
        cri_append(call, &resp->base, "containers", out);
    }
    servin_containers_free(list, n);
    *resp_msg = &resp->base;
    return 0;
}

static const char *exit_reason(const struct servin_container *c)
{
    if (c->oom_killed)
        return "OOMKilled";
    return c->exit_code == 0 ? "Completed" : "Error";
}

static Runtime__V1__LinuxContainerResources *resources_of(struct cri_call *call,
                                                          const struct servin_container *c)
{
    json_t *hc = json_object_get(c->config, "HostConfig");
    Runtime__V1__LinuxContainerResources *r =
        cri_new(call, &runtime__v1__linux_container_resources__descriptor);
    r->cpu_period = json_integer_value(json_object_get(hc, "CpuPeriod"));
    r->cpu_quota = json_integer_value(json_object_get(hc, "CpuQuota"));
    r->cpu_shares = json_integer_value(json_object_get(hc, "CpuShares"));
    r->memory_limit_in_bytes = json_integer_value(json_object_get(hc, "Memory"));
    r->memory_swap_limit_in_bytes = json_integer_value(json_object_get(hc, "MemorySwap"));
    r->oom_score_adj = json_integer_value(json_object_get(hc, "OomScoreAdj"));
    r->cpuset_cpus = cri_strdup(call, json_string_value(json_object_get(hc, "CpusetCpus")));
    r->cpuset_mems = cri_strdup(call, json_string_value(json_object_get(hc, "CpusetMems")));
    return r;
}

static int container_status(struct cri_call *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ContainerStatusRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    struct servin_container c = {0};
    if (!store || cri_container_find(call, store, req->container_id, &c) < 0)
        return -1;
    json_t *info = servin_cri_info(&c);
    Runtime__V1__ContainerStatus *s = cri_new(call, &runtime__v1__container_status__descriptor);
    s->id = cri_strdup(call, c.id);
    s->metadata = cri_container_metadata(call, &c);
    s->state = cri_container_state(&c);
    s->created_at = c.created;
    s->started_at = c.started_at;
    if (s->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED) {
        s->finished_at = c.finished_at;
        s->exit_code = c.exit_code;
        s->reason = cri_strdup(call, exit_reason(&c));
        if (c.started_at == 0) {
            s->reason = "StartError";
            s->message = cri_printf(call, "the container exited with %d before it ran", c.exit_code);
        }
    }
    const char *stop = json_string_value(json_object_get(json_object_get(c.config, "Config"), "StopSignal"));
    const ProtobufCEnumValue *sig =
        stop ? protobuf_c_enum_descriptor_get_value_by_name(&runtime__v1__signal__descriptor, stop) : NULL;
    if (sig)
        s->stop_signal = (Runtime__V1__Signal)sig->value;
    s->image = image_spec(call, &c);
    s->image_ref = cri_strdup(call, c.image_id);
    s->image_id = cri_strdup(call, c.image_id);
    cri_container_labels(call, &c, &s->base);
    size_t i;
    json_t *m;
    json_array_foreach (json_object_get(info, "Mounts"), i, m) {
        Runtime__V1__Mount *mount = cri_new(call, &runtime__v1__mount__descriptor);
        mount->container_path = cri_strdup(call, json_string_value(json_object_get(m, "container_path")));
        mount->host_path = cri_strdup(call, json_string_value(json_object_get(m, "host_path")));
        mount->readonly = json_is_true(json_object_get(m, "readonly"));
        cri_append(call, &s->base, "mounts", mount);
    }
    /* kubelet reads the logs at this path: the whole one, as containerd reports it. */
    json_t *log_cfg = json_object_get(json_object_get(c.config, "HostConfig"), "LogConfig");
    s->log_path =
        cri_strdup(call, json_string_value(json_object_get(json_object_get(log_cfg, "Config"), "path")));
    s->resources = cri_new(call, &runtime__v1__container_resources__descriptor);
    s->resources->linux = resources_of(call, &c);
    Runtime__V1__ContainerStatusResponse *resp =
        cri_new(call, &runtime__v1__container_status_response__descriptor);
    resp->status = s;
    if (req->verbose) {
        json_t *v = json_pack("{s:i,s:i,s:s,s:O}", "pid", (int)c.pid, "monitorPid", (int)c.monitor_pid,
                              "name", c.name, "config", c.config);
        _cleanup_free_ char *text = json_dumps(v, JSON_COMPACT);
        json_decref(v);
        cri_map_add(call, &resp->base, "info", "info", text);
    }
    servin_container_clear(&c);
    *resp_msg = &resp->base;
    return 0;
}

/* ---- resources and logs ---- */

static int update_resources(struct cri_call *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **resp_msg)
{
    const Runtime__V1__UpdateContainerResourcesRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    struct servin_container c = {0};
    if (!store || cri_container_find(call, store, req->container_id, &c) < 0)
        return -1;
    *resp_msg = NULL;
    int r = 0;
    if (req->linux) {
        json_t *res = cri_message_json(&req->linux->base);
        struct servin_error err = {0};
        if (servin_cri_container_update(store, &c, res, &err) < 0)
            r = cri_fail_error(call, &err);
        json_decref(res);
    }
    servin_container_clear(&c);
    return r;
}

static int reopen_log(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ReopenContainerLogRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    struct servin_container c = {0};
    if (!store || cri_container_find(call, store, req->container_id, &c) < 0)
        return -1;
    *resp_msg = NULL;
    int r = 0;
    if (c.state != SERVIN_CONTAINER_RUNNING) {
        r = cri_fail(call, GRPC_FAILED_PRECONDITION, "container %s is not running", c.id);
    } else {
        _cleanup_free_ char *run_dir = servin_container_run_dir(store, c.id);
        struct servin_error err = {0};
        if (servin_monitor_reopen_log(run_dir, &err) < 0)
            r = cri_fail(call, GRPC_UNKNOWN, "container %s: %s", c.id, err.msg);
    }
    servin_container_clear(&c);
    return r;
}

const struct cri_method cri_container_methods[] = {
    CRI_METHOD(RuntimeService, CreateContainer, create_container, "container/create"),
    CRI_METHOD(RuntimeService, StartContainer, start_container, "container/start"),
    CRI_METHOD(RuntimeService, StopContainer, stop_container, "container/stop"),
    CRI_METHOD(RuntimeService, RemoveContainer, remove_container, "container/remove"),
    CRI_METHOD(RuntimeService, ListContainers, list_containers, "container/list"),
    CRI_METHOD(RuntimeService, StreamContainers, NULL, NULL),
    CRI_METHOD(RuntimeService, ContainerStatus, container_status, "container/status"),
    CRI_METHOD(RuntimeService, UpdateContainerResources, update_resources, "container/update"),
    CRI_METHOD(RuntimeService, ReopenContainerLog, reopen_log, "container/reopenlog"),
    CRI_METHOD(RuntimeService, ExecSync, cri_exec_sync, "container/execsync"),
    CRI_METHOD(RuntimeService, Exec, cri_exec, "container/exec"),
    CRI_METHOD(RuntimeService, Attach, cri_attach, "container/attach"),
    CRI_METHOD(RuntimeService, PortForward, cri_port_forward, "sandbox/portforward"),
    CRI_METHOD(RuntimeService, ContainerStats, cri_container_stats, "container/stats"),
    CRI_METHOD(RuntimeService, ListContainerStats, cri_list_container_stats, "container/stats/list"),
    CRI_METHOD(RuntimeService, StreamContainerStats, NULL, NULL),
    CRI_METHOD(RuntimeService, CheckpointContainer, NULL, "container/checkpoint"),
    {NULL},
};
