/* regserver/route.c — which endpoint a path names, and the spec's rules for names and tags. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "regserver/regserver_internal.h"
#include "servin/cleanup.h"

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool component_valid(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0 || !is_lower_alnum(s[0]))
        return false;
    while (i < len) {
        while (i < len && is_lower_alnum(s[i]))
            i++;
        if (i == len)
            return true;
        /* a separator, then alphanumerics again */
        size_t sep = i;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < len && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < len && s[i] == '-')
                i++;
        } else {
            return false;
        }
        if (i == sep || i == len || !is_lower_alnum(s[i]))
            return false;
    }
    return true;
}

bool rs_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > RS_NAME_MAX)
        return false;
    /* Every component is checked, so "..", "." and empty components (traversal) never pass. */
    const char *p = name;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!component_valid(p, n))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

bool rs_tag_valid(const char *tag)
{
    size_t len = strlen(tag);
    if (len == 0 || len > RS_TAG_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = tag[i];
        bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!word && (i == 0 || (c != '.' && c != '-')))
            return false;
    }
    return true;
}

/* The last occurrence of needle in [s, s+len). */
static const char *rfind(const char *s, const char *needle)
{
    const char *found = NULL;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        found = p;
    return found;
}

int rs_route_parse(const char *url, enum rs_route *route, char **name, char **ref)
{
    *name = *ref = NULL;
    if (strcmp(url, "/v2") == 0 || strcmp(url, "/v2/") == 0) {
        *route = RS_ROUTE_BASE;
        return 0;
    }
    if (strncmp(url, "/v2/", 4) != 0)
        return -EINVAL;
    const char *rest = url + 4;
    if (strcmp(rest, "_catalog") == 0) {
        *route = RS_ROUTE_CATALOG;
        return 0;
    }
    size_t len = strlen(rest);
    static const char tags_suffix[] = "/tags/list";
    const char *split = NULL;
    const char *tail = NULL;
    if (len > strlen(tags_suffix) && strcmp(rest + len - strlen(tags_suffix), tags_suffix) == 0) {
        *route = RS_ROUTE_TAGS;
        split = rest + len - strlen(tags_suffix);
    } else {
        /* The name may itself contain "blobs" or "manifests" components: the endpoint is the
         * rightmost marker whose remainder is a single component. */
        static const struct {
            const char *marker;
            enum rs_route route;
        } markers[] = {{"/blobs/uploads/", RS_ROUTE_UPLOADS},
                       {"/manifests/", RS_ROUTE_MANIFEST},
                       {"/blobs/", RS_ROUTE_BLOB},
                       {"/referrers/", RS_ROUTE_REFERRERS}};
        for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
            const char *m = rfind(rest, markers[i].marker);
            if (!m)
                continue;
            const char *t = m + strlen(markers[i].marker);
            if (strchr(t, '/') || (split && m < split))
                continue;
            if (markers[i].route != RS_ROUTE_UPLOADS && *t == '\0')
                continue;
            if (split && markers[i].route == RS_ROUTE_BLOB && m == split)
                continue; /* ".../blobs/uploads/x" already matched as uploads */
            split = m;
            tail = t;
            *route = markers[i].route;
            if (markers[i].route == RS_ROUTE_UPLOADS)
                break;
        }
        if (!split)
            return -EINVAL;
    }
    _cleanup_free_ char *n = xstrndup(rest, (size_t)(split - rest));
    if (!rs_name_valid(n))
        return -EBADMSG;
    *name = steal_pointer(&n);
    *ref = xstrdup(tail ? tail : "");
    return 0;
}
