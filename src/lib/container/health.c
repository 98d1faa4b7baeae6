/* container/health.c — Docker's health-check config and status rule, shared by the CLI (what to
 * ask the monitor for), the monitor (what a result means) and readers (the monitor's file). */
#include <errno.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/health.h"

const char *servin_health_status_name(enum servin_health_status s)
{
    switch (s) {
    case SERVIN_HEALTH_HEALTHY:
        return "healthy";
    case SERVIN_HEALTH_UNHEALTHY:
        return "unhealthy";
    default:
        return "starting";
    }
}

static int64_t duration(json_t *hc, const char *key, int64_t fallback)
{
    json_int_t v = json_integer_value(json_object_get(hc, key));
    return v > 0 ? (int64_t)v : fallback;
}

static char **push(char **v, size_t *n, const char *s)
{
    v = xreallocarray(v, *n + 2, sizeof(char *));
    v[(*n)++] = xstrdup(s);
    v[*n] = NULL;
    return v;
}

int servin_health_config_from(json_t *hc, struct servin_health_config *out, struct servin_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *test = json_object_get(hc, "Test");
    if (!json_is_object(hc) || json_array_size(test) == 0)
        return 0;
    const char *kind = json_string_value(json_array_get(test, 0));
    if (!kind)
        return servin_error_set(err, EINVAL,
                                "invalid health check: Test must start with CMD, CMD-SHELL or NONE");
    if (strcmp(kind, "NONE") == 0)
        return 0;
    char **argv = NULL;
    size_t n = 0;
    if (strcmp(kind, "CMD-SHELL") == 0) {
        const char *cmd = json_string_value(json_array_get(test, 1));
        if (json_array_size(test) != 2 || !cmd)
            return servin_error_set(err, EINVAL, "invalid health check: CMD-SHELL takes one command string");
        argv = push(argv, &n, "/bin/sh");
        argv = push(argv, &n, "-c");
        argv = push(argv, &n, cmd);
    } else if (strcmp(kind, "CMD") == 0) {
        for (size_t i = 1; i < json_array_size(test); i++) {
            const char *a = json_string_value(json_array_get(test, i));
            if (!a) {
                strv_free(argv);
                return servin_error_set(err, EINVAL, "invalid health check: CMD arguments must be strings");
            }
            argv = push(argv, &n, a);
        }
        if (!argv)
            return servin_error_set(err, EINVAL, "invalid health check: CMD needs a command");
    } else {
        return servin_error_set(err, EINVAL, "invalid health check \"%s\": use CMD, CMD-SHELL or NONE", kind);
    }
    out->argv = argv;
    out->interval_ns = duration(hc, "Interval", SERVIN_HEALTH_DEFAULT_INTERVAL_NS);
    out->timeout_ns = duration(hc, "Timeout", SERVIN_HEALTH_DEFAULT_TIMEOUT_NS);
    out->start_period_ns = duration(hc, "StartPeriod", 0);
    json_int_t retries = json_integer_value(json_object_get(hc, "Retries"));
    out->retries = retries > 0 ? (int)retries : SERVIN_HEALTH_DEFAULT_RETRIES;
    return 1;
}

void servin_health_config_clear(struct servin_health_config *c)
{
    strv_free(c->argv);
    c->argv = NULL;
}

void servin_health_record(int retries, int64_t start_period_ns, int64_t container_started_ns,
                          int64_t probe_started_ns, int exit_code, enum servin_health_status *status,
                          int *failing_streak)
{
    if (exit_code == 0) {
        *failing_streak = 0;
        *status = SERVIN_HEALTH_HEALTHY;
        return;
    }
    /* Failures while the program is still starting up are not held against it. */
    if (*status == SERVIN_HEALTH_STARTING && start_period_ns > 0 &&
        probe_started_ns < container_started_ns + start_period_ns)
        return;
    (*failing_streak)++;
    if (*failing_streak >= (retries > 0 ? retries : SERVIN_HEALTH_DEFAULT_RETRIES))
        *status = SERVIN_HEALTH_UNHEALTHY;
}
