/* pod/pod_internal.h — helpers shared by the pod files. */
#ifndef SERVIN_POD_INTERNAL_H
#define SERVIN_POD_INTERNAL_H

#include "servin/pod.h"

int64_t pod_now_ns(void);
/* A new random 64-hex id. */
void pod_new_id(char id[SERVIN_POD_ID_LEN + 1]);

/* Insert the row (state NOTREADY). EEXIST when the name/namespace/uid/attempt is taken. */
int pod_record_insert(struct servin_store *store, const struct servin_pod *p, struct servin_error *err);
/* Write every mutable column of p back. */
int pod_record_update(struct servin_store *store, const struct servin_pod *p, struct servin_error *err);
int pod_record_delete(struct servin_store *store, const char *id, struct servin_error *err);

/* <run_root>/pods/<id> and <root>/pods/<id> */
char *pod_run_dir(struct servin_store *store, const char *id);
char *pod_dir(struct servin_store *store, const char *id);

/* Pin new net (unless host_network), ipc (unless host_ipc) and uts (unless host_network)
 * namespaces under <run_root>/pods/<id>/ns, setting the hostname and sysctls in them; fills
 * p->netns_path, ipc_path, uts_path. On failure nothing stays pinned. */
int pod_ns_create(struct servin_store *store, struct servin_pod *p, struct servin_error *err);
/* Unpin whatever of them is pinned; clears the paths. */
void pod_ns_release(struct servin_store *store, struct servin_pod *p);
/* Is a namespace pinned (bind-mounted, nsfs) at path? false for NULL or "". */
bool pod_ns_pinned(const char *path);
/* Check sysctl names against the pod's namespace modes (only namespaced ones, and not in a
 * namespace the pod shares with the host). */
int pod_sysctls_check(json_t *sysctls, bool host_network, bool host_ipc, struct servin_error *err);

/* hostname, hosts and resolv.conf under <root>/pods/<id>; hosts gets the pod IP when it has one. */
int pod_files_write(struct servin_store *store, const struct servin_pod *p, struct servin_error *err);
int pod_dns_check(json_t *dns, struct servin_error *err);

/* Create the pod cgroup (p->cgroup_path) in that layout: fills p->cgroup and p->cgroup_created. */
struct servin_cgroup_system;
int pod_cgroup_create_in(const struct servin_cgroup_system *sys, struct servin_pod *p,
                         struct servin_error *err);
/* Kill what is left in it and remove it, if Servin created it. */
int pod_cgroup_remove(struct servin_pod *p, struct servin_error *err);

/* eth0 counters in a netns. */
int pod_netdev_stats(const char *netns, const char *ifname, struct servin_pod_stats *st,
                     struct servin_error *err);

#endif
