/* compose/node.c — the generic node tree: building, copying, looking up, and the errors and
 * warnings that name a node's file and line. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

struct cnode *cn_new(enum cn_type t, const struct cnode *at)
{
    struct cnode *n = xcalloc(1, sizeof(*n));
    n->type = t;
    if (at) {
        n->file = at->file;
        n->line = at->line;
        n->col = at->col;
    }
    return n;
}

struct cnode *cn_scalar(const char *s, const struct cnode *at)
{
    struct cnode *n = cn_new(CN_SCALAR, at);
    n->s = xstrdup(s);
    n->quoted = true; /* made by us: a string, whatever it looks like */
    return n;
}

struct cnode *cn_copy(const struct cnode *n)
{
    if (!n)
        return NULL;
    struct cnode *c = cn_new(n->type, n);
    c->s = n->s ? xstrdup(n->s) : NULL;
    c->quoted = n->quoted;
    c->tag = n->tag ? xstrdup(n->tag) : NULL;
    c->n = n->n;
    if (n->n) {
        c->items = xcalloc(n->n, sizeof(*c->items));
        for (size_t i = 0; i < n->n; i++)
            c->items[i] = cn_copy(n->items[i]);
        if (n->keys) {
            c->keys = xcalloc(n->n, sizeof(*c->keys));
            for (size_t i = 0; i < n->n; i++)
                c->keys[i] = cn_copy(n->keys[i]);
        }
    }
    return c;
}

void cn_free(struct cnode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        cn_free(n->items[i]);
        if (n->keys)
            cn_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->s);
    free(n->tag);
    free(n);
}

void cn_seq_add(struct cnode *seq, struct cnode *item)
{
    seq->items = xreallocarray(seq->items, seq->n + 1, sizeof(*seq->items));
    seq->items[seq->n++] = item;
}

int cn_index(const struct cnode *map, const char *key)
{
    if (!map || map->type != CN_MAP)
        return -1;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->s, key) == 0)
            return (int)i;
    return -1;
}

struct cnode *cn_get(const struct cnode *map, const char *key)
{
    int i = cn_index(map, key);
    return i < 0 ? NULL : map->items[i];
}

void cn_map_set(struct cnode *map, const char *key, struct cnode *val, const struct cnode *at)
{
    int i = cn_index(map, key);
    if (i >= 0) {
        cn_free(map->items[i]);
        map->items[i] = val;
        return;
    }
    map->items = xreallocarray(map->items, map->n + 1, sizeof(*map->items));
    map->keys = xreallocarray(map->keys, map->n + 1, sizeof(*map->keys));
    map->keys[map->n] = cn_scalar(key, at ? at : val);
    map->items[map->n++] = val;
}

void cn_map_remove(struct cnode *map, size_t i)
{
    cn_free(map->items[i]);
    cn_free(map->keys[i]);
    memmove(map->items + i, map->items + i + 1, (map->n - i - 1) * sizeof(*map->items));
    memmove(map->keys + i, map->keys + i + 1, (map->n - i - 1) * sizeof(*map->keys));
    map->n--;
}

const char *cn_kind(const struct cnode *n)
{
    switch (n->type) {
    case CN_NULL:
        return "null";
    case CN_SCALAR:
        return "a string";
    case CN_SEQ:
        return "a sequence";
    default:
        return "a mapping";
    }
}

int cfail(struct cctx *c, const struct cnode *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (at && at->file)
        return servin_error_set(c->err, EINVAL, "%s:%d: %s", at->file, at->line, msg);
    return servin_error_set(c->err, EINVAL, "%s", msg);
}

void cwarn(struct cctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    for (char **w = c->warned; w && *w; w++)
        if (strcmp(*w, msg) == 0)
            return;
    c->warned = cstrv_add(c->warned, msg);
    if (c->warn)
        c->warn(c->warn_arg, msg);
    else
        log_warn("%s", msg);
}
