/* daemon/cri/grpc_h2.c — gRPC over HTTP/2 (nghttp2) on one connection.
 *
 * The connection's thread runs the nghttp2 session: it reads frames, collects each stream's
 * headers and body, and when a request is complete starts a thread for its handler (a handler may
 * block for minutes on a pull: other streams of the connection go on). A finished handler queues
 * its stream and wakes the connection thread through an eventfd; that thread alone touches the
 * session, sends the reply (one length-prefixed message, then the trailers grpc-status and
 * grpc-message) and answers DEADLINE_EXCEEDED itself when a call outlives its grpc-timeout.
 */
#include <errno.h>
#include <inttypes.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cri_conn.h"
#include "cri_internal.h"
#include "grpc_wire.h"
#include "servin/cleanup.h"
#include "servin/log.h"

#define H2_MAX_STREAMS 128

struct h2conn;

struct h2stream {
    int32_t id;
    struct h2conn *conn;
    struct h2stream *next;      /* the connection's list of streams */
    struct h2stream *next_done; /* the finished-handlers queue */
    /* request */
    char path[256];
    char method[16];
    char content_type[64];
    char encoding[32];
    int64_t deadline;
    bool bad_timeout;
    uint8_t *body;
    size_t body_len, body_cap;
    bool too_big;
    const struct cri_entry *entry;
    ProtobufCMessage *req;
    /* reply */
    int code;
    char *message;
    uint8_t *out;
    size_t out_len, out_off;
    /* What the handler thread produced; the connection thread moves it into the reply fields
     * (or drops it when the stream was answered meanwhile, at its deadline). */
    int h_code;
    char *h_message;
    uint8_t *h_out;
    size_t h_out_len;
    bool handler_running; /* the handler thread owns the call */
    bool answered;        /* a reply (or RST) went out: a late handler result is dropped */
    bool closed;          /* nghttp2 closed the stream */
};

struct h2conn {
    int fd;
    int efd;
    nghttp2_session *session;
    volatile int *stopping;
    struct h2stream *streams;
    pthread_mutex_t lock; /* done queue and running */
    pthread_cond_t idle;
    struct h2stream *done;
    int running;
    bool closing; /* nghttp2_session_del runs: callbacks must not free */
};

static void stream_free(struct h2stream *st)
{
    if (st->req)
        protobuf_c_message_free_unpacked(st->req, NULL);
    free(st->body);
    free(st->out);
    free(st->message);
    free(st->h_out);
    free(st->h_message);
    free(st);
}

static void stream_unlink(struct h2conn *c, struct h2stream *st)
{
    for (struct h2stream **p = &c->streams; *p; p = &(*p)->next)
        if (*p == st) {
            *p = st->next;
            return;
        }
}

#define NV(n, v)                                                                                             \
    {                                                                                                        \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE                       \
    }

/* ---- replies ---- */

static void submit_trailers(struct h2conn *c, struct h2stream *st)
{
    char code[16];
    snprintf(code, sizeof(code), "%d", st->code);
    _cleanup_free_ char *msg = st->message ? grpc_percent_encode(st->message) : NULL;
    nghttp2_nv tr[2] = {NV("grpc-status", code)};
    size_t n = 1;
    if (msg) {
        nghttp2_nv m = NV("grpc-message", msg);
        tr[n++] = m;
    }
    nghttp2_submit_trailer(c->session, st->id, tr, n);
}

static ssize_t read_reply(nghttp2_session *session, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                          nghttp2_data_source *source, void *user)
{
    struct h2stream *st = source->ptr;
    size_t left = st->out_len - st->out_off;
    size_t n = left < len ? left : len;
    memcpy(buf, st->out + st->out_off, n);
    st->out_off += n;
    if (st->out_off == st->out_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        submit_trailers(st->conn, st);
    }
    return (ssize_t)n;
}

/* Answer the stream: the message and trailers, or (a failure) trailers only. */
static void reply(struct h2conn *c, struct h2stream *st)
{
    if (st->answered || st->closed)
        return;
    st->answered = true;
    if (st->code == GRPC_OK && st->out) {
        nghttp2_nv hd[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                           NV("grpc-accept-encoding", "identity")};
        nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_reply};
        nghttp2_submit_response(c->session, st->id, hd, sizeof(hd) / sizeof(hd[0]), &prd);
        return;
    }
    char code[16];
    snprintf(code, sizeof(code), "%d", st->code);
    _cleanup_free_ char *msg = grpc_percent_encode(st->message ? st->message : "");
    nghttp2_nv hd[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                       NV("grpc-accept-encoding", "identity"), NV("grpc-status", code),
                       NV("grpc-message", msg)};
    nghttp2_submit_response(c->session, st->id, hd, sizeof(hd) / sizeof(hd[0]), NULL);
}

static void fail(struct h2conn *c, struct h2stream *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct h2conn *c, struct h2stream *st, int code, const char *fmt, ...)
{
    free(st->message);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&st->message, fmt, ap) < 0)
        st->message = NULL;
    va_end(ap);
    st->code = code;
    reply(c, st);
}

/* A reply that is not gRPC at all (wrong method or content type): a bare HTTP status. */
static void http_status(struct h2conn *c, struct h2stream *st, const char *status)
{
    st->answered = true;
    nghttp2_nv hd[] = {NV(":status", status)};
    nghttp2_submit_response(c->session, st->id, hd, 1, NULL);
}

/* ---- the handler thread ---- */

static void handler_job(void *arg)
{
    struct h2stream *st = arg;
    struct cri_call call;
    cri_call_init(&call, st->entry, st->deadline, false);
    ProtobufCMessage *resp = NULL;
    if (cri_call_run(&call, st->entry, st->req, &resp) == 0) {
        size_t n = protobuf_c_message_get_packed_size(resp);
        if (n > CRI_MAX_MESSAGE) {
            st->h_code = GRPC_RESOURCE_EXHAUSTED;
            st->h_message = xasprintf("%s: the reply (%zu bytes) is larger than the %u-byte message limit",
                                      st->path + 1, n, CRI_MAX_MESSAGE);
        } else {
            st->h_out = xmalloc(n + 5);
            grpc_frame_header(st->h_out, n);
            protobuf_c_message_pack(resp, st->h_out + 5);
            st->h_out_len = n + 5;
            st->h_code = GRPC_OK;
        }
    } else {
        st->h_code = call.code;
        st->h_message = call.message;
        call.message = NULL;
        if (st->h_code != GRPC_UNIMPLEMENTED && st->h_code != GRPC_NOT_FOUND)
            log_info("CRI %s: %s: %s", st->path + 1, grpc_code_name(st->h_code),
                     st->h_message ? st->h_message : "");
    }
    cri_call_clear(&call);

    struct h2conn *c = st->conn;
    /* The wake-up is written under the lock: once the connection thread has seen this stream in
     * its done list it may end and close the eventfd. */
    pthread_mutex_lock(&c->lock);
    st->next_done = c->done;
    c->done = st;
    uint64_t one = 1;
    if (write(c->efd, &one, sizeof(one)) < 0) {
        /* the counter cannot overflow here; nothing to do */
    }
    pthread_mutex_unlock(&c->lock);
}

static void drain_done(struct h2conn *c)
{
    uint64_t v;
    if (read(c->efd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing queued */
    }
    pthread_mutex_lock(&c->lock);
    struct h2stream *list = c->done;
    c->done = NULL;
    pthread_mutex_unlock(&c->lock);
    while (list) {
        struct h2stream *st = list;
        list = st->next_done;
        pthread_mutex_lock(&c->lock);
        st->handler_running = false;
        c->running--;
        pthread_cond_broadcast(&c->idle);
        pthread_mutex_unlock(&c->lock);
        if (st->closed) {
            stream_unlink(c, st);
            stream_free(st);
        } else if (!st->answered) {
            st->code = st->h_code;
            free(st->message);
            st->message = st->h_message;
            st->h_message = NULL;
            st->out = st->h_out;
            st->out_len = st->h_out_len;
            st->h_out = NULL;
            reply(c, st);
        }
    }
}

/* ---- parsing a request ---- */

static void request_complete(struct h2conn *c, struct h2stream *st)
{
    if (strcmp(st->method, "POST") != 0)
        return http_status(c, st, "405");
    if (strncmp(st->content_type, "application/grpc", 16) != 0 ||
        (st->content_type[16] && st->content_type[16] != '+' && st->content_type[16] != ';'))
        return http_status(c, st, "415");
    if (st->bad_timeout)
        return fail(c, st, GRPC_INVALID_ARGUMENT, "invalid grpc-timeout header");
    st->entry = cri_lookup(st->path);
    if (!st->entry)
        return fail(c, st, GRPC_UNIMPLEMENTED, "unknown method %s", st->path);
    if (st->too_big)
        return fail(c, st, GRPC_RESOURCE_EXHAUSTED, "%s: request message larger than the %u-byte limit",
                    st->path + 1, CRI_MAX_MESSAGE);
    if (st->body_len < 5)
        return fail(c, st, GRPC_INTERNAL, "%s: the request carries no message", st->path + 1);
    if (st->body[0] & 1)
        return fail(
            c, st, GRPC_UNIMPLEMENTED,
            "%s: compressed messages (grpc-encoding %s) are not supported: send them uncompressed (identity)",
            st->path + 1, st->encoding[0] ? st->encoding : "?");
    if (st->body[0] != 0)
        return fail(c, st, GRPC_INTERNAL, "%s: invalid message flags 0x%02x", st->path + 1, st->body[0]);
    size_t len = grpc_frame_length(st->body);
    if (len != st->body_len - 5)
        return fail(c, st, len > st->body_len - 5 ? GRPC_INTERNAL : GRPC_UNIMPLEMENTED,
                    len > st->body_len - 5 ? "%s: the request message is cut short"
                                           : "%s: more than one request message for a unary method",
                    st->path + 1);
    st->req = protobuf_c_message_unpack(st->entry->input, NULL, len, st->body + 5);
    if (!st->req)
        return fail(c, st, GRPC_INVALID_ARGUMENT, "%s: malformed %s message (%zu bytes)", st->path + 1,
                    st->entry->input->name, len);
    free(st->body);
    st->body = NULL;
    if (st->deadline && cri_now_ns() >= st->deadline)
        return fail(c, st, GRPC_DEADLINE_EXCEEDED, "%s: the deadline passed before the call started",
                    st->path + 1);

    pthread_mutex_lock(&c->lock);
    st->handler_running = true;
    c->running++;
    pthread_mutex_unlock(&c->lock);
    int r = cri_worker_submit(handler_job, st);
    if (r < 0) {
        pthread_mutex_lock(&c->lock);
        st->handler_running = false;
        c->running--;
        pthread_mutex_unlock(&c->lock);
        fail(c, st, GRPC_RESOURCE_EXHAUSTED, "%s: cannot start a thread: %s", st->path + 1, strerror(-r));
    }
}

/* ---- nghttp2 callbacks ---- */

static struct h2stream *stream_of(nghttp2_session *s, int32_t id)
{
    return nghttp2_session_get_stream_user_data(s, id);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    struct h2conn *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2stream *st = xcalloc(1, sizeof(*st));
    st->id = frame->hd.stream_id;
    st->conn = c;
    st->next = c->streams;
    c->streams = st;
    nghttp2_session_set_stream_user_data(s, st->id, st);
    return 0;
}

static void copy_value(char *dst, size_t cap, const uint8_t *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct h2stream *st = stream_of(s, frame->hd.stream_id);
    if (!st)
        return 0;
#define IS(n) (namelen == sizeof(n) - 1 && memcmp(name, n, namelen) == 0)
    if (IS(":path")) {
        copy_value(st->path, sizeof(st->path), value, valuelen);
    } else if (IS(":method")) {
        copy_value(st->method, sizeof(st->method), value, valuelen);
    } else if (IS("content-type")) {
        copy_value(st->content_type, sizeof(st->content_type), value, valuelen);
    } else if (IS("grpc-encoding")) {
        copy_value(st->encoding, sizeof(st->encoding), value, valuelen);
    } else if (IS("grpc-timeout")) {
        char v[16];
        int64_t ns;
        copy_value(v, sizeof(v), value, valuelen);
        if (valuelen >= sizeof(v) || grpc_parse_timeout(v, &ns) < 0)
            st->bad_timeout = true;
        else
            st->deadline = cri_now_ns() + ns;
    }
#undef IS
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                         void *user)
{
    struct h2stream *st = stream_of(s, id);
    if (!st || st->too_big)
        return 0;
    if (st->body_len + len > CRI_MAX_MESSAGE + 5) {
        st->too_big = true;
        free(st->body);
        st->body = NULL;
        st->body_len = st->body_cap = 0;
        return 0;
    }
    if (st->body_len + len > st->body_cap) {
        st->body_cap = (st->body_len + len) * 2;
        st->body = xrealloc(st->body, st->body_cap);
    }
    memcpy(st->body + st->body_len, data, len);
    st->body_len += len;
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    struct h2conn *c = user;
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct h2stream *st = stream_of(s, frame->hd.stream_id);
        if (st && !st->answered && !st->handler_running && !st->req)
            request_complete(c, st);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *user)
{
    struct h2conn *c = user;
    struct h2stream *st = stream_of(s, id);
    if (!st || c->closing)
        return 0;
    nghttp2_session_set_stream_user_data(s, id, NULL);
    st->closed = true;
    pthread_mutex_lock(&c->lock);
    bool running = st->handler_running;
    pthread_mutex_unlock(&c->lock);
    if (!running) {
        stream_unlink(c, st);
        stream_free(st);
    }
    return 0;
}

/* ---- the connection loop ---- */

static int send_all(struct h2conn *c)
{
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(c->fd, data + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                struct pollfd p = {.fd = c->fd, .events = POLLOUT};
                if (poll(&p, 1, 30000) <= 0)
                    return -1;
                continue;
            }
            if (w <= 0)
                return -1;
            off += w;
        }
    }
}

/* Streams whose deadline passed while their handler runs get DEADLINE_EXCEEDED now; returns the
 * milliseconds until the next deadline (-1: none). */
static int expire_deadlines(struct h2conn *c)
{
    int64_t now = cri_now_ns(), next = -1;
    for (struct h2stream *st = c->streams; st; st = st->next) {
        if (!st->deadline || st->answered || st->closed)
            continue;
        if (now >= st->deadline) {
            if (st->handler_running) /* the result of the handler is dropped when it comes */
                fail(c, st, GRPC_DEADLINE_EXCEEDED, "%s: deadline exceeded", st->path + 1);
            continue;
        }
        int64_t ms = (st->deadline - now) / 1000000 + 1;
        if (next < 0 || ms < next)
            next = ms;
    }
    return next > 60000 ? 60000 : (int)next;
}

void cri_h2_serve(int fd, volatile int *stopping)
{
    struct h2conn c = {.fd = fd, .stopping = stopping};
    c.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c.efd < 0)
        return;
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.idle, NULL);

    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    int r = nghttp2_session_server_new(&c.session, cb, &c);
    nghttp2_session_callbacks_del(cb);
    if (r != 0) {
        close(c.efd);
        return;
    }
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
                                         {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(c.session, NGHTTP2_FLAG_NONE, settings, 2);
    /* The connection window too, so a large request does not wait on WINDOW_UPDATEs. */
    nghttp2_session_set_local_window_size(c.session, NGHTTP2_FLAG_NONE, 0, 16 << 20);

    uint8_t buf[16384];
    while (!*stopping) {
        if (send_all(&c) < 0)
            break;
        if (!nghttp2_session_want_read(c.session) && !nghttp2_session_want_write(c.session) && !c.running)
            break;
        int timeout = expire_deadlines(&c);
        if (send_all(&c) < 0)
            break;
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = c.efd, .events = POLLIN}};
        /* Wake up now and then to notice the server stopping. */
        int n = poll(p, 2, timeout < 0 || timeout > 500 ? 500 : timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN)
            drain_done(&c);
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t got = recv(fd, buf, sizeof(buf), 0);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0)
                break;
            if (nghttp2_session_mem_recv(c.session, buf, (size_t)got) < 0)
                break; /* a protocol error: nghttp2 queued GOAWAY */
        }
    }
    send_all(&c);

    /* Handlers still running hold pointers to their streams and to this connection. */
    pthread_mutex_lock(&c.lock);
    while (c.running > 0) {
        pthread_mutex_unlock(&c.lock);
        struct pollfd p = {.fd = c.efd, .events = POLLIN};
        poll(&p, 1, 1000);
        pthread_mutex_lock(&c.lock);
        struct h2stream *list = c.done;
        c.done = NULL;
        for (; list; list = list->next_done) {
            list->handler_running = false;
            c.running--;
        }
    }
    pthread_mutex_unlock(&c.lock);
    uint64_t v;
    if (read(c.efd, &v, sizeof(v)) < 0) {
        /* nothing queued */
    }
    c.closing = true;
    nghttp2_session_del(c.session);
    while (c.streams) {
        struct h2stream *st = c.streams;
        c.streams = st->next;
        stream_free(st);
    }
    close(c.efd);
    pthread_mutex_destroy(&c.lock);
    pthread_cond_destroy(&c.idle);
}
