/* container/update.c — `update` (CLI) and POST /containers/{id}/update (daemon): change a
 * container's resources and restart policy in its record and spec, and on its live cgroup. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "servin/cgroup.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/events.h"
#include "servin/runtime.h"

struct update_field {
    const char *key;
    json_type type; /* JSON_INTEGER, JSON_STRING or JSON_OBJECT */
};

static const struct update_field fields[] = {
    {"Memory", JSON_INTEGER},    {"MemorySwap", JSON_INTEGER},  {"MemoryReservation", JSON_INTEGER},
    {"NanoCpus", JSON_INTEGER},  {"CpuShares", JSON_INTEGER},   {"CpuQuota", JSON_INTEGER},
    {"CpuPeriod", JSON_INTEGER}, {"CpusetCpus", JSON_STRING},   {"CpusetMems", JSON_STRING},
    {"PidsLimit", JSON_INTEGER}, {"BlkioWeight", JSON_INTEGER}, {"RestartPolicy", JSON_OBJECT},
};

static const struct update_field *known_field(const char *key)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(fields[i].key, key) == 0)
            return &fields[i];
    return NULL;
}

static bool is_unset(json_t *v)
{
    return json_is_null(v) || json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
           (json_is_string(v) && !*json_string_value(v)) || (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0);
}

/* Fold the changes into a copy of HostConfig; unset fields (Docker's clients send every field of
 * Resources, 0 or null for those not given) leave the value as it was. */
static int merge_changes(json_t *hc, json_t *changes, struct servin_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach (changes, key, v) {
        const struct update_field *f = known_field(key);
        if (!f) {
            if (is_unset(v))
                continue;
            return servin_error_set(err, EINVAL, "updating %s is not supported", key);
        }
        if (json_is_null(v))
            continue;
        bool ok = f->type == JSON_INTEGER ? json_is_integer(v) : json_typeof(v) == f->type;
        if (!ok)
            return servin_error_set(err, EINVAL, "invalid type for %s: %s expected", key,
                                    f->type == JSON_INTEGER  ? "a number"
                                    : f->type == JSON_STRING ? "a string"
                                                             : "an object");
        if (strcmp(key, "RestartPolicy") == 0) {
            const char *name = json_string_value(json_object_get(v, "Name"));
            if (!name || !*name)
                continue;
            if (strcmp(name, "no") != 0 && strcmp(name, "always") != 0 && strcmp(name, "on-failure") != 0 &&
                strcmp(name, "unless-stopped") != 0)
                return servin_error_set(err, EINVAL, "invalid restart policy %s", name);
        } else if (f->type == JSON_INTEGER && json_integer_value(v) == 0 && strcmp(key, "PidsLimit") != 0) {
            continue;
        } else if (strcmp(key, "Memory") == 0 && json_integer_value(v) > 0 &&
                   json_integer_value(v) < 6 * 1024 * 1024) {
            return servin_error_set(err, EINVAL, "Minimum memory limit allowed is 6MB");
        } else if (f->type == JSON_INTEGER && json_integer_value(v) < 0 && strcmp(key, "PidsLimit") != 0 &&
                   strcmp(key, "MemorySwap") != 0) {
            return servin_error_set(err, EINVAL, "invalid %s: must not be negative", key);
        }
        /* --cpus replaces a quota/period pair and the other way round, as in Docker. */
        if (strcmp(key, "NanoCpus") == 0) {
            json_object_del(hc, "CpuQuota");
            json_object_del(hc, "CpuPeriod");
        } else if (strcmp(key, "CpuQuota") == 0 || strcmp(key, "CpuPeriod") == 0) {
            json_object_del(hc, "NanoCpus");
        }
        json_object_set(hc, key, v);
    }
    return 0;
}

int servin_container_replace_config(struct servin_store *store, struct servin_container *c, json_t *config,
                                    struct servin_error *err)
{
    json_t *old = c->config;
    c->config = config;
    int ret = servin_container_write_spec(store, c, err);
    if (ret == 0)
        ret = servin_container_save_config(store, c, err);
    if (ret < 0) {
        c->config = old;
        json_decref(config);
        /* The spec on disk must match the record again. */
        struct servin_error ignored = {0};
        servin_container_write_spec(store, c, &ignored);
        return ret;
    }
    json_decref(old);
    return 0;
}

int servin_container_apply_spec_resources(struct servin_store *store, const struct servin_container *c,
                                          bool pids_unlimited, struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *path = xasprintf("%s/config.json", dir);
    json_t *spec = json_load_file(path, 0, NULL);
    json_t *res = json_deep_copy(json_object_get(json_object_get(spec, "linux"), "resources"));
    json_decref(spec);
    if (!res)
        res = json_object();
    json_object_del(res, "devices"); /* unchanged, and rewriting them would briefly deny all */
    if (pids_unlimited)
        json_object_set_new(res, "pids", json_pack("{s:i}", "limit", -1));
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    struct servin_cgroup *cg = NULL;
    int ret = servin_oci_cgroup(oci_root, c->id, &cg, err);
    if (ret == 0)
        ret = servin_cgroup_set_resources(cg, res, err);
    if (cg)
        servin_cgroup_free(cg);
    json_decref(res);
    return ret;
}

int servin_container_update(struct servin_store *store, struct servin_container *c, json_t *changes,
                            struct servin_error *err)
{
    if (!json_is_object(changes))
        return servin_error_set(err, EINVAL, "update %s: the changes must be an object", c->name);
    json_t *config = json_deep_copy(c->config);
    json_t *hc = json_object_get(config, "HostConfig");
    if (!json_is_object(hc)) {
        hc = json_object();
        json_object_set_new(config, "HostConfig", hc);
    }
    int ret = merge_changes(hc, changes, err);
    if (ret < 0) {
        json_decref(config);
        return servin_error_wrap(err, "update %s", c->name);
    }
    if (servin_container_replace_config(store, c, config, err) < 0)
        return servin_error_wrap(err, "update %s", c->name);
    struct servin_error rerr = {0};
    servin_container_reconcile(store, c, &rerr);
    if (servin_container_is_active(c)) {
        /* Live: the new spec's resources onto the running container's cgroup. */
        json_t *pids = json_object_get(changes, "PidsLimit");
        bool pids_unlimited = json_is_integer(pids) && json_integer_value(pids) <= 0;
        if (servin_container_apply_spec_resources(store, c, pids_unlimited, err) < 0)
            return servin_error_wrap(err, "update the resources of running container %s", c->name);
    }
    servin_event_container(store, c, "update", NULL);
    return 0;
}
