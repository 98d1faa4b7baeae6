/* daemon/networks.c — /networks: list with filters, inspect, create (IPAM, Internal, Labels), remove,
 * connect/disconnect, prune (Docker's shapes), on libservin's network calls.
 *
 * The default network is "servin0" in the store; Docker's clients know it as "bridge", and
 * servin_network_get already resolves that name, so the daemon shows it under that name too. */
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/network.h"

static const char *docker_name(const struct servin_network *n)
{
    return strcmp(n->name, SERVIN_NETWORK_DEFAULT) == 0 ? "bridge" : n->name;
}

static json_t *network_json(struct servin_store *store, const struct servin_network *n)
{
    json_t *j = servin_network_inspect_json(store, n);
    json_object_set_new(j, "Name", json_string(docker_name(n)));
    /* Options are what the creator gave (none are kept); docker-compose recreates a network whose
     * options differ from its file's, so a user network shows none, as Docker's do. */
    if (strcmp(n->name, SERVIN_NETWORK_DEFAULT) != 0)
        json_object_set_new(j, "Options", json_object());
    json_object_set_new(j, "ConfigFrom", json_pack("{s:s}", "Network", ""));
    json_object_set_new(j, "ConfigOnly", json_false());
    return j;
}

struct network_filter {
    struct servin_store *store;
    const struct servin_network *n;
};

static bool network_matches(const char *key, const char *want, void *ctx)
{
    const struct network_filter *f = ctx;
    const struct servin_network *n = f->n;
    bool builtin = strcmp(n->name, SERVIN_NETWORK_DEFAULT) == 0;
    if (strcmp(key, "name") == 0)
        return strstr(docker_name(n), want) != NULL;
    if (strcmp(key, "id") == 0)
        return strncmp(n->id, want, strlen(want)) == 0;
    if (strcmp(key, "driver") == 0)
        return strcmp(n->driver ? n->driver : "bridge", want) == 0;
    if (strcmp(key, "label") == 0)
        return daemon_label_matches(n->labels, want);
    if (strcmp(key, "type") == 0)
        return strcmp(want, builtin ? "builtin" : "custom") == 0;
    if (strcmp(key, "scope") == 0)
        return strcmp(want, "local") == 0;
    if (strcmp(key, "dangling") == 0) {
        struct servin_error ignored = {0};
        bool want_dangling = strcmp(want, "true") == 0 || strcmp(want, "1") == 0;
        bool unused = !builtin && servin_network_users(f->store, n->id, &ignored) == 0;
        return unused == want_dangling;
    }
    return true;
}

static bool network_passes(struct servin_store *store, json_t *filters, const struct servin_network *n)
{
    struct network_filter f = {store, n};
    return daemon_filters_pass(filters, network_matches, &f);
}

static int list(struct dreq *r)
{
    static const char *const known[] = {"name", "id", "driver", "label", "type", "scope", "dangling", NULL};
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *filters = NULL;
    if (!store || daemon_parse_filters(dreq_query(r, "filters"), &filters, &err) < 0)
        return dreply_servin_error(r, &err);
    if (daemon_check_filter_keys(r, filters, known) < 0) {
        json_decref(filters);
        return 0;
    }
    /* The default network exists once asked for: a fresh store lists it as Docker's always does. */
    struct servin_network def = {0};
    if (servin_network_get(store, "bridge", &def, &err) == 0)
        servin_network_clear(&def);
    servin_error_clear(&err);
    struct servin_network *all = NULL;
    size_t n = 0;
    if (servin_network_list(store, &all, &n, &err) < 0) {
        json_decref(filters);
        return dreply_servin_error(r, &err);
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        if (network_passes(store, filters, &all[i]))
            json_array_append_new(out, network_json(store, &all[i]));
    servin_networks_free(all, n);
    json_decref(filters);
    return dreply_json(r, 200, out);
}

static int get_network(struct dreq *r, struct servin_store **store, struct servin_network *n)
{
    struct servin_error err = {0};
    *store = dreq_store(r, &err);
    if (!*store)
        return dreply_servin_error(r, &err), -1;
    if (servin_network_get(*store, r->params[0], n, &err) < 0) {
        if (err.code == ENOENT)
            return dreply_error(r, 404, "network %s not found", r->params[0]), -1;
        return dreply_servin_error(r, &err), -1;
    }
    return 0;
}

static int inspect(struct dreq *r)
{
    struct servin_store *store;
    struct servin_network n = {0};
    if (get_network(r, &store, &n) < 0)
        return 0;
    json_t *out = network_json(store, &n);
    servin_network_clear(&n);
    return dreply_json(r, 200, out);
}

static const char *type_error(json_t *body)
{
    static const struct {
        const char *key;
        json_type type;
    } fields[] = {{"Name", JSON_STRING},     {"Driver", JSON_STRING},       {"Internal", JSON_TRUE},
                  {"IPAM", JSON_OBJECT},     {"Labels", JSON_OBJECT},       {"Options", JSON_OBJECT},
                  {"EnableIPv6", JSON_TRUE}, {"CheckDuplicate", JSON_TRUE}, {"Attachable", JSON_TRUE}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *v = json_object_get(body, fields[i].key);
        if (!v || json_is_null(v))
            continue;
        if (fields[i].type == JSON_TRUE ? !json_is_boolean(v) : json_typeof(v) != fields[i].type)
            return fields[i].key;
    }
    return NULL;
}

static int create(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *body = NULL;
    if (!store || dreq_json_body(r, &body, &err) < 0)
        return dreply_servin_error(r, &err);
    int ret;
    const char *bad;
    if (!json_is_object(body)) {
        ret = dreply_error(r, 400, "the request body must be a JSON object (Name, Driver, IPAM, ...)");
        goto out;
    }
    if ((bad = type_error(body))) {
        ret = dreply_error(r, 400, "invalid type for %s", bad);
        goto out;
    }
    const char *name = json_string_value(json_object_get(body, "Name"));
    if (!name || !*name) {
        ret = dreply_error(r, 400, "a network name is required (Name)");
        goto out;
    }
    if (strcmp(name, "bridge") == 0 || strcmp(name, "host") == 0 || strcmp(name, "none") == 0) {
        ret = dreply_error(r, 403, "%s is a pre-defined network and cannot be created", name);
        goto out;
    }
    if (json_is_true(json_object_get(body, "EnableIPv6"))) {
        ret = dreply_error(r, 400, "IPv6 networks are not supported by servin (EnableIPv6)");
        goto out;
    }
    struct servin_network_create_opts o = {
        .name = name,
        .driver = json_string_value(json_object_get(body, "Driver")),
        .internal = json_is_true(json_object_get(body, "Internal")),
        .labels = json_is_object(json_object_get(body, "Labels")) ? json_object_get(body, "Labels") : NULL,
    };
    if (o.driver && !*o.driver)
        o.driver = NULL;
    json_t *ipam = json_object_get(body, "IPAM");
    const char *ipam_driver = json_string_value(json_object_get(ipam, "Driver"));
    if (ipam_driver && *ipam_driver && strcmp(ipam_driver, "default") != 0) {
        ret = dreply_error(r, 400, "IPAM driver %s is not supported: only default", ipam_driver);
        goto out;
    }
    json_t *configs = json_object_get(ipam, "Config");
    if (configs && !json_is_array(configs) && !json_is_null(configs)) {
        ret = dreply_error(r, 400, "invalid type for IPAM.Config: a list expected");
        goto out;
    }
    size_t i;
    json_t *cfg;
    json_array_foreach (configs, i, cfg) {
        const char *subnet = json_string_value(json_object_get(cfg, "Subnet"));
        if (subnet && strchr(subnet, ':'))
            continue; /* an IPv6 pool: only with EnableIPv6, refused above */
        if (o.subnet) {
            ret = dreply_error(r, 400, "only one IPv4 pool per network is supported (IPAM.Config)");
            goto out;
        }
        o.subnet = subnet && *subnet ? subnet : NULL;
        const char *gw = json_string_value(json_object_get(cfg, "Gateway"));
        const char *range = json_string_value(json_object_get(cfg, "IPRange"));
        o.gateway = gw && *gw ? gw : NULL;
        o.ip_range = range && *range ? range : NULL;
    }
    struct servin_network n = {0};
    if (servin_network_create(store, &o, &n, &err) < 0) {
        ret = dreply_servin_error(r, &err);
        goto out;
    }
    ret = dreply_json(r, 201, json_pack("{s:s,s:s}", "Id", n.id, "Warning", ""));
    servin_network_clear(&n);
out:
    json_decref(body);
    return ret;
}

static int remove_network(struct dreq *r)
{
    struct servin_store *store;
    struct servin_network n = {0};
    if (get_network(r, &store, &n) < 0)
        return 0;
    struct servin_error err = {0};
    int rc = servin_network_remove(store, n.id, &err);
    servin_network_clear(&n);
    return rc < 0 ? dreply_servin_error(r, &err) : dreply_empty(r, 204);
}

/* connect and disconnect: {"Container": id-or-name, ...}. */
static int connect_common(struct dreq *r, bool connect)
{
    struct servin_store *store;
    struct servin_network n = {0};
    if (get_network(r, &store, &n) < 0)
        return 0;
    struct servin_error err = {0};
    json_t *body = NULL;
    struct servin_container c = {0};
    int ret;
    if (dreq_json_body(r, &body, &err) < 0) {
        ret = dreply_servin_error(r, &err);
        goto out;
    }
    const char *cid = json_string_value(json_object_get(body, "Container"));
    if (!cid || !*cid) {
        ret = dreply_error(r, 400, "a container is required (Container)");
        goto out;
    }
    if (dreq_container(r, cid, &c, NULL) < 0) {
        ret = 0;
        goto out;
    }
    int rc;
    if (connect) {
        json_t *ep = json_object_get(body, "EndpointConfig");
        json_t *aliases = json_object_get(ep, "Aliases");
        if (aliases && !json_is_array(aliases) && !json_is_null(aliases)) {
            ret = dreply_error(r, 400, "invalid type for EndpointConfig.Aliases: a list expected");
            goto out;
        }
        const char *ip = json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address"));
        rc = servin_network_connect(store, &c, n.id, json_is_array(aliases) ? aliases : NULL,
                                    ip && *ip ? ip : NULL, &err);
    } else {
        rc = servin_network_disconnect(store, &c, n.id, &err);
        if (rc == -ENOENT && json_is_true(json_object_get(body, "Force")))
            rc = 0;
    }
    ret = rc < 0 ? dreply_servin_error(r, &err) : dreply_empty(r, 200);
out:
    servin_container_clear(&c);
    servin_network_clear(&n);
    json_decref(body);
    return ret;
}

static int connect_container(struct dreq *r)
{
    return connect_common(r, true);
}

static int disconnect_container(struct dreq *r)
{
    return connect_common(r, false);
}

static int prune(struct dreq *r)
{
    static const char *const known[] = {"label", "label!", "until", NULL};
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *filters = NULL;
    if (!store || daemon_parse_filters(dreq_query(r, "filters"), &filters, &err) < 0)
        return dreply_servin_error(r, &err);
    if (daemon_check_filter_keys(r, filters, known) < 0) {
        json_decref(filters);
        return 0;
    }
    /* What stopped containers left behind first, so that their networks count as unused. */
    int cleaned = 0;
    servin_network_cleanup_orphans(store, &cleaned, &err);
    servin_error_clear(&err);
    struct servin_network *list = NULL;
    size_t n = 0;
    if (servin_network_list(store, &list, &n, &err) < 0) {
        json_decref(filters);
        return dreply_servin_error(r, &err);
    }
    json_t *labels = json_object_get(filters, "label"), *not_labels = json_object_get(filters, "label!");
    json_t *deleted = json_array();
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].name, SERVIN_NETWORK_DEFAULT) == 0 ||
            servin_network_users(store, list[i].id, &err) != 0)
            continue;
        bool pass = true;
        size_t k;
        json_t *e;
        json_array_foreach (labels, k, e)
            pass = pass && daemon_label_matches(list[i].labels, json_string_value(e));
        json_array_foreach (not_labels, k, e)
            pass = pass && !daemon_label_matches(list[i].labels, json_string_value(e));
        struct servin_error one = {0};
        if (pass && servin_network_remove(store, list[i].id, &one) == 0)
            json_array_append_new(deleted, json_string(list[i].name));
    }
    servin_networks_free(list, n);
    json_decref(filters);
    return dreply_json(r, 200, json_pack("{s:o}", "NetworksDeleted", deleted));
}

const struct droute daemon_network_routes[] = {
    {"GET", "/networks", list, 0},
    {"POST", "/networks/create", create, 0},
    {"POST", "/networks/prune", prune, 0},
    {"GET", "/networks/*", inspect, 0},
    {"DELETE", "/networks/*", remove_network, 0},
    {"POST", "/networks/*/connect", connect_container, 0},
    {"POST", "/networks/*/disconnect", disconnect_container, 0},
    {NULL, NULL, NULL, 0},
};
