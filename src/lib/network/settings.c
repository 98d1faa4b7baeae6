/* network/settings.c — what a container's networks look like from outside (inspect, port, ps), and
 * the cleanup of what stopped containers left behind. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/network_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

json_t *servin_network_ports_json(struct servin_store *store, const char *cid)
{
    json_t *out = json_array();
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    struct servin_error ignored = {0};
    if (servin_store_prepare(store, "SELECT ports FROM network_leases WHERE container_id = ?1", &st,
                             &ignored) < 0)
        return out;
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *ports = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        size_t i;
        json_t *p;
        json_array_foreach (ports, i, p) {
            const char *ip = json_string_value(json_object_get(p, "host_ip"));
            json_array_append_new(
                out, json_pack("{s:s,s:I,s:I,s:s}", "IP", ip && *ip ? ip : "0.0.0.0", "PrivatePort",
                               json_integer_value(json_object_get(p, "container_port")), "PublicPort",
                               json_integer_value(json_object_get(p, "host_port")), "Type",
                               json_string_value(json_object_get(p, "protocol")) ?: "tcp"));
        }
        json_decref(ports);
    }
    return out;
}

json_t *servin_network_settings_json(struct servin_store *store, const struct servin_container *c)
{
    json_t *networks = json_object();
    json_t *ports = json_object();
    const char *primary_ip = "", *primary_gw = "", *primary_mac = "";
    int primary_prefix = 0;
    struct servin_error ignored = {0};
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    json_t *first = NULL;
    if (servin_store_prepare(
            store,
            "SELECT a.network_id, a.aliases, l.ip, l.mac FROM network_attachments a LEFT JOIN "
            "network_leases l ON l.container_id = a.container_id AND l.network_id = a.network_id "
            "WHERE a.container_id = ?1 ORDER BY a.position",
            &st, &ignored) == 0) {
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            struct servin_network n = {0};
            if (net_network_by_id(store, (const char *)sqlite3_column_text(st, 0), &n, &ignored) < 0)
                continue;
            const char *ip = (const char *)sqlite3_column_text(st, 2);
            const char *mac = (const char *)sqlite3_column_text(st, 3);
            struct net_cidr cidr = {0};
            net_cidr_parse(n.subnet, &cidr, &ignored);
            json_t *aliases = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
            json_t *ep = json_pack(
                "{s:o,s:s,s:s,s:s,s:s,s:i,s:s}", "Aliases", json_is_array(aliases) ? aliases : json_array(),
                "NetworkID", n.id, "EndpointID", ip ? c->id : "", "Gateway", ip ? n.gateway : "", "IPAddress",
                ip ? ip : "", "IPPrefixLen", ip ? cidr.prefix : 0, "MacAddress", mac ? mac : "");
            if (!json_is_array(aliases))
                json_decref(aliases);
            if (!first)
                first = ep;
            json_object_set_new(networks, strcmp(n.name, SERVIN_NETWORK_DEFAULT) == 0 ? "bridge" : n.name,
                                ep);
            servin_network_clear(&n);
        }
    }
    if (first) {
        primary_ip = json_string_value(json_object_get(first, "IPAddress"));
        primary_gw = json_string_value(json_object_get(first, "Gateway"));
        primary_mac = json_string_value(json_object_get(first, "MacAddress"));
        primary_prefix = (int)json_integer_value(json_object_get(first, "IPPrefixLen"));
    }
    json_t *published = servin_network_ports_json(store, c->id);
    size_t i;
    json_t *p;
    json_array_foreach (published, i, p) {
        char key[32];
        snprintf(key, sizeof(key), "%lld/%s",
                 (long long)json_integer_value(json_object_get(p, "PrivatePort")),
                 json_string_value(json_object_get(p, "Type")));
        json_t *list = json_object_get(ports, key);
        if (!list) {
            list = json_array();
            json_object_set_new(ports, key, list);
        }
        char hp[16];
        snprintf(hp, sizeof(hp), "%lld", (long long)json_integer_value(json_object_get(p, "PublicPort")));
        json_array_append_new(list,
                              json_pack("{s:O,s:s}", "HostIp", json_object_get(p, "IP"), "HostPort", hp));
    }
    json_decref(published);
    /* Exposed but not published ports show as null, as in Docker. */
    const char *key;
    json_t *v;
    json_object_foreach (json_object_get(json_object_get(c->config, "Config"), "ExposedPorts"), key, v) {
        if (!json_object_get(ports, key))
            json_object_set_new(ports, key, json_null());
    }
    _cleanup_free_ char *netns = servin_container_netns_path(store, c->id);
    json_t *out =
        json_pack("{s:s,s:b,s:o,s:s,s:s,s:i,s:s,s:o}", "Bridge", "", "HairpinMode", 0, "Ports", ports,
                  "SandboxKey", net_netns_pinned(netns) ? netns : "", "IPAddress", primary_ip ?: "",
                  "IPPrefixLen", primary_prefix, "Gateway", primary_gw ?: "", "Networks", networks);
    json_object_set_new(out, "MacAddress", json_string(primary_mac ?: ""));
    return out;
}

static bool container_live(struct servin_store *store, const char *cid)
{
    struct servin_container c = {0};
    struct servin_error ignored = {0};
    if (servin_container_get(store, cid, &c, &ignored) < 0)
        return false;
    servin_container_reconcile(store, &c, &ignored);
    bool live = c.state == SERVIN_CONTAINER_RUNNING || c.state == SERVIN_CONTAINER_PAUSED ||
                c.state == SERVIN_CONTAINER_RESTARTING || c.monitor_pid > 0;
    servin_container_clear(&c);
    return live;
}

int servin_network_cleanup_orphans(struct servin_store *store, int *cleaned, struct servin_error *err)
{
    *cleaned = 0;
    char **ids = NULL;
    size_t n = 0;
    {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int ret = servin_store_prepare(store, "SELECT DISTINCT container_id FROM network_leases", &st, err);
        if (ret < 0)
            return ret;
        while (sqlite3_step(st) == SQLITE_ROW) {
            ids = xreallocarray(ids, n + 2, sizeof(*ids));
            ids[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
            ids[n] = NULL;
        }
    }
    /* Pinned namespaces without a lease (a --network none container, a half-done start). */
    _cleanup_free_ char *dir = xasprintf("%s/netns", store->run_root);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(ids[i], e->d_name) == 0;
        if (!seen) {
            ids = xreallocarray(ids, n + 2, sizeof(*ids));
            ids[n++] = xstrdup(e->d_name);
            ids[n] = NULL;
        }
    }
    if (d)
        closedir(d);
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        if (container_live(store, ids[i]))
            continue;
        /* Under the container's lock: a start in progress holds it and owns its namespace. */
        _cleanup_free_ char *lock = xasprintf("container-%s", ids[i]);
        _cleanup_close_ int fd = -1;
        struct servin_error inner = {0};
        if (servin_store_lock(store, lock, SERVIN_LOCK_EXCLUSIVE, &fd, &inner) < 0 ||
            container_live(store, ids[i]))
            continue;
        int r = servin_network_container_stop(store, ids[i], first < 0 ? &inner : err);
        if (r < 0 && first == 0)
            first = r;
        (*cleaned)++;
    }
    strv_free(ids);
    return first;
}
