/* image/content.c — the content store: blobs verified while written, then renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/fs.h"

#define COPY_BUF (1024 * 1024)
/* How often to retry when the ingest file we locked was renamed away under us. */
#define OPEN_RETRIES 16

struct servin_content_writer {
    struct servin_store *store;
    char *expected; /* NULL when the digest is only known at commit */
    char *path;     /* the ingest file */
    int fd;         /* holds an exclusive flock for the writer's lifetime */
    struct servin_sha256 *hash;
    uint64_t size;
    bool defer_sync; /* the caller syncs later with servin_content_sync */
    bool write_behind;
    uint64_t flushed; /* bytes handed to writeback so far (write_behind) */
};

/* Start writeback every this many bytes when write_behind is on. */
#define WRITE_BEHIND_STEP (8ull * 1024 * 1024)

char *servin_content_path(struct servin_store *store, const char *digest)
{
    /* Never build a path from unchecked text; an invalid digest maps to a path that cannot exist. */
    if (!servin_digest_valid(digest))
        return servin_store_path(store, "content/blobs/invalid-digest");
    return servin_store_path(store, "content/blobs/sha256/%s", servin_digest_hex(digest));
}

bool servin_content_has(struct servin_store *store, const char *digest, uint64_t *size)
{
    if (!servin_digest_valid(digest))
        return false;
    _cleanup_free_ char *path = servin_content_path(store, digest);
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return false;
    if (size)
        *size = (uint64_t)st.st_size;
    return true;
}

static void writer_free(struct servin_content_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    servin_sha256_free(w->hash);
    free(w->expected);
    free(w->path);
    free(w);
}

/* Open and lock content/ingest/<hex>.partial. The lock makes a second writer of the same blob use
 * its own temp file instead; checking the inode after locking catches a file that its previous
 * holder committed (renamed into blobs/) between our open and our flock. Returns -EWOULDBLOCK
 * when another process is writing the blob. */
static int open_partial(const char *path, int *fd_out, struct servin_error *err)
{
    for (int i = 0; i < OPEN_RETRIES; i++) {
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return servin_error_errno(err, errno, "open %s", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno == EWOULDBLOCK)
                return -EWOULDBLOCK;
            return servin_error_errno(err, errno, "lock %s", path);
        }
        struct stat a, b;
        if (fstat(fd, &a) < 0)
            return servin_error_errno(err, errno, "stat %s", path);
        if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            *fd_out = steal_fd(&fd);
            return 0;
        }
    }
    return servin_error_set(err, EAGAIN, "open %s: it keeps being replaced by another process", path);
}

/* Hash what an interrupted write left, so that the download can continue where it stopped. */
static int hash_existing(struct servin_content_writer *w, struct servin_error *err)
{
    _cleanup_free_ char *buf = xmalloc(COPY_BUF);
    for (;;) {
        ssize_t n = read(w->fd, buf, COPY_BUF);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return servin_error_errno(err, errno, "read %s", w->path);
        }
        if (n == 0)
            return 0;
        servin_sha256_update(w->hash, buf, (size_t)n);
        w->size += (uint64_t)n;
    }
}

int servin_content_writer_open(struct servin_store *store, const char *expected_digest,
                               struct servin_content_writer **out, uint64_t *resume_offset,
                               struct servin_error *err)
{
    if (expected_digest && !servin_digest_valid(expected_digest))
        return servin_error_set(err, EINVAL, "invalid blob digest \"%.100s\"", expected_digest);

    struct servin_content_writer *w = xcalloc(1, sizeof(*w));
    w->store = store;
    w->fd = -1;
    w->hash = servin_sha256_new();
    if (resume_offset)
        *resume_offset = 0;

    int ret = -EWOULDBLOCK;
    if (expected_digest) {
        w->expected = xstrdup(expected_digest);
        w->path = servin_store_path(store, "content/ingest/%s.partial", servin_digest_hex(expected_digest));
        ret = open_partial(w->path, &w->fd, err);
        if (ret < 0 && ret != -EWOULDBLOCK) {
            writer_free(w);
            return ret;
        }
        if (ret == 0) {
            ret = hash_existing(w, err);
            if (ret < 0) {
                writer_free(w);
                return ret;
            }
        }
    }
    if (ret == -EWOULDBLOCK) {
        /* No digest, or another process is writing the same blob: write a private temp file. Both
         * writers may then commit; rename is atomic and both files hold the same verified bytes. */
        free(w->path);
        w->path = servin_store_path(store, "content/ingest/tmp-XXXXXX");
        w->fd = mkostemp(w->path, O_CLOEXEC);
        if (w->fd < 0) {
            ret = servin_error_errno(err, errno, "create a temp file in %s/content/ingest", store->root);
            writer_free(w);
            return ret;
        }
        /* Its "tmp-" name marks it as not resumable: close() deletes it. */
    }
    if (resume_offset)
        *resume_offset = w->size;
    *out = w;
    return 0;
}

int servin_content_writer_write(struct servin_content_writer *w, const void *data, size_t len,
                                struct servin_error *err)
{
    const char *p = data;
    servin_sha256_update(w->hash, data, len);
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return servin_error_errno(err, errno, "write %s", w->path);
        }
        p += n;
        len -= (size_t)n;
        w->size += (uint64_t)n;
    }
    if (w->write_behind && w->size - w->flushed >= WRITE_BEHIND_STEP) {
        /* Only starts the writeback, without waiting; a failure just leaves it to the fsync. */
        sync_file_range(w->fd, (off64_t)w->flushed, (off64_t)(w->size - w->flushed), SYNC_FILE_RANGE_WRITE);
        w->flushed = w->size;
    }
    return 0;
}

void servin_content_writer_write_behind(struct servin_content_writer *w)
{
    w->write_behind = true;
}

int servin_content_writer_truncate(struct servin_content_writer *w, struct servin_error *err)
{
    if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
        return servin_error_errno(err, errno, "truncate %s", w->path);
    servin_sha256_free(w->hash);
    w->hash = servin_sha256_new();
    w->size = 0;
    return 0;
}

uint64_t servin_content_writer_size(const struct servin_content_writer *w)
{
    return w->size;
}

int servin_content_writer_expect(struct servin_content_writer *w, const char *digest,
                                 struct servin_error *err)
{
    if (!servin_digest_valid(digest))
        return servin_error_set(err, EINVAL, "invalid blob digest \"%.100s\"", digest ? digest : "");
    free(w->expected);
    w->expected = xstrdup(digest);
    return 0;
}

static bool is_temp_file(const struct servin_content_writer *w)
{
    const char *base = strrchr(w->path, '/');
    return base && strncmp(base + 1, "tmp-", 4) == 0;
}

static void sync_dir(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        fsync(fd);
}

int servin_content_writer_commit(struct servin_content_writer *w, uint64_t expected_size,
                                 char out_digest[SERVIN_DIGEST_MAX], struct servin_error *err)
{
    char got[SERVIN_DIGEST_MAX];
    servin_sha256_finish(w->hash, got);
    w->hash = NULL;
    int ret = 0;

    if (w->expected && strcmp(got, w->expected) != 0) {
        ret = servin_error_set(err, EIO, "digest mismatch for blob %s: got %s", w->expected, got);
    } else if (expected_size && w->size != expected_size) {
        ret =
            servin_error_set(err, EIO, "size mismatch for blob %s: got %" PRIu64 " bytes, expected %" PRIu64,
                             got, w->size, expected_size);
    }
    if (ret < 0) {
        /* Bad data must not be resumed from later either. */
        unlink(w->path);
        writer_free(w);
        return ret;
    }

    _cleanup_free_ char *dest = servin_content_path(w->store, got);
    if (!w->defer_sync && fsync(w->fd) < 0) {
        ret = servin_error_errno(err, errno, "sync %s", w->path);
    } else if (fchmod(w->fd, 0644) < 0 || rename(w->path, dest) < 0) {
        ret = servin_error_errno(err, errno, "move blob %s into the content store", got);
    }
    if (ret < 0) {
        unlink(w->path);
        writer_free(w);
        return ret;
    }
    _cleanup_free_ char *dir = servin_store_path(w->store, "content/blobs/sha256");
    if (!w->defer_sync)
        sync_dir(dir);
    if (out_digest)
        memcpy(out_digest, got, SERVIN_DIGEST_MAX);
    writer_free(w);
    return 0;
}

void servin_content_writer_defer_sync(struct servin_content_writer *w)
{
    w->defer_sync = true;
}

int servin_content_sync(struct servin_store *store, const char *digest, struct servin_error *err)
{
    _cleanup_free_ char *path = servin_content_path(store, digest);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        return servin_error_errno(err, errno, "sync blob %s", digest);
    _cleanup_free_ char *dir = servin_store_path(store, "content/blobs/sha256");
    sync_dir(dir);
    return 0;
}

void servin_content_writer_close(struct servin_content_writer *w)
{
    if (!w)
        return;
    if (!w->expected || is_temp_file(w))
        unlink(w->path);
    writer_free(w);
}

int servin_content_put(struct servin_store *store, const void *data, size_t len, const char *expected,
                       char out_digest[SERVIN_DIGEST_MAX], struct servin_error *err)
{
    char got[SERVIN_DIGEST_MAX];
    servin_digest_bytes(data, len, got);
    if (expected && !servin_digest_valid(expected))
        return servin_error_set(err, EINVAL, "invalid blob digest \"%.100s\"", expected);
    /* The data is in memory, so check it before anything touches the disk. */
    if (expected && strcmp(expected, got) != 0)
        return servin_error_set(err, EIO, "digest mismatch for blob %s: got %s", expected, got);
    if (out_digest)
        memcpy(out_digest, got, SERVIN_DIGEST_MAX);
    if (servin_content_has(store, got, NULL))
        return 0;

    struct servin_content_writer *w = NULL;
    int ret = servin_content_writer_open(store, got, &w, NULL, err);
    if (ret < 0)
        return ret;
    if (w->size > 0 && (ret = servin_content_writer_truncate(w, err)) < 0) {
        servin_content_writer_close(w);
        return ret;
    }
    ret = servin_content_writer_write(w, data, len, err);
    if (ret < 0) {
        servin_content_writer_close(w);
        return ret;
    }
    return servin_content_writer_commit(w, len, NULL, err);
}

int servin_content_put_file(struct servin_store *store, const char *path, const char *expected,
                            char out_digest[SERVIN_DIGEST_MAX], uint64_t *size, struct servin_error *err)
{
    if (expected && servin_content_has(store, expected, size)) {
        if (out_digest)
            memcpy(out_digest, expected, SERVIN_DIGEST_MAX);
        return 0;
    }
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return servin_error_errno(err, errno, "open %s", path);

    struct servin_content_writer *w = NULL;
    int ret = servin_content_writer_open(store, expected, &w, NULL, err);
    if (ret < 0)
        return ret;
    if (w->size > 0 && (ret = servin_content_writer_truncate(w, err)) < 0) {
        servin_content_writer_close(w);
        return ret;
    }
    _cleanup_free_ char *buf = xmalloc(COPY_BUF);
    for (;;) {
        ssize_t n = read(fd, buf, COPY_BUF);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = servin_error_errno(err, errno, "read %s", path);
            servin_content_writer_close(w);
            return ret;
        }
        if (n == 0)
            break;
        ret = servin_content_writer_write(w, buf, (size_t)n, err);
        if (ret < 0) {
            servin_content_writer_close(w);
            return ret;
        }
    }
    uint64_t total = w->size;
    char got[SERVIN_DIGEST_MAX];
    ret = servin_content_writer_commit(w, 0, got, err);
    if (ret < 0)
        return ret;
    if (out_digest)
        memcpy(out_digest, got, SERVIN_DIGEST_MAX);
    if (size)
        *size = total;
    return 0;
}

static int content_read(struct servin_store *store, const char *digest, bool verify, char **data, size_t *len,
                        struct servin_error *err)
{
    if (!servin_digest_valid(digest))
        return servin_error_set(err, EINVAL, "invalid blob digest \"%.100s\"", digest ? digest : "");
    _cleanup_free_ char *path = servin_content_path(store, digest);
    _cleanup_free_ char *buf = NULL;
    size_t n = 0;
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT)
        return servin_error_set(err, ENOENT, "blob %s is not in the content store", digest);
    int ret = servin_read_file(path, &buf, &n, err);
    if (ret < 0)
        return ret;
    char got[SERVIN_DIGEST_MAX];
    if (verify) {
        servin_digest_bytes(buf, n, got);
        if (strcmp(got, digest) != 0)
            return servin_error_set(
                err, EIO, "blob %s in the content store is corrupt: its content has digest %s", digest, got);
    }
    *data = steal_pointer(&buf);
    if (len)
        *len = n;
    return 0;
}

int servin_content_read(struct servin_store *store, const char *digest, char **data, size_t *len,
                        struct servin_error *err)
{
    return content_read(store, digest, true, data, len, err);
}

int servin_content_read_stored(struct servin_store *store, const char *digest, char **data, size_t *len,
                               struct servin_error *err)
{
    return content_read(store, digest, false, data, len, err);
}
