/* image/unpack.c — unpack one layer blob into layers/<chain-id>/diff, and the ChainID arithmetic.
 *
 * A layer is decompressed once: an outer libarchive reader (format "raw", every filter) yields the
 * uncompressed tar, and a read callback hashes each block (for the diff_id) as it hands it to an
 * inner reader in tar format, whose entries are written by unpack_entries.c. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/unpack.h"

/* Big reads: the blob is read sequentially and a 1 MiB read amortises syscalls well. */
#define READ_BUF (1024 * 1024)

void servin_chain_id(const char *parent_chain, const char *diff_id, char out[SERVIN_DIGEST_MAX])
{
    if (!parent_chain || !*parent_chain) {
        snprintf(out, SERVIN_DIGEST_MAX, "%s", diff_id);
        return;
    }
    _cleanup_free_ char *text = xasprintf("%s %s", parent_chain, diff_id);
    servin_digest_bytes(text, strlen(text), out);
}

/* The next block of the uncompressed stream, hashed: 1 with data, 0 at the end, -1 on error (the
 * message is left in job->stream_error). */
static int next_block(struct unpack_job *job, const void **buf, size_t *size)
{
    for (;;) {
        la_int64_t offset = 0;
        int r = archive_read_data_block(job->outer, buf, size, &offset);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN) {
            const char *msg = archive_error_string(job->outer);
            snprintf(job->stream_error, sizeof(job->stream_error), "%s",
                     msg ? msg : "cannot decompress the layer");
            return -1;
        }
        if (*size == 0)
            continue;
        servin_sha256_update(job->hash, *buf, *size);
        job->stream_size += *size;
        return 1;
    }
}

/* Producer (the calling thread): decompress and hash into the ring of slots. Decompression and
 * hashing are CPU work while extraction is mostly system calls, so running them in two threads
 * overlaps the two; a big single-layer image unpacks about as fast as it decompresses. */
static void produce(struct unpack_job *job)
{
    const void *block = NULL;
    size_t block_len = 0;
    int r = 1;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        while (job->head - job->tail >= UNPACK_SLOTS && !job->consumer_done)
            pthread_cond_wait(&job->cond, &job->lock);
        bool done = job->consumer_done;
        unsigned idx = job->head % UNPACK_SLOTS;
        pthread_mutex_unlock(&job->lock);
        if (done)
            break;

        size_t len = 0;
        while (len < UNPACK_SLOT_SIZE) {
            if (block_len == 0) {
                r = next_block(job, &block, &block_len);
                if (r <= 0)
                    break;
            }
            size_t n = block_len < UNPACK_SLOT_SIZE - len ? block_len : UNPACK_SLOT_SIZE - len;
            memcpy(job->slot_data[idx] + len, block, n);
            len += n;
            block = (const char *)block + n;
            block_len -= n;
        }
        pthread_mutex_lock(&job->lock);
        if (len > 0) {
            job->slot_len[idx] = len;
            job->head++;
        }
        if (r <= 0) {
            job->eof = true;
            job->stream_failed = r < 0;
        }
        pthread_cond_broadcast(&job->cond);
        pthread_mutex_unlock(&job->lock);
        if (r <= 0)
            return;
    }
    /* The tar reader stops at the end-of-archive marker, but the diff_id covers the padding after
     * it too. After a failed extraction the rest of the stream does not matter. */
    if (!job->consumer_failed) {
        while ((r = next_block(job, &block, &block_len)) > 0)
            ;
        job->stream_failed = r < 0;
    }
}

/* Read callback of the tar reader (consumer): the next filled slot. The slot handed out last time
 * stays valid until this call, as libarchive requires, and is only then given back. */
static la_ssize_t stream_read(struct archive *a, void *ctx, const void **buf)
{
    struct unpack_job *job = ctx;
    pthread_mutex_lock(&job->lock);
    if (job->holding) {
        job->tail++;
        job->holding = false;
        pthread_cond_broadcast(&job->cond);
    }
    while (job->head == job->tail && !job->eof)
        pthread_cond_wait(&job->cond, &job->lock);
    la_ssize_t ret = 0;
    if (job->head != job->tail) {
        unsigned idx = job->tail % UNPACK_SLOTS;
        job->holding = true;
        *buf = job->slot_data[idx];
        ret = (la_ssize_t)job->slot_len[idx];
    } else if (job->stream_failed) {
        archive_set_error(a, EIO, "%s", job->stream_error);
        ret = -1;
    }
    pthread_mutex_unlock(&job->lock);
    return ret;
}

static int unpack_in_thread(struct unpack_job *job)
{
    /* The extraction needs a working directory (libarchive's symlink checks work on relative
     * paths), but chdir is per process and several layers unpack at once in threads. A thread
     * that unshares CLONE_FS gets its own cwd and root, so this thread can chdir, and chroot as
     * well: even a path our checks missed then cannot reach outside the layer directory. */
    if (unshare(CLONE_FS) < 0)
        return unpack_fail(job, errno, "cannot give the unpacking thread its own directory: %s",
                           strerror(errno));
    if (chdir(job->dest) < 0)
        return unpack_fail(job, errno, "cannot enter %s: %s", job->dest, strerror(errno));
    /* Without CAP_SYS_CHROOT (rootless) the path checks and libarchive's secure flags remain. */
    if (chroot(".") == 0)
        job->chrooted = true;
    else if (errno != EPERM)
        return unpack_fail(job, errno, "cannot chroot into %s: %s", job->dest, strerror(errno));

    struct archive *in = archive_read_new();
    archive_read_support_format_tar(in);
    int ret;
    if (archive_read_open(in, job, NULL, stream_read, NULL) != ARCHIVE_OK)
        ret = unpack_fail(job, EIO, "not a tar archive: %s", archive_error_string(in));
    else
        ret = unpack_entries(job, in);
    archive_read_free(in);
    return ret;
}

static void *unpack_thread(void *arg)
{
    struct unpack_job *job = arg;
    job->ret = unpack_in_thread(job);
    pthread_mutex_lock(&job->lock);
    job->consumer_done = true;
    job->consumer_failed = job->ret < 0;
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

/* Unpack the stream on fd into the existing directory dest. */
static int unpack_stream(int fd, const char *dest, const char *label, char diff_id[SERVIN_DIGEST_MAX],
                         uint64_t *unpacked_size, struct servin_error *err)
{
    struct unpack_job job = {.dest = dest, .label = label, .err = err};
    /* Everything that may load files (filter programs, OpenSSL's providers) happens here, outside
     * the unpacking thread that chroots. */
    job.outer = archive_read_new();
    archive_read_support_filter_all(job.outer);
    archive_read_support_format_raw(job.outer);
    struct archive_entry *raw;
    int ret = 0;
    if (archive_read_open_fd(job.outer, fd, READ_BUF) != ARCHIVE_OK ||
        archive_read_next_header(job.outer, &raw) != ARCHIVE_OK) {
        ret = unpack_fail(&job, EIO, "cannot read the layer: %s",
                          archive_error_string(job.outer) ? archive_error_string(job.outer) : "it is empty");
        archive_read_free(job.outer);
        return ret;
    }
    job.hash = servin_sha256_new();
    pthread_mutex_init(&job.lock, NULL);
    pthread_cond_init(&job.cond, NULL);
    for (int i = 0; i < UNPACK_SLOTS; i++)
        job.slot_data[i] = xmalloc(UNPACK_SLOT_SIZE);

    pthread_t thread;
    int e = pthread_create(&thread, NULL, unpack_thread, &job);
    if (e != 0) {
        ret = unpack_fail(&job, e, "cannot start the unpacking thread: %s", strerror(e));
    } else {
        produce(&job);
        pthread_join(thread, NULL);
        ret = job.ret;
        if (ret == 0 && job.stream_failed)
            ret = unpack_fail(&job, EIO, "cannot decompress the layer: %s", job.stream_error);
    }
    archive_read_free(job.outer);
    for (int i = 0; i < UNPACK_SLOTS; i++)
        free(job.slot_data[i]);
    pthread_cond_destroy(&job.cond);
    pthread_mutex_destroy(&job.lock);
    if (ret < 0) {
        servin_sha256_free(job.hash);
        return ret;
    }
    servin_sha256_finish(job.hash, diff_id);
    if (unpacked_size)
        *unpacked_size = job.unpacked_size;
    return 0;
}

int servin_unpack_fd(int fd, const char *dest, char diff_id[SERVIN_DIGEST_MAX], uint64_t *unpacked_size,
                     struct servin_error *err)
{
    bool created = mkdir(dest, 0755) == 0;
    if (!created && errno != EEXIST)
        return servin_error_errno(err, errno, "create directory %s", dest);
    int ret = unpack_stream(fd, dest, "", diff_id, unpacked_size, err);
    /* Leave nothing behind that we made: a half-unpacked tree is worse than none. */
    if (ret < 0 && created)
        servin_rm_rf(dest, NULL);
    return ret;
}

static int write_small(const char *path, const char *text, struct servin_error *err)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t n = strlen(text);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n)
        return servin_error_errno(err, errno ? errno : EIO, "write %s", path);
    return 0;
}

/* The unpacked size of a layer already in place: from its size file, else counted. */
static uint64_t layer_size(const char *layer_dir)
{
    _cleanup_free_ char *path = xasprintf("%s/size", layer_dir);
    _cleanup_free_ char *text = NULL;
    if (servin_read_file(path, &text, NULL, NULL) == 0) {
        char *end;
        unsigned long long v = strtoull(text, &end, 10);
        if (end != text)
            return v;
    }
    _cleanup_free_ char *diff = xasprintf("%s/diff", layer_dir);
    return (uint64_t)servin_dir_size(diff);
}

static bool layer_present(const char *layer_dir)
{
    _cleanup_free_ char *diff = xasprintf("%s/diff", layer_dir);
    struct stat st;
    return stat(diff, &st) == 0 && S_ISDIR(st.st_mode);
}

int servin_layer_unpack(struct servin_store *store, const char *blob_digest, const char *parent_chain_id,
                        const char *expected_diff_id, char diff_id[SERVIN_DIGEST_MAX],
                        char chain_id[SERVIN_DIGEST_MAX], uint64_t *unpacked_size, struct servin_error *err)
{
    static unsigned counter;
    if (!servin_digest_valid(blob_digest))
        return servin_error_set(err, EINVAL, "invalid layer digest \"%.100s\"",
                                blob_digest ? blob_digest : "");
    if (expected_diff_id && !servin_digest_valid(expected_diff_id))
        return servin_error_set(err, EINVAL, "invalid layer diff id \"%.100s\"", expected_diff_id);
    if (parent_chain_id && *parent_chain_id && !servin_digest_valid(parent_chain_id))
        return servin_error_set(err, EINVAL, "invalid parent chain id \"%.100s\"", parent_chain_id);

    char chain[SERVIN_DIGEST_MAX];
    /* With the diff_id known up front (from the image config), a present layer costs one stat. */
    if (expected_diff_id) {
        servin_chain_id(parent_chain_id, expected_diff_id, chain);
        _cleanup_free_ char *dir = servin_store_path(store, "layers/%s", servin_digest_hex(chain));
        if (layer_present(dir)) {
            memcpy(diff_id, expected_diff_id, SERVIN_DIGEST_MAX);
            memcpy(chain_id, chain, SERVIN_DIGEST_MAX);
            if (unpacked_size)
                *unpacked_size = layer_size(dir);
            return 0;
        }
    }

    _cleanup_free_ char *blob = servin_content_path(store, blob_digest);
    _cleanup_close_ int fd = open(blob, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return servin_error_set(err, ENOENT, "layer %s is not in the content store", blob_digest);
        return servin_error_errno(err, errno, "open layer %s", blob);
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

    /* Unpack beside the final place and rename, so a crash never leaves a half layer under a real
     * id; leftovers are named "<hex>.tmp-<pid>-<n>" for the garbage collector. Nothing is fsynced:
     * like Docker and Podman we trade crash durability of fresh layers for speed (one fsync per file
     * would dominate a pull), and a syncfs per layer would flush unrelated data too. */
    unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    _cleanup_free_ char *tmp =
        servin_store_path(store, "layers/%s.tmp-%d-%u",
                          servin_digest_hex(expected_diff_id ? chain : blob_digest), (int)getpid(), n);
    _cleanup_free_ char *tmp_diff = xasprintf("%s/diff", tmp);
    if (mkdir(tmp, 0700) < 0 || mkdir(tmp_diff, 0755) < 0) {
        int ret = servin_error_errno(err, errno, "create directory %s", tmp_diff);
        servin_rm_rf(tmp, NULL);
        return ret;
    }

    char got[SERVIN_DIGEST_MAX];
    uint64_t size = 0;
    int ret = unpack_stream(fd, tmp_diff, blob_digest, got, &size, err);
    if (ret == 0 && expected_diff_id && strcmp(got, expected_diff_id) != 0)
        ret = servin_error_set(
            err, EIO, "layer %s: its uncompressed content has digest %s, not %s as the image config says",
            blob_digest, got, expected_diff_id);
    if (ret < 0) {
        servin_rm_rf(tmp, NULL);
        return ret;
    }
    servin_chain_id(parent_chain_id, got, chain);
    _cleanup_free_ char *diff_id_file = xasprintf("%s/diff_id", tmp);
    _cleanup_free_ char *size_file = xasprintf("%s/size", tmp);
    _cleanup_free_ char *size_text = xasprintf("%" PRIu64 "\n", size);
    _cleanup_free_ char *diff_id_text = xasprintf("%s\n", got);
    ret = write_small(diff_id_file, diff_id_text, err);
    if (ret == 0)
        ret = write_small(size_file, size_text, err);
    if (ret < 0) {
        servin_rm_rf(tmp, NULL);
        return ret;
    }

    _cleanup_free_ char *final = servin_store_path(store, "layers/%s", servin_digest_hex(chain));
    if (rename(tmp, final) < 0) {
        int e = errno;
        servin_rm_rf(tmp, NULL);
        /* Another process unpacked the same layer first: theirs is as good as ours. */
        if ((e != EEXIST && e != ENOTEMPTY) || !layer_present(final))
            return servin_error_errno(err, e, "move layer %s into %s", blob_digest, final);
    }
    memcpy(diff_id, got, SERVIN_DIGEST_MAX);
    memcpy(chain_id, chain, SERVIN_DIGEST_MAX);
    if (unpacked_size)
        *unpacked_size = size;
    return 0;
}
