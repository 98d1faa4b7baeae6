/* registry/pull_internal.h — what pull.c, layers.c and push.c share. */
#ifndef SERVIN_REGISTRY_PULL_INTERNAL_H
#define SERVIN_REGISTRY_PULL_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "registry/registry_internal.h"
#include "servin/digest.h"
#include "servin/store.h"

struct fetched_manifest {
    char *data;
    size_t len;
    char digest[SERVIN_DIGEST_MAX]; /* computed from data */
    char *media_type;
    json_t *json;
};

/* GET a manifest by tag or digest (verified when by digest), capped at SERVIN_MANIFEST_MAX. */
int reg_fetch_manifest(struct reg_session *s, const char *path, const char *ref, const char *scope,
                       struct fetched_manifest *out, struct servin_error *err);
void reg_fetched_manifest_free(struct fetched_manifest *m);

/* One layer of an image being pulled. */
struct layer_job {
    size_t index;
    char digest[SERVIN_DIGEST_MAX];
    char *media_type;
    uint64_t size;
    char diff_id[SERVIN_DIGEST_MAX];      /* from the config, checked when unpacking */
    char parent_chain[SERVIN_DIGEST_MAX]; /* "" for the base layer */
    char chain_id[SERVIN_DIGEST_MAX];
    char short_id[16];
    long dup_of; /* index of an earlier job with the same blob, or -1 */
    /* Results. */
    uint64_t unpacked_size;
    bool new_blob, new_layer; /* this pull created them (removed again if the pull fails) */
    bool fetched;             /* blob in the store (duplicates wait for this) */
    bool finished;
    int ret;
    struct servin_error err;
};

/* Download (resuming partial data) and unpack every job, a few at a time; the first error wins. */
int reg_fetch_layers(struct servin_store *store, struct reg_session *s, const char *path, const char *scope,
                     struct layer_job *jobs, size_t n, struct servin_progress *progress,
                     struct servin_error *err);

#endif
