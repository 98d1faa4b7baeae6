/* cri/cri_container.c — CRI containers as store records: create from a CRI config, find a pod's,
 * and stop or remove them all with their pod. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "servin/cgroup.h"
#include "servin/cleanup.h"
#include "servin/cri_container.h"
#include "servin/log.h"
#include "servin/runtime.h"

json_t *servin_cri_info(const struct servin_container *c)
{
    json_t *info = json_object_get(c->config, "Cri");
    return json_is_object(info) ? info : NULL;
}

int servin_cri_container_create(struct servin_store *store, json_t *cri, const struct servin_cri_pod_ref *pod,
                                const char *image, struct servin_container *out, struct servin_error *err)
{
    json_t *config = NULL;
    int ret = servin_cri_container_config(cri, pod, &config, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *name = servin_cri_container_name(cri, pod);
    ret = servin_container_create(store, image, name, config, out, err);
    json_decref(config);
    return ret;
}

int servin_cri_container_update(struct servin_store *store, struct servin_container *c, json_t *resources,
                                struct servin_error *err)
{
    json_t *config = json_deep_copy(c->config);
    json_t *hc = json_object_get(config, "HostConfig");
    if (!json_is_object(hc)) {
        hc = json_object();
        json_object_set_new(config, "HostConfig", hc);
    }
    int ret = servin_cri_apply_resources(resources, hc, err);
    if (ret < 0) {
        json_decref(config);
        return ret;
    }
    ret = servin_container_replace_config(store, c, config, err);
    if (ret < 0)
        return ret;
    servin_container_reconcile(store, c, err);
    servin_error_clear(err);
    if (!servin_container_is_active(c))
        return 0;
    /* Live: the new spec's resources onto the running container's cgroup. */
    if (servin_container_apply_spec_resources(store, c, false, err) < 0)
        return servin_error_wrap(err, "update the resources of container %.12s", c->id);
    return 0;
}

int servin_cri_pod_containers(struct servin_store *store, const char *pod_id, struct servin_container **out,
                              size_t *n, struct servin_error *err)
{
    struct servin_container *all = NULL;
    size_t total = 0, kept = 0;
    *out = NULL;
    *n = 0;
    int ret = servin_container_list(store, &all, &total, err);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < total; i++) {
        json_t *info = servin_cri_info(&all[i]);
        const char *pod = json_string_value(json_object_get(info, "PodSandboxId"));
        if (info && pod && (!pod_id || strcmp(pod, pod_id) == 0)) {
            if (kept != i)
                all[kept] = all[i];
            kept++;
        } else {
            servin_container_clear(&all[i]);
        }
    }
    *out = all;
    *n = kept;
    return 0;
}

int servin_cri_pod_stop_containers(struct servin_store *store, const char *pod_id, int timeout_s, bool remove,
                                   struct servin_error *err)
{
    struct servin_container *list = NULL;
    size_t n = 0;
    int ret = servin_cri_pod_containers(store, pod_id, &list, &n, err);
    if (ret < 0)
        return ret;
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        struct servin_error e = {0};
        int r = servin_container_stop(store, &list[i], timeout_s, &e);
        if (r == 0 && remove)
            r = servin_container_remove(store, &list[i], true, &e);
        if (r < 0) {
            log_warn("pod %.12s: %s", pod_id, e.msg);
            if (first == 0) {
                first = r;
                *err = e;
            }
        }
    }
    servin_containers_free(list, n);
    return first;
}
