/* daemon/cri/cri_server.h — the CRI server `servin daemon` starts: gRPC (HTTP/2) and the HTTP/JSON
 * gateway (HTTP/1.1) on one unix socket, and optionally on a loopback TCP port. */
#ifndef SERVIN_DAEMON_CRI_SERVER_H
#define SERVIN_DAEMON_CRI_SERVER_H

#include "servin/error.h"

struct cri_server_opts {
    const char *socket_path; /* NULL: no unix socket */
    int tcp_port;            /* 0: none; else 127.0.0.1:port (development only) */
    const char *root, *state_dir;
    /* Pod networking (--cni-conf-dir, --cni-bin-dir); NULL: $SERVIN_CNI_CONF_DIR / $SERVIN_CNI_BIN_DIR,
     * else /etc/cni/net.d and /usr/lib/cni. */
    const char *cni_conf_dir, *cni_bin_dir;
};

struct cri_server;
int cri_server_start(const struct cri_server_opts *o, struct cri_server **out, struct servin_error *err);
void cri_server_stop(struct cri_server *s);

#endif
