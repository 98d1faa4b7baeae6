/* content.h — the content store: verified, content-addressed blobs under content/blobs/sha256. */
#ifndef SERVIN_CONTENT_H
#define SERVIN_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "servin/digest.h"
#include "servin/error.h"
#include "servin/store.h"

struct servin_content_writer;

/* Path of a blob, whether or not it is present. An invalid digest gives a path that never exists
 * (content/blobs/invalid-digest), so a caller cannot be tricked into a path outside the store. */
char *servin_content_path(struct servin_store *store, const char *digest);
bool servin_content_has(struct servin_store *store, const char *digest, uint64_t *size);

/* Start writing a blob. With an expected digest the partial data of an earlier, interrupted
 * write of the same blob is kept (content/ingest/<hex>.partial) and *resume_offset says how much of
 * it there is (the writer has already hashed it); without one, resume_offset may be NULL. While
 * another writer holds that file (a flock), a second writer of the same blob gets a private temp
 * file and no resume; both may commit, since the bytes are the same. */
int servin_content_writer_open(struct servin_store *store, const char *expected_digest,
                               struct servin_content_writer **out, uint64_t *resume_offset,
                               struct servin_error *err);
int servin_content_writer_write(struct servin_content_writer *w, const void *data, size_t len,
                                struct servin_error *err);
/* Forget the partial data (e.g. the server ignored our Range request) and start from 0. */
int servin_content_writer_truncate(struct servin_content_writer *w, struct servin_error *err);
uint64_t servin_content_writer_size(const struct servin_content_writer *w);
/* Start the disk writeback of the data as it is written, so that the fsync of commit finds little
 * left to do (a registry upload, whose client waits for that fsync). */
void servin_content_writer_write_behind(struct servin_content_writer *w);
/* Name the digest the data must have when it was not known at open (a registry upload learns it
 * at the end); commit then refuses other data. */
int servin_content_writer_expect(struct servin_content_writer *w, const char *digest,
                                 struct servin_error *err);
/* Verify against the expected digest (and size when nonzero), fsync and rename into place; on a
 * mismatch nothing is stored and the partial data is removed. Frees the writer either way. */
int servin_content_writer_commit(struct servin_content_writer *w, uint64_t expected_size,
                                 char out_digest[SERVIN_DIGEST_MAX], struct servin_error *err);
/* Let commit rename the verified blob in without waiting for the disk, so that work on it (the
 * unpack) overlaps the writeback; the caller must call servin_content_sync before anything
 * durable refers to the blob. Until then a crash can leave a damaged blob under its digest: a
 * reader that finds a blob it did not just write unusable must delete it and fetch it again. */
void servin_content_writer_defer_sync(struct servin_content_writer *w);
int servin_content_sync(struct servin_store *store, const char *digest, struct servin_error *err);
/* Drop the writer, keeping the partial data for a later resume when it had an expected digest. */
void servin_content_writer_close(struct servin_content_writer *w);

/* Store a small blob from memory; expected may be NULL. */
int servin_content_put(struct servin_store *store, const void *data, size_t len,
                       const char *expected, char out_digest[SERVIN_DIGEST_MAX],
                       struct servin_error *err);
/* Store the content of a file (copied, hashed on the way). */
int servin_content_put_file(struct servin_store *store, const char *path, const char *expected,
                            char out_digest[SERVIN_DIGEST_MAX], uint64_t *size,
                            struct servin_error *err);
/* Read a whole blob, checking its digest (for manifests and configs, which are small). */
int servin_content_read(struct servin_store *store, const char *digest, char **data, size_t *len,
                        struct servin_error *err);
/* The same without hashing it again, for reading what a stored config or manifest says (on the
 * path of every `run`): a blob only enters the store once its digest matched. What is sent
 * elsewhere (push, save) goes through servin_content_read. */
int servin_content_read_stored(struct servin_store *store, const char *digest, char **data, size_t *len,
                               struct servin_error *err);

#endif
