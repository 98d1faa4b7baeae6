/* compose/service_spec.c — a compose service as Docker's container create body, and its creation
 * through servin_container_create (the path `servin run` and the Docker API take). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "servin/cleanup.h"
#include "servin/compose_stack.h"
#include "servin/fs.h"
#include "servin/log.h"
#include "servin/network.h"
#include "servin/version.h"

char *servin_compose_service_image(const struct servin_compose_project *p,
                                   const struct servin_compose_service *s)
{
    if (s->image && *s->image)
        return xstrdup(s->image);
    return xasprintf("%s-%s", p->name, s->name);
}

char *servin_compose_container_name(const struct servin_compose_project *p,
                                    const struct servin_compose_service *s, int number)
{
    if (s->container_name && *s->container_name)
        return xstrdup(s->container_name);
    return xasprintf("%s-%s-%d", p->name, s->name, number);
}

static json_t *strv_json(char **v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *obj(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

static json_t *arr(json_t *parent, const char *key)
{
    json_t *a = json_object_get(parent, key);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(parent, key, a);
    }
    return a;
}

/* restart: "no", "always", "unless-stopped", "on-failure[:N]". */
static int restart_policy(const char *text, json_t *host, struct servin_error *err)
{
    const char *name = text && *text ? text : "no";
    long long max = 0;
    _cleanup_free_ char *base = xstrdup(name);
    char *colon = strchr(base, ':');
    if (colon) {
        *colon = '\0';
        char *end = NULL;
        max = strtoll(colon + 1, &end, 10);
        if (end == colon + 1 || *end || max < 0 || strcmp(base, "on-failure") != 0)
            return servin_error_set(err, EINVAL, "invalid restart policy \"%s\"", text);
    }
    if (strcmp(base, "no") != 0 && strcmp(base, "always") != 0 && strcmp(base, "unless-stopped") != 0 &&
        strcmp(base, "on-failure") != 0)
        return servin_error_set(
            err, EINVAL, "invalid restart policy \"%s\": use no, always, unless-stopped or on-failure[:N]",
            text);
    json_object_set_new(host, "RestartPolicy",
                        json_pack("{s:s,s:I}", "Name", base, "MaximumRetryCount", max));
    return 0;
}

/* security_opt in Docker's API spelling. */
static int security_opts(char **opts, json_t *host, struct servin_error *err)
{
    for (size_t i = 0; opts && opts[i]; i++) {
        const char *o = opts[i];
        if (strcmp(o, "no-new-privileges") == 0 || strcmp(o, "no-new-privileges:true") == 0 ||
            strcmp(o, "no-new-privileges=true") == 0) {
            json_array_append_new(arr(host, "SecurityOpt"), json_string("no-new-privileges"));
        } else if (strcmp(o, "no-new-privileges:false") == 0 || strcmp(o, "no-new-privileges=false") == 0) {
            continue;
        } else if (strncmp(o, "seccomp:", 8) == 0 || strncmp(o, "seccomp=", 8) == 0) {
            const char *v = o + 8;
            if (strcmp(v, "unconfined") == 0) {
                json_array_append_new(arr(host, "SecurityOpt"), json_string("seccomp=unconfined"));
                continue;
            }
            json_error_t jerr;
            json_t *profile = json_load_file(v, 0, &jerr);
            if (!profile)
                return servin_error_set(err, EINVAL, "security_opt %s: cannot read the seccomp profile: %s",
                                        o, jerr.text);
            _cleanup_free_ char *dump = json_dumps(profile, JSON_COMPACT);
            json_decref(profile);
            _cleanup_free_ char *entry = xasprintf("seccomp=%s", dump);
            json_array_append_new(arr(host, "SecurityOpt"), json_string(entry));
        } else if (strncmp(o, "label", 5) == 0 || strncmp(o, "apparmor", 8) == 0) {
            continue; /* no SELinux or AppArmor here, as Docker ignores them without */
        } else {
            return servin_error_set(err, EINVAL,
                                    "security_opt \"%s\" is not supported: use no-new-privileges, "
                                    "seccomp:unconfined or seccomp:PROFILE.json",
                                    o);
        }
    }
    return 0;
}

static void add_env(const struct servin_compose_project *p, const struct servin_compose_kvlist *env,
                    json_t *out)
{
    for (size_t i = 0; i < env->n; i++) {
        const char *v = env->items[i].value;
        /* A bare name takes the value from the project's environment, and is dropped when unset. */
        if (!v)
            v = servin_compose_project_getenv(p, env->items[i].key);
        if (!v)
            continue;
        _cleanup_free_ char *kv = xasprintf("%s=%s", env->items[i].key, v);
        json_array_append_new(out, json_string(kv));
    }
}

static int add_ports(const struct servin_compose_service *s, json_t *cfg, json_t *host,
                     struct servin_error *err)
{
    for (size_t i = 0; s->expose && s->expose[i]; i++) {
        _cleanup_free_ char *e = xstrdup(s->expose[i]);
        char *proto = strchr(e, '/');
        if (proto)
            *proto++ = '\0';
        char *dash = strchr(e, '-');
        long first = strtol(e, NULL, 10), last = dash ? strtol(dash + 1, NULL, 10) : first;
        if (first <= 0 || last < first || last > 65535)
            return servin_error_set(err, EINVAL, "service %s: invalid expose \"%s\"", s->name, s->expose[i]);
        for (long port = first; port <= last; port++) {
            _cleanup_free_ char *key = xasprintf("%ld/%s", port, proto ? proto : "tcp");
            json_object_set_new(obj(cfg, "ExposedPorts"), key, json_object());
        }
    }
    for (size_t i = 0; i < s->n_ports; i++) {
        const struct servin_compose_port *pt = &s->ports[i];
        const char *proto = pt->protocol && *pt->protocol ? pt->protocol : "tcp";
        _cleanup_free_ char *key = xasprintf("%u/%s", pt->target, proto);
        json_object_set_new(obj(cfg, "ExposedPorts"), key, json_object());
        if (!pt->published && !pt->host_ip)
            continue;
        _cleanup_free_ char *published = xstrdup(pt->published ? pt->published : "");
        /* A range asks for any free port in it; only its first one is tried here. */
        char *dash = strchr(published, '-');
        if (dash)
            *dash = '\0';
        json_array_append_new(
            arr(obj(host, "PortBindings"), key),
            json_pack("{s:s,s:s}", "HostIp", pt->host_ip ? pt->host_ip : "", "HostPort", published));
    }
    return 0;
}

static int add_mounts(struct servin_compose_env *env, const struct servin_compose_service *s, json_t *host,
                      struct servin_error *err)
{
    const struct servin_compose_project *p = env->project;
    for (size_t i = 0; i < s->n_volumes; i++) {
        const struct servin_compose_mount *m = &s->volumes[i];
        json_t *entry = json_pack("{s:s,s:b}", "Target", m->target, "ReadOnly", m->read_only);
        switch (m->type) {
        case SERVIN_COMPOSE_MOUNT_VOLUME: {
            json_object_set_new(entry, "Type", json_string("volume"));
            if (m->source) {
                const struct servin_compose_volume *v = servin_compose_volume_find(p, m->source);
                if (!v) {
                    json_decref(entry);
                    return servin_error_set(err, EINVAL, "service %s refers to undefined volume %s", s->name,
                                            m->source);
                }
                json_object_set_new(entry, "Source", json_string(v->name));
            }
            if (m->volume_nocopy)
                json_object_set_new(obj(entry, "VolumeOptions"), "NoCopy", json_true());
            break;
        }
        case SERVIN_COMPOSE_MOUNT_BIND: {
            json_object_set_new(entry, "Type", json_string("bind"));
            json_object_set_new(entry, "Source", json_string(m->source ? m->source : ""));
            json_t *bo = obj(entry, "BindOptions");
            if (m->bind_propagation)
                json_object_set_new(bo, "Propagation", json_string(m->bind_propagation));
            if (m->bind_create_host_path)
                json_object_set_new(bo, "CreateMountpoint", json_true());
            break;
        }
        case SERVIN_COMPOSE_MOUNT_TMPFS: {
            json_object_set_new(entry, "Type", json_string("tmpfs"));
            json_t *to = obj(entry, "TmpfsOptions");
            if (m->tmpfs_size > 0)
                json_object_set_new(to, "SizeBytes", json_integer(m->tmpfs_size));
            if (m->tmpfs_mode >= 0)
                json_object_set_new(to, "Mode", json_integer(m->tmpfs_mode));
            break;
        }
        }
        json_array_append_new(arr(host, "Mounts"), entry);
    }
    for (size_t i = 0; s->tmpfs && s->tmpfs[i]; i++) {
        const char *colon = strchr(s->tmpfs[i], ':');
        _cleanup_free_ char *dst =
            colon ? xstrndup(s->tmpfs[i], (size_t)(colon - s->tmpfs[i])) : xstrdup(s->tmpfs[i]);
        json_object_set_new(obj(host, "Tmpfs"), dst, json_string(colon ? colon + 1 : ""));
    }
    return 0;
}

/* A config or secret as a read-only bind of a file: the file itself, or what the store keeps of
 * its content (inline content, or an environment variable's value). */
static int add_file_refs(struct servin_compose_env *env, const struct servin_compose_service *s, bool secrets,
                         json_t *host, struct servin_error *err)
{
    const struct servin_compose_project *p = env->project;
    size_t n = secrets ? s->n_secrets : s->n_configs;
    const struct servin_compose_file_ref *refs = secrets ? s->secrets : s->configs;
    const char *what = secrets ? "secret" : "config";
    for (size_t i = 0; i < n; i++) {
        const struct servin_compose_file_ref *ref = &refs[i];
        const struct servin_compose_file_def *def =
            secrets ? servin_compose_secret_find(p, ref->source) : servin_compose_config_find(p, ref->source);
        if (!def)
            return servin_error_set(err, EINVAL, "service %s refers to undefined %s %s", s->name, what,
                                    ref->source);
        if (def->external)
            return servin_error_set(err, ENOTSUP, "service %s: external %s %s is not supported (swarm only)",
                                    s->name, what, ref->source);
        _cleanup_free_ char *source = NULL;
        if (def->file) {
            source = xstrdup(def->file);
        } else {
            const char *content = def->content;
            if (def->environment) {
                content = servin_compose_project_getenv(p, def->environment);
                if (!content)
                    return servin_error_set(err, EINVAL, "%s %s: environment variable %s is not set", what,
                                            ref->source, def->environment);
            }
            if (!content)
                return servin_error_set(err, EINVAL, "%s %s has no file, content or environment", what,
                                        ref->source);
            _cleanup_free_ char *dir = servin_store_path(env->store, "compose/%s/%ss", p->name, what);
            int r = servin_mkdir_p(dir, 0700, err);
            if (r < 0)
                return r;
            source = xasprintf("%s/%s", dir, def->key);
            r = servin_write_file_atomic(source, content, strlen(content), 0644, err);
            if (r < 0)
                return r;
        }
        _cleanup_free_ char *target = NULL;
        if (ref->target && ref->target[0] == '/')
            target = xstrdup(ref->target);
        else if (secrets)
            target = xasprintf("/run/secrets/%s", ref->target ? ref->target : ref->source);
        else
            target = xasprintf("/%s", ref->target ? ref->target : ref->source);
        json_array_append_new(arr(host, "Mounts"), json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind", "Source",
                                                             source, "Target", target, "ReadOnly", 1));
    }
    return 0;
}

static int add_healthcheck(const struct servin_compose_healthcheck *h, json_t *cfg)
{
    if (!h->present)
        return 0;
    json_t *hc = json_object();
    if (h->disable) {
        json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
    } else {
        if (h->test)
            json_object_set_new(hc, "Test", strv_json(h->test));
        if (h->interval_ns > 0)
            json_object_set_new(hc, "Interval", json_integer(h->interval_ns));
        if (h->timeout_ns > 0)
            json_object_set_new(hc, "Timeout", json_integer(h->timeout_ns));
        if (h->start_period_ns > 0)
            json_object_set_new(hc, "StartPeriod", json_integer(h->start_period_ns));
        if (h->retries >= 0)
            json_object_set_new(hc, "Retries", json_integer(h->retries));
    }
    json_object_set_new(cfg, "Healthcheck", hc);
    return 0;
}

/* The service's networks, highest priority first (Docker Compose's order), then as listed. */
static int network_order(const void *a, const void *b)
{
    const struct servin_compose_service_network *x = *(struct servin_compose_service_network *const *)a;
    const struct servin_compose_service_network *y = *(struct servin_compose_service_network *const *)b;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return x < y ? -1 : x > y;
}

static json_t *endpoint(const struct servin_compose_service *s,
                        const struct servin_compose_service_network *sn)
{
    json_t *ep = json_object();
    json_t *aliases = json_array();
    json_array_append_new(aliases, json_string(s->name));
    for (size_t i = 0; sn->aliases && sn->aliases[i]; i++)
        json_array_append_new(aliases, json_string(sn->aliases[i]));
    json_object_set_new(ep, "Aliases", aliases);
    if (sn->ipv4_address)
        json_object_set_new(obj(ep, "IPAMConfig"), "IPv4Address", json_string(sn->ipv4_address));
    return ep;
}

static int add_networks(struct servin_compose_env *env, const struct servin_compose_service *s, int number,
                        json_t *body, json_t **extra, struct servin_error *err)
{
    const struct servin_compose_project *p = env->project;
    json_t *host = json_object_get(body, "HostConfig");
    *extra = NULL;
    if (s->network_mode && *s->network_mode) {
        const char *mode = s->network_mode;
        if (strncmp(mode, "service:", 8) == 0) {
            /* Join the first running container of that service. */
            char *svc[] = {(char *)(mode + 8), NULL};
            struct servin_container *list = NULL;
            size_t n = 0;
            int r = servin_compose_containers(env->store, p->name, svc, SERVIN_COMPOSE_ONLY_ACTIVE, &list, &n,
                                              err);
            if (r < 0)
                return r;
            if (n == 0) {
                servin_containers_free(list, n);
                return servin_error_set(err, ENOENT,
                                        "service %s uses network_mode %s, but no container of %s runs",
                                        s->name, mode, mode + 8);
            }
            _cleanup_free_ char *target = xasprintf("container:%s", list[0].id);
            servin_containers_free(list, n);
            json_object_set_new(host, "NetworkMode", json_string(target));
        } else {
            json_object_set_new(host, "NetworkMode",
                                json_string(strcmp(mode, "bridge") == 0 ? "default" : mode));
        }
        return 0;
    }
    if (s->n_networks == 0) {
        json_object_set_new(host, "NetworkMode", json_string("default"));
        return 0;
    }
    _cleanup_free_ struct servin_compose_service_network **nets = xcalloc(s->n_networks, sizeof(*nets));
    for (size_t i = 0; i < s->n_networks; i++)
        nets[i] = &s->networks[i];
    qsort(nets, s->n_networks, sizeof(*nets), network_order);
    for (size_t i = 0; i < s->n_networks; i++) {
        const struct servin_compose_network *net = servin_compose_network_find(p, nets[i]->name);
        if (!net)
            return servin_error_set(err, EINVAL, "service %s refers to undefined network %s", s->name,
                                    nets[i]->name);
        json_t *ep = endpoint(s, nets[i]);
        if (i == 0) {
            json_object_set_new(host, "NetworkMode", json_string(net->name));
            json_object_set_new(obj(obj(body, "NetworkingConfig"), "EndpointsConfig"), net->name, ep);
        } else {
            if (!*extra)
                *extra = json_array();
            json_object_set_new(ep, "Name", json_string(net->name));
            json_array_append_new(*extra, ep);
        }
    }
    (void)number;
    return 0;
}

static char *depends_label(const struct servin_compose_service *s)
{
    char *out = xstrdup("");
    static const char *const conds[] = {"service_started", "service_healthy",
                                        "service_completed_successfully"};
    for (size_t i = 0; i < s->n_depends_on; i++) {
        const struct servin_compose_depends *d = &s->depends_on[i];
        char *next = xasprintf("%s%s%s:%s:%s", out, *out ? "," : "", d->service, conds[d->condition],
                               d->restart ? "true" : "false");
        free(out);
        out = next;
    }
    return out;
}

static char *join(char **v, const char *sep)
{
    char *out = xstrdup("");
    for (size_t i = 0; v && v[i]; i++) {
        char *next = xasprintf("%s%s%s", out, i ? sep : "", v[i]);
        free(out);
        out = next;
    }
    return out;
}

int servin_compose_service_body(struct servin_compose_env *env, const struct servin_compose_service *s,
                                int number, json_t **body_out, json_t **extra_networks,
                                struct servin_error *err)
{
    const struct servin_compose_project *p = env->project;
    json_t *cfg = json_object();
    json_t *host = json_object();
    json_t *body = json_pack("{s:o,s:o}", "Config", cfg, "HostConfig", host);
    _cleanup_free_ char *image = servin_compose_service_image(p, s);
    json_object_set_new(cfg, "Image", json_string(image));
    if (s->hostname)
        json_object_set_new(cfg, "Hostname", json_string(s->hostname));
    if (s->domainname)
        json_object_set_new(cfg, "Domainname", json_string(s->domainname));
    if (s->user)
        json_object_set_new(cfg, "User", json_string(s->user));
    if (s->working_dir)
        json_object_set_new(cfg, "WorkingDir", json_string(s->working_dir));
    json_t *envs = json_array();
    add_env(p, &s->environment, envs);
    json_object_set_new(cfg, "Env", envs);
    if (s->command_set)
        json_object_set_new(cfg, "Cmd", strv_json(s->command));
    if (s->entrypoint_set)
        json_object_set_new(cfg, "Entrypoint", strv_json(s->entrypoint));
    json_object_set_new(cfg, "Tty", json_boolean(s->tty));
    json_object_set_new(cfg, "OpenStdin", json_boolean(s->stdin_open));
    json_object_set_new(cfg, "AttachStdin", json_false());
    json_object_set_new(cfg, "AttachStdout", json_false());
    json_object_set_new(cfg, "AttachStderr", json_false());
    if (s->stop_signal)
        json_object_set_new(cfg, "StopSignal", json_string(s->stop_signal));
    if (s->stop_grace_period_ns >= 0)
        json_object_set_new(cfg, "StopTimeout",
                            json_integer((s->stop_grace_period_ns + 999999999) / 1000000000));
    add_healthcheck(&s->healthcheck, cfg);

    /* Labels: the service's, then Docker Compose's own. */
    json_t *labels = json_object();
    for (size_t i = 0; i < s->labels.n; i++)
        json_object_set_new(labels, s->labels.items[i].key,
                            json_string(s->labels.items[i].value ? s->labels.items[i].value : ""));
    char hash[65];
    servin_compose_service_config_hash(p, s, hash);
    _cleanup_free_ char *num = xasprintf("%d", number);
    _cleanup_free_ char *files = join(p->files, ",");
    _cleanup_free_ char *deps = depends_label(s);
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_PROJECT, json_string(p->name));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_SERVICE, json_string(s->name));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_NUMBER, json_string(number > 0 ? num : "1"));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_ONEOFF, json_string(number > 0 ? "False" : "True"));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_CONFIG_HASH, json_string(hash));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_WORKING_DIR,
                        json_string(p->working_dir ? p->working_dir : ""));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_CONFIG_FILES, json_string(files));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_DEPENDS_ON, json_string(deps));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_VERSION, json_string(SERVIN_VERSION));
    json_object_set_new(labels, SERVIN_COMPOSE_LABEL_IMAGE, json_string(image));
    json_object_set_new(cfg, "Labels", labels);

    int r = restart_policy(s->restart, host, err);
    if (r == 0)
        r = security_opts(s->security_opt, host, err);
    if (r == 0)
        r = add_ports(s, cfg, host, err);
    if (r == 0)
        r = add_mounts(env, s, host, err);
    if (r == 0)
        r = add_file_refs(env, s, false, host, err);
    if (r == 0)
        r = add_file_refs(env, s, true, host, err);
    if (r == 0)
        r = add_networks(env, s, number, body, extra_networks, err);
    if (r < 0) {
        json_decref(body);
        return servin_error_wrap(err, "service %s", s->name);
    }
    json_object_set_new(host, "AutoRemove", json_false());
    if (s->deploy.memory_limit > 0)
        json_object_set_new(host, "Memory", json_integer(s->deploy.memory_limit));
    if (s->deploy.nano_cpus > 0)
        json_object_set_new(host, "NanoCpus", json_integer(s->deploy.nano_cpus));
    if (s->deploy.pids_limit > 0)
        json_object_set_new(host, "PidsLimit", json_integer(s->deploy.pids_limit));
    if (s->shm_size > 0)
        json_object_set_new(host, "ShmSize", json_integer(s->shm_size));
    if (s->read_only)
        json_object_set_new(host, "ReadonlyRootfs", json_true());
    if (s->privileged)
        json_object_set_new(host, "Privileged", json_true());
    if (s->init == 1)
        json_object_set_new(host, "Init", json_true());
    if (s->cap_add)
        json_object_set_new(host, "CapAdd", strv_json(s->cap_add));
    if (s->cap_drop)
        json_object_set_new(host, "CapDrop", strv_json(s->cap_drop));
    for (size_t i = 0; i < s->n_ulimits; i++)
        json_array_append_new(arr(host, "Ulimits"), json_pack("{s:s,s:I,s:I}", "Name", s->ulimits[i].name,
                                                              "Soft", (json_int_t)s->ulimits[i].soft, "Hard",
                                                              (json_int_t)s->ulimits[i].hard));
    if (s->extra_hosts)
        json_object_set_new(host, "ExtraHosts", strv_json(s->extra_hosts));
    if (s->dns)
        json_object_set_new(host, "Dns", strv_json(s->dns));
    if (s->dns_search)
        json_object_set_new(host, "DnsSearch", strv_json(s->dns_search));
    if (s->dns_opt)
        json_object_set_new(host, "DnsOptions", strv_json(s->dns_opt));
    for (size_t i = 0; i < s->sysctls.n; i++)
        json_object_set_new(obj(host, "Sysctls"), s->sysctls.items[i].key,
                            json_string(s->sysctls.items[i].value ? s->sysctls.items[i].value : ""));
    json_t *log = obj(host, "LogConfig");
    if (s->logging.driver)
        json_object_set_new(log, "Type", json_string(s->logging.driver));
    json_t *log_cfg = obj(log, "Config");
    for (size_t i = 0; i < s->logging.options.n; i++)
        json_object_set_new(
            log_cfg, s->logging.options.items[i].key,
            json_string(s->logging.options.items[i].value ? s->logging.options.items[i].value : ""));
    *body_out = body;
    return 0;
}

/* The override's Config/HostConfig keys replace the body's, except Labels, which are added. */
static void merge_over(json_t *body, json_t *override)
{
    const char *section;
    json_t *fields;
    json_object_foreach (override, section, fields) {
        json_t *into = json_object_get(body, section);
        if (!json_is_object(into) || !json_is_object(fields)) {
            json_object_set(body, section, fields);
            continue;
        }
        const char *k;
        json_t *v;
        json_object_foreach (fields, k, v) {
            json_t *cur = json_object_get(into, k);
            if (strcmp(k, "Labels") == 0 && json_is_object(cur) && json_is_object(v))
                json_object_update(cur, v);
            else
                json_object_set(into, k, v);
        }
    }
}

int servin_compose_create_container(struct servin_compose_env *env, const struct servin_compose_service *s,
                                    int number, const char *name, json_t *body_override,
                                    struct servin_container *out, struct servin_error *err)
{
    json_t *body = NULL, *extra = NULL;
    int r = servin_compose_service_body(env, s, number, &body, &extra, err);
    if (r < 0)
        return r;
    if (body_override)
        merge_over(body, body_override);
    _cleanup_free_ char *image = servin_compose_service_image(env->project, s);
    _cleanup_free_ char *default_name = NULL;
    if (!name) {
        default_name = servin_compose_container_name(env->project, s, number);
        name = default_name;
    }
    r = servin_container_create(env->store, image, name, body, out, err);
    json_decref(body);
    size_t i;
    json_t *ep;
    json_array_foreach (extra, i, ep) {
        if (r < 0)
            break;
        const char *net = json_string_value(json_object_get(ep, "Name"));
        const char *ip = json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address"));
        r = servin_network_connect(env->store, out, net, json_object_get(ep, "Aliases"), ip, err);
        if (r < 0) {
            servin_error_wrap(err, "connect %s to network %s", name, net);
            struct servin_error ignored = {0};
            servin_container_remove(env->store, out, true, &ignored);
            servin_container_clear(out);
        }
    }
    json_decref(extra);
    if (r < 0)
        return servin_error_wrap(err, "create container %s for service %s", name, s->name);
    return 0;
}
