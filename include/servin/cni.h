/* cni.h — the CNI backend for pod sandboxes: network configs from a conf dir, plugins run with the
 * CNI protocol (https://github.com/containernetworking/cni/blob/main/SPEC.md).
 *
 * The container networks of `servin run` go through netavark (struct servin_net_backend in
 * network.h); pods go through CNI because that is what kubelet deployments configure: a conf dir
 * (/etc/cni/net.d) holding a .conflist or .conf, and plugin binaries (Debian's
 * containernetworking-plugins put them in /usr/lib/cni). The network config that ADD used and the
 * result it gave are kept in the pod's record, so DEL runs the same chain with the same prevResult
 * even after the conf dir changed or the daemon restarted (what libcni's result cache does).
 */
#ifndef SERVIN_CNI_H
#define SERVIN_CNI_H

#include <jansson.h>
#include <stdbool.h>

#include "servin/error.h"

struct servin_cni_net {
    char *name;
    char *cni_version;
    json_t *plugins; /* [{"type": ..., ...}], never empty */
    char *file;      /* where it was read from ("" when from a record) */
    char *bin_dir;   /* ':'-separated plugin directories */
};
void servin_cni_net_free(struct servin_cni_net *net);

/* The first *.conflist, *.conf or *.json of conf_dir in name order, as kubelet's runtimes pick it.
 * ENOENT "no CNI network config in DIR" when there is none; EINVAL naming the file when it is bad. */
int servin_cni_load(const char *conf_dir, const char *bin_dir, struct servin_cni_net **out,
                    struct servin_error *err);
/* A conflist ({"name", "cniVersion", "plugins": [...]}) or a single plugin .conf (wrapped into a
 * list of one). file names the source in errors. */
int servin_cni_parse(const char *text, const char *file, const char *bin_dir, struct servin_cni_net **out,
                     struct servin_error *err);
/* {"name", "cniVersion", "plugins", "bin_dir"} to keep in a record, and back. */
json_t *servin_cni_net_to_json(const struct servin_cni_net *net);
int servin_cni_net_from_json(const json_t *j, struct servin_cni_net **out, struct servin_error *err);

/* One attachment of a pod to the network. */
struct servin_cni_runtime {
    const char *container_id; /* the pod id */
    const char *netns;        /* pinned netns path; "" for a DEL after the namespace is gone */
    const char *ifname;       /* NULL = "eth0" */
    const char *k8s_namespace, *k8s_name, *k8s_uid; /* for CNI_ARGS; may be NULL */
    json_t *port_mappings; /* borrowed CRI-shaped [{"protocol","container_port","host_port","host_ip"}] */
};

/* The stdin config of plugin i: its own object with name and cniVersion injected, prevResult when
 * given (and the version chains results), and runtimeConfig with the capabilities it declares
 * (portMappings). New reference. */
json_t *servin_cni_plugin_config(const struct servin_cni_net *net, size_t i, json_t *prev_result,
                                 const struct servin_cni_runtime *rt);
/* Run the chain's ADD; *result gets the last plugin's result. On failure the plugins that ran are
 * DELeted again. */
int servin_cni_add(const struct servin_cni_net *net, const struct servin_cni_runtime *rt, json_t **result,
                   struct servin_error *err);
/* DEL in reverse order, prev_result (may be NULL) as ADD gave it. Runs every plugin, reports the
 * first failure. */
int servin_cni_del(const struct servin_cni_net *net, const struct servin_cni_runtime *rt, json_t *prev_result,
                   struct servin_error *err);
/* CHECK (cniVersion 0.4.0 and later; nothing to do for older ones). */
int servin_cni_check(const struct servin_cni_net *net, const struct servin_cni_runtime *rt,
                     json_t *prev_result, struct servin_error *err);

/* The addresses a result gives the pod (without prefix length): *ip the first IPv4 (else the first
 * address), *more the others. 0, or -ENOENT when the result holds none. */
int servin_cni_result_ips(json_t *result, char **ip, json_t **more);

#endif
