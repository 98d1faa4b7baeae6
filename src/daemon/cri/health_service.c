/* daemon/cri/health_service.c — grpc.health.v1.Health/Check: SERVING for the whole server ("")
 * and for the two CRI services, SERVICE_UNKNOWN (NOT_FOUND) for any other name. */
#include <string.h>

#include "cri_internal.h"

static volatile int serving = 1;

void cri_health_set_serving(bool on)
{
    __atomic_store_n(&serving, on ? 1 : 0, __ATOMIC_RELAXED);
}

static bool known_service(const char *name)
{
    return !*name || strcmp(name, "runtime.v1.RuntimeService") == 0 ||
           strcmp(name, "runtime.v1.ImageService") == 0;
}

static int check(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)req_msg;
    if (!known_service(req->service))
        return cri_fail(call, GRPC_NOT_FOUND, "health: unknown service %s", req->service);
    Grpc__Health__V1__HealthCheckResponse *resp =
        cri_new(call, &grpc__health__v1__health_check_response__descriptor);
    resp->status = __atomic_load_n(&serving, __ATOMIC_RELAXED)
                       ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                       : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    *resp_msg = &resp->base;
    return 0;
}

const struct cri_method cri_health_methods[] = {
    {"/grpc.health.v1.Health/Check", "Health", "Check", "check", check},
    {NULL},
};
