/* daemon/cri/runtime_service.c — the runtime-level RPCs: Version, Status (RuntimeReady and
 * NetworkReady), UpdateRuntimeConfig, RuntimeConfig; metrics and events answer UNIMPLEMENTED. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cri_service.h"
#include "servin/cleanup.h"
#include "servin/log.h"

/* The pod CIDR kubelet last gave (UpdateRuntimeConfig), shown by a verbose Status. */
static pthread_mutex_t pod_cidr_lock = PTHREAD_MUTEX_INITIALIZER;
static char *pod_cidr;

int cri_runtime_start(struct servin_error *err)
{
    return 0;
}

static int version(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    Runtime__V1__VersionResponse *resp = cri_new(call, &runtime__v1__version_response__descriptor);
    resp->version = "0.1.0"; /* the kubelet runtime API version, as every CRI runtime answers */
    resp->runtime_name = CRI_RUNTIME_NAME;
    resp->runtime_version = SERVIN_VERSION;
    resp->runtime_api_version = CRI_API_VERSION;
    *resp_msg = &resp->base;
    return 0;
}

static Runtime__V1__RuntimeCondition *condition(struct cri_call *call, const char *type, bool ok,
                                                const char *reason, const char *message)
{
    Runtime__V1__RuntimeCondition *c = cri_new(call, &runtime__v1__runtime_condition__descriptor);
    c->type = (char *)type;
    c->status = ok;
    c->reason = (char *)(reason ? reason : "");
    c->message = (char *)(message ? message : "");
    return c;
}

static int status(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__StatusRequest *req = (const void *)req_msg;
    Runtime__V1__StatusResponse *resp = cri_new(call, &runtime__v1__status_response__descriptor);
    Runtime__V1__RuntimeStatus *st = cri_new(call, &runtime__v1__runtime_status__descriptor);
    resp->status = st;

    /* RuntimeReady: the store opens (and so its database answers). */
    bool runtime_ok = cri_store(call) != NULL;
    const char *runtime_msg = runtime_ok ? "" : cri_strdup(call, call->message);
    call->code = GRPC_OK; /* the failure is the condition's, not the call's */
    cri_append(
        call, &st->base, "conditions",
        condition(call, "RuntimeReady", runtime_ok, runtime_ok ? "" : "StoreUnavailable", runtime_msg));
    const char *reason = "", *message = "";
    bool net_ok = cri_network_ready(call, &reason, &message);
    cri_append(call, &st->base, "conditions", condition(call, "NetworkReady", net_ok, reason, message));

    Runtime__V1__RuntimeHandler *h = cri_new(call, &runtime__v1__runtime_handler__descriptor);
    h->name = "";
    h->features = cri_new(call, &runtime__v1__runtime_handler_features__descriptor);
    cri_append(call, &resp->base, "runtime_handlers", h);
    resp->features = cri_new(call, &runtime__v1__runtime_features__descriptor);

    if (req->verbose) {
        json_t *cfg = json_pack("{s:s, s:s, s:s, s:s}", "root", cri_ctx->root ? cri_ctx->root : "",
                                "cniConfDir", cri_ctx->cni_conf_dir, "cniBinDir", cri_ctx->cni_bin_dir,
                                "socket", cri_ctx->socket_path ? cri_ctx->socket_path : "");
        pthread_mutex_lock(&pod_cidr_lock);
        if (cfg && pod_cidr)
            json_object_set_new(cfg, "podCIDR", json_string(pod_cidr));
        pthread_mutex_unlock(&pod_cidr_lock);
        char *text = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(cfg);
        cri_map_add(call, &resp->base, "info", "config", text ? text : "{}");
        free(text);
    }
    *resp_msg = &resp->base;
    return 0;
}

static int update_runtime_config(struct cri_call *call, const ProtobufCMessage *req_msg,
                                 ProtobufCMessage **resp_msg)
{
    const Runtime__V1__UpdateRuntimeConfigRequest *req = (const void *)req_msg;
    const char *cidr = req->runtime_config && req->runtime_config->network_config
                           ? req->runtime_config->network_config->pod_cidr
                           : "";
    if (cidr && *cidr) {
        pthread_mutex_lock(&pod_cidr_lock);
        free(pod_cidr);
        pod_cidr = xstrdup(cidr);
        pthread_mutex_unlock(&pod_cidr_lock);
        log_info("CRI: pod CIDR is %s", cidr);
    }
    return 0;
}

static int runtime_config(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    Runtime__V1__RuntimeConfigResponse *resp =
        cri_new(call, &runtime__v1__runtime_config_response__descriptor);
    resp->linux = cri_new(call, &runtime__v1__linux_runtime_configuration__descriptor);
    resp->linux->cgroup_driver = RUNTIME__V1__CGROUP_DRIVER__CGROUPFS; /* Servin drives cgroupfs directly */
    *resp_msg = &resp->base;
    return 0;
}

static int metrics_unimplemented(struct cri_call *call, const ProtobufCMessage *req_msg,
                                 ProtobufCMessage **resp_msg)
{
    return cri_fail(
        call, GRPC_UNIMPLEMENTED,
        "%s: servin exports no pod sandbox metrics (kubelet's cAdvisor-less metrics are optional)",
        call->path + 1);
}

static int events_unimplemented(struct cri_call *call, const ProtobufCMessage *req_msg,
                                ProtobufCMessage **resp_msg)
{
    return cri_fail(
        call, GRPC_UNIMPLEMENTED,
        "GetContainerEvents: servin has no container event stream; kubelet falls back to polling");
}

const struct cri_method cri_runtime_methods[] = {
    CRI_METHOD(RuntimeService, Version, version, "version"),
    CRI_METHOD(RuntimeService, Status, status, "status"),
    CRI_METHOD(RuntimeService, UpdateRuntimeConfig, update_runtime_config, "config/update"),
    CRI_METHOD(RuntimeService, RuntimeConfig, runtime_config, "config"),
    CRI_METHOD(RuntimeService, ListMetricDescriptors, metrics_unimplemented, "metrics/descriptors"),
    CRI_METHOD(RuntimeService, ListPodSandboxMetrics, metrics_unimplemented, "metrics/sandbox"),
    CRI_METHOD(RuntimeService, StreamPodSandboxMetrics, metrics_unimplemented, NULL),
    CRI_METHOD(RuntimeService, GetContainerEvents, events_unimplemented, NULL),
    {NULL},
};
