/* health.h — Docker's health checks: the Healthcheck config, the status rule, the monitor's file.
 *
 * The monitor runs the check (an exec in the container) on schedule and writes the result to the
 * `health` file of the run dir (see monitor.h); readers fold its Status into the record (ps) and
 * show the whole file as State.Health (inspect). */
#ifndef SERVIN_HEALTH_H
#define SERVIN_HEALTH_H

#include <jansson.h>
#include <stdint.h>

#include "servin/container.h"
#include "servin/error.h"

/* Docker's defaults for the durations and retries left at 0. */
#define SERVIN_HEALTH_DEFAULT_INTERVAL_NS (30LL * 1000000000)
#define SERVIN_HEALTH_DEFAULT_TIMEOUT_NS (30LL * 1000000000)
#define SERVIN_HEALTH_DEFAULT_RETRIES 3
/* Docker keeps this many results, and this much of each probe's output. */
#define SERVIN_HEALTH_LOG_MAX 5
#define SERVIN_HEALTH_OUTPUT_MAX 4096

enum servin_health_status { SERVIN_HEALTH_STARTING, SERVIN_HEALTH_HEALTHY, SERVIN_HEALTH_UNHEALTHY };
const char *servin_health_status_name(enum servin_health_status s);

struct servin_health_config {
    char **argv; /* what the probe runs: CMD's arguments, or /bin/sh -c for CMD-SHELL */
    int64_t interval_ns, timeout_ns, start_period_ns;
    int retries;
};

/* Read a Docker Healthcheck object ({Test, Interval, Timeout, Retries, StartPeriod}). Returns 1 and
 * fills out (defaults applied) when it asks for checks; 0 for none (no object, Test empty or
 * ["NONE"]); -EINVAL with a message for a Test that is not CMD, CMD-SHELL or NONE. */
int servin_health_config_from(json_t *healthcheck, struct servin_health_config *out,
                              struct servin_error *err);
void servin_health_config_clear(struct servin_health_config *c);

/* Docker's rule for one probe's result: exit code 0 makes the container healthy and ends the
 * failing streak; any other code (the timeout's -1 too) lengthens the streak, except during the
 * start period while still starting, and `retries` failures in a row make it unhealthy. */
void servin_health_record(int retries, int64_t start_period_ns, int64_t container_started_ns,
                          int64_t probe_started_ns, int exit_code, enum servin_health_status *status,
                          int *failing_streak);

/* The monitor's `health` file of a container (State.Health), or NULL when it has none. */
json_t *servin_container_health(struct servin_store *store, const struct servin_container *c);

#endif
