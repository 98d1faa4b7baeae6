/* Unit tests for the registry client's auth pieces: challenges, auth.json, transport policy, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry/registry_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/registry.h"

static void challenge_bearer(void **state)
{
    struct servin_auth_challenge c;
    assert_int_equal(servin_auth_challenge_parse(
                         "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                         "scope=\"repository:library/busybox:pull\"",
                         &c, NULL),
                     0);
    assert_string_equal(c.scheme, "Bearer");
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:library/busybox:pull");
    assert_null(c.error);
    servin_auth_challenge_free(&c);

    /* Case-insensitive scheme and keys, spaces, escapes, unquoted values, an error field. */
    assert_int_equal(servin_auth_challenge_parse("bearer  Realm=\"http://127.0.0.1:9/t\\\"x\" , service=reg,"
                                                 "error=\"insufficient_scope\",scope=\"a:b:pull b:c:push\"",
                                                 &c, NULL),
                     0);
    assert_string_equal(c.realm, "http://127.0.0.1:9/t\"x");
    assert_string_equal(c.service, "reg");
    assert_string_equal(c.error, "insufficient_scope");
    assert_string_equal(c.scope, "a:b:pull b:c:push");
    servin_auth_challenge_free(&c);
}

static void challenge_basic_and_bad(void **state)
{
    struct servin_auth_challenge c;
    struct servin_error err = {0};
    assert_int_equal(servin_auth_challenge_parse("Basic realm=\"Registry Realm\"", &c, NULL), 0);
    assert_string_equal(c.scheme, "Basic");
    assert_string_equal(c.realm, "Registry Realm");
    servin_auth_challenge_free(&c);

    assert_int_equal(servin_auth_challenge_parse("Negotiate abc", &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "unsupported"));
    assert_int_equal(servin_auth_challenge_parse("Bearer service=\"x\"", &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "realm"));
    assert_int_equal(servin_auth_challenge_parse("", &c, &err), -EINVAL);
}

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/servin-test-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return xstrdup(tmpl);
}

static void authfile_round_trip(void **state)
{
    _cleanup_free_ char *dir = temp_dir();
    _cleanup_free_ char *path = xasprintf("%s/sub/auth.json", dir);
    struct servin_error err = {0};
    char *user = NULL, *pass = NULL;

    assert_int_equal(servin_authfile_get(path, "localhost:5000", &user, &pass, &err), -ENOENT);
    assert_int_equal(servin_authfile_set(path, "localhost:5000", "me", "p:a:ss", &err), 0);
    assert_int_equal(servin_authfile_set(path, "https://index.docker.io/v1/", "hub", "x", &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    _cleanup_free_ char *sub = xasprintf("%s/sub", dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    assert_int_equal(servin_authfile_get(path, "localhost:5000", &user, &pass, &err), 0);
    assert_string_equal(user, "me");
    assert_string_equal(pass, "p:a:ss");
    free(user);
    free(pass);
    /* Docker Hub under any of its names. */
    assert_int_equal(servin_authfile_get(path, "docker.io", &user, &pass, &err), 0);
    assert_string_equal(user, "hub");
    assert_string_equal(pass, "x");
    free(user);
    free(pass);

    /* The stored form is Docker's. */
    _cleanup_free_ char *text = NULL;
    assert_int_equal(servin_read_file(path, &text, NULL, &err), 0);
    json_t *j = json_loads(text, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "auths"), "localhost:5000"), "auth")),
                        "bWU6cDphOnNz");
    assert_non_null(json_object_get(json_object_get(j, "auths"), "docker.io"));
    json_decref(j);

    /* Overwrite, then remove. */
    assert_int_equal(servin_authfile_set(path, "localhost:5000", "me2", "q", &err), 0);
    assert_int_equal(servin_authfile_get(path, "localhost:5000", &user, &pass, &err), 0);
    assert_string_equal(user, "me2");
    free(user);
    free(pass);
    assert_int_equal(servin_authfile_remove(path, "localhost:5000", &err), 0);
    assert_int_equal(servin_authfile_remove(path, "localhost:5000", &err), -ENOENT);
    assert_non_null(strstr(err.msg, "not logged in to localhost:5000"));
    assert_int_equal(servin_authfile_get(path, "docker.io", &user, &pass, &err), 0);
    free(user);
    free(pass);
    servin_rm_rf(dir, NULL);
}

static void authfile_bad_content(void **state)
{
    _cleanup_free_ char *dir = temp_dir();
    _cleanup_free_ char *path = xasprintf("%s/auth.json", dir);
    struct servin_error err = {0};
    char *user = NULL, *pass = NULL;
    assert_int_equal(servin_write_file_atomic(path, "[1,2]", 5, 0600, &err), 0);
    assert_true(servin_authfile_get(path, "x", &user, &pass, &err) < 0);
    assert_true(servin_authfile_set(path, "x", "a", "b", &err) < 0);
    const char *no_colon = "{\"auths\":{\"x\":{\"auth\":\"bm9jb2xvbg==\"}}}";
    assert_int_equal(servin_write_file_atomic(path, no_colon, strlen(no_colon), 0600, &err), 0);
    assert_int_equal(servin_authfile_get(path, "x", &user, &pass, &err), -EINVAL);
    servin_rm_rf(dir, NULL);
}

static void authfile_path_precedence(void **state)
{
    setenv("SERVIN_REGISTRY_AUTH_FILE", "/a/servin.json", 1);
    setenv("REGISTRY_AUTH_FILE", "/b/reg.json", 1);
    setenv("XDG_CONFIG_HOME", "/c", 1);
    setenv("HOME", "/d", 1);
    char *p = servin_authfile_path();
    assert_string_equal(p, "/a/servin.json");
    free(p);
    unsetenv("SERVIN_REGISTRY_AUTH_FILE");
    p = servin_authfile_path();
    assert_string_equal(p, "/b/reg.json");
    free(p);
    unsetenv("REGISTRY_AUTH_FILE");
    p = servin_authfile_path();
    assert_string_equal(p, "/c/servin/auth.json");
    free(p);
    unsetenv("XDG_CONFIG_HOME");
    p = servin_authfile_path();
    assert_string_equal(p, "/d/.config/servin/auth.json");
    free(p);
}

static void hosts_and_transport(void **state)
{
    assert_string_equal(servin_registry_api_host("docker.io"), "registry-1.docker.io");
    assert_string_equal(servin_registry_api_host("localhost:5000"), "localhost:5000");
    assert_string_equal(servin_registry_api_host("quay.io"), "quay.io");

    unsetenv("SERVIN_INSECURE_REGISTRIES");
    assert_true(servin_registry_insecure("localhost"));
    assert_true(servin_registry_insecure("localhost:5000"));
    assert_true(servin_registry_insecure("127.0.0.1:5000"));
    assert_true(servin_registry_insecure("127.9.8.7"));
    assert_true(servin_registry_insecure("[::1]:5000"));
    assert_false(servin_registry_insecure("128.0.0.1:5000"));
    assert_false(servin_registry_insecure("registry-1.docker.io"));
    assert_false(servin_registry_insecure("localhost.evil.com"));
    setenv("SERVIN_INSECURE_REGISTRIES", "reg.lan:5000, http://other.lan,10.0.0.1", 1);
    assert_true(servin_registry_insecure("reg.lan:5000"));
    assert_false(servin_registry_insecure("reg.lan:5001"));
    assert_true(servin_registry_insecure("other.lan"));
    assert_true(servin_registry_insecure("other.lan:443"));
    assert_true(servin_registry_insecure("10.0.0.1:5000"));
    assert_false(servin_registry_insecure("10.0.0.10"));
    unsetenv("SERVIN_INSECURE_REGISTRIES");

    _cleanup_free_ char *k1 = servin_authfile_key("https://index.docker.io/v1/");
    assert_string_equal(k1, "docker.io");
    _cleanup_free_ char *k2 = servin_authfile_key("http://localhost:5000/v2/");
    assert_string_equal(k2, "localhost:5000");
}

static void registry_error_text(void **state)
{
    struct servin_error err = {0};
    char body[] =
        "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\",\"detail\":{}}]}";
    struct reg_resp r = {.status = 404, .body = body, .body_len = strlen(body)};
    assert_int_equal(reg_status_error(&r, &err), -ENOENT);
    assert_string_equal(err.msg, "manifest unknown: manifest unknown");
    char html[] = "<html>oops</html>\nmore";
    struct reg_resp r2 = {.status = 502, .body = html, .body_len = strlen(html)};
    assert_int_equal(reg_status_error(&r2, &err), -EIO);
    assert_string_equal(err.msg, "HTTP 502: <html>oops</html>");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(challenge_bearer),         cmocka_unit_test(challenge_basic_and_bad),
        cmocka_unit_test(authfile_round_trip),      cmocka_unit_test(authfile_bad_content),
        cmocka_unit_test(authfile_path_precedence), cmocka_unit_test(hosts_and_transport),
        cmocka_unit_test(registry_error_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
