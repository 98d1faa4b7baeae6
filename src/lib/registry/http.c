/* registry/http.c — the libcurl session with one registry: transport policy, requests, redirects, auth retry.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "registry/registry_internal.h"
#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/log.h"

/* Large receive buffers keep the per-callback overhead low on fast (loopback) registries. */
#define REG_CURL_BUFFER (512L * 1024)
#define REG_MAX_REDIRECTS 10

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

CURL *reg_curl_new(void)
{
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c)
        abort(); /* only fails when out of memory */
    return c;
}

const char *servin_registry_api_host(const char *domain)
{
    if (strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0)
        return "registry-1.docker.io";
    return domain;
}

/* The one place the insecure-registries list comes from, so a config file can feed it later. */
static const char *insecure_list(void)
{
    return getenv("SERVIN_INSECURE_REGISTRIES");
}

static bool listed(const char *entry, const char *hostport)
{
    _cleanup_free_ char *copy = xstrdup(entry);
    char *tok = copy;
    if (strncmp(tok, "http://", 7) == 0)
        tok += 7;
    else if (strncmp(tok, "https://", 8) == 0)
        tok += 8;
    tok[strcspn(tok, "/")] = '\0';
    if (strcmp(tok, hostport) == 0)
        return true;
    /* "host" in the list covers every port of that host. */
    size_t n = strlen(tok);
    return !strchr(tok, ':') && strncmp(hostport, tok, n) == 0 && hostport[n] == ':';
}

bool servin_registry_insecure(const char *hostport)
{
    if (reg_host_is_loopback(hostport))
        return true;
    /* The environment is read live (it also feeds the config's list), then registries.insecure. */
    const char *list = insecure_list();
    if (list) {
        _cleanup_free_ char *copy = xstrdup(list);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
            if (listed(tok, hostport))
                return true;
    }
    _cleanup_config_ struct servin_config *cfg = servin_config_current();
    for (char **e = cfg->registries.insecure; e && *e; e++)
        if (listed(*e, hostport))
            return true;
    return false;
}

struct reg_session *reg_session_new(const char *domain, const char *user, const char *password)
{
    struct reg_session *s = xcalloc(1, sizeof(*s));
    s->domain = xstrdup(domain);
    s->api_host = xstrdup(servin_registry_api_host(domain));
    s->insecure = servin_registry_insecure(s->api_host);
    _cleanup_config_ struct servin_config *cfg = servin_config_current();
    const char *ca = servin_config_ca_file_for(cfg, s->api_host);
    if (!ca)
        ca = servin_config_ca_file_for(cfg, s->domain);
    s->ca_file = ca ? xstrdup(ca) : NULL;
    /* A CA given for the host says how to verify it: verified TLS then, even on loopback. */
    if (s->ca_file)
        s->insecure = false;
    s->user = user ? xstrdup(user) : NULL;
    s->password = password ? xstrdup(password) : NULL;
    s->curl = reg_curl_new();
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void reg_session_free(struct reg_session *s)
{
    if (!s)
        return;
    free(s->domain);
    free(s->api_host);
    free(s->base);
    free(s->ca_file);
    free(s->user);
    if (s->password) {
        explicit_bzero(s->password, strlen(s->password));
        free(s->password);
    }
    free(s->identity_token);
    free(s->registry_token);
    curl_easy_cleanup(s->curl);
    servin_auth_challenge_free(&s->bearer);
    for (size_t i = 0; i < s->n_tokens; i++) {
        free(s->tokens[i].scope);
        free(s->tokens[i].token);
    }
    free(s->tokens);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void reg_session_load_credentials(struct reg_session *s, const char *auth_file)
{
    _cleanup_free_ char *path = auth_file ? xstrdup(auth_file) : servin_authfile_path();
    char *user = NULL, *pass = NULL;
    struct servin_error err = {0};
    const char *env_user = getenv("SERVIN_REGISTRY_USER");
    if (env_user && *env_user) {
        /* The environment beats the credentials file, as for every other setting. */
        const char *env_pass = getenv("SERVIN_REGISTRY_PASSWORD");
        free(s->user);
        free(s->password);
        s->user = xstrdup(env_user);
        s->password = xstrdup(env_pass ? env_pass : "");
        return;
    }
    char *identity = NULL, *registry = NULL;
    if (servin_authfile_get_tokens(path, s->domain, &identity, &registry, &err) == 0) {
        free(s->identity_token);
        free(s->registry_token);
        s->identity_token = identity;
        s->registry_token = registry;
    }
    err = (struct servin_error){0};
    if (servin_authfile_get(path, s->domain, &user, &pass, &err) == 0) {
        free(s->user);
        free(s->password);
        s->user = user;
        s->password = pass;
    } else if (err.code != ENOENT) {
        log_warn("%s", err.msg);
    }
}

void reg_resp_free(struct reg_resp *r)
{
    free(r->body);
    free(r->content_type);
    free(r->docker_digest);
    free(r->location);
    free(r->www_auth);
    free(r->link);
    free(r->range);
    memset(r, 0, sizeof(*r));
}

struct transfer {
    struct reg_req *req;
    struct reg_resp *resp;
    CURL *curl;
    size_t cap;
    bool started;
    long status;
    int sink_failed;
};

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * n;
    struct reg_resp *r = t->resp;
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* A new status line (after a 100 Continue): forget the headers of the previous one. */
        char *keep_body = r->body;
        size_t keep_len = r->body_len;
        r->body = NULL;
        reg_resp_free(r);
        r->body = keep_body;
        r->body_len = keep_len;
        r->content_length = -1;
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (!colon)
        return len;
    size_t name_len = (size_t)(colon - buf);
    const char *v = colon + 1;
    const char *end = buf + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    char *value = xstrndup(v, (size_t)(end - v));
    char **slot = NULL;
#define HDR(name) (name_len == strlen(name) && strncasecmp(buf, name, name_len) == 0)
    if (HDR("content-type"))
        slot = &r->content_type;
    else if (HDR("docker-content-digest"))
        slot = &r->docker_digest;
    else if (HDR("location"))
        slot = &r->location;
    else if (HDR("www-authenticate"))
        slot = r->www_auth ? NULL : &r->www_auth; /* the first challenge is the one we use */
    else if (HDR("link"))
        slot = &r->link;
    else if (HDR("range"))
        slot = &r->range;
    else if (HDR("content-length"))
        r->content_length = strtoll(value, NULL, 10);
#undef HDR
    if (slot) {
        free(*slot);
        *slot = value;
    } else {
        free(value);
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * n;
    if (!t->started) {
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
        t->started = true;
    }
    bool ok = t->status >= 200 && t->status < 300;
    if (ok && t->req->sink) {
        if (t->req->sink(t->req->sink_ctx, t->status, buf, len) < 0) {
            t->sink_failed = 1;
            return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        return len;
    }
    struct reg_resp *r = t->resp;
    size_t max = ok && t->req->max_body ? t->req->max_body : REG_SMALL_BODY_MAX;
    if (r->body_len + len > max) {
        r->too_large = true;
        if (ok)
            return 0;
        return len; /* an error page: keep what we have, it is only for the message */
    }
    if (r->body_len + len + 1 > t->cap) {
        t->cap = (r->body_len + len + 1) * 2;
        if (t->cap > max + 1)
            t->cap = max + 1;
        r->body = xrealloc(r->body, t->cap);
    }
    memcpy(r->body + r->body_len, buf, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct reg_req *req = ud;
    size_t want = size * n;
    if (req->fd_len < want)
        want = (size_t)req->fd_len;
    if (want == 0)
        return 0;
    ssize_t got;
    do {
        got = pread(req->body_fd, buf, want, (off_t)req->fd_offset);
    } while (got < 0 && errno == EINTR);
    if (got <= 0)
        return CURL_READFUNC_ABORT;
    req->fd_offset += (uint64_t)got;
    req->fd_len -= (uint64_t)got;
    return (size_t)got;
}

char *reg_absolute_url(struct reg_session *s, const char *location)
{
    if (strstr(location, "://"))
        return xstrdup(location);
    if (location[0] == '/')
        return xasprintf("%s%s", s->base, location);
    return xasprintf("%s/%s", s->base, location);
}

char *reg_url_escape(const char *str)
{
    char *e = curl_easy_escape(NULL, str, 0);
    if (!e)
        abort();
    char *out = xstrdup(e);
    curl_free(e);
    return out;
}

/* Authorization goes only to the registry itself, never to a host a redirect points at. */
static bool same_origin(struct reg_session *s, const char *url)
{
    size_t n = strlen(s->base);
    return strncmp(url, s->base, n) == 0 && (url[n] == '/' || url[n] == '\0' || url[n] == '?');
}

static void set_tls(struct reg_session *s, CURL *c, const char *url)
{
    /* Insecure registries (loopback, the configured list) may present any certificate, as in Docker. */
    bool verify = !(s->insecure && same_origin(s, url));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    if (s->ca_file && same_origin(s, url))
        curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
}

/* A connection-level failure as one sentence: "connect to 127.0.0.1:1: Connection refused". */
static int transport_error(CURL *c, CURLcode rc, const char *url, const char *errbuf,
                           struct servin_error *err)
{
    _cleanup_free_ char *hostport = NULL;
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    hostport = xstrndup(p, strcspn(p, "/?"));
    if (rc == CURLE_COULDNT_CONNECT) {
        long os_errno = 0;
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno)
            return servin_error_errno(err, (int)os_errno, "connect to %s", hostport);
        return servin_error_set(err, ECONNREFUSED, "connect to %s: %s", hostport,
                                errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    if (rc == CURLE_COULDNT_RESOLVE_HOST)
        return servin_error_set(err, EHOSTUNREACH, "resolve %s: no such host", hostport);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return servin_error_set(err, ETIMEDOUT, "%s: timed out", hostport);
    return servin_error_set(err, EIO, "request to %s: %s", hostport,
                            errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* One HTTP exchange, no auth logic: the caller provides the Authorization line (or none). */
static int perform(struct reg_session *s, CURL *c, struct reg_req *req, const char *url, const char *method,
                   const char *authz, struct reg_resp *resp, CURLcode *rc_out, struct servin_error *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    struct transfer t = {.req = req, .resp = resp, .curl = c};

    reg_resp_free(resp);
    resp->content_length = -1;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, REG_CURL_BUFFER);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* Give up on a stalled transfer rather than hang: under 1 byte/s for a minute. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "servin/" SERVIN_VERSION);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    set_tls(s, c, url);

    hdrs = curl_slist_append(hdrs, "Expect:");
    for (const char *const *h = req->headers; h && *h; h++)
        hdrs = curl_slist_append(hdrs, *h);
    if (authz)
        hdrs = curl_slist_append(hdrs, authz);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req->body_fd > 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, req);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->fd_len);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }

    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    *rc_out = rc;
    if (rc != CURLE_OK) {
        if (t.sink_failed)
            return req->sink_err && req->sink_err->code ? -req->sink_err->code
                                                        : servin_error_set(err, EIO, "write the download");
        if (rc == CURLE_WRITE_ERROR && resp->too_large)
            return servin_error_set(err, EFBIG, "the answer from %s is larger than %zu bytes", url,
                                    req->max_body ? req->max_body : (size_t)REG_SMALL_BODY_MAX);
        return transport_error(c, rc, url, errbuf, err);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    return 0;
}

static bool tls_failure(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
        return true;
    default:
        return false;
    }
}

/* Remember what a 401 asked for. Called with s->lock held. */
static void learn_challenge(struct reg_session *s, const char *header)
{
    struct servin_auth_challenge ch = {0};
    if (!header || servin_auth_challenge_parse(header, &ch, NULL) < 0)
        return;
    if (strcasecmp(ch.scheme, "basic") == 0) {
        s->basic = true;
        servin_auth_challenge_free(&ch);
        return;
    }
    servin_auth_challenge_free(&s->bearer);
    s->bearer = ch;
    s->have_bearer = true;
}

int reg_session_ping(struct reg_session *s, struct servin_error *err)
{
    struct reg_req req = {.method = "GET", .url = "/v2/"};
    struct reg_resp resp = {0};
    CURLcode rc = CURLE_OK;
    struct servin_error tls_err = {0};

    /* HTTPS first, always; an insecure registry that fails the TLS handshake is retried over plain
     * HTTP, as Docker does. */
    const char *schemes[] = {"https", "http"};
    int ret = -EIO;
    for (int i = s->plain_http ? 1 : 0; i < (s->insecure || s->plain_http ? 2 : 1); i++) {
        free(s->base);
        s->base = xasprintf("%s://%s", schemes[i], s->api_host);
        _cleanup_free_ char *url = xasprintf("%s/v2/", s->base);
        bool may_fall_back = s->insecure && i == 0;
        ret = perform(s, s->curl, &req, url, "GET", NULL, &resp, &rc, may_fall_back ? &tls_err : err);
        if (ret == 0)
            break;
        if (!may_fall_back)
            break;
        if (!tls_failure(rc)) {
            if (err)
                *err = tls_err;
            break;
        }
        log_debug("TLS to %s failed (%s), trying plain HTTP", s->api_host, tls_err.msg);
    }
    if (ret < 0) {
        reg_resp_free(&resp);
        return ret;
    }
    if (resp.status == 401) {
        pthread_mutex_lock(&s->lock);
        learn_challenge(s, resp.www_auth);
        pthread_mutex_unlock(&s->lock);
    } else if (resp.status == 404) {
        reg_resp_free(&resp);
        return servin_error_set(err, EPROTO, "%s does not speak the registry API v2 (GET /v2/: 404)",
                                s->api_host);
    }
    reg_resp_free(&resp);
    return 0;
}

/* The Authorization line to send for a scope, or NULL. Called with s->lock held. */
static int authorization(struct reg_session *s, CURL *c, const char *scope, bool refresh, char **out,
                         struct servin_error *err)
{
    *out = NULL;
    if (s->registry_token) { /* a bearer token given as it is: no token flow */
        *out = xasprintf("Authorization: Bearer %s", s->registry_token);
    } else if (s->have_bearer) {
        const char *token = NULL;
        int ret = reg_auth_token(s, c, scope, refresh, &token, err);
        if (ret < 0)
            return ret;
        if (token && *token)
            *out = xasprintf("Authorization: Bearer %s", token);
    } else if (s->basic && s->user) {
        *out = reg_basic_header(s->user, s->password ? s->password : "");
    }
    return 0;
}

static int unauthorized(struct reg_session *s, const struct reg_resp *resp, struct servin_error *err)
{
    struct servin_error inner = {0};
    reg_status_error(resp, &inner);
    if (!s->user && !s->registry_token && !s->identity_token)
        return servin_error_set(err, EACCES, "authentication required (try 'servin login %s'): %s", s->domain,
                                inner.msg);
    if (strncmp(inner.msg, "unauthorized", 12) == 0)
        return servin_error_set(err, EACCES, "%s", inner.msg);
    return servin_error_set(err, EACCES, "unauthorized: %s", inner.msg);
}

int reg_request(struct reg_session *s, struct reg_req *req, struct reg_resp *resp, struct servin_error *err)
{
    CURL *c = req->curl ? req->curl : s->curl;
    _cleanup_free_ char *url = req->url[0] == '/' ? xasprintf("%s%s", s->base, req->url) : xstrdup(req->url);
    const char *method = req->method;
    uint64_t fd_off = req->fd_offset, fd_len = req->fd_len;
    bool retried = false;
    CURLcode rc;

    for (int hops = 0; hops <= REG_MAX_REDIRECTS; hops++) {
        _cleanup_free_ char *authz = NULL;
        if (same_origin(s, url)) {
            pthread_mutex_lock(&s->lock);
            int ret = authorization(s, c, req->scope, false, &authz, err);
            pthread_mutex_unlock(&s->lock);
            if (ret < 0)
                return ret;
        }
        req->fd_offset = fd_off;
        req->fd_len = fd_len;
        int ret = perform(s, c, req, url, method, authz, resp, &rc, err);
        if (ret < 0)
            return ret;

        if (resp->status == 401 && same_origin(s, url)) {
            if (retried)
                return unauthorized(s, resp, err);
            retried = true;
            pthread_mutex_lock(&s->lock);
            bool had_auth = authz != NULL;
            learn_challenge(s, resp->www_auth);
            bool can_retry = s->have_bearer || (s->basic && s->user && !had_auth);
            if (!can_retry) {
                pthread_mutex_unlock(&s->lock);
                return unauthorized(s, resp, err);
            }
            /* Drop a cached token that no longer suffices (expired, or too narrow a scope). */
            _cleanup_free_ char *fresh = NULL;
            ret = authorization(s, c, req->scope, true, &fresh, err);
            pthread_mutex_unlock(&s->lock);
            if (ret < 0)
                return ret;
            hops--;
            continue;
        }
        if (req->follow && resp->status >= 300 && resp->status < 400 && resp->status != 304) {
            char *next = NULL;
            curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next);
            if (!next)
                return servin_error_set(err, EPROTO, "redirect (HTTP %ld) without a location from %s",
                                        resp->status, url);
            char *copy = xstrdup(next);
            free(url);
            url = copy;
            if (resp->status == 303)
                method = "GET";
            continue;
        }
        return 0;
    }
    return servin_error_set(err, ELOOP, "too many redirects from %s", req->url);
}

int reg_status_error(const struct reg_resp *r, struct servin_error *err)
{
    int code = r->status == 404 ? ENOENT : r->status == 401 || r->status == 403 ? EACCES : EIO;
    json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    json_t *errors = json_object_get(j, "errors");
    json_t *first = json_array_get(errors, 0);
    const char *ecode = json_string_value(json_object_get(first, "code"));
    const char *msg = json_string_value(json_object_get(first, "message"));
    if (ecode) {
        _cleanup_free_ char *lc = xstrdup(ecode);
        for (char *p = lc; *p; p++)
            *p = *p == '_' ? ' ' : (char)tolower((unsigned char)*p);
        servin_error_set(err, code, "%s: %s", lc, msg ? msg : "");
    } else if (j && json_string_value(json_object_get(j, "details"))) {
        servin_error_set(err, code, "%s", json_string_value(json_object_get(j, "details")));
    } else {
        servin_error_set(err, code, "HTTP %ld%s%.*s", r->status, r->body_len ? ": " : "",
                         (int)(r->body_len > 200 ? 200 : strcspn(r->body ? r->body : "", "\r\n")),
                         r->body ? r->body : "");
    }
    json_decref(j);
    return -code;
}
