/* daemon/cri/image_service.c — runtime.v1.ImageService over the local store and the registry
 * client: ListImages, ImageStatus, PullImage (with kubelet's AuthConfig), RemoveImage, ImageFsInfo.
 *
 * An image's CRI id is its config digest ("sha256:..."), the same value PullImage returns as
 * image_ref, as the API asks. Names are the store's normalised ones ("docker.io/library/busybox:latest"),
 * as containerd shows them. Pulls go through servin_registry_pull, so the configured mirrors,
 * insecure registries and CA files apply as for `servin pull`. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cri_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/log.h"
#include "servin/reference.h"
#include "servin/registry.h"

int cri_image_start(struct servin_error *err)
{
    return 0;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The image's default user from its config: a number is the uid, anything else the user name
 * ("1000:1000" is uid 1000; "app" is a name to resolve in the image). An image id names one config
 * for good, so the answer is kept: ListImages would otherwise read every config on every call. */
struct user_cache_entry {
    char id[SERVIN_DIGEST_MAX];
    bool has_uid;
    int64_t uid;
    char *username;
};
#define USER_CACHE_MAX 512
static struct user_cache_entry user_cache[USER_CACHE_MAX];
static size_t user_cache_next;
static pthread_mutex_t user_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void set_user(struct cri_call *call, struct servin_store *store, Runtime__V1__Image *img,
                     const char *id)
{
    pthread_mutex_lock(&user_cache_lock);
    for (size_t i = 0; i < USER_CACHE_MAX; i++) {
        struct user_cache_entry *e = &user_cache[i];
        if (e->id[0] && strcmp(e->id, id) == 0) {
            if (e->has_uid)
                img->uid = cri_i64(call, e->uid);
            else
                img->username = cri_strdup(call, e->username);
            pthread_mutex_unlock(&user_cache_lock);
            return;
        }
    }
    pthread_mutex_unlock(&user_cache_lock);

    json_t *config = NULL;
    struct servin_error err = {0};
    if (servin_image_config(store, id, &config, &err) < 0)
        return;
    const char *user = json_string_value(json_object_get(json_object_get(config, "config"), "User"));
    bool has_uid = true;
    long long uid = 0; /* no User: root, as containerd reports it */
    _cleanup_free_ char *name = NULL;
    if (user && *user) {
        name = xstrndup(user, strcspn(user, ":"));
        char *end;
        errno = 0;
        uid = strtoll(name, &end, 10);
        has_uid = *name && !*end && !errno && uid >= 0;
    }
    json_decref(config);
    if (has_uid)
        img->uid = cri_i64(call, uid);
    else
        img->username = cri_strdup(call, name);

    pthread_mutex_lock(&user_cache_lock);
    struct user_cache_entry *e = &user_cache[user_cache_next++ % USER_CACHE_MAX];
    free(e->username);
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->has_uid = has_uid;
    e->uid = uid;
    e->username = has_uid ? NULL : xstrdup(name);
    pthread_mutex_unlock(&user_cache_lock);
}

static Runtime__V1__Image *image_message(struct cri_call *call, struct servin_store *store,
                                         const struct servin_image_summary *s)
{
    Runtime__V1__Image *img = cri_new(call, &runtime__v1__image__descriptor);
    img->id = cri_strdup(call, s->id);
    for (char **t = s->tags; t && *t; t++)
        cri_append(call, &img->base, "repo_tags", *t);
    for (char **d = s->repo_digests; d && *d; d++)
        cri_append(call, &img->base, "repo_digests", *d);
    img->size = s->size ? s->size : 1; /* "must be > 0" */
    Runtime__V1__ImageSpec *spec = cri_new(call, &runtime__v1__image_spec__descriptor);
    spec->image = img->id;
    img->spec = spec;
    set_user(call, store, img, s->id);
    return img;
}

/* The image a spec names (reference, id or id prefix); 0 and *found false when there is none. */
static int resolve(struct cri_call *call, struct servin_store *store, const Runtime__V1__ImageSpec *spec,
                   char id[SERVIN_DIGEST_MAX], bool *found)
{
    *found = false;
    const char *text = spec ? spec->image : NULL;
    if (!text || !*text)
        return cri_fail(call, GRPC_INVALID_ARGUMENT,
                        "%s: image.image is required (a reference or an image id)", call->path + 1);
    struct servin_error err = {0};
    if (servin_image_resolve(store, text, id, &err) < 0) {
        if (err.code == ENOENT)
            return 0;
        if (err.code == EINVAL) /* a text that is neither a reference nor an id names no image */
            return 0;
        return cri_fail_error(call, &err);
    }
    *found = true;
    return 0;
}

static int list_images(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ListImagesRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    char want[SERVIN_DIGEST_MAX] = "";
    if (req->filter && req->filter->image && *req->filter->image->image) {
        bool found;
        if (resolve(call, store, req->filter->image, want, &found) < 0)
            return -1;
        if (!found) { /* a filter naming no image matches nothing */
            *resp_msg = cri_new(call, &runtime__v1__list_images_response__descriptor);
            return 0;
        }
    }
    struct servin_image_summary *list = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    if (servin_image_list(store, &list, &n, &err) < 0)
        return cri_fail_error(call, &err);
    Runtime__V1__ListImagesResponse *resp = cri_new(call, &runtime__v1__list_images_response__descriptor);
    resp->images = cri_alloc(call, (n + 1) * sizeof(*resp->images));
    for (size_t i = 0; i < n; i++)
        if (!*want || strcmp(list[i].id, want) == 0)
            resp->images[resp->n_images++] = image_message(call, store, &list[i]);
    servin_image_summaries_free(list, n);
    *resp_msg = &resp->base;
    return 0;
}

static int image_status(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ImageStatusRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    char id[SERVIN_DIGEST_MAX];
    bool found;
    if (resolve(call, store, req->image, id, &found) < 0)
        return -1;
    Runtime__V1__ImageStatusResponse *resp = cri_new(call, &runtime__v1__image_status_response__descriptor);
    *resp_msg = &resp->base;
    if (!found) /* not an error: the image is simply absent (image stays nil) */
        return 0;
    struct servin_image_summary s = {0};
    struct servin_error err = {0};
    if (servin_image_get(store, id, &s, &err) < 0) {
        if (err.code == ENOENT) /* removed meanwhile */
            return 0;
        return cri_fail_error(call, &err);
    }
    resp->image = image_message(call, store, &s);
    servin_image_summary_clear(&s);
    if (req->verbose) {
        json_t *inspect = NULL;
        if (servin_image_inspect_json(store, id, &inspect, &err) == 0) {
            char *text = json_dumps(inspect, JSON_COMPACT);
            cri_map_add(call, &resp->base, "info", "info", text ? text : "{}");
            free(text);
            json_decref(inspect);
        }
    }
    return 0;
}

/* ---- pull ---- */

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* AuthConfig.auth: base64 of "user:password". */
static int decode_auth(const char *b64, char **user, char **password)
{
    size_t n = strlen(b64);
    _cleanup_free_ char *plain = xcalloc(1, n + 1);
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *p = b64; *p && *p != '='; p++) {
        int v = b64_value(*p);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            plain[len++] = (char)(acc >> bits);
        }
    }
    plain[len] = '\0';
    char *colon = memchr(plain, ':', len);
    if (!colon || strlen(plain) != len)
        return -1;
    *user = xstrndup(plain, (size_t)(colon - plain));
    *password = xstrdup(colon + 1);
    explicit_bzero(plain, len);
    return 0;
}

/* kubelet's credentials for this pull as a private auth file the registry client reads, keyed by
 * the image's registry. NULL path (and 0) when the request carries none. */
static int auth_file_for(struct cri_call *call, struct servin_store *store,
                         const Runtime__V1__AuthConfig *auth, const char *domain, char **path_out)
{
    *path_out = NULL;
    if (!auth)
        return 0;
    _cleanup_free_ char *user = NULL, *password = NULL;
    if (*auth->username) {
        user = xstrdup(auth->username);
        password = xstrdup(auth->password);
    } else if (*auth->auth) {
        if (decode_auth(auth->auth, &user, &password) < 0)
            return cri_fail(call, GRPC_INVALID_ARGUMENT,
                            "PullImage: auth.auth is not base64 of \"user:password\"");
    }
    if (!user && !*auth->identity_token && !*auth->registry_token)
        return 0;
    _cleanup_free_ char *dir = servin_store_path(store, "tmp");
    struct servin_error err = {0};
    if (servin_mkdir_p(dir, 0700, &err) < 0)
        return cri_fail_error(call, &err);
    _cleanup_free_ char *tmpl = xasprintf("%s/cri-auth-XXXXXX", dir);
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return cri_fail(call, GRPC_INTERNAL, "PullImage: create a credentials file in %s: %s", dir,
                        strerror(errno));
    bool ok = write(fd, "{}", 2) == 2;
    close(fd);
    if (ok && user && servin_authfile_set(tmpl, domain, user, password, &err) < 0)
        ok = false;
    if (ok && servin_authfile_set_tokens(tmpl, domain, auth->identity_token, auth->registry_token, &err) < 0)
        ok = false;
    if (password)
        explicit_bzero(password, strlen(password));
    if (!ok) {
        unlink(tmpl);
        return err.msg[0] ? cri_fail_error(call, &err)
                          : cri_fail(call, GRPC_INTERNAL, "PullImage: write the credentials file");
    }
    *path_out = xstrdup(tmpl);
    return 0;
}

static int pull_image(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__PullImageRequest *req = (const void *)req_msg;
    if (!req->image || !*req->image->image)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "PullImage: image.image is required");
    const char *text = req->image->image;
    struct servin_ref ref = {0};
    struct servin_error err = {0};
    if (servin_ref_parse(text, &ref, &err) < 0)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "PullImage: %s", err.msg);
    _cleanup_free_ char *domain = xstrdup(ref.domain);
    servin_ref_free(&ref);
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    _cleanup_free_ char *auth_file = NULL;
    if (auth_file_for(call, store, req->auth, domain, &auth_file) < 0)
        return -1;
    struct servin_pull_opts opts = {.auth_file = auth_file};
    struct servin_pull_result res = {0};
    int r = servin_registry_pull(store, text, &opts, &res, &err);
    if (auth_file)
        unlink(auth_file);
    if (r < 0) {
        servin_pull_result_free(&res);
        int code = err.code == EACCES ? GRPC_UNAUTHENTICATED : grpc_code_from_errno(err.code);
        return cri_fail(call, code, "pull %s: %s", text, err.msg);
    }
    Runtime__V1__PullImageResponse *resp = cri_new(call, &runtime__v1__pull_image_response__descriptor);
    resp->image_ref = cri_strdup(call, res.image_id);
    log_info("CRI: pulled %s as %s", text, res.image_id);
    servin_pull_result_free(&res);
    *resp_msg = &resp->base;
    return 0;
}

static int remove_image(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__RemoveImageRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    char id[SERVIN_DIGEST_MAX];
    bool found;
    if (resolve(call, store, req->image, id, &found) < 0)
        return -1;
    if (!found) /* idempotent */
        return 0;
    /* By id and forced: every tag of the image goes, as the API says. */
    struct servin_error err = {0};
    if (servin_image_remove(store, id, true, NULL, NULL, &err) < 0 && err.code != ENOENT)
        return cri_fail_error(call, &err);
    return 0;
}

/* ---- ImageFsInfo: bytes and inodes under the store's image directories, cached briefly (kubelet
 * asks every few seconds and a walk of a big store is not free). ---- */

static uint64_t walk_bytes, walk_inodes;

static int count(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_F || flag == FTW_D || flag == FTW_SL) {
        walk_bytes += (uint64_t)st->st_blocks * 512;
        walk_inodes++;
    }
    return 0;
}

static int image_fs_info(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int64_t cached_at;
    static uint64_t bytes, inodes;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    int64_t now = wall_ns();
    pthread_mutex_lock(&lock);
    if (!cached_at || now - cached_at > 5LL * 1000000000) {
        walk_bytes = walk_inodes = 0;
        const char *dirs[] = {"content", "layers"};
        for (size_t i = 0; i < 2; i++) {
            _cleanup_free_ char *p = servin_store_path(store, "%s", dirs[i]);
            if (access(p, F_OK) == 0)
                nftw(p, count, 32, FTW_PHYS | FTW_MOUNT);
        }
        bytes = walk_bytes;
        inodes = walk_inodes;
        cached_at = now;
    }
    uint64_t b = bytes, n = inodes;
    pthread_mutex_unlock(&lock);

    Runtime__V1__ImageFsInfoResponse *resp = cri_new(call, &runtime__v1__image_fs_info_response__descriptor);
    Runtime__V1__FilesystemUsage *u = cri_new(call, &runtime__v1__filesystem_usage__descriptor);
    u->timestamp = now;
    u->fs_id = cri_new(call, &runtime__v1__filesystem_identifier__descriptor);
    u->fs_id->mountpoint = cri_strdup(call, store->root);
    u->used_bytes = cri_u64(call, b);
    u->inodes_used = cri_u64(call, n);
    cri_append(call, &resp->base, "image_filesystems", u);
    *resp_msg = &resp->base;
    return 0;
}

static int stream_images(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    return cri_fail(call, GRPC_UNIMPLEMENTED,
                    "StreamImages: servin serves ListImages (the streaming variant is "
                    "behind kubelet's CRIListStreaming feature gate)");
}

const struct cri_method cri_image_methods[] = {
    CRI_METHOD(ImageService, ListImages, list_images, "list"),
    CRI_METHOD(ImageService, StreamImages, stream_images, NULL),
    CRI_METHOD(ImageService, ImageStatus, image_status, "status"),
    CRI_METHOD(ImageService, PullImage, pull_image, "pull"),
    CRI_METHOD(ImageService, RemoveImage, remove_image, "remove"),
    CRI_METHOD(ImageService, ImageFsInfo, image_fs_info, "fsinfo"),
    {NULL},
};
