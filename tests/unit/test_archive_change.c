/* Unit tests for `import --change`: Dockerfile instructions applied to an image config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "servin/archive.h"
#include "servin/cleanup.h"

static json_t *apply(const char *const *changes)
{
    json_t *cfg = json_object();
    for (const char *const *c = changes; *c; c++) {
        struct servin_error err = {0};
        if (servin_config_apply_change(cfg, *c, &err) < 0)
            fail_msg("change \"%s\" failed: %s", *c, err.msg);
    }
    return cfg;
}

static void assert_json(json_t *value, const char *expected)
{
    json_t *want = json_loads(expected, JSON_DECODE_ANY, NULL);
    assert_non_null(want);
    if (!json_equal(value, want)) {
        _cleanup_free_ char *got = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
        fail_msg("got %s, expected %s", got ? got : "(null)", expected);
    }
    json_decref(want);
}

static void refused(const char *change, const char *fragment)
{
    json_t *cfg = json_object();
    struct servin_error err = {0};
    assert_true(servin_config_apply_change(cfg, change, &err) < 0);
    if (!strstr(err.msg, fragment))
        fail_msg("error for \"%s\" is \"%s\", expected it to mention \"%s\"", change, err.msg, fragment);
    json_decref(cfg);
}

static void cmd_exec_and_shell_forms(void **state)
{
    json_t *cfg = apply((const char *[]){"CMD [\"sh\"]", "ENTRYPOINT echo hello  world", NULL});
    assert_json(json_object_get(cfg, "Cmd"), "[\"sh\"]");
    assert_json(json_object_get(cfg, "Entrypoint"), "[\"/bin/sh\",\"-c\",\"echo hello  world\"]");
    json_decref(cfg);

    /* Lower-case instructions work, a later CMD replaces the earlier one, and a broken JSON
     * array is taken as a shell command, as Docker does. */
    cfg = apply((const char *[]){"cmd [\"a\"]", "CMD [\"b\", \"c\"]", "ENTRYPOINT [\"x\"", NULL});
    assert_json(json_object_get(cfg, "Cmd"), "[\"b\",\"c\"]");
    assert_json(json_object_get(cfg, "Entrypoint"), "[\"/bin/sh\",\"-c\",\"[\\\"x\\\"\"]");
    json_decref(cfg);
}

static void env_pairs_legacy_and_replace(void **state)
{
    json_t *cfg =
        apply((const char *[]){"ENV A=1 B=\"two words\" C=x\\ y", "ENV D some value", "ENV A=3", NULL});
    assert_json(json_object_get(cfg, "Env"), "[\"A=3\",\"B=two words\",\"C=x y\",\"D=some value\"]");
    json_decref(cfg);
}

static void labels_ports_volumes(void **state)
{
    json_t *cfg = apply((const char *[]){"LABEL a=b \"c d\"='e f'", "EXPOSE 80 53/UDP 8000-8002/tcp",
                                         "VOLUME [\"/data\"]", "VOLUME /a /b", NULL});
    assert_json(json_object_get(cfg, "Labels"), "{\"a\":\"b\",\"c d\":\"e f\"}");
    assert_json(json_object_get(cfg, "ExposedPorts"),
                "{\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},\"8001/tcp\":{},\"8002/tcp\":{}}");
    assert_json(json_object_get(cfg, "Volumes"), "{\"/data\":{},\"/a\":{},\"/b\":{}}");
    json_decref(cfg);
}

static void user_workdir_stopsignal_onbuild(void **state)
{
    json_t *cfg = apply((const char *[]){"USER nobody:nogroup", "WORKDIR /srv", "WORKDIR app",
                                         "STOPSIGNAL SIGTERM", "ONBUILD RUN echo hi", NULL});
    assert_json(json_object_get(cfg, "User"), "\"nobody:nogroup\"");
    assert_json(json_object_get(cfg, "WorkingDir"), "\"/srv/app\"");
    assert_json(json_object_get(cfg, "StopSignal"), "\"SIGTERM\"");
    assert_json(json_object_get(cfg, "OnBuild"), "[\"RUN echo hi\"]");
    json_decref(cfg);
}

static void bad_changes_are_refused(void **state)
{
    refused("RUN echo hi", "RUN is not a valid change command");
    refused("FROM busybox", "FROM is not a valid change command");
    refused("", "empty change");
    refused("CMD", "needs a command");
    refused("ENV", "needs at least one argument");
    refused("ENV A=1 B", "not of the form key=value");
    refused("ENV =1", "empty name");
    refused("LABEL \"a=b", "unbalanced");
    refused("EXPOSE 0", "invalid port");
    refused("EXPOSE 70000", "invalid port");
    refused("EXPOSE 80/icmp", "invalid protocol");
    refused("EXPOSE 90-80", "invalid port");
    refused("USER a b", "exactly one");
    refused("WORKDIR", "exactly one");
    refused("STOPSIGNAL !!", "invalid signal");
    refused("ONBUILD ONBUILD RUN x", "cannot trigger");
    refused("VOLUME []", "at least one path");
}

static void format_names(void **state)
{
    enum servin_archive_format f;
    struct servin_error err = {0};
    assert_int_equal(servin_archive_format_parse("oci-archive", &f, &err), 0);
    assert_int_equal(f, SERVIN_ARCHIVE_OCI);
    assert_int_equal(servin_archive_format_parse("docker-archive", &f, &err), 0);
    assert_int_equal(f, SERVIN_ARCHIVE_DOCKER);
    assert_true(servin_archive_format_parse("zip", &f, &err) < 0);
    assert_non_null(strstr(err.msg, "zip"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cmd_exec_and_shell_forms), cmocka_unit_test(env_pairs_legacy_and_replace),
        cmocka_unit_test(labels_ports_volumes),     cmocka_unit_test(user_workdir_stopsignal_onbuild),
        cmocka_unit_test(bad_changes_are_refused),  cmocka_unit_test(format_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
