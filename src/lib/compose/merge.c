/* compose/merge.c — a later -f file merged over an earlier one, by the Compose Specification's
 * rules: mappings merge key by key; command, entrypoint and healthcheck.test are replaced; ports
 * and lists of strings append without duplicates; volumes, secrets and configs merge by target;
 * "!reset" removes a value and "!override" replaces it whole. Both trees are normalized already. */
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

/* The identity of a sequence entry for merging: volumes/secrets/configs by target (or source). */
static const char *entry_key(const struct cnode *it)
{
    if (it->type != CN_MAP)
        return NULL;
    struct cnode *t = cn_get(it, "target");
    if (t && t->type == CN_SCALAR)
        return t->s;
    t = cn_get(it, "source");
    return t && t->type == CN_SCALAR ? t->s : NULL;
}

static void merge_seq(struct cnode *base, struct cnode *over, bool by_key)
{
    for (size_t i = 0; i < over->n; i++) {
        struct cnode *it = over->items[i];
        bool done = false;
        for (size_t j = 0; j < base->n && !done; j++) {
            const char *kb = by_key ? entry_key(base->items[j]) : NULL, *ko = by_key ? entry_key(it) : NULL;
            if ((kb && ko && strcmp(kb, ko) == 0) || same(base->items[j], it)) {
                cn_free(base->items[j]);
                base->items[j] = it;
                done = true;
            }
        }
        if (!done)
            cn_seq_add(base, it);
        over->items[i] = NULL;
    }
    over->n = 0;
}

static bool replaced(const char *key)
{
    return strcmp(key, "command") == 0 || strcmp(key, "entrypoint") == 0 || strcmp(key, "test") == 0;
}

static bool keyed(const char *key)
{
    return strcmp(key, "volumes") == 0 || strcmp(key, "secrets") == 0 || strcmp(key, "configs") == 0;
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
        merge_seq(base, over, keyed(key));
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
