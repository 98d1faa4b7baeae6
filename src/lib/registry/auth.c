/* registry/auth.c — WWW-Authenticate challenges, Basic credentials and bearer tokens cached per scope. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "registry/registry_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

void servin_auth_challenge_free(struct servin_auth_challenge *c)
{
    free(c->realm);
    free(c->service);
    free(c->scope);
    free(c->error);
    memset(c, 0, sizeof(*c));
}

/* Read a token or a quoted string (with backslash escapes) starting at *p. */
static char *parse_value(const char **p)
{
    const char *s = *p;
    if (*s != '"') {
        size_t n = strcspn(s, ", \t");
        *p = s + n;
        return xstrndup(s, n);
    }
    s++;
    size_t cap = strlen(s) + 1, len = 0;
    char *out = xmalloc(cap);
    while (*s && *s != '"') {
        if (*s == '\\' && s[1])
            s++;
        out[len++] = *s++;
    }
    out[len] = '\0';
    *p = *s == '"' ? s + 1 : s;
    return out;
}

int servin_auth_challenge_parse(const char *header, struct servin_auth_challenge *out,
                                struct servin_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *p = header;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, " \t");
    if ((n != 6 || strncasecmp(p, "bearer", 6) != 0) && (n != 5 || strncasecmp(p, "basic", 5) != 0))
        return servin_error_set(err, EINVAL, "unsupported authentication challenge \"%.100s\"", header);
    memcpy(out->scheme, p, n);
    out->scheme[n] = '\0';
    p += n;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t klen = strcspn(p, "= \t,");
        const char *key = p;
        p += klen;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=') {
            /* A bare token (e.g. token68) carries nothing we use. */
            continue;
        }
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        char *value = parse_value(&p);
        char **slot = NULL;
        if (klen == 5 && strncasecmp(key, "realm", 5) == 0)
            slot = &out->realm;
        else if (klen == 7 && strncasecmp(key, "service", 7) == 0)
            slot = &out->service;
        else if (klen == 5 && strncasecmp(key, "scope", 5) == 0)
            slot = &out->scope;
        else if (klen == 5 && strncasecmp(key, "error", 5) == 0)
            slot = &out->error;
        if (slot) {
            free(*slot);
            *slot = value;
        } else {
            free(value);
        }
    }
    if (strcasecmp(out->scheme, "bearer") == 0 && (!out->realm || !*out->realm)) {
        servin_auth_challenge_free(out);
        return servin_error_set(err, EINVAL, "bearer challenge without a realm: \"%.100s\"", header);
    }
    return 0;
}

char *reg_basic_header(const char *user, const char *password)
{
    _cleanup_free_ char *plain = xasprintf("%s:%s", user, password);
    size_t len = strlen(plain);
    _cleanup_free_ unsigned char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)len);
    explicit_bzero(plain, len);
    return xasprintf("Authorization: Basic %s", b64);
}

bool reg_host_is_loopback(const char *hostport)
{
    _cleanup_free_ char *host = NULL;
    if (hostport[0] == '[') {
        host = xstrndup(hostport + 1, strcspn(hostport + 1, "]"));
    } else {
        const char *colon = strrchr(hostport, ':');
        /* More than one colon without brackets: a bare IPv6 address. */
        host = colon && strchr(hostport, ':') == colon ? xstrndup(hostport, (size_t)(colon - hostport))
                                                       : xstrdup(hostport);
    }
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* "host[:port]" of a URL. */
static char *url_hostport(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *at = NULL;
    size_t n = strcspn(p, "/?#");
    for (size_t i = 0; i < n; i++)
        if (p[i] == '@')
            at = p + i;
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    return xstrndup(p, n);
}

struct membuf {
    char *data;
    size_t len;
};

static size_t collect(char *buf, size_t size, size_t n, void *ud)
{
    struct membuf *m = ud;
    size_t len = size * n;
    if (m->len + len > REG_SMALL_BODY_MAX)
        return 0;
    m->data = xrealloc(m->data, m->len + len + 1);
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    m->data[m->len] = '\0';
    return len;
}

static int fetch_token(struct reg_session *s, CURL *c, const char *scope, char **token,
                       struct servin_error *err)
{
    const char *realm = s->bearer.realm;
    _cleanup_free_ char *realm_host = url_hostport(realm);
    bool realm_insecure = servin_registry_insecure(realm_host);
    if (strncmp(realm, "https://", 8) != 0 && !(strncmp(realm, "http://", 7) == 0 && realm_insecure))
        return servin_error_set(err, EPERM,
                                "refusing token realm %s: only HTTPS (or plain HTTP to an insecure "
                                "registry) may carry credentials",
                                realm);

    _cleanup_free_ char *url = xstrdup(realm);
    char sep = strchr(url, '?') ? '&' : '?';
    if (s->bearer.service && *s->bearer.service) {
        _cleanup_free_ char *e = reg_url_escape(s->bearer.service);
        char *next = xasprintf("%s%cservice=%s", url, sep, e);
        free(url);
        url = next;
        sep = '&';
    }
    /* Several scopes ("repository:a:pull,push repository:b:pull") go as repeated parameters. */
    _cleanup_free_ char *scopes = xstrdup(scope ? scope : "");
    char *save = NULL;
    for (char *one = strtok_r(scopes, " ", &save); one; one = strtok_r(NULL, " ", &save)) {
        _cleanup_free_ char *e = reg_url_escape(one);
        char *next = xasprintf("%s%cscope=%s", url, sep, e);
        free(url);
        url = next;
        sep = '&';
    }

    char errbuf[CURL_ERROR_SIZE] = "";
    struct membuf body = {0};
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "servin/" SERVIN_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, realm_insecure ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, realm_insecure ? 0L : 2L);
    _cleanup_free_ char *form = NULL;
    if (s->identity_token) {
        /* OAuth2: trade the refresh token for an access token (POST, form-encoded). */
        _cleanup_free_ char *rt = reg_url_escape(s->identity_token);
        form = xasprintf("grant_type=refresh_token&client_id=servin&refresh_token=%s", rt);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    } else if (s->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_reset(c);
    if (rc != CURLE_OK) {
        free(body.data);
        return servin_error_set(err, EIO, "get a token from %s: %s", realm_host,
                                errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    if (status != 200) {
        struct reg_resp r = {.status = status, .body = body.data, .body_len = body.len};
        struct servin_error inner = {0};
        reg_status_error(&r, &inner);
        free(body.data);
        if (status == 401 || status == 403) {
            if (!s->user && !s->identity_token)
                return servin_error_set(err, EACCES, "authentication required (try 'servin login %s'): %s",
                                        s->domain, inner.msg);
            if (strncmp(inner.msg, "unauthorized", 12) == 0)
                return servin_error_set(err, EACCES, "%s", inner.msg);
            return servin_error_set(err, EACCES, "unauthorized: %s", inner.msg);
        }
        return servin_error_set(err, EIO, "get a token from %s: %s", realm_host, inner.msg);
    }
    json_t *j = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
    free(body.data);
    const char *t = json_string_value(json_object_get(j, "token"));
    if (!t || !*t)
        t = json_string_value(json_object_get(j, "access_token"));
    if (!t || !*t) {
        json_decref(j);
        return servin_error_set(err, EPROTO, "the token server %s answered without a token", realm_host);
    }
    *token = xstrdup(t);
    json_decref(j);
    return 0;
}

int reg_auth_token(struct reg_session *s, CURL *curl, const char *scope, bool refresh, const char **token,
                   struct servin_error *err)
{
    const char *key = scope ? scope : "";
    for (size_t i = 0; i < s->n_tokens; i++) {
        if (strcmp(s->tokens[i].scope, key) != 0)
            continue;
        if (!refresh) {
            *token = s->tokens[i].token;
            return 0;
        }
        free(s->tokens[i].scope);
        free(s->tokens[i].token);
        s->tokens[i] = s->tokens[--s->n_tokens];
        break;
    }
    char *t = NULL;
    int ret = fetch_token(s, curl, scope, &t, err);
    if (ret < 0)
        return ret;
    s->tokens = xreallocarray(s->tokens, s->n_tokens + 1, sizeof(*s->tokens));
    s->tokens[s->n_tokens].scope = xstrdup(key);
    s->tokens[s->n_tokens].token = t;
    *token = s->tokens[s->n_tokens++].token;
    log_debug("got a token for %s scope \"%s\"", s->domain, key);
    return 0;
}
