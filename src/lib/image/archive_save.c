/* image/archive_save.c — `save`: images as one tar holding an OCI layout (and Docker's manifest.json). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_internal.h"
#include "servin/archive.h"
#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/image.h"
#include "servin/reference.h"

int servin_archive_format_parse(const char *text, enum servin_archive_format *out, struct servin_error *err)
{
    if (strcmp(text, "docker-archive") == 0 || strcmp(text, "docker") == 0)
        *out = SERVIN_ARCHIVE_DOCKER;
    else if (strcmp(text, "oci-archive") == 0 || strcmp(text, "oci") == 0)
        *out = SERVIN_ARCHIVE_OCI;
    else
        return servin_error_set(err, EINVAL,
                                "unknown archive format \"%s\": use docker-archive or oci-archive", text);
    return 0;
}

/* One image to save, with the tags it is saved under (normalised "name:tag"). */
struct saved_image {
    char id[SERVIN_DIGEST_MAX];
    char manifest_digest[SERVIN_DIGEST_MAX];
    json_t *manifest;
    const char *media_type;
    uint64_t manifest_size;
    char **tags;
    size_t n_tags;
    char **repo_digests; /* NULL-terminated, borrowed from the summaries */
};

struct save_job {
    struct servin_store *store;
    struct servin_image_summary *summaries;
    size_t n_summaries;
    struct saved_image *images;
    size_t n_images;
};

static void save_job_free(struct save_job *job)
{
    for (size_t i = 0; i < job->n_images; i++) {
        json_decref(job->images[i].manifest);
        for (size_t t = 0; t < job->images[i].n_tags; t++)
            free(job->images[i].tags[t]);
        free(job->images[i].tags);
    }
    free(job->images);
    servin_image_summaries_free(job->summaries, job->n_summaries);
}

static bool has_string(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* Which of the image's tags an argument names: none for an id or a digest, the one given, or
 * every tag of the repository for a bare name (as `docker save busybox` does). */
static void select_tags(const char *text, const struct servin_image_summary *sum, struct saved_image *img)
{
    const char *hex = strncmp(text, "sha256:", 7) == 0 ? text + 7 : text;
    if (servin_ref_looks_like_id(text) && strncmp(servin_digest_hex(sum->id), hex, strlen(hex)) == 0)
        return;
    struct servin_ref ref = {0};
    struct servin_error ignored = {0};
    if (servin_ref_parse_name(text, &ref, &ignored) < 0)
        return;
    _cleanup_free_ char *name = servin_ref_name(&ref);
    for (char **t = sum->tags; t && *t; t++) {
        const char *colon = strrchr(*t, ':');
        bool same_repo =
            colon && strlen(name) == (size_t)(colon - *t) && strncmp(*t, name, strlen(name)) == 0;
        bool wanted = ref.tag ? same_repo && strcmp(colon + 1, ref.tag) == 0 : same_repo && !ref.digest;
        if (wanted && !has_string(img->tags, img->n_tags, *t)) {
            img->tags = xreallocarray(img->tags, img->n_tags + 1, sizeof(char *));
            img->tags[img->n_tags++] = xstrdup(*t);
        }
    }
    servin_ref_free(&ref);
}

static int add_image(struct save_job *job, const char *text, struct servin_error *err)
{
    char id[SERVIN_DIGEST_MAX];
    int ret = servin_image_resolve(job->store, text, id, err);
    if (ret < 0)
        return ret;
    const struct servin_image_summary *sum = NULL;
    for (size_t i = 0; i < job->n_summaries; i++)
        if (strcmp(job->summaries[i].id, id) == 0)
            sum = &job->summaries[i];
    if (!sum)
        return servin_error_set(err, ENOENT, "no such image: %s", text);

    struct saved_image *img = NULL;
    for (size_t i = 0; i < job->n_images; i++)
        if (strcmp(job->images[i].id, id) == 0)
            img = &job->images[i];
    if (!img) {
        job->images = xreallocarray(job->images, job->n_images + 1, sizeof(*job->images));
        img = &job->images[job->n_images++];
        memset(img, 0, sizeof(*img));
        memcpy(img->id, id, sizeof(img->id));
        memcpy(img->manifest_digest, sum->manifest_digest, sizeof(img->manifest_digest));
        img->repo_digests = sum->repo_digests;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        ret = servin_content_read(job->store, img->manifest_digest, &data, &len, err);
        if (ret < 0)
            return servin_error_wrap(err, "read the manifest of %s", text);
        img->manifest = json_loadb(data, len, 0, NULL);
        if (!json_is_object(img->manifest))
            return servin_error_set(err, EINVAL, "the manifest of %s is not a JSON object", text);
        img->manifest_size = len;
        img->media_type = json_string_value(json_object_get(img->manifest, "mediaType"));
        if (!img->media_type)
            img->media_type = SERVIN_MT_OCI_MANIFEST;
    }
    select_tags(text, sum, img);
    return 0;
}

/* The digests of the config and the layers a manifest names, in order (config first). */
static int manifest_blobs(json_t *manifest, const char ***out, size_t *n, struct servin_error *err)
{
    json_t *layers = json_object_get(manifest, "layers");
    const char *config = json_string_value(json_object_get(json_object_get(manifest, "config"), "digest"));
    if (!config || !servin_digest_valid(config) || !json_is_array(layers))
        return servin_error_set(err, EINVAL, "malformed image manifest: no config or layers");
    const char **list = xcalloc(json_array_size(layers) + 1, sizeof(char *));
    list[0] = config;
    size_t i;
    json_t *l;
    json_array_foreach (layers, i, l) {
        const char *d = json_string_value(json_object_get(l, "digest"));
        if (!d || !servin_digest_valid(d)) {
            free(list);
            return servin_error_set(err, EINVAL, "malformed image manifest: a layer has no valid digest");
        }
        list[i + 1] = d;
    }
    *out = list;
    *n = json_array_size(layers) + 1;
    return 0;
}

static int write_entry_header(struct archive *a, const char *path, mode_t type, int64_t size,
                              struct servin_error *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return servin_error_set(err, EIO, "write %s to the archive: %s", path, archive_error_string(a));
    return 0;
}

static int write_bytes(struct archive *a, const char *path, const void *data, size_t len,
                       struct servin_error *err)
{
    int ret = write_entry_header(a, path, AE_IFREG, (int64_t)len, err);
    if (ret < 0)
        return ret;
    if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
        return servin_error_set(err, EIO, "write %s to the archive: %s", path, archive_error_string(a));
    return 0;
}

static int write_blob(struct servin_store *store, struct archive *a, const char *digest,
                      struct servin_error *err)
{
    _cleanup_free_ char *src = servin_content_path(store, digest);
    _cleanup_free_ char *dst = xasprintf("blobs/sha256/%s", servin_digest_hex(digest));
    _cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return servin_error_errno(err, errno, "blob %s is missing from the content store", digest);
    int ret = write_entry_header(a, dst, AE_IFREG, st.st_size, err);
    if (ret < 0)
        return ret;
    char buf[64 * 1024];
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return servin_error_errno(err, errno, "read blob %s", digest);
        if (r == 0)
            return servin_error_set(err, EIO, "blob %s shrank while it was being saved", digest);
        if (archive_write_data(a, buf, (size_t)r) != r)
            return servin_error_set(err, EIO, "write %s to the archive: %s", dst, archive_error_string(a));
        left -= r;
    }
    return 0;
}

static char *familiar_tag(const char *tag)
{
    struct servin_ref ref = {0};
    struct servin_error ignored = {0};
    if (servin_ref_parse(tag, &ref, &ignored) < 0)
        return xstrdup(tag);
    _cleanup_free_ char *name = servin_ref_familiar_name(&ref);
    char *out = xasprintf("%s:%s", name, ref.tag ? ref.tag : SERVIN_DEFAULT_TAG);
    servin_ref_free(&ref);
    return out;
}

static json_t *descriptor(const struct saved_image *img, const char *tag)
{
    json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", img->media_type, "digest", img->manifest_digest,
                          "size", (json_int_t)img->manifest_size);
    json_t *ann = json_object();
    if (tag) {
        json_object_set_new(ann, SERVIN_ANN_CONTAINERD_NAME, json_string(tag));
        json_object_set_new(ann, SERVIN_ANN_REF_NAME, json_string(strrchr(tag, ':') + 1));
    }
    /* Repo digests are not part of the image itself; carry them so that a round trip keeps them. */
    _cleanup_free_ char *digests = NULL;
    for (char **r = img->repo_digests; r && *r; r++) {
        char *joined = digests ? xasprintf("%s,%s", digests, *r) : xstrdup(*r);
        free(digests);
        digests = joined;
    }
    if (digests)
        json_object_set_new(ann, SERVIN_ANN_REPO_DIGESTS, json_string(digests));
    if (json_object_size(ann))
        json_object_set_new(d, "annotations", ann);
    else
        json_decref(ann);
    return d;
}

static int write_json(struct archive *a, const char *path, json_t *obj, struct servin_error *err)
{
    _cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text)
        return servin_error_set(err, ENOMEM, "cannot serialise %s", path);
    return write_bytes(a, path, text, strlen(text), err);
}

static int write_layout(struct save_job *job, enum servin_archive_format format, struct archive *a,
                        struct servin_error *err)
{
    int ret = write_entry_header(a, "blobs/", AE_IFDIR, 0, err);
    if (ret >= 0)
        ret = write_entry_header(a, "blobs/sha256/", AE_IFDIR, 0, err);
    if (ret < 0)
        return ret;

    _cleanup_free_ char **written = NULL;
    size_t n_written = 0;
    json_t *index_list = json_array(), *docker = json_array(), *repos = json_object();
    json_t *index = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", SERVIN_MT_OCI_INDEX,
                              "manifests", index_list);
    for (size_t i = 0; i < job->n_images && ret >= 0; i++) {
        struct saved_image *img = &job->images[i];
        _cleanup_free_ const char **blobs = NULL;
        size_t n_blobs = 0;
        ret = manifest_blobs(img->manifest, &blobs, &n_blobs, err);
        if (ret < 0) {
            servin_error_wrap(err, "image %s", img->id);
            break;
        }
        /* Blobs shared between images are written once. */
        const char *all[n_blobs + 1];
        all[0] = img->manifest_digest;
        memcpy(all + 1, blobs, n_blobs * sizeof(char *));
        for (size_t b = 0; b < n_blobs + 1 && ret >= 0; b++) {
            if (has_string(written, n_written, all[b]))
                continue;
            ret = write_blob(job->store, a, all[b], err);
            written = xreallocarray(written, n_written + 1, sizeof(char *));
            written[n_written++] = (char *)all[b];
        }

        if (img->n_tags == 0)
            json_array_append_new(index_list, descriptor(img, NULL));
        json_t *repo_tags = img->n_tags ? json_array() : json_null();
        for (size_t t = 0; t < img->n_tags; t++) {
            json_array_append_new(index_list, descriptor(img, img->tags[t]));
            _cleanup_free_ char *fam = familiar_tag(img->tags[t]);
            json_array_append_new(repo_tags, json_string(fam));
            char *colon = strrchr(fam, ':');
            *colon = '\0';
            if (!json_object_get(repos, fam))
                json_object_set_new(repos, fam, json_object());
            if (n_blobs > 1)
                json_object_set_new(json_object_get(repos, fam), colon + 1,
                                    json_string(servin_digest_hex(blobs[n_blobs - 1])));
        }
        json_t *layer_paths = json_array();
        for (size_t b = 1; b < n_blobs; b++)
            json_array_append_new(layer_paths, json_sprintf("blobs/sha256/%s", servin_digest_hex(blobs[b])));
        json_array_append_new(docker, json_pack("{s:o,s:o,s:o}", "Config",
                                                json_sprintf("blobs/sha256/%s", servin_digest_hex(blobs[0])),
                                                "RepoTags", repo_tags, "Layers", layer_paths));
    }
    /* Docker 25+ writes the OCI files first, then its own manifest.json and repositories. */
    if (ret >= 0)
        ret = write_json(a, "index.json", json_incref(index), err);
    if (ret >= 0 && format == SERVIN_ARCHIVE_DOCKER)
        ret = write_json(a, "manifest.json", json_incref(docker), err);
    if (ret >= 0)
        ret = write_json(a, "oci-layout", json_pack("{s:s}", "imageLayoutVersion", "1.0.0"), err);
    if (ret >= 0 && format == SERVIN_ARCHIVE_DOCKER && json_object_size(repos))
        ret = write_json(a, "repositories", json_incref(repos), err);
    json_decref(index);
    json_decref(docker);
    json_decref(repos);
    return ret;
}

int servin_archive_save_fd(struct servin_store *store, const char *const *images, size_t n,
                           enum servin_archive_format format, int fd, struct servin_error *err)
{
    if (n == 0)
        return servin_error_set(err, EINVAL, "save needs at least one image");
    struct save_job job = {.store = store};
    int ret = servin_image_list(store, &job.summaries, &job.n_summaries, err);
    /* Resolve every argument before writing a byte, so that a typo writes nothing. */
    for (size_t i = 0; i < n && ret >= 0; i++)
        ret = add_image(&job, images[i], err);
    for (size_t i = 0; i < job.n_images && ret >= 0; i++) {
        _cleanup_free_ const char **blobs = NULL;
        size_t n_blobs = 0;
        ret = manifest_blobs(job.images[i].manifest, &blobs, &n_blobs, err);
        for (size_t b = 0; b < n_blobs && ret >= 0; b++)
            if (!servin_content_has(store, blobs[b], NULL))
                ret = servin_error_set(err, ENOENT, "blob %s of image %s is missing from the content store",
                                       blobs[b], job.images[i].id);
    }
    if (ret < 0) {
        save_job_free(&job);
        return ret;
    }

    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
        ret = servin_error_set(err, EIO, "cannot start the archive: %s", archive_error_string(a));
    if (ret >= 0)
        ret = write_layout(&job, format, a, err);
    if (ret >= 0 && archive_write_close(a) != ARCHIVE_OK)
        ret = servin_error_set(err, EIO, "cannot finish the archive: %s", archive_error_string(a));
    archive_write_free(a);
    save_job_free(&job);
    return ret;
}

int servin_archive_save_file(struct servin_store *store, const char *const *images, size_t n,
                             enum servin_archive_format format, const char *path, struct servin_error *err)
{
    _cleanup_free_ char *copy1 = xstrdup(path), *copy2 = xstrdup(path);
    _cleanup_free_ char *tmp = xasprintf("%s/.%s.tmp-%d", dirname(copy1), basename(copy2), (int)getpid());
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return servin_error_errno(err, errno, "create %s", path);
    int ret = servin_archive_save_fd(store, images, n, format, fd, err);
    if (ret >= 0 && fsync(fd) < 0)
        ret = servin_error_errno(err, errno, "write %s", path);
    if (ret >= 0 && rename(tmp, path) < 0)
        ret = servin_error_errno(err, errno, "rename the archive to %s", path);
    if (ret < 0)
        unlink(tmp);
    return ret;
}
