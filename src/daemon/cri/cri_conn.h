/* daemon/cri/cri_conn.h — one accepted connection, served by a thread of its own: HTTP/2 (gRPC)
 * when it opens with the HTTP/2 preface, else HTTP/1.1 (the JSON gateway). */
#ifndef SERVIN_DAEMON_CRI_CONN_H
#define SERVIN_DAEMON_CRI_CONN_H

#include <stdbool.h>
#include <stddef.h>

/* The largest request or reply message (kubelet's own limit is 16 MiB). */
#define CRI_MAX_MESSAGE (16u * 1024 * 1024)

/* Serve a gRPC connection until the peer closes it or the server stops; closes nothing. */
void cri_h2_serve(int fd, volatile int *stopping);
/* Serve HTTP/1.1 requests of the JSON gateway on fd. */
void cri_http1_serve(int fd, volatile int *stopping);

#endif
