/* compose/model_values.c — typed reads of tree nodes: a wrong type is an error naming the key path,
 * its file and line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

int cn_expect(struct cctx *c, const struct cnode *n, const char *path, enum cn_type t)
{
    if (n->type == t)
        return 0;
    static const char *const names[] = {"null", "a string", "a sequence", "a mapping"};
    return cfail(c, n, "%s: expected %s, got %s", path, names[t], cn_kind(n));
}

int cn_str(struct cctx *c, const struct cnode *n, const char *path, char **out)
{
    free(*out);
    *out = NULL;
    if (n->type == CN_NULL)
        return 0;
    if (n->type != CN_SCALAR)
        return cfail(c, n, "%s: expected a string, got %s", path, cn_kind(n));
    *out = xstrdup(n->s);
    return 0;
}

int cn_bool(struct cctx *c, const struct cnode *n, const char *path, bool *out)
{
    if (n->type == CN_SCALAR) {
        static const char *const t[] = {"true", "yes", "on", "y", "1"};
        static const char *const f[] = {"false", "no", "off", "n", "0"};
        for (size_t i = 0; i < 5; i++) {
            if (strcasecmp(n->s, t[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcasecmp(n->s, f[i]) == 0) {
                *out = false;
                return 0;
            }
        }
        return cfail(c, n, "%s: expected a boolean, got \"%s\"", path, n->s);
    }
    return cfail(c, n, "%s: expected a boolean, got %s", path, cn_kind(n));
}

int cn_int(struct cctx *c, const struct cnode *n, const char *path, long long min, long long *out)
{
    if (n->type != CN_SCALAR)
        return cfail(c, n, "%s: expected an integer, got %s", path, cn_kind(n));
    char *end;
    errno = 0;
    long long v = strtoll(n->s, &end, 10);
    if (!*n->s || *end || errno)
        return cfail(c, n, "%s: expected an integer, got \"%s\"", path, n->s);
    if (v < min)
        return cfail(c, n, "%s: must be at least %lld, got %lld", path, min, v);
    *out = v;
    return 0;
}

int cn_duration(struct cctx *c, const struct cnode *n, const char *path, int64_t *ns)
{
    if (n->type != CN_SCALAR)
        return cfail(c, n, "%s: expected a duration, got %s", path, cn_kind(n));
    if (servin_compose_parse_duration(n->s, ns) < 0)
        return cfail(c, n, "%s: invalid duration \"%s\" (e.g. 30s, 1m30s, 500ms)", path, n->s);
    return 0;
}

int cn_bytes(struct cctx *c, const struct cnode *n, const char *path, int64_t *bytes)
{
    if (n->type != CN_SCALAR)
        return cfail(c, n, "%s: expected a byte size, got %s", path, cn_kind(n));
    if (servin_compose_parse_bytes(n->s, bytes) < 0)
        return cfail(c, n, "%s: invalid byte size \"%s\" (e.g. 512m, 1g, 1024)", path, n->s);
    return 0;
}

int cn_strv(struct cctx *c, const struct cnode *n, const char *path, char ***out)
{
    strv_free(*out);
    *out = NULL;
    if (n->type == CN_NULL)
        return 0;
    if (n->type != CN_SEQ)
        return cfail(c, n, "%s: expected a sequence of strings, got %s", path, cn_kind(n));
    for (size_t i = 0; i < n->n; i++) {
        if (n->items[i]->type != CN_SCALAR)
            return cfail(c, n->items[i], "%s[%zu]: expected a string, got %s", path, i, cn_kind(n->items[i]));
        *out = cstrv_add(*out, n->items[i]->s);
    }
    return 0;
}

int cn_kvlist(struct cctx *c, const struct cnode *n, const char *path, struct servin_compose_kvlist *out)
{
    if (n->type == CN_NULL)
        return 0;
    if (n->type != CN_MAP)
        return cfail(c, n, "%s: expected a mapping, got %s", path, cn_kind(n));
    for (size_t i = 0; i < n->n; i++) {
        const struct cnode *v = n->items[i];
        if (v->type != CN_SCALAR && v->type != CN_NULL)
            return cfail(c, v, "%s.%s: expected a string, a number, a boolean or null, got %s", path,
                         n->keys[i]->s, cn_kind(v));
        ckv_set(out, n->keys[i]->s, v->type == CN_SCALAR ? v->s : NULL);
    }
    return 0;
}
