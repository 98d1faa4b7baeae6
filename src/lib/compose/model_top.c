/* compose/model_top.c — the top-level sections besides services: volumes, networks, configs and
 * secrets, with their real names. */
#include <errno.h>
#include <string.h>

#include "compose/model_keys.h"
#include "servin/cleanup.h"

struct top {
    struct cctx *c;
    const char *project;
};

static char *real_name(const char *project, const char *key, const char *name, bool external)
{
    if (name)
        return xstrdup(name);
    return external ? xstrdup(key) : xasprintf("%s_%s", project, key);
}

static int read_volume(struct top *t, const char *key, const struct cnode *m, struct servin_compose_volume *v)
{
    struct cctx *c = t->c;
    v->key = xstrdup(key);
    _cleanup_free_ char *name = NULL;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->s;
        const struct cnode *x = m->items[i];
        _cleanup_free_ char *sub = xasprintf("volumes.%s.%s", key, k);
        int r = 0;
        if (strcmp(k, "name") == 0)
            r = cn_str(c, x, sub, &name);
        else if (strcmp(k, "external") == 0)
            r = cn_bool(c, x, sub, &v->external);
        else if (strcmp(k, "driver") == 0)
            r = cn_str(c, x, sub, &v->driver);
        else if (strcmp(k, "driver_opts") == 0)
            r = cn_kvlist(c, x, sub, &v->driver_opts);
        else if (strcmp(k, "labels") == 0)
            r = cn_kvlist(c, x, sub, &v->labels);
        else if (strncmp(k, "x-", 2) != 0)
            r = cfail(c, m->keys[i], "%s: unknown key", sub);
        if (r < 0)
            return r;
    }
    v->name = real_name(t->project, key, name, v->external);
    return 0;
}

static int read_ipam(struct top *t, const char *path, const struct cnode *m, struct servin_compose_network *n)
{
    struct cctx *c = t->c;
    if (m->type != CN_MAP)
        return cn_expect(c, m, path, CN_MAP);
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->s;
        const struct cnode *x = m->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r = 0;
        if (strcmp(k, "driver") == 0) {
            r = cn_str(c, x, sub, &n->ipam_driver);
        } else if (strcmp(k, "config") == 0) {
            if (x->type != CN_SEQ)
                return cn_expect(c, x, sub, CN_SEQ);
            n->ipam_config = xcalloc(x->n + 1, sizeof(*n->ipam_config));
            for (size_t j = 0; j < x->n; j++) {
                const struct cnode *e = x->items[j];
                _cleanup_free_ char *esub = xasprintf("%s[%zu]", sub, j);
                if (e->type != CN_MAP)
                    return cn_expect(c, e, esub, CN_MAP);
                struct servin_compose_ipam_config *ic = &n->ipam_config[n->n_ipam_config++];
                for (size_t q = 0; q < e->n; q++) {
                    const char *ek = e->keys[q]->s;
                    _cleanup_free_ char *qsub = xasprintf("%s.%s", esub, ek);
                    if (strcmp(ek, "subnet") == 0)
                        r = cn_str(c, e->items[q], qsub, &ic->subnet);
                    else if (strcmp(ek, "gateway") == 0)
                        r = cn_str(c, e->items[q], qsub, &ic->gateway);
                    else if (strcmp(ek, "ip_range") == 0)
                        r = cn_str(c, e->items[q], qsub, &ic->ip_range);
                    else if (strcmp(ek, "aux_addresses") == 0)
                        cwarn(c, "%s:%d: %s is not supported by servin and is ignored", e->file, e->line,
                              qsub);
                    else
                        r = cfail(c, e->keys[q], "%s: unknown key", qsub);
                    if (r < 0)
                        return r;
                }
            }
        } else if (strcmp(k, "options") == 0) {
            cwarn(c, "%s:%d: %s is not supported by servin and is ignored", x->file, x->line, sub);
        } else {
            r = cfail(c, m->keys[i], "%s: unknown key", sub);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int read_network(struct top *t, const char *key, const struct cnode *m,
                        struct servin_compose_network *n)
{
    struct cctx *c = t->c;
    n->key = xstrdup(key);
    _cleanup_free_ char *name = NULL;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->s;
        const struct cnode *x = m->items[i];
        _cleanup_free_ char *sub = xasprintf("networks.%s.%s", key, k);
        int r = 0;
        if (strcmp(k, "name") == 0)
            r = cn_str(c, x, sub, &name);
        else if (strcmp(k, "external") == 0)
            r = cn_bool(c, x, sub, &n->external);
        else if (strcmp(k, "internal") == 0)
            r = cn_bool(c, x, sub, &n->internal);
        else if (strcmp(k, "attachable") == 0)
            r = cn_bool(c, x, sub, &n->attachable);
        else if (strcmp(k, "enable_ipv6") == 0)
            r = cn_bool(c, x, sub, &n->enable_ipv6);
        else if (strcmp(k, "driver") == 0)
            r = cn_str(c, x, sub, &n->driver);
        else if (strcmp(k, "driver_opts") == 0)
            r = cn_kvlist(c, x, sub, &n->driver_opts);
        else if (strcmp(k, "labels") == 0)
            r = cn_kvlist(c, x, sub, &n->labels);
        else if (strcmp(k, "ipam") == 0)
            r = read_ipam(t, sub, x, n);
        else if (strcmp(k, "enable_ipv4") == 0)
            cwarn(c, "%s:%d: %s is not supported by servin and is ignored", x->file, x->line, sub);
        else if (strncmp(k, "x-", 2) != 0)
            r = cfail(c, m->keys[i], "%s: unknown key", sub);
        if (r < 0)
            return r;
    }
    n->name = real_name(t->project, key, name, n->external);
    return 0;
}

static int read_file_def(struct top *t, const char *section, const char *key, const struct cnode *m,
                         struct servin_compose_file_def *f)
{
    struct cctx *c = t->c;
    f->key = xstrdup(key);
    _cleanup_free_ char *name = NULL;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->s;
        const struct cnode *x = m->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s.%s", section, key, k);
        int r = 0;
        if (strcmp(k, "name") == 0)
            r = cn_str(c, x, sub, &name);
        else if (strcmp(k, "external") == 0)
            r = cn_bool(c, x, sub, &f->external);
        else if (strcmp(k, "file") == 0)
            r = cn_str(c, x, sub, &f->file);
        else if (strcmp(k, "environment") == 0)
            r = cn_str(c, x, sub, &f->environment);
        else if (strcmp(k, "content") == 0 && section[0] == 'c')
            r = cn_str(c, x, sub, &f->content);
        else if (strcmp(k, "labels") == 0 || strcmp(k, "driver") == 0 || strcmp(k, "driver_opts") == 0 ||
                 strcmp(k, "template_driver") == 0)
            cwarn(c, "%s:%d: %s is not supported by servin and is ignored", x->file, x->line, sub);
        else if (strncmp(k, "x-", 2) != 0)
            r = cfail(c, m->keys[i], "%s: unknown key", sub);
        if (r < 0)
            return r;
    }
    int given = !!f->file + !!f->environment + !!f->content + f->external;
    if (given != 1)
        return cfail(c, m, "%s.%s: needs exactly one of file, environment%s or external", section, key,
                     section[0] == 'c' ? ", content" : "");
    if (f->file) {
        char *abs = compose_host_path(c, f->file);
        free(f->file);
        f->file = abs;
    }
    f->name = real_name(t->project, key, name, f->external);
    return 0;
}

int compose_build_top(struct cctx *c, const struct cnode *root, struct servin_compose_project *p)
{
    struct top t = {.c = c, .project = p->name};
    for (size_t i = 0; i < root->n; i++) {
        const char *k = root->keys[i]->s;
        const struct cnode *sec = root->items[i];
        int r = 0;
        if (strcmp(k, "volumes") == 0) {
            p->volumes = xcalloc(sec->n + 1, sizeof(*p->volumes));
            for (size_t j = 0; j < sec->n && r == 0; j++)
                r = read_volume(&t, sec->keys[j]->s, sec->items[j], &p->volumes[p->n_volumes++]);
        } else if (strcmp(k, "networks") == 0) {
            p->networks = xcalloc(sec->n + 2, sizeof(*p->networks)); /* room for "default" */
            for (size_t j = 0; j < sec->n && r == 0; j++)
                r = read_network(&t, sec->keys[j]->s, sec->items[j], &p->networks[p->n_networks++]);
        } else if (strcmp(k, "configs") == 0) {
            p->configs = xcalloc(sec->n + 1, sizeof(*p->configs));
            for (size_t j = 0; j < sec->n && r == 0; j++)
                r = read_file_def(&t, k, sec->keys[j]->s, sec->items[j], &p->configs[p->n_configs++]);
        } else if (strcmp(k, "secrets") == 0) {
            p->secrets = xcalloc(sec->n + 1, sizeof(*p->secrets));
            for (size_t j = 0; j < sec->n && r == 0; j++)
                r = read_file_def(&t, k, sec->keys[j]->s, sec->items[j], &p->secrets[p->n_secrets++]);
        }
        if (r < 0)
            return r;
    }
    return 0;
}
