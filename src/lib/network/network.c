/* network/network.c — network rows: create (with subnet checks), look up, list, remove, inspect. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "network/network_internal.h"
#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/events.h"
#include "servin/timefmt.h"

#define COLUMNS "id, name, driver, bridge, subnet, gateway, ip_range, internal, dns, labels, created"
/* Where networks created without --subnet come from, as Podman does: 10.89.N.0/24. */
#define AUTO_SUBNET_BASE 0x0a590000u /* 10.89.0.0 */

int servin_network_default_addresses(char **subnet, char **gateway, struct servin_error *err)
{
    _cleanup_config_ struct servin_config *cfg = servin_config_current();
    const char *text = cfg->networking.bridge_ip && *cfg->networking.bridge_ip
                           ? cfg->networking.bridge_ip
                           : SERVIN_NETWORK_DEFAULT_BRIDGE_IP;
    struct net_cidr c;
    if (net_cidr_parse(text, &c, err) < 0)
        return servin_error_wrap(err, "networking.bridge_ip");
    _cleanup_free_ char *addr = xstrndup(text, strcspn(text, "/"));
    uint32_t gw = 0;
    (void)net_ip_parse(addr, &gw);
    _cleanup_free_ char *net = net_ip_format(c.addr);
    *subnet = xasprintf("%s/%d", net, c.prefix);
    /* "172.17.0.0/16" names no bridge address: the network then takes the subnet's first one. */
    *gateway = gw == c.addr ? NULL : xstrdup(addr);
    return 0;
}

void servin_network_clear(struct servin_network *n)
{
    if (!n)
        return;
    free(n->name);
    free(n->driver);
    free(n->bridge);
    free(n->subnet);
    free(n->gateway);
    free(n->ip_range);
    json_decref(n->labels);
    memset(n, 0, sizeof(*n));
}

void servin_networks_free(struct servin_network *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        servin_network_clear(&list[i]);
    free(list);
}

/* ---- addresses ---- */

uint32_t net_cidr_mask(int prefix)
{
    return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int net_ip_parse(const char *text, uint32_t *out)
{
    struct in_addr a;
    if (!text || inet_pton(AF_INET, text, &a) != 1)
        return -EINVAL;
    *out = ntohl(a.s_addr);
    return 0;
}

char *net_ip_format(uint32_t ip)
{
    return xasprintf("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

int net_cidr_parse(const char *text, struct net_cidr *out, struct servin_error *err)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    char *end = NULL;
    if (!slash)
        return servin_error_set(err, EINVAL, "invalid subnet \"%s\": expected an IPv4 CIDR like 10.89.0.0/24",
                                text ? text : "");
    _cleanup_free_ char *addr = xstrndup(text, (size_t)(slash - text));
    long prefix = strtol(slash + 1, &end, 10);
    uint32_t ip;
    if (net_ip_parse(addr, &ip) < 0 || !slash[1] || *end || prefix < 8 || prefix > 30)
        return servin_error_set(
            err, EINVAL, "invalid subnet \"%s\": expected an IPv4 CIDR like 10.89.0.0/24 (prefix 8 to 30)",
            text);
    out->prefix = (int)prefix;
    out->addr = ip & net_cidr_mask(out->prefix);
    return 0;
}

bool net_cidr_contains(const struct net_cidr *c, uint32_t ip)
{
    return (ip & net_cidr_mask(c->prefix)) == c->addr;
}

bool net_cidr_overlap(const struct net_cidr *a, const struct net_cidr *b)
{
    int p = a->prefix < b->prefix ? a->prefix : b->prefix;
    return (a->addr & net_cidr_mask(p)) == (b->addr & net_cidr_mask(p));
}

/* ---- rows ---- */

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static void from_row(sqlite3_stmt *st, struct servin_network *n)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->id, sizeof(n->id), "%s", (const char *)sqlite3_column_text(st, 0));
    n->name = col_dup(st, 1);
    n->driver = col_dup(st, 2);
    n->bridge = col_dup(st, 3);
    n->subnet = col_dup(st, 4);
    n->gateway = col_dup(st, 5);
    n->ip_range = col_dup(st, 6);
    n->internal = sqlite3_column_int(st, 7) != 0;
    n->dns = sqlite3_column_int(st, 8) != 0;
    const char *labels = (const char *)sqlite3_column_text(st, 9);
    n->labels = labels ? json_loads(labels, 0, NULL) : NULL;
    if (!json_is_object(n->labels)) {
        json_decref(n->labels);
        n->labels = json_object();
    }
    n->created = sqlite3_column_int64(st, 10);
}

static int query_one(struct servin_store *store, const char *where, const char *arg,
                     struct servin_network *out, int *matches, struct servin_error *err)
{
    _cleanup_free_ char *sql = xasprintf("SELECT " COLUMNS " FROM networks WHERE %s", where);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(store, sql, &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    *matches = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (++*matches == 1)
            from_row(st, out);
    }
    if (rc != SQLITE_DONE) {
        if (*matches)
            servin_network_clear(out);
        return servin_store_sqlite_error(store, rc, err, "read networks");
    }
    if (*matches > 1)
        servin_network_clear(out);
    return 0;
}

int net_network_by_id(struct servin_store *store, const char *id, struct servin_network *out,
                      struct servin_error *err)
{
    int matches = 0;
    int ret = query_one(store, "id = ?1", id, out, &matches, err);
    if (ret < 0)
        return ret;
    return matches == 1 ? 0 : servin_error_set(err, ENOENT, "network %s not found", id);
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char b[32];
    size_t got = 0;
    while (got < bytes) {
        ssize_t r = getrandom(b + got, bytes - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (errno != EINTR)
            abort();
    }
    for (size_t i = 0; i < bytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static bool name_valid(const char *name)
{
    if (!name || !isalnum((unsigned char)name[0]))
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return false;
    return true;
}

/* Every other network's subnet, to refuse overlaps; *n networks. */
static int all_subnets(struct servin_store *store, struct net_cidr **out, size_t *n, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(store, "SELECT subnet FROM networks", &st, err);
    if (ret < 0)
        return ret;
    *out = NULL;
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct net_cidr c;
        struct servin_error ignored = {0};
        if (net_cidr_parse((const char *)sqlite3_column_text(st, 0), &c, &ignored) < 0)
            continue;
        *out = xreallocarray(*out, *n + 1, sizeof(**out));
        (*out)[(*n)++] = c;
    }
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        return servin_store_sqlite_error(store, rc, err, "read networks");
    }
    return 0;
}

/* Routes the host already has (other bridges, the uplink): an automatic subnet must not shadow them. */
static bool host_route_overlaps(const struct net_cidr *c)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/net/route", "re");
    char line[256];
    if (!f || !fgets(line, sizeof(line), f))
        return false;
    while (fgets(line, sizeof(line), f)) {
        char ifname[64];
        unsigned dest, gw, flags, mask;
        if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", ifname, &dest, &gw, &flags, &mask) != 5 || mask == 0)
            continue;
        struct net_cidr r = {.addr = ntohl(dest), .prefix = __builtin_popcount(mask)};
        if (net_cidr_overlap(&r, c))
            return true;
    }
    return false;
}

static bool overlaps_any(const struct net_cidr *c, const struct net_cidr *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (net_cidr_overlap(c, &list[i]))
            return true;
    return false;
}

/* Inside the caller's transaction. */
static int insert(struct servin_store *store, const struct servin_network_create_opts *o, bool is_default,
                  struct servin_network *out, struct servin_error *err)
{
    _cleanup_free_ struct net_cidr *used = NULL;
    size_t n_used = 0;
    int ret = all_subnets(store, &used, &n_used, err);
    if (ret < 0)
        return ret;
    struct net_cidr c;
    if (o->subnet) {
        ret = net_cidr_parse(o->subnet, &c, err);
        if (ret < 0)
            return ret;
        if (overlaps_any(&c, used, n_used))
            return servin_error_set(
                err, EEXIST, "invalid subnet %s: it overlaps the subnet of another network", o->subnet);
    } else {
        bool found = false;
        for (uint32_t i = 0; i < 256 && !found; i++) {
            c = (struct net_cidr){.addr = AUTO_SUBNET_BASE | (i << 8), .prefix = 24};
            found = !overlaps_any(&c, used, n_used) && !host_route_overlaps(&c);
        }
        if (!found)
            return servin_error_set(err, ENOSPC,
                                    "no free subnet left in 10.89.0.0/16: give one with --subnet");
    }
    _cleanup_free_ char *addr_text = net_ip_format(c.addr);
    _cleanup_free_ char *subnet = xasprintf("%s/%d", addr_text, c.prefix);
    uint32_t gw = c.addr + 1, broadcast = c.addr | ~net_cidr_mask(c.prefix);
    if (o->gateway &&
        (net_ip_parse(o->gateway, &gw) < 0 || !net_cidr_contains(&c, gw) || gw == c.addr || gw == broadcast))
        return servin_error_set(err, EINVAL, "invalid gateway \"%s\": it must be an address inside %s",
                                o->gateway, subnet);
    _cleanup_free_ char *gateway = net_ip_format(gw);
    _cleanup_free_ char *range = NULL;
    if (o->ip_range) {
        struct net_cidr r;
        ret = net_cidr_parse(o->ip_range, &r, err);
        if (ret < 0)
            return servin_error_wrap(err, "invalid --ip-range");
        if (r.prefix < c.prefix || !net_cidr_contains(&c, r.addr))
            return servin_error_set(err, EINVAL, "invalid --ip-range %s: it must lie inside the subnet %s",
                                    o->ip_range, subnet);
        _cleanup_free_ char *ra = net_ip_format(r.addr);
        range = xasprintf("%s/%d", ra, r.prefix);
    }

    char id[SERVIN_NETWORK_ID_LEN + 1];
    random_hex(id, SERVIN_NETWORK_ID_LEN / 2);
    /* Bridge names are host-wide: the default network has Servin's well-known one, others one
     * derived from their id (15 characters at most). */
    _cleanup_free_ char *bridge = is_default ? xstrdup(SERVIN_NETWORK_DEFAULT) : xasprintf("svn%.10s", id);
    json_t *labels = o->labels ? o->labels : NULL;
    _cleanup_free_ char *labels_text =
        labels ? json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("{}");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t created = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;

    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    ret = servin_store_prepare(store,
                               "INSERT INTO networks (" COLUMNS
                               ") VALUES (?1, ?2, 'bridge', ?3, ?4, ?5, ?6, ?7, ?8, "
                               "?9, ?10)",
                               &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, o->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, bridge, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, subnet, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, gateway, -1, SQLITE_STATIC);
    if (range)
        sqlite3_bind_text(st, 6, range, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_int(st, 7, o->internal);
    sqlite3_bind_int(st, 8, !is_default);
    sqlite3_bind_text(st, 9, labels_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, created);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT)
        return servin_error_set(err, EEXIST, "network with name %s already exists", o->name);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "create the network");
    if (out) {
        int matches = 0;
        ret = query_one(store, "id = ?1", id, out, &matches, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

int servin_network_create(struct servin_store *store, const struct servin_network_create_opts *o,
                          struct servin_network *out, struct servin_error *err)
{
    if (!name_valid(o->name))
        return servin_error_set(err, EINVAL,
                                "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                o->name ? o->name : "");
    if (strcmp(o->name, SERVIN_NETWORK_DEFAULT) == 0 || strcmp(o->name, "bridge") == 0 ||
        strcmp(o->name, "host") == 0 || strcmp(o->name, "none") == 0)
        return servin_error_set(err, EEXIST, "network name %s is reserved", o->name);
    if (o->driver && strcmp(o->driver, "bridge") != 0)
        return servin_error_set(err, ENOTSUP, "network driver \"%s\" is not supported: only bridge is",
                                o->driver);
    int ret = servin_store_begin(store, err);
    if (ret < 0)
        return ret;
    ret = insert(store, o, false, out, err);
    if (ret < 0) {
        servin_store_rollback(store);
        return ret;
    }
    ret = servin_store_commit(store, err);
    if (ret == 0)
        servin_event_emit(store, "network", "create", out->id,
                          json_pack("{s:s,s:s}", "name", out->name, "type", "bridge"));
    return ret;
}

/* The default network, created on first use. */
static int get_default(struct servin_store *store, struct servin_network *out, struct servin_error *err)
{
    int matches = 0;
    int ret = query_one(store, "name = ?1", SERVIN_NETWORK_DEFAULT, out, &matches, err);
    if (ret < 0 || matches == 1)
        return ret;
    ret = servin_store_begin(store, err);
    if (ret < 0)
        return ret;
    ret = query_one(store, "name = ?1", SERVIN_NETWORK_DEFAULT, out, &matches, err);
    if (ret == 0 && matches == 0) {
        _cleanup_free_ char *subnet = NULL, *gateway = NULL;
        ret = servin_network_default_addresses(&subnet, &gateway, err);
        if (ret == 0) {
            struct servin_network_create_opts o = {
                .name = SERVIN_NETWORK_DEFAULT, .subnet = subnet, .gateway = gateway};
            ret = insert(store, &o, true, out, err);
        }
    }
    if (ret < 0) {
        servin_store_rollback(store);
        return servin_error_wrap(err, "create the default network %s", SERVIN_NETWORK_DEFAULT);
    }
    return servin_store_commit(store, err);
}

int servin_network_get(struct servin_store *store, const char *text, struct servin_network *out,
                       struct servin_error *err)
{
    if (!text || !*text)
        return servin_error_set(err, ENOENT, "network name is empty");
    if (strcmp(text, "bridge") == 0 || strcmp(text, "default") == 0 ||
        strcmp(text, SERVIN_NETWORK_DEFAULT) == 0)
        return get_default(store, out, err);
    int matches = 0;
    int ret = query_one(store, "name = ?1", text, out, &matches, err);
    if (ret < 0 || matches == 1)
        return ret;
    ret = query_one(store, "id = ?1", text, out, &matches, err);
    if (ret < 0 || matches == 1)
        return ret;
    bool hex = strlen(text) <= SERVIN_NETWORK_ID_LEN;
    for (const char *p = text; *p; p++)
        hex = hex && isxdigit((unsigned char)*p);
    if (hex) {
        _cleanup_free_ char *like = xasprintf("%s%%", text);
        ret = query_one(store, "id LIKE ?1", like, out, &matches, err);
        if (ret < 0 || matches == 1)
            return ret;
        if (matches > 1)
            return servin_error_set(err, EINVAL, "network id prefix %s matches more than one network", text);
    }
    return servin_error_set(err, ENOENT, "network %s not found", text);
}

int servin_network_list(struct servin_store *store, struct servin_network **out, size_t *n,
                        struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(store, "SELECT " COLUMNS " FROM networks ORDER BY created", &st, err);
    if (ret < 0)
        return ret;
    struct servin_network *list = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        list = xreallocarray(list, count + 1, sizeof(*list));
        from_row(st, &list[count++]);
    }
    if (rc != SQLITE_DONE) {
        servin_networks_free(list, count);
        return servin_store_sqlite_error(store, rc, err, "list networks");
    }
    *out = list;
    *n = count;
    return 0;
}

int servin_network_users(struct servin_store *store, const char *network_id, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(store, "SELECT COUNT(*) FROM network_attachments WHERE network_id = ?1",
                                   &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, network_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return servin_store_sqlite_error(store, rc, err, "count the network's containers");
    return sqlite3_column_int(st, 0);
}

int servin_network_remove(struct servin_store *store, const char *text, struct servin_error *err)
{
    struct servin_network n = {0};
    int ret = servin_network_get(store, text, &n, err);
    if (ret < 0)
        return ret;
    if (strcmp(n.name, SERVIN_NETWORK_DEFAULT) == 0) {
        servin_network_clear(&n);
        return servin_error_set(err, EPERM, "%s is the default network and cannot be removed", text);
    }
    ret = servin_store_begin(store, err);
    if (ret == 0) {
        int users = servin_network_users(store, n.id, err);
        if (users > 0)
            ret = servin_error_set(err, EBUSY,
                                   "error while removing network: network %s has %d container%s attached",
                                   n.name, users, users == 1 ? "" : "s");
        else
            ret = users;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (ret == 0)
            ret = servin_store_prepare(store, "DELETE FROM networks WHERE id = ?1", &st, err);
        if (ret == 0) {
            sqlite3_bind_text(st, 1, n.id, -1, SQLITE_STATIC);
            int rc = sqlite3_step(st);
            if (rc != SQLITE_DONE)
                ret = servin_store_sqlite_error(store, rc, err, "remove the network");
        }
        if (ret < 0)
            servin_store_rollback(store);
        else
            ret = servin_store_commit(store, err);
    }
    if (ret == 0)
        servin_event_emit(store, "network", "destroy", n.id,
                          json_pack("{s:s,s:s}", "name", n.name, "type", "bridge"));
    servin_network_clear(&n);
    return ret;
}

json_t *servin_network_inspect_json(struct servin_store *store, const struct servin_network *n)
{
    char created[SERVIN_RFC3339_MAX];
    servin_time_format_rfc3339(n->created, created);
    json_t *config = json_pack("{s:s,s:s}", "Subnet", n->subnet, "Gateway", n->gateway);
    if (n->ip_range)
        json_object_set_new(config, "IPRange", json_string(n->ip_range));
    json_t *containers = json_object();
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    struct servin_error ignored = {0};
    if (servin_store_prepare(
            store,
            "SELECT a.container_id, c.name, l.ip, l.mac FROM network_attachments a "
            "LEFT JOIN containers c ON c.id = a.container_id "
            "LEFT JOIN network_leases l ON l.container_id = a.container_id AND l.network_id = "
            "a.network_id WHERE a.network_id = ?1",
            &st, &ignored) == 0) {
        sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
        struct net_cidr c = {0};
        net_cidr_parse(n->subnet, &c, &ignored);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *ip = (const char *)sqlite3_column_text(st, 2);
            const char *mac = (const char *)sqlite3_column_text(st, 3);
            const char *name = (const char *)sqlite3_column_text(st, 1);
            _cleanup_free_ char *addr = ip ? xasprintf("%s/%d", ip, c.prefix) : xstrdup("");
            json_object_set_new(containers, (const char *)sqlite3_column_text(st, 0),
                                json_pack("{s:s,s:s,s:s,s:s}", "Name", name ? name : "", "EndpointID", "",
                                          "MacAddress", mac ? mac : "", "IPv4Address", addr));
        }
    }
    json_t *options = json_pack("{s:s}", "com.docker.network.bridge.name", n->bridge);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:o,s:[o]},s:b,s:b,s:b,s:o,s:o,s:O}", "Name", n->name,
                     "Id", n->id, "Created", created, "Scope", "local", "Driver",
                     n->driver ? n->driver : "bridge", "EnableIPv6", 0, "IPAM", "Driver", "default",
                     "Options", json_object(), "Config", config, "Internal", n->internal, "Attachable", 0,
                     "Ingress", 0, "Containers", containers, "Options", options, "Labels", n->labels);
}
