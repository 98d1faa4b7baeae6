/* daemon/cri/container_service.c — CRI containers: create/start/stop/remove, list and status,
 * resources, logs, exec/attach/port-forward (URLs of the streaming server) and stats. Not written
 * yet: every RPC answers UNIMPLEMENTED. */
#include "cri_service.h"

int cri_container_start(struct servin_error *err)
{
    return 0;
}

void cri_container_stop(void)
{
}

const struct cri_method cri_container_methods[] = {
    CRI_METHOD(RuntimeService, CreateContainer, NULL, "container/create"),
    CRI_METHOD(RuntimeService, StartContainer, NULL, "container/start"),
    CRI_METHOD(RuntimeService, StopContainer, NULL, "container/stop"),
    CRI_METHOD(RuntimeService, RemoveContainer, NULL, "container/remove"),
    CRI_METHOD(RuntimeService, ListContainers, NULL, "container/list"),
    CRI_METHOD(RuntimeService, StreamContainers, NULL, NULL),
    CRI_METHOD(RuntimeService, ContainerStatus, NULL, "container/status"),
    CRI_METHOD(RuntimeService, UpdateContainerResources, NULL, "container/update"),
    CRI_METHOD(RuntimeService, ReopenContainerLog, NULL, "container/reopenlog"),
    CRI_METHOD(RuntimeService, ExecSync, NULL, "container/execsync"),
    CRI_METHOD(RuntimeService, Exec, NULL, "container/exec"),
    CRI_METHOD(RuntimeService, Attach, NULL, "container/attach"),
    CRI_METHOD(RuntimeService, PortForward, NULL, "sandbox/portforward"),
    CRI_METHOD(RuntimeService, ContainerStats, NULL, "container/stats"),
    CRI_METHOD(RuntimeService, ListContainerStats, NULL, "container/stats/list"),
    CRI_METHOD(RuntimeService, StreamContainerStats, NULL, NULL),
    CRI_METHOD(RuntimeService, CheckpointContainer, NULL, "container/checkpoint"),
    {NULL},
};
