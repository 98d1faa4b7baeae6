/* registry/manifest.c — manifest kinds, parsing, and choosing a platform from an index. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "registry/registry_internal.h"
#include "servin/cleanup.h"
#include "servin/image.h"

/* Docker's schema 1 types: manifest.v1+json and manifest.v1+prettyjws. */
#define SCHEMA1_PREFIX "application/vnd.docker.distribution.manifest.v1+"

const char *const reg_manifest_accept = "Accept: " SERVIN_MT_OCI_INDEX ", " SERVIN_MT_OCI_MANIFEST
                                        ", " SERVIN_MT_DOCKER_LIST ", " SERVIN_MT_DOCKER_MANIFEST;

bool reg_media_type_is_index(const char *mt)
{
    return mt && (strcmp(mt, SERVIN_MT_OCI_INDEX) == 0 || strcmp(mt, SERVIN_MT_DOCKER_LIST) == 0);
}

bool reg_media_type_is_manifest(const char *mt)
{
    return mt && (strcmp(mt, SERVIN_MT_OCI_MANIFEST) == 0 || strcmp(mt, SERVIN_MT_DOCKER_MANIFEST) == 0);
}

int reg_manifest_parse(const char *data, size_t len, const char *content_type, json_t **out,
                       char **media_type, struct servin_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return servin_error_set(err, EPROTO, "the manifest is not a JSON object");
    }
    json_int_t version = json_integer_value(json_object_get(j, "schemaVersion"));
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    _cleanup_free_ char *ct = content_type ? xstrndup(content_type, strcspn(content_type, "; ")) : NULL;
    if (version == 1 || (ct && strstr(ct, SCHEMA1_PREFIX)) || (mt && strstr(mt, SCHEMA1_PREFIX))) {
        json_decref(j);
        return servin_error_set(err, EPROTO,
                                "the image uses the Docker schema 1 manifest format, which is not supported; "
                                "push it again with a current client");
    }
    if (!mt || !*mt) {
        /* An OCI manifest may omit mediaType; its shape (or the Content-Type) tells. */
        if (ct && (reg_media_type_is_index(ct) || reg_media_type_is_manifest(ct)))
            mt = ct;
        else if (json_is_array(json_object_get(j, "manifests")))
            mt = SERVIN_MT_OCI_INDEX;
        else if (json_is_object(json_object_get(j, "config")))
            mt = SERVIN_MT_OCI_MANIFEST;
    }
    if (!reg_media_type_is_index(mt) && !reg_media_type_is_manifest(mt)) {
        int ret = servin_error_set(err, EPROTO, "unsupported manifest type \"%s\"",
                                   mt   ? mt
                                   : ct ? ct
                                        : "unknown");
        json_decref(j);
        return ret;
    }
    if (version != 2) {
        json_decref(j);
        return servin_error_set(err, EPROTO, "unsupported manifest schemaVersion %lld", (long long)version);
    }
    *media_type = xstrdup(mt);
    *out = j;
    return 0;
}

static void lower_copy(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = '\0';
}

static void normalise(struct servin_platform *p)
{
    if (strcmp(p->arch, "x86_64") == 0 || strcmp(p->arch, "x86-64") == 0)
        strcpy(p->arch, "amd64");
    else if (strcmp(p->arch, "aarch64") == 0)
        strcpy(p->arch, "arm64");
    else if (strcmp(p->arch, "armhf") == 0)
        strcpy(p->arch, "arm");
    else if (strcmp(p->arch, "i386") == 0 || strcmp(p->arch, "i686") == 0)
        strcpy(p->arch, "386");
}

void servin_platform_host(struct servin_platform *p)
{
    struct utsname u;
    memset(p, 0, sizeof(*p));
    strcpy(p->os, "linux");
    if (uname(&u) < 0) {
        strcpy(p->arch, "amd64");
        return;
    }
    const char *m = u.machine;
    if (strcmp(m, "x86_64") == 0) {
        strcpy(p->arch, "amd64");
    } else if (strcmp(m, "aarch64") == 0 || strcmp(m, "arm64") == 0) {
        strcpy(p->arch, "arm64");
        strcpy(p->variant, "v8");
    } else if (strncmp(m, "armv7", 5) == 0) {
        strcpy(p->arch, "arm");
        strcpy(p->variant, "v7");
    } else if (strncmp(m, "armv6", 5) == 0) {
        strcpy(p->arch, "arm");
        strcpy(p->variant, "v6");
    } else if (strcmp(m, "i686") == 0 || strcmp(m, "i386") == 0) {
        strcpy(p->arch, "386");
    } else {
        lower_copy(p->arch, sizeof(p->arch), m, strlen(m));
    }
}

int servin_platform_parse(const char *text, struct servin_platform *p, struct servin_error *err)
{
    memset(p, 0, sizeof(*p));
    const char *s1 = strchr(text, '/');
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    if (!s1 || s1 == text || !s1[1] || s1[1] == '/' || (s2 && (!s2[1] || strchr(s2 + 1, '/'))) ||
        (size_t)(s1 - text) >= sizeof(p->os))
        return servin_error_set(
            err, EINVAL, "invalid platform \"%s\": expected os/arch[/variant], e.g. linux/amd64", text);
    size_t arch_len = s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1);
    if (arch_len >= sizeof(p->arch) || (s2 && strlen(s2 + 1) >= sizeof(p->variant)))
        return servin_error_set(err, EINVAL, "invalid platform \"%s\": name too long", text);
    lower_copy(p->os, sizeof(p->os), text, (size_t)(s1 - text));
    lower_copy(p->arch, sizeof(p->arch), s1 + 1, arch_len);
    if (s2)
        lower_copy(p->variant, sizeof(p->variant), s2 + 1, strlen(s2 + 1));
    normalise(p);
    return 0;
}

/* The variant an architecture means when none is given. */
static const char *default_variant(const char *arch)
{
    if (strcmp(arch, "arm64") == 0)
        return "v8";
    if (strcmp(arch, "arm") == 0)
        return "v7";
    return "";
}

/* 0: no match; 1: any variant will do; 2: the variant matches. */
static int match_score(const struct servin_platform *want, const char *os, const char *arch,
                       const char *variant)
{
    if (!os || !arch || strcmp(os, want->os) != 0)
        return 0;
    struct servin_platform cand = {0};
    lower_copy(cand.arch, sizeof(cand.arch), arch, strlen(arch));
    normalise(&cand);
    if (strcmp(cand.arch, want->arch) != 0)
        return 0;
    const char *wv = want->variant[0] ? want->variant : default_variant(want->arch);
    const char *cv = variant && *variant ? variant : default_variant(cand.arch);
    if (strcmp(wv, cv) == 0)
        return 2;
    return want->variant[0] ? 0 : 1;
}

int servin_manifest_select_platform(json_t *index, const struct servin_platform *want,
                                    char digest[SERVIN_DIGEST_MAX], struct servin_error *err)
{
    json_t *manifests = json_object_get(index, "manifests");
    size_t i;
    json_t *m;
    int best = 0;
    const char *best_digest = NULL;
    if (!json_is_array(manifests))
        return servin_error_set(err, EPROTO, "the index has no \"manifests\" array");
    json_array_foreach (manifests, i, m) {
        json_t *pf = json_object_get(m, "platform");
        const char *d = json_string_value(json_object_get(m, "digest"));
        int score = match_score(want, json_string_value(json_object_get(pf, "os")),
                                json_string_value(json_object_get(pf, "architecture")),
                                json_string_value(json_object_get(pf, "variant")));
        if (score > best && d) {
            best = score;
            best_digest = d;
        }
    }
    if (best_digest) {
        if (!servin_digest_valid(best_digest))
            return servin_error_set(err, EPROTO, "the index names an invalid digest \"%.80s\"", best_digest);
        snprintf(digest, SERVIN_DIGEST_MAX, "%s", best_digest);
        return 0;
    }

    /* List what there is, so the user can pick with --platform. */
    size_t cap = 512, len = 0;
    _cleanup_free_ char *avail = xmalloc(cap);
    avail[0] = '\0';
    json_array_foreach (manifests, i, m) {
        json_t *pf = json_object_get(m, "platform");
        const char *os = json_string_value(json_object_get(pf, "os"));
        const char *arch = json_string_value(json_object_get(pf, "architecture"));
        const char *var = json_string_value(json_object_get(pf, "variant"));
        if (!os || !arch || strcmp(os, "unknown") == 0)
            continue; /* attestations and the like */
        _cleanup_free_ char *one = xasprintf("%s%s/%s%s%s", len ? ", " : "", os, arch, var && *var ? "/" : "",
                                             var && *var ? var : "");
        size_t n = strlen(one);
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            avail = xrealloc(avail, cap);
        }
        memcpy(avail + len, one, n + 1);
        len += n;
    }
    return servin_error_set(
        err, ENOENT, "no matching manifest for %s/%s%s%s in the manifest list entries (available: %s)",
        want->os, want->arch, want->variant[0] ? "/" : "", want->variant, len ? avail : "none");
}
