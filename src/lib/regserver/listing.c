/* regserver/listing.c — tags list and catalog (with n/last pagination) and the referrers API. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "regserver/regserver_internal.h"
#include "servin/cleanup.h"

/* n: absent -> -1 (all); a non-negative integer otherwise; -2 when malformed. */
static long page_size(struct rs_req *r)
{
    const char *n = rs_arg(r, "n");
    if (!n)
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(n, &end, 10);
    if (end == n || *end || v < 0 || errno)
        return -2;
    return v;
}

static int respond_list(struct rs_req *r, const char *key, char **items, bool more, long n, const char *base)
{
    json_t *arr = json_array();
    for (char **t = items; t && *t; t++)
        json_array_append_new(arr, json_string(*t));
    json_t *body = json_object();
    if (r->name)
        json_object_set_new(body, "name", json_string(r->name));
    json_object_set_new(body, key, arr);
    _cleanup_free_ char *link = NULL;
    size_t count = json_array_size(arr);
    if (more && count > 0) {
        /* Names and tags hold only URL-safe characters, so they go into the link as they are. */
        link = xasprintf("<%s?n=%ld&last=%s>; rel=\"next\"", base, n, items[count - 1]);
    }
    const char *headers[] = {link ? "Link" : NULL, link, NULL};
    int ret = rs_respond_json(r, MHD_HTTP_OK, body, "application/json", headers);
    json_decref(body);
    return ret;
}

int rs_tags_list(struct rs_req *r)
{
    long n = page_size(r);
    if (n == -2)
        return rs_respond_error(r, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer");
    if (!rs_meta_repo_exists(r->srv, r->name))
        return rs_respond_error(r, "NAME_UNKNOWN", "repository %s is not known", r->name);
    struct servin_error err = {0};
    _cleanup_strv_ char **tags = NULL;
    bool more = false;
    if (rs_meta_tags(r->srv, r->name, rs_arg(r, "last"), n, &tags, &more, &err) < 0)
        return rs_respond_internal(r, &err);
    _cleanup_free_ char *base = xasprintf("/v2/%s/tags/list", r->name);
    return respond_list(r, "tags", tags, more, n, base);
}

int rs_catalog(struct rs_req *r)
{
    long n = page_size(r);
    if (n == -2)
        return rs_respond_error(r, "PAGINATION_NUMBER_INVALID", "n must be a non-negative integer");
    struct servin_error err = {0};
    _cleanup_strv_ char **repos = NULL;
    bool more = false;
    if (rs_meta_catalog(r->srv, rs_arg(r, "last"), n, &repos, &more, &err) < 0)
        return rs_respond_internal(r, &err);
    return respond_list(r, "repositories", repos, more, n, "/v2/_catalog");
}

int rs_referrers(struct rs_req *r)
{
    if (!servin_digest_valid(r->ref))
        return rs_respond_error(r, "DIGEST_INVALID", "invalid digest \"%s\"", r->ref);
    const char *artifact_type = rs_arg(r, "artifactType");
    struct servin_error err = {0};
    json_t *list = NULL;
    if (rs_meta_referrers(r->srv, r->name, r->ref, artifact_type, &list, &err) < 0)
        return rs_respond_internal(r, &err);
    json_t *index =
        json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", RS_MT_OCI_INDEX, "manifests", list);
    const char *headers[] = {artifact_type ? "OCI-Filters-Applied" : NULL, "artifactType", NULL};
    int ret = rs_respond_json(r, MHD_HTTP_OK, index, RS_MT_OCI_INDEX, headers);
    json_decref(index);
    return ret;
}
