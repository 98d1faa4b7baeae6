/* image/archive_load.c — `load`: OCI layout tarballs and docker-archives into the store. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive_internal.h"
#include "servin/archive.h"
#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/reference.h"
#include "servin/unpack.h"

/* An image whose blobs and layers are in place, waiting to be registered. */
struct load_image {
    char config_digest[SERVIN_DIGEST_MAX];
    char manifest_digest[SERVIN_DIGEST_MAX];
    const char *manifest_media_type; /* static string */
    struct servin_layer_desc *layers;
    size_t n_layers;
    char (*extra)[SERVIN_DIGEST_MAX];
    size_t n_extra;
    char **tags; /* normalised "name:tag" */
    size_t n_tags;
    char **repo_digests;
    size_t n_repo_digests;
};

struct load_job {
    struct servin_store *store;
    const char *dir;         /* where the archive was extracted */
    json_t *docker_manifest; /* manifest.json, when present */
    struct load_image *images;
    size_t n_images;
};

static void load_job_free(struct load_job *job)
{
    for (size_t i = 0; i < job->n_images; i++) {
        struct load_image *img = &job->images[i];
        for (size_t l = 0; l < img->n_layers; l++)
            free(img->layers[l].blob_media_type);
        free(img->layers);
        free(img->extra);
        for (size_t t = 0; t < img->n_tags; t++)
            free(img->tags[t]);
        free(img->tags);
        for (size_t t = 0; t < img->n_repo_digests; t++)
            free(img->repo_digests[t]);
        free(img->repo_digests);
    }
    free(job->images);
    json_decref(job->docker_manifest);
}

static void strs_add_unique(char ***list, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], s) == 0)
            return;
    *list = xreallocarray(*list, *n + 1, sizeof(char *));
    (*list)[(*n)++] = xstrdup(s);
}

static const char *static_media_type(const char *mt)
{
    static const char *const known[] = {SERVIN_MT_OCI_MANIFEST, SERVIN_MT_DOCKER_MANIFEST};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (mt && strcmp(mt, known[i]) == 0)
            return known[i];
    return SERVIN_MT_OCI_MANIFEST;
}

/* Store a member of the archive as a blob, verified against expected (may be NULL). */
static int put_member(struct load_job *job, const char *member, const char *expected, int64_t expected_size,
                      char digest[SERVIN_DIGEST_MAX], uint64_t *size, struct servin_error *err)
{
    _cleanup_free_ char *path = NULL;
    int ret = archive_member_path(job->dir, member, &path, err);
    if (ret < 0)
        return ret;
    uint64_t got = 0;
    ret = servin_content_put_file(job->store, path, expected, digest, &got, err);
    if (ret < 0)
        return servin_error_wrap(err, "%s in the archive is corrupt", member);
    if (expected_size >= 0 && (uint64_t)expected_size != got)
        return servin_error_set(err, EINVAL, "%s in the archive has %llu bytes, its descriptor says %lld",
                                member, (unsigned long long)got, (long long)expected_size);
    if (size)
        *size = got;
    return 0;
}

static char *blob_member(const char *digest)
{
    return xasprintf("blobs/sha256/%s", servin_digest_hex(digest));
}

/* Store a blob of the OCI layout named by a descriptor and read it back as JSON. */
static int put_descriptor_json(struct load_job *job, json_t *desc, char digest[SERVIN_DIGEST_MAX],
                               json_t **out, struct servin_error *err)
{
    const char *want = json_string_value(json_object_get(desc, "digest"));
    json_t *size = json_object_get(desc, "size");
    if (!want || !servin_digest_valid(want))
        return servin_error_set(err, EINVAL, "a descriptor in the archive has no valid sha256 digest");
    _cleanup_free_ char *member = blob_member(want);
    int ret = put_member(job, member, want, json_is_integer(size) ? json_integer_value(size) : -1, digest,
                         NULL, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    ret = servin_content_read(job->store, digest, &data, &len, err);
    if (ret < 0)
        return ret;
    *out = json_loadb(data, len, 0, NULL);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return servin_error_set(err, EINVAL, "%s in the archive is not a JSON object", member);
    }
    return 0;
}

/* Compressed layers are told apart by their magic bytes, since legacy archives do not say. */
static const char *sniff_layer_media_type(const char *path)
{
    unsigned char magic[4] = {0};
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, magic, sizeof(magic)) < 2)
        return SERVIN_MT_OCI_LAYER;
    if (magic[0] == 0x1f && magic[1] == 0x8b)
        return SERVIN_MT_OCI_LAYER_GZIP;
    if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        return SERVIN_MT_OCI_LAYER_ZSTD;
    return SERVIN_MT_OCI_LAYER;
}

/* Unpack every layer in order, checking each against the config's diff_ids. */
static int unpack_layers(struct load_job *job, struct load_image *img, const char *config_digest,
                         struct servin_error *err)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    int ret = servin_content_read(job->store, config_digest, &data, &len, err);
    if (ret < 0)
        return ret;
    json_t *config = json_loadb(data, len, 0, NULL);
    json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    if (!json_is_array(diff_ids) || json_array_size(diff_ids) != img->n_layers) {
        json_decref(config);
        return servin_error_set(err, EINVAL, "image config %s lists %zu diff_ids for %zu layers",
                                config_digest, json_array_size(diff_ids), img->n_layers);
    }
    const char *parent = NULL;
    for (size_t i = 0; i < img->n_layers && ret >= 0; i++) {
        struct servin_layer_desc *l = &img->layers[i];
        const char *want = json_string_value(json_array_get(diff_ids, i));
        if (!want || !servin_digest_valid(want)) {
            ret = servin_error_set(err, EINVAL, "image config %s has an invalid diff_id", config_digest);
            break;
        }
        /* Its errors already name the layer. */
        ret = servin_layer_unpack(job->store, l->blob_digest, parent, want, l->diff_id, l->chain_id, &l->size,
                                  err);
        parent = l->chain_id;
    }
    json_decref(config);
    return ret;
}

static struct load_image *new_image(struct load_job *job)
{
    job->images = xreallocarray(job->images, job->n_images + 1, sizeof(*job->images));
    struct load_image *img = &job->images[job->n_images++];
    memset(img, 0, sizeof(*img));
    return img;
}

/* Load one image manifest of the OCI layout (descriptor desc), unless an earlier tag loaded it. */
static int load_oci_manifest(struct load_job *job, json_t *desc, char (*extra)[SERVIN_DIGEST_MAX],
                             size_t n_extra, struct load_image **out, struct servin_error *err)
{
    const char *want = json_string_value(json_object_get(desc, "digest"));
    for (size_t i = 0; want && i < job->n_images; i++) {
        if (strcmp(job->images[i].manifest_digest, want) == 0) {
            *out = &job->images[i];
            return 0;
        }
    }
    char digest[SERVIN_DIGEST_MAX];
    json_t *manifest = NULL;
    int ret = put_descriptor_json(job, desc, digest, &manifest, err);
    if (ret < 0)
        return ret;
    json_t *config = json_object_get(manifest, "config");
    json_t *layers = json_object_get(manifest, "layers");
    if (!json_is_object(config) || !json_is_array(layers)) {
        json_decref(manifest);
        return servin_error_set(err, EINVAL, "manifest %s in the archive is not an image manifest", digest);
    }
    struct load_image img = {0};
    memcpy(img.manifest_digest, digest, sizeof(digest));
    img.manifest_media_type = static_media_type(json_string_value(json_object_get(manifest, "mediaType")));
    img.n_layers = json_array_size(layers);
    img.layers = xcalloc(img.n_layers + 1, sizeof(*img.layers));
    if (n_extra) {
        img.extra = xmalloc(n_extra * sizeof(*img.extra));
        memcpy(img.extra, extra, n_extra * sizeof(*img.extra));
        img.n_extra = n_extra;
    }
    json_t *config_json = NULL;
    ret = put_descriptor_json(job, config, img.config_digest, &config_json, err);
    json_decref(config_json);
    for (size_t i = 0; i < img.n_layers && ret >= 0; i++) {
        json_t *l = json_array_get(layers, i);
        const char *ld = json_string_value(json_object_get(l, "digest"));
        const char *mt = json_string_value(json_object_get(l, "mediaType"));
        json_t *sz = json_object_get(l, "size");
        if (!ld || !servin_digest_valid(ld)) {
            ret = servin_error_set(err, EINVAL, "manifest %s has a layer without a valid digest", digest);
            break;
        }
        _cleanup_free_ char *member = blob_member(ld);
        img.layers[i].blob_media_type = xstrdup(mt ? mt : SERVIN_MT_OCI_LAYER_GZIP);
        ret = put_member(job, member, ld, json_is_integer(sz) ? json_integer_value(sz) : -1,
                         img.layers[i].blob_digest, &img.layers[i].blob_size, err);
    }
    json_decref(manifest);
    if (ret >= 0)
        ret = unpack_layers(job, &img, img.config_digest, err);
    struct load_image *slot = new_image(job);
    *slot = img;
    if (ret < 0)
        return ret;
    *out = slot;
    return 0;
}

static bool platform_matches(json_t *platform)
{
    const char *os, *arch, *variant;
    servin_archive_host_platform(&os, &arch, &variant);
    const char *p_os = json_string_value(json_object_get(platform, "os"));
    const char *p_arch = json_string_value(json_object_get(platform, "architecture"));
    const char *p_variant = json_string_value(json_object_get(platform, "variant"));
    if (!p_os || !p_arch || strcmp(p_os, os) != 0 || strcmp(p_arch, arch) != 0)
        return false;
    return !variant || !p_variant || strcmp(variant, p_variant) == 0;
}

static bool is_index(const char *mt)
{
    return mt && (strcmp(mt, SERVIN_MT_OCI_INDEX) == 0 || strcmp(mt, SERVIN_MT_DOCKER_LIST) == 0);
}

/* The manifests of a nested index: the host platform's, or the only one when none says. */
static json_t *choose_platform(json_t *index)
{
    json_t *list = json_object_get(index, "manifests"), *only = NULL, *d;
    size_t i, candidates = 0;
    json_array_foreach (list, i, d) {
        json_t *platform = json_object_get(d, "platform");
        if (platform && platform_matches(platform))
            return d;
        /* Attestations ride along as manifests for "unknown/unknown"; they are not images. */
        const char *os = json_string_value(json_object_get(platform, "os"));
        if (!os || strcmp(os, "unknown") != 0) {
            candidates++;
            only = d;
        }
    }
    return candidates == 1 && !json_object_get(only, "platform") ? only : NULL;
}

static void add_names(struct load_image *img, json_t *annotations)
{
    const char *name = json_string_value(json_object_get(annotations, SERVIN_ANN_CONTAINERD_NAME));
    const char *ref_name = json_string_value(json_object_get(annotations, SERVIN_ANN_REF_NAME));
    /* A bare tag in ref.name ("latest") names nothing; a full reference does. */
    if (!name && ref_name && (strchr(ref_name, ':') || strchr(ref_name, '/')))
        name = ref_name;
    struct servin_ref ref = {0};
    struct servin_error ignored = {0};
    if (name && servin_ref_parse(name, &ref, &ignored) == 0) {
        if (ref.tag && !ref.digest) {
            _cleanup_free_ char *tag = servin_ref_string(&ref);
            strs_add_unique(&img->tags, &img->n_tags, tag);
        }
        servin_ref_free(&ref);
    }
    const char *digests = json_string_value(json_object_get(annotations, SERVIN_ANN_REPO_DIGESTS));
    if (digests) {
        _cleanup_free_ char *copy = xstrdup(digests);
        char *save = NULL;
        for (char *r = strtok_r(copy, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
            const char *at = strchr(r, '@');
            if (at && servin_digest_valid(at + 1))
                strs_add_unique(&img->repo_digests, &img->n_repo_digests, r);
        }
    }
}

static int load_oci_descriptor(struct load_job *job, json_t *desc, json_t *annotations,
                               char (*extra)[SERVIN_DIGEST_MAX], size_t n_extra, int depth,
                               struct servin_error *err)
{
    const char *mt = json_string_value(json_object_get(desc, "mediaType"));
    if (is_index(mt)) {
        if (depth > 4)
            return servin_error_set(err, ELOOP, "indexes in the archive are nested too deeply");
        char digest[SERVIN_DIGEST_MAX];
        json_t *index = NULL;
        int ret = put_descriptor_json(job, desc, digest, &index, err);
        if (ret < 0)
            return ret;
        json_t *chosen = choose_platform(index);
        if (!chosen) {
            const char *os, *arch, *variant;
            servin_archive_host_platform(&os, &arch, &variant);
            json_decref(index);
            return servin_error_set(err, ENOENT, "index %s in the archive has no image for %s/%s", digest, os,
                                    arch);
        }
        char more[n_extra + 1][SERVIN_DIGEST_MAX];
        if (n_extra)
            memcpy(more, extra, n_extra * SERVIN_DIGEST_MAX);
        memcpy(more[n_extra], digest, SERVIN_DIGEST_MAX);
        ret = load_oci_descriptor(job, chosen, annotations, more, n_extra + 1, depth + 1, err);
        json_decref(index);
        return ret;
    }
    struct load_image *img = NULL;
    int ret = load_oci_manifest(job, desc, extra, n_extra, &img, err);
    if (ret < 0)
        return ret;
    add_names(img, annotations);
    return 0;
}

/* Docker's manifest.json entry whose Config is this config blob, to name unnamed OCI images. */
static void add_docker_tags(struct load_job *job, struct load_image *img)
{
    size_t i;
    json_t *entry;
    json_array_foreach (job->docker_manifest, i, entry) {
        const char *config = json_string_value(json_object_get(entry, "Config"));
        const char *hex = servin_digest_hex(img->config_digest);
        if (!config || strlen(config) < 64 || strcmp(config + strlen(config) - 64, hex) != 0)
            continue;
        size_t t;
        json_t *tag;
        json_array_foreach (json_object_get(entry, "RepoTags"), t, tag) {
            struct servin_ref ref = {0};
            struct servin_error ignored = {0};
            if (json_is_string(tag) && servin_ref_parse(json_string_value(tag), &ref, &ignored) == 0) {
                _cleanup_free_ char *norm = servin_ref_string(&ref);
                if (!ref.digest)
                    strs_add_unique(&img->tags, &img->n_tags, norm);
                servin_ref_free(&ref);
            }
        }
    }
}

static int load_oci_layout(struct load_job *job, struct servin_error *err)
{
    _cleanup_free_ char *path = NULL;
    int ret = archive_member_path(job->dir, "index.json", &path, err);
    if (ret < 0)
        return ret;
    json_error_t jerr;
    json_t *index = json_load_file(path, 0, &jerr);
    if (!json_is_object(index)) {
        json_decref(index);
        return servin_error_set(err, EINVAL, "index.json in the archive is not valid JSON: %s", jerr.text);
    }
    json_t *list = json_object_get(index, "manifests"), *desc;
    size_t i;
    if (!json_is_array(list) || json_array_size(list) == 0)
        ret = servin_error_set(err, EINVAL, "index.json in the archive lists no manifests");
    json_array_foreach (list, i, desc) {
        if (ret < 0)
            break;
        ret = load_oci_descriptor(job, desc, json_object_get(desc, "annotations"), NULL, 0, 0, err);
    }
    json_decref(index);
    for (size_t n = 0; ret >= 0 && job->docker_manifest && n < job->n_images; n++)
        if (job->images[n].n_tags == 0)
            add_docker_tags(job, &job->images[n]);
    return ret;
}

/* A blobs/sha256/<hex> path says what its digest must be; other paths (legacy) do not. */
static const char *expected_from_path(const char *member, char buf[SERVIN_DIGEST_MAX])
{
    const char *p = strstr(member, "blobs/sha256/");
    if (!p || strlen(p + 13) != 64)
        return NULL;
    snprintf(buf, SERVIN_DIGEST_MAX, "sha256:%s", p + 13);
    return servin_digest_valid(buf) ? buf : NULL;
}

static int put_json_blob(struct servin_store *store, json_t *obj, char digest[SERVIN_DIGEST_MAX],
                         uint64_t *size, struct servin_error *err)
{
    _cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT);
    *size = strlen(text);
    return servin_content_put(store, text, *size, NULL, digest, err);
}

/* One entry of manifest.json: the config and layer paths; the manifest is made up here. */
static int load_docker_entry(struct load_job *job, json_t *entry, struct servin_error *err)
{
    const char *config_path = json_string_value(json_object_get(entry, "Config"));
    json_t *layers = json_object_get(entry, "Layers");
    if (!config_path || !json_is_array(layers))
        return servin_error_set(err, EINVAL,
                                "manifest.json in the archive has an entry without Config or Layers");
    struct load_image *img = new_image(job);
    img->manifest_media_type = SERVIN_MT_OCI_MANIFEST;
    char buf[SERVIN_DIGEST_MAX];
    uint64_t config_size = 0;
    int ret = put_member(job, config_path, expected_from_path(config_path, buf), -1, img->config_digest,
                         &config_size, err);
    if (ret < 0)
        return ret;
    img->n_layers = json_array_size(layers);
    img->layers = xcalloc(img->n_layers + 1, sizeof(*img->layers));
    json_t *layer_descs = json_array();
    for (size_t i = 0; i < img->n_layers && ret >= 0; i++) {
        const char *member = json_string_value(json_array_get(layers, i));
        _cleanup_free_ char *path = NULL;
        if (!member) {
            ret =
                servin_error_set(err, EINVAL, "manifest.json in the archive has a layer that is not a path");
            break;
        }
        ret = archive_member_path(job->dir, member, &path, err);
        if (ret < 0)
            break;
        struct servin_layer_desc *l = &img->layers[i];
        l->blob_media_type = xstrdup(sniff_layer_media_type(path));
        ret =
            put_member(job, member, expected_from_path(member, buf), -1, l->blob_digest, &l->blob_size, err);
        json_array_append_new(layer_descs,
                              json_pack("{s:s,s:s,s:I}", "mediaType", l->blob_media_type, "digest",
                                        l->blob_digest, "size", (json_int_t)l->blob_size));
    }
    if (ret >= 0)
        ret = unpack_layers(job, img, img->config_digest, err);
    if (ret < 0) {
        json_decref(layer_descs);
        return ret;
    }
    json_t *manifest =
        json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType", SERVIN_MT_OCI_MANIFEST,
                  "config", "mediaType", SERVIN_MT_OCI_CONFIG, "digest", img->config_digest, "size",
                  (json_int_t)config_size, "layers", layer_descs);
    uint64_t manifest_size;
    ret = put_json_blob(job->store, manifest, img->manifest_digest, &manifest_size, err);
    json_decref(manifest);
    if (ret < 0)
        return ret;
    size_t t;
    json_t *tag;
    json_array_foreach (json_object_get(entry, "RepoTags"), t, tag) {
        struct servin_ref ref = {0};
        if (!json_is_string(tag))
            continue;
        ret = servin_ref_parse(json_string_value(tag), &ref, err);
        if (ret < 0)
            return servin_error_wrap(err, "manifest.json in the archive has a bad tag");
        _cleanup_free_ char *norm = servin_ref_string(&ref);
        if (!ref.digest)
            strs_add_unique(&img->tags, &img->n_tags, norm);
        servin_ref_free(&ref);
    }
    return 0;
}

static int load_docker_archive(struct load_job *job, struct servin_error *err)
{
    if (!json_is_array(job->docker_manifest) || json_array_size(job->docker_manifest) == 0)
        return servin_error_set(err, EINVAL, "manifest.json in the archive lists no images");
    size_t i;
    json_t *entry;
    json_array_foreach (job->docker_manifest, i, entry) {
        int ret = load_docker_entry(job, entry, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int register_all(struct load_job *job, servin_load_report_fn report, void *ctx,
                        struct servin_error *err)
{
    for (size_t i = 0; i < job->n_images; i++) {
        struct load_image *img = &job->images[i];
        struct servin_image_record rec = {.manifest_media_type = img->manifest_media_type,
                                          .n_layers = img->n_layers,
                                          .layers = img->layers,
                                          .n_extra_blobs = img->n_extra,
                                          .extra_blobs = img->extra};
        memcpy(rec.config_digest, img->config_digest, sizeof(rec.config_digest));
        memcpy(rec.manifest_digest, img->manifest_digest, sizeof(rec.manifest_digest));
        /* One registration per tag and per repo digest; the first also creates the image. */
        size_t calls = img->n_tags > img->n_repo_digests ? img->n_tags : img->n_repo_digests;
        for (size_t c = 0; c < (calls ? calls : 1); c++) {
            rec.tag = c < img->n_tags ? img->tags[c] : NULL;
            rec.repo_digest = c < img->n_repo_digests ? img->repo_digests[c] : NULL;
            int ret = servin_image_register(job->store, &rec, err);
            if (ret < 0)
                return servin_error_wrap(err, "register image %s", img->config_digest);
        }
    }
    for (size_t i = 0; report && i < job->n_images; i++) {
        struct load_image *img = &job->images[i];
        for (size_t t = 0; t < img->n_tags; t++) {
            struct servin_ref ref = {0};
            struct servin_error ignored = {0};
            if (servin_ref_parse(img->tags[t], &ref, &ignored) < 0)
                continue;
            _cleanup_free_ char *name = servin_ref_familiar_name(&ref);
            _cleanup_free_ char *tag = xasprintf("%s:%s", name, ref.tag);
            report(ctx, tag, img->config_digest);
            servin_ref_free(&ref);
        }
        if (img->n_tags == 0)
            report(ctx, NULL, img->config_digest);
    }
    return 0;
}

static int load_locked(struct servin_store *store, int fd, servin_load_report_fn report, void *ctx,
                       struct servin_error *err)
{
    _cleanup_free_ char *tmp_root = servin_store_path(store, "tmp");
    int ret = servin_mkdir_p(tmp_root, 0700, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *dir = xasprintf("%s/load-XXXXXX", tmp_root);
    if (!mkdtemp(dir))
        return servin_error_errno(err, errno, "create a temp dir in %s", tmp_root);

    struct load_job job = {.store = store, .dir = dir};
    ret = archive_extract_fd(fd, dir, err);
    if (ret >= 0) {
        _cleanup_free_ char *docker_path = xasprintf("%s/manifest.json", dir);
        _cleanup_free_ char *index_path = xasprintf("%s/index.json", dir);
        bool has_index = access(index_path, F_OK) == 0;
        if (access(docker_path, F_OK) == 0) {
            json_error_t jerr;
            job.docker_manifest = json_load_file(docker_path, 0, &jerr);
            if (!job.docker_manifest)
                ret = servin_error_set(err, EINVAL, "manifest.json in the archive is not valid JSON: %s",
                                       jerr.text);
        }
        if (ret >= 0 && has_index)
            ret = load_oci_layout(&job, err);
        else if (ret >= 0 && job.docker_manifest)
            ret = load_docker_archive(&job, err);
        else if (ret >= 0)
            ret = servin_error_set(err, EINVAL,
                                   "not an image archive: it has neither index.json nor manifest.json");
    }
    /* Images are registered only once every one of them is complete. */
    if (ret >= 0)
        ret = register_all(&job, report, ctx, err);
    load_job_free(&job);
    struct servin_error ignored = {0};
    servin_rm_rf(dir, &ignored);
    return ret;
}

int servin_archive_load_fd(struct servin_store *store, int fd, servin_load_report_fn report, void *ctx,
                           struct servin_error *err)
{
    int ret;
    {
        _cleanup_close_ int lock = -1;
        ret = servin_store_lock(store, "gc", SERVIN_LOCK_SHARED, &lock, err);
        if (ret < 0)
            return ret;
        ret = load_locked(store, fd, report, ctx, err);
    }
    if (ret < 0) {
        /* The blobs and layers of a failed load belong to no image; collect them now (the lock is
         * released, GC takes it exclusively). */
        struct servin_error ignored = {0};
        uint64_t reclaimed = 0;
        servin_store_gc(store, &reclaimed, &ignored);
    }
    return ret;
}
