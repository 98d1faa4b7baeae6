/* network.h — networks, container attachments, IPAM leases, and the backend that wires them.
 *
 * Store (schema migration 5):
 *   networks             one row per network: name, bridge interface, IPv4 subnet/gateway/ip-range,
 *                        internal, labels; the default network "servin0" is created on first use
 *   network_attachments  which container is on which network (from create/run and connect), with
 *                        its aliases and a requested --ip; kept until the container is removed
 *   network_leases       the address a running container holds on a network and its published
 *                        ports; taken at start, released at stop (Docker's addresses are per run)
 * Leases are taken inside one BEGIN IMMEDIATE transaction, so parallel starts never share an address.
 *
 * Run state: <run_root>/netns/<container id> is the container's network namespace, pinned (a bind
 * mount of an nsfs file) by servin_network_container_start before the runtime creates the
 * container; the spec names that path, so the runtime joins an already wired namespace and the
 * container's first instruction already sees its interfaces. <run_root>/netavark holds the backend's
 * state (aardvark-dns configs).
 *
 * The backend (netavark + aardvark-dns, see backend_netavark.c) sits behind struct
 * servin_net_backend so that a CNI backend for the CRI server can take its place.
 */
#ifndef SERVIN_NETWORK_H
#define SERVIN_NETWORK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "servin/container.h"
#include "servin/error.h"
#include "servin/store.h"

#define SERVIN_NETWORK_DEFAULT "servin0"
#define SERVIN_NETWORK_ID_LEN 64

struct servin_network {
    char id[SERVIN_NETWORK_ID_LEN + 1];
    char *name;
    char *driver;    /* "bridge" */
    char *bridge;    /* host interface name */
    char *subnet;    /* "10.89.0.0/24" */
    char *gateway;   /* "10.89.0.1" */
    char *ip_range;  /* NULL or a CIDR inside subnet that leases come from */
    bool internal;   /* no route out, no masquerade */
    bool dns;        /* names resolve through aardvark-dns (user networks; not the default one) */
    json_t *labels;  /* {} */
    int64_t created; /* unix ns */
};
void servin_network_clear(struct servin_network *n);
void servin_networks_free(struct servin_network *list, size_t n);

/* The default network's subnet and gateway (NULL: the subnet's first address), from the config's
 * networking.bridge_ip ("172.17.0.1/16": the bridge's address and the subnet's prefix, as the seed
 * defines it). Read once, when the default network is first created in a store. */
#define SERVIN_NETWORK_DEFAULT_BRIDGE_IP "172.17.0.1/16"
int servin_network_default_addresses(char **subnet, char **gateway, struct servin_error *err);

struct servin_network_create_opts {
    const char *name;
    const char *driver;   /* NULL = bridge; anything else is refused */
    const char *subnet;   /* NULL = a free 10.89.N.0/24 */
    const char *gateway;  /* NULL = first address of the subnet */
    const char *ip_range; /* NULL = the whole subnet */
    bool internal;
    json_t *labels; /* borrowed; NULL = {} */
};
/* EEXIST "network with name X already exists"; EINVAL for a bad or overlapping subnet. */
int servin_network_create(struct servin_store *store, const struct servin_network_create_opts *o,
                          struct servin_network *out, struct servin_error *err);
/* By name, full id or unique id prefix; "bridge" means the default network, which is created on
 * first use. ENOENT "network X not found". */
int servin_network_get(struct servin_store *store, const char *text, struct servin_network *out,
                       struct servin_error *err);
int servin_network_list(struct servin_store *store, struct servin_network **out, size_t *n,
                        struct servin_error *err);
/* Refused (EBUSY) while a container is attached; the default network cannot be removed. */
int servin_network_remove(struct servin_store *store, const char *text, struct servin_error *err);
/* Number of containers attached. */
int servin_network_users(struct servin_store *store, const char *network_id, struct servin_error *err);
/* Docker-shaped inspect object (Name, Id, Created, Scope, Driver, EnableIPv6, IPAM, Internal,
 * Attachable, Containers {id: {Name, IPv4Address, MacAddress}}, Options, Labels). */
json_t *servin_network_inspect_json(struct servin_store *store, const struct servin_network *n);

/* ---- containers ---- */

/* What NetworkMode says. NS is Podman's "ns:<path>": a namespace someone else (a pod) wired; the
 * container only joins it (target: the path). */
enum servin_netmode {
    SERVIN_NETMODE_BRIDGE,
    SERVIN_NETMODE_NONE,
    SERVIN_NETMODE_HOST,
    SERVIN_NETMODE_CONTAINER,
    SERVIN_NETMODE_NS
};
enum servin_netmode servin_network_mode(json_t *host_config, const char **target);

/* After the record exists: validate NetworkMode/NetworkingConfig/ports/--ip and record the
 * container's attachments. On failure nothing is recorded. */
int servin_network_container_created(struct servin_store *store, const struct servin_container *c,
                                     struct servin_error *err);
/* Before the runtime creates the container: pin its network namespace, take leases, check and
 * pick host ports, run the backend, write hosts and resolv.conf. On failure everything it did is
 * undone. Host and container:X modes only write the files. */
int servin_network_container_start(struct servin_store *store, const struct servin_container *c,
                                   struct servin_error *err);
/* Undo start: backend teardown, leases released, namespace unpinned. Idempotent, best effort
 * (reports the first failure but goes on). */
int servin_network_container_stop(struct servin_store *store, const char *container_id,
                                  struct servin_error *err);
/* stop, and forget the attachments (container removed). */
int servin_network_container_removed(struct servin_store *store, const char *container_id,
                                     struct servin_error *err);
/* Attach a container to one more network (live when it runs), or detach it. */
int servin_network_connect(struct servin_store *store, const struct servin_container *c, const char *network,
                           json_t *aliases, const char *ip, struct servin_error *err);
int servin_network_disconnect(struct servin_store *store, const struct servin_container *c,
                              const char *network, struct servin_error *err);
/* Docker's NetworkSettings for inspect: {Networks {name: {NetworkID, EndpointID, Gateway,
 * IPAddress, IPPrefixLen, MacAddress, Aliases}}, Ports {"80/tcp": [{HostIp, HostPort}]},
 * IPAddress, Gateway, ...} (addresses only while running). */
json_t *servin_network_settings_json(struct servin_store *store, const struct servin_container *c);
/* The published ports of a running container: [{"PrivatePort","PublicPort","Type","IP"}]. */
json_t *servin_network_ports_json(struct servin_store *store, const char *container_id);

/* Tear down what containers that no longer run left (a crashed monitor, a reboot): leases,
 * backend state, pinned namespaces. *cleaned counts containers cleaned. For `system prune` and
 * `system restore`. */
int servin_network_cleanup_orphans(struct servin_store *store, int *cleaned, struct servin_error *err);

/* ---- backend ---- */

/* One container on one network, as the backend needs it. */
struct servin_net_attachment {
    const char *container_id;
    const char *container_name;
    const struct servin_network *network;
    const char *ip;             /* leased address */
    json_t *aliases;            /* names that resolve to ip on this network (borrowed) */
    json_t *ports;              /* [{"host_ip","host_port","container_port","protocol"}] (borrowed) */
    const char *interface_name; /* "eth0", "eth1"... */
};
struct servin_net_backend {
    const char *name;
    /* Wire the namespace at netns_path; *status (may be NULL) gets {"mac": "...", "dns": [ips]}. */
    int (*setup)(struct servin_store *store, const char *netns_path, const struct servin_net_attachment *a,
                 json_t **status, struct servin_error *err);
    int (*teardown)(struct servin_store *store, const char *netns_path, const struct servin_net_attachment *a,
                    struct servin_error *err);
};
const struct servin_net_backend *servin_net_backend_default(void);

#endif
