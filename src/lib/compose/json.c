/* compose/json.c — the resolved model as JSON, in the shape `docker compose config --format json`
 * prints; the YAML output and the config hash are made from it. */
#include <jansson.h>
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"
#include "servin/digest.h"

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static void set_strv(json_t *o, const char *k, char *const *v)
{
    if (!v)
        return;
    json_t *a = json_array();
    for (; *v; v++)
        json_array_append_new(a, json_string(*v));
    json_object_set_new(o, k, a);
}

static void set_kv(json_t *o, const char *k, const struct servin_compose_kvlist *l)
{
    if (!l->n)
        return;
    json_t *m = json_object();
    for (size_t i = 0; i < l->n; i++)
        json_object_set_new(m, l->items[i].key,
                            l->items[i].value ? json_string(l->items[i].value) : json_null());
    json_object_set_new(o, k, m);
}

static void set_dur(json_t *o, const char *k, int64_t ns)
{
    if (ns < 0)
        return;
    /* as Go prints durations: 1m30s, 500ms, 0s */
    char buf[64];
    if (ns == 0)
        snprintf(buf, sizeof(buf), "0s");
    else if (ns % 1000000000 == 0) {
        long long s = ns / 1000000000, h = s / 3600, m = s / 60 % 60;
        s %= 60;
        if (h)
            snprintf(buf, sizeof(buf), "%lldh%lldm%llds", h, m, s);
        else if (m)
            snprintf(buf, sizeof(buf), "%lldm%llds", m, s);
        else
            snprintf(buf, sizeof(buf), "%llds", s);
    } else if (ns % 1000000 == 0)
        snprintf(buf, sizeof(buf), "%lldms", (long long)(ns / 1000000));
    else
        snprintf(buf, sizeof(buf), "%lldns", (long long)ns);
    json_object_set_new(o, k, json_string(buf));
}

static json_t *refs_json(const struct servin_compose_file_ref *r, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        set_str(o, "source", r[i].source);
        set_str(o, "target", r[i].target);
        set_str(o, "uid", r[i].uid);
        set_str(o, "gid", r[i].gid);
        if (r[i].mode >= 0)
            json_object_set_new(o, "mode", json_integer(r[i].mode));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *mount_json(const struct servin_compose_mount *m)
{
    static const char *const types[] = {"volume", "bind", "tmpfs"};
    json_t *o = json_object();
    set_str(o, "type", types[m->type]);
    set_str(o, "source", m->source);
    set_str(o, "target", m->target);
    if (m->read_only)
        json_object_set_new(o, "read_only", json_true());
    if (m->type == SERVIN_COMPOSE_MOUNT_BIND) {
        json_t *b = json_object();
        json_object_set_new(b, "create_host_path", json_boolean(m->bind_create_host_path));
        set_str(b, "propagation", m->bind_propagation);
        set_str(b, "selinux", m->bind_selinux);
        json_object_set_new(o, "bind", b);
    } else if (m->type == SERVIN_COMPOSE_MOUNT_VOLUME && (m->volume_nocopy || m->volume_subpath)) {
        json_t *v = json_object();
        if (m->volume_nocopy)
            json_object_set_new(v, "nocopy", json_true());
        set_str(v, "subpath", m->volume_subpath);
        json_object_set_new(o, "volume", v);
    } else if (m->type == SERVIN_COMPOSE_MOUNT_TMPFS && (m->tmpfs_size >= 0 || m->tmpfs_mode >= 0)) {
        json_t *t = json_object();
        if (m->tmpfs_size >= 0)
            json_object_set_new(t, "size", json_integer(m->tmpfs_size));
        if (m->tmpfs_mode >= 0) { /* octal, as it is written and read */
            char mode[16];
            snprintf(mode, sizeof(mode), "%o", (unsigned)m->tmpfs_mode);
            json_object_set_new(t, "mode", json_string(mode));
        }
        json_object_set_new(o, "tmpfs", t);
    }
    return o;
}

json_t *compose_service_json(const struct servin_compose_project *p, const struct servin_compose_service *s)
{
    json_t *o = json_object();
    if (s->build) {
        json_t *b = json_object();
        set_str(b, "context", s->build->context);
        set_str(b, "dockerfile", s->build->dockerfile ? s->build->dockerfile : "Dockerfile");
        set_kv(b, "args", &s->build->args);
        set_str(b, "target", s->build->target);
        set_kv(b, "labels", &s->build->labels);
        set_str(b, "network", s->build->network);
        set_strv(b, "tags", s->build->tags);
        json_object_set_new(o, "build", b);
    }
    set_strv(o, "cap_add", s->cap_add);
    set_strv(o, "cap_drop", s->cap_drop);
    if (s->command_set)
        set_strv(o, "command", s->command);
    if (s->n_configs)
        json_object_set_new(o, "configs", refs_json(s->configs, s->n_configs));
    set_str(o, "container_name", s->container_name);
    if (s->deploy.replicas >= 0 || s->deploy.memory_limit >= 0 || s->deploy.nano_cpus >= 0 ||
        s->deploy.pids_limit >= 0 || s->deploy.memory_reservation >= 0) {
        json_t *d = json_object();
        if (s->deploy.replicas >= 0)
            json_object_set_new(d, "replicas", json_integer(s->deploy.replicas));
        json_t *res = json_object(), *lim = json_object();
        if (s->deploy.nano_cpus >= 0) {
            char cpus[32];
            snprintf(cpus, sizeof(cpus), "%g", (double)s->deploy.nano_cpus / 1e9);
            json_object_set_new(lim, "cpus", json_string(cpus));
        }
        if (s->deploy.memory_limit >= 0)
            json_object_set_new(lim, "memory", json_integer(s->deploy.memory_limit));
        if (s->deploy.pids_limit >= 0)
            json_object_set_new(lim, "pids", json_integer(s->deploy.pids_limit));
        if (json_object_size(lim))
            json_object_set(res, "limits", lim);
        json_decref(lim);
        if (s->deploy.memory_reservation >= 0) {
            json_t *rv = json_object();
            json_object_set_new(rv, "memory", json_integer(s->deploy.memory_reservation));
            json_object_set_new(res, "reservations", rv);
        }
        if (json_object_size(res))
            json_object_set(d, "resources", res);
        json_decref(res);
        json_object_set_new(o, "deploy", d);
    }
    if (s->n_depends_on) {
        static const char *const conds[] = {"service_started", "service_healthy",
                                            "service_completed_successfully"};
        json_t *d = json_object();
        for (size_t i = 0; i < s->n_depends_on; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "condition", json_string(conds[s->depends_on[i].condition]));
            json_object_set_new(e, "required", json_boolean(s->depends_on[i].required));
            if (s->depends_on[i].restart)
                json_object_set_new(e, "restart", json_true());
            json_object_set_new(d, s->depends_on[i].service, e);
        }
        json_object_set_new(o, "depends_on", d);
    }
    set_strv(o, "dns", s->dns);
    set_strv(o, "dns_opt", s->dns_opt);
    set_strv(o, "dns_search", s->dns_search);
    set_str(o, "domainname", s->domainname);
    if (s->entrypoint_set)
        set_strv(o, "entrypoint", s->entrypoint);
    set_kv(o, "environment", &s->environment);
    set_strv(o, "expose", s->expose);
    set_strv(o, "extra_hosts", s->extra_hosts);
    if (s->healthcheck.present) {
        const struct servin_compose_healthcheck *h = &s->healthcheck;
        json_t *hc = json_object();
        if (h->disable)
            json_object_set_new(hc, "disable", json_true());
        set_strv(hc, "test", h->test);
        set_dur(hc, "interval", h->interval_ns);
        set_dur(hc, "timeout", h->timeout_ns);
        set_dur(hc, "start_period", h->start_period_ns);
        set_dur(hc, "start_interval", h->start_interval_ns);
        if (h->retries >= 0)
            json_object_set_new(hc, "retries", json_integer(h->retries));
        json_object_set_new(o, "healthcheck", hc);
    }
    set_str(o, "hostname", s->hostname);
    set_str(o, "image", s->image);
    if (s->init >= 0)
        json_object_set_new(o, "init", json_boolean(s->init));
    set_str(o, "ipc", s->ipc);
    set_kv(o, "labels", &s->labels);
    if (s->logging.driver || s->logging.options.n) {
        json_t *l = json_object();
        set_str(l, "driver", s->logging.driver);
        set_kv(l, "options", &s->logging.options);
        json_object_set_new(o, "logging", l);
    }
    set_str(o, "network_mode", s->network_mode);
    if (s->n_networks) {
        json_t *n = json_object();
        for (size_t i = 0; i < s->n_networks; i++) {
            const struct servin_compose_service_network *sn = &s->networks[i];
            json_t *e = json_object();
            set_strv(e, "aliases", sn->aliases);
            set_str(e, "ipv4_address", sn->ipv4_address);
            set_str(e, "ipv6_address", sn->ipv6_address);
            if (sn->priority)
                json_object_set_new(e, "priority", json_integer(sn->priority));
            if (json_object_size(e))
                json_object_set_new(n, sn->name, e);
            else {
                json_decref(e);
                json_object_set_new(n, sn->name, json_null());
            }
        }
        json_object_set_new(o, "networks", n);
    }
    set_str(o, "pid", s->pid);
    set_str(o, "platform", s->platform);
    if (s->n_ports) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->n_ports; i++) {
            const struct servin_compose_port *pt = &s->ports[i];
            json_t *e = json_object();
            set_str(e, "name", pt->name);
            set_str(e, "mode", pt->mode);
            set_str(e, "host_ip", pt->host_ip);
            json_object_set_new(e, "target", json_integer(pt->target));
            set_str(e, "published", pt->published);
            set_str(e, "protocol", pt->protocol);
            set_str(e, "app_protocol", pt->app_protocol);
            json_array_append_new(a, e);
        }
        json_object_set_new(o, "ports", a);
    }
    if (s->privileged)
        json_object_set_new(o, "privileged", json_true());
    set_strv(o, "profiles", s->profiles);
    set_str(o, "pull_policy", s->pull_policy);
    if (s->read_only)
        json_object_set_new(o, "read_only", json_true());
    set_str(o, "restart", s->restart);
    if (s->n_secrets)
        json_object_set_new(o, "secrets", refs_json(s->secrets, s->n_secrets));
    set_strv(o, "security_opt", s->security_opt);
    if (s->shm_size >= 0)
        json_object_set_new(o, "shm_size", json_integer(s->shm_size));
    if (s->stdin_open)
        json_object_set_new(o, "stdin_open", json_true());
    set_dur(o, "stop_grace_period", s->stop_grace_period_ns);
    set_str(o, "stop_signal", s->stop_signal);
    set_kv(o, "sysctls", &s->sysctls);
    set_strv(o, "tmpfs", s->tmpfs);
    if (s->tty)
        json_object_set_new(o, "tty", json_true());
    if (s->n_ulimits) {
        json_t *u = json_object();
        for (size_t i = 0; i < s->n_ulimits; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "soft", json_integer(s->ulimits[i].soft));
            json_object_set_new(e, "hard", json_integer(s->ulimits[i].hard));
            json_object_set_new(u, s->ulimits[i].name, e);
        }
        json_object_set_new(o, "ulimits", u);
    }
    set_str(o, "user", s->user);
    if (s->n_volumes) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->n_volumes; i++)
            json_array_append_new(a, mount_json(&s->volumes[i]));
        json_object_set_new(o, "volumes", a);
    }
    set_str(o, "working_dir", s->working_dir);
    (void)p;
    return o;
}

static json_t *file_defs_json(const struct servin_compose_file_def *d, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object();
        set_str(e, "name", d[i].name);
        set_str(e, "file", d[i].file);
        set_str(e, "environment", d[i].environment);
        set_str(e, "content", d[i].content);
        if (d[i].external)
            json_object_set_new(e, "external", json_true());
        json_object_set_new(o, d[i].key, e);
    }
    return o;
}

static json_t *project_json(const struct servin_compose_project *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(p->name));
    json_t *svcs = json_object();
    for (size_t i = 0; i < p->n_services; i++)
        json_object_set_new(svcs, p->services[i].name, compose_service_json(p, &p->services[i]));
    json_object_set_new(o, "services", svcs);
    if (p->n_networks) {
        json_t *nets = json_object();
        for (size_t i = 0; i < p->n_networks; i++) {
            const struct servin_compose_network *n = &p->networks[i];
            json_t *e = json_object();
            set_str(e, "name", n->name);
            set_str(e, "driver", n->driver);
            set_kv(e, "driver_opts", &n->driver_opts);
            if (n->external)
                json_object_set_new(e, "external", json_true());
            if (n->internal)
                json_object_set_new(e, "internal", json_true());
            if (n->attachable)
                json_object_set_new(e, "attachable", json_true());
            if (n->enable_ipv6)
                json_object_set_new(e, "enable_ipv6", json_true());
            if (n->ipam_driver || n->n_ipam_config) {
                json_t *ipam = json_object();
                set_str(ipam, "driver", n->ipam_driver);
                if (n->n_ipam_config) {
                    json_t *a = json_array();
                    for (size_t j = 0; j < n->n_ipam_config; j++) {
                        json_t *c = json_object();
                        set_str(c, "subnet", n->ipam_config[j].subnet);
                        set_str(c, "gateway", n->ipam_config[j].gateway);
                        set_str(c, "ip_range", n->ipam_config[j].ip_range);
                        json_array_append_new(a, c);
                    }
                    json_object_set_new(ipam, "config", a);
                }
                json_object_set_new(e, "ipam", ipam);
            }
            set_kv(e, "labels", &n->labels);
            json_object_set_new(nets, n->key, e);
        }
        json_object_set_new(o, "networks", nets);
    }
    if (p->n_volumes) {
        json_t *vols = json_object();
        for (size_t i = 0; i < p->n_volumes; i++) {
            const struct servin_compose_volume *v = &p->volumes[i];
            json_t *e = json_object();
            set_str(e, "name", v->name);
            set_str(e, "driver", v->driver);
            set_kv(e, "driver_opts", &v->driver_opts);
            if (v->external)
                json_object_set_new(e, "external", json_true());
            set_kv(e, "labels", &v->labels);
            json_object_set_new(vols, v->key, e);
        }
        json_object_set_new(o, "volumes", vols);
    }
    if (p->n_configs)
        json_object_set_new(o, "configs", file_defs_json(p->configs, p->n_configs));
    if (p->n_secrets)
        json_object_set_new(o, "secrets", file_defs_json(p->secrets, p->n_secrets));
    return o;
}

void servin_compose_project_write_json(const struct servin_compose_project *p, FILE *out)
{
    json_t *o = project_json(p);
    json_dumpf(o, out, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', out);
    json_decref(o);
}

void compose_yaml_write(json_t *v, FILE *out);

void servin_compose_project_write_yaml(const struct servin_compose_project *p, FILE *out)
{
    json_t *o = project_json(p);
    compose_yaml_write(o, out);
    json_decref(o);
}

void servin_compose_service_config_hash(const struct servin_compose_project *p,
                                        const struct servin_compose_service *s, char out[65])
{
    json_t *o = compose_service_json(p, s);
    /* the scale is not part of a container's configuration: changing it must not recreate */
    json_t *d = json_object_get(o, "deploy");
    if (d) {
        json_object_del(d, "replicas");
        if (!json_object_size(d))
            json_object_del(o, "deploy");
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    char digest[SERVIN_DIGEST_MAX];
    servin_digest_bytes(text, strlen(text), digest);
    free(text);
    snprintf(out, 65, "%s", servin_digest_hex(digest));
}
