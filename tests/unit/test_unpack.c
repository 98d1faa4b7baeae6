/* Unit tests for layer unpacking: file types, metadata, whiteouts, compression, and escapes. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/store.h"
#include "servin/unpack.h"

#define MTIME 1234567890

struct fixture {
    char dir[64];
    struct servin_store *store;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/servin-unpack-XXXXXX");
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

/* --- building tars with libarchive's writer --- */

static struct archive *tar_open(const char *path, const char *filter)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (strcmp(filter, "gzip") == 0)
        archive_write_add_filter_gzip(a);
    else if (strcmp(filter, "zstd") == 0)
        archive_write_add_filter_zstd(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    return a;
}

static void tar_close(struct archive *a)
{
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static struct archive_entry *entry_new(const char *path, mode_t type, mode_t perm)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, MTIME, 0);
    return e;
}

static void entry_put(struct archive *a, struct archive_entry *e, const char *data)
{
    if (data)
        archive_entry_set_size(e, (la_int64_t)strlen(data));
    /* WARN: a non-ASCII name in the C locale, still written (raw) as Go's tar writer would. */
    assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
    if (data && *data)
        assert_int_equal(archive_write_data(a, data, strlen(data)), (la_ssize_t)strlen(data));
    archive_entry_free(e);
}

static void add_dir(struct archive *a, const char *path, mode_t perm)
{
    entry_put(a, entry_new(path, AE_IFDIR, perm), NULL);
}

static void add_file(struct archive *a, const char *path, const char *data)
{
    entry_put(a, entry_new(path, AE_IFREG, 0644), data);
}

static void add_symlink(struct archive *a, const char *path, const char *target)
{
    struct archive_entry *e = entry_new(path, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target);
    entry_put(a, e, NULL);
}

static void add_hardlink(struct archive *a, const char *path, const char *target)
{
    struct archive_entry *e = entry_new(path, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target);
    archive_entry_set_size(e, 0);
    entry_put(a, e, NULL);
}

/* A layer with one of everything. */
static void write_full_layer(const char *path, const char *filter)
{
    struct archive *a = tar_open(path, filter);
    add_dir(a, "./", 0755);
    add_dir(a, "etc", 0755);
    struct archive_entry *e = entry_new("etc/hosts", AE_IFREG, 0640);
    archive_entry_set_uid(e, 1000);
    archive_entry_set_gid(e, 1001);
    entry_put(a, e, "127.0.0.1 localhost\n");
    add_dir(a, "bin", 0755);
    /* A file capability (v2: magic, permitted CAP_NET_BIND_SERVICE) and a user xattr. */
    static const unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04};
    e = entry_new("bin/ping", AE_IFREG, 04755);
    archive_entry_xattr_add_entry(e, "security.capability", cap, sizeof(cap));
    archive_entry_xattr_add_entry(e, "user.note", "hi", 2);
    entry_put(a, e, "#!/bin/sh\n");
    add_hardlink(a, "bin/ping6", "bin/ping");
    add_symlink(a, "lib", "usr/lib");
    add_dir(a, "dev", 0755);
    e = entry_new("dev/null", AE_IFCHR, 0666);
    archive_entry_set_rdev(e, makedev(1, 3));
    entry_put(a, e, NULL);
    e = entry_new("dev/fifo", AE_IFIFO, 0600);
    entry_put(a, e, NULL);
    add_dir(a, "var", 0755);
    add_file(a, "var/.wh.gone", "");
    add_dir(a, "opt", 0700);
    add_file(a, "opt/.wh..wh..opq", "");
    add_file(a, "opt/.wh..wh.plnk", "");
    add_file(a, "/abs/file", "abs");
    /* A later entry replaces an earlier one, as in any tar. */
    add_file(a, "etc/motd", "old");
    add_file(a, "etc/motd", "new!");
    tar_close(a);
}

static void check_full_layer(const char *diff)
{
    struct stat st;
    _cleanup_free_ char *hosts = xasprintf("%s/etc/hosts", diff);
    assert_int_equal(lstat(hosts, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_gid, 1001);
    assert_int_equal(st.st_mtime, MTIME);
    assert_int_equal(st.st_size, 20);

    _cleanup_free_ char *ping = xasprintf("%s/bin/ping", diff);
    _cleanup_free_ char *ping6 = xasprintf("%s/bin/ping6", diff);
    struct stat st6;
    assert_int_equal(lstat(ping, &st), 0);
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(lstat(ping6, &st6), 0);
    assert_int_equal(st.st_ino, st6.st_ino);
    assert_int_equal(st.st_nlink, 2);
    char buf[64];
    assert_int_equal(lgetxattr(ping, "user.note", buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "hi", 2);
    assert_int_equal(lgetxattr(ping, "security.capability", buf, sizeof(buf)), 20);
    assert_int_equal((unsigned char)buf[4], 0x00);
    assert_int_equal((unsigned char)buf[5], 0x04);

    _cleanup_free_ char *lib = xasprintf("%s/lib", diff);
    assert_int_equal(lstat(lib, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    ssize_t n = readlink(lib, buf, sizeof(buf));
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "usr/lib", 7);

    _cleanup_free_ char *null = xasprintf("%s/dev/null", diff);
    assert_int_equal(lstat(null, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(major(st.st_rdev), 1);
    assert_int_equal(minor(st.st_rdev), 3);
    _cleanup_free_ char *fifo = xasprintf("%s/dev/fifo", diff);
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));

    _cleanup_free_ char *gone = xasprintf("%s/var/gone", diff);
    _cleanup_free_ char *marker = xasprintf("%s/var/.wh.gone", diff);
    assert_int_equal(lstat(gone, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    assert_int_equal(lstat(marker, &st), -1);

    _cleanup_free_ char *opt = xasprintf("%s/opt", diff);
    _cleanup_free_ char *opq = xasprintf("%s/opt/.wh..wh..opq", diff);
    _cleanup_free_ char *plnk = xasprintf("%s/opt/.wh..wh.plnk", diff);
    assert_int_equal(lgetxattr(opt, "trusted.overlay.opaque", buf, sizeof(buf)), 1);
    assert_int_equal(buf[0], 'y');
    assert_int_equal(lstat(opq, &st), -1);
    assert_int_equal(lstat(plnk, &st), -1);
    assert_int_equal(lstat(opt, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(st.st_mtime, MTIME);

    _cleanup_free_ char *abs = xasprintf("%s/abs/file", diff);
    assert_int_equal(lstat(abs, &st), 0);
    _cleanup_free_ char *motd = xasprintf("%s/etc/motd", diff);
    _cleanup_free_ char *data = NULL;
    assert_int_equal(servin_read_file(motd, &data, NULL, NULL), 0);
    assert_string_equal(data, "new!");
    assert_int_equal(lstat(diff, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_mtime, MTIME);
}

/* 20 (hosts) + 10 (ping) + 3 (abs) + 3 + 4 (motd twice) */
#define FULL_LAYER_SIZE 40

static void unpack_fd_everything(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    _cleanup_free_ char *tar = xasprintf("%s/layer.tar", f->dir);
    write_full_layer(tar, "none");
    _cleanup_free_ char *dest = xasprintf("%s/out", f->dir);
    _cleanup_close_ int fd = open(tar, O_RDONLY);
    char diff_id[SERVIN_DIGEST_MAX], want[SERVIN_DIGEST_MAX];
    uint64_t size = 0;
    int r = servin_unpack_fd(fd, dest, diff_id, &size, &err);
    if (r < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(servin_digest_file(tar, want, NULL, &err), 0);
    assert_string_equal(diff_id, want);
    assert_int_equal(size, FULL_LAYER_SIZE);
    check_full_layer(dest);
}

static void compressed_layers_same_diff_id(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    const char *filters[] = {"none", "gzip", "zstd"};
    char plain_digest[SERVIN_DIGEST_MAX] = "";
    char first_chain[SERVIN_DIGEST_MAX] = "";
    for (int i = 0; i < 3; i++) {
        _cleanup_free_ char *tar = xasprintf("%s/layer-%s", f->dir, filters[i]);
        write_full_layer(tar, filters[i]);
        char blob[SERVIN_DIGEST_MAX];
        assert_int_equal(servin_content_put_file(f->store, tar, NULL, blob, NULL, &err), 0);
        if (i == 0)
            assert_int_equal(servin_digest_file(tar, plain_digest, NULL, &err), 0);
        else
            assert_string_not_equal(blob, plain_digest);

        char diff_id[SERVIN_DIGEST_MAX], chain[SERVIN_DIGEST_MAX];
        uint64_t size = 0;
        /* Unpacked as the base layer, without an expected diff_id. */
        int r = servin_layer_unpack(f->store, blob, NULL, NULL, diff_id, chain, &size, &err);
        if (r < 0)
            fail_msg("%s: %s", filters[i], err.msg);
        assert_string_equal(diff_id, plain_digest);
        assert_string_equal(chain, plain_digest);
        assert_int_equal(size, FULL_LAYER_SIZE);
        if (i == 0) {
            strcpy(first_chain, chain);
            _cleanup_free_ char *want = xasprintf("%s/layers/%s/diff", f->dir, chain + 7);
            check_full_layer(want);
            _cleanup_free_ char *idfile = xasprintf("%s/layers/%s/diff_id", f->dir, chain + 7);
            _cleanup_free_ char *text = NULL;
            assert_int_equal(servin_read_file(idfile, &text, NULL, &err), 0);
            assert_non_null(strstr(text, plain_digest));
        }

        /* On top of a parent, with the expected diff_id: a chain id of its own. */
        char chain2[SERVIN_DIGEST_MAX];
        size = 0;
        r = servin_layer_unpack(f->store, blob, first_chain, plain_digest, diff_id, chain2, &size, &err);
        if (r < 0)
            fail_msg("%s: %s", filters[i], err.msg);
        char want_chain[SERVIN_DIGEST_MAX];
        _cleanup_free_ char *text = xasprintf("%s %s", first_chain, plain_digest);
        servin_digest_bytes(text, strlen(text), want_chain);
        assert_string_equal(chain2, want_chain);
        assert_int_equal(size, FULL_LAYER_SIZE);
    }
    /* Two layer dirs, nothing temporary left. */
    _cleanup_free_ char *layers = xasprintf("%s/layers", f->dir);
    DIR *d = opendir(layers);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            assert_null(strstr(e->d_name, ".tmp-"));
            n++;
        }
    closedir(d);
    assert_int_equal(n, 2);
}

static void chain_id_arithmetic(void **state)
{
    const char *a = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *b = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    char out[SERVIN_DIGEST_MAX], want[SERVIN_DIGEST_MAX];
    servin_chain_id(NULL, a, out);
    assert_string_equal(out, a);
    servin_chain_id(a, b, out);
    _cleanup_free_ char *text = xasprintf("%s %s", a, b);
    servin_digest_bytes(text, strlen(text), want);
    assert_string_equal(out, want);
}

static void wrong_diff_id_and_bad_data(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    _cleanup_free_ char *tar = xasprintf("%s/l.tar.gz", f->dir);
    struct archive *a = tar_open(tar, "gzip");
    add_file(a, "x", "data");
    tar_close(a);
    char blob[SERVIN_DIGEST_MAX], diff_id[SERVIN_DIGEST_MAX], chain[SERVIN_DIGEST_MAX];
    assert_int_equal(servin_content_put_file(f->store, tar, NULL, blob, NULL, &err), 0);
    const char *wrong = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    assert_int_equal(servin_layer_unpack(f->store, blob, NULL, wrong, diff_id, chain, NULL, &err), -EIO);
    assert_non_null(strstr(err.msg, wrong));

    /* A truncated gzip stream and a blob that is not a tar at all. */
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    assert_int_equal(servin_read_file(tar, &data, &len, &err), 0);
    assert_int_equal(servin_content_put(f->store, data, len / 2, NULL, blob, &err), 0);
    assert_true(servin_layer_unpack(f->store, blob, NULL, NULL, diff_id, chain, NULL, &err) < 0);
    assert_non_null(strstr(err.msg, blob));
    char junk[4096];
    memset(junk, 'j', sizeof(junk));
    assert_int_equal(servin_content_put(f->store, junk, sizeof(junk), NULL, blob, &err), 0);
    assert_true(servin_layer_unpack(f->store, blob, NULL, NULL, diff_id, chain, NULL, &err) < 0);
    assert_int_equal(servin_content_put(f->store, "", 0, NULL, blob, &err), 0);
    assert_true(servin_layer_unpack(f->store, blob, NULL, NULL, diff_id, chain, NULL, &err) < 0);
    const char *absent = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
    assert_int_equal(servin_layer_unpack(f->store, absent, NULL, NULL, diff_id, chain, NULL, &err), -ENOENT);

    _cleanup_free_ char *layers = xasprintf("%s/layers", f->dir);
    DIR *d = opendir(layers);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            fail_msg("left behind: %s", e->d_name);
    closedir(d);
}

/* --- escapes --- */

static int count_outside(const char *outside)
{
    DIR *d = opendir(outside);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

enum escape_kind {
    DOTDOT_FILE,
    ABS_SYMLINK_THEN_FILE,
    REL_SYMLINK_THEN_FILE,
    HARDLINK_DOTDOT,
    HARDLINK_THROUGH_SYMLINK,
    WHITEOUT_THROUGH_SYMLINK,
    OPAQUE_THROUGH_SYMLINK,
    DIR_DOTDOT_NESTED,
};

static void write_escape_layer(const char *tar, enum escape_kind kind, const char *outside)
{
    struct archive *a = tar_open(tar, "gzip");
    add_file(a, "ok", "fine");
    _cleanup_free_ char *rel = xasprintf("../../../../../../../../..%s", outside);
    switch (kind) {
    case DOTDOT_FILE:
        add_file(a, "../x", "bad");
        break;
    case ABS_SYMLINK_THEN_FILE:
        add_symlink(a, "evil", outside);
        add_file(a, "evil/passwd", "bad");
        break;
    case REL_SYMLINK_THEN_FILE:
        add_symlink(a, "evil", rel);
        add_file(a, "evil/passwd", "bad");
        break;
    case HARDLINK_DOTDOT:
        add_hardlink(a, "x", "../../etc/passwd");
        break;
    case HARDLINK_THROUGH_SYMLINK:
        add_symlink(a, "evil", "/etc");
        add_hardlink(a, "x", "evil/passwd");
        break;
    case WHITEOUT_THROUGH_SYMLINK:
        add_symlink(a, "evil", outside);
        add_file(a, "evil/.wh.passwd", "");
        break;
    case OPAQUE_THROUGH_SYMLINK:
        add_symlink(a, "evil", outside);
        add_file(a, "evil/.wh..wh..opq", "");
        break;
    case DIR_DOTDOT_NESTED:
        add_dir(a, "a", 0755);
        add_file(a, "a/../../x", "bad");
        break;
    }
    tar_close(a);
}

static void escapes_are_refused(void **state)
{
    struct fixture *f = *state;
    char outside[] = "/tmp/servin-outside-XXXXXX";
    assert_non_null(mkdtemp(outside));
    static const char *const names[] = {"../x", "evil/passwd",     "evil/passwd",       "x",
                                        "x",    "evil/.wh.passwd", "evil/.wh..wh..opq", "a/../../x"};
    for (int kind = DOTDOT_FILE; kind <= DIR_DOTDOT_NESTED; kind++) {
        struct servin_error err = {0};
        _cleanup_free_ char *tar = xasprintf("%s/evil-%d.tar.gz", f->dir, kind);
        write_escape_layer(tar, kind, outside);
        char blob[SERVIN_DIGEST_MAX], diff_id[SERVIN_DIGEST_MAX], chain[SERVIN_DIGEST_MAX];
        assert_int_equal(servin_content_put_file(f->store, tar, NULL, blob, NULL, &err), 0);
        int r = servin_layer_unpack(f->store, blob, NULL, NULL, diff_id, chain, NULL, &err);
        if (r == 0)
            fail_msg("escape %d was unpacked", kind);
        _cleanup_free_ char *want =
            xasprintf("layer %s: entry \"%s\" escapes the layer root", blob, names[kind]);
        assert_string_equal(err.msg, want);

        /* Nothing outside, no layer, no temp dir. */
        assert_int_equal(rmdir(outside), 0);
        assert_int_equal(mkdir(outside, 0700), 0);
        _cleanup_free_ char *x1 = xasprintf("%s/x", f->dir);
        _cleanup_free_ char *x2 = xasprintf("%s/layers/x", f->dir);
        assert_int_equal(access(x1, F_OK), -1);
        assert_int_equal(access(x2, F_OK), -1);
        _cleanup_free_ char *layers = xasprintf("%s/layers", f->dir);
        DIR *d = opendir(layers);
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                fail_msg("left behind: %s", e->d_name);
        closedir(d);

        /* The same through servin_unpack_fd: the dest it created is removed. */
        _cleanup_free_ char *dest = xasprintf("%s/fd-dest", f->dir);
        _cleanup_close_ int fd = open(tar, O_RDONLY);
        assert_true(servin_unpack_fd(fd, dest, diff_id, NULL, &err) < 0);
        assert_non_null(strstr(err.msg, "escapes the layer root"));
        assert_int_equal(access(dest, F_OK), -1);
    }
    struct stat st;
    assert_int_equal(stat("/etc/passwd", &st), 0);
    assert_int_equal(st.st_nlink, 1);
    rmdir(outside);
}

/* An in-layer symlink that is simply replaced by a real directory is not an escape. */
static void symlink_replaced_is_fine(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    _cleanup_free_ char *tar = xasprintf("%s/re.tar", f->dir);
    struct archive *a = tar_open(tar, "none");
    add_symlink(a, "d", "/etc");
    add_dir(a, "d", 0755);
    add_file(a, "d/b", "2");
    tar_close(a);
    _cleanup_free_ char *dest = xasprintf("%s/out", f->dir);
    _cleanup_close_ int fd = open(tar, O_RDONLY);
    char diff_id[SERVIN_DIGEST_MAX];
    int r = servin_unpack_fd(fd, dest, diff_id, NULL, &err);
    if (r < 0)
        fail_msg("%s", err.msg);
    _cleanup_free_ char *b = xasprintf("%s/d/b", dest);
    struct stat st;
    assert_int_equal(lstat(b, &st), 0);
    assert_int_equal(access("/etc/b", F_OK), -1);
}

/* Non-ASCII and long names, and a file bigger than the buffers between the two unpacking threads. */
static void names_and_big_files(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    _cleanup_free_ char *tar = xasprintf("%s/names.tar.zst", f->dir);
    char longname[300];
    memset(longname, 'n', sizeof(longname));
    memcpy(longname, "deep/", 5);
    longname[250] = '\0';
    size_t big_len = 5 * 1024 * 1024 + 123;
    _cleanup_free_ char *big = xmalloc(big_len + 1);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + (i * 31 + i / 4096) % 26);
    big[big_len] = '\0';
    struct archive *a = tar_open(tar, "zstd");
    add_file(a, "caf\xc3\xa9.txt", "utf-8");
    add_dir(a, "deep", 0755);
    add_file(a, longname, "long");
    add_file(a, "big", big);
    tar_close(a);

    _cleanup_free_ char *dest = xasprintf("%s/out", f->dir);
    _cleanup_close_ int fd = open(tar, O_RDONLY);
    char diff_id[SERVIN_DIGEST_MAX];
    uint64_t size = 0;
    int r = servin_unpack_fd(fd, dest, diff_id, &size, &err);
    if (r < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(size, 5 + 4 + big_len);
    _cleanup_free_ char *cafe = xasprintf("%s/caf\xc3\xa9.txt", dest);
    _cleanup_free_ char *lng = xasprintf("%s/%s", dest, longname);
    _cleanup_free_ char *bigp = xasprintf("%s/big", dest);
    assert_int_equal(access(cafe, F_OK), 0);
    assert_int_equal(access(lng, F_OK), 0);
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    assert_int_equal(servin_read_file(bigp, &data, &len, &err), 0);
    assert_int_equal(len, big_len);
    assert_memory_equal(data, big, big_len);
}

/* Without CAP_SYS_CHROOT (as in rootless use) the unpack runs unchrooted, with libarchive's own
 * symlink checks back on: the same layers must give the same results. Run in a child that drops
 * the capability, reporting by exit status. */
static int unchrooted_child(struct fixture *f, const char *outside)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0)
        return 10;
    data[0].effective &= ~(1u << CAP_SYS_CHROOT);
    if (syscall(SYS_capset, &hdr, data) < 0)
        return 11;
    if (chroot("/") == 0)
        return 12; /* the capability is still there: the test would prove nothing */

    struct servin_error err = {0};
    for (int kind = DOTDOT_FILE; kind <= DIR_DOTDOT_NESTED; kind++) {
        _cleanup_free_ char *tar = xasprintf("%s/evil-%d.tar.gz", f->dir, kind);
        write_escape_layer(tar, kind, outside);
        char blob[SERVIN_DIGEST_MAX], diff_id[SERVIN_DIGEST_MAX], chain[SERVIN_DIGEST_MAX];
        if (servin_content_put_file(f->store, tar, NULL, blob, NULL, &err) < 0)
            return 13;
        if (servin_layer_unpack(f->store, blob, NULL, NULL, diff_id, chain, NULL, &err) == 0)
            return 20 + kind;
        if (!strstr(err.msg, "escapes the layer root"))
            return 40 + kind;
        if (count_outside(outside) != 0)
            return 60 + kind;
    }
    _cleanup_free_ char *tar = xasprintf("%s/layer.tar", f->dir);
    write_full_layer(tar, "gzip");
    _cleanup_free_ char *dest = xasprintf("%s/out", f->dir);
    _cleanup_close_ int fd = open(tar, O_RDONLY);
    char diff_id[SERVIN_DIGEST_MAX];
    uint64_t size = 0;
    if (servin_unpack_fd(fd, dest, diff_id, &size, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 14;
    }
    check_full_layer(dest);
    return size == FULL_LAYER_SIZE ? 0 : 15;
}

static void unchrooted_fallback(void **state)
{
    struct fixture *f = *state;
    char outside[] = "/tmp/servin-outside-XXXXXX";
    assert_non_null(mkdtemp(outside));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(unchrooted_child(f, outside));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_outside(outside), 0);
    rmdir(outside);
}

struct parallel_arg {
    struct fixture *f;
    char blob[SERVIN_DIGEST_MAX];
    char chain[SERVIN_DIGEST_MAX];
    int ret;
    char msg[SERVIN_ERROR_MSG_MAX];
};

static void *parallel_unpack(void *p)
{
    struct parallel_arg *a = p;
    struct servin_error err = {0};
    char diff_id[SERVIN_DIGEST_MAX];
    a->ret = servin_layer_unpack(a->f->store, a->blob, NULL, NULL, diff_id, a->chain, NULL, &err);
    memcpy(a->msg, err.msg, sizeof(a->msg));
    return NULL;
}

/* Threads unpacking at once (as a pull does), some the same layer: each gets its own directory and
 * root, the first rename wins and the others use its result. */
static void parallel_unpacks(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    enum { N = 6 };
    struct parallel_arg args[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        args[i] = (struct parallel_arg){.f = f};
        _cleanup_free_ char *tar = xasprintf("%s/p%d.tar.gz", f->dir, i % 2);
        if (i < 2)
            write_full_layer(tar, i == 0 ? "gzip" : "none");
        assert_int_equal(servin_content_put_file(f->store, tar, NULL, args[i].blob, NULL, &err), 0);
    }
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    struct stat root;
    assert_int_equal(stat("/", &root), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, parallel_unpack, &args[i]), 0);
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        if (args[i].ret != 0)
            fail_msg("%s", args[i].msg);
        assert_string_equal(args[i].chain, args[0].chain);
    }
    _cleanup_free_ char *diff = xasprintf("%s/layers/%s/diff", f->dir, args[0].chain + 7);
    check_full_layer(diff);
    _cleanup_free_ char *layers = xasprintf("%s/layers", f->dir);
    DIR *d = opendir(layers);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    assert_int_equal(n, 1);
    /* The calling thread's directory and root were never changed. */
    char cwd2[4096];
    assert_non_null(getcwd(cwd2, sizeof(cwd2)));
    assert_string_equal(cwd, cwd2);
    struct stat root2;
    assert_int_equal(stat("/", &root2), 0);
    assert_int_equal(root.st_ino, root2.st_ino);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_id_arithmetic),
        cmocka_unit_test_setup_teardown(unpack_fd_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(compressed_layers_same_diff_id, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_diff_id_and_bad_data, setup, teardown),
        cmocka_unit_test_setup_teardown(escapes_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(symlink_replaced_is_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(names_and_big_files, setup, teardown),
        cmocka_unit_test_setup_teardown(unchrooted_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(parallel_unpacks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
