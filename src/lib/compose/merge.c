/* compose/merge.c — a later -f file merged over an earlier one, by the Compose Specification's
 * rules: mappings merge key by key; command, entrypoint and healthcheck.test are replaced; other
 * sequences append (without exact duplicates), but entries of ports, volumes, secrets and configs
 * that share their unique key merge; "!reset" removes a value and "!override" replaces it whole. Both trees
 * are normalized already. */
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

static bool same(const struct cnode *a, const struct cnode *b)
{
    if (a->type != b->type || a->n != b->n)
        return false;
    if (a->type == CN_SCALAR)
        return strcmp(a->s, b->s) == 0;
    for (size_t i = 0; i < a->n; i++) {
        if (a->keys && strcmp(a->keys[i]->s, b->keys[i]->s) != 0)
            return false;
        if (!same(a->items[i], b->items[i]))
            return false;
    }
    return true;
}

static const char *field(const struct cnode *m, const char *key)
{
    const struct cnode *v = cn_get(m, key);
    return v && v->type == CN_SCALAR ? v->s : "";
}

/* The unique key of a sequence entry (allocated), NULL when the sequence has none: volumes,
 * secrets and configs by target (or source), ports by {host_ip, target, published, protocol}. */
static char *entry_key(const struct cnode *it, const char *seq)
{
    if (it->type != CN_MAP)
        return NULL;
    if (strcmp(seq, "ports") == 0)
        return xasprintf("%s|%s|%s|%s", field(it, "host_ip"), field(it, "target"), field(it, "published"),
                         field(it, "protocol"));
    if (strcmp(seq, "volumes") && strcmp(seq, "secrets") && strcmp(seq, "configs"))
        return NULL;
    const char *t = field(it, "target");
    return xstrdup(*t ? t : field(it, "source"));
}

static void merge_seq(struct cnode *base, struct cnode *over, const char *seq)
{
    for (size_t i = 0; i < over->n; i++) {
        struct cnode *it = over->items[i];
        over->items[i] = NULL;
        _cleanup_free_ char *ko = entry_key(it, seq);
        bool done = false;
        for (size_t j = 0; j < base->n && !done; j++) {
            _cleanup_free_ char *kb = ko ? entry_key(base->items[j], seq) : NULL;
            if (kb && strcmp(kb, ko) == 0) {
                /* entries sharing a unique key merge, unless they are different kinds of mount */
                if (strcmp(field(base->items[j], "type"), field(it, "type")) == 0) {
                    cn_merge(base->items[j], it);
                } else {
                    cn_free(base->items[j]);
                    base->items[j] = it;
                }
                done = true;
            } else if (same(base->items[j], it)) {
                cn_free(it);
                done = true;
            }
        }
        if (!done)
            cn_seq_add(base, it);
    }
    over->n = 0;
}

static bool replaced(const char *key)
{
    return strcmp(key, "command") == 0 || strcmp(key, "entrypoint") == 0 || strcmp(key, "test") == 0;
}

static void merge_value(struct cnode **slot, struct cnode *over, const char *key)
{
    struct cnode *base = *slot;
    if (over->tag && strcmp(over->tag, "!override") == 0) {
        cn_free(base);
        *slot = over;
        return;
    }
    if (base->type == CN_MAP && over->type == CN_MAP) {
        cn_merge(base, over);
        return;
    }
    if (base->type == CN_SEQ && over->type == CN_SEQ && !replaced(key)) {
        merge_seq(base, over, key);
        cn_free(over);
        return;
    }
    cn_free(base);
    *slot = over;
}

void cn_merge(struct cnode *base, struct cnode *over)
{
    for (size_t i = 0; i < over->n; i++) {
        const char *key = over->keys[i]->s;
        struct cnode *v = over->items[i];
        over->items[i] = NULL;
        int bi = cn_index(base, key);
        if (v->tag && strcmp(v->tag, "!reset") == 0) {
            if (bi >= 0)
                cn_map_remove(base, (size_t)bi);
            cn_free(v);
            continue;
        }
        if (bi < 0) {
            cn_map_set(base, key, v, over->keys[i]);
            base->keys[base->n - 1]->line = over->keys[i]->line;
            base->keys[base->n - 1]->file = over->keys[i]->file;
        } else {
            merge_value(&base->items[bi], v, key);
        }
    }
    cn_free(over);
}
