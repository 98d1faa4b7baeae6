/* compose/values.c — the value syntaxes of compose files: durations ("1m30s"), byte sizes ("512m"),
 * CPUs ("0.5"), shell words for string commands, and project names. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

int servin_compose_parse_duration(const char *s, int64_t *ns)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},      {"d", 86400e9}};
    if (!s || !*s)
        return -EINVAL;
    char *end;
    /* a bare number is seconds */
    double bare = strtod(s, &end);
    if (*end == 0 && isdigit((unsigned char)s[strlen(s) - 1])) {
        if (bare < 0 || bare > 9.2e9)
            return -ERANGE;
        *ns = (int64_t)(bare * 1e9 + 0.5);
        return 0;
    }
    double total = 0;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.')
            return -EINVAL;
        double v = strtod(p, &end);
        if (end == p)
            return -EINVAL;
        p = end;
        size_t best = 0;
        double mult = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t l = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, l) == 0 && l > best) {
                best = l;
                mult = units[i].mult;
            }
        }
        if (!best)
            return -EINVAL;
        p += best;
        total += v * mult;
    }
    if (total > 9.2e18)
        return -ERANGE;
    *ns = (int64_t)(total + 0.5);
    return 0;
}

int servin_compose_parse_bytes(const char *s, int64_t *bytes)
{
    if (!s || !*s)
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isdigit((unsigned char)*s))
        return -EINVAL;
    double mult = 1;
    if (*end) {
        char u = (char)tolower((unsigned char)*end);
        const char *rest = end + 1;
        switch (u) {
        case 'b':
            mult = 1;
            break;
        case 'k':
            mult = 1024.0;
            break;
        case 'm':
            mult = 1024.0 * 1024;
            break;
        case 'g':
            mult = 1024.0 * 1024 * 1024;
            break;
        case 't':
            mult = 1024.0 * 1024 * 1024 * 1024;
            break;
        case 'p':
            mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
            break;
        default:
            return -EINVAL;
        }
        if (u != 'b' && (*rest == 'b' || *rest == 'B'))
            rest++;
        else if (u != 'b' && (*rest == 'i' || *rest == 'I') && (rest[1] == 'b' || rest[1] == 'B'))
            rest += 2;
        if (*rest)
            return -EINVAL;
    }
    double total = v * mult;
    if (total > 9.2e18)
        return -ERANGE;
    *bytes = (int64_t)total;
    return 0;
}

int servin_compose_parse_cpus(const char *s, int64_t *nano_cpus)
{
    if (!s || !*s)
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || v < 0 || v > 1e6 || !(isdigit((unsigned char)*s) || *s == '.'))
        return -EINVAL;
    *nano_cpus = (int64_t)(v * 1e9 + 0.5);
    return 0;
}

int servin_compose_split_words(const char *s, char ***argv, struct servin_error *err)
{
    char **out = NULL;
    size_t cap = strlen(s) + 1;
    _cleanup_free_ char *word = xmalloc(cap);
    size_t wl = 0;
    bool in_word = false;
    for (const char *p = s;; p++) {
        if (!*p || isspace((unsigned char)*p)) {
            if (in_word) {
                word[wl] = 0;
                out = cstrv_add(out, word);
                wl = 0;
                in_word = false;
            }
            if (!*p)
                break;
            continue;
        }
        in_word = true;
        if (*p == '\\') {
            if (p[1])
                word[wl++] = *++p;
        } else if (*p == '\'') {
            const char *e = strchr(p + 1, '\'');
            if (!e) {
                strv_free(out);
                return servin_error_set(err, EINVAL, "unterminated single quote in \"%s\"", s);
            }
            memcpy(word + wl, p + 1, (size_t)(e - p - 1));
            wl += (size_t)(e - p - 1);
            p = e;
        } else if (*p == '"') {
            p++;
            for (; *p && *p != '"'; p++) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
                    p++;
                word[wl++] = *p;
            }
            if (!*p) {
                strv_free(out);
                return servin_error_set(err, EINVAL, "unterminated double quote in \"%s\"", s);
            }
        } else {
            word[wl++] = *p;
        }
    }
    if (!out)
        out = xcalloc(1, sizeof(*out));
    *argv = out;
    return 0;
}

char *servin_compose_normalize_name(const char *s)
{
    char *out = xmalloc(strlen(s) + 1), *w = out;
    for (const char *p = s; *p; p++) {
        char ch = (char)tolower((unsigned char)*p);
        if (isdigit((unsigned char)ch) || (ch >= 'a' && ch <= 'z') || ((ch == '_' || ch == '-') && w != out))
            *w++ = ch;
    }
    *w = 0;
    return out;
}
