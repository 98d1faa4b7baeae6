/* compose/yaml_out.c — JSON values printed as block YAML (what `compose config` shows): keys
 * sorted, strings quoted whenever YAML would read them as something else. */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "compose/compose_internal.h"

static bool needs_quotes(const char *s)
{
    if (!*s)
        return true;
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off",
                                        "null", "~",     "y",   "n",  NULL};
    for (const char *const *w = words; *w; w++)
        if (strcasecmp(s, *w) == 0)
            return true;
    if (strchr(",[]{}#&*!|>'\"%@` \t", s[0]) || isspace((unsigned char)s[strlen(s) - 1]))
        return true;
    if (strchr("-?:", s[0]) && (!s[1] || s[1] == ' ' || strcmp(s, "---") == 0))
        return true;
    char *end;
    strtod(s, &end);
    if (!*end)
        return true; /* a number */
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return true;
        if ((*p == ':' && (p[1] == ' ' || !p[1])) || (*p == '#' && p > s && p[-1] == ' '))
            return true;
    }
    return false;
}

static void put_string(const char *s, FILE *out)
{
    if (!needs_quotes(s)) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static bool scalar(const json_t *v)
{
    return !json_is_object(v) && !json_is_array(v);
}

static void put_scalar(const json_t *v, FILE *out)
{
    if (json_is_string(v))
        put_string(json_string_value(v), out);
    else if (json_is_integer(v))
        fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        fprintf(out, "%g", json_real_value(v));
    else if (json_is_true(v))
        fputs("true", out);
    else if (json_is_false(v))
        fputs("false", out);
    else
        fputs("null", out);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void put_value(const json_t *v, int indent, FILE *out);

static void put_object(const json_t *o, int indent, FILE *out)
{
    size_t n = json_object_size(o);
    const char **keys = calloc(n + 1, sizeof(*keys));
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)o, key, val)
        keys[k++] = key;
    qsort(keys, k, sizeof(*keys), cmp_key);
    for (size_t i = 0; i < k; i++) {
        const json_t *x = json_object_get(o, keys[i]);
        fprintf(out, "%*s", indent, "");
        put_string(keys[i], out);
        fputc(':', out);
        if (scalar(x) || (json_is_array(x) && !json_array_size(x)) ||
            (json_is_object(x) && !json_object_size(x))) {
            fputc(' ', out);
            if (json_is_array(x))
                fputs("[]", out);
            else if (json_is_object(x))
                fputs("{}", out);
            else
                put_scalar(x, out);
            fputc('\n', out);
        } else {
            fputc('\n', out);
            put_value(x, indent + 2, out);
        }
    }
    free(keys);
}

static void put_value(const json_t *v, int indent, FILE *out)
{
    if (json_is_object(v)) {
        put_object(v, indent, out);
        return;
    }
    if (!json_is_array(v)) {
        fprintf(out, "%*s", indent, "");
        put_scalar(v, out);
        fputc('\n', out);
        return;
    }
    size_t i;
    json_t *x;
    json_array_foreach ((json_t *)v, i, x) {
        fprintf(out, "%*s- ", indent, "");
        if (scalar(x)) {
            put_scalar(x, out);
            fputc('\n', out);
        } else if (json_is_object(x) && json_object_size(x)) {
            /* "- key: v" then the other keys aligned under the first */
            char *buf = NULL;
            size_t len = 0;
            FILE *mem = open_memstream(&buf, &len);
            put_object(x, indent + 2, mem);
            fclose(mem);
            fputs(buf + indent + 2, out);
            free(buf);
        } else if (json_is_array(x) && json_array_size(x)) {
            fputc('\n', out);
            put_value(x, indent + 2, out);
        } else {
            fputs(json_is_array(x) ? "[]\n" : "{}\n", out);
        }
    }
}

void compose_yaml_write(json_t *v, FILE *out)
{
    put_value(v, 0, out);
}
