/* network/attach.c — a container's networks: attachments at create, leases and backend setup at
 * start, teardown at stop, connect/disconnect. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "network/network_internal.h"
#include "servin/cleanup.h"
#include "servin/events.h"
#include "servin/fs.h"
#include "servin/log.h"

enum servin_netmode servin_network_mode(json_t *hc, const char **target)
{
    const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
    *target = NULL;
    if (mode && strcmp(mode, "host") == 0)
        return SERVIN_NETMODE_HOST;
    if (mode && strcmp(mode, "none") == 0)
        return SERVIN_NETMODE_NONE;
    if (mode && strncmp(mode, "container:", 10) == 0) {
        *target = mode + 10;
        return SERVIN_NETMODE_CONTAINER;
    }
    if (mode && strncmp(mode, "ns:", 3) == 0) {
        *target = mode + 3;
        return SERVIN_NETMODE_NS;
    }
    *target = !mode || !*mode || strcmp(mode, "default") == 0 || strcmp(mode, "bridge") == 0
                  ? SERVIN_NETWORK_DEFAULT
                  : mode;
    return SERVIN_NETMODE_BRIDGE;
}

static bool is_default(const struct servin_network *n)
{
    return strcmp(n->name, SERVIN_NETWORK_DEFAULT) == 0;
}

/* Inside a transaction. */
static int insert_attachment(struct servin_store *store, const char *cid, const struct servin_network *n,
                             json_t *aliases, const char *ip, struct servin_error *err)
{
    if (!is_default(n) ? false : (json_array_size(aliases) > 0 || ip))
        return servin_error_set(err, EINVAL,
                                "%s is supported only for containers on user-defined networks, not on %s",
                                ip ? "a user-specified IP address" : "a network-scoped alias", n->name);
    if (ip) {
        uint32_t a;
        struct net_cidr c;
        if (net_ip_parse(ip, &a) < 0)
            return servin_error_set(err, EINVAL, "invalid IP address \"%s\"", ip);
        if (net_cidr_parse(n->subnet, &c, err) < 0 || !net_cidr_contains(&c, a))
            return servin_error_set(err, EINVAL,
                                    "invalid IP address %s: it is not in the subnet %s of network %s", ip,
                                    n->subnet, n->name);
    }
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret =
        servin_store_prepare(store,
                             "INSERT INTO network_attachments (container_id, network_id, position, aliases, "
                             "requested_ip) VALUES (?1, ?2, (SELECT COALESCE(MAX(position) + 1, 0) FROM "
                             "network_attachments WHERE container_id = ?1), ?3, ?4)",
                             &st, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *alias_text =
        json_is_array(aliases) ? json_dumps(aliases, JSON_COMPACT) : xstrdup("[]");
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, alias_text, -1, SQLITE_STATIC);
    if (ip)
        sqlite3_bind_text(st, 4, ip, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT)
        return servin_error_set(err, EEXIST, "the container is already connected to network %s", n->name);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "record the container's network");
    return 0;
}

int servin_network_container_created(struct servin_store *store, const struct servin_container *c,
                                     struct servin_error *err)
{
    json_t *hc = json_object_get(c->config, "HostConfig");
    const char *target;
    if (servin_network_mode(hc, &target) != SERVIN_NETMODE_BRIDGE)
        return 0;
    json_t *endpoints = json_object_get(json_object_get(c->config, "NetworkingConfig"), "EndpointsConfig");
    struct servin_network n = {0};
    int ret = servin_network_get(store, target, &n, err);
    if (ret < 0)
        return ret;
    json_t *ep = json_object_get(endpoints, target);
    if (!ep && strcmp(target, SERVIN_NETWORK_DEFAULT) == 0)
        ep = json_object_get(endpoints, "bridge");
    json_t *aliases = json_object_get(ep, "Aliases");
    const char *ip = json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address"));
    if (ip && !*ip)
        ip = NULL;
    ret = servin_store_begin(store, err);
    if (ret == 0) {
        ret = insert_attachment(store, c->id, &n, aliases, ip, err);
        if (ret < 0)
            servin_store_rollback(store);
        else
            ret = servin_store_commit(store, err);
    }
    servin_network_clear(&n);
    return ret;
}

/* ---- leases ---- */

struct attach_row {
    struct servin_network net;
    json_t *aliases;
    char *requested_ip;
    int position;
    char *ip; /* leased */
    json_t *ports;
};

static void attach_rows_free(struct attach_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        servin_network_clear(&rows[i].net);
        json_decref(rows[i].aliases);
        json_decref(rows[i].ports);
        free(rows[i].requested_ip);
        free(rows[i].ip);
    }
    free(rows);
}

/* The container's attachments, by position, with their leases when leased=true (then only the
 * leased ones). */
static int load_rows(struct servin_store *store, const char *cid, bool leased, struct attach_row **out,
                     size_t *n, struct servin_error *err)
{
    const char *sql =
        leased ? "SELECT l.network_id, COALESCE(a.aliases, '[]'), NULL, COALESCE(a.position, 0), l.ip, "
                 "l.ports FROM network_leases l LEFT JOIN network_attachments a ON a.container_id = "
                 "l.container_id AND a.network_id = l.network_id WHERE l.container_id = ?1 ORDER BY 4"
               : "SELECT network_id, aliases, requested_ip, position, NULL, '[]' FROM "
                 "network_attachments WHERE container_id = ?1 ORDER BY position";
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(store, sql, &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    struct attach_row *rows = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows = xreallocarray(rows, count + 1, sizeof(*rows));
        struct attach_row *r = &rows[count];
        memset(r, 0, sizeof(*r));
        ret = net_network_by_id(store, (const char *)sqlite3_column_text(st, 0), &r->net, err);
        if (ret < 0) {
            attach_rows_free(rows, count);
            return ret;
        }
        count++;
        r->aliases = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        if (!json_is_array(r->aliases)) {
            json_decref(r->aliases);
            r->aliases = json_array();
        }
        const char *rip = (const char *)sqlite3_column_text(st, 2);
        r->requested_ip = rip ? xstrdup(rip) : NULL;
        r->position = sqlite3_column_int(st, 3);
        const char *ip = (const char *)sqlite3_column_text(st, 4);
        r->ip = ip ? xstrdup(ip) : NULL;
        const char *ports = (const char *)sqlite3_column_text(st, 5);
        r->ports = ports ? json_loads(ports, 0, NULL) : NULL;
        if (!json_is_array(r->ports)) {
            json_decref(r->ports);
            r->ports = json_array();
        }
    }
    if (rc != SQLITE_DONE) {
        attach_rows_free(rows, count);
        return servin_store_sqlite_error(store, rc, err, "read the container's networks");
    }
    *out = rows;
    *n = count;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Inside the caller's transaction: the lowest free address of the network's range (or the one
 * asked for) into r->ip. */
static int lease_one(struct servin_store *store, const char *cid, struct attach_row *r,
                     struct servin_error *err)
{
    struct net_cidr subnet, range;
    int ret = net_cidr_parse(r->net.subnet, &subnet, err);
    if (ret < 0)
        return ret;
    range = subnet;
    if (r->net.ip_range && net_cidr_parse(r->net.ip_range, &range, err) < 0)
        return -EINVAL;
    uint32_t gw = 0, bcast = subnet.addr | ~net_cidr_mask(subnet.prefix);
    net_ip_parse(r->net.gateway, &gw);

    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    ret = servin_store_prepare(store, "SELECT ip FROM network_leases WHERE network_id = ?1", &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, r->net.id, -1, SQLITE_STATIC);
    _cleanup_free_ uint32_t *taken = NULL;
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint32_t a;
        if (net_ip_parse((const char *)sqlite3_column_text(st, 0), &a) == 0) {
            taken = xreallocarray(taken, n + 1, sizeof(*taken));
            taken[n++] = a;
        }
    }
    if (n > 0)
        qsort(taken, n, sizeof(*taken), cmp_u32);
    uint32_t chosen = 0;
    if (r->requested_ip) {
        net_ip_parse(r->requested_ip, &chosen);
        if ((n > 0 && bsearch(&chosen, taken, n, sizeof(*taken), cmp_u32)) || chosen == gw)
            return servin_error_set(err, EADDRINUSE, "address %s is already in use on network %s",
                                    r->requested_ip, r->net.name);
    } else {
        uint32_t first = range.addr, last = range.addr | ~net_cidr_mask(range.prefix);
        /* The default bridge is shared by every store on the host (tests use stores of their
         * own), each with its own leases: start at a random place so that two stores rarely pick
         * the same address. User networks belong to one store and fill from the bottom. */
        uint32_t span = last - first + 1, offset = 0;
        if (is_default(&r->net) && span > 2 && getrandom(&offset, sizeof(offset), 0) == sizeof(offset))
            offset %= span;
        for (uint32_t i = 0; i < span; i++) {
            uint32_t a = first + (offset + i) % span;
            if (a == subnet.addr || a == bcast || a == gw ||
                (n > 0 && bsearch(&a, taken, n, sizeof(*taken), cmp_u32)))
                continue;
            chosen = a;
            break;
        }
        if (!chosen)
            return servin_error_set(err, ENOSPC, "no free address left on network %s", r->net.name);
    }
    r->ip = net_ip_format(chosen);
    _cleanup_stmt_ sqlite3_stmt *ins = NULL;
    ret = servin_store_prepare(
        store, "INSERT INTO network_leases (network_id, ip, container_id, ports) VALUES (?1, ?2, ?3, ?4)",
        &ins, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *ports = json_dumps(r->ports, JSON_COMPACT);
    sqlite3_bind_text(ins, 1, r->net.id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, r->ip, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, cid, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, ports, -1, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    if (rc == SQLITE_CONSTRAINT)
        return servin_error_set(err, EADDRINUSE, "address %s is already in use on network %s", r->ip,
                                r->net.name);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "record the address lease");
    return 0;
}

/* Inside the transaction: no other running container of this store publishes the same host port. */
static int ports_free_in_store(struct servin_store *store, json_t *ports, struct servin_error *err)
{
    if (json_array_size(ports) == 0)
        return 0;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(store, "SELECT ports FROM network_leases WHERE ports != '[]'", &st, err);
    if (ret < 0)
        return ret;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *other = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        size_t i, k;
        json_t *a, *b;
        json_array_foreach (ports, i, a) {
            json_array_foreach (other, k, b) {
                const char *pa = json_string_value(json_object_get(a, "protocol"));
                const char *pb = json_string_value(json_object_get(b, "protocol"));
                const char *ia = json_string_value(json_object_get(a, "host_ip"));
                const char *ib = json_string_value(json_object_get(b, "host_ip"));
                bool any = !ia || !*ia || !ib || !*ib || strcmp(ia, ib) == 0;
                if (json_integer_value(json_object_get(a, "host_port")) ==
                        json_integer_value(json_object_get(b, "host_port")) &&
                    pa && pb && strcmp(pa, pb) == 0 && any) {
                    ret =
                        servin_error_set(err, EADDRINUSE,
                                         "cannot publish port: bind for %s:%lld/%s failed: port is already "
                                         "allocated by another container",
                                         ia && *ia ? ia : "0.0.0.0",
                                         (long long)json_integer_value(json_object_get(a, "host_port")), pa);
                    json_decref(other);
                    return ret;
                }
            }
        }
        json_decref(other);
    }
    return 0;
}

/* PortBindings (and, with PublishAllPorts, every ExposedPorts entry) as lease ports, host ports
 * checked free on the host and random ones picked. */
/* HostPort "A-B": the first port of the range that neither the host nor another container of
 * this store holds. */
static int pick_from_range(struct servin_store *store, const char *hip, const char *range, const char *proto,
                           int *port, struct servin_error *err)
{
    int lo = 0, hi = 0;
    if (sscanf(range, "%d-%d", &lo, &hi) != 2 || lo <= 0 || hi > 65535 || lo > hi)
        return servin_error_set(err, EINVAL, "invalid host port range \"%s\"", range);
    for (int p = lo; p <= hi; p++) {
        struct servin_error inner = {0};
        json_t *one =
            json_pack("[{s:s,s:i,s:s}]", "host_ip", hip ? hip : "", "host_port", p, "protocol", proto);
        int taken = ports_free_in_store(store, one, &inner);
        json_decref(one);
        int candidate = p;
        if (taken == 0 && net_port_check(hip, &candidate, proto, &inner) == 0) {
            *port = candidate;
            return 0;
        }
    }
    return servin_error_set(err, EADDRINUSE,
                            "cannot publish port: every host port in %s/%s is already in use", range, proto);
}

static int host_ports(struct servin_store *store, json_t *config, json_t **out, struct servin_error *err)
{
    json_t *hc = json_object_get(config, "HostConfig");
    json_t *bindings = json_deep_copy(json_object_get(hc, "PortBindings"));
    if (!json_is_object(bindings)) {
        json_decref(bindings);
        bindings = json_object();
    }
    if (json_is_true(json_object_get(hc, "PublishAllPorts"))) {
        const char *key;
        json_t *v;
        json_object_foreach (json_object_get(json_object_get(config, "Config"), "ExposedPorts"), key, v) {
            if (!json_object_get(bindings, key))
                json_object_set_new(bindings, key, json_pack("[{s:s,s:s}]", "HostIp", "", "HostPort", ""));
        }
    }
    json_t *ports = json_array();
    const char *key;
    json_t *list;
    json_object_foreach (bindings, key, list) {
        int cport = 0;
        char proto[8] = "tcp";
        if (sscanf(key, "%d/%7s", &cport, proto) < 1 || cport <= 0 || cport > 65535 ||
            (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)) {
            json_decref(bindings);
            json_decref(ports);
            return servin_error_set(err, EINVAL, "invalid port \"%s\": expected PORT[/tcp|udp]", key);
        }
        size_t i;
        json_t *b;
        json_array_foreach (list, i, b) {
            const char *hip = json_string_value(json_object_get(b, "HostIp"));
            const char *hport = json_string_value(json_object_get(b, "HostPort"));
            int port = hport && *hport ? atoi(hport) : 0;
            int ret = hport && strchr(hport, '-') ? pick_from_range(store, hip, hport, proto, &port, err)
                                                  : net_port_check(hip, &port, proto, err);
            if (ret < 0) {
                json_decref(bindings);
                json_decref(ports);
                return ret;
            }
            json_array_append_new(ports,
                                  json_pack("{s:s,s:i,s:i,s:s}", "host_ip", hip ? hip : "", "host_port", port,
                                            "container_port", cport, "protocol", proto));
        }
    }
    json_decref(bindings);
    *out = ports;
    return 0;
}

static json_t *dns_names(const struct servin_container *c, json_t *aliases)
{
    json_t *names = json_array();
    size_t i;
    json_t *v;
    json_array_foreach (aliases, i, v)
        json_array_append(names, v);
    char short_id[13];
    snprintf(short_id, sizeof(short_id), "%.12s", c->id);
    json_array_append_new(names, json_string(short_id));
    return names;
}

static int setup_row(struct servin_store *store, const struct servin_container *c, const char *netns,
                     struct attach_row *r, json_t *dns, struct servin_error *err)
{
    _cleanup_free_ char *ifname = xasprintf("eth%d", r->position);
    json_t *names = dns_names(c, r->aliases);
    struct servin_net_attachment a = {.container_id = c->id,
                                      .container_name = c->name,
                                      .network = &r->net,
                                      .ip = r->ip,
                                      .aliases = names,
                                      .ports = r->ports,
                                      .interface_name = ifname};
    json_t *status = NULL;
    int ret = servin_net_backend_default()->setup(store, netns, &a, &status, err);
    json_decref(names);
    if (ret < 0)
        return servin_error_wrap(err, "attach container %.12s to network %s", c->id, r->net.name);
    const char *mac = json_string_value(json_object_get(status, "mac"));
    size_t i;
    json_t *v;
    if (r->net.dns)
        json_array_foreach (json_object_get(status, "dns"), i, v)
            json_array_append(dns, v);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (mac &&
        servin_store_prepare(store, "UPDATE network_leases SET mac = ?1 WHERE network_id = ?2 AND ip = ?3",
                             &st, err) == 0) {
        sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->net.id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->ip, -1, SQLITE_STATIC);
        sqlite3_step(st);
    }
    json_decref(status);
    return 0;
}

/* --network container:X: X must run (its namespace lives only as long as it does); the
 * container sees X's /etc/hosts and /etc/resolv.conf, as in Docker, so names resolve the same. */
static int join_container(struct servin_store *store, const struct servin_container *c, const char *target,
                          struct servin_error *err)
{
    struct servin_container other = {0};
    int ret = servin_container_get(store, target, &other, err);
    if (ret < 0)
        return servin_error_wrap(err, "cannot join the network of container %s", target);
    struct servin_error ignored = {0};
    servin_container_reconcile(store, &other, &ignored);
    if (other.state != SERVIN_CONTAINER_RUNNING && other.state != SERVIN_CONTAINER_PAUSED)
        ret = servin_error_set(err, EINVAL, "cannot join the network of container %s: it is not running",
                               other.name);
    const char *omode = NULL;
    if (ret == 0 &&
        servin_network_mode(json_object_get(other.config, "HostConfig"), &omode) == SERVIN_NETMODE_NONE) {
        /* X's namespace is the runtime's own: pinned at X's path for as long as X runs (X's stop
         * unpins it), which is where our spec looks. */
        _cleanup_free_ char *path = net_netns_path(store, other.id);
        if (!net_netns_pinned(path))
            ret = net_netns_pin_pid(path, other.pid, err);
    }
    _cleanup_free_ char *from = servin_container_dir(store, other.id);
    _cleanup_free_ char *to = servin_container_dir(store, c->id);
    static const char *const files[] = {"hosts", "resolv.conf"};
    for (size_t i = 0; ret == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
        _cleanup_free_ char *src = xasprintf("%s/%s", from, files[i]);
        _cleanup_free_ char *dst = xasprintf("%s/%s", to, files[i]);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        ret = servin_read_file(src, &text, &len, err);
        if (ret == 0)
            ret = servin_write_file_atomic(dst, text, len, 0644, err);
        if (ret < 0)
            servin_error_wrap(err, "cannot join the network of container %s", other.name);
    }
    servin_container_clear(&other);
    return ret;
}

int servin_network_container_start(struct servin_store *store, const struct servin_container *c,
                                   struct servin_error *err)
{
    json_t *hc = json_object_get(c->config, "HostConfig");
    const char *target;
    enum servin_netmode mode = servin_network_mode(hc, &target);
    if (mode == SERVIN_NETMODE_HOST)
        return servin_container_write_etc(store, c, NULL, NULL, err);
    if (mode == SERVIN_NETMODE_CONTAINER)
        return join_container(store, c, target, err);
    /* What a crashed earlier run left, before anything new. */
    struct servin_error ignored = {0};
    servin_network_container_stop(store, c->id, &ignored);
    /* none: the runtime makes a namespace of its own, with only lo; ns: the owner of the namespace
     * wired it. */
    if (mode == SERVIN_NETMODE_NONE || mode == SERVIN_NETMODE_NS)
        return servin_container_write_etc(store, c, NULL, NULL, err);
    _cleanup_free_ char *netns = net_netns_path(store, c->id);
    int ret = net_netns_pin(netns, err);
    if (ret < 0)
        return ret;

    json_t *ports = NULL;
    struct attach_row *rows = NULL;
    size_t n = 0;
    json_t *dns = json_array();
    ret = host_ports(store, c->config, &ports, err);
    if (ret == 0)
        ret = load_rows(store, c->id, false, &rows, &n, err);
    if (ret == 0 && n == 0)
        ret = servin_error_set(err, ENOENT, "container %.12s has no network recorded", c->id);
    if (ret == 0)
        ret = servin_store_begin(store, err);
    if (ret == 0) {
        /* Published ports go with the first network, as Docker's do with its primary one. */
        json_decref(rows[0].ports);
        rows[0].ports = json_incref(ports);
        ret = ports_free_in_store(store, ports, err);
        for (size_t i = 0; ret == 0 && i < n; i++)
            ret = lease_one(store, c->id, &rows[i], err);
        if (ret < 0)
            servin_store_rollback(store);
        else
            ret = servin_store_commit(store, err);
    }
    for (size_t i = 0; ret == 0 && i < n; i++)
        ret = setup_row(store, c, netns, &rows[i], dns, err);
    if (ret == 0)
        ret = servin_container_write_etc(store, c, rows[0].ip, json_array_size(dns) ? dns : NULL, err);
    if (ret < 0 && n > 0 && rows[0].ip)
        servin_network_container_stop(store, c->id, &ignored);
    else if (ret < 0)
        net_netns_unpin(netns);
    attach_rows_free(rows, n);
    json_decref(ports);
    json_decref(dns);
    return ret;
}

static int release(struct servin_store *store, const char *cid, const char *network_id,
                   struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(
        store,
        network_id ? "DELETE FROM network_leases WHERE container_id = ?1 AND network_id = ?2"
                   : "DELETE FROM network_leases WHERE container_id = ?1",
        &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    if (network_id)
        sqlite3_bind_text(st, 2, network_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? 0 : servin_store_sqlite_error(store, rc, err, "release the address leases");
}

static int teardown_row(struct servin_store *store, const char *cid, const char *name, const char *netns,
                        struct attach_row *r, struct servin_error *err)
{
    _cleanup_free_ char *ifname = xasprintf("eth%d", r->position);
    struct servin_net_attachment a = {.container_id = cid,
                                      .container_name = name ? name : cid,
                                      .network = &r->net,
                                      .ip = r->ip,
                                      .aliases = r->aliases,
                                      .ports = r->ports,
                                      .interface_name = ifname};
    return servin_net_backend_default()->teardown(store, netns, &a, err);
}

static char *container_name(struct servin_store *store, const char *cid)
{
    struct servin_error ignored = {0};
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (servin_store_prepare(store, "SELECT name FROM containers WHERE id = ?1", &st, &ignored) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_ROW ? xstrdup((const char *)sqlite3_column_text(st, 0)) : NULL;
}

int servin_network_container_stop(struct servin_store *store, const char *cid, struct servin_error *err)
{
    _cleanup_free_ char *netns = net_netns_path(store, cid);
    struct attach_row *rows = NULL;
    size_t n = 0;
    int ret = load_rows(store, cid, true, &rows, &n, err);
    int first = ret;
    _cleanup_free_ char *name = n > 0 ? container_name(store, cid) : NULL;
    struct servin_error inner = {0};
    /* The namespace went away without a teardown (a reboot emptied the run dir, a crash came
     * between pin and setup): the backend still needs one to remove the host side (firewall
     * rules, DNS entries), so it gets an empty one in its place. */
    /* Then what is gone need not be: a bridge removed meanwhile is no failure. */
    bool stand_in = n > 0 && !net_netns_pinned(netns);
    if (stand_in) {
        if (net_netns_pin(netns, &inner) < 0)
            log_debug("network teardown of %.12s: %s", cid, inner.msg);
        for (size_t i = 0; i < n; i++) {
            _cleanup_free_ char *ifname = xasprintf("eth%d", rows[i].position);
            net_netns_stand_in(netns, ifname);
        }
    }
    for (size_t i = 0; i < n; i++) {
        int r = teardown_row(store, cid, name, netns, &rows[i], first < 0 || stand_in ? &inner : err);
        if (r < 0)
            log_debug("network teardown of %.12s on %s: %s", cid, rows[i].net.name,
                      first < 0 || stand_in ? inner.msg : err->msg);
        if (r < 0 && first == 0 && !stand_in)
            first = r;
    }
    attach_rows_free(rows, n);
    if (n > 0) {
        int r = release(store, cid, NULL, first < 0 ? &inner : err);
        if (r < 0 && first == 0)
            first = r;
    }
    net_netns_unpin(netns);
    return first;
}

int servin_network_container_removed(struct servin_store *store, const char *cid, struct servin_error *err)
{
    int ret = servin_network_container_stop(store, cid, err);
    struct servin_error inner = {0};
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = servin_store_prepare(store, "DELETE FROM network_attachments WHERE container_id = ?1", &st,
                                 ret < 0 ? &inner : err);
    if (r == 0) {
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            r = servin_store_sqlite_error(store, rc, ret < 0 ? &inner : err,
                                          "forget the container's networks");
    }
    return ret < 0 ? ret : r;
}

/* ---- connect, disconnect ---- */

static bool running(const struct servin_container *c)
{
    return c->state == SERVIN_CONTAINER_RUNNING || c->state == SERVIN_CONTAINER_PAUSED ||
           c->state == SERVIN_CONTAINER_RESTARTING;
}

/* Rewrite hosts/resolv.conf from the leases a running container holds now. */
static int refresh_etc(struct servin_store *store, const struct servin_container *c, struct servin_error *err)
{
    struct attach_row *rows = NULL;
    size_t n = 0;
    int ret = load_rows(store, c->id, true, &rows, &n, err);
    if (ret < 0)
        return ret;
    json_t *dns = json_array();
    for (size_t i = 0; i < n; i++)
        if (rows[i].net.dns)
            json_array_append_new(dns, json_string(rows[i].net.gateway));
    ret = servin_container_write_etc(store, c, n > 0 ? rows[0].ip : NULL, json_array_size(dns) ? dns : NULL,
                                     err);
    json_decref(dns);
    attach_rows_free(rows, n);
    return ret;
}

int servin_network_connect(struct servin_store *store, const struct servin_container *c, const char *network,
                           json_t *aliases, const char *ip, struct servin_error *err)
{
    const char *target;
    enum servin_netmode mode = servin_network_mode(json_object_get(c->config, "HostConfig"), &target);
    if (mode != SERVIN_NETMODE_BRIDGE)
        return servin_error_set(
            err, EINVAL, "container %s cannot be connected to a network: its network mode is %s", c->name,
            mode == SERVIN_NETMODE_HOST   ? "host"
            : mode == SERVIN_NETMODE_NONE ? "none"
            : mode == SERVIN_NETMODE_NS   ? "ns"
                                          : "container");
    struct servin_network n = {0};
    int ret = servin_network_get(store, network, &n, err);
    if (ret < 0)
        return ret;
    ret = servin_store_begin(store, err);
    if (ret == 0) {
        ret = insert_attachment(store, c->id, &n, aliases, ip, err);
        if (ret < 0)
            servin_store_rollback(store);
        else
            ret = servin_store_commit(store, err);
    }
    if (ret == 0)
        servin_event_emit(store, "network", "connect", n.id,
                          json_pack("{s:s,s:s,s:s}", "container", c->id, "name", n.name, "type", "bridge"));
    servin_network_clear(&n);
    if (ret < 0 || !running(c))
        return ret;

    /* Live: lease and wire the new one. */
    struct attach_row *rows = NULL;
    size_t count = 0;
    ret = load_rows(store, c->id, false, &rows, &count, err);
    struct attach_row *r = NULL;
    for (size_t i = 0; ret == 0 && i < count; i++)
        if (strcmp(rows[i].net.name, network) == 0 || strcmp(rows[i].net.id, network) == 0 ||
            (strcmp(network, "bridge") == 0 && is_default(&rows[i].net)))
            r = &rows[i];
    if (ret == 0 && !r)
        ret = servin_error_set(err, ENOENT, "network %s not found", network);
    if (ret == 0)
        ret = servin_store_begin(store, err);
    if (ret == 0) {
        ret = lease_one(store, c->id, r, err);
        if (ret < 0)
            servin_store_rollback(store);
        else
            ret = servin_store_commit(store, err);
    }
    _cleanup_free_ char *netns = net_netns_path(store, c->id);
    json_t *dns = json_array();
    if (ret == 0) {
        ret = setup_row(store, c, netns, r, dns, err);
        if (ret < 0) {
            struct servin_error ignored = {0};
            release(store, c->id, r->net.id, &ignored);
        }
    }
    json_decref(dns);
    if (ret == 0)
        ret = refresh_etc(store, c, err);
    attach_rows_free(rows, count);
    return ret;
}

int servin_network_disconnect(struct servin_store *store, const struct servin_container *c,
                              const char *network, struct servin_error *err)
{
    struct servin_network n = {0};
    int ret = servin_network_get(store, network, &n, err);
    if (ret < 0)
        return ret;
    struct attach_row *rows = NULL;
    size_t count = 0;
    ret = load_rows(store, c->id, true, &rows, &count, err);
    _cleanup_free_ char *netns = net_netns_path(store, c->id);
    for (size_t i = 0; ret == 0 && i < count; i++) {
        if (strcmp(rows[i].net.id, n.id) != 0)
            continue;
        ret = teardown_row(store, c->id, c->name, netns, &rows[i], err);
        if (ret == 0)
            ret = release(store, c->id, n.id, err);
    }
    attach_rows_free(rows, count);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (ret == 0)
        ret = servin_store_prepare(
            store, "DELETE FROM network_attachments WHERE container_id = ?1 AND network_id = ?2", &st, err);
    if (ret == 0) {
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, n.id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            ret = servin_store_sqlite_error(store, rc, err, "disconnect");
        else if (sqlite3_changes(store->db) == 0)
            ret =
                servin_error_set(err, ENOENT, "container %s is not connected to network %s", c->name, n.name);
    }
    if (ret == 0)
        servin_event_emit(store, "network", "disconnect", n.id,
                          json_pack("{s:s,s:s,s:s}", "container", c->id, "name", n.name, "type", "bridge"));
    servin_network_clear(&n);
    if (ret == 0 && running(c))
        ret = refresh_etc(store, c, err);
    return ret;
}
