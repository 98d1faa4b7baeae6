/* regserver/uploads.c — blob uploads: monolithic or chunked, status, cancel and cross-repository mount.
 * Data streams into a content-store writer that hashes as it goes; the blob is renamed into the
 * store only when its digest matches, so a bad upload leaves nothing behind. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "regserver/regserver_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

/* A session nobody has touched for this long is dropped when the next one starts. */
#define UPLOAD_IDLE_SECS (60 * 60)

static void upload_free(struct rs_upload *u)
{
    if (!u)
        return;
    servin_content_writer_close(u->w);
    free(u->repo);
    free(u);
}

void rs_uploads_free(struct servin_regserver *srv)
{
    while (srv->uploads) {
        struct rs_upload *u = srv->uploads;
        srv->uploads = u->next;
        upload_free(u);
    }
}

static void new_uuid(char out[40])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != sizeof(b))
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)rand();
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Remove sessions idle too long; called with uploads_lock held. */
static void reap_idle(struct servin_regserver *srv, time_t now)
{
    for (struct rs_upload **pp = &srv->uploads; *pp;) {
        struct rs_upload *u = *pp;
        if (!u->busy && now - u->touched > UPLOAD_IDLE_SECS) {
            *pp = u->next;
            upload_free(u);
        } else {
            pp = &u->next;
        }
    }
}

static int upload_create(struct rs_req *r, bool listed, struct servin_error *err)
{
    struct rs_upload *u = xcalloc(1, sizeof(*u));
    int ret = servin_content_writer_open(r->srv->store, NULL, &u->w, NULL, err);
    if (ret < 0) {
        free(u);
        return ret;
    }
    servin_content_writer_write_behind(u->w);
    new_uuid(u->uuid);
    u->repo = xstrdup(r->name);
    u->busy = true;
    u->touched = time(NULL);
    if (listed) {
        pthread_mutex_lock(&r->srv->uploads_lock);
        reap_idle(r->srv, u->touched);
        u->next = r->srv->uploads;
        r->srv->uploads = u;
        pthread_mutex_unlock(&r->srv->uploads_lock);
    } else {
        r->upload_temp = true;
    }
    r->upload = u;
    return 0;
}

/* Find a session of this repository: 1 found (busy set when checkout), 0 unknown, -EBUSY in use. */
static int upload_find(struct rs_req *r, bool checkout, struct rs_upload **out)
{
    int ret = 0;
    pthread_mutex_lock(&r->srv->uploads_lock);
    for (struct rs_upload *u = r->srv->uploads; u; u = u->next) {
        if (strcmp(u->uuid, r->ref) != 0 || strcmp(u->repo, r->name) != 0)
            continue;
        if (u->busy) {
            ret = -EBUSY;
        } else {
            if (checkout)
                u->busy = true;
            *out = u;
            ret = 1;
        }
        break;
    }
    pthread_mutex_unlock(&r->srv->uploads_lock);
    return ret;
}

static void upload_checkin(struct servin_regserver *srv, struct rs_upload *u)
{
    pthread_mutex_lock(&srv->uploads_lock);
    u->busy = false;
    u->touched = time(NULL);
    pthread_mutex_unlock(&srv->uploads_lock);
}

/* Unlink from the list and free (the writer too, unless commit already consumed it). */
static void upload_remove(struct servin_regserver *srv, struct rs_upload *u)
{
    pthread_mutex_lock(&srv->uploads_lock);
    for (struct rs_upload **pp = &srv->uploads; *pp; pp = &(*pp)->next)
        if (*pp == u) {
            *pp = u->next;
            break;
        }
    pthread_mutex_unlock(&srv->uploads_lock);
    upload_free(u);
}

static void release(struct rs_req *r)
{
    struct rs_upload *u = steal_pointer(&r->upload);
    if (!u)
        return;
    if (r->upload_temp)
        upload_free(u);
    else
        upload_remove(r->srv, u);
}

static int respond_progress(struct rs_req *r, unsigned status, const struct rs_upload *u)
{
    _cleanup_free_ char *location = xasprintf("/v2/%s/blobs/uploads/%s", r->name, u->uuid);
    uint64_t size = servin_content_writer_size(u->w);
    _cleanup_free_ char *range = xasprintf("0-%" PRIu64, size ? size - 1 : 0);
    const char *headers[] = {MHD_HTTP_HEADER_LOCATION,
                             location,
                             MHD_HTTP_HEADER_RANGE,
                             range,
                             "Docker-Upload-UUID",
                             u->uuid,
                             NULL};
    return rs_respond_empty(r, status, headers);
}

static int respond_created(struct rs_req *r, const char *digest)
{
    _cleanup_free_ char *location = xasprintf("/v2/%s/blobs/%s", r->name, digest);
    const char *headers[] = {MHD_HTTP_HEADER_LOCATION, location, "Docker-Content-Digest", digest, NULL};
    return rs_respond_empty(r, MHD_HTTP_CREATED, headers);
}

/* POST ?mount=&from=: link a blob another repository holds, without any data moving. */
static int try_mount(struct rs_req *r, const char *digest, const char *from, bool *mounted)
{
    *mounted = false;
    uint64_t size = 0;
    if (!servin_digest_valid(digest) || !from || !rs_name_valid(from) ||
        !rs_meta_blob_linked(r->srv, from, digest, &size) ||
        !servin_content_has(r->srv->store, digest, &size))
        return 0;
    struct servin_error err = {0};
    if (rs_meta_blob_link(r->srv, r->name, digest, size, &err) < 0)
        return rs_respond_internal(r, &err);
    *mounted = true;
    return respond_created(r, digest);
}

/* Content-Range "start-end" of a PATCH must continue where the data stops. */
static bool range_continues(const char *h, uint64_t size)
{
    if (!h)
        return true;
    if (strncmp(h, "bytes ", 6) == 0)
        h += 6;
    char *end = NULL;
    unsigned long long start = strtoull(h, &end, 10);
    return end != h && *end == '-' && start == size;
}

int rs_upload_begin(struct rs_req *r)
{
    struct servin_error err = {0};
    const char *method = r->method;
    if (strcmp(method, "POST") == 0) {
        if (*r->ref)
            return rs_respond_error(r, "UNSUPPORTED", "POST is not supported on an upload session");
        const char *mount = rs_arg(r, "mount");
        if (mount) {
            bool mounted = false;
            int ret = try_mount(r, mount, rs_arg(r, "from"), &mounted);
            if (ret < 0 || mounted)
                return ret;
            /* Not mountable: the spec says to start an ordinary upload instead. */
        }
        const char *digest = rs_arg(r, "digest");
        if (digest && !servin_digest_valid(digest))
            return rs_respond_error(r, "DIGEST_INVALID", "invalid digest \"%s\"", digest);
        if (upload_create(r, !digest, &err) < 0)
            return rs_respond_internal(r, &err);
        return 0;
    }
    if (!*r->ref)
        return rs_respond_error(r, "BLOB_UPLOAD_UNKNOWN", "%s needs an upload session", method);
    bool put = strcmp(method, "PUT") == 0;
    if (put) {
        const char *digest = rs_arg(r, "digest");
        if (!digest || !servin_digest_valid(digest))
            return rs_respond_error(r, "DIGEST_INVALID", "the upload needs a valid ?digest=, got \"%s\"",
                                    digest ? digest : "");
    }
    struct rs_upload *u = NULL;
    int found = upload_find(r, true, &u);
    if (found == -EBUSY)
        return rs_respond_error(r, "BLOB_UPLOAD_INVALID", "upload %s is busy with another request", r->ref);
    if (found == 0)
        return rs_respond_error(r, "BLOB_UPLOAD_UNKNOWN", "upload %s is not known", r->ref);
    r->upload = u;
    if (!put &&
        !range_continues(rs_header(r, MHD_HTTP_HEADER_CONTENT_RANGE), servin_content_writer_size(u->w))) {
        upload_checkin(r->srv, u);
        r->upload = NULL;
        _cleanup_free_ char *location = xasprintf("/v2/%s/blobs/uploads/%s", r->name, u->uuid);
        uint64_t size = servin_content_writer_size(u->w);
        _cleanup_free_ char *range = xasprintf("0-%" PRIu64, size ? size - 1 : 0);
        const char *headers[] = {MHD_HTTP_HEADER_LOCATION,
                                 location,
                                 MHD_HTTP_HEADER_RANGE,
                                 range,
                                 "Docker-Upload-UUID",
                                 u->uuid,
                                 NULL};
        return rs_respond_empty(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, headers);
    }
    return 0;
}

int rs_upload_data(struct rs_req *r, const char *data, size_t len)
{
    if (!r->upload || r->write_failed)
        return 0;
    if (servin_content_writer_write(r->upload->w, data, len, &r->write_err) < 0)
        r->write_failed = true;
    return 0;
}

static int commit(struct rs_req *r, const char *digest)
{
    struct servin_regserver *srv = r->srv;
    struct rs_upload *u = r->upload;
    struct servin_error err = {0};
    int ret = servin_content_writer_expect(u->w, digest, &err);
    if (ret < 0) {
        release(r);
        return rs_respond_error(r, "DIGEST_INVALID", "%s", err.msg);
    }
    uint64_t size = servin_content_writer_size(u->w);
    /* A garbage collection (ours or the image store's) must not run between the rename and the
     * link that keeps the blob alive. */
    _cleanup_close_ int gc_lock = -1;
    ret = servin_store_lock(srv->store, "gc", SERVIN_LOCK_SHARED, &gc_lock, &err);
    if (ret < 0) {
        release(r);
        return rs_respond_internal(r, &err);
    }
    struct servin_content_writer *w = steal_pointer(&u->w);
    ret = servin_content_writer_commit(w, 0, NULL, &err);
    release(r);
    if (ret == -EIO)
        return rs_respond_error(r, "DIGEST_INVALID", "%s", err.msg);
    if (ret < 0)
        return rs_respond_internal(r, &err);
    ret = rs_meta_blob_link(srv, r->name, digest, size, &err);
    if (ret < 0)
        return rs_respond_internal(r, &err);
    return respond_created(r, digest);
}

int rs_upload_finish(struct rs_req *r)
{
    if (!r->upload)
        return rs_respond_error(r, "BLOB_UPLOAD_UNKNOWN", "no upload session");
    if (r->write_failed) {
        release(r);
        return rs_respond_internal(r, &r->write_err);
    }
    const char *digest = rs_arg(r, "digest");
    if (strcmp(r->method, "PATCH") == 0 || (strcmp(r->method, "POST") == 0 && !digest)) {
        struct rs_upload *u = steal_pointer(&r->upload);
        upload_checkin(r->srv, u);
        return respond_progress(r, MHD_HTTP_ACCEPTED, u);
    }
    return commit(r, digest);
}

void rs_upload_abandon(struct rs_req *r)
{
    /* A session keeps what arrived, so the client can ask where it stopped and go on from there;
     * a monolithic upload has no session and simply goes. */
    if (r->upload_temp) {
        release(r);
        return;
    }
    struct rs_upload *u = steal_pointer(&r->upload);
    upload_checkin(r->srv, u);
}

int rs_upload_status(struct rs_req *r)
{
    struct rs_upload *u = NULL;
    int found = upload_find(r, true, &u);
    if (found == 0)
        return rs_respond_error(r, "BLOB_UPLOAD_UNKNOWN", "upload %s is not known", r->ref);
    if (found < 0)
        return rs_respond_error(r, "BLOB_UPLOAD_INVALID", "upload %s is busy with another request", r->ref);
    int ret = respond_progress(r, MHD_HTTP_NO_CONTENT, u);
    upload_checkin(r->srv, u);
    return ret;
}

int rs_upload_cancel(struct rs_req *r)
{
    struct rs_upload *u = NULL;
    int found = upload_find(r, true, &u);
    if (found == 0)
        return rs_respond_error(r, "BLOB_UPLOAD_UNKNOWN", "upload %s is not known", r->ref);
    if (found < 0)
        return rs_respond_error(r, "BLOB_UPLOAD_INVALID", "upload %s is busy with another request", r->ref);
    upload_remove(r->srv, u);
    return rs_respond_empty(r, MHD_HTTP_NO_CONTENT, NULL);
}
