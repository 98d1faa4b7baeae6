/* image/reference.c — parsing image references and normalising them the way Docker does. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/digest.h"
#include "servin/reference.h"

/* Docker refuses a repository name longer than this, domain included. */
#define NAME_TOTAL_MAX 255
#define TAG_MAX 128

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static bool is_hex_lower(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* A path component: [a-z0-9]+ joined by one of ".", "_", "__" or a run of "-". */
static bool valid_path_component(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(s[0]))
        return false;
    while (i < n) {
        while (i < n && is_lower_alnum(s[i]))
            i++;
        if (i == n)
            return true;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < n && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-')
                i++;
        } else {
            return false;
        }
        /* A separator must be followed by an alphanumeric run. */
        if (i == n || !is_lower_alnum(s[i]))
            return false;
    }
    return true;
}

/* A domain component: alphanumerics, with inner hyphens. */
static bool valid_domain_component(const char *s, size_t n)
{
    if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}

/* host[:port], where host is a dotted name or a bracketed IPv6 address. */
static bool valid_domain(const char *s, size_t n)
{
    size_t host_end = n;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || close == s + 1)
            return false;
        for (const char *p = s + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':')
                return false;
        host_end = (size_t)(close - s) + 1;
        if (host_end != n && s[host_end] != ':')
            return false;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon)
            host_end = (size_t)(colon - s);
        size_t start = 0;
        for (size_t i = 0; i <= host_end; i++) {
            if (i == host_end || s[i] == '.') {
                if (!valid_domain_component(s + start, i - start))
                    return false;
                start = i + 1;
            }
        }
    }
    if (host_end < n) {
        /* ":port": one or more digits. */
        if (host_end + 1 == n)
            return false;
        for (size_t i = host_end + 1; i < n; i++)
            if (!isdigit((unsigned char)s[i]))
                return false;
    }
    return true;
}

static bool valid_tag(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TAG_MAX || !is_word(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

static int invalid(struct servin_error *err, const char *text, const char *why)
{
    return servin_error_set(err, EINVAL, "invalid reference format: %s: \"%.300s\"", why, text);
}

/* Check every "/"-separated component of a repository path. */
static int check_path(const char *text, const char *path, struct servin_error *err)
{
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!valid_path_component(p, n)) {
            bool upper = false;
            for (size_t i = 0; i < n; i++)
                upper |= isupper((unsigned char)p[i]) != 0;
            return invalid(err, text,
                           upper ? "repository name must be lowercase"
                                 : "repository name has an invalid component");
        }
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

static int parse(const char *text, bool default_tag, struct servin_ref *ref, struct servin_error *err)
{
    memset(ref, 0, sizeof(*ref));
    if (!text || !*text)
        return servin_error_set(err, EINVAL, "invalid reference format: empty reference");

    _cleanup_free_ char *name = xstrdup(text);
    _cleanup_free_ char *digest = NULL, *tag = NULL;

    char *at = strchr(name, '@');
    if (at) {
        *at = '\0';
        if (!servin_digest_valid(at + 1))
            return invalid(err, text, "digest must be sha256: followed by 64 lowercase hex digits");
        digest = xstrdup(at + 1);
    }
    /* A tag follows the last ":" after the last "/": a ":" before any "/" is a registry port. */
    char *last_slash = strrchr(name, '/');
    char *colon = strrchr(last_slash ? last_slash : name, ':');
    if (colon) {
        *colon = '\0';
        if (!valid_tag(colon + 1))
            return invalid(err, text, "invalid tag");
        tag = xstrdup(colon + 1);
    }
    if (!*name)
        return invalid(err, text, "repository name is empty");

    size_t len = strlen(name);
    /* Docker refuses a 64-hex name so that it can never be confused with an image id. */
    if (len == 64 && is_hex_lower(name, 64))
        return invalid(err, text, "repository name cannot be a 64-byte hexadecimal string");

    const char *domain = SERVIN_DEFAULT_DOMAIN;
    const char *path = name;
    _cleanup_free_ char *domain_buf = NULL;
    char *slash = strchr(name, '/');
    if (slash) {
        size_t dlen = (size_t)(slash - name);
        bool has_upper = false;
        for (size_t i = 0; i < dlen; i++)
            has_upper |= isupper((unsigned char)name[i]) != 0;
        /* As in Docker: the first component names a registry when it looks like a host. */
        if (memchr(name, '.', dlen) || memchr(name, ':', dlen) ||
            (dlen == 9 && strncmp(name, "localhost", 9) == 0) || has_upper) {
            if (!valid_domain(name, dlen))
                return invalid(err, text, "invalid registry domain");
            domain_buf = xstrndup(name, dlen);
            domain = domain_buf;
            path = slash + 1;
        }
    }
    if (strcmp(domain, "index.docker.io") == 0)
        domain = SERVIN_DEFAULT_DOMAIN;
    if (!*path)
        return invalid(err, text, "repository name is empty");
    int ret = check_path(text, path, err);
    if (ret < 0)
        return ret;

    char *full_path = (strcmp(domain, SERVIN_DEFAULT_DOMAIN) == 0 && !strchr(path, '/'))
                          ? xasprintf("library/%s", path)
                          : xstrdup(path);
    if (strlen(domain) + 1 + strlen(full_path) > NAME_TOTAL_MAX) {
        free(full_path);
        return invalid(err, text, "repository name must not be more than 255 characters");
    }
    ref->domain = xstrdup(domain);
    ref->path = full_path;
    ref->digest = steal_pointer(&digest);
    ref->tag = steal_pointer(&tag);
    if (!ref->tag && !ref->digest && default_tag)
        ref->tag = xstrdup(SERVIN_DEFAULT_TAG);
    return 0;
}

int servin_ref_parse(const char *text, struct servin_ref *ref, struct servin_error *err)
{
    return parse(text, true, ref, err);
}

int servin_ref_parse_name(const char *text, struct servin_ref *ref, struct servin_error *err)
{
    return parse(text, false, ref, err);
}

void servin_ref_free(struct servin_ref *ref)
{
    if (!ref)
        return;
    free(ref->domain);
    free(ref->path);
    free(ref->tag);
    free(ref->digest);
    memset(ref, 0, sizeof(*ref));
}

char *servin_ref_name(const struct servin_ref *ref)
{
    return xasprintf("%s/%s", ref->domain, ref->path);
}

char *servin_ref_string(const struct servin_ref *ref)
{
    return xasprintf("%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                     ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}

char *servin_ref_familiar_name(const struct servin_ref *ref)
{
    if (strcmp(ref->domain, SERVIN_DEFAULT_DOMAIN) != 0)
        return servin_ref_name(ref);
    const char *path = ref->path;
    /* "library/" goes only for official images: "library/a/b" is a real two-level name. */
    if (strncmp(path, "library/", 8) == 0 && !strchr(path + 8, '/'))
        path += 8;
    return xstrdup(path);
}

bool servin_ref_looks_like_id(const char *text)
{
    if (!text)
        return false;
    if (strncmp(text, "sha256:", 7) == 0)
        text += 7;
    size_t n = strlen(text);
    return n >= 1 && n <= 64 && is_hex_lower(text, n);
}
