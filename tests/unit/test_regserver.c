/* Unit tests for the registry server's routing and the spec's name and tag grammar. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "regserver/regserver_internal.h"

static void names(void **state)
{
    const char *good[] = {"a", "library/busybox", "a.b/c_d/e__f/g-h/i---j", "0/9", "x/y/z/w"};
    const char *bad[] = {"",   "A",  "a/",    "/a", "a//b", "..",   "a/../b", "a/./b", ".a",
                         "a.", "a_", "a___b", "a-", "-a",   "a..b", "a/b%2f", "a b",   "a:b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(rs_name_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(rs_name_valid(bad[i]));
    char long_name[300];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_false(rs_name_valid(long_name));
}

static void tags(void **state)
{
    assert_true(rs_tag_valid("latest"));
    assert_true(rs_tag_valid("_x.Y-1"));
    assert_false(rs_tag_valid(""));
    assert_false(rs_tag_valid(".x"));
    assert_false(rs_tag_valid("-x"));
    assert_false(rs_tag_valid("a/b"));
    assert_false(rs_tag_valid("a:b"));
    char long_tag[130];
    memset(long_tag, 'a', sizeof(long_tag) - 1);
    long_tag[sizeof(long_tag) - 1] = '\0';
    assert_false(rs_tag_valid(long_tag));
}

static void check_route(const char *url, int want_ret, enum rs_route want_route, const char *want_name,
                        const char *want_ref)
{
    enum rs_route route = RS_ROUTE_BASE;
    char *name = NULL, *ref = NULL;
    int ret = rs_route_parse(url, &route, &name, &ref);
    assert_int_equal(ret, want_ret);
    if (ret == 0) {
        assert_int_equal(route, want_route);
        if (want_name)
            assert_string_equal(name, want_name);
        else
            assert_null(name);
        if (want_ref)
            assert_string_equal(ref, want_ref);
    }
    free(name);
    free(ref);
}

static void routes(void **state)
{
    check_route("/v2/", 0, RS_ROUTE_BASE, NULL, NULL);
    check_route("/v2", 0, RS_ROUTE_BASE, NULL, NULL);
    check_route("/v2/_catalog", 0, RS_ROUTE_CATALOG, NULL, NULL);
    check_route("/v2/a/b/tags/list", 0, RS_ROUTE_TAGS, "a/b", "");
    check_route("/v2/a/manifests/latest", 0, RS_ROUTE_MANIFEST, "a", "latest");
    check_route("/v2/a/blobs/sha256:00", 0, RS_ROUTE_BLOB, "a", "sha256:00");
    check_route("/v2/a/blobs/uploads/", 0, RS_ROUTE_UPLOADS, "a", "");
    check_route("/v2/a/blobs/uploads/1234", 0, RS_ROUTE_UPLOADS, "a", "1234");
    check_route("/v2/a/referrers/sha256:00", 0, RS_ROUTE_REFERRERS, "a", "sha256:00");
    /* Names may contain the endpoint words themselves. */
    check_route("/v2/blobs/manifests/manifests/x", 0, RS_ROUTE_MANIFEST, "blobs/manifests", "x");
    check_route("/v2/a/blobs/b/blobs/uploads/", 0, RS_ROUTE_UPLOADS, "a/blobs/b", "");
    check_route("/v2/tags/list/tags/list", 0, RS_ROUTE_TAGS, "tags/list", "");
    /* Traversal and bad names are NAME_INVALID, unknown shapes are no endpoint. */
    check_route("/v2/../etc/manifests/x", -EBADMSG, RS_ROUTE_BASE, NULL, NULL);
    check_route("/v2/a/../b/manifests/x", -EBADMSG, RS_ROUTE_BASE, NULL, NULL);
    check_route("/v2/A/manifests/x", -EBADMSG, RS_ROUTE_BASE, NULL, NULL);
    check_route("/v1/a/manifests/x", -EINVAL, RS_ROUTE_BASE, NULL, NULL);
    check_route("/v2/a/manifests/", -EINVAL, RS_ROUTE_BASE, NULL, NULL);
    check_route("/v2/a/manifests/x/y", -EINVAL, RS_ROUTE_BASE, NULL, NULL);
    check_route("/v2/a", -EINVAL, RS_ROUTE_BASE, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(tags),
        cmocka_unit_test(routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
