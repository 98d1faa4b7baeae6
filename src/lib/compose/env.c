/* compose/env.c — ordered key/value lists and string lists, and dotenv files (.env, --env-file,
 * env_file:): KEY=VALUE lines, `export`, comments, quotes, and ${VAR} in values. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

void ckv_set(struct servin_compose_kvlist *l, const char *key, const char *value)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0) {
            free(l->items[i].value);
            l->items[i].value = value ? xstrdup(value) : NULL;
            return;
        }
    l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
    l->items[l->n].key = xstrdup(key);
    l->items[l->n].value = value ? xstrdup(value) : NULL;
    l->n++;
}

const char *ckv_get(const struct servin_compose_kvlist *l, const char *key, bool *found)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0) {
            if (found)
                *found = true;
            return l->items[i].value;
        }
    if (found)
        *found = false;
    return NULL;
}

void ckv_free(struct servin_compose_kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

char **cstrv_add(char **v, const char *s)
{
    size_t n = cstrv_len(v);
    v = xreallocarray(v, n + 2, sizeof(*v));
    v[n] = xstrdup(s);
    v[n + 1] = NULL;
    return v;
}

size_t cstrv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

char **cstrv_dup(char *const *v)
{
    char **out = NULL;
    for (; v && *v; v++)
        out = cstrv_add(out, *v);
    return out;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

/* The value after "=": quoted ('literal' or "with \n escapes", anything after the closing quote
 * ignored), or bare up to a " #" comment. */
static int parse_value(const char *v, char **out, bool *literal)
{
    *literal = false;
    if (*v == '\'') {
        const char *end = strchr(v + 1, '\'');
        if (!end)
            return -1;
        *literal = true;
        *out = xstrndup(v + 1, (size_t)(end - v - 1));
        return 0;
    }
    if (*v == '"') {
        char *o = xmalloc(strlen(v) + 1), *w = o;
        const char *p = v + 1;
        for (; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1]) {
                p++;
                *w++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
            } else {
                *w++ = *p;
            }
        }
        *w = 0;
        if (*p != '"') {
            free(o);
            return -1;
        }
        *out = o;
        return 0;
    }
    const char *hash = strstr(v, " #");
    char *val = hash ? xstrndup(v, (size_t)(hash - v)) : xstrdup(v);
    *out = xstrdup(trim(val));
    free(val);
    return 0;
}

int compose_read_env_file(struct cctx *c, const char *path, struct servin_compose_kvlist *l,
                          const struct servin_compose_kvlist *env)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return servin_error_errno(c->err, errno, "read env file %s", path);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, r = 0;
    while (r == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        struct cnode at = {.file = path, .line = lineno};
        char *eq = strchr(s, '=');
        if (!eq) {
            /* a bare name: take it from the environment when set */
            bool found = false;
            const char *v = ckv_get(env, s, &found);
            if (found)
                ckv_set(l, s, v);
            continue;
        }
        *eq = 0;
        char *key = trim(s);
        if (!*key || strpbrk(key, " \t")) {
            r = cfail(c, &at, "invalid variable name \"%s\"", key);
            break;
        }
        _cleanup_free_ char *raw = NULL;
        bool literal;
        if (parse_value(trim(eq + 1), &raw, &literal) < 0) {
            r = cfail(c, &at, "%s: unterminated quoted value", key);
            break;
        }
        if (literal || !strchr(raw, '$')) {
            ckv_set(l, key, raw);
            continue;
        }
        /* ${VAR} in a value: this file's earlier keys, then the environment */
        struct servin_compose_kvlist both = {0};
        for (size_t i = 0; env && i < env->n; i++)
            ckv_set(&both, env->items[i].key, env->items[i].value);
        for (size_t i = 0; i < l->n; i++)
            ckv_set(&both, l->items[i].key, l->items[i].value);
        struct servin_compose_kvlist *saved = c->env;
        c->env = &both;
        _cleanup_free_ char *v = NULL;
        r = compose_interpolate_str(c, &at, key, raw, &v);
        c->env = saved;
        ckv_free(&both);
        if (r == 0)
            ckv_set(l, key, v);
    }
    free(line);
    return r;
}
