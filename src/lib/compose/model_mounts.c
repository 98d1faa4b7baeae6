/* compose/model_mounts.c — a service's ports and volumes (long syntax by now: normalize.c expanded
 * the short one), with their types and values checked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compose/model_keys.h"
#include "servin/cleanup.h"

/* "8080" or "8000-8010" */
static bool port_or_range(const char *s)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    unsigned long a = strtoul(s, &end, 10), b = a;
    if (*end == '-') {
        if (end[1] < '0' || end[1] > '9')
            return false;
        b = strtoul(end + 1, &end, 10);
    }
    return !*end && a <= 65535 && b <= 65535 && a <= b;
}

static int k_port_item(struct cctx *c, const struct cnode *it, const char *path,
                       struct servin_compose_port *p)
{
    p->protocol = NULL;
    for (size_t i = 0; i < it->n; i++) {
        const char *k = it->keys[i]->s;
        const struct cnode *x = it->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r = 0;
        if (strcmp(k, "target") == 0) {
            long long t = 0;
            r = cn_int(c, x, sub, 1, &t);
            if (r == 0 && t > 65535)
                r = cfail(c, x, "%s: port %lld out of range", sub, t);
            p->target = (uint32_t)t;
        } else if (strcmp(k, "published") == 0) {
            r = cn_str(c, x, sub, &p->published);
            if (r == 0 && p->published && !*p->published) {
                free(p->published);
                p->published = NULL;
            }
            if (r == 0 && p->published && !port_or_range(p->published))
                r = cfail(c, x, "%s: expected a port or a port range, got \"%s\"", sub, p->published);
        } else if (strcmp(k, "host_ip") == 0) {
            r = cn_str(c, x, sub, &p->host_ip);
        } else if (strcmp(k, "protocol") == 0) {
            r = cn_str(c, x, sub, &p->protocol);
        } else if (strcmp(k, "mode") == 0) {
            r = cn_str(c, x, sub, &p->mode);
        } else if (strcmp(k, "name") == 0) {
            r = cn_str(c, x, sub, &p->name);
        } else if (strcmp(k, "app_protocol") == 0) {
            r = cn_str(c, x, sub, &p->app_protocol);
        } else if (strncmp(k, "x-", 2) != 0) {
            r = cfail(c, it->keys[i], "%s: unknown key", sub);
        }
        if (r < 0)
            return r;
    }
    if (!p->target)
        return cfail(c, it, "%s: missing target", path);
    if (!p->protocol)
        p->protocol = xstrdup("tcp");
    if (!p->mode)
        p->mode = xstrdup("ingress");
    return 0;
}

int compose_key_ports(KEY_ARGS)
{
    if (v->type == CN_NULL)
        return 0;
    s->ports = xcalloc(v->n + 1, sizeof(*s->ports));
    for (size_t i = 0; i < v->n; i++) {
        _cleanup_free_ char *sub = xasprintf("%s[%zu]", path, i);
        s->n_ports++;
        int r = k_port_item(c, v->items[i], sub, &s->ports[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

static int sub_options(struct cctx *c, const struct cnode *o, const char *path,
                       struct servin_compose_mount *m)
{
    if (o->type == CN_NULL)
        return 0;
    if (o->type != CN_MAP)
        return cn_expect(c, o, path, CN_MAP);
    for (size_t i = 0; i < o->n; i++) {
        const char *k = o->keys[i]->s;
        const struct cnode *x = o->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r = 0;
        if (strcmp(k, "create_host_path") == 0 && m->type == SERVIN_COMPOSE_MOUNT_BIND) {
            r = cn_bool(c, x, sub, &m->bind_create_host_path);
        } else if (strcmp(k, "propagation") == 0 && m->type == SERVIN_COMPOSE_MOUNT_BIND) {
            r = cn_str(c, x, sub, &m->bind_propagation);
        } else if (strcmp(k, "selinux") == 0 && m->type == SERVIN_COMPOSE_MOUNT_BIND) {
            r = cn_str(c, x, sub, &m->bind_selinux);
        } else if (strcmp(k, "nocopy") == 0 && m->type == SERVIN_COMPOSE_MOUNT_VOLUME) {
            r = cn_bool(c, x, sub, &m->volume_nocopy);
        } else if (strcmp(k, "subpath") == 0 && m->type == SERVIN_COMPOSE_MOUNT_VOLUME) {
            r = cn_str(c, x, sub, &m->volume_subpath);
        } else if (strcmp(k, "size") == 0 && m->type == SERVIN_COMPOSE_MOUNT_TMPFS) {
            r = cn_bytes(c, x, sub, &m->tmpfs_size);
        } else if (strcmp(k, "mode") == 0 && m->type == SERVIN_COMPOSE_MOUNT_TMPFS) {
            if (x->type != CN_SCALAR)
                return cn_expect(c, x, sub, CN_SCALAR);
            char *end;
            long mode = strtol(x->s, &end, 8);
            if (*end || mode < 0 || mode > 07777)
                return cfail(c, x, "%s: expected an octal file mode, got \"%s\"", sub, x->s);
            m->tmpfs_mode = (int)mode;
        } else if (strncmp(k, "x-", 2) != 0) {
            r = cfail(c, o->keys[i], "%s: unknown key", sub);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int k_volume_item(struct cctx *c, const struct cnode *it, const char *path,
                         struct servin_compose_mount *m)
{
    m->tmpfs_size = -1;
    m->tmpfs_mode = -1;
    const struct cnode *t = cn_get(it, "type");
    _cleanup_free_ char *type = NULL;
    _cleanup_free_ char *tsub = xasprintf("%s.type", path);
    if (t && cn_str(c, t, tsub, &type) < 0)
        return -EINVAL;
    if (!type || strcmp(type, "volume") == 0)
        m->type = SERVIN_COMPOSE_MOUNT_VOLUME;
    else if (strcmp(type, "bind") == 0)
        m->type = SERVIN_COMPOSE_MOUNT_BIND;
    else if (strcmp(type, "tmpfs") == 0)
        m->type = SERVIN_COMPOSE_MOUNT_TMPFS;
    else
        return cfail(c, t, "%s: unsupported volume type \"%s\" (volume, bind or tmpfs)", tsub, type);
    for (size_t i = 0; i < it->n; i++) {
        const char *k = it->keys[i]->s;
        const struct cnode *x = it->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r = 0;
        if (strcmp(k, "type") == 0)
            continue;
        if (strcmp(k, "source") == 0) {
            r = cn_str(c, x, sub, &m->source);
        } else if (strcmp(k, "target") == 0) {
            r = cn_str(c, x, sub, &m->target);
        } else if (strcmp(k, "read_only") == 0) {
            r = cn_bool(c, x, sub, &m->read_only);
        } else if (strcmp(k, "consistency") == 0) {
            r = cn_str(c, x, sub, &m->consistency);
        } else if (strcmp(k, "bind") == 0 || strcmp(k, "volume") == 0 || strcmp(k, "tmpfs") == 0) {
            bool ok = (k[0] == 'b' && m->type == SERVIN_COMPOSE_MOUNT_BIND) ||
                      (k[0] == 'v' && m->type == SERVIN_COMPOSE_MOUNT_VOLUME) ||
                      (k[0] == 't' && m->type == SERVIN_COMPOSE_MOUNT_TMPFS);
            r = ok ? sub_options(c, x, sub, m)
                   : cfail(c, it->keys[i], "%s: only valid for a volume of type %s", sub, k);
        } else if (strncmp(k, "x-", 2) != 0) {
            r = cfail(c, it->keys[i], "%s: unknown key", sub);
        }
        if (r < 0)
            return r;
    }
    if (!m->target || m->target[0] != '/')
        return cfail(c, it, "%s: target must be an absolute path", path);
    if (m->type == SERVIN_COMPOSE_MOUNT_BIND) {
        if (!m->source || !*m->source)
            return cfail(c, it, "%s: a bind mount needs a source", path);
        char *abs = compose_host_path(c, m->source);
        free(m->source);
        m->source = abs;
    } else if (m->type == SERVIN_COMPOSE_MOUNT_TMPFS && m->source) {
        return cfail(c, it, "%s: a tmpfs mount takes no source", path);
    } else if (m->source && !*m->source) {
        free(m->source);
        m->source = NULL;
    }
    return 0;
}

int compose_key_volumes(KEY_ARGS)
{
    if (v->type == CN_NULL)
        return 0;
    s->volumes = xcalloc(v->n + 1, sizeof(*s->volumes));
    for (size_t i = 0; i < v->n; i++) {
        _cleanup_free_ char *sub = xasprintf("%s[%zu]", path, i);
        s->n_volumes++;
        int r = k_volume_item(c, v->items[i], sub, &s->volumes[i]);
        if (r < 0)
            return r;
    }
    return 0;
}
