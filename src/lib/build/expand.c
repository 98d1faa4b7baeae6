/* build/expand.c — Docker's word rules for the instructions it expands (FROM, ARG, ENV, LABEL,
 * COPY, ADD, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL): $VAR, ${VAR}, ${VAR:-x}, ${VAR-x},
 * ${VAR:+x}, ${VAR+x}, ${VAR:?msg}, single and double quotes, and the escape character. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build/build_internal.h"
#include "servin/cleanup.h"
#include "servin/strbuf.h"

static void putc_(struct servin_strbuf *b, char c)
{
    servin_strbuf_put(b, &c, 1);
}

struct lexer {
    const char *p;
    char escape;
    bf_lookup_fn lookup;
    void *ctx;
    struct servin_error *err;
};

static int word_until(struct lexer *lx, char stop, struct servin_strbuf *out);

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* After "${": a name, then "}" or a modifier whose word may itself hold variables. */
static int braced(struct lexer *lx, struct servin_strbuf *out)
{
    const char *start = lx->p;
    while (name_char(*lx->p))
        lx->p++;
    size_t n = (size_t)(lx->p - start);
    if (n == 0)
        return servin_error_set(lx->err, EINVAL, "bad substitution: a variable name must follow \"${\"");
    _cleanup_free_ char *name = xstrndup(start, n);
    const char *value = lx->lookup(lx->ctx, name);
    if (*lx->p == '}') {
        lx->p++;
        if (value)
            servin_strbuf_put(out, value, strlen(value));
        return 0;
    }
    bool colon = *lx->p == ':';
    if (colon)
        lx->p++;
    char op = *lx->p;
    if (op != '-' && op != '+' && op != '?')
        return servin_error_set(lx->err, EINVAL, "unsupported modifier \"%.*s\" in ${%s}", colon ? 2 : 1,
                                lx->p - colon, name);
    lx->p++;
    struct servin_strbuf word = {0};
    int ret = word_until(lx, '}', &word);
    if (ret == 0 && *lx->p != '}')
        ret = servin_error_set(lx->err, EINVAL, "missing \"}\" after ${%s", name);
    if (ret < 0) {
        free(word.s);
        return ret;
    }
    lx->p++;
    const char *w = word.s ? word.s : "";
    bool set = value != NULL, nonempty = value && *value;
    bool present = colon ? nonempty : set;
    if (op == '-')
        servin_strbuf_put(out, present ? value : w, strlen(present ? value : w));
    else if (op == '+')
        servin_strbuf_put(out, present ? w : "", present ? strlen(w) : 0);
    else if (!present)
        ret = servin_error_set(lx->err, EINVAL, "%s: %s", name, *w ? w : "is not set");
    else
        servin_strbuf_put(out, value, strlen(value));
    free(word.s);
    return ret;
}

/* After "$". A "$" that starts no name stays a "$". */
static int dollar(struct lexer *lx, struct servin_strbuf *out)
{
    if (*lx->p == '{') {
        lx->p++;
        return braced(lx, out);
    }
    const char *start = lx->p;
    if (isdigit((unsigned char)*lx->p)) {
        lx->p++; /* positional parameters are never set in a Buildfile */
        return 0;
    }
    while (name_char(*lx->p))
        lx->p++;
    if (lx->p == start) {
        putc_(out, '$');
        return 0;
    }
    _cleanup_free_ char *name = xstrndup(start, (size_t)(lx->p - start));
    const char *value = lx->lookup(lx->ctx, name);
    if (value)
        servin_strbuf_put(out, value, strlen(value));
    return 0;
}

static int double_quoted(struct lexer *lx, struct servin_strbuf *out)
{
    for (;;) {
        char c = *lx->p;
        if (c == '\0')
            return servin_error_set(lx->err, EINVAL, "unexpected end of text: missing closing \"");
        lx->p++;
        if (c == '"')
            return 0;
        if (c == '$') {
            int ret = dollar(lx, out);
            if (ret < 0)
                return ret;
            continue;
        }
        if (c == lx->escape) {
            char n = *lx->p;
            /* Only these can be escaped between double quotes; other escapes stay as written. */
            if (n == '"' || n == '$' || n == lx->escape) {
                putc_(out, n);
                lx->p++;
                continue;
            }
            if (n == '\0')
                continue;
        }
        putc_(out, c);
    }
}

/* A word up to `stop` (0: up to the end; ' ': up to an unquoted blank). */
static int word_until(struct lexer *lx, char stop, struct servin_strbuf *out)
{
    while (*lx->p) {
        char c = *lx->p;
        if (stop == ' ' ? (c == ' ' || c == '\t' || c == '\n') : (stop && c == stop))
            return 0;
        lx->p++;
        int ret = 0;
        if (c == '\'') {
            const char *end = strchr(lx->p, '\'');
            if (!end)
                return servin_error_set(lx->err, EINVAL, "unexpected end of text: missing closing '");
            servin_strbuf_put(out, lx->p, (size_t)(end - lx->p));
            lx->p = end + 1;
        } else if (c == '"') {
            ret = double_quoted(lx, out);
        } else if (c == '$') {
            ret = dollar(lx, out);
        } else if (c == lx->escape) {
            if (*lx->p)
                putc_(out, *lx->p++);
        } else {
            putc_(out, c);
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

int bf_expand_word(const char *in, char escape, bf_lookup_fn lookup, void *ctx, char **out,
                   struct servin_error *err)
{
    struct lexer lx = {.p = in, .escape = escape, .lookup = lookup, .ctx = ctx, .err = err};
    struct servin_strbuf b = {0};
    servin_strbuf_put(&b, "", 0);
    int ret = word_until(&lx, 0, &b);
    if (ret < 0) {
        free(b.s);
        return servin_error_wrap(err, "expand \"%s\"", in);
    }
    *out = b.s;
    return 0;
}

int bf_expand_heredoc(const char *in, char escape, bf_lookup_fn lookup, void *ctx, char **out,
                      struct servin_error *err)
{
    struct lexer lx = {.p = in, .escape = escape, .lookup = lookup, .ctx = ctx, .err = err};
    struct servin_strbuf b = {0};
    servin_strbuf_put(&b, "", 0);
    while (*lx.p) {
        char c = *lx.p++;
        if (c == '$') {
            int ret = dollar(&lx, &b);
            if (ret < 0) {
                free(b.s);
                return servin_error_wrap(err, "expand the here-document");
            }
        } else if (c == escape && (*lx.p == '$' || *lx.p == escape)) {
            putc_(&b, *lx.p++);
        } else {
            putc_(&b, c);
        }
    }
    *out = b.s;
    return 0;
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    return p;
}

int bf_expand_words(const char *in, char escape, bf_lookup_fn lookup, void *ctx, char ***out,
                    struct servin_error *err)
{
    struct lexer lx = {.p = skip_blanks(in), .escape = escape, .lookup = lookup, .ctx = ctx, .err = err};
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0;
    while (*lx.p) {
        struct servin_strbuf b = {0};
        servin_strbuf_put(&b, "", 0);
        int ret = word_until(&lx, ' ', &b);
        if (ret < 0) {
            free(b.s);
            strv_free(v);
            return servin_error_wrap(err, "expand \"%s\"", in);
        }
        v = xreallocarray(v, n + 2, sizeof(char *));
        v[n++] = b.s;
        v[n] = NULL;
        lx.p = skip_blanks(lx.p);
    }
    *out = v;
    return 0;
}

char **bf_split_words(const char *in, char escape)
{
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0;
    const char *p = skip_blanks(in);
    while (*p) {
        const char *start = p;
        char quote = 0;
        for (; *p; p++) {
            if (quote) {
                if (*p == escape && quote == '"' && p[1])
                    p++;
                else if (*p == quote)
                    quote = 0;
            } else if (*p == escape && p[1]) {
                p++;
            } else if (*p == '"' || *p == '\'') {
                quote = *p;
            } else if (*p == ' ' || *p == '\t' || *p == '\n') {
                break;
            }
        }
        v = xreallocarray(v, n + 2, sizeof(char *));
        v[n++] = xstrndup(start, (size_t)(p - start));
        v[n] = NULL;
        p = skip_blanks(p);
    }
    return v;
}

static void push(char ***v, size_t *n, char *s)
{
    *v = xreallocarray(*v, *n + 2, sizeof(char *));
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}

int bf_parse_pairs(const char *in, char escape, bool legacy_ok, bool values_optional, bf_lookup_fn lookup,
                   void *ctx, char ***out, size_t *n_pairs, struct servin_error *err)
{
    _cleanup_strv_ char **words = bf_split_words(in, escape);
    if (!words[0])
        return servin_error_set(err, EINVAL, "missing arguments: expected NAME=VALUE");
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0, pairs = 0;
    int ret = 0;
    if (legacy_ok && !strchr(words[0], '=')) {
        /* The old "ENV NAME some value" form: one pair, the value is the rest of the line. */
        const char *rest = skip_blanks(in);
        rest += strlen(words[0]);
        rest = skip_blanks(rest);
        if (!*rest) {
            strv_free(v);
            return servin_error_set(err, EINVAL, "%s: missing a value (NAME VALUE or NAME=VALUE)", words[0]);
        }
        char *key = NULL, *value = NULL;
        ret = bf_expand_word(words[0], escape, lookup, ctx, &key, err);
        if (ret == 0)
            ret = bf_expand_word(rest, escape, lookup, ctx, &value, err);
        push(&v, &n, key);
        push(&v, &n, value);
        pairs = 1;
    } else {
        for (size_t i = 0; words[i] && ret == 0; i++) {
            char *eq = strchr(words[i], '=');
            if (!eq && !values_optional) {
                ret = servin_error_set(err, EINVAL, "\"%s\" has no \"=\": expected NAME=VALUE", words[i]);
                break;
            }
            _cleanup_free_ char *raw_key =
                eq ? xstrndup(words[i], (size_t)(eq - words[i])) : xstrdup(words[i]);
            char *key = NULL, *value = NULL;
            ret = bf_expand_word(raw_key, escape, lookup, ctx, &key, err);
            if (ret == 0 && eq)
                ret = bf_expand_word(eq + 1, escape, lookup, ctx, &value, err);
            if (ret == 0 && !*key)
                ret = servin_error_set(err, EINVAL, "\"%s\": the name is empty", words[i]);
            /* v holds key, value pairs, value NULL for "ARG NAME": keep both slots. */
            v = xreallocarray(v, n + 3, sizeof(char *));
            v[n++] = key;
            v[n++] = value;
            v[n] = NULL;
            pairs++;
        }
    }
    if (ret < 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return ret;
    }
    *out = v;
    *n_pairs = pairs;
    return 0;
}

void bf_pairs_free(char **pairs, size_t n_pairs)
{
    if (!pairs)
        return;
    for (size_t i = 0; i < 2 * n_pairs; i++)
        free(pairs[i]);
    free(pairs);
}
