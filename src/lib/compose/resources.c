/* compose/resources.c — a project's networks and volumes: created labelled with the project when
 * missing, external ones checked. */
#include <errno.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/compose_stack.h"
#include "servin/network.h"
#include "servin/version.h"
#include "servin/volume.h"
#include "stack_report.h"

static json_t *labels_of(const struct servin_compose_project *p, const struct servin_compose_kvlist *own,
                         const char *kind_label, const char *key)
{
    json_t *labels = json_object();
    for (size_t i = 0; i < own->n; i++)
        json_object_set_new(labels, own->items[i].key,
                            json_string(own->items[i].value ? own->items[i].value : ""));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_PROJECT, json_string(p->name));
    json_object_set_new(labels, kind_label, json_string(key));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_VERSION, json_string(SERVIN_VERSION));
    return labels;
}

static int ensure_network(struct servin_compose_env *env, const struct servin_compose_network *net,
                          struct servin_error *err)
{
    struct servin_network existing = {0};
    int r = servin_network_get(env->store, net->name, &existing, err);
    if (r == 0) {
        servin_network_clear(&existing);
        return 0;
    }
    if (r != -ENOENT)
        return r;
    servin_error_clear(err);
    if (net->external)
        return servin_error_set(err, ENOENT,
                                "network %s declared as external, but could not be found: create it with "
                                "`servin network create %s`",
                                net->name, net->name);
    if (net->driver && strcmp(net->driver, "bridge") != 0)
        return servin_error_set(err, ENOTSUP, "network %s: driver \"%s\" is not supported: only bridge is",
                                net->key, net->driver);
    if (net->n_ipam_config > 1)
        return servin_error_set(err, ENOTSUP, "network %s: only one ipam config (IPv4 subnet) is supported",
                                net->key);
    json_t *labels = labels_of(env->project, &net->labels, SERVIN_COMPOSE_LABEL_NETWORK, net->key);
    struct servin_network_create_opts o = {
        .name = net->name,
        .internal = net->internal,
        .labels = labels,
    };
    if (net->n_ipam_config == 1) {
        o.subnet = net->ipam_config[0].subnet;
        o.gateway = net->ipam_config[0].gateway;
        o.ip_range = net->ipam_config[0].ip_range;
    }
    stack_progress(env, "Network", net->name, "Creating");
    struct servin_network created = {0};
    r = servin_network_create(env->store, &o, &created, err);
    json_decref(labels);
    if (r == -EEXIST) {
        /* Another `up` of the same project made it in between: fine. */
        servin_error_clear(err);
        r = 0;
    }
    servin_network_clear(&created);
    if (r < 0)
        return servin_error_wrap(err, "create network %s", net->name);
    stack_progress(env, "Network", net->name, "Created");
    return 0;
}

static int ensure_volume(struct servin_compose_env *env, const struct servin_compose_volume *vol,
                         struct servin_error *err)
{
    struct servin_volume existing = {0};
    int r = servin_volume_get(env->store, vol->name, &existing, err);
    if (r == 0) {
        servin_volume_clear(&existing);
        return 0;
    }
    if (r != -ENOENT)
        return r;
    servin_error_clear(err);
    if (vol->external)
        return servin_error_set(err, ENOENT,
                                "external volume \"%s\" not found: create it with `servin volume create %s`",
                                vol->name, vol->name);
    json_t *labels = labels_of(env->project, &vol->labels, SERVIN_COMPOSE_LABEL_VOLUME, vol->key);
    json_t *opts = json_object();
    for (size_t i = 0; i < vol->driver_opts.n; i++)
        json_object_set_new(
            opts, vol->driver_opts.items[i].key,
            json_string(vol->driver_opts.items[i].value ? vol->driver_opts.items[i].value : ""));
    struct servin_volume_create_opts o = {
        .name = vol->name,
        .driver = vol->driver,
        .labels = labels,
        .options = vol->driver_opts.n ? opts : NULL,
    };
    stack_progress(env, "Volume", vol->name, "Creating");
    struct servin_volume created = {0};
    bool made = false;
    r = servin_volume_create(env->store, &o, &created, &made, err);
    json_decref(labels);
    json_decref(opts);
    servin_volume_clear(&created);
    if (r < 0)
        return servin_error_wrap(err, "create volume %s", vol->name);
    stack_progress(env, "Volume", vol->name, "Created");
    return 0;
}

static bool service_uses_network(const struct servin_compose_service *s, const char *key)
{
    if (s->network_mode && *s->network_mode)
        return false;
    for (size_t i = 0; i < s->n_networks; i++)
        if (strcmp(s->networks[i].name, key) == 0)
            return true;
    return false;
}

static bool service_uses_volume(const struct servin_compose_service *s, const char *key)
{
    for (size_t i = 0; i < s->n_volumes; i++)
        if (s->volumes[i].type == SERVIN_COMPOSE_MOUNT_VOLUME && s->volumes[i].source &&
            strcmp(s->volumes[i].source, key) == 0)
            return true;
    return false;
}

int servin_compose_ensure_resources(struct servin_compose_env *env,
                                    struct servin_compose_service *const *services, size_t n,
                                    struct servin_error *err)
{
    const struct servin_compose_project *p = env->project;
    for (size_t i = 0; i < p->n_networks; i++) {
        bool used = false;
        for (size_t j = 0; j < n && !used; j++)
            used = service_uses_network(services[j], p->networks[i].key);
        if (!used)
            continue;
        int r = ensure_network(env, &p->networks[i], err);
        if (r < 0)
            return r;
    }
    /* Every declared volume is created, used or not, as Docker Compose does. */
    for (size_t i = 0; i < p->n_volumes; i++) {
        bool used = !p->volumes[i].external;
        for (size_t j = 0; j < n && !used; j++)
            used = service_uses_volume(services[j], p->volumes[i].key);
        if (!used)
            continue;
        int r = ensure_volume(env, &p->volumes[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}
