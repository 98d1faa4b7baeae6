/* compose/down.c — `down`: the project's containers stopped and removed (dependents first), then
 * its networks, and on request its volumes and images. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/compose_stack.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/log.h"
#include "servin/network.h"
#include "servin/volume.h"
#include "stack_report.h"

/* Position of a service in start order; services unknown to the model come after all others. */
static struct servin_compose_service **sort_order;
static size_t sort_n;

static size_t rank(const struct servin_container *c)
{
    const char *svc = servin_compose_label(c, SERVIN_COMPOSE_LABEL_SERVICE);
    for (size_t i = 0; svc && i < sort_n; i++)
        if (strcmp(sort_order[i]->name, svc) == 0)
            return i;
    return sort_n;
}

static int stop_order(const void *a, const void *b)
{
    size_t x = rank(a), y = rank(b);
    if (x != y)
        return x == sort_n ? -1 : y == sort_n ? 1 : (x > y ? -1 : 1);
    return servin_compose_container_number(b) - servin_compose_container_number(a);
}

void servin_compose_sort_for_stop(const struct servin_compose_project *p, struct servin_container *list,
                                  size_t n)
{
    struct servin_error ignored = {0};
    sort_order = NULL;
    sort_n = 0;
    /* A cycle cannot reach here (the model refuses it); without an order, any order will do. */
    if (servin_compose_order(p, NULL, true, &sort_order, &sort_n, &ignored) < 0) {
        sort_order = NULL;
        sort_n = 0;
    }
    if (n > 1)
        qsort(list, n, sizeof(*list), stop_order);
    free(sort_order);
    sort_order = NULL;
    sort_n = 0;
}

/* How deep a service sits in depends_on: 0 without dependencies; services unknown to the model
 * above every other, so that they stop first. */
static int level_of(const struct servin_compose_project *p, const char *name, int depth)
{
    const struct servin_compose_service *s = name ? servin_compose_service_find(p, name) : NULL;
    if (!s)
        return 1 << 20;
    int level = 0;
    for (size_t i = 0; i < s->n_depends_on && depth < 64; i++) {
        int l = level_of(p, s->depends_on[i].service, depth + 1);
        if (l < (1 << 20) && l + 1 > level)
            level = l + 1;
    }
    return level;
}

int servin_compose_stop_containers(struct servin_compose_env *env, struct servin_container *list, size_t n,
                                   long timeout_s, struct servin_error *err)
{
    _cleanup_free_ int *levels = xcalloc(n + 1, sizeof(int));
    int top = -1;
    for (size_t i = 0; i < n; i++) {
        levels[i] = level_of(env->project, servin_compose_label(&list[i], SERVIN_COMPOSE_LABEL_SERVICE), 0);
        if (levels[i] > top)
            top = levels[i];
    }
    int first = 0;
    struct servin_error first_err = {0};
    /* Level by level from the top: every container of a level is signalled, then all are waited for. */
    while (top >= 0) {
        int next = -1;
        for (size_t i = 0; i < n; i++) {
            if (levels[i] != top || !list[i].id[0] || !servin_container_is_active(&list[i]))
                continue;
            stack_progress(env, "Container", list[i].name, "Stopping");
            int r = servin_container_stop_begin(env->store, &list[i], err);
            if (r < 0 && !first) {
                first = r;
                first_err = *err;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (levels[i] < top && levels[i] > next)
                next = levels[i];
            if (levels[i] != top || !list[i].id[0] || !servin_container_is_active(&list[i]))
                continue;
            int r = servin_container_stop_finish(env->store, &list[i], (int)timeout_s, err);
            if (r < 0) {
                if (!first) {
                    first = r;
                    first_err = *err;
                }
                continue;
            }
            stack_progress(env, "Container", list[i].name, "Stopped");
        }
        top = next;
    }
    if (first) {
        *err = first_err;
        return first;
    }
    return 0;
}

static void report_image(void *ctx, const char *action, const char *what)
{
    struct servin_compose_env *env = ctx;
    stack_progress(env, "Image", what, action);
}

static bool is_known_service(const struct servin_compose_project *p, const char *svc)
{
    if (!svc)
        return false;
    if (servin_compose_service_find(p, svc))
        return true;
    for (size_t j = 0; p->disabled_services && p->disabled_services[j]; j++)
        if (strcmp(p->disabled_services[j], svc) == 0)
            return true;
    return false;
}

int servin_compose_down(struct servin_compose_env *env, const struct servin_compose_down_opts *o,
                        struct servin_error *err)
{
    const struct servin_compose_project *p = env->project;
    struct servin_container *list = NULL;
    size_t n = 0;
    int r = servin_compose_containers(env->store, p->name, NULL, SERVIN_COMPOSE_WITH_ONEOFF, &list, &n, err);
    if (r < 0)
        return r;
    servin_compose_sort_for_stop(p, list, n);
    int first = 0;
    struct servin_error first_err = {0};
    /* Stop everything first (dependents before what they depend on), then remove. */
    for (size_t i = 0; i < n; i++) {
        const char *svc = servin_compose_label(&list[i], SERVIN_COMPOSE_LABEL_SERVICE);
        if (!is_known_service(p, svc) && !o->remove_orphans)
            list[i].id[0] = '\0';
    }
    r = servin_compose_stop_containers(env, list, n, o->timeout_s, err);
    if (r < 0) {
        first = r;
        first_err = *err;
    }
    for (size_t i = 0; i < n; i++) {
        struct servin_container *c = &list[i];
        if (!c->id[0])
            continue;
        stack_progress(env, "Container", c->name, "Removing");
        r = servin_container_remove_volumes(env->store, c, true, o->volumes, err);
        if (r < 0) {
            if (!first) {
                first = r;
                servin_error_wrap(err, "remove container %s", c->name);
                first_err = *err;
            }
            continue;
        }
        stack_progress(env, "Container", c->name, "Removed");
    }
    servin_containers_free(list, n);

    /* Networks the project declared and made (not external ones), if nothing else uses them. */
    for (size_t i = 0; i < p->n_networks; i++) {
        const struct servin_compose_network *net = &p->networks[i];
        if (net->external)
            continue;
        struct servin_network existing = {0};
        if (servin_network_get(env->store, net->name, &existing, err) < 0) {
            servin_error_clear(err);
            continue;
        }
        const char *owner = json_string_value(json_object_get(existing.labels, SERVIN_COMPOSE_LABEL_PROJECT));
        bool ours = !owner || strcmp(owner, p->name) == 0;
        servin_network_clear(&existing);
        if (!ours)
            continue;
        stack_progress(env, "Network", net->name, "Removing");
        r = servin_network_remove(env->store, net->name, err);
        if (r == -EBUSY) {
            /* Containers of another project (or none) still use it: as docker compose, a warning. */
            stack_warn(env, "network %s: resource is still in use", net->name);
            servin_error_clear(err);
            continue;
        }
        if (r < 0) {
            if (!first) {
                first = r;
                servin_error_wrap(err, "remove network %s", net->name);
                first_err = *err;
            }
            continue;
        }
        stack_progress(env, "Network", net->name, "Removed");
    }
    if (o->volumes) {
        for (size_t i = 0; i < p->n_volumes; i++) {
            const struct servin_compose_volume *vol = &p->volumes[i];
            if (vol->external)
                continue;
            struct servin_volume existing = {0};
            if (servin_volume_get(env->store, vol->name, &existing, err) < 0) {
                servin_error_clear(err);
                continue;
            }
            servin_volume_clear(&existing);
            stack_progress(env, "Volume", vol->name, "Removing");
            r = servin_volume_remove(env->store, vol->name, NULL, err);
            if (r < 0) {
                if (!first) {
                    first = r;
                    servin_error_wrap(err, "remove volume %s", vol->name);
                    first_err = *err;
                }
                continue;
            }
            stack_progress(env, "Volume", vol->name, "Removed");
        }
    }
    if (o->rmi) {
        bool all = strcmp(o->rmi, "all") == 0;
        for (size_t i = 0; i < p->n_services; i++) {
            const struct servin_compose_service *s = &p->services[i];
            /* local: only the images made for services that name none. */
            if (!all && s->image)
                continue;
            _cleanup_free_ char *image = servin_compose_service_image(p, s);
            char id[SERVIN_DIGEST_MAX];
            if (servin_image_resolve(env->store, image, id, err) < 0) {
                servin_error_clear(err);
                continue;
            }
            r = servin_image_remove(env->store, image, false, report_image, env, err);
            if (r < 0 && r != -ENOENT)
                stack_warn(env, "remove image %s: %s", image, err->msg);
            servin_error_clear(err);
        }
    }
    /* What configs and secrets given as content were written to (service_spec.c). */
    _cleanup_free_ char *files = servin_store_path(env->store, "compose/%s", p->name);
    struct servin_error ignored = {0};
    servin_rm_rf(files, &ignored);
    if (first) {
        *err = first_err;
        return first;
    }
    servin_error_clear(err);
    return 0;
}
