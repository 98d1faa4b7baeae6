/* registry/authfile.c — credentials in Docker's auth.json format: {"auths": {"host": {"auth":
 * b64(user:pass)}}}. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "registry/registry_internal.h"
#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/fs.h"

char *servin_authfile_path(void)
{
    const char *p = getenv("SERVIN_REGISTRY_AUTH_FILE");
    if (p && *p)
        return xstrdup(p);
    p = getenv("REGISTRY_AUTH_FILE");
    if (p && *p)
        return xstrdup(p);
    _cleanup_config_ struct servin_config *cfg = servin_config_current();
    if (cfg->registries.credentials_file)
        return xstrdup(cfg->registries.credentials_file);
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg && *xdg)
        return xasprintf("%s/servin/auth.json", xdg);
    const char *home = getenv("HOME");
    return xasprintf("%s/.config/servin/auth.json", home && *home ? home : "/root");
}

char *servin_authfile_key(const char *server)
{
    const char *s = server;
    if (strncmp(s, "https://", 8) == 0)
        s += 8;
    else if (strncmp(s, "http://", 7) == 0)
        s += 7;
    char *key = xstrndup(s, strcspn(s, "/"));
    if (strcmp(key, "index.docker.io") == 0 || strcmp(key, "registry-1.docker.io") == 0) {
        free(key);
        key = xstrdup("docker.io");
    }
    return key;
}

static int load(const char *path, json_t **out, struct servin_error *err)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    struct servin_error inner = {0};
    if (servin_read_file(path, &data, &len, &inner) < 0) {
        if (inner.code == ENOENT) {
            *out = json_object();
            return 0;
        }
        *err = inner;
        return -inner.code;
    }
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return servin_error_set(err, EINVAL, "read credentials file %s: not a JSON object (%s)", path,
                                j ? "wrong type" : jerr.text);
    }
    *out = j;
    return 0;
}

/* Entries may be keyed "host", "https://host" or "https://host/v1/" (Docker Hub's legacy key). */
static const char *find_key(json_t *auths, const char *key)
{
    const char *k;
    json_t *v;
    json_object_foreach (auths, k, v) {
        _cleanup_free_ char *norm = servin_authfile_key(k);
        if (strcmp(norm, key) == 0)
            return k;
    }
    return NULL;
}

int servin_authfile_get(const char *path, const char *server, char **user, char **password,
                        struct servin_error *err)
{
    json_t *root = NULL;
    int ret = load(path, &root, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *key = servin_authfile_key(server);
    json_t *auths = json_object_get(root, "auths");
    const char *k = find_key(auths, key);
    const char *b64 = k ? json_string_value(json_object_get(json_object_get(auths, k), "auth")) : NULL;
    if (!b64 || !*b64) {
        json_decref(root);
        return servin_error_set(err, ENOENT, "no credentials for %s in %s", key, path);
    }
    size_t len = strlen(b64);
    _cleanup_free_ unsigned char *plain = xmalloc(len + 1);
    int n = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)len);
    /* EVP_DecodeBlock counts the padding as data; drop the zero bytes it produced. */
    while (n > 0 && len > 0 && b64[len - 1] == '=') {
        n--;
        len--;
    }
    /* NUL-terminate the decoded text, so string functions never read past it. */
    plain[n > 0 ? n : 0] = '\0';
    char *colon = n > 0 ? memchr(plain, ':', (size_t)n) : NULL;
    if (!colon) {
        json_decref(root);
        return servin_error_set(err, EINVAL, "credentials for %s in %s are not base64 of \"user:password\"",
                                key, path);
    }
    *user = xstrndup((char *)plain, (size_t)(colon - (char *)plain));
    *password = xstrndup(colon + 1, (size_t)n - (size_t)(colon + 1 - (char *)plain));
    explicit_bzero(plain, (size_t)n);
    json_decref(root);
    return 0;
}

static int save(const char *path, json_t *root, struct servin_error *err)
{
    _cleanup_free_ char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int ret = servin_mkdir_p(dir, 0700, err);
        if (ret < 0)
            return servin_error_wrap(err, "save credentials");
    }
    _cleanup_free_ char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text)
        return servin_error_set(err, ENOMEM, "save credentials: cannot serialise JSON");
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    int ret = servin_write_file_atomic(path, text, len, 0600, err);
    explicit_bzero(text, len);
    if (ret < 0)
        return servin_error_wrap(err, "save credentials");
    return 0;
}

/* The file's "auths" object, made (replacing whatever else stood there) when it has none. */
static json_t *auths_for_writing(json_t *root)
{
    json_t *auths = json_object_get(root, "auths");
    if (!json_is_object(auths)) {
        auths = json_object();
        json_object_set_new(root, "auths", auths);
    }
    return auths;
}

int servin_authfile_set(const char *path, const char *server, const char *user, const char *password,
                        struct servin_error *err)
{
    json_t *root = NULL;
    int ret = load(path, &root, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *key = servin_authfile_key(server);
    json_t *auths = auths_for_writing(root);
    const char *old;
    while ((old = find_key(auths, key)))
        json_object_del(auths, old);
    _cleanup_free_ char *plain = xasprintf("%s:%s", user, password);
    size_t len = strlen(plain);
    _cleanup_free_ unsigned char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)len);
    explicit_bzero(plain, len);
    json_object_set_new(auths, key, json_pack("{s:s}", "auth", (const char *)b64));
    ret = save(path, root, err);
    json_decref(root);
    return ret;
}

int servin_authfile_get_tokens(const char *path, const char *server, char **identity_token,
                               char **registry_token, struct servin_error *err)
{
    *identity_token = *registry_token = NULL;
    json_t *root = NULL;
    int ret = load(path, &root, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *key = servin_authfile_key(server);
    const char *k = find_key(json_object_get(root, "auths"), key);
    json_t *entry = k ? json_object_get(json_object_get(root, "auths"), k) : NULL;
    if (!entry) {
        json_decref(root);
        return servin_error_set(err, ENOENT, "no credentials for %s in %s", key, path);
    }
    const char *it = json_string_value(json_object_get(entry, "identitytoken"));
    const char *rt = json_string_value(json_object_get(entry, "registrytoken"));
    *identity_token = it && *it ? xstrdup(it) : NULL;
    *registry_token = rt && *rt ? xstrdup(rt) : NULL;
    json_decref(root);
    return 0;
}

int servin_authfile_set_tokens(const char *path, const char *server, const char *identity_token,
                               const char *registry_token, struct servin_error *err)
{
    json_t *root = NULL;
    int ret = load(path, &root, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *key = servin_authfile_key(server);
    json_t *auths = auths_for_writing(root);
    const char *k = find_key(auths, key);
    json_t *entry = k ? json_object_get(auths, k) : NULL;
    if (!entry) {
        entry = json_object();
        json_object_set_new(auths, key, entry);
    }
    if (identity_token && *identity_token)
        json_object_set_new(entry, "identitytoken", json_string(identity_token));
    if (registry_token && *registry_token)
        json_object_set_new(entry, "registrytoken", json_string(registry_token));
    ret = save(path, root, err);
    json_decref(root);
    return ret;
}

int servin_authfile_remove(const char *path, const char *server, struct servin_error *err)
{
    json_t *root = NULL;
    int ret = load(path, &root, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *key = servin_authfile_key(server);
    json_t *auths = json_object_get(root, "auths");
    const char *old;
    bool found = false;
    while ((old = find_key(auths, key))) {
        json_object_del(auths, old);
        found = true;
    }
    if (!found) {
        json_decref(root);
        return servin_error_set(err, ENOENT, "not logged in to %s", key);
    }
    ret = save(path, root, err);
    json_decref(root);
    return ret;
}

int servin_authfile_list(const char *path, char ***servers, struct servin_error *err)
{
    json_t *root = NULL;
    int ret = load(path, &root, err);
    if (ret < 0)
        return ret;
    json_t *auths = json_object_get(root, "auths");
    size_t n = 0;
    char **v = xcalloc(1, sizeof(char *));
    const char *k;
    json_t *entry;
    json_object_foreach (auths, k, entry) {
        v = xreallocarray(v, n + 2, sizeof(char *));
        v[n++] = servin_authfile_key(k);
        v[n] = NULL;
    }
    json_decref(root);
    *servers = v;
    return 0;
}
