/* Unit tests for image references: Docker-style normalisation and refusal of bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/reference.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct ok_case {
    const char *in;
    const char *domain, *path, *tag, *digest;
    const char *string;
};

static const struct ok_case ok_cases[] = {
    {"busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest"},
    {"busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "docker.io/library/busybox:1.36"},
    {"user/app", "docker.io", "user/app", "latest", NULL, "docker.io/user/app:latest"},
    {"docker.io/library/busybox", "docker.io", "library/busybox", "latest", NULL, NULL},
    {"docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, NULL},
    {"index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", NULL,
     "docker.io/library/busybox:1"},
    {"localhost/busybox", "localhost", "busybox", "latest", NULL, "localhost/busybox:latest"},
    {"localhost:5000/x", "localhost:5000", "x", "latest", NULL, "localhost:5000/x:latest"},
    {"127.0.0.1:5000/x:v1", "127.0.0.1:5000", "x", "v1", NULL, "127.0.0.1:5000/x:v1"},
    {"registry.example.com/a/b/c:T_a.g-1", "registry.example.com", "a/b/c", "T_a.g-1", NULL, NULL},
    {"busybox@sha256:" D64, "docker.io", "library/busybox", NULL, "sha256:" D64,
     "docker.io/library/busybox@sha256:" D64},
    {"busybox:1@sha256:" D64, "docker.io", "library/busybox", "1", "sha256:" D64,
     "docker.io/library/busybox:1@sha256:" D64},
    /* Without a "/", "localhost:5000" is the image "localhost" with tag "5000", as in Docker. */
    {"localhost:5000", "docker.io", "library/localhost", "5000", NULL, NULL},
    {"a_b__c.d-e--f", "docker.io", "library/a_b__c.d-e--f", "latest", NULL, NULL},
    {"[::1]:5000/x", "[::1]:5000", "x", "latest", NULL, "[::1]:5000/x:latest"},
    {"Registry.Example.com/x", "Registry.Example.com", "x", "latest", NULL, NULL},
    {"x:_t", "docker.io", "library/x", "_t", NULL, NULL},
    {"my-registry:8080/team/app", "my-registry:8080", "team/app", "latest", NULL, NULL},
};

static void normalises_like_docker(void **state)
{
    for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
        const struct ok_case *c = &ok_cases[i];
        struct servin_ref ref;
        struct servin_error err = {0};
        int r = servin_ref_parse(c->in, &ref, &err);
        if (r != 0)
            fail_msg("%s: %s", c->in, err.msg);
        assert_string_equal(ref.domain, c->domain);
        assert_string_equal(ref.path, c->path);
        if (c->tag)
            assert_string_equal(ref.tag, c->tag);
        else
            assert_null(ref.tag);
        if (c->digest)
            assert_string_equal(ref.digest, c->digest);
        else
            assert_null(ref.digest);
        if (c->string) {
            _cleanup_free_ char *s = servin_ref_string(&ref);
            assert_string_equal(s, c->string);
        }
        servin_ref_free(&ref);
    }
}

static const char *const bad_cases[] = {
    "",
    "Busybox",
    "user/App",
    "busybox:",
    "busybox:-x",
    "busybox:a/b",
    "busybox@sha256:abc",
    "busybox@md5:" D64,
    "busybox@sha256:" D64 "0",
    "a//b",
    "a/",
    "/a",
    "-a",
    "a-",
    "a..b",
    "a___b",
    "a_-b",
    D64,
    ":tag",
    "localhost:abc/x",
    "bad_domain.com/x",
    "a b",
    "busybox:tag:more",
    "@sha256:" D64,
};

static void refuses_bad_references(void **state)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct servin_ref ref;
        struct servin_error err = {0};
        int r = servin_ref_parse(bad_cases[i], &ref, &err);
        if (r != -EINVAL)
            fail_msg("\"%s\" was accepted (r=%d)", bad_cases[i], r);
        assert_int_equal(err.code, EINVAL);
        if (strncmp(err.msg, "invalid reference format: ", 26) != 0)
            fail_msg("\"%s\": unexpected message: %s", bad_cases[i], err.msg);
        assert_null(ref.domain);
    }
    struct servin_ref ref;
    struct servin_error err = {0};
    assert_int_equal(servin_ref_parse(NULL, &ref, &err), -EINVAL);
    assert_int_equal(servin_ref_parse("Busybox", &ref, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "lowercase"));
}

static void length_limits(void **state)
{
    struct servin_ref ref;
    struct servin_error err = {0};
    char tag[200], name[300];
    memset(tag, 'a', sizeof(tag));
    memcpy(tag, "x:", 2);
    tag[2 + 128] = '\0';
    assert_int_equal(servin_ref_parse(tag, &ref, &err), 0);
    servin_ref_free(&ref);
    tag[2 + 128] = 'a';
    tag[2 + 129] = '\0';
    assert_int_equal(servin_ref_parse(tag, &ref, &err), -EINVAL);

    /* The limit counts the normalised name: "docker.io/u/" + 243 characters is exactly 255. */
    memset(name, 'a', sizeof(name));
    memcpy(name, "docker.io/u/", 12);
    name[255] = '\0';
    assert_int_equal(servin_ref_parse(name, &ref, &err), 0);
    servin_ref_free(&ref);
    name[255] = 'a';
    name[256] = '\0';
    assert_int_equal(servin_ref_parse(name, &ref, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "255"));
}

static void parse_name_adds_no_tag(void **state)
{
    struct servin_ref ref;
    struct servin_error err = {0};
    assert_int_equal(servin_ref_parse_name("busybox", &ref, &err), 0);
    assert_null(ref.tag);
    _cleanup_free_ char *s = servin_ref_string(&ref);
    assert_string_equal(s, "docker.io/library/busybox");
    _cleanup_free_ char *n = servin_ref_name(&ref);
    assert_string_equal(n, "docker.io/library/busybox");
    servin_ref_free(&ref);
    assert_int_equal(servin_ref_parse_name("localhost:5000/x:v2", &ref, &err), 0);
    assert_string_equal(ref.tag, "v2");
    servin_ref_free(&ref);
}

static void familiar_names(void **state)
{
    static const char *const cases[][2] = {
        {"busybox", "busybox"},
        {"docker.io/library/busybox:1", "busybox"},
        {"user/app", "user/app"},
        {"docker.io/library/a/b", "library/a/b"},
        {"localhost:5000/x", "localhost:5000/x"},
        {"localhost/library/x", "localhost/library/x"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct servin_ref ref;
        struct servin_error err = {0};
        assert_int_equal(servin_ref_parse(cases[i][0], &ref, &err), 0);
        _cleanup_free_ char *f = servin_ref_familiar_name(&ref);
        assert_string_equal(f, cases[i][1]);
        servin_ref_free(&ref);
    }
}

static void ids_versus_names(void **state)
{
    assert_true(servin_ref_looks_like_id("sha256:" D64));
    assert_true(servin_ref_looks_like_id(D64));
    assert_true(servin_ref_looks_like_id("sha256:abc"));
    assert_true(servin_ref_looks_like_id("3f2a"));
    assert_false(servin_ref_looks_like_id(D64 "0"));
    assert_false(servin_ref_looks_like_id("busybox"));
    assert_false(servin_ref_looks_like_id("ABCDEF"));
    assert_false(servin_ref_looks_like_id(""));
    assert_false(servin_ref_looks_like_id("sha256:"));
    assert_false(servin_ref_looks_like_id("abc:latest"));
    assert_false(servin_ref_looks_like_id(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalises_like_docker), cmocka_unit_test(refuses_bad_references),
        cmocka_unit_test(length_limits),          cmocka_unit_test(parse_name_adds_no_tag),
        cmocka_unit_test(familiar_names),         cmocka_unit_test(ids_versus_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
