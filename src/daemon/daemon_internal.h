/* daemon/daemon_internal.h — what main.c, http.c and listen.c share, beyond the handlers' API. */
#ifndef SERVIN_DAEMON_INTERNAL_H
#define SERVIN_DAEMON_INTERNAL_H

#include "daemon.h"

/* TLS material read from the --tls* files, for libmicrohttpd (PEM text). */
struct daemon_tls {
    char *cert, *key, *ca;
};
void daemon_tls_free(struct daemon_tls *t);

/* Create the listening socket for o->host: a unix socket (mode 0660, group "servin" when it
 * exists, a stale socket file replaced), or TCP on a loopback address only, and only with
 * --tlsverify and all three TLS files (then *tls is filled). */
int daemon_listen(const struct daemon_listen_opts *o, int *fd, char **unix_path, struct daemon_tls *tls,
                  struct servin_error *err);
/* With TLS: 0 when the client presented a certificate the CA verifies, else -1. Without: 0. */
int daemon_tls_check(struct MHD_Connection *conn);

/* The daemon is shutting down: streams end. */
bool daemon_stopping(void);
void daemon_hijack_free(void *job);

#endif
