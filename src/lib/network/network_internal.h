/* network/network_internal.h — helpers shared by the network files. */
#ifndef SERVIN_NETWORK_INTERNAL_H
#define SERVIN_NETWORK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "servin/network.h"

/* An IPv4 prefix in host byte order. */
struct net_cidr {
    uint32_t addr; /* network address (host bits cleared) */
    int prefix;
};
int net_cidr_parse(const char *text, struct net_cidr *out, struct servin_error *err);
int net_ip_parse(const char *text, uint32_t *out);
char *net_ip_format(uint32_t ip);
bool net_cidr_contains(const struct net_cidr *c, uint32_t ip);
bool net_cidr_overlap(const struct net_cidr *a, const struct net_cidr *b);
uint32_t net_cidr_mask(int prefix);

/* <run_root>/netns/<id> */
char *net_netns_path(struct servin_store *store, const char *container_id);
/* Create the pinned namespace (lo up) unless it is already one; remove it. */
int net_netns_pin(const char *path, struct servin_error *err);
void net_netns_unpin(const char *path);
/* Pin the network namespace of process pid at path. */
int net_netns_pin_pid(const char *path, pid_t pid, struct servin_error *err);
bool net_netns_pinned(const char *path);
/* Put an interface named ifname into the namespace at path (iproute2), for a teardown whose
 * namespace had to be made anew: the backend deletes the container's interface before it removes
 * the host side, and stops when there is none. */
int net_netns_stand_in(const char *path, const char *ifname);

/* A row of `networks` into n. */
int net_network_by_id(struct servin_store *store, const char *id, struct servin_network *out,
                      struct servin_error *err);

/* Host port checks: bind to see that nobody holds it; port 0 picks a free one. */
int net_port_check(const char *host_ip, int *port, const char *protocol, struct servin_error *err);

/* The container's /etc/hosts and /etc/resolv.conf, from its leases (written in place, so that a
 * running container's bind mount sees the change). */
int net_write_etc(struct servin_store *store, const struct servin_container *c, json_t *dns_servers,
                  struct servin_error *err);

#endif
