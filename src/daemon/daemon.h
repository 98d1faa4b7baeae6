/* daemon/daemon.h — `servin daemon`: the Docker Engine API over HTTP/1.1 (libmicrohttpd).
 *
 * One file per resource group (system.c, images.c, containers.c, exec.c, ...) registers its routes
 * in a table; http.c matches a request against them, collects its body and turns what a handler
 * replies into an HTTP response. Handlers run in the connection's own thread (libmicrohttpd's
 * thread-per-connection mode), so a long call into libservin (a pull, a wait, a followed log)
 * blocks that client only. Every handler opens its own store handle: SQLite connections are not
 * shared between threads.
 */
#ifndef SERVIN_DAEMON_H
#define SERVIN_DAEMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "servin/error.h"
#include "servin/store.h"

struct MHD_Connection;
struct MHD_Response;

#define DAEMON_MAX_PARAMS 4
/* JSON bodies larger than this are refused with 413; uploads (load, archive, build) go to a file. */
#define DAEMON_MAX_JSON_BODY (8u * 1024 * 1024)

struct daemon;

struct dreq {
    struct daemon *d;
    struct MHD_Connection *conn;
    const char *method;
    char *path;           /* the path without its /v1.xx prefix */
    char api_version[16]; /* as the client asked, or the current one */
    const struct droute *route;
    char *params[DAEMON_MAX_PARAMS]; /* the '*' segments of the route, URL-decoded */
    /* Body: in memory, or (route flag DROUTE_BODY_FILE) in an unlinked temp file. */
    char *body;
    size_t body_len;
    int body_fd;
    bool body_too_big;
    /* The reply the handler chose. */
    struct MHD_Response *response;
    unsigned status;
    struct servin_store *store; /* opened on first use by dreq_store */
    void *hijack;               /* a hijack reply not yet upgraded */
};

enum {
    DROUTE_BODY_FILE = 1, /* the body can be large: spool it to a temp file (body_fd) */
};

struct droute {
    const char *method; /* "GET", "POST", ... */
    const char *
        pattern; /* "/containers/{}/start" with {} written as a star: one path segment; two stars: the rest */
    int (*fn)(struct dreq *r);
    int flags;
};

/* The route tables of each group, ending with a {NULL} entry. */
extern const struct droute daemon_system_routes[];
extern const struct droute daemon_image_routes[];
extern const struct droute daemon_container_routes[];
extern const struct droute daemon_exec_routes[];
extern const struct droute daemon_volume_routes[];
extern const struct droute daemon_network_routes[];
extern const struct droute daemon_archive_routes[];
extern const struct droute daemon_stats_routes[];
/* POST /build (build.c), routed with the image endpoints. */
int daemon_build(struct dreq *r);

/* The daemon's global settings (main.c). */
struct daemon {
    const char *root;      /* store root; NULL = default */
    const char *state_dir; /* runtime.state_dir; NULL = the default rule */
    volatile int stopping;
};

/* ---- requests ---- */
/* A query argument, or NULL. */
const char *dreq_query(struct dreq *r, const char *name);
/* Query booleans as Docker reads them: "1", "true", "True" are true; absent is def. */
bool dreq_query_bool(struct dreq *r, const char *name, bool def);
long long dreq_query_int(struct dreq *r, const char *name, long long def);
const char *dreq_header(struct dreq *r, const char *name);
/* Every value of a repeated query argument (?names=a&names=b), as a JSON array of strings. */
json_t *dreq_query_all(struct dreq *r, const char *name);
/* The body parsed as JSON (an empty body gives NULL with no error); 400 on bad JSON is the
 * caller's reply: returns -EINVAL with err filled. */
int dreq_json_body(struct dreq *r, json_t **out, struct servin_error *err);
/* The per-request store (opened on first use). NULL with err filled on failure. */
struct servin_store *dreq_store(struct dreq *r, struct servin_error *err);
/* The container named text (id, prefix or name) into c, and the request's store into *store (may
 * be NULL); else a 404 "No such container" (or the store's error) is the reply and -1 returned. */
struct servin_container;
int dreq_container(struct dreq *r, const char *text, struct servin_container *c, struct servin_store **store);
/* The API version the client asked for is at least "1.xx". */
bool dreq_version_at_least(struct dreq *r, const char *version);

/* ---- replies (each returns 0 so a handler can `return dreply_...`) ---- */
int dreply_json(struct dreq *r, unsigned status, json_t *body); /* steals body */
int dreply_text(struct dreq *r, unsigned status, const char *content_type, const char *text, size_t len);
int dreply_empty(struct dreq *r, unsigned status);
/* One more header on the reply chosen so far. */
void dreply_add_header(struct dreq *r, const char *name, const char *value);
/* {"message": "..."} with the given status. */
int dreply_error(struct dreq *r, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The status that fits err->code (ENOENT 404, EEXIST/EBUSY 409, EINVAL 400, ENOSYS 501, else 500). */
int dreply_servin_error(struct dreq *r, const struct servin_error *err);

/* A streamed reply: fn runs in its own thread writing to `out` (a FILE* whose writes never raise
 * SIGPIPE and fail once the client is gone); the response ends when fn returns. fn owns arg and
 * frees it with free_arg. Check dstream_gone(out) in long loops. */
typedef void (*dstream_fn)(void *arg, FILE *out);
int dreply_stream(struct dreq *r, unsigned status, const char *content_type, dstream_fn fn, void *arg,
                  void (*free_arg)(void *));
/* The client has gone away (a write failed) or the daemon is stopping. */
bool dstream_gone(FILE *out);
/* The raw descriptor behind `out` (flushed first), for a library call that writes to an fd. */
int dstream_fd(FILE *out);
/* End the response as failed (the client sees a broken chunked stream, not a clean end). */
void dstream_abort(FILE *out);

/* A hijacked connection (Docker's attach and exec start): 101 UPGRADED with Upgrade: tcp, then fn
 * runs in its own thread with the raw socket; bytes the client sent early come as `early`. */
typedef void (*dhijack_fn)(void *arg, int sock, const char *early, size_t early_len);
int dreply_hijack(struct dreq *r, const char *content_type, dhijack_fn fn, void *arg,
                  void (*free_arg)(void *));

/* ---- helpers shared by the groups ---- */
/* A store handle of its own for a worker thread (with the daemon's runtime.state_dir). */
int daemon_store_open(const char *root, struct servin_store **out, struct servin_error *err);
/* A client attached to the container before its start (exec.c): the start must wait for it. */
bool daemon_attach_pending(const char *id);
/* Free the exec table at shutdown. */
void daemon_exec_cleanup(void);
/* A write of everything, MSG_NOSIGNAL on sockets; -1 on error. */
int daemon_write_all(int fd, const void *buf, size_t len);
/* Docker's stdcopy frame: header (stream, 0, 0, 0, big-endian length) then the bytes. */
int daemon_write_frame(FILE *out, int stream, const char *buf, size_t len);
/* "2024-01-02T03:04:05.123456789Z" */
json_t *daemon_time_json(int64_t unix_ns);
/* Docker's filters query ({"key": ["v", ...]} or the old {"key": {"v": true}}) as {"key": ["v"]}. */
int daemon_parse_filters(const char *text, json_t **out, struct servin_error *err);

/* label=k or label=k=v against a {"k": "v"} object. */
bool daemon_label_matches(json_t *labels, const char *want);
/* Every key of filters is in known (NULL-terminated); else a 400 reply naming it and -1. */
int daemon_check_filter_keys(struct dreq *r, json_t *filters, const char *const *known);
/* Docker's filter semantics over one object: keys are ANDed, the values of one key ORed, except
 * label= whose values must all match; match(key, value, ctx) says whether one value matches. */
bool daemon_filters_pass(json_t *filters, bool (*match)(const char *key, const char *want, void *ctx), void *ctx);

/* ---- the server (http.c) ---- */
struct daemon_listen_opts {
    const char *host; /* "unix:///path" or "tcp://127.0.0.1:PORT" */
    bool tlsverify;
    const char *tlscacert, *tlscert, *tlskey;
};
struct daemon_server;
int daemon_server_start(struct daemon *d, const struct daemon_listen_opts *o, struct daemon_server **out,
                        struct servin_error *err);
void daemon_server_stop(struct daemon_server *s);

#endif
