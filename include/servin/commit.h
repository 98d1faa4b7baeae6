/* commit.h — a new image from a container's changes (`servin commit`, the Docker API's /commit). */
#ifndef SERVIN_COMMIT_H
#define SERVIN_COMMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "servin/container.h"
#include "servin/digest.h"
#include "servin/error.h"
#include "servin/store.h"

struct servin_commit_opts {
    const char *reference;      /* "REPOSITORY[:TAG]" to tag the image with, or NULL */
    const char *author;         /* image author, may be NULL */
    const char *message;        /* commit message (image comment and history comment), may be NULL */
    const char *const *changes; /* Dockerfile instructions applied to the config, as `import -c` takes them */
    size_t n_changes;
    bool pause; /* freeze a running container while its changes are archived (Docker's default) */
};

/* Make an image of the container's image layers plus one layer holding its upper dir (overlayfs
 * whiteouts written as OCI .wh. entries, opaque directories as .wh..wh..opq), with the container's
 * Config (User, Env, Entrypoint, Cmd, WorkingDir, Labels, ExposedPorts, Volumes, StopSignal,
 * Healthcheck...) as the image config, the changes applied, and a history entry. id_out gets the
 * new image id ("sha256:..."). Bad references and changes are refused before anything is written. */
int servin_container_commit(struct servin_store *store, const struct servin_container *c,
                            const struct servin_commit_opts *opts, char id_out[SERVIN_DIGEST_MAX],
                            struct servin_error *err);

#endif
