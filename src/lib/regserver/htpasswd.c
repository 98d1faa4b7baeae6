/* regserver/htpasswd.c — Basic auth against an htpasswd file of bcrypt hashes (htpasswd -B). */
#include <crypt.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "regserver/regserver_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

/* bcrypt is slow on purpose, and a client sends the same header on every request: remember the
 * digests of headers already verified, so a push costs one hash, not one per blob request. */
#define VERIFIED_MAX 64

struct rs_htpasswd {
    char **users;
    char **hashes;
    size_t n;
    pthread_mutex_t lock;
    char verified[VERIFIED_MAX][SERVIN_DIGEST_MAX];
    char *verified_user[VERIFIED_MAX];
    size_t next_slot;
};

void rs_htpasswd_free(struct rs_htpasswd *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->users[i]);
        free(h->hashes[i]);
    }
    for (size_t i = 0; i < VERIFIED_MAX; i++)
        free(h->verified_user[i]);
    free(h->users);
    free(h->hashes);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static bool is_bcrypt(const char *hash)
{
    return strncmp(hash, "$2y$", 4) == 0 || strncmp(hash, "$2b$", 4) == 0 || strncmp(hash, "$2a$", 4) == 0;
}

int rs_htpasswd_load(const char *path, struct rs_htpasswd **out, struct servin_error *err)
{
    _cleanup_free_ char *text = NULL;
    int ret = servin_read_file(path, &text, NULL, err);
    if (ret < 0)
        return servin_error_wrap(err, "read htpasswd file");
    struct rs_htpasswd *h = xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    int lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        line[strcspn(line, "\r")] = '\0';
        if (!*line || *line == '#')
            continue;
        char *colon = strchr(line, ':');
        if (!colon || colon == line || !is_bcrypt(colon + 1)) {
            rs_htpasswd_free(h);
            return servin_error_set(
                err, EINVAL,
                "htpasswd file %s, line %d: expected \"user:<bcrypt hash>\" (create entries "
                "with htpasswd -B)",
                path, lineno);
        }
        *colon = '\0';
        h->users = xreallocarray(h->users, h->n + 1, sizeof(char *));
        h->hashes = xreallocarray(h->hashes, h->n + 1, sizeof(char *));
        h->users[h->n] = xstrdup(line);
        h->hashes[h->n] = xstrdup(colon + 1);
        h->n++;
    }
    if (h->n == 0) {
        rs_htpasswd_free(h);
        return servin_error_set(err, EINVAL, "htpasswd file %s has no users", path);
    }
    *out = h;
    return 0;
}

static bool hash_matches(const char *hash, const char *password)
{
    struct crypt_data *data = xcalloc(1, sizeof(*data));
    const char *got = crypt_r(password, hash, data);
    bool ok = got && got[0] != '*' && strcmp(got, hash) == 0;
    explicit_bzero(data, sizeof(*data));
    free(data);
    return ok;
}

static const char *lookup_hash(struct rs_htpasswd *h, const char *user)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->users[i], user) == 0)
            return h->hashes[i];
    return NULL;
}

/* Decode "Basic <base64(user:password)>" into user and password. */
static int decode_basic(const char *authorization, char **user, char **password)
{
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0)
        return -EINVAL;
    const char *b64 = authorization + 6;
    while (*b64 == ' ')
        b64++;
    size_t len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len > 4096)
        return -EINVAL;
    _cleanup_free_ unsigned char *raw = xmalloc(len / 4 * 3 + 1);
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
    if (n < 0)
        return -EINVAL;
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    if (b64[len - 1] == '=')
        n--;
    if (b64[len - 2] == '=')
        n--;
    raw[n] = '\0';
    if (memchr(raw, '\0', (size_t)n))
        return -EINVAL;
    char *colon = strchr((char *)raw, ':');
    if (!colon)
        return -EINVAL;
    *user = xstrndup((char *)raw, (size_t)(colon - (char *)raw));
    *password = xstrdup(colon + 1);
    explicit_bzero(raw, (size_t)n);
    return 0;
}

char *rs_htpasswd_authorize(struct rs_htpasswd *h, const char *authorization)
{
    if (!authorization)
        return NULL;
    char key[SERVIN_DIGEST_MAX];
    servin_digest_bytes(authorization, strlen(authorization), key);
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < VERIFIED_MAX; i++)
        if (h->verified_user[i] && strcmp(h->verified[i], key) == 0) {
            char *user = xstrdup(h->verified_user[i]);
            pthread_mutex_unlock(&h->lock);
            return user;
        }
    pthread_mutex_unlock(&h->lock);

    _cleanup_free_ char *user = NULL, *password = NULL;
    if (decode_basic(authorization, &user, &password) < 0)
        return NULL;
    const char *hash = lookup_hash(h, user);
    bool ok = hash && hash_matches(hash, password);
    explicit_bzero(password, strlen(password));
    if (!ok)
        return NULL;
    pthread_mutex_lock(&h->lock);
    size_t slot = h->next_slot++ % VERIFIED_MAX;
    free(h->verified_user[slot]);
    h->verified_user[slot] = xstrdup(user);
    memcpy(h->verified[slot], key, SERVIN_DIGEST_MAX);
    pthread_mutex_unlock(&h->lock);
    return steal_pointer(&user);
}

int servin_htpasswd_check(const char *path, const char *user, const char *password, struct servin_error *err)
{
    struct rs_htpasswd *h = NULL;
    int ret = rs_htpasswd_load(path, &h, err);
    if (ret < 0)
        return ret;
    const char *hash = lookup_hash(h, user);
    ret = hash && hash_matches(hash, password) ? 1 : 0;
    rs_htpasswd_free(h);
    return ret;
}
