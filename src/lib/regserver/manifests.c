/* regserver/manifests.c — GET/HEAD, PUT (validated: JSON, media type, digest, blobs present) and
 * DELETE of manifests. A manifest is stored as a blob of the content store, like any other. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "regserver/regserver_internal.h"
#include "servin/cleanup.h"

static bool known_media_type(const char *mt)
{
    return strcmp(mt, RS_MT_OCI_MANIFEST) == 0 || strcmp(mt, RS_MT_OCI_INDEX) == 0 ||
           strcmp(mt, RS_MT_DOCKER_MANIFEST) == 0 || strcmp(mt, RS_MT_DOCKER_LIST) == 0;
}

static bool is_index(const char *mt)
{
    return strcmp(mt, RS_MT_OCI_INDEX) == 0 || strcmp(mt, RS_MT_DOCKER_LIST) == 0;
}

int rs_manifest_get(struct rs_req *r)
{
    if (!servin_digest_valid(r->ref) && !rs_tag_valid(r->ref))
        return rs_respond_error(r, "MANIFEST_UNKNOWN", "\"%s\" is neither a tag nor a digest", r->ref);
    struct servin_error err = {0};
    char digest[SERVIN_DIGEST_MAX];
    _cleanup_free_ char *media_type = NULL;
    uint64_t size = 0;
    int ret = rs_meta_manifest_find(r->srv, r->name, r->ref, digest, &media_type, &size, &err);
    if (ret < 0)
        return rs_respond_internal(r, &err);
    if (ret == 0)
        return rs_respond_error(r, "MANIFEST_UNKNOWN", "manifest %s is not in repository %s", r->ref,
                                r->name);
    _cleanup_free_ char *path = servin_content_path(r->srv->store, digest);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size != size)
        return rs_respond_error(r, "MANIFEST_UNKNOWN", "manifest %s is no longer stored", digest);
    struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
    if (!resp)
        return rs_respond_error(r, "UNKNOWN", "cannot serve manifest %s", digest);
    fd = -1;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, media_type);
    MHD_add_response_header(resp, "Docker-Content-Digest", digest);
    _cleanup_free_ char *etag = xasprintf("\"%s\"", digest);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    r->bytes = strcmp(r->method, "HEAD") == 0 ? 0 : size;
    return rs_respond(r, MHD_HTTP_OK, resp);
}

/* A descriptor's digest, or NULL when the descriptor is malformed. */
static const char *descriptor_digest(json_t *d)
{
    const char *digest = json_string_value(json_object_get(d, "digest"));
    if (!json_is_object(d) || !digest || !servin_digest_valid(digest) ||
        !json_is_integer(json_object_get(d, "size")))
        return NULL;
    return digest;
}

struct parsed {
    char *media_type;
    const char **blobs;
    const char **manifests;
    size_t n_blobs, n_manifests;
    const char *subject;
    const char *artifact_type;
    char *annotations;
};

static void parsed_free(struct parsed *p)
{
    free(p->media_type);
    free(p->blobs);
    free(p->manifests);
    free(p->annotations);
}

static void push_digest(const char ***list, size_t *n, const char *digest)
{
    *list = xreallocarray(*list, *n + 2, sizeof(char *));
    (*list)[(*n)++] = digest;
    (*list)[*n] = NULL;
}

/* Check the manifest's shape; the message says what is wrong. Strings point into doc. */
static int parse_manifest(json_t *doc, const char *content_type, struct parsed *p, char *why, size_t why_len)
{
    if (!json_is_object(doc)) {
        snprintf(why, why_len, "the manifest is not a JSON object");
        return -1;
    }
    if (json_integer_value(json_object_get(doc, "schemaVersion")) != 2) {
        snprintf(why, why_len, "schemaVersion must be 2");
        return -1;
    }
    const char *body_mt = json_string_value(json_object_get(doc, "mediaType"));
    _cleanup_free_ char *header_mt =
        content_type ? xstrndup(content_type, strcspn(content_type, "; ")) : NULL;
    if (header_mt && body_mt && strcmp(header_mt, body_mt) != 0) {
        snprintf(why, why_len, "Content-Type %s does not match the manifest's mediaType %s", header_mt,
                 body_mt);
        return -1;
    }
    const char *mt = body_mt ? body_mt : header_mt;
    if (!mt || !*mt)
        mt = json_object_get(doc, "manifests") ? RS_MT_OCI_INDEX : RS_MT_OCI_MANIFEST;
    if (!known_media_type(mt)) {
        snprintf(why, why_len, "unsupported manifest media type %.200s", mt);
        return -1;
    }
    p->media_type = xstrdup(mt);
    if (is_index(mt)) {
        json_t *list = json_object_get(doc, "manifests");
        if (!json_is_array(list)) {
            snprintf(why, why_len, "an index needs a \"manifests\" array");
            return -1;
        }
        size_t i;
        json_t *d;
        json_array_foreach (list, i, d) {
            const char *digest = descriptor_digest(d);
            if (!digest) {
                snprintf(why, why_len, "manifests[%zu] is not a valid descriptor", i);
                return -1;
            }
            push_digest(&p->manifests, &p->n_manifests, digest);
        }
    } else {
        json_t *config = json_object_get(doc, "config");
        const char *digest = descriptor_digest(config);
        if (!digest) {
            snprintf(why, why_len, "the manifest needs a valid \"config\" descriptor");
            return -1;
        }
        push_digest(&p->blobs, &p->n_blobs, digest);
        p->artifact_type = json_string_value(json_object_get(config, "mediaType"));
        json_t *layers = json_object_get(doc, "layers");
        if (!json_is_array(layers)) {
            snprintf(why, why_len, "the manifest needs a \"layers\" array");
            return -1;
        }
        size_t i;
        json_t *d;
        json_array_foreach (layers, i, d) {
            digest = descriptor_digest(d);
            if (!digest) {
                snprintf(why, why_len, "layers[%zu] is not a valid descriptor", i);
                return -1;
            }
            /* Foreign layers live at their URLs, not in the registry. */
            if (!json_object_get(d, "urls"))
                push_digest(&p->blobs, &p->n_blobs, digest);
        }
    }
    json_t *subject = json_object_get(doc, "subject");
    if (subject && !(p->subject = descriptor_digest(subject))) {
        snprintf(why, why_len, "\"subject\" is not a valid descriptor");
        return -1;
    }
    const char *at = json_string_value(json_object_get(doc, "artifactType"));
    if (at)
        p->artifact_type = at;
    json_t *annotations = json_object_get(doc, "annotations");
    if (json_is_object(annotations))
        p->annotations = json_dumps(annotations, JSON_COMPACT);
    return 0;
}

int rs_manifest_put(struct rs_req *r)
{
    struct servin_regserver *srv = r->srv;
    bool by_digest = servin_digest_valid(r->ref);
    if (!by_digest && !rs_tag_valid(r->ref))
        return rs_respond_error(r, strchr(r->ref, ':') ? "DIGEST_INVALID" : "MANIFEST_INVALID",
                                "\"%s\" is neither a valid tag nor a digest", r->ref);
    if (r->too_large)
        return rs_respond_error(r, "MANIFEST_TOO_LARGE", "the manifest is larger than %u bytes",
                                RS_MANIFEST_MAX);
    char digest[SERVIN_DIGEST_MAX];
    servin_digest_bytes(r->buf ? r->buf : "", r->buf_len, digest);
    if (by_digest && strcmp(digest, r->ref) != 0)
        return rs_respond_error(r, "DIGEST_INVALID", "the manifest's digest is %s, not %s", digest, r->ref);
    json_error_t jerr;
    json_t *doc = json_loadb(r->buf ? r->buf : "", r->buf_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return rs_respond_error(r, "MANIFEST_INVALID", "the manifest is not valid JSON: %s", jerr.text);
    struct parsed p = {0};
    char why[512];
    int ret;
    /* Declared before the first goto: a jump past a cleanup variable would free garbage. */
    _cleanup_close_ int gc_lock = -1;
    _cleanup_free_ char *location = NULL;
    if (parse_manifest(doc, rs_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), &p, why, sizeof(why)) < 0) {
        ret = rs_respond_error(r, "MANIFEST_INVALID", "%s", why);
        goto out;
    }
    struct rs_manifest_info info = {.digest = digest,
                                    .media_type = p.media_type,
                                    .size = r->buf_len,
                                    .subject = p.subject,
                                    .artifact_type = p.artifact_type,
                                    .annotations = p.annotations,
                                    .blobs = p.blobs,
                                    .manifests = p.manifests};
    struct servin_error err = {0};
    for (const char **b = p.blobs; b && *b; b++)
        if (!rs_meta_blob_linked(srv, r->name, *b, NULL)) {
            ret =
                rs_respond_error(r, "MANIFEST_BLOB_UNKNOWN", "blob %s is not in repository %s", *b, r->name);
            goto out;
        }
    if ((ret = servin_store_lock(srv->store, "gc", SERVIN_LOCK_SHARED, &gc_lock, &err)) < 0 ||
        (ret = servin_content_put(srv->store, r->buf ? r->buf : "", r->buf_len, digest, NULL, &err)) < 0) {
        ret = rs_respond_internal(r, &err);
        goto out;
    }
    bool missing_manifest = false;
    ret = rs_meta_manifest_put(srv, r->name, &info, by_digest ? NULL : r->ref, &missing_manifest, &err);
    if (ret == -ENOENT) {
        /* A missing child manifest is answered like a missing blob, as distribution does. */
        ret = rs_respond_error(r, "MANIFEST_BLOB_UNKNOWN", "%s", err.msg);
        goto out;
    }
    if (ret < 0) {
        ret = rs_respond_internal(r, &err);
        goto out;
    }
    location = xasprintf("/v2/%s/manifests/%s", r->name, digest);
    const char *headers[] = {MHD_HTTP_HEADER_LOCATION,
                             location,
                             "Docker-Content-Digest",
                             digest,
                             p.subject ? "OCI-Subject" : NULL,
                             p.subject,
                             NULL};
    ret = rs_respond_empty(r, MHD_HTTP_CREATED, headers);
out:
    parsed_free(&p);
    json_decref(doc);
    return ret;
}

int rs_manifest_delete(struct rs_req *r)
{
    struct servin_error err = {0};
    int ret;
    if (servin_digest_valid(r->ref))
        ret = rs_meta_manifest_delete(r->srv, r->name, r->ref, &err);
    else if (rs_tag_valid(r->ref))
        ret = rs_meta_tag_delete(r->srv, r->name, r->ref, &err);
    else
        return rs_respond_error(r, "MANIFEST_UNKNOWN", "\"%s\" is neither a tag nor a digest", r->ref);
    if (ret < 0)
        return rs_respond_internal(r, &err);
    if (ret == 0)
        return rs_respond_error(r, "MANIFEST_UNKNOWN", "manifest %s is not in repository %s", r->ref,
                                r->name);
    return rs_respond_empty(r, MHD_HTTP_ACCEPTED, NULL);
}
