/* digest.h — OCI content digests ("sha256:<64 hex>") and streaming SHA-256. */
#ifndef SERVIN_DIGEST_H
#define SERVIN_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "servin/error.h"

#define SERVIN_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

struct servin_sha256; /* opaque streaming hasher */

struct servin_sha256 *servin_sha256_new(void);
void servin_sha256_update(struct servin_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out (SERVIN_DIGEST_MAX bytes) and frees the hasher. */
void servin_sha256_finish(struct servin_sha256 *h, char out[SERVIN_DIGEST_MAX]);
void servin_sha256_free(struct servin_sha256 *h);

void servin_digest_bytes(const void *data, size_t len, char out[SERVIN_DIGEST_MAX]);
int servin_digest_file(const char *path, char out[SERVIN_DIGEST_MAX], uint64_t *size,
                       struct servin_error *err);
/* True for "sha256:" followed by exactly 64 lowercase hex digits (the only algorithm we store). */
bool servin_digest_valid(const char *digest);
/* The hex part of a valid digest. */
const char *servin_digest_hex(const char *digest);

#endif
