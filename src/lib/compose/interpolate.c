/* compose/interpolate.c — ${VAR}, $VAR, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a},
 * ${VAR+a} and $$ in values (never keys), as the Compose Specification defines them. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"
#include "servin/strbuf.h"

static bool name_start(char ch)
{
    return isalpha((unsigned char)ch) || ch == '_';
}

static bool name_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* The index of the "}" closing the "${" whose body starts at s, or -1. */
static long closing_brace(const char *s)
{
    int depth = 1;
    for (long i = 0; s[i]; i++) {
        if (s[i] == '$' && s[i + 1] == '$') {
            i++;
        } else if (s[i] == '$' && s[i + 1] == '{') {
            depth++;
            i++;
        } else if (s[i] == '}' && --depth == 0) {
            return i;
        }
    }
    return -1;
}

static const char *lookup(struct cctx *c, const char *name)
{
    bool found = false;
    const char *v = ckv_get(c->env, name, &found);
    return found ? v : NULL;
}

static int expand(struct cctx *c, const struct cnode *at, const char *path, const char *in,
                  struct servin_strbuf *b, int depth);

static int invalid(struct cctx *c, const struct cnode *at, const char *path, const char *in)
{
    return cfail(c, at, "%s: invalid interpolation format in \"%s\" (write $$ for a literal $)", path, in);
}

/* The braced form: body is what lies between "${" and its "}". */
static int braced(struct cctx *c, const struct cnode *at, const char *path, const char *body,
                  struct servin_strbuf *b, int depth)
{
    size_t nl = 0;
    while (name_char(body[nl]))
        nl++;
    if (nl == 0 || !name_start(body[0])) {
        _cleanup_free_ char *whole = xasprintf("${%s}", body);
        return invalid(c, at, path, whole);
    }
    _cleanup_free_ char *name = xstrndup(body, nl);
    const char *op = body + nl;
    const char *val = lookup(c, name);
    if (!*op) {
        if (!val)
            cwarn(c, "the \"%s\" variable is not set, defaulting to a blank string", name);
        else
            servin_strbuf_put(b, val, strlen(val));
        return 0;
    }
    bool colon = *op == ':';
    char kind = colon ? op[1] : op[0];
    const char *arg = op + (colon ? 2 : 1);
    if (kind != '-' && kind != '?' && kind != '+') {
        _cleanup_free_ char *whole = xasprintf("${%s}", body);
        return invalid(c, at, path, whole);
    }
    bool set = colon ? (val && *val) : val != NULL;
    switch (kind) {
    case '-':
        if (set) {
            servin_strbuf_put(b, val, strlen(val));
            return 0;
        }
        return expand(c, at, path, arg, b, depth + 1);
    case '+':
        if (!set)
            return 0;
        return expand(c, at, path, arg, b, depth + 1);
    default: { /* '?' */
        if (set) {
            servin_strbuf_put(b, val, strlen(val));
            return 0;
        }
        struct servin_strbuf msg = {0};
        int r = expand(c, at, path, arg, &msg, depth + 1);
        if (r == 0)
            r = cfail(c, at, "%s: required variable %s is missing a value%s%s", path, name,
                      msg.len ? ": " : "", msg.len ? msg.s : "");
        free(msg.s);
        return r;
    }
    }
}

static int expand(struct cctx *c, const struct cnode *at, const char *path, const char *in,
                  struct servin_strbuf *b, int depth)
{
    if (depth > 20)
        return cfail(c, at, "%s: interpolation nests too deep", path);
    servin_strbuf_put(b, "", 0);
    for (const char *p = in; *p;) {
        const char *d = strchr(p, '$');
        if (!d) {
            servin_strbuf_put(b, p, strlen(p));
            break;
        }
        servin_strbuf_put(b, p, (size_t)(d - p));
        if (d[1] == '$') {
            servin_strbuf_put(b, "$", 1);
            p = d + 2;
        } else if (d[1] == '{') {
            long end = closing_brace(d + 2);
            if (end < 0)
                return invalid(c, at, path, in);
            _cleanup_free_ char *body = xstrndup(d + 2, (size_t)end);
            int r = braced(c, at, path, body, b, depth);
            if (r < 0)
                return r;
            p = d + 2 + end + 1;
        } else if (name_start(d[1])) {
            size_t nl = 1;
            while (name_char(d[1 + nl]))
                nl++;
            _cleanup_free_ char *name = xstrndup(d + 1, nl);
            const char *val = lookup(c, name);
            if (!val)
                cwarn(c, "the \"%s\" variable is not set, defaulting to a blank string", name);
            else
                servin_strbuf_put(b, val, strlen(val));
            p = d + 1 + nl;
        } else {
            /* "$" before anything else stays as it is, as docker compose leaves it */
            servin_strbuf_put(b, "$", 1);
            p = d + 1;
        }
    }
    return 0;
}

int compose_interpolate_str(struct cctx *c, const struct cnode *at, const char *path, const char *in,
                            char **out)
{
    struct servin_strbuf b = {0};
    int r = expand(c, at, path, in, &b, 0);
    if (r < 0) {
        free(b.s);
        return r;
    }
    *out = b.s ? b.s : xstrdup("");
    return 0;
}

static int walk(struct cctx *c, struct cnode *n, const char *path)
{
    if (n->type == CN_SCALAR) {
        if (!strchr(n->s, '$'))
            return 0;
        char *v = NULL;
        int r = compose_interpolate_str(c, n, path, n->s, &v);
        if (r < 0)
            return r;
        free(n->s);
        n->s = v;
        return 0;
    }
    for (size_t i = 0; i < n->n; i++) {
        _cleanup_free_ char *sub = n->type == CN_MAP
                                       ? xasprintf("%s%s%s", path, *path ? "." : "", n->keys[i]->s)
                                       : xasprintf("%s[%zu]", path, i);
        int r = walk(c, n->items[i], sub);
        if (r < 0)
            return r;
    }
    return 0;
}

int cn_interpolate(struct cctx *c, struct cnode *root)
{
    /* x-* extension fields are not interpolated by themselves: they are used through anchors */
    for (size_t i = 0; i < root->n; i++) {
        if (strncmp(root->keys[i]->s, "x-", 2) == 0)
            continue;
        int r = walk(c, root->items[i], root->keys[i]->s);
        if (r < 0)
            return r;
    }
    return 0;
}
