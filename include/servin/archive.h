/* archive.h — image archives: `save` (OCI layout + Docker manifest.json), `load` and `import`. */
#ifndef SERVIN_ARCHIVE_H
#define SERVIN_ARCHIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "servin/digest.h"
#include "servin/error.h"
#include "servin/store.h"

enum servin_archive_format {
    SERVIN_ARCHIVE_DOCKER, /* OCI layout plus Docker's manifest.json and repositories */
    SERVIN_ARCHIVE_OCI,    /* OCI layout only */
};

/* Parse "docker-archive" / "oci-archive" (also "docker" / "oci"); -EINVAL otherwise. */
int servin_archive_format_parse(const char *text, enum servin_archive_format *out, struct servin_error *err);

/* Write the images (references or ids) as one tar stream to fd. Blobs shared by several images
 * are written once; manifests, configs and layers are the original blobs, so digests hold. */
int servin_archive_save_fd(struct servin_store *store, const char *const *images, size_t n,
                           enum servin_archive_format format, int fd, struct servin_error *err);
/* The same into a file, written beside it and renamed, so a failure leaves no half archive. */
int servin_archive_save_file(struct servin_store *store, const char *const *images, size_t n,
                             enum servin_archive_format format, const char *path, struct servin_error *err);

/* Called once per loaded tag ("busybox:latest", familiar form) or, for an untagged image, with
 * tag NULL and its id. */
typedef void (*servin_load_report_fn)(void *ctx, const char *tag, const char *id);

/* Load an OCI layout tarball or a docker-archive (Docker 25+ or legacy) read from fd. Every blob
 * is verified on its way into the content store and every layer against the config's diff_ids;
 * images are registered only when all of them are complete, so a bad archive changes nothing. */
int servin_archive_load_fd(struct servin_store *store, int fd, servin_load_report_fn report, void *ctx,
                           struct servin_error *err);

struct servin_import_opts {
    const char *const *changes; /* Dockerfile instructions ("CMD [\"sh\"]"), n_changes of them */
    size_t n_changes;
    const char *message;  /* history comment, may be NULL */
    const char *platform; /* "os/arch[/variant]", NULL for the host's */
    const char *tag;      /* "REPOSITORY[:TAG]" to point at the image, may be NULL */
};

/* Make a one-layer image from a rootfs tarball (any compression) read from fd. */
int servin_image_import_fd(struct servin_store *store, int fd, const struct servin_import_opts *opts,
                           char id_out[SERVIN_DIGEST_MAX], struct servin_error *err);
/* The same from an http(s) URL, downloaded to a temp file under <root>/tmp first. */
int servin_image_import_url(struct servin_store *store, const char *url,
                            const struct servin_import_opts *opts, char id_out[SERVIN_DIGEST_MAX],
                            struct servin_error *err);

/* Read a tar stream (any compression) from fd, hash its uncompressed bytes for the diff_id and store
 * it gzip-compressed as a layer blob (what import and commit make their new layer with). Call it
 * under the shared "gc" lock, until the image that names the blob is registered. */
int servin_image_store_layer(struct servin_store *store, int fd, char blob[SERVIN_DIGEST_MAX], uint64_t *blob_size,
                             char diff_id[SERVIN_DIGEST_MAX], struct servin_error *err);

/* Apply one Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME,
 * STOPSIGNAL, ONBUILD) to the "config" object of an image config; others are refused. */
int servin_config_apply_change(json_t *config, const char *change, struct servin_error *err);

/* The host platform as Go names it: os "linux", arch "amd64", variant "v7" or NULL. */
void servin_archive_host_platform(const char **os, const char **arch, const char **variant);

#endif
