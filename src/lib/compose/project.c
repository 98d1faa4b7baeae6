/* compose/project.c — releasing the model, and looking things up in it. */
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

static void mount_free(struct servin_compose_mount *m)
{
    free(m->source);
    free(m->target);
    free(m->bind_propagation);
    free(m->bind_selinux);
    free(m->volume_subpath);
    free(m->consistency);
}

static void refs_free(struct servin_compose_file_ref *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].source);
        free(r[i].target);
        free(r[i].uid);
        free(r[i].gid);
    }
    free(r);
}

void compose_service_free(struct servin_compose_service *s)
{
    free(s->name);
    free(s->image);
    if (s->build) {
        free(s->build->context);
        free(s->build->dockerfile);
        ckv_free(&s->build->args);
        free(s->build->target);
        ckv_free(&s->build->labels);
        free(s->build->network);
        strv_free(s->build->tags);
        free(s->build);
    }
    strv_free(s->command);
    strv_free(s->entrypoint);
    ckv_free(&s->environment);
    strv_free(s->env_file);
    for (size_t i = 0; i < s->n_ports; i++) {
        free(s->ports[i].name);
        free(s->ports[i].published);
        free(s->ports[i].host_ip);
        free(s->ports[i].protocol);
        free(s->ports[i].mode);
        free(s->ports[i].app_protocol);
    }
    free(s->ports);
    strv_free(s->expose);
    for (size_t i = 0; i < s->n_volumes; i++)
        mount_free(&s->volumes[i]);
    free(s->volumes);
    strv_free(s->tmpfs);
    for (size_t i = 0; i < s->n_networks; i++) {
        free(s->networks[i].name);
        strv_free(s->networks[i].aliases);
        free(s->networks[i].ipv4_address);
        free(s->networks[i].ipv6_address);
    }
    free(s->networks);
    free(s->network_mode);
    for (size_t i = 0; i < s->n_depends_on; i++)
        free(s->depends_on[i].service);
    free(s->depends_on);
    strv_free(s->healthcheck.test);
    free(s->restart);
    ckv_free(&s->labels);
    free(s->user);
    free(s->working_dir);
    free(s->hostname);
    free(s->domainname);
    free(s->stop_signal);
    strv_free(s->cap_add);
    strv_free(s->cap_drop);
    strv_free(s->security_opt);
    for (size_t i = 0; i < s->n_ulimits; i++)
        free(s->ulimits[i].name);
    free(s->ulimits);
    strv_free(s->extra_hosts);
    strv_free(s->dns);
    strv_free(s->dns_search);
    strv_free(s->dns_opt);
    free(s->logging.driver);
    ckv_free(&s->logging.options);
    free(s->container_name);
    free(s->pull_policy);
    strv_free(s->profiles);
    refs_free(s->configs, s->n_configs);
    refs_free(s->secrets, s->n_secrets);
    ckv_free(&s->sysctls);
    free(s->platform);
    free(s->pid);
    free(s->ipc);
    memset(s, 0, sizeof(*s));
}

static void file_defs_free(struct servin_compose_file_def *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].key);
        free(d[i].name);
        free(d[i].file);
        free(d[i].environment);
        free(d[i].content);
    }
    free(d);
}

void servin_compose_project_free(struct servin_compose_project *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->working_dir);
    strv_free(p->files);
    ckv_free(&p->env);
    strv_free(p->profiles);
    for (size_t i = 0; i < p->n_services; i++)
        compose_service_free(&p->services[i]);
    free(p->services);
    strv_free(p->disabled_services);
    for (size_t i = 0; i < p->n_volumes; i++) {
        free(p->volumes[i].key);
        free(p->volumes[i].name);
        free(p->volumes[i].driver);
        ckv_free(&p->volumes[i].driver_opts);
        ckv_free(&p->volumes[i].labels);
    }
    free(p->volumes);
    for (size_t i = 0; i < p->n_networks; i++) {
        struct servin_compose_network *n = &p->networks[i];
        free(n->key);
        free(n->name);
        free(n->driver);
        ckv_free(&n->driver_opts);
        free(n->ipam_driver);
        for (size_t j = 0; j < n->n_ipam_config; j++) {
            free(n->ipam_config[j].subnet);
            free(n->ipam_config[j].gateway);
            free(n->ipam_config[j].ip_range);
        }
        free(n->ipam_config);
        ckv_free(&n->labels);
    }
    free(p->networks);
    file_defs_free(p->configs, p->n_configs);
    file_defs_free(p->secrets, p->n_secrets);
    free(p);
}

struct servin_compose_service *servin_compose_service_find(const struct servin_compose_project *p,
                                                           const char *name)
{
    for (size_t i = 0; i < p->n_services; i++)
        if (strcmp(p->services[i].name, name) == 0)
            return &p->services[i];
    return NULL;
}

struct servin_compose_volume *servin_compose_volume_find(const struct servin_compose_project *p,
                                                         const char *key)
{
    for (size_t i = 0; i < p->n_volumes; i++)
        if (strcmp(p->volumes[i].key, key) == 0)
            return &p->volumes[i];
    return NULL;
}

struct servin_compose_network *servin_compose_network_find(const struct servin_compose_project *p,
                                                           const char *key)
{
    for (size_t i = 0; i < p->n_networks; i++)
        if (strcmp(p->networks[i].key, key) == 0)
            return &p->networks[i];
    return NULL;
}

struct servin_compose_file_def *servin_compose_config_find(const struct servin_compose_project *p,
                                                           const char *key)
{
    for (size_t i = 0; i < p->n_configs; i++)
        if (strcmp(p->configs[i].key, key) == 0)
            return &p->configs[i];
    return NULL;
}

struct servin_compose_file_def *servin_compose_secret_find(const struct servin_compose_project *p,
                                                           const char *key)
{
    for (size_t i = 0; i < p->n_secrets; i++)
        if (strcmp(p->secrets[i].key, key) == 0)
            return &p->secrets[i];
    return NULL;
}

const char *servin_compose_project_getenv(const struct servin_compose_project *p, const char *key)
{
    return ckv_get(&p->env, key, NULL);
}
