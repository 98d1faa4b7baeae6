/* daemon/volumes.c — /volumes: list with filters, create, inspect, remove, prune (Docker's shapes),
 * on libservin's volume calls. */
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "servin/cleanup.h"
#include "servin/volume.h"

static bool volume_in_use(struct servin_store *store, const char *name)
{
    _cleanup_strv_ char **users = NULL;
    struct servin_error err = {0};
    if (servin_volume_users(store, name, &users, &err) < 0)
        return true; /* in doubt, in use: never prune it */
    return users[0] != NULL;
}

struct volume_filter {
    struct servin_store *store;
    const struct servin_volume *v;
};

static bool volume_matches(const char *key, const char *want, void *ctx)
{
    const struct volume_filter *f = ctx;
    if (strcmp(key, "name") == 0)
        return strstr(f->v->name, want) != NULL;
    if (strcmp(key, "driver") == 0)
        return strcmp(f->v->driver, want) == 0;
    if (strcmp(key, "label") == 0)
        return daemon_label_matches(f->v->labels, want);
    if (strcmp(key, "dangling") == 0) {
        bool want_dangling = strcmp(want, "true") == 0 || strcmp(want, "1") == 0;
        return volume_in_use(f->store, f->v->name) != want_dangling;
    }
    return true; /* "all" (prune) is read by the caller */
}

static bool volume_passes(struct servin_store *store, json_t *filters, const struct servin_volume *v)
{
    struct volume_filter f = {store, v};
    return daemon_filters_pass(filters, volume_matches, &f);
}

static int list(struct dreq *r)
{
    static const char *const known[] = {"name", "driver", "label", "dangling", NULL};
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *filters = NULL;
    if (!store || daemon_parse_filters(dreq_query(r, "filters"), &filters, &err) < 0)
        return dreply_servin_error(r, &err);
    if (daemon_check_filter_keys(r, filters, known) < 0) {
        json_decref(filters);
        return 0;
    }
    struct servin_volume *all = NULL;
    size_t n = 0;
    if (servin_volume_list(store, &all, &n, &err) < 0) {
        json_decref(filters);
        return dreply_servin_error(r, &err);
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        if (volume_passes(store, filters, &all[i]))
            json_array_append_new(out, servin_volume_to_json(&all[i]));
    servin_volumes_free(all, n);
    json_decref(filters);
    return dreply_json(r, 200, json_pack("{s:o,s:[]}", "Volumes", out, "Warnings"));
}

static int create(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *body = NULL;
    if (!store || dreq_json_body(r, &body, &err) < 0)
        return dreply_servin_error(r, &err);
    if (body && !json_is_object(body)) {
        json_decref(body);
        return dreply_error(r, 400,
                            "the request body must be a JSON object (Name, Driver, DriverOpts, Labels)");
    }
    json_t *name = json_object_get(body, "Name"), *driver = json_object_get(body, "Driver");
    json_t *opts = json_object_get(body, "DriverOpts"), *labels = json_object_get(body, "Labels");
    const char *bad = (name && !json_is_string(name) && !json_is_null(name))         ? "Name"
                      : (driver && !json_is_string(driver) && !json_is_null(driver)) ? "Driver"
                      : (opts && !json_is_object(opts) && !json_is_null(opts))       ? "DriverOpts"
                      : (labels && !json_is_object(labels) && !json_is_null(labels)) ? "Labels"
                                                                                     : NULL;
    if (bad) {
        int ret = dreply_error(r, 400, "invalid type for %s", bad);
        json_decref(body);
        return ret;
    }
    struct servin_volume_create_opts o = {
        .name = json_string_value(name) && *json_string_value(name) ? json_string_value(name) : NULL,
        .driver = json_string_value(driver) && *json_string_value(driver) ? json_string_value(driver) : NULL,
        .labels = json_is_object(labels) ? labels : NULL,
        .options = json_is_object(opts) && json_object_size(opts) ? opts : NULL,
    };
    struct servin_volume v = {0};
    bool created = false;
    int rc = servin_volume_create(store, &o, &v, &created, &err);
    json_decref(body);
    if (rc < 0)
        return dreply_servin_error(r, &err);
    json_t *out = servin_volume_to_json(&v);
    servin_volume_clear(&v);
    return dreply_json(r, 201, out);
}

static int inspect(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    struct servin_volume v = {0};
    if (!store || servin_volume_get(store, r->params[0], &v, &err) < 0) {
        if (err.code == ENOENT)
            return dreply_error(r, 404, "get %s: no such volume", r->params[0]);
        return dreply_servin_error(r, &err);
    }
    json_t *out = servin_volume_to_json(&v);
    servin_volume_clear(&v);
    return dreply_json(r, 200, out);
}

static int remove_volume(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    if (!store)
        return dreply_servin_error(r, &err);
    int rc = servin_volume_remove(store, r->params[0], NULL, &err);
    /* force: a missing volume is what was asked for; a volume in use stays in use even so. */
    if (rc == -ENOENT && dreq_query_bool(r, "force", false))
        return dreply_empty(r, 204);
    if (rc == -ENOENT)
        return dreply_error(r, 404, "get %s: no such volume", r->params[0]);
    if (rc < 0)
        return dreply_servin_error(r, &err);
    return dreply_empty(r, 204);
}

/* Unused volumes matching the filters; since API 1.42 only anonymous ones unless all=true. */
static int prune(struct dreq *r)
{
    static const char *const known[] = {"label", "label!", "all", NULL};
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *filters = NULL;
    if (!store || daemon_parse_filters(dreq_query(r, "filters"), &filters, &err) < 0)
        return dreply_servin_error(r, &err);
    if (daemon_check_filter_keys(r, filters, known) < 0) {
        json_decref(filters);
        return 0;
    }
    json_t *all_f = json_array_get(json_object_get(filters, "all"), 0);
    bool all =
        !dreq_version_at_least(r, "1.42") || (all_f && (strcmp(json_string_value(all_f), "true") == 0 ||
                                                        strcmp(json_string_value(all_f), "1") == 0));
    json_t *not_labels = json_incref(json_object_get(filters, "label!"));
    json_object_del(filters, "label!");
    struct servin_volume *list = NULL;
    size_t n = 0;
    if (servin_volume_list(store, &list, &n, &err) < 0) {
        json_decref(filters);
        json_decref(not_labels);
        return dreply_servin_error(r, &err);
    }
    json_t *deleted = json_array();
    json_int_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if ((!all && !list[i].anonymous) || !volume_passes(store, filters, &list[i]) ||
            volume_in_use(store, list[i].name))
            continue;
        bool excluded = false;
        size_t k;
        json_t *e;
        json_array_foreach (not_labels, k, e)
            excluded = excluded || daemon_label_matches(list[i].labels, json_string_value(e));
        if (excluded)
            continue;
        long long size = 0;
        struct servin_error one = {0};
        if (servin_volume_remove(store, list[i].name, &size, &one) == 0) {
            json_array_append_new(deleted, json_string(list[i].name));
            total += size;
        }
    }
    servin_volumes_free(list, n);
    json_decref(filters);
    json_decref(not_labels);
    return dreply_json(r, 200, json_pack("{s:o,s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", total));
}

const struct droute daemon_volume_routes[] = {
    {"GET", "/volumes", list, 0},
    {"POST", "/volumes/create", create, 0},
    {"POST", "/volumes/prune", prune, 0},
    {"GET", "/volumes/*", inspect, 0},
    {"DELETE", "/volumes/*", remove_volume, 0},
    {NULL, NULL, NULL, 0},
};
