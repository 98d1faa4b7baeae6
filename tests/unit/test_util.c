/* Unit tests for util: errors, digests, atomic files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/digest.h"
#include "servin/error.h"
#include "servin/fs.h"

static void error_set_and_wrap(void **state)
{
    struct servin_error err = {0};
    assert_int_equal(servin_error_set(&err, ENOENT, "image %s not found", "busybox"), -ENOENT);
    assert_int_equal(servin_error_wrap(&err, "pull %s", "busybox"), -ENOENT);
    assert_string_equal(err.msg, "pull busybox: image busybox not found");
    assert_int_equal(servin_error_errno(&err, EACCES, "open %s", "/x"), -EACCES);
    assert_string_equal(err.msg, "open /x: Permission denied");
}

static void digest_of_known_bytes(void **state)
{
    char d[SERVIN_DIGEST_MAX];
    servin_digest_bytes("", 0, d);
    assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    servin_digest_bytes("abc", 3, d);
    assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(servin_digest_valid(d));
    assert_false(servin_digest_valid("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    assert_false(servin_digest_valid("sha256:abc"));
    assert_false(servin_digest_valid("md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

static void atomic_write_then_read(void **state)
{
    char dir[] = "/tmp/servin-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct servin_error err = {0};
    _cleanup_free_ char *sub = xasprintf("%s/a/b/c", dir);
    assert_int_equal(servin_mkdir_p(sub, 0755, &err), 0);
    _cleanup_free_ char *file = xasprintf("%s/f", sub);
    assert_int_equal(servin_write_file_atomic(file, "hello", 5, 0600, &err), 0);
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    assert_int_equal(servin_read_file(file, &data, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_string_equal(data, "hello");
    char digest[SERVIN_DIGEST_MAX];
    uint64_t size = 0;
    assert_int_equal(servin_digest_file(file, digest, &size, &err), 0);
    assert_int_equal(size, 5);
    assert_int_equal(servin_rm_rf(dir, &err), 0);
    assert_int_equal(access(dir, F_OK), -1);
    assert_true(servin_read_file(file, (char **)&data, &len, &err) < 0);
    assert_non_null(strstr(err.msg, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_set_and_wrap),
        cmocka_unit_test(digest_of_known_bytes),
        cmocka_unit_test(atomic_write_then_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
