/* regserver/blobs.c — GET/HEAD (with Range) and DELETE of blobs, served from the content store. */
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

/* "bytes=a-b", "bytes=a-" or "bytes=-n" (one range only); false when unsatisfiable or malformed. */
static bool parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len)
{
    if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return false;
    const char *p = h + 6;
    char *end = NULL;
    if (*p == '-') {
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end || n == 0)
            return false;
        if (n > size)
            n = size;
        *start = size - n;
        *len = n;
        return size > 0;
    }
    unsigned long long a = strtoull(p, &end, 10);
    if (end == p || *end != '-')
        return false;
    p = end + 1;
    unsigned long long b = size ? size - 1 : 0;
    if (*p) {
        b = strtoull(p, &end, 10);
        if (end == p || *end)
            return false;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size || b < a)
        return false;
    *start = a;
    *len = b - a + 1;
    return true;
}

/* A digest of the right shape but an algorithm we do not store is simply unknown. */
static int bad_digest(struct rs_req *r)
{
    const char *colon = strchr(r->ref, ':');
    if (colon && colon != r->ref && colon[1])
        return rs_respond_error(r, "BLOB_UNKNOWN", "blob %s is not known to this registry", r->ref);
    return rs_respond_error(r, "DIGEST_INVALID", "invalid digest \"%s\"", r->ref);
}

int rs_blob_get(struct rs_req *r)
{
    if (!servin_digest_valid(r->ref))
        return bad_digest(r);
    if (!rs_meta_blob_linked(r->srv, r->name, r->ref, NULL))
        return rs_respond_error(r, "BLOB_UNKNOWN", "blob %s is not in repository %s", r->ref, r->name);
    _cleanup_free_ char *path = servin_content_path(r->srv->store, r->ref);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return rs_respond_error(r, "BLOB_UNKNOWN", "blob %s is no longer stored", r->ref);
    uint64_t size = (uint64_t)st.st_size, start = 0, len = size;
    unsigned status = MHD_HTTP_OK;
    char content_range[96] = "";
    const char *range = rs_header(r, MHD_HTTP_HEADER_RANGE);
    if (range) {
        if (!parse_range(range, size, &start, &len)) {
            snprintf(content_range, sizeof(content_range), "bytes */%" PRIu64, size);
            const char *headers[] = {MHD_HTTP_HEADER_CONTENT_RANGE, content_range, NULL};
            return rs_respond_empty(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, headers);
        }
        status = MHD_HTTP_PARTIAL_CONTENT;
        snprintf(content_range, sizeof(content_range), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start,
                 start + len - 1, size);
    }
    /* The fd goes to libmicrohttpd, which sends it with sendfile and closes it. */
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, start);
    if (!resp)
        return rs_respond_error(r, "UNKNOWN", "cannot serve blob %s", r->ref);
    fd = -1;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    MHD_add_response_header(resp, "Docker-Content-Digest", r->ref);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    _cleanup_free_ char *etag = xasprintf("\"%s\"", r->ref);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "max-age=31536000");
    if (*content_range)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
    r->bytes = strcmp(r->method, "HEAD") == 0 ? 0 : len;
    return rs_respond(r, status, resp);
}

int rs_blob_delete(struct rs_req *r)
{
    if (!servin_digest_valid(r->ref))
        return bad_digest(r);
    struct servin_error err = {0};
    int ret = rs_meta_blob_unlink(r->srv, r->name, r->ref, &err);
    if (ret < 0)
        return rs_respond_internal(r, &err);
    if (ret == 0)
        return rs_respond_error(r, "BLOB_UNKNOWN", "blob %s is not in repository %s", r->ref, r->name);
    /* The data stays until `servin registry gc`: other repositories (or local images) may share it. */
    return rs_respond_empty(r, MHD_HTTP_ACCEPTED, NULL);
}
