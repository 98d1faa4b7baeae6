/* build/ignore.c — .dockerignore: Go filepath.Match patterns with "**", "!" exceptions, the last
 * matching line deciding, and a pattern that matches a directory leaving out all below it. */
#include <stdlib.h>
#include <string.h>

#include "build/build_internal.h"
#include "servin/cleanup.h"

struct pattern {
    char *text;
    bool exception;
};

struct bf_ignore {
    struct pattern *v;
    size_t n;
    bool exceptions;
};

/* A character class "[...]" at p (after the "["); *end gets the char after "]". -1: malformed. */
static int class_match(const char *p, char c, const char **end)
{
    bool negate = *p == '^' || *p == '!';
    if (negate)
        p++;
    bool hit = false, first = true;
    while (*p && (*p != ']' || first)) {
        first = false;
        char lo = *p++;
        if (lo == '\\' && *p)
            lo = *p++;
        char hi = lo;
        if (*p == '-' && p[1] && p[1] != ']') {
            p++;
            hi = *p++;
            if (hi == '\\' && *p)
                hi = *p++;
        }
        if (lo <= c && c <= hi)
            hit = true;
    }
    if (*p != ']')
        return -1;
    *end = p + 1;
    return hit != negate;
}

static bool match_at(const char *p, const char *s)
{
    for (;;) {
        if (*p == '\0')
            return *s == '\0';
        if (p[0] == '*' && p[1] == '*') {
            while (*p == '*')
                p++;
            if (*p == '\0')
                return true;
            if (*p == '/') {
                /* "**\/x" matches "x", "a/x", "a/b/x". */
                if (match_at(p + 1, s))
                    return true;
                for (const char *q = s; *q; q++)
                    if (*q == '/' && match_at(p + 1, q + 1))
                        return true;
                return false;
            }
            for (const char *q = s;; q++) {
                if (match_at(p, q))
                    return true;
                if (!*q)
                    return false;
            }
        }
        if (*p == '*') {
            p++;
            for (const char *q = s;; q++) {
                if (match_at(p, q))
                    return true;
                if (!*q || *q == '/')
                    return false;
            }
        }
        if (*s == '\0')
            return false;
        if (*p == '?') {
            if (*s == '/')
                return false;
        } else if (*p == '[') {
            const char *end;
            if (*s == '/')
                return false;
            int r = class_match(p + 1, *s, &end);
            if (r <= 0)
                return false;
            p = end;
            s++;
            continue;
        } else {
            if (*p == '\\' && p[1])
                p++;
            if (*p != *s)
                return false;
        }
        p++;
        s++;
    }
}

bool bf_glob_match(const char *pattern, const char *name)
{
    return match_at(pattern, name);
}

/* filepath.Clean for a relative slash path: no "//", no ".", ".." folded, no leading "/". */
static char *clean(const char *in)
{
    _cleanup_free_ char *copy = xstrdup(in);
    char **parts = xcalloc(strlen(in) + 1, sizeof(char *));
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (strcmp(t, ".") == 0)
            continue;
        if (strcmp(t, "..") == 0) {
            if (n > 0)
                n--;
            continue;
        }
        parts[n++] = t;
    }
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]) + 1;
    char *out = xmalloc(len);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, "/");
        strcat(out, parts[i]);
    }
    free(parts);
    return out;
}

struct bf_ignore *bf_ignore_parse(const char *text)
{
    struct bf_ignore *ig = xcalloc(1, sizeof(*ig));
    if (!text)
        return ig;
    _cleanup_free_ char *copy = xstrdup(text);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        /* Comments start a line; blanks around a pattern are not part of it. */
        if (line[0] == '#')
            continue;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
            s[--n] = '\0';
        bool exception = s[0] == '!';
        if (exception) {
            s++;
            while (*s == ' ' || *s == '\t')
                s++;
        }
        if (!*s)
            continue;
        char *c = clean(s);
        if (!*c) {
            free(c);
            continue;
        }
        ig->v = xreallocarray(ig->v, ig->n + 1, sizeof(*ig->v));
        ig->v[ig->n++] = (struct pattern){.text = c, .exception = exception};
        ig->exceptions = ig->exceptions || exception;
    }
    return ig;
}

void bf_ignore_free(struct bf_ignore *ig)
{
    if (!ig)
        return;
    for (size_t i = 0; i < ig->n; i++)
        free(ig->v[i].text);
    free(ig->v);
    free(ig);
}

bool bf_ignore_has_exceptions(const struct bf_ignore *ig)
{
    return ig && ig->exceptions;
}

/* The pattern matches the path or one of its parent directories. */
static bool pattern_hits(const char *pattern, const char *path)
{
    _cleanup_free_ char *p = xstrdup(path);
    for (;;) {
        if (match_at(pattern, p))
            return true;
        char *slash = strrchr(p, '/');
        if (!slash)
            return false;
        *slash = '\0';
    }
}

bool bf_ignore_match(const struct bf_ignore *ig, const char *path)
{
    if (!ig || ig->n == 0)
        return false;
    bool out = false;
    for (size_t i = 0; i < ig->n; i++) {
        /* Only a pattern that could change the answer is tried. */
        if (ig->v[i].exception != out)
            continue;
        if (pattern_hits(ig->v[i].text, path))
            out = !ig->v[i].exception;
    }
    return out;
}
