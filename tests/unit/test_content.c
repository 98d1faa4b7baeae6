/* Unit tests for the content store: verified writes, resume, concurrent writers, verified reads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/store.h"

struct fixture {
    char dir[64];
    struct servin_store *store;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/servin-content-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    struct servin_error err = {0};
    if (servin_store_open(f->dir, &f->store, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    servin_store_close(f->store);
    servin_rm_rf(f->dir, NULL);
    free(f);
    return 0;
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static int ingest_count(struct fixture *f)
{
    _cleanup_free_ char *p = xasprintf("%s/content/ingest", f->dir);
    return count_entries(p);
}

static int blob_count(struct fixture *f)
{
    _cleanup_free_ char *p = xasprintf("%s/content/blobs/sha256", f->dir);
    return count_entries(p);
}

static void put_read_has(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    char d[SERVIN_DIGEST_MAX];
    assert_int_equal(servin_content_put(f->store, "hello", 5, NULL, d, &err), 0);
    assert_string_equal(d, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    uint64_t size = 0;
    assert_true(servin_content_has(f->store, d, &size));
    assert_int_equal(size, 5);
    _cleanup_free_ char *path = servin_content_path(f->store, d);
    _cleanup_free_ char *want = xasprintf("%s/content/blobs/sha256/%s", f->dir, d + 7);
    assert_string_equal(path, want);

    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    assert_int_equal(servin_content_read(f->store, d, &data, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    /* Storing it again, with the digest given, is a no-op that succeeds. */
    assert_int_equal(servin_content_put(f->store, "hello", 5, d, NULL, &err), 0);
    assert_int_equal(blob_count(f), 1);
    assert_int_equal(ingest_count(f), 0);

    assert_false(servin_content_has(
        f->store, "sha256:0000000000000000000000000000000000000000000000000000000000000000", NULL));
    assert_false(servin_content_has(f->store, "sha256:../../etc", NULL));
    assert_int_equal(servin_content_read(
                         f->store, "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                         &data, &len, &err),
                     -ENOENT);
    assert_int_equal(servin_content_read(f->store, "sha256:../x", &data, &len, &err), -EINVAL);
}

static void mismatch_stores_nothing(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    char want[SERVIN_DIGEST_MAX], d[SERVIN_DIGEST_MAX];
    servin_digest_bytes("expected", 8, want);

    assert_int_equal(servin_content_put(f->store, "other", 5, want, d, &err), -EIO);
    assert_non_null(strstr(err.msg, "digest mismatch for blob sha256:"));

    struct servin_content_writer *w = NULL;
    uint64_t off = 99;
    assert_int_equal(servin_content_writer_open(f->store, want, &w, &off, &err), 0);
    assert_int_equal(off, 0);
    assert_int_equal(servin_content_writer_write(w, "other", 5, &err), 0);
    assert_int_equal(ingest_count(f), 1);
    assert_int_equal(servin_content_writer_commit(w, 0, d, &err), -EIO);
    char got[SERVIN_DIGEST_MAX];
    servin_digest_bytes("other", 5, got);
    _cleanup_free_ char *msg = xasprintf("digest mismatch for blob %s: got %s", want, got);
    assert_string_equal(err.msg, msg);
    assert_int_equal(blob_count(f), 0);
    assert_int_equal(ingest_count(f), 0);
    assert_false(servin_content_has(f->store, got, NULL));

    /* The right bytes with the wrong size are refused too. */
    assert_int_equal(servin_content_writer_open(f->store, want, &w, NULL, &err), 0);
    assert_int_equal(servin_content_writer_write(w, "expected", 8, &err), 0);
    assert_int_equal(servin_content_writer_commit(w, 9, d, &err), -EIO);
    assert_non_null(strstr(err.msg, "size mismatch"));
    assert_int_equal(blob_count(f), 0);

    assert_int_equal(servin_content_writer_open(f->store, "sha256:nothex", &w, NULL, &err), -EINVAL);
}

static void resume_partial_write(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    char want[SERVIN_DIGEST_MAX], d[SERVIN_DIGEST_MAX];
    servin_digest_bytes("hello world", 11, want);

    struct servin_content_writer *w = NULL;
    uint64_t off = 0;
    assert_int_equal(servin_content_writer_open(f->store, want, &w, &off, &err), 0);
    assert_int_equal(servin_content_writer_write(w, "hello ", 6, &err), 0);
    servin_content_writer_close(w); /* interrupted */
    _cleanup_free_ char *partial = xasprintf("%s/content/ingest/%s.partial", f->dir, want + 7);
    assert_int_equal(access(partial, F_OK), 0);
    assert_false(servin_content_has(f->store, want, NULL));

    assert_int_equal(servin_content_writer_open(f->store, want, &w, &off, &err), 0);
    assert_int_equal(off, 6);
    assert_int_equal(servin_content_writer_size(w), 6);
    assert_int_equal(servin_content_writer_write(w, "world", 5, &err), 0);
    assert_int_equal(servin_content_writer_commit(w, 11, d, &err), 0);
    assert_string_equal(d, want);
    assert_int_equal(access(partial, F_OK), -1);
    _cleanup_free_ char *data = NULL;
    size_t len;
    assert_int_equal(servin_content_read(f->store, want, &data, &len, &err), 0);
    assert_memory_equal(data, "hello world", 11);

    /* A server that ignores Range: the writer forgets the partial data and starts again. */
    char want2[SERVIN_DIGEST_MAX];
    servin_digest_bytes("abc", 3, want2);
    assert_int_equal(servin_content_writer_open(f->store, want2, &w, &off, &err), 0);
    assert_int_equal(servin_content_writer_write(w, "zz", 2, &err), 0);
    servin_content_writer_close(w);
    assert_int_equal(servin_content_writer_open(f->store, want2, &w, &off, &err), 0);
    assert_int_equal(off, 2);
    assert_int_equal(servin_content_writer_truncate(w, &err), 0);
    assert_int_equal(servin_content_writer_write(w, "abc", 3, &err), 0);
    assert_int_equal(servin_content_writer_commit(w, 3, d, &err), 0);
    assert_string_equal(d, want2);
    assert_int_equal(ingest_count(f), 0);
}

static void writer_without_digest(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_content_writer *w = NULL;
    char d[SERVIN_DIGEST_MAX], want[SERVIN_DIGEST_MAX];
    assert_int_equal(servin_content_writer_open(f->store, NULL, &w, NULL, &err), 0);
    assert_int_equal(servin_content_writer_write(w, "data", 4, &err), 0);
    servin_content_writer_close(w);
    assert_int_equal(ingest_count(f), 0); /* not resumable, so nothing is kept */

    assert_int_equal(servin_content_writer_open(f->store, NULL, &w, NULL, &err), 0);
    assert_int_equal(servin_content_writer_write(w, "data", 4, &err), 0);
    assert_int_equal(servin_content_writer_commit(w, 0, d, &err), 0);
    servin_digest_bytes("data", 4, want);
    assert_string_equal(d, want);
    assert_true(servin_content_has(f->store, want, NULL));
    _cleanup_free_ char *path = servin_content_path(f->store, want);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
}

static void put_file_and_corruption(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    _cleanup_free_ char *src = xasprintf("%s/src", f->dir);
    size_t n = 3 * 1024 * 1024 + 7;
    _cleanup_free_ char *big = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7 + i / 1000);
    assert_int_equal(servin_write_file_atomic(src, big, n, 0600, &err), 0);
    char d[SERVIN_DIGEST_MAX], want[SERVIN_DIGEST_MAX];
    uint64_t size = 0;
    servin_digest_bytes(big, n, want);
    assert_int_equal(servin_content_put_file(f->store, src, NULL, d, &size, &err), 0);
    assert_string_equal(d, want);
    assert_int_equal(size, n);

    /* A blob changed on disk is caught when read. */
    _cleanup_free_ char *path = servin_content_path(f->store, want);
    assert_int_equal(servin_write_file_atomic(path, "tampered", 8, 0644, &err), 0);
    _cleanup_free_ char *data = NULL;
    size_t len;
    assert_int_equal(servin_content_read(f->store, want, &data, &len, &err), -EIO);
    assert_non_null(strstr(err.msg, "corrupt"));

    char other[SERVIN_DIGEST_MAX];
    servin_digest_bytes("x", 1, other);
    assert_int_equal(servin_content_put_file(f->store, src, other, d, &size, &err), -EIO);
    assert_false(servin_content_has(f->store, other, NULL));
    assert_int_equal(ingest_count(f), 0);
}

/* Two writers of the same blob at once: one gets the resumable file, the other a temp file. */
static void concurrent_writers(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    char want[SERVIN_DIGEST_MAX], d1[SERVIN_DIGEST_MAX], d2[SERVIN_DIGEST_MAX];
    servin_digest_bytes("same bytes", 10, want);
    struct servin_content_writer *a = NULL, *b = NULL;
    assert_int_equal(servin_content_writer_open(f->store, want, &a, NULL, &err), 0);
    assert_int_equal(servin_content_writer_open(f->store, want, &b, NULL, &err), 0);
    assert_int_equal(ingest_count(f), 2);
    assert_int_equal(servin_content_writer_write(a, "same ", 5, &err), 0);
    assert_int_equal(servin_content_writer_write(b, "same ", 5, &err), 0);
    assert_int_equal(servin_content_writer_write(b, "bytes", 5, &err), 0);
    assert_int_equal(servin_content_writer_write(a, "bytes", 5, &err), 0);
    assert_int_equal(servin_content_writer_commit(b, 10, d2, &err), 0);
    assert_int_equal(servin_content_writer_commit(a, 10, d1, &err), 0);
    assert_string_equal(d1, want);
    assert_string_equal(d2, want);
    assert_int_equal(ingest_count(f), 0);

    /* Now with processes, many times, on a bigger blob. */
    size_t n = 2 * 1024 * 1024;
    _cleanup_free_ char *big = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i % 251);
    servin_digest_bytes(big, n, want);
    for (int round = 0; round < 5; round++) {
        pid_t pids[4];
        for (int i = 0; i < 4; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                struct servin_error e = {0};
                struct servin_content_writer *w = NULL;
                uint64_t off = 0;
                if (servin_content_writer_open(f->store, want, &w, &off, &e) < 0)
                    _exit(1);
                for (size_t p = off; p < n; p += 65536) {
                    size_t len = n - p < 65536 ? n - p : 65536;
                    if (servin_content_writer_write(w, big + p, len, &e) < 0)
                        _exit(2);
                }
                _exit(servin_content_writer_commit(w, n, NULL, &e) < 0 ? 3 : 0);
            }
        }
        for (int i = 0; i < 4; i++) {
            int status = 0;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        assert_int_equal(servin_content_read(f->store, want, &data, &len, &err), 0);
        assert_int_equal(len, n);
        _cleanup_free_ char *path = servin_content_path(f->store, want);
        unlink(path);
    }
    assert_int_equal(ingest_count(f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_read_has, setup, teardown),
        cmocka_unit_test_setup_teardown(mismatch_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(resume_partial_write, setup, teardown),
        cmocka_unit_test_setup_teardown(writer_without_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(put_file_and_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
