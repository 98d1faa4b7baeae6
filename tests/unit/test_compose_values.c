/* Unit tests for the compose value syntaxes: durations, byte sizes, CPUs, shell words, names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/compose.h"

static void durations(void **state)
{
    int64_t ns = 0;
    assert_int_equal(servin_compose_parse_duration("1m30s", &ns), 0);
    assert_true(ns == 90LL * 1000000000);
    assert_int_equal(servin_compose_parse_duration("500ms", &ns), 0);
    assert_true(ns == 500LL * 1000000);
    assert_int_equal(servin_compose_parse_duration("1h2m3s", &ns), 0);
    assert_true(ns == 3723LL * 1000000000);
    assert_int_equal(servin_compose_parse_duration("1.5s", &ns), 0);
    assert_true(ns == 1500LL * 1000000);
    assert_int_equal(servin_compose_parse_duration("10", &ns), 0); /* bare: seconds */
    assert_true(ns == 10LL * 1000000000);
    assert_int_equal(servin_compose_parse_duration("250us", &ns), 0);
    assert_true(ns == 250000);
    assert_int_equal(servin_compose_parse_duration("0s", &ns), 0);
    assert_true(ns == 0);
    assert_true(servin_compose_parse_duration("", &ns) < 0);
    assert_true(servin_compose_parse_duration("10x", &ns) < 0);
    assert_true(servin_compose_parse_duration("s", &ns) < 0);
    assert_true(servin_compose_parse_duration("-1s", &ns) < 0);
    assert_true(servin_compose_parse_duration("1m 30s", &ns) < 0);
}

static void byte_sizes(void **state)
{
    int64_t b = 0;
    assert_int_equal(servin_compose_parse_bytes("512m", &b), 0);
    assert_true(b == 512LL * 1024 * 1024);
    assert_int_equal(servin_compose_parse_bytes("1g", &b), 0);
    assert_true(b == 1024LL * 1024 * 1024);
    assert_int_equal(servin_compose_parse_bytes("1GB", &b), 0);
    assert_true(b == 1024LL * 1024 * 1024);
    assert_int_equal(servin_compose_parse_bytes("1.5k", &b), 0);
    assert_true(b == 1536);
    assert_int_equal(servin_compose_parse_bytes("1024", &b), 0);
    assert_true(b == 1024);
    assert_int_equal(servin_compose_parse_bytes("64MiB", &b), 0);
    assert_true(b == 64LL * 1024 * 1024);
    assert_int_equal(servin_compose_parse_bytes("10b", &b), 0);
    assert_true(b == 10);
    assert_true(servin_compose_parse_bytes("", &b) < 0);
    assert_true(servin_compose_parse_bytes("12q", &b) < 0);
    assert_true(servin_compose_parse_bytes("m", &b) < 0);
    assert_true(servin_compose_parse_bytes("-5m", &b) < 0);
    assert_true(servin_compose_parse_bytes("5mx", &b) < 0);
}

static void cpus(void **state)
{
    int64_t n = 0;
    assert_int_equal(servin_compose_parse_cpus("0.5", &n), 0);
    assert_true(n == 500000000);
    assert_int_equal(servin_compose_parse_cpus("2", &n), 0);
    assert_true(n == 2000000000);
    assert_int_equal(servin_compose_parse_cpus(".25", &n), 0);
    assert_true(n == 250000000);
    assert_true(servin_compose_parse_cpus("half", &n) < 0);
    assert_true(servin_compose_parse_cpus("-1", &n) < 0);
}

static void shell_words(void **state)
{
    _cleanup_strv_ char **v = NULL;
    struct servin_error err = {0};
    assert_int_equal(servin_compose_split_words("sh -c 'echo \"a b\"; exit 3'  x\\ y \"q\\\"z\"", &v, &err),
                     0);
    assert_non_null(v);
    assert_string_equal(v[0], "sh");
    assert_string_equal(v[1], "-c");
    assert_string_equal(v[2], "echo \"a b\"; exit 3");
    assert_string_equal(v[3], "x y");
    assert_string_equal(v[4], "q\"z");
    assert_null(v[5]);
    _cleanup_strv_ char **empty = NULL;
    assert_int_equal(servin_compose_split_words("   ", &empty, &err), 0);
    assert_non_null(empty);
    assert_null(empty[0]);
    _cleanup_strv_ char **bad = NULL;
    assert_true(servin_compose_split_words("echo 'oops", &bad, &err) < 0);
    assert_non_null(strstr(err.msg, "unterminated"));
    assert_true(servin_compose_split_words("echo \"oops", &bad, &err) < 0);
}

static void project_names(void **state)
{
    _cleanup_free_ char *a = servin_compose_normalize_name("My App.v2");
    assert_string_equal(a, "myappv2");
    _cleanup_free_ char *b = servin_compose_normalize_name("_-web_1");
    assert_string_equal(b, "web_1");
    _cleanup_free_ char *c = servin_compose_normalize_name("...");
    assert_string_equal(c, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations),   cmocka_unit_test(byte_sizes),    cmocka_unit_test(cpus),
        cmocka_unit_test(shell_words), cmocka_unit_test(project_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
