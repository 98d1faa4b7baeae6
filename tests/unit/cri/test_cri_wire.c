/* Unit tests of the CRI server's pure pieces: gRPC framing, grpc-timeout, grpc-message
 * percent-encoding, the reply-building helpers and the JSON <-> protobuf mapping of the gateway. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cri_internal.h"
#include "grpc_wire.h"

static void test_timeout(void **state)
{
    int64_t ns = 0;
    assert_int_equal(grpc_parse_timeout("1S", &ns), 0);
    assert_true(ns == 1000000000LL);
    assert_int_equal(grpc_parse_timeout("250m", &ns), 0);
    assert_true(ns == 250000000LL);
    assert_int_equal(grpc_parse_timeout("7n", &ns), 0);
    assert_true(ns == 7);
    assert_int_equal(grpc_parse_timeout("3u", &ns), 0);
    assert_true(ns == 3000);
    assert_int_equal(grpc_parse_timeout("2M", &ns), 0);
    assert_true(ns == 120000000000LL);
    assert_int_equal(grpc_parse_timeout("99999999H", &ns), 0); /* saturates, no overflow */
    assert_true(ns > 0);
    const char *bad[] = {"", "S", "1", "123456789S", "1x", "-1S", "1 S", "S1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(grpc_parse_timeout(bad[i], &ns), -1);
}

static void test_percent(void **state)
{
    char *e = grpc_percent_encode("pod \"x\" 100% gone\n\xc3\xa9");
    assert_string_equal(e, "pod \"x\" 100%25 gone%0A%C3%A9");
    char *d = grpc_percent_decode((const uint8_t *)e, strlen(e));
    assert_string_equal(d, "pod \"x\" 100% gone\n\xc3\xa9");
    free(e);
    free(d);
    d = grpc_percent_decode((const uint8_t *)"50%zz and %4", 12);
    assert_string_equal(d, "50%zz and %4");
    free(d);
}

static void test_frame(void **state)
{
    uint8_t h[5];
    grpc_frame_header(h, 0x01020304);
    assert_int_equal(h[0], 0);
    assert_int_equal(h[1], 1);
    assert_int_equal(h[4], 4);
    assert_int_equal(grpc_frame_length(h), 0x01020304);
}

static void test_helpers(void **state)
{
    struct cri_call call = {0};
    Runtime__V1__PodSandboxStatus *st = cri_new(&call, &runtime__v1__pod_sandbox_status__descriptor);
    assert_string_equal(st->id, ""); /* defaults from the descriptor */
    cri_map_add(&call, &st->base, "labels", "app", "web");
    cri_map_add(&call, &st->base, "labels", "tier", "front");
    assert_int_equal(st->n_labels, 2);
    assert_string_equal(cri_map_get(&st->base, "labels", "tier"), "front");
    assert_null(cri_map_get(&st->base, "labels", "nope"));
    Runtime__V1__ListImagesResponse *l = cri_new(&call, &runtime__v1__list_images_response__descriptor);
    for (int i = 0; i < 5; i++) {
        Runtime__V1__Image *img = cri_new(&call, &runtime__v1__image__descriptor);
        img->id = cri_printf(&call, "sha256:%d", i);
        cri_append(&call, &img->base, "repo_tags", "a:1");
        cri_append(&call, &l->base, "images", img);
    }
    assert_int_equal(l->n_images, 5);
    assert_string_equal(l->images[4]->id, "sha256:4");
    assert_string_equal(l->images[2]->repo_tags[0], "a:1");
    /* The reply packs: the arena's messages are ordinary protobuf-c messages. */
    size_t n = protobuf_c_message_get_packed_size(&l->base);
    uint8_t *buf = malloc(n);
    protobuf_c_message_pack(&l->base, buf);
    Runtime__V1__ListImagesResponse *back = runtime__v1__list_images_response__unpack(NULL, n, buf);
    assert_non_null(back);
    assert_int_equal(back->n_images, 5);
    runtime__v1__list_images_response__free_unpacked(back, NULL);
    free(buf);

    assert_int_equal(cri_fail(&call, GRPC_NOT_FOUND, "pod %s\nnot found", "x"), -1);
    assert_int_equal(call.code, GRPC_NOT_FOUND);
    assert_string_equal(call.message, "pod x not found"); /* one line */
    assert_string_equal(grpc_code_name(call.code), "NOT_FOUND");
    free(call.message);
    cri_arena_free(&call);
    assert_null(call.arena);
}

static void test_json_to_message(void **state)
{
    struct cri_call call = {0};
    char why[256] = "";
    ProtobufCMessage *m = NULL;
    const char *text =
        "{\"config\": {\"metadata\": {\"name\": \"p\", \"uid\": \"u1\", \"namespace\": \"ns\", "
        "\"attempt\": 2}, \"labels\": {\"app\": \"web\"}, \"portMappings\": [{\"protocol\": \"UDP\", "
        "\"container_port\": 53, \"hostPort\": 5353}], \"linux\": {\"resources\": "
        "{\"memoryLimitInBytes\": \"1073741824\", \"cpuShares\": 512}}}, \"runtimeHandler\": \"\"}";
    assert_int_equal(cri_json_to_message(&call, &runtime__v1__run_pod_sandbox_request__descriptor, text,
                                         strlen(text), &m, why, sizeof(why)),
                     0);
    const Runtime__V1__RunPodSandboxRequest *r = (const void *)m;
    assert_string_equal(r->config->metadata->name, "p");
    assert_int_equal(r->config->metadata->attempt, 2);
    assert_string_equal(cri_map_get(&r->config->base, "labels", "app"), "web");
    assert_int_equal(r->config->n_port_mappings, 1);
    assert_int_equal(r->config->port_mappings[0]->protocol, RUNTIME__V1__PROTOCOL__UDP);
    assert_int_equal(r->config->port_mappings[0]->container_port, 53);
    assert_true(r->config->linux->resources->memory_limit_in_bytes == 1073741824LL);
    assert_null(r->config->dns_config);

    /* And back: lowerCamelCase, enums by name, maps as objects, every scalar shown. */
    char *out = cri_message_to_json(m);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    json_t *cfg = json_object_get(j, "config");
    assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "labels"), "app")), "web");
    json_t *pm = json_array_get(json_object_get(cfg, "portMappings"), 0);
    assert_string_equal(json_string_value(json_object_get(pm, "protocol")), "UDP");
    assert_int_equal(json_integer_value(json_object_get(pm, "hostPort")), 5353);
    assert_string_equal(json_string_value(json_object_get(pm, "hostIp")), "");
    assert_null(json_object_get(cfg, "dnsConfig")); /* absent sub-message */
    json_decref(j);

    /* bytes are base64 both ways */
    Runtime__V1__ExecSyncResponse *ex = cri_new(&call, &runtime__v1__exec_sync_response__descriptor);
    ex->stdout.data = (uint8_t *)"hi\n";
    ex->stdout.len = 3;
    out = cri_message_to_json(&ex->base);
    assert_non_null(strstr(out, "\"aGkK\""));
    assert_int_equal(cri_json_to_message(&call, &runtime__v1__exec_sync_response__descriptor, out,
                                         strlen(out), &m, why, sizeof(why)),
                     0);
    free(out);
    assert_int_equal(((Runtime__V1__ExecSyncResponse *)m)->stdout.len, 3);
    assert_memory_equal(((Runtime__V1__ExecSyncResponse *)m)->stdout.data, "hi\n", 3);

    /* An empty body is the empty request. */
    assert_int_equal(cri_json_to_message(&call, &runtime__v1__version_request__descriptor, "  \n", 3, &m, why,
                                         sizeof(why)),
                     0);
    assert_string_equal(((Runtime__V1__VersionRequest *)m)->version, "");
    cri_arena_free(&call);
}

static void expect_bad(const ProtobufCMessageDescriptor *d, const char *text, const char *words)
{
    struct cri_call call = {0};
    char why[256] = "";
    ProtobufCMessage *m = NULL;
    assert_int_equal(cri_json_to_message(&call, d, text, strlen(text), &m, why, sizeof(why)), -1);
    if (!strstr(why, words))
        fail_msg("\"%s\" does not say \"%s\"", why, words);
    cri_arena_free(&call);
}

static void test_json_errors(void **state)
{
    const ProtobufCMessageDescriptor *run = &runtime__v1__run_pod_sandbox_request__descriptor;
    expect_bad(run, "{\"config\": {\"metadata\": {\"nmae\": \"x\"}}}", "config.metadata.nmae: unknown field");
    expect_bad(run, "{\"config\": {\"metadata\": {\"attempt\": -1}}}",
               "attempt: expected an unsigned 32-bit");
    expect_bad(run, "{\"config\": {\"portMappings\": [{\"protocol\": \"QUIC\"}]}}",
               "not a value of the enum");
    expect_bad(run, "{\"config\": {\"labels\": [\"a\"]}}", "expected an object (a map)");
    expect_bad(run, "{\"config\": {\"hostname\": 5}}", "config.hostname: expected a string");
    expect_bad(run, "[1]", "the body: expected an object");
    expect_bad(run, "{\"config\": ", "invalid JSON");
    expect_bad(&runtime__v1__status_request__descriptor, "{\"verbose\": \"yes\"}",
               "verbose: expected true or false");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout),         cmocka_unit_test(test_percent),
        cmocka_unit_test(test_frame),           cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_json_to_message), cmocka_unit_test(test_json_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
