/* cri_container.h — Kubernetes CRI containers: ordinary Servin containers created from a CRI
 * ContainerConfig inside a pod sandbox.
 *
 * The CRI config (runtime.v1.ContainerConfig) comes as JSON with the .proto's field names
 * ("working_dir"; the proto3 JSON names such as "workingDir" are accepted too), enums as numbers or
 * names, 64-bit numbers as numbers or strings, wrappers (Int64Value) as {"value": N} or N. It is
 * translated into the Docker-shaped config the container library builds its OCI spec from
 * (see container.h), plus a "Cri" object kept with the record:
 *   {"PodSandboxId", "Metadata": {"name", "attempt"}, "Labels", "Annotations", "Image" (the image
 *    as kubelet named it), "LogPath" (kubelet's, relative to the pod's log directory), "Mounts"
 *    (the CRI mounts, for ContainerStatus)}
 * The container's Docker labels carry SERVIN_CRI_POD_LABEL (the pod id) and SERVIN_CRI_NAME_LABEL
 * (the CRI name), so `servin ps --filter label=...` finds them and a pod finds its containers.
 * Logs go to <log_directory>/<log_path> in the CRI format (LogConfig {"Type": "cri"}).
 */
#ifndef SERVIN_CRI_CONTAINER_H
#define SERVIN_CRI_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "servin/container.h"
#include "servin/error.h"
#include "servin/store.h"

/* Same value as pod.h's SERVIN_POD_LABEL. */
#define SERVIN_CRI_POD_LABEL "io.servin.pod.id"
#define SERVIN_CRI_NAME_LABEL "io.servin.cri.container-name"

/* What a container needs of its pod (filled by the daemon from the pod record). NULL or "" paths:
 * the pod uses the host's namespace (NODE). */
struct servin_cri_pod_ref {
    const char *id;
    const char *name, *namespace, *uid; /* metadata, for the container's name */
    uint32_t attempt;
    const char *netns_path, *ipc_path, *uts_path;
    int pid_mode;                    /* CRI NamespaceMode of the pod: 0 POD, 1 CONTAINER, 2 NODE */
    const char *pid_share_container; /* POD pid mode: a running container whose PIDs to share, or NULL */
    const char *hostname;
    const char *hosts_path, *resolv_path, *hostname_path; /* bind-mounted unless the config mounts its own */
    const char *cgroup_parent; /* cgroupfs path the containers' cgroups go below, or NULL */
    const char *log_directory;
};

/* CRI ContainerConfig -> {"Config", "HostConfig", "Cri"} (new reference in *out). EINVAL with a
 * message naming the field for a bad config (no image, run_as_group without a user, a relative
 * mount path, an unknown namespace mode, a Localhost seccomp profile that cannot be read...). */
int servin_cri_container_config(json_t *cri, const struct servin_cri_pod_ref *pod, json_t **out,
                                struct servin_error *err);
/* The container's name: k8s_<name>_<pod name>_<pod namespace>_<pod uid>_<attempt>, with what a
 * Servin name cannot hold replaced by '-'. */
char *servin_cri_container_name(json_t *cri, const struct servin_cri_pod_ref *pod);

/* Translate and create (not start) the container from image (an image id or reference already in
 * the store). EEXIST when the name is taken (the same container created twice). */
int servin_cri_container_create(struct servin_store *store, json_t *cri, const struct servin_cri_pod_ref *pod,
                                const char *image, struct servin_container *out, struct servin_error *err);

/* The record's "Cri" object (borrowed), or NULL when the container is not a CRI container. */
json_t *servin_cri_info(const struct servin_container *c);
/* Every CRI container of the pod (pod_id NULL: of all pods), newest first. */
int servin_cri_pod_containers(struct servin_store *store, const char *pod_id, struct servin_container **out,
                              size_t *n, struct servin_error *err);
/* Stop (timeout_s grace) and remove every container of the pod: what StopPodSandbox (remove false)
 * and RemovePodSandbox (remove true) do to them. Goes on past a failing container and returns the
 * first error. */
int servin_cri_pod_stop_containers(struct servin_store *store, const char *pod_id, int timeout_s, bool remove,
                                   struct servin_error *err);

/* UpdateContainerResources: the CRI resources onto the record and the spec, and onto the live
 * cgroup when the container runs. */
int servin_cri_container_update(struct servin_store *store, struct servin_container *c, json_t *resources,
                                struct servin_error *err);

/* CRI resources (LinuxContainerResources JSON) onto a Docker HostConfig (also used by
 * UpdateContainerResources). hugepage_limits are ignored with one warning per process. */
int servin_cri_apply_resources(json_t *resources, json_t *host_config, struct servin_error *err);

#endif
