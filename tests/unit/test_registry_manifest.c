/* Unit tests for the registry client's manifests: kinds, schema 1, platforms and their selection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/registry_internal.h"
#include "servin/cleanup.h"
#include "servin/image.h"
#include "servin/registry.h"

static void platform_parse(void **state)
{
    struct servin_platform p;
    struct servin_error err = {0};
    assert_int_equal(servin_platform_parse("linux/amd64", &p, &err), 0);
    assert_string_equal(p.os, "linux");
    assert_string_equal(p.arch, "amd64");
    assert_string_equal(p.variant, "");
    assert_int_equal(servin_platform_parse("Linux/ARM/v7", &p, &err), 0);
    assert_string_equal(p.os, "linux");
    assert_string_equal(p.arch, "arm");
    assert_string_equal(p.variant, "v7");
    assert_int_equal(servin_platform_parse("linux/x86_64", &p, &err), 0);
    assert_string_equal(p.arch, "amd64");
    assert_int_equal(servin_platform_parse("linux/aarch64", &p, &err), 0);
    assert_string_equal(p.arch, "arm64");
    const char *bad[] = {"amd64", "linux/", "/amd64", "linux//v7", "linux/arm/", "a/b/c/d", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(servin_platform_parse(bad[i], &p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "platform"));
    }
}

static void platform_host(void **state)
{
    struct servin_platform p;
    servin_platform_host(&p);
    assert_string_equal(p.os, "linux");
#if defined(__x86_64__)
    assert_string_equal(p.arch, "amd64");
    assert_string_equal(p.variant, "");
#elif defined(__aarch64__)
    assert_string_equal(p.arch, "arm64");
    assert_string_equal(p.variant, "v8");
#endif
}

#define D(c)                                                                                                 \
    "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c

static const char *index_json =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
    "{\"digest\":\"" D(
        "a") "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
             "{\"digest\":\"" D(
                 "b") "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
                      "{\"digest\":\"" D(
                          "c") "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":"
                               "\"v7\"}},"
                               "{\"digest\":\"" D(
                                   "d") "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                                        "{\"digest\":\"" D(
                                            "e") "\",\"platform\":{\"os\":\"unknown\",\"architecture\":"
                                                 "\"unknown\"}},"
                                                 "{\"digest\":\"" D(
                                                     "f") "\",\"platform\":{\"os\":\"windows\","
                                                          "\"architecture\":\"amd64\"}}]}";

static void select_platform(void **state)
{
    json_t *index = json_loads(index_json, 0, NULL);
    assert_non_null(index);
    struct servin_platform p;
    struct servin_error err = {0};
    char d[SERVIN_DIGEST_MAX];

    servin_platform_parse("linux/amd64", &p, &err);
    assert_int_equal(servin_manifest_select_platform(index, &p, d, &err), 0);
    assert_string_equal(d, D("a"));
    servin_platform_parse("windows/amd64", &p, &err);
    assert_int_equal(servin_manifest_select_platform(index, &p, d, &err), 0);
    assert_string_equal(d, D("f"));
    /* arm64 without a variant in the index is v8. */
    servin_platform_parse("linux/arm64/v8", &p, &err);
    assert_int_equal(servin_manifest_select_platform(index, &p, d, &err), 0);
    assert_string_equal(d, D("d"));
    servin_platform_parse("linux/arm/v6", &p, &err);
    assert_int_equal(servin_manifest_select_platform(index, &p, d, &err), 0);
    assert_string_equal(d, D("b"));
    /* "arm" alone prefers the default v7 over the first listed. */
    servin_platform_parse("linux/arm", &p, &err);
    assert_int_equal(servin_manifest_select_platform(index, &p, d, &err), 0);
    assert_string_equal(d, D("c"));

    servin_platform_parse("linux/s390x", &p, &err);
    assert_int_equal(servin_manifest_select_platform(index, &p, d, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no matching manifest for linux/s390x"));
    assert_non_null(strstr(err.msg, "linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64, windows/amd64"));
    assert_null(strstr(err.msg, "unknown"));
    servin_platform_parse("linux/arm/v5", &p, &err);
    assert_int_equal(servin_manifest_select_platform(index, &p, d, &err), -ENOENT);
    json_decref(index);

    json_t *not_index = json_loads("{\"schemaVersion\":2}", 0, NULL);
    assert_true(servin_manifest_select_platform(not_index, &p, d, &err) < 0);
    json_decref(not_index);
}

static void manifest_kinds(void **state)
{
    json_t *j = NULL;
    char *mt = NULL;
    struct servin_error err = {0};
    const char *oci = "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}";
    assert_int_equal(reg_manifest_parse(oci, strlen(oci), NULL, &j, &mt, &err), 0);
    assert_string_equal(mt, SERVIN_MT_OCI_MANIFEST);
    free(mt);
    json_decref(j);
    /* The Content-Type (with parameters) tells when mediaType is missing. */
    assert_int_equal(
        reg_manifest_parse(oci, strlen(oci), SERVIN_MT_DOCKER_MANIFEST "; charset=utf-8", &j, &mt, &err), 0);
    assert_string_equal(mt, SERVIN_MT_DOCKER_MANIFEST);
    free(mt);
    json_decref(j);
    const char *list = "{\"schemaVersion\":2,\"mediaType\":\"" SERVIN_MT_DOCKER_LIST "\",\"manifests\":[]}";
    assert_int_equal(reg_manifest_parse(list, strlen(list), NULL, &j, &mt, &err), 0);
    assert_true(reg_media_type_is_index(mt));
    free(mt);
    json_decref(j);

    const char *v1 = "{\"schemaVersion\":1,\"fsLayers\":[]}";
    assert_int_equal(reg_manifest_parse(v1, strlen(v1), NULL, &j, &mt, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "schema 1"));
    assert_int_equal(reg_manifest_parse(oci, strlen(oci),
                                        "application/vnd.docker.distribution.manifest.v1+prettyjws", &j, &mt,
                                        &err),
                     -EPROTO);
    assert_non_null(strstr(err.msg, "schema 1"));
    const char *weird = "{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}";
    assert_int_equal(reg_manifest_parse(weird, strlen(weird), NULL, &j, &mt, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "text/plain"));
    assert_int_equal(reg_manifest_parse("[]", 2, NULL, &j, &mt, &err), -EPROTO);
    assert_int_equal(reg_manifest_parse("{", 1, NULL, &j, &mt, &err), -EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(platform_parse),
        cmocka_unit_test(platform_host),
        cmocka_unit_test(select_platform),
        cmocka_unit_test(manifest_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
