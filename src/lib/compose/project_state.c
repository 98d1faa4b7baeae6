/* compose/project_state.c — a project's containers as their labels say, and the list of projects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/compose_stack.h"

const char *servin_compose_label(const struct servin_container *c, const char *key)
{
    json_t *labels = json_object_get(json_object_get(c->config, "Config"), "Labels");
    return json_string_value(json_object_get(labels, key));
}

int servin_compose_container_number(const struct servin_container *c)
{
    const char *v = servin_compose_label(c, SERVIN_COMPOSE_LABEL_NUMBER);
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : 0;
    return v && end != v && *end == '\0' && n > 0 && n < 1000000 ? (int)n : 0;
}

static bool is_oneoff(const struct servin_container *c)
{
    const char *v = servin_compose_label(c, SERVIN_COMPOSE_LABEL_ONEOFF);
    return v && strcasecmp(v, "true") == 0;
}

static bool in_list(char *const *list, const char *s)
{
    for (size_t i = 0; list && list[i]; i++)
        if (s && strcmp(list[i], s) == 0)
            return true;
    return false;
}

static int by_service_number(const void *a, const void *b)
{
    const struct servin_container *x = a, *y = b;
    bool ox = is_oneoff(x), oy = is_oneoff(y);
    if (ox != oy)
        return ox ? 1 : -1;
    const char *sx = servin_compose_label(x, SERVIN_COMPOSE_LABEL_SERVICE);
    const char *sy = servin_compose_label(y, SERVIN_COMPOSE_LABEL_SERVICE);
    int r = strcmp(sx ? sx : "", sy ? sy : "");
    if (r)
        return r;
    r = servin_compose_container_number(x) - servin_compose_container_number(y);
    if (r)
        return r;
    return x->created < y->created ? -1 : x->created > y->created;
}

int servin_compose_containers(struct servin_store *store, const char *project, char *const *services,
                              unsigned flags, struct servin_container **out, size_t *n,
                              struct servin_error *err)
{
    struct servin_container *all = NULL;
    size_t count = 0;
    int r = servin_container_list(store, &all, &count, err);
    if (r < 0)
        return r;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        struct servin_container *c = &all[i];
        const char *proj = servin_compose_label(c, SERVIN_COMPOSE_LABEL_PROJECT);
        bool oneoff = is_oneoff(c);
        bool keep = proj && strcmp(proj, project) == 0;
        if (keep && services && !in_list(services, servin_compose_label(c, SERVIN_COMPOSE_LABEL_SERVICE)))
            keep = false;
        if (keep && oneoff && !(flags & (SERVIN_COMPOSE_WITH_ONEOFF | SERVIN_COMPOSE_ONLY_ONEOFF)))
            keep = false;
        if (keep && !oneoff && (flags & SERVIN_COMPOSE_ONLY_ONEOFF))
            keep = false;
        if (keep && (flags & SERVIN_COMPOSE_ONLY_ACTIVE) && !servin_container_is_active(c))
            keep = false;
        if (!keep) {
            servin_container_clear(c);
            continue;
        }
        if (kept != i) {
            all[kept] = *c;
            memset(c, 0, sizeof(*c));
        }
        kept++;
    }
    if (kept)
        qsort(all, kept, sizeof(*all), by_service_number);
    *out = all;
    *n = kept;
    return 0;
}

struct project_count {
    const char *name;
    const char *files;
    size_t states[SERVIN_CONTAINER_DEAD + 1];
    bool running;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct project_count *)a)->name, ((const struct project_count *)b)->name);
}

int servin_compose_projects(struct servin_store *store, bool all, json_t **out, struct servin_error *err)
{
    struct servin_container *list = NULL;
    size_t n = 0;
    int r = servin_container_list(store, &list, &n, err);
    if (r < 0)
        return r;
    _cleanup_free_ struct project_count *projects = NULL;
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = servin_compose_label(&list[i], SERVIN_COMPOSE_LABEL_PROJECT);
        if (!name)
            continue;
        size_t j = 0;
        while (j < np && strcmp(projects[j].name, name) != 0)
            j++;
        if (j == np) {
            projects = xreallocarray(projects, np + 1, sizeof(*projects));
            memset(&projects[np], 0, sizeof(*projects));
            projects[np].name = name;
            np++;
        }
        if (!projects[j].files)
            projects[j].files = servin_compose_label(&list[i], SERVIN_COMPOSE_LABEL_CONFIG_FILES);
        projects[j].states[list[i].state]++;
        if (list[i].state == SERVIN_CONTAINER_RUNNING)
            projects[j].running = true;
    }
    if (np)
        qsort(projects, np, sizeof(*projects), by_name);
    json_t *arr = json_array();
    for (size_t j = 0; j < np; j++) {
        if (!all && !projects[j].running)
            continue;
        char *status = xstrdup("");
        for (int s = 0; s <= SERVIN_CONTAINER_DEAD; s++) {
            if (!projects[j].states[s])
                continue;
            char *next =
                xasprintf("%s%s%s(%zu)", status, *status ? ", " : "",
                          servin_container_state_name((enum servin_container_state)s), projects[j].states[s]);
            free(status);
            status = next;
        }
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "Name", projects[j].name, "Status", status,
                                             "ConfigFiles", projects[j].files ? projects[j].files : ""));
        free(status);
    }
    servin_containers_free(list, n);
    *out = arr;
    return 0;
}
