/* pod.h — pod sandboxes (Kubernetes CRI): the record in the store, the shared namespaces, the
 * pod's /etc files, its cgroup and its network (CNI).
 *
 * Store (schema migration 6): one `pods` row per sandbox (metadata, labels, annotations, state,
 * the request's settings, and what running it produced: namespace paths, IPs, CNI result, cgroup).
 *
 * The sandbox holds no process. Its network, IPC and UTS namespaces are made by a short child that
 * unshares them, sets the hostname and the sysctls, brings lo up, and bind-mounts each
 * /proc/self/ns/<type> onto <run_root>/pods/<id>/ns/<type> ("pinned" namespace files, as the
 * container network code pins <run_root>/netns/<id>). Containers join them by path. Why not an
 * infra ("pause") process: no image to pull, no process to supervise, reap or re-adopt after a
 * daemon restart, nothing to kill on stop, and a pod costs no memory; the kernel keeps a namespace
 * alive as long as it is mounted. The one thing a pinned file cannot hold is a PID namespace (it
 * dies with its init), so a pod that shares PIDs (namespace mode POD) shares the one of its first
 * container: that is the container side's job.
 *
 * Files: <root>/pods/<id>/{hostname,hosts,resolv.conf} (containers bind-mount them), and the pod's
 * cgroup, created under the cgroup parent kubelet gives (cgroupfs "/kubepods/..." or a systemd
 * slice name, converted to its path) and removed with the pod if Servin created it.
 */
#ifndef SERVIN_POD_H
#define SERVIN_POD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "servin/error.h"
#include "servin/store.h"

#define SERVIN_POD_ID_LEN 64
/* Label that containers created inside a pod carry, with the pod id as value. */
#define SERVIN_POD_LABEL "io.servin.pod.id"

enum servin_pod_state { SERVIN_POD_READY = 0, SERVIN_POD_NOTREADY = 1 };

/* CRI NamespaceMode: POD (shared by the pod), CONTAINER (own), NODE (the host's), TARGET. */
enum servin_pod_nsmode {
    SERVIN_NS_POD = 0,
    SERVIN_NS_CONTAINER = 1,
    SERVIN_NS_NODE = 2,
    SERVIN_NS_TARGET = 3
};

struct servin_pod {
    char id[SERVIN_POD_ID_LEN + 1];
    char *name;
    char *namespace;
    char *uid;
    uint32_t attempt;
    enum servin_pod_state state;
    int64_t created;       /* unix ns */
    json_t *labels;        /* {} */
    json_t *annotations;   /* {} */
    char *hostname;        /* "" when the pod uses the host's network (and so its UTS namespace) */
    char *log_directory;   /* "" when not given */
    char *runtime_handler; /* "" when not given */
    char *cgroup_parent;   /* as kubelet gave it ("" when none) */
    char *cgroup_path;     /* the pod cgroup's path ("/kubepods/burstable/podUID"); containers go below */
    json_t *cgroup;        /* servin_cgroup_to_json of the pod cgroup, or null */
    json_t *dns;           /* {"servers": [], "searches": [], "options": []} */
    json_t *port_mappings; /* [{"protocol": "tcp"|"udp"|"sctp", "container_port", "host_port", "host_ip"}] */
    json_t *sysctls;       /* {"net.core.somaxconn": "1024"} */
    enum servin_pod_nsmode network_mode, pid_mode, ipc_mode; /* POD or NODE (pid: also CONTAINER) */
    /* Pinned namespace files; "" when the pod uses the host's (NODE mode) or after stop. */
    char *netns_path;
    char *ipc_path;
    char *uts_path;
    char *ip;               /* "" when none (host network, stopped, no CNI) */
    json_t *additional_ips; /* ["fd00::5", ...] */
    json_t *config;         /* everything the request said, for verbose status */
    bool cgroup_created;    /* Servin made the pod cgroup, so removes it */
    json_t *cni_net;        /* the CNI network config ADD ran (servin_cni_net_to_json), or null */
    json_t *cni_result;     /* its result, or null */
};
void servin_pod_clear(struct servin_pod *p);
void servin_pods_free(struct servin_pod *list, size_t n);
const char *servin_pod_state_name(enum servin_pod_state s); /* "SANDBOX_READY" / "SANDBOX_NOTREADY" */

/* Where the pod's CNI network comes from. NULL fields take the defaults below. */
#define SERVIN_CNI_CONF_DIR "/etc/cni/net.d"
#define SERVIN_CNI_BIN_DIR "/usr/lib/cni"
struct servin_pod_net_opts {
    const char *cni_conf_dir;
    const char *cni_bin_dir; /* may hold several directories separated by ':' */
};

struct servin_pod_config {
    const char *name; /* required */
    const char *namespace;
    const char *uid;
    uint32_t attempt;
    const char *hostname; /* NULL or "": the pod's name */
    const char *log_directory;
    const char *runtime_handler;
    json_t *labels;        /* borrowed; NULL = {} */
    json_t *annotations;   /* borrowed; NULL = {} */
    json_t *dns;           /* borrowed {"servers","searches","options"}; NULL = the host's resolv.conf */
    json_t *port_mappings; /* borrowed, as in struct servin_pod */
    json_t *sysctls;       /* borrowed {"name": "value"} */
    const char *cgroup_parent;
    enum servin_pod_nsmode network_mode, pid_mode, ipc_mode;
    json_t *extra; /* borrowed; kept in config.extra (e.g. security context), may be NULL */
};

/* Make the sandbox: record, namespaces, files, cgroup, then the CNI network (unless the host's).
 * On failure everything done is undone and no record is left. EINVAL for a bad config, EEXIST when
 * a pod with the same name, namespace, uid and attempt exists. */
int servin_pod_run(struct servin_store *store, const struct servin_pod_config *cfg,
                   const struct servin_pod_net_opts *net, struct servin_pod *out, struct servin_error *err);
/* Tear down the network (CNI DEL, also when the namespace is already gone) and unpin the
 * namespaces; the pod becomes NOTREADY. Idempotent. Its containers are the caller's job (see the
 * pod id label). */
int servin_pod_stop(struct servin_store *store, const char *id, struct servin_error *err);
/* stop, then remove the files, the cgroup (if Servin made it) and the record. ENOENT when unknown. */
int servin_pod_remove(struct servin_store *store, const char *id, struct servin_error *err);
/* After a daemon start: a READY pod whose pinned namespaces are gone (a reboot emptied the run
 * directory) is NOTREADY, and its network is torn down (DEL without a namespace releases the
 * address and the port rules). *changed counts them. */
int servin_pod_reconcile(struct servin_store *store, int *changed, struct servin_error *err);
/* By full id or unique id prefix. ENOENT "pod sandbox X not found". */
int servin_pod_get(struct servin_store *store, const char *id, struct servin_pod *out,
                   struct servin_error *err);

struct servin_pod_filter {
    const char *id; /* NULL or an id prefix */
    int state;      /* -1 = any, else enum servin_pod_state */
    json_t *labels; /* borrowed {"k": "v"}: all must match; NULL = any */
};
/* Newest first. */
int servin_pod_list(struct servin_store *store, const struct servin_pod_filter *f, struct servin_pod **out,
                    size_t *n, struct servin_error *err);

/* For containers in the pod: <root>/pods/<id>/{hosts,resolv.conf,hostname} as new strings. */
char *servin_pod_file_path(struct servin_store *store, const char *id, const char *file);
/* The pod's network namespace path for port forwarding and containers ("" when host network or
 * stopped, then NULL is returned with ENOENT/EINVAL in err). */
char *servin_pod_netns_path(struct servin_store *store, const char *id, struct servin_error *err);

struct servin_pod_stats {
    int64_t timestamp;     /* unix ns */
    uint64_t cpu_usage_ns; /* of the pod cgroup (0 without one) */
    uint64_t memory_usage;
    uint64_t memory_working_set; /* usage minus inactive file cache */
    uint64_t pids;
    uint64_t rx_bytes, rx_errors, tx_bytes, tx_errors; /* eth0 in the pod's netns */
    bool has_cgroup, has_network;
};
int servin_pod_stats(struct servin_store *store, const struct servin_pod *p, struct servin_pod_stats *st,
                     struct servin_error *err);

/* "kubepods-burstable-pod12.slice" ->
 * "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice"; a path ("/kubepods/pod12") as it
 * is. NULL when the text is neither. */
char *servin_pod_cgroup_parent_path(const char *parent);

/* True when the conf dir holds a usable CNI network (for the CRI NetworkReady condition); *why
 * (may be NULL) gets the reason when not. */
bool servin_pod_network_ready(const struct servin_pod_net_opts *net, char **why);

#endif
