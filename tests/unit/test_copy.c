/* Unit tests for copy.c: trees and tar streams between two roots in temp dirs, Docker's naming
 * (top entry, contents only), and paths that must stay inside the destination root. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/copy.h"
#include "servin/fs.h"

struct roots {
    char *a, *b;
    int fa, fb;
};

static void put(const char *path, const char *text)
{
    struct servin_error err = {0};
    assert_int_equal(servin_write_file_atomic(path, text, strlen(text), 0640, &err), 0);
}

static char *slurp(const char *path)
{
    char *text = NULL;
    struct servin_error err = {0};
    if (servin_read_file(path, &text, NULL, &err) < 0)
        return xstrdup("<missing>");
    return text;
}

static int setup(void **state)
{
    struct roots *r = xcalloc(1, sizeof(*r));
    char ta[] = "/tmp/servin-copy-a-XXXXXX", tb[] = "/tmp/servin-copy-b-XXXXXX";
    assert_non_null(mkdtemp(ta));
    assert_non_null(mkdtemp(tb));
    r->a = xstrdup(ta);
    r->b = xstrdup(tb);
    _cleanup_free_ char *sub = xasprintf("%s/dir/sub", r->a);
    struct servin_error err = {0};
    assert_int_equal(servin_mkdir_p(sub, 0755, &err), 0);
    _cleanup_free_ char *f1 = xasprintf("%s/dir/one", r->a);
    _cleanup_free_ char *f2 = xasprintf("%s/dir/sub/two", r->a);
    put(f1, "1\n");
    put(f2, "2\n");
    _cleanup_free_ char *l = xasprintf("%s/dir/up", r->a);
    assert_int_equal(symlink("../../../../..", l), 0);
    r->fa = open(r->a, O_PATH | O_DIRECTORY);
    r->fb = open(r->b, O_PATH | O_DIRECTORY);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct roots *r = *state;
    struct servin_error err = {0};
    close(r->fa);
    close(r->fb);
    servin_rm_rf(r->a, &err);
    servin_rm_rf(r->b, &err);
    free(r->a);
    free(r->b);
    free(r);
    return 0;
}

static void test_tree_named_and_contents(void **state)
{
    struct roots *r = *state;
    struct servin_error err = {0};
    struct servin_copy_opts o = {.uid = getuid(), .gid = getgid()};
    assert_int_equal(servin_copy_tree(r->fa, "/dir", r->fb, "/", &o, &err), 0);
    _cleanup_free_ char *two = xasprintf("%s/dir/sub/two", r->b);
    _cleanup_free_ char *got = slurp(two);
    assert_string_equal(got, "2\n");
    struct stat st;
    assert_int_equal(stat(two, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    _cleanup_free_ char *up = xasprintf("%s/dir/up", r->b);
    char link[64] = "";
    assert_int_equal(readlink(up, link, sizeof(link) - 1), 14);

    o.top = "renamed";
    assert_int_equal(servin_copy_tree(r->fa, "dir", r->fb, "/", &o, &err), 0);
    _cleanup_free_ char *one = xasprintf("%s/renamed/one", r->b);
    assert_int_equal(access(one, F_OK), 0);

    o.top = NULL;
    o.contents_only = true;
    _cleanup_free_ char *flat = xasprintf("%s/flat", r->b);
    assert_int_equal(mkdir(flat, 0755), 0);
    assert_int_equal(servin_copy_tree(r->fa, "/dir/.", r->fb, "/flat", &o, &err), 0);
    _cleanup_free_ char *flat_two = xasprintf("%s/flat/sub/two", r->b);
    assert_int_equal(access(flat_two, F_OK), 0);
}

static void test_symlinks_resolve_inside_the_root(void **state)
{
    struct roots *r = *state;
    struct servin_error err = {0};
    struct servin_copy_opts o = {.uid = getuid(), .gid = getgid(), .follow_link = true};
    /* "dir/up" climbs far above the root: resolved inside it, it is the root itself. */
    struct servin_path_stat st = {0};
    assert_int_equal(servin_copy_stat(r->fa, "/dir/up/dir/one", false, &st, &err), 0);
    assert_string_equal(st.name, "one");
    assert_int_equal(st.size, 2);
    servin_path_stat_clear(&st);
    assert_int_equal(servin_copy_stat(r->fa, "/dir/up", false, &st, &err), 0);
    assert_true(S_ISLNK(st.mode));
    assert_string_equal(st.link_target, "../../../../..");
    servin_path_stat_clear(&st);
    assert_int_equal(servin_copy_stat(r->fa, "/nope", false, &st, &err), -ENOENT);

    /* Copy into the destination through a link that points "out": it lands inside. */
    _cleanup_free_ char *link = xasprintf("%s/out", r->b);
    assert_int_equal(symlink("/../../..", link), 0);
    o.follow_link = false;
    o.top = "landed";
    assert_int_equal(servin_copy_tree(r->fa, "/dir/one", r->fb, "/out", &o, &err), 0);
    _cleanup_free_ char *landed = xasprintf("%s/landed", r->b);
    assert_int_equal(access(landed, F_OK), 0);
    assert_int_not_equal(access("/landed", F_OK), 0);
}

static void test_tar_round_trip_and_bad_names(void **state)
{
    struct roots *r = *state;
    struct servin_error err = {0};
    struct servin_copy_opts o = {.uid = getuid(), .gid = getgid()};
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    assert_int_equal(servin_copy_to_tar(r->fa, "/dir", &o, fileno(tmp), &err), 0);
    lseek(fileno(tmp), 0, SEEK_SET);
    o.top = "again";
    assert_int_equal(servin_copy_from_tar(fileno(tmp), r->fb, "/", &o, &err), 0);
    fclose(tmp);
    _cleanup_free_ char *two = xasprintf("%s/again/sub/two", r->b);
    _cleanup_free_ char *got = slurp(two);
    assert_string_equal(got, "2\n");

    /* A tar entry with ".." is refused. */
    const char *evil = "../evil";
    char block[1536] = {0};
    memcpy(block, evil, strlen(evil));
    memcpy(block + 100, "0000644", 7);
    memcpy(block + 108, "0000000", 7);
    memcpy(block + 116, "0000000", 7);
    memcpy(block + 124, "00000000000", 11);
    memcpy(block + 136, "00000000000", 11);
    block[156] = '0';
    memcpy(block + 257, "ustar", 6);
    memcpy(block + 263, "00", 2);
    memset(block + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (unsigned char)block[i];
    snprintf(block + 148, 8, "%06o", sum);
    FILE *bad = tmpfile();
    fwrite(block, 1, sizeof(block), bad);
    fflush(bad);
    lseek(fileno(bad), 0, SEEK_SET);
    o.top = NULL;
    assert_int_equal(servin_copy_from_tar(fileno(bad), r->fb, "/", &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "climbs out"));
    fclose(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tree_named_and_contents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_resolve_inside_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tar_round_trip_and_bad_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
