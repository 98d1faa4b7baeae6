/* registry/registry_internal.h — what the files of the distribution client share: the HTTP session. */
#ifndef SERVIN_REGISTRY_INTERNAL_H
#define SERVIN_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "servin/error.h"
#include "servin/registry.h"

/* Bodies of error answers and other small replies we keep in memory. */
#define REG_SMALL_BODY_MAX (64u * 1024)

struct reg_token {
    char *scope;
    char *token;
};

/* One registry, as seen by one command: where it lives, how we talk to it, who we are. */
struct reg_session {
    char *domain;   /* as in the reference: "docker.io", "127.0.0.1:5000" */
    char *api_host; /* "registry-1.docker.io" or the domain */
    char *base;     /* "https://host[:port]" or "http://host[:port]" once pinged */
    bool insecure;  /* plain HTTP and unverified TLS allowed */
    bool plain_http; /* an http:// mirror: no HTTPS attempt at all */
    char *ca_file;  /* registries.ca_file for this host, or NULL for the system's CAs */
    char *user, *password;
    char *identity_token; /* an OAuth2 refresh token for the token realm (auth.json "identitytoken") */
    char *registry_token; /* a bearer token sent as it is (auth.json "registrytoken") */
    CURL *curl; /* the main thread's handle; workers bring their own */

    pthread_mutex_t lock;                /* guards what follows: workers share the tokens */
    bool basic;                          /* the registry asked for Basic auth */
    struct servin_auth_challenge bearer; /* realm/service when the registry asked for tokens */
    bool have_bearer;
    struct reg_token *tokens;
    size_t n_tokens;
};

/* Where a response body goes when the status is 2xx; return < 0 to abort the transfer (set *err). */
typedef int (*reg_sink_fn)(void *ctx, long status, const void *data, size_t len);

struct reg_req {
    const char *method; /* GET, HEAD, PUT, POST, PATCH, DELETE */
    const char *url;    /* "/v2/..." relative to the registry, or an absolute URL (upload locations) */
    const char *scope;  /* token scope, e.g. "repository:library/busybox:pull" */
    const char *const *headers; /* NULL-terminated extra "Name: value" lines */
    /* A body from memory, or a range of a file. */
    const void *body;
    size_t body_len;
    int body_fd; /* used when > 0 */
    uint64_t fd_offset, fd_len;
    reg_sink_fn sink; /* NULL: keep the body in memory, up to max_body */
    void *sink_ctx;
    struct servin_error *sink_err;
    size_t max_body; /* 0: REG_SMALL_BODY_MAX */
    bool follow;     /* follow redirects (Authorization goes only to the registry itself) */
    CURL *curl;      /* NULL: the session's */
};

struct reg_resp {
    long status;
    char *body;
    size_t body_len;
    bool too_large;
    char *content_type;
    char *docker_digest;
    char *location;
    char *www_auth;
    char *link;
    char *range;
    int64_t content_length; /* -1 when unknown */
};

/* http.c */
struct reg_session *reg_session_new(const char *domain, const char *user, const char *password);
void reg_session_free(struct reg_session *s);
/* Load the stored credentials for the session's registry, if any. */
void reg_session_load_credentials(struct reg_session *s, const char *auth_file);
/* GET /v2/: pick HTTPS or HTTP and learn the auth scheme. */
int reg_session_ping(struct reg_session *s, struct servin_error *err);
CURL *reg_curl_new(void);
/* Perform a request, doing the auth dance on 401. Transport errors and refused auth are errors;
 * any other status is returned in resp for the caller to judge. */
int reg_request(struct reg_session *s, struct reg_req *req, struct reg_resp *resp, struct servin_error *err);
void reg_resp_free(struct reg_resp *r);
/* Set err from a non-success answer: "manifest unknown: manifest unknown" from the registry's
 * JSON errors, else "HTTP <status>". */
int reg_status_error(const struct reg_resp *r, struct servin_error *err);
/* Resolve a Location header against the registry base. */
char *reg_absolute_url(struct reg_session *s, const char *location);
char *reg_url_escape(const char *s);

/* auth.c */
/* Get a token for scope (cached per scope); called with s->lock held. */
int reg_auth_token(struct reg_session *s, CURL *curl, const char *scope, bool refresh, const char **token,
                   struct servin_error *err);
char *reg_basic_header(const char *user, const char *password);
bool reg_host_is_loopback(const char *hostport);

/* manifest.c */
bool reg_media_type_is_index(const char *mt);
bool reg_media_type_is_manifest(const char *mt);
/* Parse a manifest's bytes, refusing schema 1 and unknown kinds; the media type comes from the
 * JSON, else from the Content-Type. */
int reg_manifest_parse(const char *data, size_t len, const char *content_type, json_t **out,
                       char **media_type, struct servin_error *err);
extern const char *const reg_manifest_accept;

#endif
