/* compose/yaml_load.c — one compose file through libyaml into a node tree that keeps every node's
 * line: aliases are copied (with a bound, against alias bombs) and "<<" merge keys applied. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

#define MAX_DEPTH 100

struct loader {
    struct cctx *c;
    yaml_document_t *doc;
    const char *file;
};

static void mark(struct cnode *n, const struct loader *l, const yaml_node_t *y)
{
    n->file = l->file;
    n->line = (int)y->start_mark.line + 1;
    n->col = (int)y->start_mark.column + 1;
}

static bool plain_null(const yaml_node_t *y)
{
    if (y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)y->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

static int convert(struct loader *l, yaml_node_t *y, int depth, struct cnode **out);

/* Keys of src not yet in dst are added to it ("<<: *base": the explicit keys win). */
static int merge_into(struct loader *l, struct cnode *dst, yaml_node_t *src, int depth,
                      const struct cnode *at)
{
    if (src->type != YAML_MAPPING_NODE)
        return cfail(l->c, at, "a \"<<\" merge key needs a mapping or a sequence of mappings");
    struct cnode *m = NULL;
    int r = convert(l, src, depth + 1, &m);
    if (r < 0)
        return r;
    for (size_t i = 0; i < m->n; i++) {
        if (cn_index(dst, m->keys[i]->s) >= 0)
            continue;
        cn_map_set(dst, m->keys[i]->s, m->items[i], m->keys[i]);
        m->items[i] = NULL;
    }
    cn_free(m);
    return 0;
}

static int convert_map(struct loader *l, yaml_node_t *y, int depth, struct cnode *n)
{
    /* explicit keys first, then the merged ones */
    for (yaml_node_pair_t *p = y->data.mapping.pairs.start; p < y->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        if (!k || !v)
            continue;
        struct cnode tmp = {.file = l->file};
        tmp.line = (int)k->start_mark.line + 1;
        if (k->type != YAML_SCALAR_NODE)
            return cfail(l->c, &tmp, "a mapping key must be a string, not %s",
                         k->type == YAML_MAPPING_NODE ? "a mapping" : "a sequence");
        const char *key = (const char *)k->data.scalar.value;
        if (strcmp(key, "<<") == 0 && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            continue;
        if (cn_index(n, key) >= 0)
            return cfail(l->c, &tmp, "mapping key \"%s\" already defined", key);
        struct cnode *val = NULL;
        int r = convert(l, v, depth + 1, &val);
        if (r < 0)
            return r;
        struct cnode *kn = cn_new(CN_SCALAR, &tmp);
        mark(kn, l, k);
        kn->s = xstrdup(key);
        cn_map_set(n, key, val, kn);
        cn_free(n->keys[n->n - 1]);
        n->keys[n->n - 1] = kn;
    }
    for (yaml_node_pair_t *p = y->data.mapping.pairs.start; p < y->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE ||
            strcmp((const char *)k->data.scalar.value, "<<") != 0 ||
            k->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            continue;
        struct cnode at = {.file = l->file, .line = (int)k->start_mark.line + 1};
        if (v->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                int r = merge_into(l, n, yaml_document_get_node(l->doc, *it), depth, &at);
                if (r < 0)
                    return r;
            }
        } else {
            int r = merge_into(l, n, v, depth, &at);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int convert(struct loader *l, yaml_node_t *y, int depth, struct cnode **out)
{
    struct cnode at = {.file = l->file, .line = (int)y->start_mark.line + 1};
    if (depth > MAX_DEPTH)
        return cfail(l->c, &at, "the document nests deeper than %d levels", MAX_DEPTH);
    if (l->c->budget == 0)
        return cfail(l->c, &at, "the document expands to too many nodes (aliases of aliases?)");
    l->c->budget--;
    struct cnode *n = NULL;
    const char *tag = (const char *)y->tag;
    switch (y->type) {
    case YAML_SCALAR_NODE:
        n = cn_new(plain_null(y) ? CN_NULL : CN_SCALAR, NULL);
        if (n->type == CN_SCALAR) {
            n->s = xstrndup((const char *)y->data.scalar.value, y->data.scalar.length);
            n->quoted = y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        }
        break;
    case YAML_SEQUENCE_NODE:
        n = cn_new(CN_SEQ, NULL);
        break;
    case YAML_MAPPING_NODE:
        n = cn_new(CN_MAP, NULL);
        break;
    default:
        return cfail(l->c, &at, "unexpected empty node");
    }
    mark(n, l, y);
    if (tag && tag[0] == '!' && tag[1] != '!')
        n->tag = xstrdup(tag);
    int r = 0;
    if (y->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = y->data.sequence.items.start; it < y->data.sequence.items.top && r == 0;
             it++) {
            struct cnode *item = NULL;
            r = convert(l, yaml_document_get_node(l->doc, *it), depth + 1, &item);
            if (r == 0)
                cn_seq_add(n, item);
        }
    } else if (y->type == YAML_MAPPING_NODE) {
        r = convert_map(l, y, depth, n);
    }
    if (r < 0) {
        cn_free(n);
        return r;
    }
    *out = n;
    return 0;
}

int cn_load_file(struct cctx *c, const char *path, const char *display, struct cnode **out)
{
    _cleanup_fclose_ FILE *f = fopen(path, "rb");
    if (!f)
        return servin_error_errno(c->err, errno, "open compose file %s", display);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return servin_error_set(c->err, ENOMEM, "initialise the YAML parser");
    yaml_parser_set_input_file(&parser, f);
    yaml_document_t doc;
    if (!yaml_parser_load(&parser, &doc)) {
        int r = servin_error_set(c->err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s%s%s", display,
                                 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                                 parser.problem ? parser.problem : "unknown error", parser.context ? " " : "",
                                 parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return r;
    }
    yaml_parser_delete(&parser);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int r;
    if (!root) {
        r = servin_error_set(c->err, EINVAL, "%s: the compose file is empty", display);
    } else {
        struct loader l = {.c = c, .doc = &doc, .file = display};
        r = convert(&l, root, 0, out);
        if (r == 0 && (*out)->type != CN_MAP) {
            r = cfail(c, *out, "the top level must be a mapping, got %s", cn_kind(*out));
            cn_free(*out);
            *out = NULL;
        }
    }
    yaml_document_delete(&doc);
    return r;
}
