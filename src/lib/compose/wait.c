/* compose/wait.c — waiting for a service per a depends_on condition (and for `up --wait`). */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/compose_stack.h"
#include "servin/health.h"
#include "servin/timefmt.h"

static bool has_healthcheck(const struct servin_container *c)
{
    struct servin_health_config h = {0};
    struct servin_error ignored = {0};
    int r = servin_health_config_from(json_object_get(json_object_get(c->config, "Config"), "Healthcheck"),
                                      &h, &ignored);
    servin_health_config_clear(&h);
    return r == 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when the container meets the condition, 0 not yet, < 0 never will (err says why). */
static int check(const struct servin_container *c, enum servin_compose_condition cond,
                 struct servin_error *err)
{
    bool active = servin_container_is_active(c);
    switch (cond) {
    case SERVIN_COMPOSE_SERVICE_STARTED:
        return active || c->started_at > 0 ? 1 : 0;
    case SERVIN_COMPOSE_SERVICE_HEALTHY:
        if (!has_healthcheck(c))
            return servin_error_set(err, EINVAL, "container %s has no healthcheck configured", c->name);
        if (c->health && strcmp(c->health, "healthy") == 0 && active)
            return 1;
        if (c->health && strcmp(c->health, "unhealthy") == 0)
            return servin_error_set(err, EIO, "container %s is unhealthy", c->name);
        if (!active && c->started_at > 0)
            return servin_error_set(err, EIO, "container %s exited (%d) before it became healthy", c->name,
                                    c->exit_code);
        return 0;
    case SERVIN_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY:
        if (active || c->started_at == 0)
            return 0;
        if (c->exit_code != 0)
            return servin_error_set(err, EIO, "container %s exited (%d)", c->name, c->exit_code);
        return 1;
    }
    return 1;
}

int servin_compose_wait_condition(struct servin_compose_env *env, const char *service,
                                  enum servin_compose_condition cond, long timeout_ms,
                                  struct servin_error *err)
{
    char *svc[] = {(char *)service, NULL};
    struct servin_container *list = NULL;
    size_t n = 0;
    int r = servin_compose_containers(env->store, env->project->name, svc, 0, &list, &n, err);
    if (r < 0)
        return r;
    if (n == 0) {
        servin_containers_free(list, n);
        return servin_error_set(err, ENOENT, "service %s has no container", service);
    }
    _cleanup_strv_ char **ids = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        ids[i] = xstrdup(list[i].id);
    servin_containers_free(list, n);
    int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    _cleanup_free_ bool *met = xcalloc(n, sizeof(bool));
    bool announced = false;
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; ids[i]; i++) {
            if (met[i]) {
                done++;
                continue;
            }
            struct servin_container c = {0};
            r = servin_container_get(env->store, ids[i], &c, err);
            if (r == 0) {
                r = check(&c, cond, err);
                if (r == 1) {
                    met[i] = true;
                    done++;
                    /* As docker compose reports the dependency it waited for. */
                    if (announced && env->progress)
                        env->progress(env->progress_arg, "Container", c.name,
                                      cond == SERVIN_COMPOSE_SERVICE_HEALTHY                  ? "Healthy"
                                      : cond == SERVIN_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY ? "Exited"
                                                                                              : "Started");
                } else if (r == 0 && !announced && env->progress) {
                    env->progress(env->progress_arg, "Container", c.name, "Waiting");
                }
            }
            servin_container_clear(&c);
            if (r < 0)
                return r;
        }
        if (done == n)
            return 0;
        announced = true;
        if (env->cancel && *env->cancel)
            return servin_error_set(err, ECANCELED, "interrupted while waiting for service %s", service);
        if (deadline && now_ms() > deadline)
            return servin_error_set(err, ETIMEDOUT, "timed out waiting for service %s", service);
        usleep(100 * 1000);
    }
}
