/* image.h — images in the store: records, lookup, tags, removal and garbage collection. */
#ifndef SERVIN_IMAGE_H
#define SERVIN_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "servin/digest.h"
#include "servin/error.h"
#include "servin/store.h"
#include "servin/timefmt.h"

/* OCI and Docker media types. */
#define SERVIN_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define SERVIN_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define SERVIN_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define SERVIN_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define SERVIN_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define SERVIN_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define SERVIN_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define SERVIN_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define SERVIN_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define SERVIN_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* One layer of an image being registered. The layer dir layers/<chain_id>/diff must already
 * exist (see unpack.h). */
struct servin_layer_desc {
    char blob_digest[SERVIN_DIGEST_MAX]; /* compressed blob in the content store */
    char *blob_media_type;
    uint64_t blob_size;
    char diff_id[SERVIN_DIGEST_MAX];  /* digest of the uncompressed tar */
    char chain_id[SERVIN_DIGEST_MAX]; /* OCI ChainID */
    uint64_t size;                    /* unpacked size */
};

/* Everything needed to record an image whose blobs and layers are already in place. */
struct servin_image_record {
    char config_digest[SERVIN_DIGEST_MAX]; /* becomes the image id */
    char manifest_digest[SERVIN_DIGEST_MAX];
    const char *manifest_media_type;
    size_t n_layers;
    struct servin_layer_desc *layers;
    /* Further blobs the image keeps alive, e.g. the index it was chosen from. */
    size_t n_extra_blobs;
    char (*extra_blobs)[SERVIN_DIGEST_MAX];
    const char *tag;         /* normalised "name:tag" to point at this image, or NULL */
    const char *repo_digest; /* "name@sha256:..." or NULL */
};

/* ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
void servin_chain_id(const char *parent_chain, const char *diff_id, char out[SERVIN_DIGEST_MAX]);

/* Record (or update) an image, its layers, tag and repo digest in one transaction. A tag that
 * pointed at another image moves, leaving that image dangling, as in Docker. */
int servin_image_register(struct servin_store *store, const struct servin_image_record *rec,
                          struct servin_error *err);

/* Find an image by reference ("busybox", "localhost/x:1", "name@sha256:..."), by full id
 * ("sha256:<hex>" or "<hex>") or by unique id prefix. ENOENT when absent. */
int servin_image_resolve(struct servin_store *store, const char *text, char id_out[SERVIN_DIGEST_MAX],
                         struct servin_error *err);

/* How a text named an image: by a tag, by a repo digest, or by its id (full or prefix). */
enum servin_image_match { SERVIN_IMAGE_BY_ID, SERVIN_IMAGE_BY_TAG, SERVIN_IMAGE_BY_DIGEST };

/* servin_image_resolve that also says how the text matched and, for a tag or repo digest, the
 * normalised name it matched ("docker.io/library/busybox:latest"); name_out may be NULL. */
int servin_image_lookup(struct servin_store *store, const char *text, char id_out[SERVIN_DIGEST_MAX],
                        enum servin_image_match *how, char **name_out, struct servin_error *err);

/* An image summary, as listed by `servin images`. */
struct servin_image_summary {
    char id[SERVIN_DIGEST_MAX];
    char manifest_digest[SERVIN_DIGEST_MAX];
    char *created; /* RFC 3339 from the config, may be NULL */
    int64_t added;
    uint64_t size;
    char **tags;         /* NULL-terminated, normalised "name:tag" */
    char **repo_digests; /* NULL-terminated "name@sha256:..." */
};
int servin_image_list(struct servin_store *store, struct servin_image_summary **out, size_t *n,
                      struct servin_error *err);
void servin_image_summaries_free(struct servin_image_summary *list, size_t n);
/* The summary of one image by full id; ENOENT when absent. Free with servin_image_summary_clear. */
int servin_image_get(struct servin_store *store, const char *id, struct servin_image_summary *out,
                     struct servin_error *err);
void servin_image_summary_clear(struct servin_image_summary *s);
/* The image's os, architecture and variant as recorded from its config (strings may be NULL). */
int servin_image_platform(struct servin_store *store, const char *id, char **os, char **arch, char **variant,
                          struct servin_error *err);
/* Docker's short form of a stored name: "docker.io/library/busybox:latest" -> "busybox:latest",
 * "localhost/x@sha256:.." unchanged. A name that does not parse is returned as it is. */
char *servin_image_familiar(const char *name);
/* The repository part of a stored name: "docker.io/library/busybox" for "...:latest" or "...@sha256:..". */
char *servin_image_repo_of(const char *name);

/* The image's config JSON and manifest JSON (new references) and its layer chain ids in order. */
int servin_image_config(struct servin_store *store, const char *id, json_t **config,
                        struct servin_error *err);
int servin_image_manifest(struct servin_store *store, const char *id, json_t **manifest, char **media_type,
                          struct servin_error *err);
int servin_image_layers(struct servin_store *store, const char *id, struct servin_layer_desc **layers,
                        size_t *n, struct servin_error *err);
void servin_layer_descs_free(struct servin_layer_desc *layers, size_t n);
/* Directory holding a layer's unpacked files: <root>/layers/<chain hex>/diff */
char *servin_layer_diff_path(struct servin_store *store, const char *chain_id);

/* Docker's image inspect object (Id, RepoTags, RepoDigests, Created, Config, Architecture, Os,
 * Size, GraphDriver, RootFS, Metadata) for an image by full id. */
int servin_image_inspect_json(struct servin_store *store, const char *id, json_t **out, struct servin_error *err);
/* The config's history entries, oldest first, each with "Size": the size of the layer it made (0
 * for empty_layer entries); one anonymous entry per layer when the config records no history. */
int servin_image_history(struct servin_store *store, const char *id, json_t **out, struct servin_error *err);

/* Point a normalised "name:tag" at an image. */
int servin_image_tag(struct servin_store *store, const char *id, const char *tag, struct servin_error *err);

/* `rmi`: given a reference, remove that tag and delete the image when nothing else names it;
 * given an id, delete the image (which must have at most one tag unless force). Writes one line
 * per action ("Untagged: ...", "Deleted: ...") through the callback. */
typedef void (*servin_image_report_fn)(void *ctx, const char *action, const char *what);
int servin_image_remove(struct servin_store *store, const char *text, bool force,
                        servin_image_report_fn report, void *ctx, struct servin_error *err);

/* Hook for the containers layer: returns true when a container uses the image. Until containers
 * exist nothing registers it. */
typedef bool (*servin_image_in_use_fn)(struct servin_store *store, const char *image_id);
void servin_image_set_in_use_hook(servin_image_in_use_fn fn);

/* Delete images with no tag (all unused images when `all`); reports and frees space. */
int servin_image_prune(struct servin_store *store, bool all, servin_image_report_fn report, void *ctx,
                       uint64_t *reclaimed, struct servin_error *err);
/* The same, for only the images select() accepts (prune's --filter until=/label=). */
typedef bool (*servin_image_select_fn)(struct servin_store *store, const char *image_id, void *ctx);
int servin_image_prune_matching(struct servin_store *store, bool all, servin_image_select_fn select,
                                void *select_ctx, servin_image_report_fn report, void *ctx,
                                uint64_t *reclaimed, struct servin_error *err);

/* Free layers no image uses, blobs no image keeps, and leftovers of interrupted writes. Takes the
 * exclusive "gc" lock; writers of new content hold it shared. */
int servin_store_gc(struct servin_store *store, uint64_t *reclaimed, struct servin_error *err);
/* The same, but returns at once (reclaiming nothing) when a pull or another GC holds the lock:
 * rmi and prune use it so they never wait behind a long pull; the next GC finishes the job. */
int servin_store_gc_try(struct servin_store *store, uint64_t *reclaimed, struct servin_error *err);

#endif
