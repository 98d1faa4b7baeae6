/* compose/extends.c — `extends: {service, file}`: a service starts from another one (of this file
 * or another), merged under it by the same rules as -f files. Resolved per file, after
 * normalization, before the files merge. */
#include <errno.h>
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

#define MAX_EXTENDS_DEPTH 16

static int resolve(struct cctx *c, struct cnode *services, size_t i, const char *dir, int depth);

/* The base service tree (a copy) that services.<i>'s extends names. */
static int base_of(struct cctx *c, struct cnode *services, size_t i, const struct cnode *ext, const char *dir,
                   int depth, struct cnode **out)
{
    const char *name = services->keys[i]->s;
    const struct cnode *svc_n = ext, *file_n = NULL;
    if (ext->type == CN_MAP) {
        for (size_t k = 0; k < ext->n; k++) {
            const char *key = ext->keys[k]->s;
            if (strcmp(key, "service") != 0 && strcmp(key, "file") != 0)
                return cfail(c, ext->keys[k], "services.%s.extends.%s: unknown key", name, key);
        }
        svc_n = cn_get(ext, "service");
        file_n = cn_get(ext, "file");
        if (!svc_n)
            return cfail(c, ext, "services.%s.extends: missing service", name);
    }
    if (svc_n->type != CN_SCALAR)
        return cfail(c, svc_n, "services.%s.extends%s: expected a string, got %s", name,
                     svc_n == ext ? "" : ".service", cn_kind(svc_n));
    if (file_n && file_n->type != CN_SCALAR)
        return cfail(c, file_n, "services.%s.extends.file: expected a string, got %s", name, cn_kind(file_n));
    if (!file_n) {
        int bi = cn_index(services, svc_n->s);
        if (bi < 0)
            return cfail(c, svc_n, "services.%s.extends: service \"%s\" is not defined", name, svc_n->s);
        int r = resolve(c, services, (size_t)bi, dir, depth + 1);
        if (r < 0)
            return r;
        *out = cn_copy(services->items[bi]);
        return 0;
    }
    _cleanup_free_ char *path = file_n->s[0] == '/' ? xstrdup(file_n->s) : xasprintf("%s/%s", dir, file_n->s);
    struct cnode *other = NULL;
    /* its nodes name their file with this string: it must outlive the extends node */
    c->names = cstrv_add(c->names, file_n->s);
    int r = cn_load_file(c, path, c->names[cstrv_len(c->names) - 1], &other);
    if (r == 0)
        r = cn_interpolate(c, other);
    if (r == 0)
        r = cn_normalize(c, other);
    _cleanup_free_ char *odir = xstrdup(path);
    char *slash = strrchr(odir, '/');
    if (slash)
        *slash = 0;
    if (r == 0)
        cn_absolutize_paths(other, odir); /* the other file's paths are its own */
    struct cnode *osvcs = r == 0 ? cn_get(other, "services") : NULL;
    int bi = osvcs ? cn_index(osvcs, svc_n->s) : -1;
    if (r == 0 && bi < 0)
        r = cfail(c, svc_n, "services.%s.extends: service \"%s\" is not defined in %s", name, svc_n->s,
                  file_n->s);
    if (r == 0)
        r = resolve(c, osvcs, (size_t)bi, odir, depth + 1);
    if (r == 0)
        *out = cn_copy(osvcs->items[bi]);
    cn_free(other);
    return r;
}

static int resolve(struct cctx *c, struct cnode *services, size_t i, const char *dir, int depth)
{
    struct cnode *svc = services->items[i];
    int ei = cn_index(svc, "extends");
    if (ei < 0)
        return 0;
    if (depth > MAX_EXTENDS_DEPTH)
        return cfail(c, svc->items[ei], "services.%s.extends: a cycle, or more than %d levels",
                     services->keys[i]->s, MAX_EXTENDS_DEPTH);
    struct cnode *base = NULL;
    int r = base_of(c, services, i, svc->items[ei], dir, depth, &base);
    if (r < 0)
        return r;
    cn_map_remove(svc, (size_t)ei);
    services->items[i] = NULL;
    cn_merge(base, svc); /* consumes svc */
    services->items[i] = base;
    return 0;
}

int cn_extends(struct cctx *c, struct cnode *root, const char *dir)
{
    struct cnode *services = cn_get(root, "services");
    if (!services || services->type != CN_MAP)
        return 0;
    for (size_t i = 0; i < services->n; i++) {
        int r = resolve(c, services, i, dir, 0);
        if (r < 0)
            return r;
    }
    return 0;
}
