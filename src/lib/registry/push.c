/* registry/push.c — `push`: each blob checked, mounted or uploaded (whole or in chunks), then the manifest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/registry_internal.h"
#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/image.h"
#include "servin/log.h"
#include "servin/reference.h"

#define DEFAULT_CHUNK (8ull * 1024 * 1024)

void servin_push_result_free(struct servin_push_result *r)
{
    if (!r)
        return;
    free(r->tag);
    r->tag = NULL;
}

struct push_ctx {
    struct servin_store *store;
    struct reg_session *s;
    const char *path;
    const char *scope;
    const char *mount_from; /* another repository on the same registry that has our blobs, or NULL */
    uint64_t chunk;
    struct servin_progress *progress;
};

static uint64_t chunk_size(const struct servin_push_opts *opts)
{
    if (opts->chunk_size)
        return opts->chunk_size;
    const char *env = getenv("SERVIN_PUSH_CHUNK_SIZE");
    if (env && *env) {
        char *end = NULL;
        unsigned long long v = strtoull(env, &end, 10);
        if (end && *end == '\0' && v > 0)
            return v;
        log_warn("ignoring SERVIN_PUSH_CHUNK_SIZE=%s: not a positive number of bytes", env);
    }
    return DEFAULT_CHUNK;
}

static char *with_query(const char *url, const char *param)
{
    return xasprintf("%s%c%s", url, strchr(url, '?') ? '&' : '?', param);
}

/* 1 when the registry has the blob, 0 when not. */
static int blob_exists(struct push_ctx *c, const char *digest, struct servin_error *err)
{
    _cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", c->path, digest);
    struct reg_req req = {.method = "HEAD", .url = url, .scope = c->scope, .follow = true};
    struct reg_resp resp = {0};
    int ret = reg_request(c->s, &req, &resp, err);
    if (ret == 0)
        ret = resp.status == 200 ? 1 : resp.status == 404 ? 0 : reg_status_error(&resp, err);
    reg_resp_free(&resp);
    return ret;
}

/* Start an upload (or mount): 1 when mounted, 0 with *location set for an upload. */
static int start_upload(struct push_ctx *c, const char *digest, char **location, struct servin_error *err)
{
    _cleanup_free_ char *url = NULL;
    if (c->mount_from) {
        _cleanup_free_ char *from = reg_url_escape(c->mount_from);
        url = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", c->path, digest, from);
    } else {
        url = xasprintf("/v2/%s/blobs/uploads/", c->path);
    }
    struct reg_req req = {.method = "POST", .url = url, .scope = c->scope};
    struct reg_resp resp = {0};
    int ret = reg_request(c->s, &req, &resp, err);
    if (ret == 0) {
        if (c->mount_from && resp.status == 201)
            ret = 1;
        else if (resp.status != 202)
            ret = reg_status_error(&resp, err);
        else if (!resp.location)
            ret = servin_error_set(err, EPROTO, "the registry started an upload without a Location");
        else
            *location = reg_absolute_url(c->s, resp.location);
    }
    reg_resp_free(&resp);
    return ret;
}

/* PATCH one chunk; the registry answers with the location for the next request. */
static int upload_chunk(struct push_ctx *c, char **location, int fd, uint64_t off, uint64_t len,
                        struct servin_error *err)
{
    char range[96];
    snprintf(range, sizeof(range), "Content-Range: %llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
    const char *headers[] = {"Content-Type: application/octet-stream", range, NULL};
    struct reg_req req = {.method = "PATCH",
                          .url = *location,
                          .scope = c->scope,
                          .headers = headers,
                          .body_fd = fd,
                          .fd_offset = off,
                          .fd_len = len};
    struct reg_resp resp = {0};
    int ret = reg_request(c->s, &req, &resp, err);
    if (ret == 0 && resp.status != 202)
        ret = reg_status_error(&resp, err);
    if (ret == 0 && resp.location) {
        free(*location);
        *location = reg_absolute_url(c->s, resp.location);
    }
    reg_resp_free(&resp);
    return ret;
}

static int push_blob(struct push_ctx *c, const char *digest, bool show, struct servin_error *err)
{
    char short_id[16];
    snprintf(short_id, sizeof(short_id), "%.12s", servin_digest_hex(digest));
    struct servin_progress *prog = show ? c->progress : NULL;
    servin_progress_update(prog, short_id, SERVIN_PROGRESS_PREPARING, 0, 0);

    int ret = blob_exists(c, digest, err);
    if (ret < 0)
        return ret;
    if (ret == 1) {
        servin_progress_update(prog, short_id, SERVIN_PROGRESS_LAYER_EXISTS, 0, 0);
        return 0;
    }
    _cleanup_free_ char *path = servin_content_path(c->store, digest);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return servin_error_errno(err, errno, "blob %s is missing from the local store", digest);
    uint64_t size = (uint64_t)st.st_size;

    _cleanup_free_ char *location = NULL;
    ret = start_upload(c, digest, &location, err);
    if (ret < 0)
        return ret;
    if (ret == 1) {
        servin_progress_update(prog, short_id, SERVIN_PROGRESS_MOUNTED, 0, 0);
        return 0;
    }
    servin_progress_update(prog, short_id, SERVIN_PROGRESS_PUSHING, 0, size);

    uint64_t sent = 0;
    if (size > c->chunk) {
        while (sent < size) {
            uint64_t len = size - sent < c->chunk ? size - sent : c->chunk;
            ret = upload_chunk(c, &location, fd, sent, len, err);
            if (ret < 0)
                return servin_error_wrap(err, "upload chunk at byte %llu", (unsigned long long)sent);
            sent += len;
            servin_progress_update(prog, short_id, SERVIN_PROGRESS_PUSHING, sent, size);
        }
    }
    /* The closing PUT carries the whole blob (monolithic) or nothing (after the chunks). */
    _cleanup_free_ char *dparam = xasprintf("digest=%s", digest);
    _cleanup_free_ char *url = with_query(location, dparam);
    const char *headers[] = {"Content-Type: application/octet-stream", NULL};
    struct reg_req req = {.method = "PUT", .url = url, .scope = c->scope, .headers = headers};
    if (sent < size) {
        req.body_fd = fd;
        req.fd_offset = 0;
        req.fd_len = size;
    }
    struct reg_resp resp = {0};
    ret = reg_request(c->s, &req, &resp, err);
    if (ret == 0 && resp.status != 201 && resp.status != 204)
        ret = reg_status_error(&resp, err);
    reg_resp_free(&resp);
    if (ret < 0)
        return ret;
    servin_progress_update(prog, short_id, SERVIN_PROGRESS_PUSHED, size, size);
    return 0;
}

/* A repository on the same registry our image came from, to mount blobs from instead of uploading. */
static char *mount_source(const struct servin_image_summary *img, const struct servin_ref *ref)
{
    for (char **rd = img->repo_digests; rd && *rd; rd++) {
        struct servin_ref other = {0};
        if (servin_ref_parse(*rd, &other, NULL) < 0)
            continue;
        char *from = NULL;
        if (strcmp(other.domain, ref->domain) == 0 && strcmp(other.path, ref->path) != 0)
            from = xstrdup(other.path);
        servin_ref_free(&other);
        if (from)
            return from;
    }
    return NULL;
}

/* Record name@digest on the image, as Docker does after a push. */
static int record_repo_digest(struct servin_store *store, const struct servin_image_summary *img,
                              const char *media_type, const char *repo_digest, struct servin_error *err)
{
    struct servin_layer_desc *layers = NULL;
    size_t n = 0;
    int ret = servin_image_layers(store, img->id, &layers, &n, err);
    if (ret < 0)
        return ret;
    struct servin_image_record rec = {
        .manifest_media_type = media_type, .n_layers = n, .layers = layers, .repo_digest = repo_digest};
    memcpy(rec.config_digest, img->id, SERVIN_DIGEST_MAX);
    memcpy(rec.manifest_digest, img->manifest_digest, SERVIN_DIGEST_MAX);
    ret = servin_image_register(store, &rec, err);
    servin_layer_descs_free(layers, n);
    return ret;
}

static int push_image(struct servin_store *store, struct reg_session *s, const struct servin_ref *ref,
                      const struct servin_image_summary *img, const struct servin_push_opts *opts,
                      struct servin_push_result *result, struct servin_error *err)
{
    _cleanup_free_ char *data = NULL, *media_type = NULL, *mount_from = NULL, *scope = NULL, *name = NULL;
    size_t len = 0;
    json_t *manifest = NULL;
    if (!img->manifest_digest[0])
        return servin_error_set(err, ENOTSUP, "image %.19s has no manifest to push", img->id);
    int ret = servin_content_read(store, img->manifest_digest, &data, &len, err);
    if (ret < 0)
        return ret;
    ret = reg_manifest_parse(data, len, NULL, &manifest, &media_type, err);
    if (ret == 0 && !reg_media_type_is_manifest(media_type))
        ret = servin_error_set(err, ENOTSUP, "image %.19s has a %s, not an image manifest", img->id,
                               media_type);
    if (ret < 0) {
        json_decref(manifest);
        return ret;
    }

    mount_from = mount_source(img, ref);
    scope = mount_from ? xasprintf("repository:%s:pull,push repository:%s:pull", ref->path, mount_from)
                       : xasprintf("repository:%s:pull,push", ref->path);
    name = servin_ref_name(ref);
    struct push_ctx c = {.store = store,
                         .s = s,
                         .path = ref->path,
                         .scope = scope,
                         .mount_from = mount_from,
                         .chunk = chunk_size(opts),
                         .progress = opts->progress};
    servin_progress_line(opts->progress, "The push refers to repository [%s]", name);

    json_t *layers = json_object_get(manifest, "layers");
    size_t i;
    json_t *l;
    json_array_foreach (layers, i, l) {
        const char *d = json_string_value(json_object_get(l, "digest"));
        if (!d || !servin_digest_valid(d)) {
            ret = servin_error_set(err, EPROTO, "layer %zu of the manifest has an invalid digest", i + 1);
            break;
        }
        ret = push_blob(&c, d, true, err);
        if (ret < 0) {
            servin_error_wrap(err, "layer %.12s", servin_digest_hex(d));
            break;
        }
    }
    const char *cfg = json_string_value(json_object_get(json_object_get(manifest, "config"), "digest"));
    if (ret == 0 && (!cfg || !servin_digest_valid(cfg)))
        ret = servin_error_set(err, EPROTO, "the manifest has no valid config digest");
    if (ret == 0 && (ret = push_blob(&c, cfg, false, err)) < 0)
        servin_error_wrap(err, "config");
    json_decref(manifest);
    if (ret < 0)
        return ret;

    /* The exact stored bytes, so that the digest does not change on the way. */
    _cleanup_free_ char *url = xasprintf("/v2/%s/manifests/%s", ref->path, ref->tag);
    _cleanup_free_ char *ct = xasprintf("Content-Type: %s", media_type);
    const char *headers[] = {ct, NULL};
    struct reg_req req = {
        .method = "PUT", .url = url, .scope = scope, .headers = headers, .body = data, .body_len = len};
    struct reg_resp resp = {0};
    ret = reg_request(s, &req, &resp, err);
    if (ret == 0 && resp.status != 201 && resp.status != 200)
        ret = reg_status_error(&resp, err);
    reg_resp_free(&resp);
    if (ret < 0)
        return servin_error_wrap(err, "put manifest");

    memcpy(result->manifest_digest, img->manifest_digest, SERVIN_DIGEST_MAX);
    result->manifest_size = len;
    result->tag = xstrdup(ref->tag);
    _cleanup_free_ char *repo_digest = xasprintf("%s@%s", name, img->manifest_digest);
    struct servin_error rd_err = {0};
    if (record_repo_digest(store, img, media_type, repo_digest, &rd_err) < 0)
        log_warn("pushed, but could not record %s: %s", repo_digest, rd_err.msg);
    return 0;
}

int servin_registry_push(struct servin_store *store, const char *reference,
                         const struct servin_push_opts *opts, struct servin_push_result *result,
                         struct servin_error *err)
{
    static const struct servin_push_opts no_opts = {0};
    struct servin_ref ref = {0};
    struct servin_image_summary *list = NULL;
    size_t n = 0;
    struct reg_session *s = NULL;
    _cleanup_free_ char *full = NULL; /* before the first goto: cleanup must never see garbage */
    memset(result, 0, sizeof(*result));
    if (!opts)
        opts = &no_opts;

    int ret = servin_ref_parse(reference, &ref, err);
    if (ret == 0 && ref.digest)
        ret = servin_error_set(err, EINVAL, "cannot push a digest reference; give a tag");
    if (ret < 0)
        goto out;

    full = servin_ref_string(&ref);
    char id[SERVIN_DIGEST_MAX];
    struct servin_error inner = {0};
    if (servin_image_resolve(store, full, id, &inner) < 0) {
        if (inner.code == ENOENT)
            ret = servin_error_set(err, ENOENT, "An image does not exist locally with the tag: %s", full);
        else
            ret = -(*err = inner).code;
        goto out;
    }
    ret = servin_image_list(store, &list, &n, err);
    if (ret < 0)
        goto out;
    const struct servin_image_summary *img = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].id, id) == 0)
            img = &list[i];
    if (!img) {
        ret = servin_error_set(err, ENOENT, "An image does not exist locally with the tag: %s", full);
        goto out;
    }

    s = reg_session_new(ref.domain, NULL, NULL);
    reg_session_load_credentials(s, opts->auth_file);
    ret = reg_session_ping(s, err);
    if (ret == 0)
        ret = push_image(store, s, &ref, img, opts, result, err);

out:
    reg_session_free(s);
    servin_image_summaries_free(list, n);
    servin_ref_free(&ref);
    if (ret < 0)
        return servin_error_wrap(err, "push %s", reference);
    return 0;
}

int servin_registry_login(const char *server, const char *user, const char *password,
                          struct servin_error *err)
{
    _cleanup_free_ char *key = servin_authfile_key(server);
    struct reg_session *s = reg_session_new(key, user, password);
    int ret = reg_session_ping(s, err);
    if (ret == 0) {
        /* Asking for /v2/ with credentials runs the registry's whole auth flow: Basic, or a token. */
        struct reg_req req = {.method = "GET", .url = "/v2/"};
        struct reg_resp resp = {0};
        ret = reg_request(s, &req, &resp, err);
        if (ret == 0 && resp.status != 200)
            ret = reg_status_error(&resp, err);
        reg_resp_free(&resp);
    }
    reg_session_free(s);
    if (ret < 0)
        return servin_error_wrap(err, "login to %s failed", server);
    return 0;
}
