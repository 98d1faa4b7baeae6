/* build/state.c — the image a build carries from step to step, the step cache, and the image it
 * registers at the end.
 *
 * The cache is a directory of small JSON files, <root>/build-cache/<key hex>.json, each holding
 * the state a step produced (config and layers). A step's key is a hash of its parent state, its
 * instruction text and, for COPY/ADD, the content of what it copies, so equal inputs find the same
 * entry and produce the same image id. Layers a cache entry names are not registered images; the
 * store's garbage collector may free them, and an entry whose layers are gone is a miss. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_internal.h"
#include "servin/archive.h"
#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/reference.h"

void bf_state_clear(struct bf_state *s)
{
    json_decref(s->config);
    servin_layer_descs_free(s->layers, s->n_layers);
    memset(s, 0, sizeof(*s));
}

static void copy_layers(struct bf_state *dst, const struct servin_layer_desc *v, size_t n)
{
    dst->layers = xcalloc(n + 1, sizeof(*dst->layers));
    for (size_t i = 0; i < n; i++) {
        dst->layers[i] = v[i];
        dst->layers[i].blob_media_type = v[i].blob_media_type ? xstrdup(v[i].blob_media_type) : NULL;
    }
    dst->n_layers = n;
}

void bf_state_copy(struct bf_state *dst, const struct bf_state *src)
{
    dst->config = json_deep_copy(src->config);
    copy_layers(dst, src->layers, src->n_layers);
}

void bf_state_scratch(struct bf_state *s)
{
    const char *os, *arch, *variant;
    servin_archive_host_platform(&os, &arch, &variant);
    s->config = json_pack("{s:s,s:s,s:{},s:{s:s,s:[]},s:[]}", "architecture", arch, "os", os, "config",
                          "rootfs", "type", "layers", "diff_ids", "history");
    if (variant)
        json_object_set_new(s->config, "variant", json_string(variant));
    s->layers = xcalloc(1, sizeof(*s->layers));
    s->n_layers = 0;
}

int bf_state_from_image(struct servin_store *store, const char *id, struct bf_state *s,
                        struct servin_error *err)
{
    json_t *config = NULL;
    int ret = servin_image_config(store, id, &config, err);
    if (ret < 0)
        return ret;
    struct servin_layer_desc *layers = NULL;
    size_t n = 0;
    ret = servin_image_layers(store, id, &layers, &n, err);
    if (ret < 0) {
        json_decref(config);
        return ret;
    }
    s->config = config;
    s->layers = layers;
    s->n_layers = n;
    if (!json_is_object(json_object_get(config, "config")))
        json_object_set_new(config, "config", json_object());
    if (!json_is_array(json_object_get(config, "history")))
        json_object_set_new(config, "history", json_array());
    return 0;
}

json_t *bf_state_cfg(struct bf_state *s)
{
    json_t *c = json_object_get(s->config, "config");
    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(s->config, "config", c);
    }
    return c;
}

static char *canonical(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

void bf_state_id(const struct bf_state *s, char out[SERVIN_DIGEST_MAX])
{
    _cleanup_free_ char *text = canonical(s->config);
    servin_digest_bytes(text, strlen(text), out);
}

void bf_state_add(struct bf_state *s, const char *created, const char *created_by,
                  const struct servin_layer_desc *layer)
{
    json_t *h = json_pack("{s:s,s:s}", "created", created, "created_by", created_by);
    if (!layer)
        json_object_set_new(h, "empty_layer", json_true());
    json_t *history = json_object_get(s->config, "history");
    if (!json_is_array(history)) {
        history = json_array();
        json_object_set_new(s->config, "history", history);
    }
    json_array_append_new(history, h);
    json_object_set_new(s->config, "created", json_string(created));
    if (!layer)
        return;
    json_t *rootfs = json_object_get(s->config, "rootfs");
    if (!json_is_object(rootfs)) {
        rootfs = json_pack("{s:s,s:[]}", "type", "layers", "diff_ids");
        json_object_set_new(s->config, "rootfs", rootfs);
    }
    json_array_append_new(json_object_get(rootfs, "diff_ids"), json_string(layer->diff_id));
    s->layers = xreallocarray(s->layers, s->n_layers + 1, sizeof(*s->layers));
    s->layers[s->n_layers] = *layer;
    s->layers[s->n_layers].blob_media_type = xstrdup(layer->blob_media_type);
    s->n_layers++;
}

void bf_cache_key(const char *parent_id, const char *text, const char *extra, char out[SERVIN_DIGEST_MAX])
{
    struct servin_sha256 *h = servin_sha256_new();
    /* Lengths first, so that no two different triples hash the same bytes. */
    const char *parts[] = {parent_id, text, extra ? extra : ""};
    for (size_t i = 0; i < 3; i++) {
        char len[32];
        int n = snprintf(len, sizeof(len), "%zu:", strlen(parts[i]));
        servin_sha256_update(h, len, (size_t)n);
        servin_sha256_update(h, parts[i], strlen(parts[i]));
    }
    servin_sha256_finish(h, out);
}

static char *entry_path(struct servin_store *store, const char *key)
{
    return servin_store_path(store, "build-cache/%s.json", servin_digest_hex(key));
}

static bool layer_usable(struct servin_store *store, const struct servin_layer_desc *l)
{
    _cleanup_free_ char *diff = servin_layer_diff_path(store, l->chain_id);
    struct stat st;
    return stat(diff, &st) == 0 && S_ISDIR(st.st_mode) && servin_content_has(store, l->blob_digest, NULL);
}

int bf_cache_get(struct servin_store *store, const char *key, struct bf_state *out)
{
    _cleanup_free_ char *path = entry_path(store, key);
    json_t *root = json_load_file(path, 0, NULL);
    if (!root)
        return 0;
    json_t *config = json_object_get(root, "config"), *layers = json_object_get(root, "layers");
    if (!json_is_object(config) || !json_is_array(layers)) {
        json_decref(root);
        return 0;
    }
    struct bf_state s = {.config = json_incref(config)};
    s.layers = xcalloc(json_array_size(layers) + 1, sizeof(*s.layers));
    size_t i;
    json_t *l;
    bool ok = true;
    json_array_foreach (layers, i, l) {
        struct servin_layer_desc *d = &s.layers[s.n_layers++];
        const char *blob = json_string_value(json_object_get(l, "blob"));
        const char *diff = json_string_value(json_object_get(l, "diff_id"));
        const char *chain = json_string_value(json_object_get(l, "chain_id"));
        const char *mt = json_string_value(json_object_get(l, "media_type"));
        if (!blob || !diff || !chain || !mt || !servin_digest_valid(blob) || !servin_digest_valid(diff) ||
            !servin_digest_valid(chain)) {
            ok = false;
            break;
        }
        snprintf(d->blob_digest, sizeof(d->blob_digest), "%s", blob);
        snprintf(d->diff_id, sizeof(d->diff_id), "%s", diff);
        snprintf(d->chain_id, sizeof(d->chain_id), "%s", chain);
        d->blob_media_type = xstrdup(mt);
        d->blob_size = (uint64_t)json_integer_value(json_object_get(l, "blob_size"));
        d->size = (uint64_t)json_integer_value(json_object_get(l, "size"));
        ok = ok && layer_usable(store, d);
    }
    json_decref(root);
    if (!ok) {
        /* Its layers were collected (the build holds the gc lock shared, so no collection runs
         * now): the entry can never hit again. */
        unlink(path);
        bf_state_clear(&s);
        return 0;
    }
    *out = s;
    return 1;
}

int bf_cache_put(struct servin_store *store, const char *key, const struct bf_state *s,
                 struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_store_path(store, "build-cache");
    int ret = servin_mkdir_p(dir, 0700, err);
    if (ret < 0)
        return ret;
    json_t *layers = json_array();
    for (size_t i = 0; i < s->n_layers; i++) {
        const struct servin_layer_desc *d = &s->layers[i];
        json_array_append_new(layers,
                              json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "blob", d->blob_digest, "diff_id",
                                        d->diff_id, "chain_id", d->chain_id, "media_type",
                                        d->blob_media_type ? d->blob_media_type : SERVIN_MT_OCI_LAYER,
                                        "blob_size", (json_int_t)d->blob_size, "size", (json_int_t)d->size));
    }
    json_t *root = json_pack("{s:O,s:o}", "config", s->config, "layers", layers);
    _cleanup_free_ char *text = canonical(root);
    json_decref(root);
    _cleanup_free_ char *path = entry_path(store, key);
    /* Not synced: a cache entry lost in a crash only costs a rebuild of that step. */
    _cleanup_free_ char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
    FILE *f = fopen(tmp, "we");
    if (!f)
        return servin_error_errno(err, errno, "write the build cache entry %s", tmp);
    bool ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) < 0) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        return servin_error_errno(err, e, "write the build cache entry %s", path);
    }
    return 0;
}

static int put_json(struct servin_store *store, json_t *obj, char digest[SERVIN_DIGEST_MAX], uint64_t *size,
                    struct servin_error *err)
{
    _cleanup_free_ char *text = canonical(obj);
    *size = strlen(text);
    return servin_content_put(store, text, *size, NULL, digest, err);
}

/* A rebuild that changed nothing has nothing to write: the image exists and every tag names it. */
static bool already_there(struct servin_store *store, const struct bf_state *s, char **tags, size_t n_tags,
                          char id_out[SERVIN_DIGEST_MAX])
{
    char id[SERVIN_DIGEST_MAX], found[SERVIN_DIGEST_MAX];
    _cleanup_free_ char *text = canonical(s->config);
    servin_digest_bytes(text, strlen(text), id);
    if (servin_image_resolve(store, id, found, NULL) < 0 || strcmp(found, id) != 0)
        return false;
    for (size_t i = 0; i < n_tags; i++)
        if (servin_image_resolve(store, tags[i], found, NULL) < 0 || strcmp(found, id) != 0)
            return false;
    memcpy(id_out, id, SERVIN_DIGEST_MAX);
    return true;
}

int bf_state_commit_image(struct servin_store *store, const struct bf_state *s, const char *const *tags,
                          size_t n_tags, char id_out[SERVIN_DIGEST_MAX], struct servin_error *err)
{
    /* Every tag is checked before anything is written. */
    char **normal = xcalloc(n_tags + 1, sizeof(char *));
    int ret = 0;
    for (size_t i = 0; i < n_tags && ret == 0; i++) {
        struct servin_ref ref = {0};
        ret = servin_ref_parse(tags[i], &ref, err);
        if (ret < 0) {
            ret = servin_error_wrap(err, "invalid tag \"%s\"", tags[i]);
        } else if (ref.digest) {
            ret = servin_error_set(err, EINVAL, "invalid tag \"%s\": a tag cannot name a digest", tags[i]);
        } else {
            normal[i] = servin_ref_string(&ref);
        }
        servin_ref_free(&ref);
    }
    char config_digest[SERVIN_DIGEST_MAX], manifest_digest[SERVIN_DIGEST_MAX];
    uint64_t config_size = 0, manifest_size = 0;
    if (ret == 0 && already_there(store, s, normal, n_tags, id_out)) {
        for (size_t i = 0; i < n_tags; i++)
            free(normal[i]);
        free(normal);
        return 0;
    }
    if (ret == 0)
        ret = put_json(store, s->config, config_digest, &config_size, err);
    json_t *manifest = NULL;
    if (ret == 0) {
        json_t *layers = json_array();
        for (size_t i = 0; i < s->n_layers; i++)
            json_array_append_new(
                layers, json_pack("{s:s,s:s,s:I}", "mediaType", s->layers[i].blob_media_type, "digest",
                                  s->layers[i].blob_digest, "size", (json_int_t)s->layers[i].blob_size));
        manifest = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
                             SERVIN_MT_OCI_MANIFEST, "config", "mediaType", SERVIN_MT_OCI_CONFIG, "digest",
                             config_digest, "size", (json_int_t)config_size, "layers", layers);
        ret = put_json(store, manifest, manifest_digest, &manifest_size, err);
        json_decref(manifest);
    }
    if (ret == 0) {
        struct servin_image_record rec = {.manifest_media_type = SERVIN_MT_OCI_MANIFEST,
                                          .n_layers = s->n_layers,
                                          .layers = s->layers,
                                          .tag = normal[0]};
        memcpy(rec.config_digest, config_digest, sizeof(rec.config_digest));
        memcpy(rec.manifest_digest, manifest_digest, sizeof(rec.manifest_digest));
        ret = servin_image_register(store, &rec, err);
    }
    for (size_t i = 1; i < n_tags && ret == 0; i++)
        ret = servin_image_tag(store, config_digest, normal[i], err);
    for (size_t i = 0; i < n_tags; i++)
        free(normal[i]);
    free(normal);
    if (ret < 0)
        return servin_error_wrap(err, "register the built image");
    memcpy(id_out, config_digest, SERVIN_DIGEST_MAX);
    return 0;
}
