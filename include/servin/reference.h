/* reference.h — image references normalised the way Docker does. */
#ifndef SERVIN_REFERENCE_H
#define SERVIN_REFERENCE_H

#include <stdbool.h>

#include "servin/error.h"

#define SERVIN_DEFAULT_DOMAIN "docker.io"
#define SERVIN_DEFAULT_TAG "latest"

struct servin_ref {
    char *domain; /* "docker.io", "localhost:5000", "localhost" */
    char *path;   /* "library/busybox" */
    char *tag;    /* "latest"; NULL when only a digest was given */
    char *digest; /* "sha256:..." or NULL */
};

/* Parse and normalise: "busybox" -> docker.io/library/busybox:latest; a missing tag becomes
 * "latest" unless a digest is given. Upper-case repository names and bad tags are refused. */
int servin_ref_parse(const char *text, struct servin_ref *ref, struct servin_error *err);
/* Like servin_ref_parse but never adds the default tag (for `pull --all-tags`, `push` of a repo). */
int servin_ref_parse_name(const char *text, struct servin_ref *ref, struct servin_error *err);
void servin_ref_free(struct servin_ref *ref);

/* "docker.io/library/busybox" */
char *servin_ref_name(const struct servin_ref *ref);
/* "docker.io/library/busybox:latest", "...@sha256:..", or "...:tag@sha256:.." */
char *servin_ref_string(const struct servin_ref *ref);
/* Docker's short form for display: "busybox" for docker.io/library/busybox, else the full name. */
char *servin_ref_familiar_name(const struct servin_ref *ref);
/* True when the text is a full or prefix image id (hex, optionally "sha256:"), not a name. */
bool servin_ref_looks_like_id(const char *text);

#endif
