/* daemon/cri/container_stream.h — the streaming server's parts: a pending stream (what a token
 * stands for), websocket frames, and the three relays (container_stream_io.c). */
#ifndef SERVIN_DAEMON_CRI_CONTAINER_STREAM_H
#define SERVIN_DAEMON_CRI_CONTAINER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container_internal.h"
#include "servin/pod.h"

/* A client message larger than this ends the stream (stdin comes in small pieces). */
#define STREAM_MAX_MESSAGE (4 * 1024 * 1024)

enum { WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

struct stream_req {
    char kind[16]; /* exec, attach, portforward */
    char token[33];
    int64_t expires; /* CLOCK_MONOTONIC seconds */
    char *container; /* exec, attach: the full id */
    char *root;      /* exec: the store root; attach: the container's run dir */
    char **cmd;      /* exec */
    size_t n_cmd;
    bool tty, in, out, err;
    char *netns; /* portforward: the pod's network namespace file ("" = the host's) */
    int *ports;
    size_t n_ports;
    bool base64, v5; /* what the websocket speaks */
};
void stream_req_free(struct stream_req *r);

/* One whole frame (unfragmented; opcode and payload, unmasked); -1 when the stream ended. */
int ws_send(int fd, int opcode, const void *data, size_t len);
int ws_recv(int fd, int *opcode, unsigned char **data, size_t *len);
/* A message on a channel: binary with the channel byte, or with base64.channel.k8s.io a text frame
 * of the channel digit and base64. */
int ws_send_channel(int fd, int channel, const void *data, size_t len, bool base64);

void stream_exec(int fd, struct stream_req *r);
void stream_attach(int fd, struct stream_req *r);
void stream_port_forward(int fd, struct stream_req *r);

#endif
