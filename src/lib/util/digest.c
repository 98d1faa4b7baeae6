/* util/digest.c — SHA-256 digests in OCI form, over OpenSSL's EVP interface. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/digest.h"

struct servin_sha256 {
    EVP_MD_CTX *ctx;
};

struct servin_sha256 *servin_sha256_new(void)
{
    struct servin_sha256 *h = xmalloc(sizeof(*h));
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
        abort(); /* only fails on OOM */
    return h;
}

void servin_sha256_update(struct servin_sha256 *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

void servin_sha256_finish(struct servin_sha256 *h, char out[SERVIN_DIGEST_MAX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    strcpy(out, "sha256:");
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 7 + i * 2, 3, "%02x", md[i]);
    servin_sha256_free(h);
}

void servin_sha256_free(struct servin_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void servin_digest_bytes(const void *data, size_t len, char out[SERVIN_DIGEST_MAX])
{
    struct servin_sha256 *h = servin_sha256_new();
    servin_sha256_update(h, data, len);
    servin_sha256_finish(h, out);
}

int servin_digest_file(const char *path, char out[SERVIN_DIGEST_MAX], uint64_t *size,
                       struct servin_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return servin_error_errno(err, errno, "open %s", path);
    struct servin_sha256 *h = servin_sha256_new();
    char buf[65536];
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            servin_sha256_free(h);
            return servin_error_errno(err, errno, "read %s", path);
        }
        if (n == 0)
            break;
        servin_sha256_update(h, buf, (size_t)n);
        total += (uint64_t)n;
    }
    servin_sha256_finish(h, out);
    if (size)
        *size = total;
    return 0;
}

bool servin_digest_valid(const char *digest)
{
    if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
        return false;
    for (const char *p = digest + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

const char *servin_digest_hex(const char *digest)
{
    const char *colon = strchr(digest, ':');
    return colon ? colon + 1 : digest;
}
