/* Unit tests for health checks: Docker's Healthcheck config (CMD, CMD-SHELL, NONE, defaults) and
 * the status rule (streak, retries, start period). */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "servin/health.h"

#define SEC 1000000000LL

static int config_of(const char *text, struct servin_health_config *c, struct servin_error *err)
{
    json_t *hc = json_loads(text, 0, NULL);
    assert_non_null(hc);
    int r = servin_health_config_from(hc, c, err);
    json_decref(hc);
    return r;
}

static void test_cmd_shell_with_defaults(void **state)
{
    struct servin_health_config c;
    struct servin_error err = {0};
    assert_int_equal(config_of("{\"Test\":[\"CMD-SHELL\",\"curl -f localhost || exit 1\"]}", &c, &err), 1);
    assert_string_equal(c.argv[0], "/bin/sh");
    assert_string_equal(c.argv[1], "-c");
    assert_string_equal(c.argv[2], "curl -f localhost || exit 1");
    assert_null(c.argv[3]);
    assert_int_equal(c.interval_ns, 30 * SEC);
    assert_int_equal(c.timeout_ns, 30 * SEC);
    assert_int_equal(c.start_period_ns, 0);
    assert_int_equal(c.retries, 3);
    servin_health_config_clear(&c);
}

static void test_cmd_form_and_given_values(void **state)
{
    struct servin_health_config c;
    struct servin_error err = {0};
    assert_int_equal(config_of("{\"Test\":[\"CMD\",\"/bin/check\",\"--quick\"],\"Interval\":5000000000,"
                               "\"Timeout\":1000000000,\"StartPeriod\":2000000000,\"Retries\":7}",
                               &c, &err),
                     1);
    assert_string_equal(c.argv[0], "/bin/check");
    assert_string_equal(c.argv[1], "--quick");
    assert_null(c.argv[2]);
    assert_int_equal(c.interval_ns, 5 * SEC);
    assert_int_equal(c.timeout_ns, 1 * SEC);
    assert_int_equal(c.start_period_ns, 2 * SEC);
    assert_int_equal(c.retries, 7);
    servin_health_config_clear(&c);
}

static void test_none_and_empty_mean_no_check(void **state)
{
    struct servin_health_config c;
    struct servin_error err = {0};
    assert_int_equal(config_of("{\"Test\":[\"NONE\"]}", &c, &err), 0);
    assert_null(c.argv);
    assert_int_equal(config_of("{\"Test\":[]}", &c, &err), 0);
    assert_int_equal(config_of("{\"Interval\":1}", &c, &err), 0);
    assert_int_equal(servin_health_config_from(NULL, &c, &err), 0);
}

static void test_bad_tests_are_refused(void **state)
{
    struct servin_health_config c;
    struct servin_error err = {0};
    assert_int_equal(config_of("{\"Test\":[\"SHELL\",\"x\"]}", &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "SHELL"));
    assert_int_equal(config_of("{\"Test\":[\"CMD\"]}", &c, &err), -EINVAL);
    assert_int_equal(config_of("{\"Test\":[\"CMD-SHELL\",\"a\",\"b\"]}", &c, &err), -EINVAL);
    assert_int_equal(config_of("{\"Test\":[\"CMD\",1]}", &c, &err), -EINVAL);
    assert_int_equal(config_of("{\"Test\":[7]}", &c, &err), -EINVAL);
}

static void test_streak_and_retries(void **state)
{
    enum servin_health_status s = SERVIN_HEALTH_STARTING;
    int streak = 0;
    servin_health_record(3, 0, 0, 1 * SEC, 1, &s, &streak);
    servin_health_record(3, 0, 0, 2 * SEC, 2, &s, &streak);
    assert_int_equal(s, SERVIN_HEALTH_STARTING);
    assert_int_equal(streak, 2);
    servin_health_record(3, 0, 0, 3 * SEC, -1, &s, &streak); /* a timeout fails too */
    assert_int_equal(s, SERVIN_HEALTH_UNHEALTHY);
    assert_int_equal(streak, 3);
    servin_health_record(3, 0, 0, 4 * SEC, 0, &s, &streak);
    assert_int_equal(s, SERVIN_HEALTH_HEALTHY);
    assert_int_equal(streak, 0);
    /* Once healthy, one failure is not yet unhealthy. */
    servin_health_record(3, 0, 0, 5 * SEC, 1, &s, &streak);
    assert_int_equal(s, SERVIN_HEALTH_HEALTHY);
    assert_int_equal(streak, 1);
    assert_string_equal(servin_health_status_name(s), "healthy");
}

static void test_start_period_forgives_while_starting(void **state)
{
    enum servin_health_status s = SERVIN_HEALTH_STARTING;
    int streak = 0;
    int64_t started = 100 * SEC;
    servin_health_record(1, 10 * SEC, started, started + 5 * SEC, 1, &s, &streak);
    assert_int_equal(s, SERVIN_HEALTH_STARTING);
    assert_int_equal(streak, 0);
    /* After the start period a failure counts. */
    servin_health_record(1, 10 * SEC, started, started + 11 * SEC, 1, &s, &streak);
    assert_int_equal(s, SERVIN_HEALTH_UNHEALTHY);
    assert_int_equal(streak, 1);
    /* Healthy inside the start period ends it: later failures count at once. */
    s = SERVIN_HEALTH_STARTING;
    streak = 0;
    servin_health_record(1, 10 * SEC, started, started + 1 * SEC, 0, &s, &streak);
    servin_health_record(1, 10 * SEC, started, started + 2 * SEC, 1, &s, &streak);
    assert_int_equal(s, SERVIN_HEALTH_UNHEALTHY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_shell_with_defaults),
        cmocka_unit_test(test_cmd_form_and_given_values),
        cmocka_unit_test(test_none_and_empty_mean_no_check),
        cmocka_unit_test(test_bad_tests_are_refused),
        cmocka_unit_test(test_streak_and_retries),
        cmocka_unit_test(test_start_period_forgives_while_starting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
