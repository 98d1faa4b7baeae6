/* Unit tests for config: the YAML file, its errors with lines, env and flags over it, reload. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/log.h"

static char dir[] = "/tmp/servin-config-test-XXXXXX";

static char *write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int key_index(const char *name)
{
    for (size_t i = 0; i < servin_config_n_keys(); i++)
        if (strcmp(servin_config_key_name(i), name) == 0)
            return (int)i;
    fail_msg("no key %s", name);
    return -1;
}

static void full_file_parses(void **state)
{
    _cleanup_free_ char *path =
        write_file("full.yaml", "runtime:\n"
                                "  data_dir: /srv/servin\n"
                                "  log_level: INFO\n"
                                "  max_containers: 7\n"
                                "cri: {enabled: yes, socket_path: /run/x.sock}\n"
                                "registries:\n"
                                "  insecure: [reg.lan]\n"
                                "  mirrors:\n"
                                "    docker.io: [\"http://reg.lan:5000\", mirror.example]\n"
                                "logging:\n"
                                "  max_size: 2k\n"
                                "  max_files: 3\n"
                                "security:\n"
                                "  default_ulimits: {nofile: 10:20, core: unlimited}\n");
    struct servin_config *cfg = NULL;
    struct servin_error err = {0};
    assert_int_equal(servin_config_check_file(path, &cfg, &err), 0);
    assert_true(cfg->file_read);
    assert_string_equal(cfg->runtime.data_dir, "/srv/servin");
    assert_string_equal(cfg->runtime.log_level, "info");
    assert_int_equal(cfg->runtime.max_containers, 7);
    assert_true(cfg->cri.enabled);
    assert_int_equal(cfg->logging.max_size, 2048);
    assert_int_equal(cfg->logging.max_files, 3);
    char *const *m = servin_config_mirrors_for(cfg, "index.docker.io");
    assert_non_null(m);
    assert_string_equal(m[0], "http://reg.lan:5000");
    assert_string_equal(m[1], "mirror.example");
    assert_null(m[2]);
    assert_null(servin_config_mirrors_for(cfg, "quay.io"));
    assert_int_equal(cfg->security.n_default_ulimits, 2);
    assert_int_equal(cfg->security.default_ulimits[0].soft, 10);
    assert_int_equal(cfg->security.default_ulimits[0].hard, 20);
    assert_int_equal(cfg->security.default_ulimits[1].hard, -1);
    assert_int_equal(cfg->sources[key_index("runtime.data_dir")], SERVIN_CONFIG_FILE);
    assert_int_equal(cfg->sources[key_index("networking.bridge_ip")], SERVIN_CONFIG_DEFAULT);
    _cleanup_free_ char *state_dir = servin_config_state_dir(cfg);
    assert_string_equal(state_dir, "/srv/servin/run");
    servin_config_unref(cfg);
}

static void expect_error(const char *text, const char *want)
{
    _cleanup_free_ char *path = write_file("bad.yaml", text);
    struct servin_config *cfg = NULL;
    struct servin_error err = {0};
    assert_int_equal(servin_config_check_file(path, &cfg, &err), -EINVAL);
    assert_null(cfg);
    _cleanup_free_ char *full = xasprintf("%s:%s", path, want);
    if (strncmp(err.msg, full, strlen(full)) != 0)
        fail_msg("got \"%s\", want \"%s...\"", err.msg, full);
}

static void bad_files_name_the_line(void **state)
{
    expect_error("runtime:\n  log_level: [\n", "3: YAML syntax error");
    expect_error("runtime:\n\n  colour: blue\n", "3: unknown key \"runtime.colour\"");
    expect_error("runtime:\n  max_containers: -1\n",
                 "2: runtime.max_containers: expected an integer of at least 0");
    expect_error("cri:\n  enabled: maybe\n", "2: cri.enabled: expected true or false, got \"maybe\"");
    expect_error("registries:\n  password: x\n", "2: unknown key \"registries.password\"");
    expect_error("- a\n- b\n", "1: expected a mapping of sections");
    expect_error("runtime:\n  log_level: info\n  log_level: debug\n", "3: runtime.log_level: given twice");
    expect_error("registries:\n  default: quay.io\n", "2: registries.default: expected one of docker.io");
    expect_error("security:\n  default_ulimits:\n    files: 1\n",
                 "3: security.default_ulimits: unknown ulimit");
}

static void env_beats_file_and_flags_beat_env(void **state)
{
    _cleanup_free_ char *path =
        write_file("prec.yaml", "runtime:\n  data_dir: /from/file\n  log_level: error\n");
    setenv("SERVIN_ROOT", "/from/env", 1);
    setenv("SERVIN_LOG_LEVEL", "info", 1);
    struct servin_config_flags flags = {.config_path = path, .log_level = "debug"};
    struct servin_config *cfg = NULL;
    struct servin_error err = {0};
    assert_int_equal(servin_config_load(&flags, &cfg, &err), 0);
    assert_string_equal(cfg->runtime.data_dir, "/from/env");
    assert_int_equal(cfg->sources[key_index("runtime.data_dir")], SERVIN_CONFIG_ENV);
    assert_string_equal(cfg->runtime.log_level, "debug");
    assert_int_equal(cfg->sources[key_index("runtime.log_level")], SERVIN_CONFIG_FLAG);
    servin_config_unref(cfg);

    setenv("SERVIN_LOG_LEVEL", "noisy", 1);
    flags.log_level = NULL;
    assert_int_equal(servin_config_load(&flags, &cfg, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "$SERVIN_LOG_LEVEL"));
    unsetenv("SERVIN_ROOT");
    unsetenv("SERVIN_LOG_LEVEL");
}

static void reload_swaps_the_current_config(void **state)
{
    _cleanup_free_ char *path = write_file("reload.yaml", "runtime:\n  log_level: error\n");
    struct servin_config_flags flags = {.config_path = path};
    struct servin_config *cfg = NULL;
    struct servin_error err = {0};
    assert_int_equal(servin_config_load(&flags, &cfg, &err), 0);
    servin_config_set_current(cfg);
    assert_int_equal(servin_log_get_level(), SERVIN_LOG_ERROR);
    struct servin_config *held = servin_config_current();
    free(write_file("reload.yaml", "runtime:\n  log_level: debug\n"));
    assert_int_equal(servin_config_reload(&err), 0);
    assert_int_equal(servin_log_get_level(), SERVIN_LOG_DEBUG);
    /* What a caller held before the reload is still valid. */
    assert_string_equal(held->runtime.log_level, "error");
    servin_config_unref(held);
    free(write_file("reload.yaml", "runtime:\n  log_level: [\n"));
    assert_true(servin_config_reload(&err) < 0);
    struct servin_config *now = servin_config_current();
    assert_string_equal(now->runtime.log_level, "debug");
    servin_config_unref(now);
    servin_config_set_current(NULL);
    servin_config_unref(cfg);
    servin_log_set_level(SERVIN_LOG_WARN);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_file_parses),
        cmocka_unit_test(bad_files_name_the_line),
        cmocka_unit_test(env_beats_file_and_flags_beat_env),
        cmocka_unit_test(reload_swaps_the_current_config),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char *cmd = xasprintf("rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    free(cmd);
    return rc;
}
