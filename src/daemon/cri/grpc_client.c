/* daemon/cri/grpc_client.c — one unary gRPC call over HTTP/2 (nghttp2 client session) on a unix
 * socket: send the framed request, collect the framed reply and the grpc-status trailer. */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "grpc_client.h"
#include "grpc_wire.h"
#include "servin/cleanup.h"

struct client {
    int fd;
    nghttp2_session *session;
    int32_t stream;
    uint8_t *out;
    size_t out_len, out_off;
    uint8_t *in;
    size_t in_len;
    char http_status[8];
    int grpc_status;
    char *grpc_message;
    bool closed;
};

void grpc_reply_clear(struct grpc_reply *r)
{
    free(r->message);
    if (r->msg)
        protobuf_c_message_free_unpacked(r->msg, NULL);
    memset(r, 0, sizeof(*r));
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
    struct client *c = user;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen < sizeof(c->http_status)) {
        memcpy(c->http_status, value, valuelen);
        c->http_status[valuelen] = '\0';
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        char v[16] = "";
        memcpy(v, value, valuelen < 15 ? valuelen : 15);
        c->grpc_status = atoi(v);
    } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
        free(c->grpc_message);
        c->grpc_message = grpc_percent_decode(value, valuelen);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user)
{
    struct client *c = user;
    if (c->in_len + len > (64u << 20))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    c->in = xrealloc(c->in, c->in_len + len);
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    struct client *c = user;
    if (id == c->stream)
        c->closed = true;
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *user)
{
    struct client *c = user;
    size_t n = c->out_len - c->out_off < len ? c->out_len - c->out_off : len;
    memcpy(buf, c->out + c->out_off, n);
    c->out_off += n;
    if (c->out_off == c->out_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int pump_send(struct client *c)
{
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n <= 0)
            return (int)n;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(c->fd, data + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
            off += w;
        }
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define NV(n, v)                                                                                             \
    {                                                                                                        \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE                       \
    }

int grpc_unary_call(const char *socket_path, const char *path, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *out_desc, int timeout_ms, struct grpc_reply *out,
                    struct servin_error *err)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof(sa.sun_path))
        return servin_error_set(err, EINVAL, "CRI socket path %s is too long", socket_path);
    strcpy(sa.sun_path, socket_path);
    struct client c = {.grpc_status = -1};
    c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0)
        return servin_error_errno(err, errno, "create a unix socket");
    if (connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(c.fd);
        return servin_error_errno(err, e, "connect to the CRI socket %s (is `servin daemon` running?)",
                                  socket_path);
    }
    size_t n = protobuf_c_message_get_packed_size(req);
    c.out = xmalloc(n + 5);
    grpc_frame_header(c.out, n);
    protobuf_c_message_pack(req, c.out + 5);
    c.out_len = n + 5;

    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_client_new(&c.session, cb, &c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(c.session, NGHTTP2_FLAG_NONE, NULL, 0);
    char timeout[24];
    snprintf(timeout, sizeof(timeout), "%dm", timeout_ms);
    nghttp2_nv hd[] = {NV(":method", "POST"),
                       NV(":scheme", "http"),
                       NV(":path", path),
                       NV(":authority", "localhost"),
                       NV("content-type", "application/grpc"),
                       NV("te", "trailers"),
                       NV("grpc-timeout", timeout),
                       NV("user-agent", "servin-cri-client")};
    nghttp2_data_provider prd = {.read_callback = read_body};
    c.stream = nghttp2_submit_request(c.session, NULL, hd, sizeof(hd) / sizeof(hd[0]), &prd, &c);

    int ret = 0;
    int64_t deadline = now_ms() + timeout_ms + 1000;
    uint8_t buf[16384];
    while (!c.closed) {
        if (pump_send(&c) < 0) {
            ret = servin_error_set(err, EPIPE, "the CRI server on %s closed the connection", socket_path);
            break;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            ret = servin_error_set(err, ETIMEDOUT, "no reply from the CRI server on %s", socket_path);
            break;
        }
        struct pollfd p = {.fd = c.fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t got = recv(c.fd, buf, sizeof(buf), 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || nghttp2_session_mem_recv(c.session, buf, (size_t)got) < 0) {
            ret = servin_error_set(err, EPROTO, "%s does not speak gRPC (connection closed mid-call)",
                                   socket_path);
            break;
        }
    }
    if (ret == 0 && c.grpc_status < 0)
        ret = servin_error_set(err, EPROTO, "the server on %s answered without a grpc-status (HTTP %s)",
                               socket_path, c.http_status[0] ? c.http_status : "?");
    if (ret == 0) {
        out->code = c.grpc_status;
        out->message = c.grpc_message;
        c.grpc_message = NULL;
        if (out->code == 0) {
            size_t len = c.in_len >= 5 ? grpc_frame_length(c.in) : 0;
            if (c.in_len < 5 || c.in[0] != 0 || len != c.in_len - 5 ||
                !(out->msg = protobuf_c_message_unpack(out_desc, NULL, len, c.in + 5))) {
                grpc_reply_clear(out);
                ret = servin_error_set(err, EPROTO, "%s: the reply is not one %s message", path,
                                       out_desc->name);
            }
        }
    }
    nghttp2_session_del(c.session);
    close(c.fd);
    free(c.out);
    free(c.in);
    free(c.grpc_message);
    return ret;
}
