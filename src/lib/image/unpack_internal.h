/* image/unpack_internal.h — shared between unpack.c (the stream) and unpack_entries.c (the files). */
#ifndef SERVIN_IMAGE_UNPACK_INTERNAL_H
#define SERVIN_IMAGE_UNPACK_INTERNAL_H

#include <archive.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "servin/digest.h"
#include "servin/error.h"

#define UNPACK_SLOTS 4
#define UNPACK_SLOT_SIZE (1024 * 1024)

struct unpack_job {
    const char *dest;  /* directory the layer is unpacked into */
    const char *label; /* the blob digest, for messages; "" when unpacking a bare stream */
    bool chrooted;     /* the unpacking thread's root is the layer directory */
    struct servin_error *err;
    int ret;

    struct archive *outer; /* raw format, all filters: the uncompressed tar */
    struct servin_sha256 *hash;
    uint64_t stream_size;
    char stream_error[512];

    /* The ring between the decompressing thread and the extracting one: slots [tail, head) are
     * filled; the consumer holds slot tail while libarchive reads it. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *slot_data[UNPACK_SLOTS];
    size_t slot_len[UNPACK_SLOTS];
    unsigned head, tail;
    bool holding;
    bool eof, stream_failed;             /* set by the producer */
    bool consumer_done, consumer_failed; /* set by the consumer when it stops reading */

    uint64_t unpacked_size; /* bytes of regular files */
    char *checked_dir;      /* a directory known to have no symlink on its way (cache) */
};

/* Set err to "layer <label>: <message>" and return -code. */
int unpack_fail(struct unpack_job *job, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Extract every entry of the tar reader `in` into the current directory, which is the layer root. */
int unpack_entries(struct unpack_job *job, struct archive *in);

#endif
