/* compose/up.c — `up`: make the store match the model, service by service in depends_on order. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/compose_stack.h"
#include "servin/log.h"
#include "servin/volume.h"
#include "stack_report.h"

static bool cancelled(struct servin_compose_env *env, struct servin_error *err)
{
    if (env->cancel && *env->cancel) {
        servin_error_set(err, ECANCELED, "interrupted");
        return true;
    }
    return false;
}

static int replicas_of(const struct servin_compose_service *s, const struct servin_compose_up_opts *o)
{
    for (size_t i = 0; i < o->n_scale; i++)
        if (strcmp(o->scale[i].service, s->name) == 0)
            return o->scale[i].replicas;
    return s->deploy.replicas >= 0 ? s->deploy.replicas : 1;
}

static int start_container(struct servin_compose_env *env, struct servin_container *c,
                           struct servin_error *err)
{
    stack_progress(env, "Container", c->name, "Starting");
    struct servin_start_opts so = {0};
    int code = 0;
    int r = servin_container_start(env->store, c, &so, &code, err);
    if (r < 0)
        return servin_error_wrap(err, "start container %s", c->name);
    stack_progress(env, "Container", c->name, "Started");
    return 0;
}

/* Stop and remove, keeping the container's volumes (anonymous ones too: a recreated container
 * takes them over). */
static int remove_container(struct servin_compose_env *env, struct servin_container *c, long timeout_s,
                            struct servin_error *err)
{
    if (servin_container_is_active(c)) {
        stack_progress(env, "Container", c->name, "Stopping");
        int r = servin_container_stop(env->store, c, (int)timeout_s, err);
        if (r < 0)
            return servin_error_wrap(err, "stop container %s", c->name);
        stack_progress(env, "Container", c->name, "Stopped");
    }
    stack_progress(env, "Container", c->name, "Removing");
    int r = servin_container_remove(env->store, c, true, err);
    if (r < 0)
        return servin_error_wrap(err, "remove container %s", c->name);
    stack_progress(env, "Container", c->name, "Removed");
    return 0;
}

/* The old container's anonymous volumes, mounted at the same places in its replacement (Docker
 * Compose keeps their data across a recreate). */
static json_t *inherited_volumes(struct servin_compose_env *env, const struct servin_container *old)
{
    _cleanup_strv_ char **anon = NULL;
    struct servin_error ignored = {0};
    if (servin_volume_anonymous_of(env->store, old->id, &anon, &ignored) < 0 || !anon || !anon[0])
        return NULL;
    json_t *mounts = json_array();
    size_t i;
    json_t *mp;
    json_array_foreach (json_object_get(old->config, "MountPoints"), i, mp) {
        const char *name = json_string_value(json_object_get(mp, "Name"));
        const char *dest = json_string_value(json_object_get(mp, "Destination"));
        bool anonymous = false;
        for (size_t j = 0; name && anon[j] && !anonymous; j++)
            anonymous = strcmp(anon[j], name) == 0;
        if (anonymous && dest)
            json_array_append_new(mounts,
                                  json_pack("{s:s,s:s,s:s,s:b}", "Type", "volume", "Source", name, "Target",
                                            dest, "ReadOnly", !json_is_true(json_object_get(mp, "RW"))));
    }
    if (json_array_size(mounts) == 0) {
        json_decref(mounts);
        return NULL;
    }
    return mounts;
}

static int recreate(struct servin_compose_env *env, const struct servin_compose_service *s,
                    struct servin_container *old, int number, const struct servin_compose_up_opts *o,
                    struct servin_error *err)
{
    _cleanup_free_ char *name = xstrdup(old->name);
    stack_progress(env, "Container", name, "Recreate");
    json_t *mounts = inherited_volumes(env, old);
    int r = remove_container(env, old, o->timeout_s, err);
    json_t *override = NULL;
    if (r == 0 && mounts) {
        /* Our own mounts at the same targets win: only the rest are taken over. */
        json_t *body = NULL, *extra = NULL;
        if (servin_compose_service_body(env, s, number, &body, &extra, err) == 0) {
            json_t *own = json_object_get(json_object_get(body, "HostConfig"), "Mounts");
            json_t *all = json_is_array(own) ? json_deep_copy(own) : json_array();
            size_t i, j;
            json_t *m, *mine;
            json_array_foreach (mounts, i, m) {
                bool taken = false;
                json_array_foreach (all, j, mine) {
                    if (!json_equal(json_object_get(mine, "Target"), json_object_get(m, "Target")))
                        continue;
                    /* An anonymous volume of the service's own at that place is the one taken over. */
                    const char *type = json_string_value(json_object_get(mine, "Type"));
                    if (type && strcmp(type, "volume") == 0 && !json_object_get(mine, "Source"))
                        json_object_set(mine, "Source", json_object_get(m, "Source"));
                    taken = true;
                }
                if (!taken)
                    json_array_append(all, m);
            }
            override = json_pack("{s:{s:o}}", "HostConfig", "Mounts", all);
        }
        servin_error_clear(err);
        json_decref(body);
        json_decref(extra);
    }
    json_decref(mounts);
    struct servin_container fresh = {0};
    if (r == 0)
        r = servin_compose_create_container(env, s, number, name, override, &fresh, err);
    json_decref(override);
    if (r == 0) {
        stack_progress(env, "Container", name, "Recreated");
        if (!o->no_start)
            r = start_container(env, &fresh, err);
    }
    servin_container_clear(&fresh);
    return r;
}

/* dep_recreated: a dependency with `restart: true` was recreated, so running containers restart.
 * *recreated: a container of this service was created or recreated. */
static int converge_service(struct servin_compose_env *env, const struct servin_compose_service *s,
                            const struct servin_compose_up_opts *o, bool dep_recreated, bool *recreated,
                            struct servin_error *err)
{
    const struct servin_compose_project *p = env->project;
    int replicas = replicas_of(s, o);
    if (replicas > 1 && s->container_name)
        return servin_error_set(err, EINVAL,
                                "service %s: container_name \"%s\" cannot be used with more than one replica",
                                s->name, s->container_name);
    char *svc[] = {s->name, NULL};
    struct servin_container *list = NULL;
    size_t n = 0;
    int r = servin_compose_containers(env->store, p->name, svc, 0, &list, &n, err);
    if (r < 0)
        return r;
    char hash[65];
    servin_compose_service_config_hash(p, s, hash);
    _cleanup_free_ bool *have = xcalloc((size_t)replicas + 1, sizeof(bool));
    /* Extra replicas go first, highest numbers first, as Docker Compose scales down. */
    for (size_t k = n; k-- > 0 && r == 0;) {
        int num = servin_compose_container_number(&list[k]);
        if (num >= 1 && num <= replicas && !have[num]) {
            have[num] = true;
            continue;
        }
        r = remove_container(env, &list[k], o->timeout_s, err);
        list[k].id[0] = '\0';
    }
    for (size_t k = 0; k < n && r == 0; k++) {
        struct servin_container *c = &list[k];
        if (!c->id[0])
            continue;
        if (cancelled(env, err))
            r = -ECANCELED;
        else {
            int num = servin_compose_container_number(c);
            const char *old_hash = servin_compose_label(c, SERVIN_COMPOSE_LABEL_CONFIG_HASH);
            bool changed = !old_hash || strcmp(old_hash, hash) != 0;
            if (!o->no_recreate && (o->force_recreate || changed)) {
                r = recreate(env, s, c, num, o, err);
                *recreated = true;
            } else if (!servin_container_is_active(c) && !o->no_start) {
                r = start_container(env, c, err);
            } else if (dep_recreated && !o->no_start) {
                stack_progress(env, "Container", c->name, "Restarting");
                r = servin_container_stop(env->store, c, (int)o->timeout_s, err);
                if (r == 0)
                    r = start_container(env, c, err);
            } else {
                stack_progress(env, "Container", c->name, "Running");
            }
        }
    }
    servin_containers_free(list, n);
    for (int num = 1; num <= replicas && r == 0; num++) {
        if (have[num])
            continue;
        if (cancelled(env, err))
            return -ECANCELED;
        _cleanup_free_ char *name = servin_compose_container_name(p, s, num);
        *recreated = true;
        stack_progress(env, "Container", name, "Creating");
        struct servin_container c = {0};
        r = servin_compose_create_container(env, s, num, name, NULL, &c, err);
        if (r == 0) {
            stack_progress(env, "Container", name, "Created");
            if (!o->no_start)
                r = start_container(env, &c, err);
        }
        servin_container_clear(&c);
    }
    return r;
}

static bool in_order(struct servin_compose_service *const *order, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(order[i]->name, name) == 0)
            return true;
    return false;
}

static int wait_dependencies(struct servin_compose_env *env, const struct servin_compose_service *s,
                             struct servin_compose_service *const *order, size_t n, struct servin_error *err)
{
    for (size_t i = 0; i < s->n_depends_on; i++) {
        const struct servin_compose_depends *d = &s->depends_on[i];
        /* With --no-deps a dependency not brought up here is not waited for. */
        if (!in_order(order, n, d->service))
            continue;
        int r = servin_compose_wait_condition(env, d->service, d->condition, -1, err);
        if (r < 0) {
            if (!d->required && r != -ECANCELED) {
                stack_warn(env, "optional dependency %s of service %s failed: %s", d->service, s->name,
                           err->msg);
                servin_error_clear(err);
                continue;
            }
            return servin_error_wrap(err, "dependency failed to start: service %s needs %s", s->name,
                                     d->service);
        }
    }
    return 0;
}

/* Containers of the project whose service the model no longer has (nor hides in a profile). */
static int orphans(struct servin_compose_env *env, bool remove, long timeout_s, struct servin_error *err)
{
    const struct servin_compose_project *p = env->project;
    struct servin_container *list = NULL;
    size_t n = 0;
    int r = servin_compose_containers(env->store, p->name, NULL, SERVIN_COMPOSE_WITH_ONEOFF, &list, &n, err);
    if (r < 0)
        return r;
    char *names = NULL;
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *svc = servin_compose_label(&list[i], SERVIN_COMPOSE_LABEL_SERVICE);
        bool known = svc && servin_compose_service_find(p, svc);
        for (size_t j = 0; !known && svc && p->disabled_services && p->disabled_services[j]; j++)
            known = strcmp(p->disabled_services[j], svc) == 0;
        if (known)
            continue;
        if (remove) {
            r = remove_container(env, &list[i], timeout_s, err);
        } else {
            char *next = xasprintf("%s%s%s", names ? names : "", names ? " " : "", list[i].name);
            free(names);
            names = next;
        }
    }
    if (names)
        stack_warn(
            env,
            "Found orphan containers ([%s]) for this project. If you removed or renamed this service in your "
            "compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names);
    free(names);
    servin_containers_free(list, n);
    return r;
}

/* --wait: every container of the services running, and healthy when it has a check; a one-shot
 * container that others wait for to complete may have exited 0. */
static int wait_all(struct servin_compose_env *env, struct servin_compose_service *const *order, size_t n,
                    long timeout_s, struct servin_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const struct servin_compose_service *s = order[i];
        bool completes = false;
        for (size_t j = 0; j < env->project->n_services && !completes; j++)
            for (size_t k = 0; k < env->project->services[j].n_depends_on; k++)
                if (strcmp(env->project->services[j].depends_on[k].service, s->name) == 0 &&
                    env->project->services[j].depends_on[k].condition ==
                        SERVIN_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY)
                    completes = true;
        char *svc[] = {s->name, NULL};
        struct servin_container *list = NULL;
        size_t count = 0;
        int r = servin_compose_containers(env->store, env->project->name, svc, 0, &list, &count, err);
        if (r < 0)
            return r;
        bool healthcheck = false;
        for (size_t k = 0; k < count; k++)
            healthcheck = healthcheck || list[k].health != NULL;
        servin_containers_free(list, count);
        if (count == 0)
            continue;
        enum servin_compose_condition cond = completes     ? SERVIN_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY
                                             : healthcheck ? SERVIN_COMPOSE_SERVICE_HEALTHY
                                                           : SERVIN_COMPOSE_SERVICE_STARTED;
        r = servin_compose_wait_condition(env, s->name, cond, timeout_s > 0 ? timeout_s * 1000 : -1, err);
        if (r < 0)
            return r;
        if (cond == SERVIN_COMPOSE_SERVICE_STARTED) {
            /* Started is not enough for --wait: it must still be running. */
            r = servin_compose_containers(env->store, env->project->name, svc, 0, &list, &count, err);
            if (r < 0)
                return r;
            for (size_t k = 0; k < count && r == 0; k++)
                if (!servin_container_is_active(&list[k]))
                    r = servin_error_set(err, EIO, "container %s exited (%d)", list[k].name,
                                         list[k].exit_code);
            servin_containers_free(list, count);
            if (r < 0)
                return r;
        }
        stack_progress(env, "Service", s->name,
                       cond == SERVIN_COMPOSE_SERVICE_HEALTHY ? "Healthy" : "Running");
    }
    return 0;
}

int servin_compose_up(struct servin_compose_env *env, const struct servin_compose_up_opts *o,
                      struct servin_error *err)
{
    const struct servin_compose_project *p = env->project;
    for (size_t i = 0; i < o->n_scale; i++) {
        if (!servin_compose_service_find(p, o->scale[i].service))
            return servin_error_set(err, ENOENT, "--scale: no such service: %s", o->scale[i].service);
        if (o->scale[i].replicas < 0)
            return servin_error_set(err, EINVAL, "--scale: invalid number of replicas for %s",
                                    o->scale[i].service);
    }
    _cleanup_free_ struct servin_compose_service **order = NULL;
    size_t n = 0;
    int r = servin_compose_order(p, o->services, !o->no_deps, &order, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++)
        if (!cancelled(env, err))
            r = servin_compose_ensure_image(env, order[i], o->build, o->no_build, err);
        else
            r = -ECANCELED;
    if (r == 0)
        r = servin_compose_ensure_resources(env, order, n, err);
    if (r == 0)
        r = orphans(env, o->remove_orphans, o->timeout_s, err);
    _cleanup_free_ bool *recreated = xcalloc(n + 1, sizeof(bool));
    for (size_t i = 0; i < n && r == 0; i++) {
        if (!o->no_start)
            r = wait_dependencies(env, order[i], order, n, err);
        /* depends_on `restart: true`: a recreated dependency restarts this service. */
        bool dep_recreated = false;
        for (size_t d = 0; d < order[i]->n_depends_on; d++)
            for (size_t j = 0; j < i; j++)
                if (recreated[j] && order[i]->depends_on[d].restart &&
                    strcmp(order[j]->name, order[i]->depends_on[d].service) == 0)
                    dep_recreated = true;
        if (r == 0)
            r = converge_service(env, order[i], o, dep_recreated, &recreated[i], err);
    }
    if (r == 0 && o->wait && !o->no_start)
        r = wait_all(env, order, n, o->wait_timeout_s, err);
    return r;
}
