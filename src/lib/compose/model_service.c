/* compose/model_service.c — one service of the merged tree into struct servin_compose_service:
 * every key of the Compose Specification is read with its type checked, unsupported ones warn
 * once, unknown ones are an error naming the key and its line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose/compose_internal.h"
#include "compose/model_keys.h"
#include "servin/cleanup.h"

static char *host_path(struct cctx *c, const char *p)
{
    if (p[0] == '~' && (p[1] == '/' || !p[1])) {
        const char *home = ckv_get(c->env, "HOME", NULL);
        return xasprintf("%s%s", home ? home : getenv("HOME") ? getenv("HOME") : "", p + 1);
    }
    if (p[0] == '/')
        return xstrdup(p);
    if (strcmp(p, ".") == 0)
        return xstrdup(c->project_dir);
    return xasprintf("%s/%s", c->project_dir, strncmp(p, "./", 2) == 0 ? p + 2 : p);
}

char *compose_host_path(struct cctx *c, const char *p)
{
    return host_path(c, p);
}

static int argv_of(struct cctx *c, const struct cnode *v, const char *path, char ***out, bool *set)
{
    strv_free(*out);
    *out = NULL;
    *set = v->type != CN_NULL;
    if (v->type == CN_NULL)
        return 0;
    if (v->type == CN_SCALAR) {
        struct servin_error e = {0};
        if (servin_compose_split_words(v->s, out, &e) < 0)
            return cfail(c, v, "%s: %s", path, e.msg);
        return 0;
    }
    if (v->type != CN_SEQ)
        return cfail(c, v, "%s: expected a string or a sequence of strings, got %s", path, cn_kind(v));
    int r = cn_strv(c, v, path, out);
    if (r == 0 && !*out)
        *out = xcalloc(1, sizeof(char *));
    return r;
}

static int k_image(KEY_ARGS)
{
    return cn_str(c, v, path, &s->image);
}

static int k_build(KEY_ARGS)
{
    if (v->type != CN_MAP)
        return cn_expect(c, v, path, CN_MAP);
    struct servin_compose_build *b = s->build = xcalloc(1, sizeof(*b));
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->s;
        const struct cnode *x = v->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r = 0;
        if (strcmp(k, "context") == 0) {
            r = cn_str(c, x, sub, &b->context);
        } else if (strcmp(k, "dockerfile") == 0) {
            r = cn_str(c, x, sub, &b->dockerfile);
        } else if (strcmp(k, "args") == 0) {
            r = cn_kvlist(c, x, sub, &b->args);
        } else if (strcmp(k, "target") == 0) {
            r = cn_str(c, x, sub, &b->target);
        } else if (strcmp(k, "labels") == 0) {
            r = cn_kvlist(c, x, sub, &b->labels);
        } else if (strcmp(k, "network") == 0) {
            r = cn_str(c, x, sub, &b->network);
        } else if (strcmp(k, "tags") == 0) {
            r = cn_strv(c, x, sub, &b->tags);
        } else if (compose_key_listed(compose_unsupported_build_keys, k)) {
            cwarn(c, "%s:%d: %s is not supported by servin and is ignored", x->file, x->line, sub);
        } else if (strncmp(k, "x-", 2) != 0) {
            r = cfail(c, v->keys[i], "%s: unknown key", sub);
        }
        if (r < 0)
            return r;
    }
    if (!b->context)
        b->context = xstrdup(".");
    if (!strstr(b->context, "://") && strncmp(b->context, "git@", 4) != 0) {
        char *abs = host_path(c, b->context);
        free(b->context);
        b->context = abs;
    }
    return 0;
}

static int k_command(KEY_ARGS)
{
    return argv_of(c, v, path, &s->command, &s->command_set);
}

static int k_entrypoint(KEY_ARGS)
{
    return argv_of(c, v, path, &s->entrypoint, &s->entrypoint_set);
}

static int k_environment(KEY_ARGS)
{
    return cn_kvlist(c, v, path, &s->environment);
}

static int k_env_file(KEY_ARGS)
{
    if (v->type == CN_NULL)
        return 0;
    if (v->type != CN_SEQ)
        return cn_expect(c, v, path, CN_SEQ);
    for (size_t i = 0; i < v->n; i++) {
        const struct cnode *it = v->items[i];
        const struct cnode *pn = it;
        bool required = true;
        if (it->type == CN_MAP) {
            pn = cn_get(it, "path");
            const struct cnode *rq = cn_get(it, "required");
            _cleanup_free_ char *sub = xasprintf("%s[%zu].required", path, i);
            if (rq && cn_bool(c, rq, sub, &required) < 0)
                return -EINVAL;
            if (!pn)
                return cfail(c, it, "%s[%zu]: missing path", path, i);
        }
        if (pn->type != CN_SCALAR)
            return cfail(c, pn, "%s[%zu]: expected a string or a mapping, got %s", path, i, cn_kind(pn));
        _cleanup_free_ char *abs = host_path(c, pn->s);
        if (access(abs, R_OK) != 0) {
            if (!required)
                continue;
            return cfail(c, pn, "%s[%zu]: cannot read env file %s: %s", path, i, abs, strerror(errno));
        }
        s->env_file = cstrv_add(s->env_file, abs);
    }
    return 0;
}

static int k_expose(KEY_ARGS)
{
    return cn_strv(c, v, path, &s->expose);
}

static int k_tmpfs(KEY_ARGS)
{
    return cn_strv(c, v, path, &s->tmpfs);
}

static int k_networks(KEY_ARGS)
{
    s->networks = xcalloc(v->n + 1, sizeof(*s->networks));
    for (size_t i = 0; i < v->n; i++) {
        struct servin_compose_service_network *n = &s->networks[s->n_networks++];
        n->name = xstrdup(v->keys[i]->s);
        const struct cnode *m = v->items[i];
        if (m->type == CN_NULL)
            continue;
        for (size_t j = 0; j < m->n; j++) {
            const char *k = m->keys[j]->s;
            const struct cnode *x = m->items[j];
            _cleanup_free_ char *sub = xasprintf("%s.%s.%s", path, n->name, k);
            int r = 0;
            if (strcmp(k, "aliases") == 0) {
                r = cn_strv(c, x, sub, &n->aliases);
            } else if (strcmp(k, "ipv4_address") == 0) {
                r = cn_str(c, x, sub, &n->ipv4_address);
            } else if (strcmp(k, "ipv6_address") == 0) {
                r = cn_str(c, x, sub, &n->ipv6_address);
            } else if (strcmp(k, "priority") == 0) {
                long long p = 0;
                r = cn_int(c, x, sub, -1000000, &p);
                n->priority = (int)p;
            } else if (compose_key_listed(compose_unsupported_service_network_keys, k)) {
                cwarn(c, "%s:%d: %s is not supported by servin and is ignored", x->file, x->line, sub);
            } else if (strncmp(k, "x-", 2) != 0) {
                r = cfail(c, m->keys[j], "%s: unknown key", sub);
            }
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int k_network_mode(KEY_ARGS)
{
    return cn_str(c, v, path, &s->network_mode);
}

static int k_depends_on(KEY_ARGS)
{
    s->depends_on = xcalloc(v->n + 1, sizeof(*s->depends_on));
    for (size_t i = 0; i < v->n; i++) {
        struct servin_compose_depends *d = &s->depends_on[s->n_depends_on++];
        d->service = xstrdup(v->keys[i]->s);
        d->required = true;
        const struct cnode *m = v->items[i];
        for (size_t j = 0; j < m->n; j++) {
            const char *k = m->keys[j]->s;
            const struct cnode *x = m->items[j];
            _cleanup_free_ char *sub = xasprintf("%s.%s.%s", path, d->service, k);
            int r = 0;
            if (strcmp(k, "condition") == 0) {
                if (x->type != CN_SCALAR)
                    return cn_expect(c, x, sub, CN_SCALAR);
                if (strcmp(x->s, "service_started") == 0)
                    d->condition = SERVIN_COMPOSE_SERVICE_STARTED;
                else if (strcmp(x->s, "service_healthy") == 0)
                    d->condition = SERVIN_COMPOSE_SERVICE_HEALTHY;
                else if (strcmp(x->s, "service_completed_successfully") == 0)
                    d->condition = SERVIN_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY;
                else
                    r = cfail(c, x,
                              "%s: \"%s\" is not one of service_started, service_healthy, "
                              "service_completed_successfully",
                              sub, x->s);
            } else if (strcmp(k, "required") == 0) {
                r = cn_bool(c, x, sub, &d->required);
            } else if (strcmp(k, "restart") == 0) {
                r = cn_bool(c, x, sub, &d->restart);
            } else if (strncmp(k, "x-", 2) != 0) {
                r = cfail(c, m->keys[j], "%s: unknown key", sub);
            }
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int k_healthcheck(KEY_ARGS)
{
    struct servin_compose_healthcheck *h = &s->healthcheck;
    if (v->type == CN_NULL)
        return 0;
    if (v->type != CN_MAP)
        return cn_expect(c, v, path, CN_MAP);
    h->present = true;
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->s;
        const struct cnode *x = v->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r = 0;
        if (strcmp(k, "test") == 0) {
            strv_free(h->test);
            h->test = NULL;
            if (x->type == CN_SCALAR) {
                h->test = cstrv_add(cstrv_add(NULL, "CMD-SHELL"), x->s);
            } else {
                r = cn_strv(c, x, sub, &h->test);
                if (r == 0 && h->test && strcmp(h->test[0], "NONE") != 0 && strcmp(h->test[0], "CMD") != 0 &&
                    strcmp(h->test[0], "CMD-SHELL") != 0)
                    r = cfail(c, x, "%s: a test list starts with CMD, CMD-SHELL or NONE, not \"%s\"", sub,
                              h->test[0]);
                if (r == 0 && h->test && strcmp(h->test[0], "NONE") == 0)
                    h->disable = true;
            }
        } else if (strcmp(k, "interval") == 0) {
            r = cn_duration(c, x, sub, &h->interval_ns);
        } else if (strcmp(k, "timeout") == 0) {
            r = cn_duration(c, x, sub, &h->timeout_ns);
        } else if (strcmp(k, "start_period") == 0) {
            r = cn_duration(c, x, sub, &h->start_period_ns);
        } else if (strcmp(k, "start_interval") == 0) {
            r = cn_duration(c, x, sub, &h->start_interval_ns);
        } else if (strcmp(k, "retries") == 0) {
            long long n = 0;
            r = cn_int(c, x, sub, 0, &n);
            h->retries = (int)n;
        } else if (strcmp(k, "disable") == 0) {
            bool d = false;
            r = cn_bool(c, x, sub, &d);
            h->disable = h->disable || d;
        } else if (strncmp(k, "x-", 2) != 0) {
            r = cfail(c, v->keys[i], "%s: unknown key", sub);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int k_restart(KEY_ARGS)
{
    int r = cn_str(c, v, path, &s->restart);
    if (r < 0 || !s->restart)
        return r;
    const char *p = s->restart;
    if (strcmp(p, "no") && strcmp(p, "always") && strcmp(p, "unless-stopped") && strcmp(p, "on-failure") &&
        strncmp(p, "on-failure:", 11))
        return cfail(c, v, "%s: \"%s\" is not one of no, always, on-failure[:N], unless-stopped", path, p);
    return 0;
}

static int k_resources(struct cctx *c, const struct cnode *v, const char *path,
                       struct servin_compose_service *s, bool limits)
{
    if (v->type == CN_NULL)
        return 0;
    if (v->type != CN_MAP)
        return cn_expect(c, v, path, CN_MAP);
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->s;
        const struct cnode *x = v->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r = 0;
        if (strcmp(k, "memory") == 0) {
            r = cn_bytes(c, x, sub, limits ? &s->deploy.memory_limit : &s->deploy.memory_reservation);
        } else if (strcmp(k, "cpus") == 0 && limits) {
            if (x->type != CN_SCALAR || servin_compose_parse_cpus(x->s, &s->deploy.nano_cpus) < 0)
                r = cfail(c, x, "%s: expected a number of CPUs (e.g. 0.5), got %s%s%s", sub,
                          x->type == CN_SCALAR ? "\"" : "", x->type == CN_SCALAR ? x->s : cn_kind(x),
                          x->type == CN_SCALAR ? "\"" : "");
        } else if (strcmp(k, "pids") == 0 && limits) {
            long long n = 0;
            r = cn_int(c, x, sub, -1, &n);
            s->deploy.pids_limit = n;
        } else if (strcmp(k, "cpus") == 0 || strcmp(k, "devices") == 0 ||
                   strcmp(k, "generic_resources") == 0) {
            cwarn(c, "%s:%d: %s is not supported by servin and is ignored", x->file, x->line, sub);
        } else if (strncmp(k, "x-", 2) != 0) {
            r = cfail(c, v->keys[i], "%s: unknown key", sub);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int k_deploy(KEY_ARGS)
{
    if (v->type == CN_NULL)
        return 0;
    if (v->type != CN_MAP)
        return cn_expect(c, v, path, CN_MAP);
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->s;
        const struct cnode *x = v->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r = 0;
        if (strcmp(k, "replicas") == 0) {
            long long n = 0;
            r = cn_int(c, x, sub, 0, &n);
            s->deploy.replicas = (int)n;
        } else if (strcmp(k, "resources") == 0) {
            if (x->type != CN_MAP)
                return cn_expect(c, x, sub, CN_MAP);
            for (size_t j = 0; j < x->n; j++) {
                const char *rk = x->keys[j]->s;
                _cleanup_free_ char *rsub = xasprintf("%s.%s", sub, rk);
                if (strcmp(rk, "limits") == 0 || strcmp(rk, "reservations") == 0)
                    r = k_resources(c, x->items[j], rsub, s, rk[0] == 'l');
                else if (strncmp(rk, "x-", 2) != 0)
                    r = cfail(c, x->keys[j], "%s: unknown key", rsub);
                if (r < 0)
                    return r;
            }
        } else if (strcmp(k, "mode") == 0 && x->type == CN_SCALAR && strcmp(x->s, "replicated") == 0) {
            /* the default */
        } else if (compose_key_listed(compose_unsupported_deploy_keys, k)) {
            cwarn(c, "%s:%d: %s is not supported by servin and is ignored", x->file, x->line, sub);
        } else if (strncmp(k, "x-", 2) != 0) {
            r = cfail(c, v->keys[i], "%s: unknown key", sub);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int k_scale(KEY_ARGS)
{
    long long n = 0;
    int r = cn_int(c, v, path, 0, &n);
    if (r == 0 && s->deploy.replicas < 0)
        s->deploy.replicas = (int)n;
    return r;
}

static int k_labels(KEY_ARGS)
{
    return cn_kvlist(c, v, path, &s->labels);
}

#define STR_KEY(fn, field)                                                                                   \
    static int fn(KEY_ARGS)                                                                                  \
    {                                                                                                        \
        return cn_str(c, v, path, &s->field);                                                                \
    }
#define BOOL_KEY(fn, field)                                                                                  \
    static int fn(KEY_ARGS)                                                                                  \
    {                                                                                                        \
        return cn_bool(c, v, path, &s->field);                                                               \
    }
#define STRV_KEY(fn, field)                                                                                  \
    static int fn(KEY_ARGS)                                                                                  \
    {                                                                                                        \
        return cn_strv(c, v, path, &s->field);                                                               \
    }
STR_KEY(k_user, user)
STR_KEY(k_working_dir, working_dir)
STR_KEY(k_hostname, hostname)
STR_KEY(k_domainname, domainname)
STR_KEY(k_stop_signal, stop_signal)
STR_KEY(k_container_name, container_name)
STR_KEY(k_platform, platform)
STR_KEY(k_pid, pid)
STR_KEY(k_ipc, ipc)
BOOL_KEY(k_privileged, privileged)
BOOL_KEY(k_read_only, read_only)
BOOL_KEY(k_tty, tty)
BOOL_KEY(k_stdin_open, stdin_open)
STRV_KEY(k_cap_add, cap_add)
STRV_KEY(k_cap_drop, cap_drop)
STRV_KEY(k_security_opt, security_opt)
STRV_KEY(k_extra_hosts, extra_hosts)
STRV_KEY(k_dns, dns)
STRV_KEY(k_dns_search, dns_search)
STRV_KEY(k_dns_opt, dns_opt)
STRV_KEY(k_profiles, profiles)

static int k_init(KEY_ARGS)
{
    bool b = false;
    int r = cn_bool(c, v, path, &b);
    s->init = b;
    return r;
}

static int k_stop_grace_period(KEY_ARGS)
{
    return cn_duration(c, v, path, &s->stop_grace_period_ns);
}

static int k_pull_policy(KEY_ARGS)
{
    int r = cn_str(c, v, path, &s->pull_policy);
    if (r < 0 || !s->pull_policy)
        return r;
    static const char *const ok[] = {"always",         "never", "missing", "build",
                                     "if_not_present", "daily", "weekly",  NULL};
    if (!compose_key_listed(ok, s->pull_policy) && strncmp(s->pull_policy, "every_", 6) != 0)
        return cfail(c, v, "%s: \"%s\" is not one of always, never, missing, build", path, s->pull_policy);
    return 0;
}

static int k_ulimits(KEY_ARGS)
{
    s->ulimits = xcalloc(v->n + 1, sizeof(*s->ulimits));
    for (size_t i = 0; i < v->n; i++) {
        struct servin_compose_ulimit *u = &s->ulimits[s->n_ulimits++];
        u->name = xstrdup(v->keys[i]->s);
        u->soft = u->hard = -1;
        const struct cnode *m = v->items[i];
        for (size_t j = 0; j < m->n; j++) {
            const char *k = m->keys[j]->s;
            _cleanup_free_ char *sub = xasprintf("%s.%s.%s", path, u->name, k);
            long long n = 0;
            int r;
            if (strcmp(k, "soft") == 0 || strcmp(k, "hard") == 0) {
                r = cn_int(c, m->items[j], sub, -1, &n);
                if (k[0] == 's')
                    u->soft = n;
                else
                    u->hard = n;
            } else {
                r = cfail(c, m->keys[j], "%s: unknown key", sub);
            }
            if (r < 0)
                return r;
        }
        if (u->soft < 0 || u->hard < 0)
            return cfail(c, m, "%s.%s: needs both soft and hard", path, u->name);
    }
    return 0;
}

static int k_logging(KEY_ARGS)
{
    if (v->type == CN_NULL)
        return 0;
    if (v->type != CN_MAP)
        return cn_expect(c, v, path, CN_MAP);
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->s;
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r;
        if (strcmp(k, "driver") == 0)
            r = cn_str(c, v->items[i], sub, &s->logging.driver);
        else if (strcmp(k, "options") == 0)
            r = cn_kvlist(c, v->items[i], sub, &s->logging.options);
        else
            r = cfail(c, v->keys[i], "%s: unknown key", sub);
        if (r < 0)
            return r;
    }
    return 0;
}

static int file_refs(struct cctx *c, const struct cnode *v, const char *path,
                     struct servin_compose_file_ref **out, size_t *n_out)
{
    if (v->type == CN_NULL)
        return 0;
    *out = xcalloc(v->n + 1, sizeof(**out));
    for (size_t i = 0; i < v->n; i++) {
        struct servin_compose_file_ref *f = &(*out)[(*n_out)++];
        f->mode = -1;
        const struct cnode *m = v->items[i];
        for (size_t j = 0; j < m->n; j++) {
            const char *k = m->keys[j]->s;
            const struct cnode *x = m->items[j];
            _cleanup_free_ char *sub = xasprintf("%s[%zu].%s", path, i, k);
            int r = 0;
            if (strcmp(k, "source") == 0) {
                r = cn_str(c, x, sub, &f->source);
            } else if (strcmp(k, "target") == 0) {
                r = cn_str(c, x, sub, &f->target);
            } else if (strcmp(k, "uid") == 0) {
                r = cn_str(c, x, sub, &f->uid);
            } else if (strcmp(k, "gid") == 0) {
                r = cn_str(c, x, sub, &f->gid);
            } else if (strcmp(k, "mode") == 0) {
                if (x->type != CN_SCALAR)
                    return cn_expect(c, x, sub, CN_SCALAR);
                char *end;
                bool yaml12 = x->s[0] == '0' && x->s[1] == 'o'; /* 0o440 */
                long mode = strtol(x->s + (yaml12 ? 2 : 0), &end, yaml12 ? 8 : 0);
                if (*end || mode < 0 || mode > 07777)
                    return cfail(c, x, "%s: expected a file mode, got \"%s\"", sub, x->s);
                f->mode = (int)mode;
            } else if (strncmp(k, "x-", 2) != 0) {
                r = cfail(c, m->keys[j], "%s: unknown key", sub);
            }
            if (r < 0)
                return r;
        }
        if (!f->source)
            return cfail(c, m, "%s[%zu]: missing source", path, i);
    }
    return 0;
}

static int k_configs(KEY_ARGS)
{
    return file_refs(c, v, path, &s->configs, &s->n_configs);
}

static int k_secrets(KEY_ARGS)
{
    return file_refs(c, v, path, &s->secrets, &s->n_secrets);
}

static int k_shm_size(KEY_ARGS)
{
    return cn_bytes(c, v, path, &s->shm_size);
}

static int k_mem_limit(KEY_ARGS)
{
    return cn_bytes(c, v, path, &s->mem_limit);
}

static int k_mem_reservation(KEY_ARGS)
{
    return cn_bytes(c, v, path, &s->deploy.memory_reservation);
}

static int k_cpus(KEY_ARGS)
{
    if (v->type != CN_SCALAR || servin_compose_parse_cpus(v->s, &s->deploy.nano_cpus) < 0)
        return cfail(c, v, "%s: expected a number of CPUs (e.g. 0.5)", path);
    return 0;
}

static int k_pids_limit(KEY_ARGS)
{
    long long n = 0;
    int r = cn_int(c, v, path, -1, &n);
    s->deploy.pids_limit = n;
    return r;
}

static int k_sysctls(KEY_ARGS)
{
    return cn_kvlist(c, v, path, &s->sysctls);
}

static int k_extends(KEY_ARGS)
{
    return cfail(c, v, "%s: not supported by servin yet (merge the files with -f instead)", path);
}

static const struct compose_key service_keys[] = {
    {"image", k_image},
    {"build", k_build},
    {"command", k_command},
    {"entrypoint", k_entrypoint},
    {"environment", k_environment},
    {"env_file", k_env_file},
    {"ports", compose_key_ports},
    {"expose", k_expose},
    {"volumes", compose_key_volumes},
    {"tmpfs", k_tmpfs},
    {"networks", k_networks},
    {"network_mode", k_network_mode},
    {"depends_on", k_depends_on},
    {"healthcheck", k_healthcheck},
    {"restart", k_restart},
    {"deploy", k_deploy},
    {"scale", k_scale},
    {"labels", k_labels},
    {"user", k_user},
    {"working_dir", k_working_dir},
    {"hostname", k_hostname},
    {"domainname", k_domainname},
    {"init", k_init},
    {"stop_signal", k_stop_signal},
    {"stop_grace_period", k_stop_grace_period},
    {"cap_add", k_cap_add},
    {"cap_drop", k_cap_drop},
    {"privileged", k_privileged},
    {"read_only", k_read_only},
    {"tty", k_tty},
    {"stdin_open", k_stdin_open},
    {"security_opt", k_security_opt},
    {"ulimits", k_ulimits},
    {"extra_hosts", k_extra_hosts},
    {"dns", k_dns},
    {"dns_search", k_dns_search},
    {"dns_opt", k_dns_opt},
    {"logging", k_logging},
    {"container_name", k_container_name},
    {"pull_policy", k_pull_policy},
    {"profiles", k_profiles},
    {"configs", k_configs},
    {"secrets", k_secrets},
    {"shm_size", k_shm_size},
    {"mem_limit", k_mem_limit},
    {"mem_reservation", k_mem_reservation},
    {"cpus", k_cpus},
    {"pids_limit", k_pids_limit},
    {"sysctls", k_sysctls},
    {"platform", k_platform},
    {"pid", k_pid},
    {"ipc", k_ipc},
    {"extends", k_extends},
    {NULL, NULL},
};

/* env_file contents first, then `environment` over them; bare names take the project's value. */
static int fold_environment(struct cctx *c, struct servin_compose_service *s)
{
    struct servin_compose_kvlist env = {0};
    for (char **f = s->env_file; f && *f; f++) {
        int r = compose_read_env_file(c, *f, &env, c->env);
        if (r < 0) {
            ckv_free(&env);
            return servin_error_wrap(c->err, "service %s: env_file", s->name);
        }
    }
    for (size_t i = 0; i < s->environment.n; i++) {
        const struct servin_compose_kv *kv = &s->environment.items[i];
        bool found = false;
        const char *val = kv->value ? kv->value : ckv_get(c->env, kv->key, &found);
        ckv_set(&env, kv->key, val);
    }
    ckv_free(&s->environment);
    s->environment = env;
    return 0;
}

int compose_build_service(struct cctx *c, const char *name, const struct cnode *n,
                          struct servin_compose_service *s)
{
    s->name = xstrdup(name);
    s->init = -1;
    s->stop_grace_period_ns = -1;
    s->shm_size = -1;
    s->mem_limit = -1;
    s->deploy = (struct servin_compose_deploy){-1, -1, -1, -1, -1};
    s->healthcheck = (struct servin_compose_healthcheck){
        .interval_ns = -1, .timeout_ns = -1, .start_period_ns = -1, .start_interval_ns = -1, .retries = -1};
    _cleanup_free_ char *path = xasprintf("services.%s", name);
    int r = compose_apply_keys(c, n, path, service_keys, compose_unsupported_service_keys, s);
    if (r < 0)
        return r;
    if (s->mem_limit >= 0 && s->deploy.memory_limit < 0)
        s->deploy.memory_limit = s->mem_limit;
    if (!s->image && !s->build)
        return cfail(c, n, "%s: needs an image or a build section", path);
    return fold_environment(c, s);
}
