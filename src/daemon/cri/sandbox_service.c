/* daemon/cri/sandbox_service.c — CRI pod sandboxes: RunPodSandbox ... ListPodSandboxStats, and
 * the NetworkReady check of Status. Not written yet: every RPC answers UNIMPLEMENTED. */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "cri_service.h"

int cri_sandbox_start(struct servin_error *err)
{
    return 0;
}

void cri_sandbox_stop(void)
{
}

static bool is_cni_config(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".conf") == 0) ||
                              (n > 9 && strcmp(name + n - 9, ".conflist") == 0) ||
                              (n > 5 && strcmp(name + n - 5, ".json") == 0));
}

bool cri_network_ready(struct cri_call *call, const char **reason, const char **message)
{
    const char *dir = cri_ctx->cni_conf_dir;
    DIR *d = opendir(dir);
    if (!d) {
        *reason = "NetworkPluginNotReady";
        *message = cri_printf(call, "no CNI network configuration: cannot read %s: %s", dir, strerror(errno));
        return false;
    }
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)))
        found = is_cni_config(e->d_name);
    closedir(d);
    if (!found) {
        *reason = "NetworkPluginNotReady";
        *message = cri_printf(call, "no CNI network configuration (*.conf, *.conflist) in %s", dir);
    }
    return found;
}

const struct cri_method cri_sandbox_methods[] = {
    CRI_METHOD(RuntimeService, RunPodSandbox, NULL, "sandbox/run"),
    CRI_METHOD(RuntimeService, StopPodSandbox, NULL, "sandbox/stop"),
    CRI_METHOD(RuntimeService, RemovePodSandbox, NULL, "sandbox/remove"),
    CRI_METHOD(RuntimeService, PodSandboxStatus, NULL, "sandbox/status"),
    CRI_METHOD(RuntimeService, ListPodSandbox, NULL, "sandbox/list"),
    CRI_METHOD(RuntimeService, StreamPodSandboxes, NULL, NULL),
    CRI_METHOD(RuntimeService, PodSandboxStats, NULL, "sandbox/stats"),
    CRI_METHOD(RuntimeService, ListPodSandboxStats, NULL, "sandbox/stats/list"),
    CRI_METHOD(RuntimeService, StreamPodSandboxStats, NULL, NULL),
    CRI_METHOD(RuntimeService, UpdatePodSandboxResources, NULL, "sandbox/update"),
    {NULL},
};
