/* build/parse.c — the Dockerfile syntax: parser directives, comments, line continuations, flags,
 * JSON and shell forms and here-documents. There is no C library for it, and its rules (which
 * lines may interrupt a continuation, where directives stop) are Docker's, so they live here. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/build_internal.h"
#include "servin/cleanup.h"

static const char *const known[] = {"add",    "arg",   "cmd",         "copy",  "entrypoint", "env",
                                    "expose", "from",  "healthcheck", "label", "maintainer", "onbuild",
                                    "run",    "shell", "stopsignal",  "user",  "volume",     "workdir"};

struct lines {
    char **v; /* each line without its end-of-line */
    size_t n;
};

static void split_lines(const char *text, size_t len, struct lines *out)
{
    size_t cap = 16;
    out->v = xcalloc(cap, sizeof(char *));
    out->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n')
            continue;
        if (i == len && start == len)
            break;
        size_t end = i;
        if (end > start && text[end - 1] == '\r')
            end--;
        if (out->n + 1 >= cap) {
            cap *= 2;
            out->v = xreallocarray(out->v, cap, sizeof(char *));
        }
        out->v[out->n++] = xstrndup(text + start, end - start);
        start = i + 1;
    }
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static bool blank_line(const char *s)
{
    return *skip_blank(s) == '\0';
}

static bool comment_line(const char *s)
{
    return *skip_blank(s) == '#';
}

static int fail_at(struct servin_error *err, const char *name, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_at(struct servin_error *err, const char *name, int line, int column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return servin_error_set(err, EINVAL, "%s:%d:%d: %s", name, line, column, msg);
}

/* "# key=value" at the top of the file; returns false for anything else. */
static bool directive(const char *line, char **key, char **value)
{
    const char *p = skip_blank(line);
    if (*p != '#')
        return false;
    p = skip_blank(p + 1);
    const char *k = p;
    while (isalnum((unsigned char)*p))
        p++;
    if (p == k || !isalpha((unsigned char)*k))
        return false;
    const char *kend = p;
    p = skip_blank(p);
    if (*p != '=')
        return false;
    p = skip_blank(p + 1);
    size_t vlen = strlen(p);
    while (vlen > 0 && isspace((unsigned char)p[vlen - 1]))
        vlen--;
    *key = xstrndup(k, (size_t)(kend - k));
    for (char *c = *key; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    *value = xstrndup(p, vlen);
    return true;
}

/* A line ending in the escape character (blanks after it allowed) continues on the next. */
static bool continues(char *line, char escape)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    if (n == 0 || line[n - 1] != escape)
        return false;
    line[n - 1] = '\0';
    return true;
}

static void append(char **buf, const char *s)
{
    size_t a = *buf ? strlen(*buf) : 0, b = strlen(s);
    *buf = xrealloc(*buf, a + b + 1);
    memcpy(*buf + a, s, b + 1);
}

static void rtrim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

/* One flag word: up to unquoted blank. */
static size_t flag_len(const char *s)
{
    char quote = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        if (quote) {
            if (s[i] == quote)
                quote = 0;
        } else if (s[i] == '"' || s[i] == '\'') {
            quote = s[i];
        } else if (s[i] == ' ' || s[i] == '\t') {
            break;
        }
    }
    return i;
}

/* Flag words lose their quotes: --chown="1:2" is --chown=1:2. */
static char *unquote_flag(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        if (quote && s[i] == quote)
            quote = 0;
        else if (!quote && (s[i] == '"' || s[i] == '\''))
            quote = s[i];
        else
            *o++ = s[i];
    }
    *o = '\0';
    return out;
}

static bool json_form_allowed(const char *cmd)
{
    return strcmp(cmd, "run") == 0 || strcmp(cmd, "cmd") == 0 || strcmp(cmd, "entrypoint") == 0 ||
           strcmp(cmd, "shell") == 0 || strcmp(cmd, "copy") == 0 || strcmp(cmd, "add") == 0 ||
           strcmp(cmd, "volume") == 0;
}

static bool heredoc_allowed(const char *cmd)
{
    return strcmp(cmd, "run") == 0 || strcmp(cmd, "copy") == 0 || strcmp(cmd, "add") == 0;
}

/* The JSON form is a JSON array of strings. Text that plainly meant to be one ("[\"a\", ]") but
 * is not is an error rather than, as Docker does, a shell command that fails much later; "[ -f x ]"
 * is a shell test and stays one. */
static int json_form(struct bf_instr *in, const char *file, int args_col, struct servin_error *err)
{
    const char *a = in->args;
    if (a[0] != '[' && strcmp(in->cmd, "shell") == 0)
        return fail_at(
            err, file, in->line, args_col,
            "shell: invalid JSON form: SHELL takes a JSON array of strings, e.g. [\"/bin/sh\", \"-c\"]");
    if (a[0] != '[' || !json_form_allowed(in->cmd))
        return 0;
    json_error_t jerr;
    json_t *v = json_loads(a, JSON_DECODE_ANY, &jerr);
    bool strings = json_is_array(v);
    size_t i;
    json_t *e;
    json_array_foreach (v, i, e)
        strings = strings && json_is_string(e);
    if (strings) {
        in->json = v;
        return 0;
    }
    json_decref(v);
    size_t n = strlen(a);
    bool meant = strncmp(a, "[\"", 2) == 0 || (n >= 2 && strcmp(a + n - 2, "\"]") == 0) ||
                 strcmp(in->cmd, "shell") == 0;
    if (!meant)
        return 0;
    if (!v && jerr.position > 0)
        return fail_at(err, file, in->line, args_col + jerr.position - 1,
                       "%s: invalid JSON form: %s (write a JSON array of strings, or the shell form)",
                       in->cmd, jerr.text);
    return fail_at(err, file, in->line, args_col,
                   "%s: invalid JSON form: expected a JSON array of strings (write [\"a\", \"b\"], or the "
                   "shell form)",
                   in->cmd);
}

/* Here-documents named in the arguments ("<<EOF", "<<-EOF", "<<'EOF'"), their bodies read from
 * the lines after the instruction. */
static int heredocs(struct bf_instr *in, const char *file, struct lines *l, size_t *next, int args_col,
                    struct servin_error *err)
{
    if (!heredoc_allowed(in->cmd) || in->json)
        return 0;
    const char *a = in->args;
    char quote = 0;
    for (size_t i = 0; a[i]; i++) {
        if (quote) {
            if (a[i] == quote)
                quote = 0;
            continue;
        }
        if (a[i] == '\'' || a[i] == '"') {
            quote = a[i];
            continue;
        }
        if (a[i] != '<' || a[i + 1] != '<' || (i > 0 && a[i - 1] == '<'))
            continue;
        size_t at = i;
        size_t j = i + 2;
        bool strip = a[j] == '-';
        if (strip)
            j++;
        char q = (a[j] == '\'' || a[j] == '"') ? a[j] : 0;
        if (q)
            j++;
        size_t ns = j;
        if (!(isalpha((unsigned char)a[j]) || a[j] == '_'))
            continue;
        while (isalnum((unsigned char)a[j]) || a[j] == '_')
            j++;
        size_t ne = j;
        if (q) {
            if (a[j] != q)
                continue;
            j++;
        }
        struct bf_heredoc h = {.name = xstrndup(a + ns, ne - ns), .expand = !q, .body = xstrdup("")};
        bool done = false;
        while (*next < l->n) {
            const char *line = l->v[(*next)++];
            if (strip)
                while (*line == '\t')
                    line++;
            if (strcmp(line, h.name) == 0) {
                done = true;
                break;
            }
            append(&h.body, line);
            append(&h.body, "\n");
        }
        in->heredocs = xreallocarray(in->heredocs, in->n_heredocs + 1, sizeof(*in->heredocs));
        in->heredocs[in->n_heredocs++] = h;
        if (!done)
            return fail_at(err, file, in->line, args_col + (int)at,
                           "unterminated here-document: no line \"%s\" ends the <<%s started here", h.name,
                           h.name);
        i = j - 1;
    }
    return 0;
}

static int parse_instruction(const char *file, struct lines *l, size_t *next, char escape,
                             struct bf_instr *in, struct servin_error *err)
{
    size_t first = *next;
    char *line = l->v[(*next)++];
    const char *start = skip_blank(line);
    in->line = (int)first + 1;
    in->column = (int)(start - line) + 1;
    _cleanup_free_ char *text = xstrdup(start);
    while (continues(text, escape)) {
        /* Comment and empty lines inside a continuation are skipped, as in Docker. */
        while (*next < l->n && (comment_line(l->v[*next]) || blank_line(l->v[*next])))
            (*next)++;
        if (*next >= l->n)
            break;
        append(&text, l->v[(*next)++]);
    }
    rtrim(text);
    size_t kw = 0;
    while (text[kw] && !isspace((unsigned char)text[kw]))
        kw++;
    in->cmd = xstrndup(text, kw);
    for (char *c = in->cmd; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    bool ok = false;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        ok = ok || strcmp(in->cmd, known[i]) == 0;
    if (!ok)
        return fail_at(err, file, in->line, in->column, "unknown instruction \"%.*s\"", (int)kw, text);
    in->original = xstrdup(text);
    const char *p = skip_blank(text + kw);
    in->flags = xcalloc(1, sizeof(char *));
    while (p[0] == '-' && p[1] == '-') {
        size_t n = flag_len(p);
        in->flags = xreallocarray(in->flags, in->n_flags + 2, sizeof(char *));
        in->flags[in->n_flags++] = unquote_flag(p, n);
        in->flags[in->n_flags] = NULL;
        p = skip_blank(p + n);
    }
    in->args = xstrdup(p);
    int args_col = in->column + (int)(p - text);
    int ret = json_form(in, file, args_col, err);
    if (ret == 0)
        ret = heredocs(in, file, l, next, args_col, err);
    return ret;
}

void bf_instr_clear(struct bf_instr *in)
{
    free(in->cmd);
    free(in->original);
    strv_free(in->flags);
    free(in->args);
    json_decref(in->json);
    for (size_t i = 0; i < in->n_heredocs; i++) {
        free(in->heredocs[i].name);
        free(in->heredocs[i].body);
    }
    free(in->heredocs);
    memset(in, 0, sizeof(*in));
}

void bf_file_free(struct bf_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        bf_instr_clear(&f->v[i]);
    free(f->v);
    free(f->name);
    free(f->syntax);
    memset(f, 0, sizeof(*f));
}

static int parse_body(const char *name, struct lines *l, size_t i, struct bf_file *f,
                      struct servin_error *err)
{
    while (i < l->n) {
        if (blank_line(l->v[i]) || comment_line(l->v[i])) {
            i++;
            continue;
        }
        f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
        struct bf_instr *in = &f->v[f->n++];
        memset(in, 0, sizeof(*in));
        int ret = parse_instruction(name, l, &i, f->escape, in, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

int bf_parse(const char *name, const char *text, size_t len, struct bf_file *out, struct servin_error *err)
{
    struct lines l;
    split_lines(text, len, &l);
    struct bf_file f = {.name = xstrdup(name), .escape = '\\'};
    bool seen_escape = false;
    size_t i = 0;
    int ret = 0;
    /* Directives only at the very top: the first other line (even a blank one) ends them. */
    for (; i < l.n; i++) {
        char *key = NULL, *value = NULL;
        if (!directive(l.v[i], &key, &value))
            break;
        if (strcmp(key, "escape") == 0) {
            if (seen_escape)
                ret = fail_at(err, name, (int)i + 1, 1, "only one escape parser directive can be used");
            else if (strcmp(value, "\\") != 0 && strcmp(value, "`") != 0)
                ret = fail_at(err, name, (int)i + 1, 1, "invalid escape token \"%s\": it must be ` or \\",
                              value);
            else
                f.escape = value[0];
            seen_escape = true;
        } else if (strcmp(key, "syntax") == 0 && !f.syntax) {
            f.syntax = xstrdup(value);
        }
        free(key);
        free(value);
        if (ret < 0)
            break;
    }
    if (ret == 0)
        ret = parse_body(name, &l, i, &f, err);
    if (ret == 0 && f.n == 0)
        ret = servin_error_set(err, EINVAL, "%s: the file has no instructions", name);
    lines_free(&l);
    if (ret < 0) {
        bf_file_free(&f);
        return ret;
    }
    *out = f;
    return 0;
}

int bf_parse_one(const char *name, const char *text, char escape, struct bf_instr *out,
                 struct servin_error *err)
{
    struct lines l;
    split_lines(text, strlen(text), &l);
    struct bf_file f = {.escape = escape};
    int ret = parse_body(name, &l, 0, &f, err);
    lines_free(&l);
    if (ret == 0 && f.n != 1)
        ret = servin_error_set(err, EINVAL, "%s: expected one instruction in \"%s\"", name, text);
    if (ret == 0) {
        *out = f.v[0];
        f.n = 0;
    }
    bf_file_free(&f);
    return ret;
}

const char *bf_flag(const struct bf_instr *in, const char *name)
{
    size_t n = strlen(name);
    const char *found = NULL;
    for (size_t i = 0; i < in->n_flags; i++) {
        const char *f = in->flags[i] + 2;
        if (strncmp(f, name, n) == 0 && (f[n] == '=' || f[n] == '\0'))
            found = f[n] == '=' ? f + n + 1 : "";
    }
    return found;
}

const char *bf_unknown_flag(const struct bf_instr *in, const char *const *allowed)
{
    for (size_t i = 0; i < in->n_flags; i++) {
        const char *f = in->flags[i] + 2;
        size_t n = strcspn(f, "=");
        bool ok = false;
        for (size_t k = 0; allowed && allowed[k]; k++)
            ok = ok || (strlen(allowed[k]) == n && strncmp(f, allowed[k], n) == 0);
        if (!ok)
            return in->flags[i];
    }
    return NULL;
}
