/* regserver/regserver_internal.h — what the registry server's files share. */
#ifndef SERVIN_REGSERVER_INTERNAL_H
#define SERVIN_REGSERVER_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "servin/content.h"
#include "servin/digest.h"
#include "servin/regserver.h"
#include "servin/store.h"

/* Largest manifest accepted (the spec asks registries to take at least 4 MiB). */
#define RS_MANIFEST_MAX (4u * 1024 * 1024)
#define RS_NAME_MAX 255
#define RS_TAG_MAX 128

#define RS_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define RS_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define RS_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define RS_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

struct rs_htpasswd; /* htpasswd.c */

/* An upload session (POST .../blobs/uploads/). Lives in memory: a restarted server forgets it and
 * the client starts over, which every client handles. */
struct rs_upload {
    char uuid[40];
    char *repo;
    struct servin_content_writer *w;
    bool busy; /* a request is writing to it */
    time_t touched;
    struct rs_upload *next;
};

struct servin_regserver {
    struct MHD_Daemon *mhd;
    struct servin_store *store;
    pthread_mutex_t db_lock; /* one SQLite connection; multi-statement updates must not interleave */
    pthread_mutex_t uploads_lock;
    struct rs_upload *uploads;
    struct rs_htpasswd *auth; /* NULL: anonymous */
    FILE *access_log;
    uint16_t port;
    char *tls_cert_pem, *tls_key_pem;
};

enum rs_route {
    RS_ROUTE_BASE,
    RS_ROUTE_CATALOG,
    RS_ROUTE_TAGS,
    RS_ROUTE_MANIFEST,
    RS_ROUTE_BLOB,
    RS_ROUTE_UPLOADS, /* .../blobs/uploads/ (ref empty) or .../blobs/uploads/<uuid> */
    RS_ROUTE_REFERRERS,
};

/* One request. MHD calls the handler several times for a request with a body; this is its state. */
struct rs_req {
    struct servin_regserver *srv;
    struct MHD_Connection *conn;
    const char *method;
    char *path; /* as received, for the log */
    enum rs_route route;
    char *name; /* repository */
    char *ref;  /* tag, digest or upload uuid */
    char *user; /* authenticated user or NULL */
    struct timespec start;
    unsigned status;
    uint64_t bytes;
    bool responded;
    bool has_body; /* PATCH/PUT/POST: data arrives in later calls */
    /* body handling */
    struct rs_upload *upload; /* checked out for writing */
    bool upload_temp;         /* a monolithic POST ?digest= with no session of its own */
    char *buf;                /* manifest body */
    size_t buf_len;
    bool too_large;
    bool write_failed;
    struct servin_error write_err;
};

/* response.c */
int rs_respond(struct rs_req *r, unsigned status, struct MHD_Response *resp);
int rs_respond_empty(struct rs_req *r, unsigned status, const char *const *headers);
int rs_respond_json(struct rs_req *r, unsigned status, json_t *body, const char *content_type,
                    const char *const *headers);
/* {"errors":[{"code","message","detail"}]} with the status the spec gives the code. */
int rs_respond_error(struct rs_req *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rs_respond_internal(struct rs_req *r, const struct servin_error *err);
const char *rs_arg(struct rs_req *r, const char *key);
const char *rs_header(struct rs_req *r, const char *key);

/* route.c */
bool rs_name_valid(const char *name);
bool rs_tag_valid(const char *tag);
/* Split the path; EINVAL for a path that is no API endpoint, ENAMETOOLONG/EPERM-free: a bad
 * repository name gives -EBADMSG so the caller answers NAME_INVALID. */
int rs_route_parse(const char *url, enum rs_route *route, char **name, char **ref);

/* meta.c — rows of the registry tables, under srv->db_lock */
bool rs_meta_blob_linked(struct servin_regserver *srv, const char *repo, const char *digest, uint64_t *size);
int rs_meta_blob_link(struct servin_regserver *srv, const char *repo, const char *digest, uint64_t size,
                      struct servin_error *err);
/* 1 when a link was removed, 0 when there was none. */
int rs_meta_blob_unlink(struct servin_regserver *srv, const char *repo, const char *digest,
                        struct servin_error *err);
bool rs_meta_repo_exists(struct servin_regserver *srv, const char *repo);
/* Resolve a tag or digest: 1 found (digest, media type, size set), 0 unknown. */
int rs_meta_manifest_find(struct servin_regserver *srv, const char *repo, const char *ref,
                          char digest[SERVIN_DIGEST_MAX], char **media_type, uint64_t *size,
                          struct servin_error *err);
struct rs_manifest_info {
    const char *digest;
    const char *media_type;
    uint64_t size;
    const char *subject;       /* NULL when none */
    const char *artifact_type; /* NULL when none */
    const char *annotations;   /* JSON text or NULL */
    const char **blobs;        /* NULL-terminated: config and layers (must be linked) */
    const char **manifests;    /* NULL-terminated: children of an index (must be present) */
};
/* Insert (or re-insert) a manifest and tag it; -ENOENT with a message naming the first missing
 * blob (*missing_manifest tells which kind). */
int rs_meta_manifest_put(struct servin_regserver *srv, const char *repo, const struct rs_manifest_info *m,
                         const char *tag, bool *missing_manifest, struct servin_error *err);
int rs_meta_manifest_delete(struct servin_regserver *srv, const char *repo, const char *digest,
                            struct servin_error *err);
int rs_meta_tag_delete(struct servin_regserver *srv, const char *repo, const char *tag,
                       struct servin_error *err);
/* Up to n names after `last` (NULL: from the start), sorted; *more when there are further ones. */
int rs_meta_tags(struct servin_regserver *srv, const char *repo, const char *last, long n, char ***out,
                 bool *more, struct servin_error *err);
int rs_meta_catalog(struct servin_regserver *srv, const char *last, long n, char ***out, bool *more,
                    struct servin_error *err);
/* The descriptors of the manifests whose subject is digest, filtered by artifact type when given. */
int rs_meta_referrers(struct servin_regserver *srv, const char *repo, const char *digest,
                      const char *artifact_type, json_t **out, struct servin_error *err);

/* blobs.c, uploads.c, manifests.c, listing.c — the handlers */
int rs_blob_get(struct rs_req *r);
int rs_blob_delete(struct rs_req *r);
int rs_upload_begin(struct rs_req *r);                              /* first call of POST/PATCH/PUT */
int rs_upload_data(struct rs_req *r, const char *data, size_t len); /* body bytes */
int rs_upload_finish(struct rs_req *r);                             /* body complete: respond */
int rs_upload_status(struct rs_req *r);                             /* GET */
int rs_upload_cancel(struct rs_req *r);                             /* DELETE */
void rs_upload_abandon(struct rs_req *r);                           /* request cut short */
void rs_uploads_free(struct servin_regserver *srv);
int rs_manifest_get(struct rs_req *r);
int rs_manifest_put(struct rs_req *r);
int rs_manifest_delete(struct rs_req *r);
int rs_tags_list(struct rs_req *r);
int rs_catalog(struct rs_req *r);
int rs_referrers(struct rs_req *r);

/* htpasswd.c */
int rs_htpasswd_load(const char *path, struct rs_htpasswd **out, struct servin_error *err);
void rs_htpasswd_free(struct rs_htpasswd *h);
/* The user named by a valid "Basic ..." Authorization header, else NULL. */
char *rs_htpasswd_authorize(struct rs_htpasswd *h, const char *authorization);

#endif
