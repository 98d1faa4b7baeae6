/* container/parse.c — Docker's size ("512m") and Go duration ("1m30s") notations. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "servin/container.h"

/* A decimal number with an optional fraction; returns the end, or NULL when there are no digits. */
static const char *parse_decimal(const char *p, long double *out)
{
    long double v = 0;
    bool digits = false;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        digits = true;
    }
    if (*p == '.') {
        long double scale = 0.1L;
        p++;
        while (isdigit((unsigned char)*p)) {
            v += (*p++ - '0') * scale;
            scale /= 10;
            digits = true;
        }
    }
    *out = v;
    return digits ? p : NULL;
}

int servin_parse_bytes(const char *text, int64_t *out, struct servin_error *err)
{
    static const struct {
        const char *suffix;
        int shift;
    } units[] = {{"", 0},    {"b", 0},    {"k", 10}, {"kb", 10}, {"kib", 10}, {"m", 20},
                 {"mb", 20}, {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},
                 {"tb", 40}, {"tib", 40}, {"p", 50}, {"pb", 50}, {"pib", 50}};
    long double v = 0;
    const char *p = text ? parse_decimal(text, &v) : NULL;
    if (!p)
        return servin_error_set(err, EINVAL,
                                "invalid size \"%s\": expected a number with an optional unit "
                                "(b, k, m, g, t, p), e.g. 512m",
                                text ? text : "");
    const char *unit = p;
    while (*unit == ' ')
        unit++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(unit, units[i].suffix) != 0)
            continue;
        long double bytes = v * (long double)(1ULL << units[i].shift);
        if (bytes >= 9223372036854775807.0L)
            return servin_error_set(err, ERANGE, "invalid size \"%s\": too large", text);
        *out = (int64_t)bytes;
        return 0;
    }
    return servin_error_set(err, EINVAL, "invalid size \"%s\": unknown unit \"%s\" (use b, k, m, g, t or p)",
                            text, unit);
}

int servin_parse_duration(const char *text, int64_t *ns, struct servin_error *err)
{
    static const struct {
        const char *suffix;
        long double ns;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    if (!text || !*text)
        return servin_error_set(err, EINVAL, "invalid duration \"\": expected e.g. 30s, 1m30s or 500ms");
    if (text[0] == '-')
        return servin_error_set(err, EINVAL, "invalid duration \"%s\": must not be negative", text);
    const char *p = text[0] == '+' ? text + 1 : text;
    /* Go accepts a bare 0 without a unit, and nothing else unitless. */
    if (strcmp(p, "0") == 0) {
        *ns = 0;
        return 0;
    }
    long double total = 0;
    while (*p) {
        long double v = 0;
        const char *q = parse_decimal(p, &v);
        if (!q)
            return servin_error_set(err, EINVAL, "invalid duration \"%s\": expected e.g. 30s, 1m30s or 500ms",
                                    text);
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t len = strlen(units[i].suffix);
            /* Longest match first: "ms" must not read as "m" followed by garbage. */
            if (len > best_len && strncmp(q, units[i].suffix, len) == 0) {
                best = i;
                best_len = len;
            }
        }
        if (best_len == 0)
            return servin_error_set(err, EINVAL,
                                    "invalid duration \"%s\": missing or unknown unit (use ns, us, ms, "
                                    "s, m or h)",
                                    text);
        total += v * units[best].ns;
        p = q + best_len;
    }
    if (total >= 9223372036854775807.0L)
        return servin_error_set(err, ERANGE, "invalid duration \"%s\": too long", text);
    *ns = (int64_t)total;
    return 0;
}
