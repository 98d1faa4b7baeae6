/* registry.h — the OCI distribution client: pull, push, login/logout and the credentials file. */
#ifndef SERVIN_REGISTRY_H
#define SERVIN_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "servin/digest.h"
#include "servin/error.h"
#include "servin/store.h"

/* Largest manifest or index we accept from a registry. */
#define SERVIN_MANIFEST_MAX (4u * 1024 * 1024)

/* ---- Platforms ---- */

struct servin_platform {
    char os[32];
    char arch[32];
    char variant[16]; /* "" when none */
};

/* The platform of this host in GOOS/GOARCH terms (x86_64 -> amd64, aarch64 -> arm64/v8, ...). */
void servin_platform_host(struct servin_platform *p);
/* Parse "os/arch[/variant]"; EINVAL with a clear message otherwise. */
int servin_platform_parse(const char *text, struct servin_platform *p, struct servin_error *err);
/* Pick the manifest for `want` from an OCI index or Docker manifest list. The error lists the
 * platforms the index offers when none matches. */
int servin_manifest_select_platform(json_t *index, const struct servin_platform *want,
                                    char digest[SERVIN_DIGEST_MAX], struct servin_error *err);

/* ---- Authentication ---- */

/* A parsed WWW-Authenticate challenge. */
struct servin_auth_challenge {
    char scheme[16]; /* "Bearer" or "Basic" (as sent, compared case-insensitively) */
    char *realm;
    char *service;
    char *scope;
    char *error; /* Bearer error="...", when given */
};
/* Parse one challenge header value; EINVAL when it is not a Basic or Bearer challenge. */
int servin_auth_challenge_parse(const char *header, struct servin_auth_challenge *out,
                                struct servin_error *err);
void servin_auth_challenge_free(struct servin_auth_challenge *c);

/* ---- Credentials file (Docker's auth.json) ---- */

/* $SERVIN_REGISTRY_AUTH_FILE, else $REGISTRY_AUTH_FILE, else
 * ${XDG_CONFIG_HOME:-$HOME/.config}/servin/auth.json */
char *servin_authfile_path(void);
/* The key credentials are stored under for a server as typed by the user ("docker.io" for Docker Hub). */
char *servin_authfile_key(const char *server);
/* ENOENT when there are no credentials for the registry. */
int servin_authfile_get(const char *path, const char *server, char **user, char **password,
                        struct servin_error *err);
int servin_authfile_set(const char *path, const char *server, const char *user, const char *password,
                        struct servin_error *err);
/* Docker's token fields of a server's entry: "identitytoken" (an OAuth2 refresh token, traded at
 * the token realm for access tokens) and "registrytoken" (a bearer token sent to the registry as it
 * is). Absent fields are NULL; ENOENT when the server has no entry. */
int servin_authfile_get_tokens(const char *path, const char *server, char **identity_token, char **registry_token,
                               struct servin_error *err);
/* Add those fields to the server's entry (creating it); NULL or "" leaves a field out. */
int servin_authfile_set_tokens(const char *path, const char *server, const char *identity_token,
                               const char *registry_token, struct servin_error *err);
/* The servers with stored credentials, as keys. */
int servin_authfile_list(const char *path, char ***servers, struct servin_error *err);
/* ENOENT when the server had no entry. */
int servin_authfile_remove(const char *path, const char *server, struct servin_error *err);

/* ---- Transport policy ---- */

/* HTTPS with certificate verification is always tried first. For an insecure registry the
 * certificate is not verified, and when the TLS handshake itself fails (a plain-HTTP server) the
 * session falls back to HTTP, as Docker does; for any other registry a TLS failure is an error.
 * True when plain HTTP (and unverified TLS) may be used for this host[:port]: loopback addresses
 * and the insecure-registries list (env SERVIN_INSECURE_REGISTRIES today, the config file later). */
bool servin_registry_insecure(const char *hostport);
/* The host the API lives on: "docker.io" -> "registry-1.docker.io", others unchanged. */
const char *servin_registry_api_host(const char *domain);

/* ---- Progress ---- */

enum servin_progress_state {
    SERVIN_PROGRESS_WAITING,
    SERVIN_PROGRESS_PULLING,
    SERVIN_PROGRESS_DOWNLOADING,
    SERVIN_PROGRESS_VERIFYING,
    SERVIN_PROGRESS_DOWNLOADED,
    SERVIN_PROGRESS_EXTRACTING,
    SERVIN_PROGRESS_COMPLETE,
    SERVIN_PROGRESS_EXISTS,
    SERVIN_PROGRESS_PREPARING,
    SERVIN_PROGRESS_PUSHING,
    SERVIN_PROGRESS_PUSHED,
    SERVIN_PROGRESS_MOUNTED,
    SERVIN_PROGRESS_LAYER_EXISTS,
};

/* Per-layer progress lines: redrawn in place on a terminal, one plain line per state otherwise.
 * Thread-safe: layer workers report concurrently. A NULL progress is silent. */
struct servin_progress;
struct servin_progress *servin_progress_new(FILE *out, bool tty);
/* The same events as Docker's JSON messages, one object per line: {"status": "..."} for a line,
 * {"status","progressDetail":{"current","total"},"id"} for a layer (byte counts at most ten times a
 * second). */
struct servin_progress *servin_progress_new_json(FILE *out);
/* Write one JSON message as it is (steals msg); nothing unless the progress is in JSON mode. */
void servin_progress_json(struct servin_progress *p, json_t *msg);
void servin_progress_free(struct servin_progress *p);
/* A free-form line ("latest: Pulling from library/busybox"). */
void servin_progress_line(struct servin_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void servin_progress_update(struct servin_progress *p, const char *id, enum servin_progress_state state,
                            uint64_t done, uint64_t total);

/* ---- Pull, push, login ---- */

struct servin_pull_opts {
    const struct servin_platform *platform; /* NULL: the host's */
    struct servin_progress *progress;       /* NULL: silent */
    const char *auth_file;                  /* NULL: servin_authfile_path() */
};

struct servin_pull_result {
    char image_id[SERVIN_DIGEST_MAX];
    char manifest_digest[SERVIN_DIGEST_MAX]; /* the digest the reference resolved to (index if any) */
    char *reference;                         /* "docker.io/library/busybox:latest" */
    char *familiar;                          /* "busybox:latest" */
    bool up_to_date;
};
void servin_pull_result_free(struct servin_pull_result *r);

/* Pull one reference (tag or digest) into the store and register it. */
int servin_registry_pull(struct servin_store *store, const char *reference,
                         const struct servin_pull_opts *opts, struct servin_pull_result *result,
                         struct servin_error *err);
/* The tags of a repository ("host/path" reference without tag), following Link pagination. */
int servin_registry_list_tags(const char *name, const char *auth_file, char ***tags,
                              struct servin_error *err);

struct servin_push_opts {
    struct servin_progress *progress;
    const char *auth_file;
    uint64_t chunk_size; /* 0: env SERVIN_PUSH_CHUNK_SIZE, else 8 MiB; larger blobs go in chunks */
};
struct servin_push_result {
    char manifest_digest[SERVIN_DIGEST_MAX];
    uint64_t manifest_size;
    char *tag;
};
void servin_push_result_free(struct servin_push_result *r);
int servin_registry_push(struct servin_store *store, const char *reference,
                         const struct servin_push_opts *opts, struct servin_push_result *result,
                         struct servin_error *err);

/* GET /v2/ with the stored credentials, if any. Transport failures are errors; any answer fills out. */
struct servin_registry_status {
    bool reachable;
    long status;        /* of GET /v2/ after the auth flow: 200, or 401 when refused */
    char *base;         /* "http://127.0.0.1:5000" */
    bool auth_required; /* the registry asked for credentials */
    bool credentials;   /* some are stored for it */
};
int servin_registry_ping(const char *server, const char *auth_file, struct servin_registry_status *out,
                         struct servin_error *err);
void servin_registry_status_free(struct servin_registry_status *st);

/* Check credentials against a registry (GET /v2/ with the auth flow); 0 when accepted. */
int servin_registry_login(const char *server, const char *user, const char *password,
                          struct servin_error *err);

#endif
