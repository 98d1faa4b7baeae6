/* compose/include.c — top-level `include:`: other compose files whose services, volumes, networks,
 * configs and secrets join this file's. Defining the same resource twice is an error. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

#define MAX_INCLUDE_DEPTH 8

static const char *const sections[] = {"services", "volumes", "networks", "configs", "secrets", NULL};

/* The resources of inc added to root. */
static int add_resources(struct cctx *c, struct cnode *root, struct cnode *inc, const char *from)
{
    for (const char *const *sec = sections; *sec; sec++) {
        struct cnode *src = cn_get(inc, *sec);
        if (!src || src->type != CN_MAP)
            continue;
        struct cnode *dst = cn_get(root, *sec);
        if (!dst) {
            cn_map_set(root, *sec, cn_new(CN_MAP, src), src);
            dst = cn_get(root, *sec);
        }
        for (size_t i = 0; i < src->n; i++) {
            int at = cn_index(dst, src->keys[i]->s);
            if (at >= 0)
                return cfail(c, dst->keys[at], "%s.%s: conflicts with the one %s defines", *sec,
                             src->keys[i]->s, from);
            cn_map_set(dst, src->keys[i]->s, src->items[i], src->keys[i]);
            dst->keys[dst->n - 1]->file = src->keys[i]->file;
            dst->keys[dst->n - 1]->line = src->keys[i]->line;
            src->items[i] = NULL;
        }
    }
    return 0;
}

static int include_one(struct cctx *c, struct cnode *root, const struct cnode *entry, const char *dir,
                       int depth, size_t idx)
{
    const struct cnode *paths = entry;
    if (entry->type == CN_MAP) {
        for (size_t k = 0; k < entry->n; k++) {
            const char *key = entry->keys[k]->s;
            if (strcmp(key, "project_directory") == 0 || strcmp(key, "env_file") == 0)
                cwarn(c, "%s:%d: include[%zu].%s is not supported by servin and is ignored", entry->file,
                      entry->keys[k]->line, idx, key);
            else if (strcmp(key, "path") != 0)
                return cfail(c, entry->keys[k], "include[%zu].%s: unknown key", idx, key);
        }
        paths = cn_get(entry, "path");
        if (!paths)
            return cfail(c, entry, "include[%zu]: missing path", idx);
    }
    if (paths->type != CN_SCALAR && paths->type != CN_SEQ)
        return cfail(c, paths, "include[%zu]: expected a path or a list of paths, got %s", idx,
                     cn_kind(paths));
    size_t n = paths->type == CN_SEQ ? paths->n : 1;
    struct cnode *merged = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct cnode *pn = paths->type == CN_SEQ ? paths->items[i] : paths;
        if (pn->type != CN_SCALAR) {
            cn_free(merged);
            return cfail(c, pn, "include[%zu]: expected a path, got %s", idx, cn_kind(pn));
        }
        _cleanup_free_ char *path = pn->s[0] == '/' ? xstrdup(pn->s) : xasprintf("%s/%s", dir, pn->s);
        c->names = cstrv_add(c->names, pn->s); /* the nodes' file name outlives this entry */
        struct cnode *t = NULL;
        int r = access(path, R_OK) == 0
                    ? compose_load_tree(c, path, c->names[cstrv_len(c->names) - 1], depth + 1, &t)
                    : cfail(c, pn, "include[%zu]: cannot read %s", idx, pn->s);
        if (r < 0) {
            cn_free(merged);
            return r;
        }
        if (!merged)
            merged = t;
        else
            cn_merge(merged, t);
    }
    int r = add_resources(c, root, merged, paths->type == CN_SEQ ? "an included file" : paths->s);
    cn_free(merged);
    return r;
}

int cn_include(struct cctx *c, struct cnode *root, const char *dir, int depth)
{
    int ii = cn_index(root, "include");
    if (ii < 0)
        return 0;
    struct cnode *inc = root->items[ii];
    if (depth >= MAX_INCLUDE_DEPTH)
        return cfail(c, inc, "include: a cycle, or more than %d levels", MAX_INCLUDE_DEPTH);
    if (inc->type != CN_SEQ)
        return cfail(c, inc, "include: expected a sequence, got %s", cn_kind(inc));
    for (size_t i = 0; i < inc->n; i++) {
        int r = include_one(c, root, inc->items[i], dir, depth, i);
        if (r < 0)
            return r;
    }
    cn_map_remove(root, (size_t)cn_index(root, "include"));
    return 0;
}
