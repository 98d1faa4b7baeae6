/* cli/format.c — a small subset of Go templates, enough for Docker-style --format strings. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "servin/cleanup.h"

/* Follow ".A.B" through nested objects; "." alone is the object itself. */
static json_t *lookup(json_t *obj, const char *path, size_t len)
{
    json_t *cur = obj;
    size_t i = 0;
    if (len == 1 && path[0] == '.')
        return obj;
    while (i < len && cur) {
        if (path[i] != '.')
            return NULL;
        size_t j = ++i;
        while (j < len && path[j] != '.')
            j++;
        _cleanup_free_ char *key = xstrndup(path + i, j - i);
        cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
        i = j;
    }
    return cur;
}

static void print_value(json_t *v, FILE *out)
{
    if (!v || json_is_null(v))
        fputs("<no value>", out);
    else if (json_is_string(v))
        fputs(json_string_value(v), out);
    else if (json_is_integer(v))
        fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        fprintf(out, "%g", json_real_value(v));
    else if (json_is_true(v))
        fputs("true", out);
    else if (json_is_false(v))
        fputs("false", out);
    else if (json_is_array(v)) {
        /* Go prints slices as [a b c]. */
        fputc('[', out);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i)
                fputc(' ', out);
            print_value(e, out);
        }
        fputc(']', out);
    } else {
        char *s = json_dumps(v, JSON_COMPACT);
        fputs(s ? s : "", out);
        free(s);
    }
}

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

static int render_action(const char *a, size_t len, json_t *obj, FILE *out, struct servin_error *err)
{
    trim(&a, &len);
    const char *fn = NULL;
    size_t fn_len = 0;
    if (len && a[0] != '.') {
        const char *sp = memchr(a, ' ', len);
        if (!sp)
            return servin_error_set(err, EINVAL, "template: unsupported action {{%.*s}}", (int)len, a);
        fn = a;
        fn_len = (size_t)(sp - a);
        len -= fn_len;
        a = sp;
        trim(&a, &len);
    }
    if (!len || a[0] != '.')
        return servin_error_set(err, EINVAL, "template: expected a field like .Name, got {{%.*s}}", (int)len, a);
    json_t *v = lookup(obj, a, len);
    if (!fn) {
        print_value(v, out);
        return 0;
    }
    if (fn_len == 4 && strncmp(fn, "json", 4) == 0) {
        char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("null");
        fputs(s, out);
        free(s);
        return 0;
    }
    if ((fn_len == 5 && strncmp(fn, "upper", 5) == 0) || (fn_len == 5 && strncmp(fn, "lower", 5) == 0)) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        for (; *s; s++)
            fputc(fn[0] == 'u' ? toupper((unsigned char)*s) : tolower((unsigned char)*s), out);
        return 0;
    }
    return servin_error_set(err, EINVAL, "template: function \"%.*s\" not defined", (int)fn_len, fn);
}

static const char *skip_table(const char *tmpl)
{
    return strncmp(tmpl, "table", 5) == 0 && (tmpl[5] == ' ' || tmpl[5] == '\0') ? tmpl + 5 + (tmpl[5] == ' ') : tmpl;
}

int cli_format_render(const char *tmpl, json_t *obj, FILE *out, struct servin_error *err)
{
    const char *p = skip_table(tmpl);
    while (*p) {
        if (p[0] == '{' && p[1] == '{') {
            const char *end = strstr(p + 2, "}}");
            if (!end)
                return servin_error_set(err, EINVAL, "template: unclosed action in %s", tmpl);
            int ret = render_action(p + 2, (size_t)(end - p - 2), obj, out, err);
            if (ret < 0)
                return ret;
            p = end + 2;
        } else if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
            fputc(p[1] == 't' ? '\t' : '\n', out);
            p += 2;
        } else {
            fputc(*p++, out);
        }
    }
    fputc('\n', out);
    return 0;
}

void cli_format_table_header(const char *tmpl, FILE *out)
{
    /* Header names are the field names in upper case, as Docker derives them: {{.ID}} -> ID. */
    if (skip_table(tmpl) == tmpl)
        return;
    for (const char *p = skip_table(tmpl); *p;) {
        if (p[0] == '{' && p[1] == '{') {
            const char *end = strstr(p + 2, "}}");
            if (!end)
                return;
            const char *dot = memchr(p + 2, '.', (size_t)(end - p - 2));
            const char *name = dot ? dot + 1 : p + 2;
            for (const char *q = name; q < end; q++)
                if (!isspace((unsigned char)*q))
                    fputc(toupper((unsigned char)*q), out);
            p = end + 2;
        } else if (p[0] == '\\' && p[1] == 't') {
            fputc('\t', out);
            p += 2;
        } else {
            fputc(*p++, out);
        }
    }
    fputc('\n', out);
}

int cli_print_inspect(json_t *items, const char *format)
{
    /* As Docker's inspect: no format or "json" prints the array, even an empty one when every
     * name failed; a template is rendered for each item, a line each, and stops at the first
     * that fails. */
    if (!format || strcmp(format, "json") == 0) {
        json_dumpf(items, stdout, JSON_INDENT(4));
        fputc('\n', stdout);
        return 0;
    }
    size_t i;
    json_t *item;
    json_array_foreach (items, i, item) {
        struct servin_error err = {0};
        if (cli_format_render(format, item, stdout, &err) < 0)
            return cli_fail(&err);
    }
    return 0;
}
