/* regserver/server.c — the HTTP side: listening socket, TLS, auth, dispatch and the access log. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "regserver/regserver_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"

/* Each connection reads its body through a buffer this large: bigger buffers mean fewer writes. */
#define CONNECTION_MEMORY (1024 * 1024)
#define CONNECTION_TIMEOUT_SECS 600
#define CONNECTION_LIMIT 256

static void access_log(struct rs_req *r)
{
    FILE *f = r->srv->access_log;
    if (!f)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs = (double)(now.tv_sec - r->start.tv_sec) + (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
    char addr[INET6_ADDRSTRLEN] = "-";
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof(addr));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr,
                      sizeof(addr));
    }
    time_t t = time(NULL);
    struct tm tm;
    char when[64];
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
    const char *agent = rs_header(r, MHD_HTTP_HEADER_USER_AGENT);
    /* One fprintf per line: stdio locks the stream, so lines of concurrent requests never mix. */
    fprintf(f, "%s - %s [%s] \"%s %s\" %u %llu \"%s\" %.3fs\n", addr, r->user ? r->user : "-", when,
            r->method, r->path, r->status, (unsigned long long)r->bytes, agent ? agent : "-", secs);
    fflush(f);
}

static void req_free(struct rs_req *r)
{
    free(r->path);
    free(r->name);
    free(r->ref);
    free(r->user);
    free(r->buf);
    free(r);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    struct rs_req *r = *req_cls;
    if (!r)
        return;
    if (r->upload)
        rs_upload_abandon(r); /* the client went away mid-body (a truncated upload) */
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->status < 400 && !r->responded)
        r->status = 499; /* nginx's "client closed request" */
    access_log(r);
    req_free(r);
    *req_cls = NULL;
}

static bool method_is(const struct rs_req *r, const char *m)
{
    return strcmp(r->method, m) == 0;
}

/* Requests without a body are answered at once. */
static int dispatch(struct rs_req *r)
{
    bool get = method_is(r, "GET") || method_is(r, "HEAD");
    bool del = method_is(r, "DELETE");
    switch (r->route) {
    case RS_ROUTE_BASE:
        if (get) {
            json_t *empty = json_object();
            int ret = rs_respond_json(r, MHD_HTTP_OK, empty, "application/json", NULL);
            json_decref(empty);
            return ret;
        }
        break;
    case RS_ROUTE_CATALOG:
        if (get)
            return rs_catalog(r);
        break;
    case RS_ROUTE_TAGS:
        if (get)
            return rs_tags_list(r);
        break;
    case RS_ROUTE_REFERRERS:
        if (get)
            return rs_referrers(r);
        break;
    case RS_ROUTE_MANIFEST:
        if (get)
            return rs_manifest_get(r);
        if (del)
            return rs_manifest_delete(r);
        break;
    case RS_ROUTE_BLOB:
        if (get)
            return rs_blob_get(r);
        if (del)
            return rs_blob_delete(r);
        break;
    case RS_ROUTE_UPLOADS:
        if (method_is(r, "GET") && *r->ref)
            return rs_upload_status(r);
        if (del && *r->ref)
            return rs_upload_cancel(r);
        break;
    }
    return rs_respond_error(r, "UNSUPPORTED", "%s is not supported on %s", r->method, r->path);
}

/* The first call for a request: route, authenticate, and either answer or get ready for a body. */
static int begin(struct rs_req *r, const char *url)
{
    struct servin_regserver *srv = r->srv;
    if (srv->auth) {
        r->user = rs_htpasswd_authorize(srv->auth, rs_header(r, MHD_HTTP_HEADER_AUTHORIZATION));
        if (!r->user)
            return rs_respond_error(r, "UNAUTHORIZED", "authentication required");
    }
    int ret = rs_route_parse(url, &r->route, &r->name, &r->ref);
    if (ret == -EBADMSG)
        return rs_respond_error(r, "NAME_INVALID", "invalid repository name in %s", url);
    if (ret < 0) {
        json_t *body =
            json_pack("{s:[{s:s,s:s}]}", "errors", "code", "NOT_FOUND", "message", "no such endpoint");
        ret = rs_respond_json(r, MHD_HTTP_NOT_FOUND, body, "application/json", NULL);
        json_decref(body);
        return ret;
    }
    bool writes = method_is(r, "POST") || method_is(r, "PATCH") || method_is(r, "PUT");
    if (!writes)
        return 0; /* answered in the next call: an answer now would cost the connection's keep-alive */
    r->has_body = true;
    if (r->route == RS_ROUTE_UPLOADS)
        return rs_upload_begin(r);
    if (r->route == RS_ROUTE_MANIFEST && method_is(r, "PUT"))
        return 0;
    return rs_respond_error(r, "UNSUPPORTED", "%s is not supported on %s", r->method, r->path);
}

static void manifest_body(struct rs_req *r, const char *data, size_t len)
{
    if (r->too_large || r->buf_len + len > RS_MANIFEST_MAX) {
        r->too_large = true;
        return;
    }
    r->buf = xrealloc(r->buf, r->buf_len + len + 1);
    memcpy(r->buf + r->buf_len, data, len);
    r->buf_len += len;
    r->buf[r->buf_len] = '\0';
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
    struct rs_req *r = *req_cls;
    if (!r) {
        r = xcalloc(1, sizeof(*r));
        r->srv = cls;
        r->conn = conn;
        r->method = method;
        r->path = xstrdup(url);
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        *req_cls = r;
        return begin(r, url) < 0 ? MHD_NO : MHD_YES;
    }
    if (r->responded) {
        /* Answered early (an error): drop whatever body still comes. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (r->route == RS_ROUTE_MANIFEST)
            manifest_body(r, upload_data, *upload_data_size);
        else
            rs_upload_data(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    int ret = !r->has_body                    ? dispatch(r)
              : r->route == RS_ROUTE_MANIFEST ? rs_manifest_put(r)
                                              : rs_upload_finish(r);
    return ret < 0 ? MHD_NO : MHD_YES;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* Bind the socket ourselves, so that a taken port is reported as such (libmicrohttpd says only
 * that it failed) and port 0 can be read back. */
static int listen_on(const struct servin_regserver_config *cfg, bool secured, int *fd_out, bool *ipv6,
                     uint16_t *port, struct servin_error *err)
{
    const char *address = cfg->address && *cfg->address ? cfg->address : SERVIN_REGSERVER_DEFAULT_ADDRESS;
    char service[16];
    snprintf(service, sizeof(service), "%u", cfg->port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(address, service, &hints, &res);
    if (rc != 0)
        return servin_error_set(err, EINVAL, "registry: cannot use address %s: %s", address,
                                gai_strerror(rc));
    int ret = 0;
    _cleanup_close_ int fd = -1;
    /* Decided before binding, so a refused address is never listened on, even for a moment. */
    if (!is_loopback(res->ai_addr) && !secured) {
        if (!cfg->insecure_public) {
            ret = servin_error_set(
                err, EPERM,
                "registry: refusing to listen on %s without both --htpasswd and "
                "--tls-cert/--tls-key: anyone who can reach it could %s (add "
                "--insecure-public to do it anyway)",
                address, cfg->htpasswd ? "read the passwords off the wire" : "push and delete images");
            goto out;
        }
        log_warn("registry: listening on %s without %s: anyone on the network can %s", address,
                 cfg->htpasswd ? "TLS" : "authentication",
                 cfg->htpasswd ? "read the passwords off the wire" : "push and delete images");
    }
    fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0) {
        ret = servin_error_errno(err, errno, "registry: create a socket for %s", address);
        goto out;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
        int e = errno;
        if (e == EADDRINUSE)
            ret = servin_error_set(err, EADDRINUSE,
                                   "registry: port %u on %s is already in use (another registry or service "
                                   "listens there; choose another with --port)",
                                   cfg->port, address);
        else
            ret = servin_error_errno(err, e, "registry: listen on %s port %u", address, cfg->port);
        goto out;
    }
    if (listen(fd, 128) < 0) {
        ret = servin_error_errno(err, errno, "registry: listen on %s port %u", address, cfg->port);
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    *ipv6 = res->ai_family == AF_INET6;
    *fd_out = steal_fd(&fd);
out:
    freeaddrinfo(res);
    return ret;
}

void servin_regserver_stop(struct servin_regserver *srv)
{
    if (!srv)
        return;
    if (srv->mhd)
        MHD_stop_daemon(srv->mhd);
    rs_uploads_free(srv);
    rs_htpasswd_free(srv->auth);
    servin_store_close(srv->store);
    pthread_mutex_destroy(&srv->db_lock);
    pthread_mutex_destroy(&srv->uploads_lock);
    free(srv->tls_cert_pem);
    free(srv->tls_key_pem);
    free(srv);
}

uint16_t servin_regserver_port(const struct servin_regserver *srv)
{
    return srv->port;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("registry: http: %s", msg);
}

int servin_regserver_start(const struct servin_regserver_config *cfg, struct servin_regserver **out,
                           struct servin_error *err)
{
    bool tls = cfg->tls_cert || cfg->tls_key;
    if (tls && !(cfg->tls_cert && cfg->tls_key))
        return servin_error_set(err, EINVAL, "registry: --tls-cert and --tls-key go together");
    if (!cfg->storage || !*cfg->storage)
        return servin_error_set(err, EINVAL, "registry: no storage directory given");

    struct servin_regserver *srv = xcalloc(1, sizeof(*srv));
    pthread_mutex_init(&srv->db_lock, NULL);
    pthread_mutex_init(&srv->uploads_lock, NULL);
    srv->access_log = cfg->access_log;
    int ret = 0;
    _cleanup_close_ int fd = -1;
    bool ipv6 = false;
    if (cfg->htpasswd && (ret = rs_htpasswd_load(cfg->htpasswd, &srv->auth, err)) < 0)
        goto fail;
    if (tls && ((ret = servin_read_file(cfg->tls_cert, &srv->tls_cert_pem, NULL, err)) < 0 ||
                (ret = servin_read_file(cfg->tls_key, &srv->tls_key_pem, NULL, err)) < 0)) {
        servin_error_wrap(err, "registry: read TLS certificate or key");
        goto fail;
    }
    ret = listen_on(cfg, srv->auth && tls, &fd, &ipv6, &srv->port, err);
    if (ret < 0)
        goto fail;
    const char *address = cfg->address && *cfg->address ? cfg->address : SERVIN_REGSERVER_DEFAULT_ADDRESS;
    ret = servin_store_open(cfg->storage, &srv->store, err);
    if (ret < 0)
        goto fail;

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, srv->tls_cert_pem},
        {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, srv->tls_key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, srv, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
        request_completed, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_SECS, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)CONNECTION_LIMIT, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!srv->mhd) {
        ret = servin_error_set(err, EIO, "registry: start the HTTP server on %s port %u%s", address,
                               srv->port, tls ? " (is the TLS certificate and key a valid PEM pair?)" : "");
        goto fail;
    }
    fd = -1; /* the daemon owns it now */
    *out = srv;
    return 0;
fail:
    servin_regserver_stop(srv);
    return ret;
}
