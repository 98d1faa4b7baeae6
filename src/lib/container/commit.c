/* container/commit.c — `commit`: a new image from a container's changes. The upper dir becomes one
 * more layer on top of the container's image (overlayfs whiteouts turned back into OCI ones), the
 * container's config becomes the image config, and the history gains an entry. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "servin/archive.h"
#include "servin/cleanup.h"
#include "servin/commit.h"
#include "servin/content.h"
#include "servin/copy.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/reference.h"
#include "servin/runtime.h"
#include "servin/timefmt.h"
#include "servin/unpack.h"

/* The image config fields a container's Config carries over (OCI's, plus Docker's Healthcheck,
 * OnBuild and Shell). */
static const char *const carried[] = {"User",       "ExposedPorts", "Env",        "Entrypoint",
                                      "Cmd",        "Volumes",      "WorkingDir", "Labels",
                                      "StopSignal", "Healthcheck",  "OnBuild",    "Shell"};

struct whiteout_ctx {
    const char *upper;
};

static int write_empty(struct archive *tar, const char *path, struct archive_entry *like,
                       struct servin_error *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, archive_entry_mtime(like), 0);
    int r = archive_write_header(tar, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return servin_error_set(err, EIO, "write whiteout %s: %s", path, archive_error_string(tar));
    return 0;
}

/* overlayfs records a deleted path as a 0/0 character device and a directory that hides the lower
 * ones as an opaque directory (trusted.overlay.opaque=y); OCI layers say ".wh.<name>" and
 * "<dir>/.wh..wh..opq". */
static int to_oci_whiteouts(void *data, struct archive *tar, struct archive_entry *e,
                            struct servin_error *err)
{
    struct whiteout_ctx *ctx = data;
    const char *path = archive_entry_pathname(e);
    if (archive_entry_filetype(e) == AE_IFCHR && archive_entry_rdev(e) == 0) {
        _cleanup_free_ char *copy = xstrdup(path);
        char *slash = strrchr(copy, '/');
        _cleanup_free_ char *wh =
            slash ? (*slash = '\0', xasprintf("%s/.wh.%s", copy, slash + 1)) : xasprintf(".wh.%s", copy);
        int r = write_empty(tar, wh, e, err);
        return r < 0 ? r : 1;
    }
    if (archive_entry_filetype(e) != AE_IFDIR)
        return 0;
    _cleanup_free_ char *full = xasprintf("%s/%s", ctx->upper, path);
    char value[4] = "";
    ssize_t n = lgetxattr(full, "trusted.overlay.opaque", value, sizeof(value) - 1);
    if (n != 1 || value[0] != 'y')
        return 0;
    /* Named before the header is written: the tar writer may add a "/" to a directory's name. */
    _cleanup_free_ char *opq = xasprintf("%s/.wh..wh..opq", path);
    if (archive_write_header(tar, e) != ARCHIVE_OK)
        return servin_error_set(err, EIO, "write %s: %s", opq, archive_error_string(tar));
    int r = write_empty(tar, opq, e, err);
    return r < 0 ? r : 1;
}

/* The upper dir as a tar in an unnamed temp file of the store, rewound. */
static int upper_tar(struct servin_store *store, const char *upper, int *fd_out, struct servin_error *err)
{
    _cleanup_free_ char *tmp = servin_store_path(store, "tmp");
    int ret = servin_mkdir_p(tmp, 0700, err);
    if (ret < 0)
        return ret;
    _cleanup_close_ int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return servin_error_errno(err, errno, "create a temp file in %s", tmp);
    _cleanup_close_ int root = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return servin_error_errno(err, errno, "open %s", upper);
    struct whiteout_ctx ctx = {.upper = upper};
    struct servin_copy_opts o = {
        .contents_only = true, .keep_owner = true, .filter = to_oci_whiteouts, .filter_ctx = &ctx};
    ret = servin_copy_to_tar(root, "/", &o, fd, err);
    if (ret < 0)
        return servin_error_wrap(err, "archive the container's changes");
    if (lseek(fd, 0, SEEK_SET) < 0)
        return servin_error_errno(err, errno, "rewind the layer");
    *fd_out = steal_fd(&fd);
    return 0;
}

static int put_json(struct servin_store *store, json_t *obj, char digest[SERVIN_DIGEST_MAX], uint64_t *size,
                    struct servin_error *err)
{
    _cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return servin_error_set(err, ENOMEM, "cannot serialise JSON");
    *size = strlen(text);
    return servin_content_put(store, text, *size, NULL, digest, err);
}

static char *command_line(const json_t *cfg)
{
    char *s = xstrdup("");
    size_t i;
    json_t *a;
    json_array_foreach (json_object_get(cfg, "Cmd"), i, a) {
        char *n = xasprintf("%s%s%s", s, i ? " " : "", json_string_value(a) ? json_string_value(a) : "");
        free(s);
        s = n;
    }
    return s;
}

/* The new image's config: the base image's, with the container's settings, the changes, one more
 * diff_id and one more history entry. */
static int new_config(json_t *base, const struct servin_container *c, const struct servin_commit_opts *opts,
                      const char *diff_id, json_t **out, struct servin_error *err)
{
    json_t *image = json_deep_copy(base);
    json_t *cfg = json_object_get(image, "config");
    if (!json_is_object(cfg)) {
        cfg = json_object();
        json_object_set_new(image, "config", cfg);
    }
    json_t *ccfg = json_object_get(c->config, "Config");
    for (size_t i = 0; i < sizeof(carried) / sizeof(carried[0]); i++) {
        json_t *v = json_object_get(ccfg, carried[i]);
        if (v && !json_is_null(v))
            json_object_set(cfg, carried[i], v);
    }
    for (size_t i = 0; i < opts->n_changes; i++) {
        int ret = servin_config_apply_change(cfg, opts->changes[i], err);
        if (ret < 0) {
            json_decref(image);
            return ret;
        }
    }
    char created[SERVIN_RFC3339_MAX];
    servin_time_format_rfc3339(servin_time_now_ns(), created);
    json_object_set_new(image, "created", json_string(created));
    json_object_set_new(image, "container", json_string(c->id));
    if (opts->author && *opts->author)
        json_object_set_new(image, "author", json_string(opts->author));
    else
        json_object_del(image, "author");
    if (opts->message && *opts->message)
        json_object_set_new(image, "comment", json_string(opts->message));
    else
        json_object_del(image, "comment");

    json_t *rootfs = json_object_get(image, "rootfs");
    if (!json_is_object(rootfs)) {
        rootfs = json_pack("{s:s,s:[]}", "type", "layers", "diff_ids");
        json_object_set_new(image, "rootfs", rootfs);
    }
    json_t *diff_ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_array(diff_ids)) {
        diff_ids = json_array();
        json_object_set_new(rootfs, "diff_ids", diff_ids);
    }
    json_array_append_new(diff_ids, json_string(diff_id));

    json_t *history = json_object_get(image, "history");
    if (!json_is_array(history)) {
        history = json_array();
        json_object_set_new(image, "history", history);
    }
    _cleanup_free_ char *by = command_line(ccfg);
    json_t *h = json_pack("{s:s,s:s}", "created", created, "created_by", by);
    if (opts->author && *opts->author)
        json_object_set_new(h, "author", json_string(opts->author));
    if (opts->message && *opts->message)
        json_object_set_new(h, "comment", json_string(opts->message));
    json_array_append_new(history, h);
    *out = image;
    return 0;
}

static int commit_locked(struct servin_store *store, const struct servin_container *c,
                         const struct servin_commit_opts *opts, const char *tag,
                         char id_out[SERVIN_DIGEST_MAX], struct servin_error *err)
{
    json_t *base = NULL;
    struct servin_layer_desc *layers = NULL;
    size_t n = 0;
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
    int ret = servin_image_config(store, c->image_id, &base, err);
    if (ret == 0)
        ret = servin_image_layers(store, c->image_id, &layers, &n, err);
    if (ret < 0) {
        json_decref(base);
        return servin_error_wrap(err, "commit %s: read its image", c->name);
    }
    /* Check the changes before any work is done. */
    json_t *image = NULL;
    ret = new_config(base, c, opts, "sha256:0", &image, err);
    json_decref(image);
    image = NULL;
    if (ret < 0)
        goto out;

    layers = xrealloc(layers, (n + 1) * sizeof(*layers));
    struct servin_layer_desc *top = &layers[n];
    memset(top, 0, sizeof(*top));
    top->blob_media_type = xstrdup(SERVIN_MT_OCI_LAYER_GZIP);
    n++;
    if ((ret = servin_mkdir_p(upper, 0755, err)) < 0)
        goto out;
    {
        _cleanup_close_ int fd = -1;
        char diff_id[SERVIN_DIGEST_MAX];
        bool paused = false;
        _cleanup_free_ char *oci_root = servin_container_oci_root(store);
        /* Pausing keeps the container from changing files while they are archived, as Docker does. */
        if (opts->pause && c->state == SERVIN_CONTAINER_RUNNING) {
            if ((ret = servin_oci_pause(oci_root, c->id, err)) < 0) {
                ret = servin_error_wrap(err, "commit %s: pause it", c->name);
                goto out;
            }
            paused = true;
        }
        ret = upper_tar(store, upper, &fd, err);
        if (paused) {
            struct servin_error ignored = {0};
            servin_oci_resume(oci_root, c->id, &ignored);
        }
        if (ret == 0)
            ret = servin_image_store_layer(store, fd, top->blob_digest, &top->blob_size, diff_id, err);
        if (ret == 0)
            ret = servin_layer_unpack(store, top->blob_digest, n > 1 ? layers[n - 2].chain_id : NULL, diff_id,
                                      top->diff_id, top->chain_id, &top->size, err);
        if (ret < 0) {
            ret = servin_error_wrap(err, "commit %s", c->name);
            goto out;
        }
    }
    if ((ret = new_config(base, c, opts, top->diff_id, &image, err)) < 0)
        goto out;
    char config_digest[SERVIN_DIGEST_MAX], manifest_digest[SERVIN_DIGEST_MAX];
    uint64_t config_size = 0, manifest_size = 0;
    if ((ret = put_json(store, image, config_digest, &config_size, err)) < 0)
        goto out;
    json_t *mlayers = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(mlayers,
                              json_pack("{s:s,s:s,s:I}", "mediaType", layers[i].blob_media_type, "digest",
                                        layers[i].blob_digest, "size", (json_int_t)layers[i].blob_size));
    json_t *manifest = NULL;
    manifest = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
                         SERVIN_MT_OCI_MANIFEST, "config", "mediaType", SERVIN_MT_OCI_CONFIG, "digest",
                         config_digest, "size", (json_int_t)config_size, "layers", mlayers);
    ret = put_json(store, manifest, manifest_digest, &manifest_size, err);
    json_decref(manifest);
    if (ret < 0)
        goto out;
    struct servin_image_record rec = {
        .manifest_media_type = SERVIN_MT_OCI_MANIFEST, .n_layers = n, .layers = layers, .tag = tag};
    memcpy(rec.config_digest, config_digest, sizeof(rec.config_digest));
    memcpy(rec.manifest_digest, manifest_digest, sizeof(rec.manifest_digest));
    if ((ret = servin_image_register(store, &rec, err)) < 0)
        goto out;
    memcpy(id_out, config_digest, SERVIN_DIGEST_MAX);
out:
    json_decref(image);
    json_decref(base);
    servin_layer_descs_free(layers, n);
    return ret;
}

int servin_container_commit(struct servin_store *store, const struct servin_container *c,
                            const struct servin_commit_opts *opts, char id_out[SERVIN_DIGEST_MAX],
                            struct servin_error *err)
{
    _cleanup_free_ char *tag = NULL;
    if (opts->reference && *opts->reference) {
        struct servin_ref ref = {0};
        if (servin_ref_parse(opts->reference, &ref, err) < 0)
            return servin_error_wrap(err, "invalid reference \"%s\"", opts->reference);
        bool digest = ref.digest != NULL;
        if (!digest)
            tag = servin_ref_string(&ref);
        servin_ref_free(&ref);
        if (digest)
            return servin_error_set(err, EINVAL, "invalid reference \"%s\": cannot commit to a digest",
                                    opts->reference);
    }
    /* Shared "gc" lock: a concurrent GC must not collect the new blob before the image names it. */
    _cleanup_close_ int lock = -1;
    int ret = servin_store_lock(store, "gc", SERVIN_LOCK_SHARED, &lock, err);
    if (ret < 0)
        return ret;
    return commit_locked(store, c, opts, tag, id_out, err);
}
