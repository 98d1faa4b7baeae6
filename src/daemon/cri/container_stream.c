/* daemon/cri/container_stream.c — the streaming server behind Exec, Attach and PortForward.
 *
 * The three RPCs only hand out a URL, http://127.0.0.1:<port>/<exec|attach|portforward>/<token>,
 * with a one-time token that lives STREAM_TOKEN_TTL_S; the client (kubelet, or kubectl through
 * it) then opens a websocket there and speaks Kubernetes' channel protocol (v5.channel.k8s.io,
 * v4.channel.k8s.io or channel.k8s.io): each binary message starts with its channel byte — 0
 * stdin, 1 stdout, 2 stderr, 3 the error channel (a metav1.Status JSON when the process ended), 4
 * terminal resize ({"Width","Height"}); v5 adds 255 + channel to close a stream (stdin). Port
 * forwarding uses two channels per port (2i data, 2i+1 errors), each opening with the port number
 * (2 bytes, little endian), as kubelet's websocket port forwarding does. SPDY is refused with a
 * clear 400.
 *
 * One thread accepts; each stream gets a thread of its own (relays in container_stream_io.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "container_stream.h"
#include "servin/cleanup.h"
#include "servin/log.h"

#define STREAM_TOKEN_TTL_S 60
#define STREAM_MAX_TOKENS 256
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC11B85"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct stream_req *tokens[STREAM_MAX_TOKENS];
static int listen_fd = -1, wake_pipe[2] = {-1, -1};
static unsigned short port;
static pthread_t accept_thread;
static bool started;

void stream_req_free(struct stream_req *r)
{
    if (!r)
        return;
    free(r->container);
    free(r->root);
    free(r->netns);
    for (size_t i = 0; i < r->n_cmd; i++)
        free(r->cmd[i]);
    free(r->cmd);
    free(r->ports);
    free(r);
}

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void random_token(char out[33])
{
    unsigned char b[16];
    _cleanup_close_ int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
        abort(); /* no randomness: a guessable token would let anyone exec */
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Keep r under a new token; returns the URL (arena), or NULL when the server does not run. */
static const char *register_req(struct cri_call *call, struct stream_req *r, const char *kind)
{
    if (!started) {
        stream_req_free(r);
        return NULL;
    }
    random_token(r->token);
    r->expires = now_s() + STREAM_TOKEN_TTL_S;
    pthread_mutex_lock(&lock);
    int slot = -1;
    for (int i = 0; i < STREAM_MAX_TOKENS; i++) {
        if (tokens[i] && tokens[i]->expires < now_s()) {
            stream_req_free(tokens[i]);
            tokens[i] = NULL;
        }
        if (!tokens[i] && slot < 0)
            slot = i;
    }
    if (slot >= 0)
        tokens[slot] = r;
    pthread_mutex_unlock(&lock);
    if (slot < 0) {
        stream_req_free(r);
        return NULL;
    }
    return cri_printf(call, "http://127.0.0.1:%u/%s/%s", (unsigned)port, kind, r->token);
}

/* The request of a token, taken out (one use); NULL when unknown or expired. */
static struct stream_req *take(const char *token)
{
    struct stream_req *r = NULL;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < STREAM_MAX_TOKENS && !r; i++) {
        if (tokens[i] && strcmp(tokens[i]->token, token) == 0) {
            r = tokens[i];
            tokens[i] = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    if (r && r->expires < now_s()) {
        stream_req_free(r);
        r = NULL;
    }
    return r;
}

/* ---- websocket framing (RFC 6455) ---- */

int ws_send(int fd, int opcode, const void *data, size_t len)
{
    unsigned char hdr[10];
    size_t h = 0;
    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        hdr[h++] = (unsigned char)len;
    } else if (len < 65536) {
        hdr[h++] = 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    struct iovec iov[2] = {{hdr, h}, {(void *)data, len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    size_t want = h + len;
    while (want > 0) {
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        want -= (size_t)n;
        /* Advance the iovecs past what went out. */
        while (n > 0 && msg.msg_iovlen > 0) {
            size_t k = (size_t)n < msg.msg_iov[0].iov_len ? (size_t)n : msg.msg_iov[0].iov_len;
            msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + k;
            msg.msg_iov[0].iov_len -= k;
            n -= (ssize_t)k;
            if (msg.msg_iov[0].iov_len == 0) {
                msg.msg_iov++;
                msg.msg_iovlen--;
            }
        }
    }
    return 0;
}

int ws_send_channel(int fd, int channel, const void *data, size_t len, bool base64)
{
    if (base64) {
        _cleanup_free_ unsigned char *enc = xmalloc(4 * ((len + 2) / 3) + 2);
        enc[0] = (unsigned char)('0' + channel);
        int n = EVP_EncodeBlock(enc + 1, data, (int)len);
        return ws_send(fd, WS_TEXT, enc, (size_t)n + 1);
    }
    _cleanup_free_ unsigned char *buf = xmalloc(len + 1);
    buf[0] = (unsigned char)channel;
    memcpy(buf + 1, data, len);
    return ws_send(fd, WS_BINARY, buf, len + 1);
}

static int read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

int ws_recv(int fd, int *opcode, unsigned char **data, size_t *len)
{
    unsigned char h[2];
    if (read_full(fd, h, 2) < 0)
        return -1;
    *opcode = h[0] & 0x0f;
    bool masked = h[1] & 0x80;
    uint64_t n = h[1] & 0x7f;
    if (n == 126) {
        unsigned char e[2];
        if (read_full(fd, e, 2) < 0)
            return -1;
        n = ((uint64_t)e[0] << 8) | e[1];
    } else if (n == 127) {
        unsigned char e[8];
        if (read_full(fd, e, 8) < 0)
            return -1;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | e[i];
    }
    if (n > STREAM_MAX_MESSAGE)
        return -1;
    unsigned char mask[4] = {0};
    if (masked && read_full(fd, mask, 4) < 0)
        return -1;
    unsigned char *p = xmalloc(n + 1);
    if (read_full(fd, p, n) < 0) {
        free(p);
        return -1;
    }
    for (uint64_t i = 0; masked && i < n; i++)
        p[i] ^= mask[i % 4];
    p[n] = '\0';
    *data = p;
    *len = n;
    return 0;
}

/* ---- the HTTP request and the upgrade ---- */

static void http_reply(int fd, const char *status, const char *text)
{
    char buf[1024];
    int n = snprintf(
        buf, sizeof(buf),
        "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
        status, strlen(text), text);
    if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0) {
        /* the client is gone */
    }
}

/* The value of a header in the request head (case-insensitive name), copied into out. */
static bool header(const char *head, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, size, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

/* The channel protocol we pick from the client's list, or NULL. */
static const char *pick_protocol(const char *offered, bool *base64)
{
    static const char *const ours[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io",
                                       "base64.channel.k8s.io"};
    for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++) {
        _cleanup_free_ char *copy = xstrdup(offered);
        for (char *save = NULL, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
            if (strcmp(t, ours[k]) == 0) {
                *base64 = k == 3;
                return ours[k];
            }
    }
    return NULL;
}

static void serve(int fd)
{
    char head[8192];
    size_t len = 0;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    /* Byte by byte up to the blank line: nothing of the websocket stream may be read early. */
    while (len < sizeof(head) - 1) {
        ssize_t n = read(fd, head + len, 1);
        if (n <= 0)
            return;
        len++;
        head[len] = '\0';
        if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    char method[16], path[512];
    if (sscanf(head, "%15s %511s", method, path) != 2)
        return http_reply(fd, "400 Bad Request", "malformed request\n");
    char kind[32] = "", token[64] = "";
    if (sscanf(path, "/%31[a-z]/%63[0-9a-f]", kind, token) != 2)
        return http_reply(fd, "404 Not Found", "no such stream\n");
    char upgrade[64] = "", key[128] = "", protocols[512] = "";
    header(head, "Upgrade", upgrade, sizeof(upgrade));
    if (strncasecmp(upgrade, "SPDY", 4) == 0)
        return http_reply(fd, "400 Bad Request",
                          "SPDY streams are not supported by servin's streaming server: use a websocket with "
                          "the v4.channel.k8s.io or v5.channel.k8s.io protocol\n");
    if (strcasecmp(upgrade, "websocket") != 0 || !header(head, "Sec-WebSocket-Key", key, sizeof(key)))
        return http_reply(fd, "400 Bad Request", "expected a websocket upgrade (Upgrade: websocket)\n");
    header(head, "Sec-WebSocket-Protocol", protocols, sizeof(protocols));
    bool base64 = false;
    const char *proto = pick_protocol(protocols, &base64);
    if (!proto)
        return http_reply(
            fd, "400 Bad Request",
            "no supported subprotocol: offer v5.channel.k8s.io, v4.channel.k8s.io or channel.k8s.io\n");
    struct stream_req *r = take(token);
    if (!r || strcmp(r->kind, kind) != 0) {
        stream_req_free(r);
        return http_reply(fd, "404 Not Found", "unknown or expired stream token\n");
    }
    /* Sec-WebSocket-Accept: base64(SHA-1(key + GUID)). */
    _cleanup_free_ char *plain = xasprintf("%s%s", key, WS_GUID);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    unsigned char accept[64];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    EVP_DigestUpdate(ctx, plain, strlen(plain));
    EVP_DigestFinal_ex(ctx, digest, &dlen);
    EVP_MD_CTX_free(ctx);
    EVP_EncodeBlock(accept, digest, (int)dlen);
    char reply[512];
    int n = snprintf(reply, sizeof(reply),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
                     accept, proto);
    tv.tv_sec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send(fd, reply, (size_t)n, MSG_NOSIGNAL) != n) {
        stream_req_free(r);
        return;
    }
    if (strcmp(r->kind, "portforward") == 0 && r->n_ports == 0) {
        /* PortForward without ports: the client names them in the query (?port=80&port=443). */
        const char *q = strchr(path, '?');
        for (const char *p = q; p && (p = strstr(p, "port=")) != NULL; p += 5) {
            int v = atoi(p + 5);
            if ((p[-1] == '?' || p[-1] == '&') && v > 0 && v < 65536) {
                r->ports = xreallocarray(r->ports, r->n_ports + 1, sizeof(int));
                r->ports[r->n_ports++] = v;
            }
        }
    }
    r->base64 = base64;
    r->v5 = strcmp(proto, "v5.channel.k8s.io") == 0;
    if (strcmp(r->kind, "exec") == 0)
        stream_exec(fd, r);
    else if (strcmp(r->kind, "attach") == 0)
        stream_attach(fd, r);
    else
        stream_port_forward(fd, r);
    ws_send(fd, WS_CLOSE, "\x03\xe8", 2); /* 1000: normal closure */
    stream_req_free(r);
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    serve(fd);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = wake_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (p[1].revents)
            return NULL;
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, conn_main, (void *)(intptr_t)fd) != 0)
            close(fd);
        pthread_attr_destroy(&attr);
    }
}

int cri_stream_start(struct servin_error *err)
{
    const char *want = getenv("SERVIN_CRI_STREAM_PORT");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(want ? (unsigned short)atoi(want) : 0)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (listen_fd >= 0)
        setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t alen = sizeof(a);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(listen_fd, 64) < 0 ||
        getsockname(listen_fd, (struct sockaddr *)&a, &alen) < 0 || pipe2(wake_pipe, O_CLOEXEC) < 0) {
        int e = errno;
        if (listen_fd >= 0)
            close(listen_fd);
        listen_fd = -1;
        return servin_error_errno(err, e, "start the CRI streaming server on 127.0.0.1");
    }
    port = ntohs(a.sin_port);
    if (pthread_create(&accept_thread, NULL, accept_main, NULL) != 0) {
        close(listen_fd);
        listen_fd = -1;
        return servin_error_set(err, EAGAIN, "start the CRI streaming server: no thread");
    }
    started = true;
    log_info("CRI streaming server on http://127.0.0.1:%u", (unsigned)port);
    return 0;
}

void cri_stream_stop(void)
{
    if (!started)
        return;
    started = false;
    if (write(wake_pipe[1], "x", 1) < 0) {
        /* the thread is gone already */
    }
    pthread_join(accept_thread, NULL);
    close(listen_fd);
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    listen_fd = wake_pipe[0] = wake_pipe[1] = -1;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < STREAM_MAX_TOKENS; i++) {
        stream_req_free(tokens[i]);
        tokens[i] = NULL;
    }
    pthread_mutex_unlock(&lock);
}

/* ---- the RPCs ---- */

static char **copy_cmd(char **cmd, size_t n)
{
    char **out = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(cmd[i]);
    return out;
}

static int running_container(struct cri_call *call, struct servin_store *store, const char *id,
                             struct servin_container *c)
{
    if (cri_container_find(call, store, id, c) < 0)
        return -1;
    if (c->state != SERVIN_CONTAINER_RUNNING) {
        int r = cri_fail(call, GRPC_FAILED_PRECONDITION, "container %s is not running", c->id);
        servin_container_clear(c);
        return r;
    }
    return 0;
}

int cri_exec(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ExecRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    struct servin_container c = {0};
    if (!store || running_container(call, store, req->container_id, &c) < 0)
        return -1;
    if (req->n_cmd == 0) {
        servin_container_clear(&c);
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "Exec: cmd is empty");
    }
    if (!req->stdin && !req->stdout && !req->stderr) {
        servin_container_clear(&c);
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "Exec: one of stdin, stdout and stderr must be set");
    }
    struct stream_req *r = xcalloc(1, sizeof(*r));
    snprintf(r->kind, sizeof(r->kind), "exec");
    r->container = xstrdup(c.id);
    r->root = xstrdup(store->root);
    r->cmd = copy_cmd(req->cmd, req->n_cmd);
    r->n_cmd = req->n_cmd;
    r->tty = req->tty;
    r->in = req->stdin;
    r->out = req->stdout;
    r->err = req->stderr && !req->tty;
    servin_container_clear(&c);
    const char *url = register_req(call, r, "exec");
    if (!url)
        return cri_fail(call, GRPC_UNAVAILABLE, "Exec: the streaming server is not available");
    Runtime__V1__ExecResponse *resp = cri_new(call, &runtime__v1__exec_response__descriptor);
    resp->url = (char *)url;
    *resp_msg = &resp->base;
    return 0;
}

int cri_attach(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__AttachRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    struct servin_container c = {0};
    if (!store || running_container(call, store, req->container_id, &c) < 0)
        return -1;
    struct stream_req *r = xcalloc(1, sizeof(*r));
    snprintf(r->kind, sizeof(r->kind), "attach");
    r->container = xstrdup(c.id);
    r->root = servin_container_run_dir(store, c.id); /* attach needs the run dir only */
    json_t *cfg = json_object_get(c.config, "Config");
    r->tty = json_is_true(json_object_get(cfg, "Tty"));
    r->in = req->stdin && json_is_true(json_object_get(cfg, "OpenStdin"));
    r->out = req->stdout;
    r->err = req->stderr;
    servin_container_clear(&c);
    const char *url = register_req(call, r, "attach");
    if (!url)
        return cri_fail(call, GRPC_UNAVAILABLE, "Attach: the streaming server is not available");
    Runtime__V1__AttachResponse *resp = cri_new(call, &runtime__v1__attach_response__descriptor);
    resp->url = (char *)url;
    *resp_msg = &resp->base;
    return 0;
}

int cri_port_forward(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__PortForwardRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    if (!*req->pod_sandbox_id)
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "PortForward: pod_sandbox_id is required");
    for (size_t i = 0; i < req->n_port; i++)
        if (req->port[i] <= 0 || req->port[i] > 65535)
            return cri_fail(call, GRPC_INVALID_ARGUMENT, "PortForward: invalid port %d", req->port[i]);
    struct servin_error err = {0};
    struct servin_pod pod = {0};
    if (servin_pod_get(store, req->pod_sandbox_id, &pod, &err) < 0)
        return err.code == ENOENT
                   ? cri_fail(call, GRPC_NOT_FOUND, "pod sandbox %s not found", req->pod_sandbox_id)
                   : cri_fail_error(call, &err);
    struct stream_req *r = xcalloc(1, sizeof(*r));
    snprintf(r->kind, sizeof(r->kind), "portforward");
    /* "": the pod uses the host's network, so its ports are the host's. */
    r->netns = xstrdup(pod.netns_path ? pod.netns_path : "");
    servin_pod_clear(&pod);
    r->n_ports = req->n_port;
    r->ports = xcalloc(req->n_port + 1, sizeof(int));
    for (size_t i = 0; i < req->n_port; i++)
        r->ports[i] = req->port[i];
    const char *url = register_req(call, r, "portforward");
    if (!url)
        return cri_fail(call, GRPC_UNAVAILABLE, "PortForward: the streaming server is not available");
    Runtime__V1__PortForwardResponse *resp = cri_new(call, &runtime__v1__port_forward_response__descriptor);
    resp->url = (char *)url;
    *resp_msg = &resp->base;
    return 0;
}
