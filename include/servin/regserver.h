/* regserver.h — the built-in OCI registry server (distribution spec v1.1) and its garbage collector.
 *
 * The server keeps blobs and manifests in the content store of a Servin store root, so a registry
 * whose storage is the image store's root keeps one copy of each blob. It runs on its own threads
 * (libmicrohttpd) and never touches process-wide state (signals, cwd, umask): a CLI foreground
 * process and the daemon start and stop it the same way. */
#ifndef SERVIN_REGSERVER_H
#define SERVIN_REGSERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "servin/error.h"

#define SERVIN_REGSERVER_DEFAULT_PORT 5000
#define SERVIN_REGSERVER_DEFAULT_ADDRESS "127.0.0.1"

struct servin_regserver_config {
    const char *storage;  /* store root holding blobs and metadata; created when missing */
    const char *address;  /* NULL: 127.0.0.1 */
    uint16_t port;        /* 0: any free port (read it back with servin_regserver_port) */
    const char *htpasswd; /* NULL: anonymous access; else bcrypt entries required */
    const char *tls_cert; /* PEM files; both or neither */
    const char *tls_key;
    /* Allow a non-loopback address without both auth and TLS (start logs a warning). */
    bool insecure_public;
    FILE *access_log; /* one line per request; NULL for none */
};

struct servin_regserver;

/* Bind, load auth and TLS, and start serving. EADDRINUSE names the address when the port is taken;
 * EPERM when a public address lacks auth or TLS and insecure_public is not set. */
int servin_regserver_start(const struct servin_regserver_config *cfg, struct servin_regserver **out,
                           struct servin_error *err);
uint16_t servin_regserver_port(const struct servin_regserver *srv);
/* Stop serving: in-flight requests are cut, upload sessions dropped (their temp files removed). */
void servin_regserver_stop(struct servin_regserver *srv);

/* Garbage collection: blobs no manifest of any repository names lose their repository links, and
 * content-store files no registry row and no local image uses are deleted. A blob uploaded but not
 * yet named by a manifest is garbage too, as in distribution: collect while nobody pushes. */
struct servin_regserver_gc_stats {
    uint64_t links_removed;
    uint64_t blobs_removed;
    uint64_t bytes_freed;
};
/* report(ctx, digest, size) is called for each blob file removed (or, with dry_run, that would be). */
typedef void (*servin_regserver_gc_report_fn)(void *ctx, const char *digest, uint64_t size);
int servin_regserver_gc(const char *storage, bool dry_run, servin_regserver_gc_report_fn report, void *ctx,
                        struct servin_regserver_gc_stats *stats, struct servin_error *err);

/* Check a password against an htpasswd file (bcrypt entries only); 1 when accepted, 0 when not. */
int servin_htpasswd_check(const char *path, const char *user, const char *password, struct servin_error *err);

#endif
