/* daemon/http.c — libmicrohttpd glue: routing, bodies, JSON replies, streams and hijacks. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "daemon_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"
#include "servin/version.h"

static const struct droute *const route_tables[] = {
    daemon_system_routes, daemon_image_routes,   daemon_container_routes, daemon_exec_routes,
    daemon_volume_routes, daemon_network_routes, daemon_archive_routes,   daemon_stats_routes,
};

/* ---- routing ---- */

/* Does path match pattern? '*' takes one segment, "**" the rest (at least one character). */
static bool match_route(const char *pattern, const char *path, char *params[DAEMON_MAX_PARAMS])
{
    size_t np = 0;
    const char *p = pattern, *s = path;
    while (*p) {
        if (p[0] == '*' && p[1] == '*') {
            /* Image names hold slashes: take all but the literal suffix that ends the pattern. */
            const char *suffix = p + 2;
            size_t sl = strlen(suffix), len = strlen(s);
            if (len > 1 && s[len - 1] == '/')
                len--; /* trailing slash */
            if (len <= sl || strncmp(s + len - sl, suffix, sl) != 0 || np >= DAEMON_MAX_PARAMS)
                return false;
            params[np++] = xstrndup(s, len - sl);
            return true;
        }
        if (*p == '*') {
            const char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            if (len == 0 || np >= DAEMON_MAX_PARAMS)
                return false;
            params[np++] = xstrndup(s, len);
            s += len;
            p++;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    /* A trailing slash is the same path, as Docker's router sees it. */
    return *s == '\0' || (s[0] == '/' && s[1] == '\0');
}

static void free_params(struct dreq *r)
{
    for (size_t i = 0; i < DAEMON_MAX_PARAMS; i++) {
        free(r->params[i]);
        r->params[i] = NULL;
    }
}

/* 0 found, -ENOENT no such path, -EPERM the path exists for other methods. */
static int find_route(struct dreq *r)
{
    bool other_method = false;
    for (size_t t = 0; t < sizeof(route_tables) / sizeof(route_tables[0]); t++) {
        for (const struct droute *rt = route_tables[t]; rt->method; rt++) {
            if (!match_route(rt->pattern, r->path, r->params)) {
                free_params(r);
                continue;
            }
            if (strcmp(rt->method, r->method) == 0 ||
                (strcmp(r->method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
                r->route = rt;
                return 0;
            }
            free_params(r);
            other_method = true;
        }
    }
    return other_method ? -EPERM : -ENOENT;
}

/* "1.43" -> 143, "1.9" -> 109; -1 when not a version. */
static int version_number(const char *v)
{
    char *end = NULL;
    long major = strtol(v, &end, 10);
    if (end == v || *end != '.')
        return -1;
    const char *m = end + 1;
    long minor = strtol(m, &end, 10);
    if (end == m || (*end && *end != '/'))
        return -1;
    return (int)(major * 100 + minor);
}

bool dreq_version_at_least(struct dreq *r, const char *version)
{
    return version_number(r->api_version) >= version_number(version);
}

/* ---- the request's life ---- */

static void dreq_free(struct dreq *r)
{
    if (!r)
        return;
    free(r->path);
    free_params(r);
    free(r->body);
    if (r->body_fd >= 0)
        close(r->body_fd);
    if (r->response)
        MHD_destroy_response(r->response);
    if (r->store)
        servin_store_close(r->store);
    daemon_hijack_free(r->hijack);
    free(r);
}

static void add_common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Api-Version", SERVIN_API_VERSION);
    MHD_add_response_header(resp, "Server", "Servin/" SERVIN_VERSION " (linux)");
    MHD_add_response_header(resp, "Docker-Experimental", "false");
    MHD_add_response_header(resp, "Ostype", "linux");
}

static enum MHD_Result queue(struct dreq *r)
{
    if (!r->response)
        dreply_error(r, 500, "handler for %s %s gave no reply", r->method, r->path);
    add_common_headers(r->response);
    enum MHD_Result ok = MHD_queue_response(r->conn, r->status, r->response);
    MHD_destroy_response(r->response);
    r->response = NULL;
    return ok;
}

/* Strip "/v1.xx" and check the version against what we speak. */
static int take_version(struct dreq *r, const char *url)
{
    snprintf(r->api_version, sizeof(r->api_version), "%s", SERVIN_API_VERSION);
    if (url[0] == '/' && url[1] == 'v' && url[2] >= '0' && url[2] <= '9') {
        const char *slash = strchr(url + 1, '/');
        size_t len = slash ? (size_t)(slash - url - 2) : strlen(url + 2);
        _cleanup_free_ char *v = xstrndup(url + 2, len);
        int n = version_number(v);
        if (n < 0) {
            r->path = xstrdup(url);
            return 0; /* not a version: an unknown path, answered 404 later */
        }
        r->path = xstrdup(slash ? slash : "/");
        if (n > version_number(SERVIN_API_VERSION))
            return dreply_error(r, 400, "client version %s is too new. Maximum supported API version is %s",
                                v, SERVIN_API_VERSION),
                   -1;
        if (n < version_number(SERVIN_MIN_API_VERSION))
            return dreply_error(r, 400,
                                "client version %s is too old. Minimum supported API version is %s, please "
                                "upgrade your client to a newer version",
                                v, SERVIN_MIN_API_VERSION),
                   -1;
        snprintf(r->api_version, sizeof(r->api_version), "%s", v);
        return 0;
    }
    r->path = xstrdup(url);
    return 0;
}

static int spool_body(struct dreq *r, const char *data, size_t len)
{
    if (r->route && (r->route->flags & DROUTE_BODY_FILE)) {
        if (r->body_fd < 0) {
            struct servin_error err = {0};
            struct servin_store *store = dreq_store(r, &err);
            _cleanup_free_ char *dir = store ? servin_store_path(store, "tmp") : xstrdup("/tmp");
            r->body_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
            if (r->body_fd < 0)
                r->body_fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
            if (r->body_fd < 0)
                return -1;
        }
        return daemon_write_all(r->body_fd, data, len);
    }
    if (r->body_too_big || r->body_len + len > DAEMON_MAX_JSON_BODY) {
        r->body_too_big = true;
        return 0; /* keep reading, so the 413 reaches a client still sending */
    }
    r->body = xrealloc(r->body, r->body_len + len + 1);
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct daemon *d = cls;
    struct dreq *r = *con_cls;
    if (!r) {
        r = xcalloc(1, sizeof(*r));
        r->d = d;
        r->conn = conn;
        r->method = method;
        r->body_fd = -1;
        *con_cls = r;
        if (daemon_tls_check(conn) < 0) {
            r->path = xstrdup(url);
            dreply_error(r, 403, "a valid client certificate signed by the daemon's CA is required");
            return MHD_YES;
        }
        if (take_version(r, url) < 0)
            return MHD_YES;
        int f = find_route(r);
        if (f == -ENOENT)
            dreply_error(r, 404, "page not found");
        else if (f == -EPERM)
            dreply_error(r, 405, "method %s not allowed on %s", method, r->path);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->response && spool_body(r, upload_data, *upload_data_size) < 0)
            dreply_error(r, 500, "store the request body: %s", strerror(errno));
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!r->response) {
        if (r->body_too_big)
            dreply_error(r, 413, "request body larger than %u bytes", DAEMON_MAX_JSON_BODY);
        else {
            if (r->body_fd >= 0)
                lseek(r->body_fd, 0, SEEK_SET);
            log_debug("daemon: %s %s", method, url);
            r->route->fn(r);
        }
    }
    return queue(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    dreq_free(*con_cls);
    *con_cls = NULL;
}

/* ---- request accessors ---- */

const char *dreq_query(struct dreq *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool dreq_query_bool(struct dreq *r, const char *name, bool def)
{
    const char *v = dreq_query(r, name);
    if (!v)
        return def;
    return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || (*v == '\0' && def);
}

long long dreq_query_int(struct dreq *r, const char *name, long long def)
{
    const char *v = dreq_query(r, name);
    if (!v || !*v)
        return def;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    return *end ? def : n;
}

static enum MHD_Result collect_value(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    json_t *ctx = cls;
    if (strcmp(key, json_string_value(json_array_get(ctx, 0))) == 0 && value)
        json_array_append_new(json_array_get(ctx, 1), json_string(value));
    return MHD_YES;
}

json_t *dreq_query_all(struct dreq *r, const char *name)
{
    json_t *ctx = json_pack("[s,[]]", name);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_value, ctx);
    json_t *out = json_incref(json_array_get(ctx, 1));
    json_decref(ctx);
    return out;
}

const char *dreq_header(struct dreq *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int dreq_json_body(struct dreq *r, json_t **out, struct servin_error *err)
{
    *out = NULL;
    if (!r->body_len)
        return 0;
    json_error_t jerr;
    *out = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out)
        return servin_error_set(err, EINVAL, "invalid JSON in the request body: %s (line %d)", jerr.text,
                                jerr.line);
    return 0;
}

struct servin_store *dreq_store(struct dreq *r, struct servin_error *err)
{
    if (!r->store && servin_store_open_at(r->d->root ? r->d->root : SERVIN_DEFAULT_ROOT, r->d->state_dir,
                                          &r->store, err) < 0)
        return NULL;
    return r->store;
}

/* ---- replies ---- */

static int set_response(struct dreq *r, unsigned status, struct MHD_Response *resp)
{
    if (r->response)
        MHD_destroy_response(r->response);
    r->response = resp;
    r->status = status;
    return 0;
}

int dreply_text(struct dreq *r, unsigned status, const char *content_type, const char *text, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (content_type)
        MHD_add_response_header(resp, "Content-Type", content_type);
    return set_response(r, status, resp);
}

int dreply_json(struct dreq *r, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        text = xstrdup("{}");
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return set_response(r, status, resp);
}

int dreply_empty(struct dreq *r, unsigned status)
{
    return set_response(r, status, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT));
}

void dreply_add_header(struct dreq *r, const char *name, const char *value)
{
    if (r->response)
        MHD_add_response_header(r->response, name, value);
}

int dreply_error(struct dreq *r, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (status >= 500)
        log_warn("daemon: %s %s: %s", r->method, r->path ? r->path : "", msg);
    return dreply_json(r, status, json_pack("{s:s}", "message", msg));
}

int dreply_servin_error(struct dreq *r, const struct servin_error *err)
{
    unsigned status = 500;
    switch (err->code) {
    case ENOENT:
    case ESRCH:
        status = 404;
        break;
    case EEXIST:
    case EBUSY:
    case EALREADY:
        status = 409;
        break;
    case EINVAL:
    case E2BIG:
    case ERANGE:
    case ENOTDIR:
        status = 400;
        break;
    case EACCES:
    case EPERM:
        status = 403;
        break;
    case ENOSYS:
    case ENOTSUP:
        status = 501;
        break;
    }
    return dreply_error(r, status, "%s", err->msg[0] ? err->msg : strerror(err->code ? err->code : EIO));
}

/* ---- streams: a worker thread writes to one end of a socket pair, MHD reads the other ---- */

/* Shared by the writer (the worker's FILE) and the reader (MHD's callback); the last one frees it. */
struct stream_shared {
    struct stream_shared *next; /* in live_streams while MHD reads it */
    int rfd, wfd;
    atomic_int refs;
    atomic_bool failed; /* the worker gave up midway: end the response as an error, not a clean end */
    bool gone;          /* a write to the client failed */
};

/* Streams being read, so that a shutdown can end them (a followed log may wait for a long time). */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stream_shared *live_streams;

static void live_add(struct stream_shared *sh)
{
    pthread_mutex_lock(&live_lock);
    sh->next = live_streams;
    live_streams = sh;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(struct stream_shared *sh)
{
    pthread_mutex_lock(&live_lock);
    for (struct stream_shared **p = &live_streams; *p; p = &(*p)->next)
        if (*p == sh) {
            *p = sh->next;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

static void live_end_all(void)
{
    pthread_mutex_lock(&live_lock);
    for (struct stream_shared *sh = live_streams; sh; sh = sh->next)
        shutdown(sh->rfd, SHUT_RDWR);
    pthread_mutex_unlock(&live_lock);
}

static void shared_unref(struct stream_shared *sh)
{
    if (atomic_fetch_sub(&sh->refs, 1) == 1)
        free(sh);
}

struct stream_job {
    dstream_fn fn;
    void *arg;
    void (*free_arg)(void *);
    FILE *out;
    struct stream_shared *sh;
};

static __thread struct stream_shared *current_stream;

static ssize_t cookie_write(void *c, const char *buf, size_t len)
{
    struct stream_shared *sh = c;
    if (sh->gone || daemon_write_all(sh->wfd, buf, len) < 0) {
        sh->gone = true;
        errno = EPIPE;
        return -1;
    }
    return (ssize_t)len;
}

static int cookie_close(void *c)
{
    struct stream_shared *sh = c;
    close(sh->wfd);
    shared_unref(sh);
    return 0;
}

bool dstream_gone(FILE *out)
{
    /* A failed write to the client sets the stream's error flag. */
    return ferror(out) || daemon_stopping();
}

int dstream_fd(FILE *out)
{
    fflush(out);
    return current_stream ? current_stream->wfd : -1;
}

void dstream_abort(FILE *out)
{
    if (current_stream)
        atomic_store(&current_stream->failed, true);
}

/* A thread that writes to clients never dies of SIGPIPE: the signal stays blocked (and pending
 * signals of a thread vanish with it); writes fail with EPIPE instead. */
static void block_sigpipe(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *stream_main(void *arg)
{
    struct stream_job *job = arg;
    block_sigpipe();
    current_stream = job->sh;
    job->fn(job->arg, job->out);
    if (job->free_arg)
        job->free_arg(job->arg);
    current_stream = NULL;
    fclose(job->out);
    free(job);
    return NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_shared *sh = cls;
    for (;;) {
        ssize_t n = read(sh->rfd, buf, max);
        if (n > 0)
            return n;
        if (n == 0)
            return atomic_load(&sh->failed) ? MHD_CONTENT_READER_END_WITH_ERROR
                                            : MHD_CONTENT_READER_END_OF_STREAM;
        if (errno != EINTR)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void stream_free(void *cls)
{
    struct stream_shared *sh = cls;
    live_remove(sh);
    close(sh->rfd);
    shared_unref(sh);
}

int dreply_stream(struct dreq *r, unsigned status, const char *content_type, dstream_fn fn, void *arg,
                  void (*free_arg)(void *))
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        if (free_arg)
            free_arg(arg);
        return dreply_error(r, 500, "create a stream: %s", strerror(errno));
    }
    struct stream_shared *sh = xcalloc(1, sizeof(*sh));
    sh->rfd = sv[0];
    sh->wfd = sv[1];
    atomic_init(&sh->refs, 2);
    atomic_init(&sh->failed, false);
    cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};
    struct stream_job *job = xcalloc(1, sizeof(*job));
    job->fn = fn;
    job->arg = arg;
    job->free_arg = free_arg;
    job->sh = sh;
    job->out = fopencookie(sh, "w", io);
    /* Line-buffered: each JSON message or log frame reaches the client as it is written. */
    setvbuf(job->out, NULL, _IOLBF, 0);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, sh, stream_free);
    live_add(sh);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, stream_main, job) != 0) {
        pthread_attr_destroy(&attr);
        fclose(job->out);
        if (free_arg)
            free_arg(arg);
        free(job);
        MHD_destroy_response(resp); /* closes the read end */
        return dreply_error(r, 500, "start a stream: %s", strerror(errno));
    }
    pthread_attr_destroy(&attr);
    if (content_type)
        MHD_add_response_header(resp, "Content-Type", content_type);
    return set_response(r, status, resp);
}

/* ---- hijack ---- */

struct hijack_job {
    dhijack_fn fn;
    void *arg;
    void (*free_arg)(void *);
    int sock;
    char *early;
    size_t early_len;
    struct MHD_UpgradeResponseHandle *urh;
};

static void *hijack_main(void *p)
{
    struct hijack_job *job = p;
    block_sigpipe();
    job->fn(job->arg, job->sock, job->early, job->early_len);
    if (job->free_arg)
        job->free_arg(job->arg);
    MHD_upgrade_action(job->urh, MHD_UPGRADE_ACTION_CLOSE);
    free(job->early);
    free(job);
    return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct hijack_job *job = cls;
    struct dreq *r = con_cls;
    if (r)
        r->hijack = NULL; /* the thread owns the job now */
    job->sock = sock;
    job->urh = urh;
    if (extra_in_size) {
        job->early = xmalloc(extra_in_size);
        memcpy(job->early, extra_in, extra_in_size);
        job->early_len = extra_in_size;
    }
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, hijack_main, job) != 0) {
        log_warn("daemon: start a hijacked stream: %s", strerror(errno));
        if (job->free_arg)
            job->free_arg(job->arg);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        free(job->early);
        free(job);
    }
    pthread_attr_destroy(&attr);
}

void daemon_hijack_free(void *p)
{
    struct hijack_job *job = p;
    if (!job)
        return;
    if (job->free_arg)
        job->free_arg(job->arg);
    free(job);
}

int dreply_hijack(struct dreq *r, const char *content_type, dhijack_fn fn, void *arg,
                  void (*free_arg)(void *))
{
    struct hijack_job *job = xcalloc(1, sizeof(*job));
    job->fn = fn;
    job->arg = arg;
    job->free_arg = free_arg;
    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, job);
    if (!resp) {
        daemon_hijack_free(job);
        return dreply_error(r, 500, "this libmicrohttpd cannot upgrade connections");
    }
    /* Until the upgrade happens the request owns the job: a client gone before it is freed with it. */
    daemon_hijack_free(r->hijack);
    r->hijack = job;
    MHD_add_response_header(resp, "Content-Type",
                            content_type ? content_type : "application/vnd.docker.raw-stream");
    MHD_add_response_header(resp, "Connection", "Upgrade");
    MHD_add_response_header(resp, "Upgrade", "tcp");
    return set_response(r, 101, resp);
}

/* ---- server ---- */

struct daemon_server {
    struct MHD_Daemon *mhd;
    int listen_fd;
    char *unix_path;
};

int daemon_server_start(struct daemon *d, const struct daemon_listen_opts *o, struct daemon_server **out,
                        struct servin_error *err)
{
    struct daemon_server *s = xcalloc(1, sizeof(*s));
    struct daemon_tls tls = {0};
    int r = daemon_listen(o, &s->listen_fd, &s->unix_path, &tls, err);
    if (r < 0) {
        free(s);
        return r;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_UPGRADE |
                     MHD_USE_ITC | MHD_USE_POLL;
    if (tls.cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {tls.cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, tls.key},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, tls.cert},
        {MHD_OPTION_HTTPS_MEM_TRUST, 0, tls.ca},
        {MHD_OPTION_END, 0, NULL},
    };
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
                              (unsigned)0, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_ARRAY,
                              tls_opts, MHD_OPTION_END);
    daemon_tls_free(&tls);
    if (!s->mhd) {
        close(s->listen_fd);
        if (s->unix_path)
            unlink(s->unix_path);
        free(s->unix_path);
        free(s);
        return servin_error_set(err, EIO, "start the HTTP server on %s (libmicrohttpd refused the options)",
                                o->host);
    }
    *out = s;
    return 0;
}

void daemon_server_stop(struct daemon_server *s)
{
    if (!s)
        return;
    /* No new connections; the streams still open end now, their writers at their next write. */
    MHD_quiesce_daemon(s->mhd);
    live_end_all();
    MHD_stop_daemon(s->mhd);
    close(s->listen_fd);
    if (s->unix_path)
        unlink(s->unix_path);
    free(s->unix_path);
    free(s);
}
