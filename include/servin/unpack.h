/* unpack.h — turning a layer blob into layers/<chain-id>/diff, in overlayfs form. */
#ifndef SERVIN_UNPACK_H
#define SERVIN_UNPACK_H

#include <stdint.h>

#include "servin/digest.h"
#include "servin/error.h"
#include "servin/store.h"

/* Unpack the (gzip, zstd or plain) tar blob `blob_digest` from the content store into
 * layers/<chain hex>/diff, unless that layer is already present. The uncompressed stream is hashed
 * on the way: diff_id receives its digest, and when expected_diff_id is given a mismatch is an
 * error. chain_id is computed from parent_chain_id (NULL for the base layer) and the diff_id.
 * OCI whiteouts (.wh.name) become overlayfs whiteouts (0:0 char devices), opaque markers
 * (.wh..wh..opq) the trusted.overlay.opaque xattr. Entries that would land outside the layer root
 * (.., absolute or escaping symlinks on the way) are refused and nothing is left behind.
 * Unpacks into a temp dir (layers/<hex>.tmp-<pid>-<n>) and renames, so a crash never leaves a half
 * layer under a real id. Beside diff, the files diff_id and size record what the unpack found, so a
 * later call for a present layer (with expected_diff_id) costs a stat and a small read. */
int servin_layer_unpack(struct servin_store *store, const char *blob_digest,
                        const char *parent_chain_id, const char *expected_diff_id,
                        char diff_id[SERVIN_DIGEST_MAX], char chain_id[SERVIN_DIGEST_MAX],
                        uint64_t *unpacked_size, struct servin_error *err);

/* Unpack a tar stream read from fd (any compression) into dest, with the same rules. Used by
 * `import`, which has no blob yet. Computes the digest of the uncompressed stream. dest is created
 * when missing, and removed again on failure if this call created it. */
int servin_unpack_fd(int fd, const char *dest, char diff_id[SERVIN_DIGEST_MAX], uint64_t *unpacked_size,
                     struct servin_error *err);

#endif
