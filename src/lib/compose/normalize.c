/* compose/normalize.c — the short syntaxes of one file rewritten to their long form ("8080:80" to
 * {published, target}, lists of KEY=VALUE to mappings...), so that files merge key by key. The
 * shape checks here name the file and line of the offending node. */
#include <errno.h>
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

static void set_str(struct cnode *map, const char *key, const char *v, const struct cnode *at)
{
    struct cnode *s = cn_scalar(v, at);
    cn_map_set(map, key, s, at);
}

/* Replace *slot by repl (freeing the old node). */
static void replace(struct cnode **slot, struct cnode *repl)
{
    if (!repl->tag && (*slot)->tag) /* !reset / !override survive the rewrite */
        repl->tag = steal_pointer(&(*slot)->tag);
    cn_free(*slot);
    *slot = repl;
}

/* ["K=V", "K"] -> {K: V, K: null}; a mapping is checked for scalar values. */
static int to_mapping(struct cctx *c, struct cnode **slot, const char *path, bool bare_is_null)
{
    struct cnode *n = *slot;
    if (n->type == CN_NULL) {
        replace(slot, cn_new(CN_MAP, n));
        return 0;
    }
    if (n->type == CN_MAP) {
        for (size_t i = 0; i < n->n; i++)
            if (n->items[i]->type == CN_SEQ || n->items[i]->type == CN_MAP)
                return cfail(c, n->items[i], "%s.%s: expected a string, a number, a boolean or null, got %s",
                             path, n->keys[i]->s, cn_kind(n->items[i]));
        return 0;
    }
    if (n->type != CN_SEQ)
        return cfail(c, n, "%s: expected a mapping or a sequence of KEY=VALUE strings, got %s", path,
                     cn_kind(n));
    struct cnode *m = cn_new(CN_MAP, n);
    for (size_t i = 0; i < n->n; i++) {
        struct cnode *it = n->items[i];
        if (it->type != CN_SCALAR) {
            cn_free(m);
            return cfail(c, it, "%s[%zu]: expected a KEY=VALUE string, got %s", path, i, cn_kind(it));
        }
        char *eq = strchr(it->s, '=');
        _cleanup_free_ char *key = eq ? xstrndup(it->s, (size_t)(eq - it->s)) : xstrdup(it->s);
        struct cnode *v = eq ? cn_scalar(eq + 1, it) : bare_is_null ? cn_new(CN_NULL, it) : cn_scalar("", it);
        cn_map_set(m, key, v, it);
    }
    replace(slot, m);
    return 0;
}

static int scalar_to_seq(struct cctx *c, struct cnode **slot, const char *path)
{
    struct cnode *n = *slot;
    if (n->type == CN_SCALAR) {
        struct cnode *s = cn_new(CN_SEQ, n);
        cn_seq_add(s, cn_copy(n));
        replace(slot, s);
    } else if (n->type != CN_SEQ && n->type != CN_NULL) {
        return cfail(c, n, "%s: expected a string or a sequence, got %s", path, cn_kind(n));
    }
    return 0;
}

static bool parse_range(const char *s, unsigned *lo, unsigned *hi)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return false;
    unsigned long a = strtoul(s, &end, 10), b = a;
    if (*end == '-') {
        const char *p = end + 1;
        if (!*p)
            return false;
        b = strtoul(p, &end, 10);
    }
    if (*end || a == 0 || a > 65535 || b < a || b > 65535)
        return false;
    *lo = (unsigned)a;
    *hi = (unsigned)b;
    return true;
}

/* "[[host_ip:]published:]target[/protocol]" -> one long-form entry per container port. */
static int port_short(struct cctx *c, const struct cnode *it, const char *path, struct cnode *out_seq)
{
    _cleanup_free_ char *s = xstrdup(it->s);
    char *proto = strchr(s, '/');
    if (proto)
        *proto++ = 0;
    char *target = strrchr(s, ':');
    char *published = NULL, *host_ip = NULL;
    if (target) {
        *target++ = 0;
        char *colon = strrchr(s, ':');
        if (s[0] == '[') { /* [::1]:8080:80 */
            char *rb = strchr(s, ']');
            if (!rb)
                return cfail(c, it, "%s: invalid port \"%s\"", path, it->s);
            *rb = 0;
            host_ip = s + 1;
            published = rb[1] == ':' ? rb + 2 : rb + 1;
        } else if (colon) {
            *colon = 0;
            host_ip = s;
            published = colon + 1;
        } else {
            published = s;
        }
    } else {
        target = s;
    }
    unsigned tlo, thi, plo = 0, phi = 0;
    if (!parse_range(target, &tlo, &thi))
        return cfail(c, it, "%s: invalid port \"%s\": bad container port \"%s\"", path, it->s, target);
    if (published && *published && !parse_range(published, &plo, &phi))
        return cfail(c, it, "%s: invalid port \"%s\": bad published port \"%s\"", path, it->s, published);
    if (proto && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0)
        return cfail(c, it, "%s: invalid port \"%s\": protocol must be tcp, udp or sctp", path, it->s);
    bool pair = plo && phi - plo == thi - tlo;
    if (plo && thi != tlo && !pair)
        return cfail(c, it, "%s: invalid port \"%s\": the published and target ranges differ in size", path,
                     it->s);
    for (unsigned t = tlo; t <= thi; t++) {
        struct cnode *m = cn_new(CN_MAP, it);
        char num[16];
        snprintf(num, sizeof(num), "%u", t);
        set_str(m, "target", num, it);
        if (plo) {
            char pub[32];
            if (pair)
                snprintf(pub, sizeof(pub), "%u", plo + (t - tlo));
            else if (plo == phi)
                snprintf(pub, sizeof(pub), "%u", plo);
            else
                snprintf(pub, sizeof(pub), "%u-%u", plo, phi);
            set_str(m, "published", pub, it);
        }
        if (host_ip && *host_ip)
            set_str(m, "host_ip", host_ip, it);
        set_str(m, "protocol", proto ? proto : "tcp", it);
        set_str(m, "mode", "ingress", it);
        cn_seq_add(out_seq, m);
    }
    return 0;
}

static int norm_ports(struct cctx *c, struct cnode **slot, const char *path)
{
    struct cnode *n = *slot;
    if (n->type == CN_NULL)
        return 0;
    if (n->type != CN_SEQ)
        return cfail(c, n, "%s: expected a sequence, got %s", path, cn_kind(n));
    struct cnode *out = cn_new(CN_SEQ, n);
    for (size_t i = 0; i < n->n; i++) {
        struct cnode *it = n->items[i];
        _cleanup_free_ char *sub = xasprintf("%s[%zu]", path, i);
        int r = 0;
        if (it->type == CN_SCALAR)
            r = port_short(c, it, sub, out);
        else if (it->type == CN_MAP)
            cn_seq_add(out, cn_copy(it));
        else
            r = cfail(c, it, "%s: expected a string or a mapping, got %s", sub, cn_kind(it));
        if (r < 0) {
            cn_free(out);
            return r;
        }
    }
    replace(slot, out);
    return 0;
}

static bool is_path(const char *s)
{
    return s[0] == '/' || s[0] == '.' || s[0] == '~';
}

/* "[source:]target[:mode]" -> {type, source, target, read_only, bind/volume options}. */
static int volume_short(struct cctx *c, const struct cnode *it, const char *path, struct cnode **out)
{
    _cleanup_free_ char *s = xstrdup(it->s);
    char *parts[3] = {0};
    size_t np = 0;
    for (char *p = s, *colon; p && np < 3; p = colon) {
        colon = strchr(p, ':');
        if (colon)
            *colon++ = 0;
        if (np == 2 && colon)
            return cfail(c, it, "%s: invalid volume \"%s\": too many colons", path, it->s);
        parts[np++] = p;
    }
    const char *src = np >= 2 ? parts[0] : NULL, *dst = np >= 2 ? parts[1] : parts[0],
               *mode = np == 3 ? parts[2] : NULL;
    if (!*dst || dst[0] != '/')
        return cfail(c, it, "%s: invalid volume \"%s\": the container path must be absolute", path, it->s);
    if (src && !*src)
        return cfail(c, it, "%s: invalid volume \"%s\": empty source", path, it->s);
    struct cnode *m = cn_new(CN_MAP, it);
    bool bind = src && is_path(src);
    set_str(m, "type", bind ? "bind" : "volume", it);
    if (src)
        set_str(m, "source", src, it);
    set_str(m, "target", dst, it);
    struct cnode *opts = cn_new(CN_MAP, it);
    if (bind)
        set_str(opts, "create_host_path", "true", it);
    for (char *o = mode ? (char *)mode : NULL, *comma; o && *o; o = comma) {
        comma = strchr(o, ',');
        if (comma)
            *comma++ = 0;
        if (strcmp(o, "ro") == 0)
            set_str(m, "read_only", "true", it);
        else if (strcmp(o, "rw") == 0)
            ;
        else if (bind && (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0))
            set_str(opts, "selinux", o, it);
        else if (bind && (strstr(o, "shared") || strstr(o, "slave") || strstr(o, "private")))
            set_str(opts, "propagation", o, it);
        else if (!bind && strcmp(o, "nocopy") == 0)
            set_str(opts, "nocopy", "true", it);
        else if (strcmp(o, "cached") == 0 || strcmp(o, "delegated") == 0 || strcmp(o, "consistent") == 0)
            ;
        else {
            cn_free(opts);
            cn_free(m);
            return cfail(c, it, "%s: invalid volume \"%s\": unknown mode \"%s\"", path, it->s, o);
        }
    }
    if (opts->n)
        cn_map_set(m, bind ? "bind" : "volume", opts, it);
    else
        cn_free(opts);
    *out = m;
    return 0;
}

static int norm_items(struct cctx *c, struct cnode **slot, const char *path, const char *scalar_key,
                      int (*short_fn)(struct cctx *, const struct cnode *, const char *, struct cnode **))
{
    struct cnode *n = *slot;
    if (n->type == CN_NULL)
        return 0;
    if (n->type != CN_SEQ)
        return cfail(c, n, "%s: expected a sequence, got %s", path, cn_kind(n));
    for (size_t i = 0; i < n->n; i++) {
        struct cnode *it = n->items[i];
        _cleanup_free_ char *sub = xasprintf("%s[%zu]", path, i);
        if (it->type == CN_MAP)
            continue;
        if (it->type != CN_SCALAR)
            return cfail(c, it, "%s: expected a string or a mapping, got %s", sub, cn_kind(it));
        struct cnode *m = NULL;
        if (short_fn) {
            int r = short_fn(c, it, sub, &m);
            if (r < 0)
                return r;
        } else {
            m = cn_new(CN_MAP, it);
            set_str(m, scalar_key, it->s, it);
        }
        replace(&n->items[i], m);
    }
    return 0;
}

/* depends_on: [a, b] -> {a: {condition: service_started}, ...}; networks: [a] -> {a: null} */
static int names_to_mapping(struct cctx *c, struct cnode **slot, const char *path, bool depends)
{
    struct cnode *n = *slot;
    if (n->type == CN_NULL) {
        replace(slot, cn_new(CN_MAP, n));
        return 0;
    }
    if (n->type == CN_MAP) {
        for (size_t i = 0; i < n->n; i++) {
            if (n->items[i]->type == CN_NULL)
                replace(&n->items[i], cn_new(depends ? CN_MAP : CN_NULL, n->items[i]));
            else if (n->items[i]->type != CN_MAP)
                return cfail(c, n->items[i], "%s.%s: expected a mapping, got %s", path, n->keys[i]->s,
                             cn_kind(n->items[i]));
        }
        return 0;
    }
    if (n->type != CN_SEQ)
        return cfail(c, n, "%s: expected a sequence or a mapping, got %s", path, cn_kind(n));
    struct cnode *m = cn_new(CN_MAP, n);
    for (size_t i = 0; i < n->n; i++) {
        struct cnode *it = n->items[i];
        if (it->type != CN_SCALAR) {
            cn_free(m);
            return cfail(c, it, "%s[%zu]: expected a string, got %s", path, i, cn_kind(it));
        }
        struct cnode *v = cn_new(depends ? CN_MAP : CN_NULL, it);
        if (depends)
            set_str(v, "condition", "service_started", it);
        cn_map_set(m, it->s, v, it);
    }
    replace(slot, m);
    return 0;
}

static int norm_extra_hosts(struct cctx *c, struct cnode **slot, const char *path)
{
    struct cnode *n = *slot;
    if (n->type != CN_MAP)
        return scalar_to_seq(c, slot, path);
    struct cnode *s = cn_new(CN_SEQ, n);
    for (size_t i = 0; i < n->n; i++) {
        if (n->items[i]->type != CN_SCALAR) {
            cn_free(s);
            return cfail(c, n->items[i], "%s.%s: expected an address, got %s", path, n->keys[i]->s,
                         cn_kind(n->items[i]));
        }
        _cleanup_free_ char *h = xasprintf("%s:%s", n->keys[i]->s, n->items[i]->s);
        cn_seq_add(s, cn_scalar(h, n->items[i]));
    }
    replace(slot, s);
    return 0;
}

static int norm_ulimits(struct cctx *c, struct cnode *n, const char *path)
{
    if (n->type == CN_NULL)
        return 0;
    if (n->type != CN_MAP)
        return cfail(c, n, "%s: expected a mapping, got %s", path, cn_kind(n));
    for (size_t i = 0; i < n->n; i++) {
        struct cnode *v = n->items[i];
        if (v->type == CN_SCALAR) {
            struct cnode *m = cn_new(CN_MAP, v);
            set_str(m, "soft", v->s, v);
            set_str(m, "hard", v->s, v);
            replace(&n->items[i], m);
        } else if (v->type != CN_MAP) {
            return cfail(c, v, "%s.%s: expected a number or a mapping of soft and hard, got %s", path,
                         n->keys[i]->s, cn_kind(v));
        }
    }
    return 0;
}

static int norm_build(struct cctx *c, struct cnode **slot, const char *path)
{
    struct cnode *n = *slot;
    if (n->type == CN_SCALAR) {
        struct cnode *m = cn_new(CN_MAP, n);
        set_str(m, "context", n->s, n);
        replace(slot, m);
        return 0;
    }
    if (n->type != CN_MAP)
        return cfail(c, n, "%s: expected a string or a mapping, got %s", path, cn_kind(n));
    static const char *const maps[] = {"args", "labels"};
    for (size_t k = 0; k < 2; k++) {
        int i = cn_index(n, maps[k]);
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, maps[k]);
        if (i >= 0 && to_mapping(c, &n->items[i], sub, maps[k][0] == 'a') < 0)
            return -EINVAL;
    }
    return 0;
}

static int norm_service(struct cctx *c, struct cnode **slot, const char *path)
{
    if ((*slot)->type == CN_NULL)
        replace(slot, cn_new(CN_MAP, *slot));
    struct cnode *s = *slot;
    if (s->type != CN_MAP)
        return cfail(c, s, "%s: expected a mapping, got %s", path, cn_kind(s));
    for (size_t i = 0; i < s->n; i++) {
        const char *k = s->keys[i]->s;
        struct cnode **v = &s->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        int r = 0;
        if (strcmp(k, "environment") == 0)
            r = to_mapping(c, v, sub, true);
        else if (strcmp(k, "labels") == 0 || strcmp(k, "sysctls") == 0 || strcmp(k, "annotations") == 0)
            r = to_mapping(c, v, sub, false);
        else if (strcmp(k, "build") == 0)
            r = norm_build(c, v, sub);
        else if (strcmp(k, "depends_on") == 0)
            r = names_to_mapping(c, v, sub, true);
        else if (strcmp(k, "networks") == 0)
            r = names_to_mapping(c, v, sub, false);
        else if (strcmp(k, "ports") == 0)
            r = norm_ports(c, v, sub);
        else if (strcmp(k, "volumes") == 0)
            r = norm_items(c, v, sub, NULL, volume_short);
        else if (strcmp(k, "secrets") == 0 || strcmp(k, "configs") == 0)
            r = norm_items(c, v, sub, "source", NULL);
        else if (strcmp(k, "env_file") == 0 || strcmp(k, "dns") == 0 || strcmp(k, "dns_search") == 0 ||
                 strcmp(k, "tmpfs") == 0 || strcmp(k, "dns_opt") == 0)
            r = scalar_to_seq(c, v, sub);
        else if (strcmp(k, "extra_hosts") == 0)
            r = norm_extra_hosts(c, v, sub);
        else if (strcmp(k, "ulimits") == 0)
            r = norm_ulimits(c, *v, sub);
        else if (strcmp(k, "logging") == 0 && (*v)->type == CN_MAP) {
            int o = cn_index(*v, "options");
            if (o >= 0) {
                _cleanup_free_ char *osub = xasprintf("%s.options", sub);
                r = to_mapping(c, &(*v)->items[o], osub, false);
            }
        }
        if (r < 0)
            return r;
    }
    return 0;
}

/* Top-level volumes/networks/configs/secrets: a mapping of mappings (null = defaults). */
static int norm_resources(struct cctx *c, struct cnode **slot, const char *section)
{
    if ((*slot)->type == CN_NULL)
        replace(slot, cn_new(CN_MAP, *slot));
    struct cnode *n = *slot;
    if (n->type != CN_MAP)
        return cfail(c, n, "%s: expected a mapping, got %s", section, cn_kind(n));
    for (size_t i = 0; i < n->n; i++) {
        _cleanup_free_ char *sub = xasprintf("%s.%s", section, n->keys[i]->s);
        if (n->items[i]->type == CN_NULL)
            replace(&n->items[i], cn_new(CN_MAP, n->items[i]));
        struct cnode *r = n->items[i];
        if (r->type != CN_MAP)
            return cfail(c, r, "%s: expected a mapping, got %s", sub, cn_kind(r));
        int li = cn_index(r, "labels");
        if (li >= 0) {
            _cleanup_free_ char *lsub = xasprintf("%s.labels", sub);
            if (to_mapping(c, &r->items[li], lsub, false) < 0)
                return -EINVAL;
        }
        /* legacy external: {name: x} */
        int ei = cn_index(r, "external");
        if (ei >= 0 && r->items[ei]->type == CN_MAP) {
            struct cnode *en = cn_get(r->items[ei], "name");
            if (en && en->type == CN_SCALAR)
                cn_map_set(r, "name", cn_copy(en), en);
            ei = cn_index(r, "external");
            replace(&r->items[ei], cn_scalar("true", r->items[ei]));
        }
    }
    return 0;
}

int cn_normalize(struct cctx *c, struct cnode *root)
{
    for (size_t i = 0; i < root->n; i++) {
        const char *k = root->keys[i]->s;
        if (strcmp(k, "services") == 0) {
            if (root->items[i]->type == CN_NULL)
                replace(&root->items[i], cn_new(CN_MAP, root->items[i]));
            struct cnode *svcs = root->items[i];
            if (svcs->type != CN_MAP)
                return cfail(c, svcs, "services: expected a mapping, got %s", cn_kind(svcs));
            for (size_t j = 0; j < svcs->n; j++) {
                _cleanup_free_ char *sub = xasprintf("services.%s", svcs->keys[j]->s);
                int r = norm_service(c, &svcs->items[j], sub);
                if (r < 0)
                    return r;
            }
        } else if (strcmp(k, "volumes") == 0 || strcmp(k, "networks") == 0 || strcmp(k, "configs") == 0 ||
                   strcmp(k, "secrets") == 0) {
            int r = norm_resources(c, &root->items[i], k);
            if (r < 0)
                return r;
        }
    }
    return 0;
}
