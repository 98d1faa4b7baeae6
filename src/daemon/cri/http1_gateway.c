/* daemon/cri/http1_gateway.c — the HTTP/JSON gateway for curl users, on the CRI socket: a
 * connection that does not open with the HTTP/2 preface is HTTP/1.1. `POST /v1/runtime/<rpc>`
 * and `POST /v1/image/<rpc>` with a JSON body run the same handlers as gRPC (the paths are in the
 * method tables); the reply is the response message as JSON, or {"code", "status", "message"}
 * with an HTTP status that fits the gRPC code. `GET /v1` lists the paths. One request per
 * connection (Connection: close). */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cri_conn.h"
#include "cri_internal.h"
#include "servin/cleanup.h"

#define HEAD_MAX 16384

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static void respond(int fd, int status, const char *reason, const char *body)
{
    _cleanup_free_ char *head =
        xasprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: "
                  "close\r\n\r\n",
                  status, reason, strlen(body) + 1);
    if (write_all(fd, head, strlen(head)) == 0 && write_all(fd, body, strlen(body)) == 0)
        write_all(fd, "\n", 1);
}

static int http_status_of(int code, const char **reason)
{
    switch (code) {
    case GRPC_INVALID_ARGUMENT:
    case GRPC_OUT_OF_RANGE:
        *reason = "Bad Request";
        return 400;
    case GRPC_NOT_FOUND:
        *reason = "Not Found";
        return 404;
    case GRPC_ALREADY_EXISTS:
    case GRPC_ABORTED:
        *reason = "Conflict";
        return 409;
    case GRPC_FAILED_PRECONDITION:
        *reason = "Precondition Failed";
        return 412;
    case GRPC_PERMISSION_DENIED:
        *reason = "Forbidden";
        return 403;
    case GRPC_UNAUTHENTICATED:
        *reason = "Unauthorized";
        return 401;
    case GRPC_RESOURCE_EXHAUSTED:
        *reason = "Too Many Requests";
        return 429;
    case GRPC_UNIMPLEMENTED:
        *reason = "Not Implemented";
        return 501;
    case GRPC_UNAVAILABLE:
        *reason = "Service Unavailable";
        return 503;
    case GRPC_DEADLINE_EXCEEDED:
        *reason = "Gateway Timeout";
        return 504;
    default:
        *reason = "Internal Server Error";
        return 500;
    }
}

static void respond_error(int fd, int code, const char *message)
{
    const char *reason;
    int status = http_status_of(code, &reason);
    json_t *o = json_pack("{s:i, s:s, s:s}", "code", code, "status", grpc_code_name(code), "message",
                          message ? message : "");
    _cleanup_free_ char *body = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    respond(fd, status, reason, body ? body : "{}");
}

static void list_paths(int fd)
{
    json_t *a = json_array();
    for (size_t i = 0; i < cri_n_entries(); i++) {
        const struct cri_entry *e = cri_entry_at(i);
        if (e->gateway_path[0])
            json_array_append_new(a, json_pack("{s:s, s:s}", "path", e->gateway_path, "rpc", e->m->path + 1));
    }
    _cleanup_free_ char *body = json_dumps(a, JSON_INDENT(2));
    json_decref(a);
    respond(fd, 200, "OK", body ? body : "[]");
}

/* Read until the end of the headers; the bytes after them stay in buf. */
static ssize_t read_head(int fd, char *buf, size_t cap, size_t *have, volatile int *stopping)
{
    *have = 0;
    int idle_ms = 0;
    while (*have < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, 500);
        if (*stopping)
            return -1;
        if (n == 0) {
            if ((idle_ms += 500) >= 60000) /* a client that never finishes its headers */
                return -1;
            continue;
        }
        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        *have += (size_t)r;
        char *end = memmem(buf, *have, "\r\n\r\n", 4);
        if (end)
            return end + 4 - buf;
    }
    return 0; /* headers too large */
}

static void run(int fd, const struct cri_entry *e, const char *body, size_t len, long long timeout_ms)
{
    struct cri_call call;
    cri_call_init(&call, e, timeout_ms > 0 ? cri_now_ns() + timeout_ms * 1000000 : 0, true);
    char why[512];
    ProtobufCMessage *req = NULL, *resp = NULL;
    if (cri_json_to_message(&call, e->input, body, len, &req, why, sizeof(why)) < 0) {
        cri_fail(&call, GRPC_INVALID_ARGUMENT, "%s: bad %s: %s", e->gateway_path, e->input->short_name, why);
    } else if (cri_call_run(&call, e, req, &resp) == 0) {
        _cleanup_free_ char *out = cri_message_to_json(resp);
        respond(fd, 200, "OK", out ? out : "{}");
        cri_call_clear(&call);
        return;
    }
    respond_error(fd, call.code, call.message);
    cri_call_clear(&call);
}

void cri_http1_serve(int fd, volatile int *stopping)
{
    _cleanup_free_ char *buf = xmalloc(HEAD_MAX + 1);
    size_t have = 0;
    ssize_t head_len = read_head(fd, buf, HEAD_MAX, &have, stopping);
    if (head_len < 0)
        return;
    if (head_len == 0)
        return respond_error(fd, GRPC_INVALID_ARGUMENT, "request headers larger than 16 KiB");
    buf[head_len - 2] = '\0';
    char method[16], target[512], version[16];
    if (sscanf(buf, "%15s %511s %15s", method, target, version) != 3 || strncmp(version, "HTTP/1.", 7) != 0)
        return respond_error(
            fd, GRPC_INVALID_ARGUMENT,
            "not HTTP/1.1 nor HTTP/2: this is the CRI socket (gRPC, or JSON under POST /v1/...)");
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';
    long long content_length = 0, timeout_ms = 0;
    for (char *line = strstr(buf, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (strncasecmp(h, "Content-Length:", 15) == 0)
            content_length = strtoll(h + 15, NULL, 10);
        else if (strncasecmp(h, "X-Timeout-Ms:", 13) == 0)
            timeout_ms = strtoll(h + 13, NULL, 10);
        else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0)
            return respond_error(fd, GRPC_INVALID_ARGUMENT,
                                 "chunked bodies are not supported: send Content-Length");
    }
    /* The whole body first: a reply sent while the client still writes would reset its connection. */
    if (content_length < 0 || content_length > (long long)CRI_MAX_MESSAGE)
        return respond_error(fd, GRPC_RESOURCE_EXHAUSTED, "request body larger than 16 MiB");
    size_t extra = have - (size_t)head_len;
    _cleanup_free_ char *body = xmalloc((size_t)content_length + 1);
    size_t got = extra < (size_t)content_length ? extra : (size_t)content_length;
    memcpy(body, buf + head_len, got);
    while (got < (size_t)content_length) {
        ssize_t r = recv(fd, body + got, (size_t)content_length - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        got += (size_t)r;
    }
    body[got] = '\0';
    if (strcmp(target, "/v1") == 0 || strcmp(target, "/v1/") == 0)
        return list_paths(fd);
    const struct cri_entry *e = cri_lookup_gateway(target);
    if (!e) {
        _cleanup_free_ char *msg = xasprintf(
            "no CRI gateway path %s (GET /v1 lists them: /v1/runtime/version, /v1/image/list, ...)", target);
        return respond_error(fd, GRPC_NOT_FOUND, msg);
    }
    if (strcmp(method, "POST") != 0)
        return respond_error(fd, GRPC_INVALID_ARGUMENT, "use POST with a JSON body (possibly empty)");
    run(fd, e, body, got, timeout_ms);
}
