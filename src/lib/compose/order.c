/* compose/order.c — start order: every service after what it depends on (depends_on, and
 * network_mode service:X); a cycle is an error that names it. */
#include <errno.h>
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

struct walk {
    const struct servin_compose_project *p;
    unsigned char *state; /* 0 new, 1 on the path, 2 done */
    size_t *path;         /* the services on the current path, for the cycle's message */
    size_t depth;
    struct servin_compose_service **out;
    size_t n;
    bool with_deps;
    struct servin_error *err;
    const char *cycle_at; /* the service where the cycle closed */
};

static int visit(struct walk *w, size_t i)
{
    if (w->state[i] == 2)
        return 0;
    const struct servin_compose_service *s = &w->p->services[i];
    if (w->state[i] == 1) {
        size_t from = 0;
        while (w->path[from] != i)
            from++;
        char *msg = xstrdup("");
        for (size_t k = from; k < w->depth; k++) {
            char *next = xasprintf("%s%s -> ", msg, w->p->services[w->path[k]].name);
            free(msg);
            msg = next;
        }
        w->cycle_at = w->p->services[w->path[w->depth - 1]].name;
        int r = servin_error_set(w->err, EINVAL, "dependency cycle between services: %s%s", msg, s->name);
        free(msg);
        return r;
    }
    w->state[i] = 1;
    w->path[w->depth++] = i;
    for (size_t d = 0; d <= s->n_depends_on; d++) {
        const char *dep = d < s->n_depends_on ? s->depends_on[d].service
                          : s->network_mode && strncmp(s->network_mode, "service:", 8) == 0
                              ? s->network_mode + 8
                              : NULL;
        if (!dep)
            continue;
        const struct servin_compose_service *ds = servin_compose_service_find(w->p, dep);
        if (!ds)
            continue; /* an optional dependency disabled by profiles */
        int r = visit(w, (size_t)(ds - w->p->services));
        if (r < 0)
            return r;
    }
    w->depth--;
    w->state[i] = 2;
    w->out[w->n++] = (struct servin_compose_service *)s;
    return 0;
}

int compose_order(const struct servin_compose_project *p, char *const *names, bool with_deps,
                  struct servin_compose_service ***out, size_t *n_out, const char **cycle_at,
                  struct servin_error *err)
{
    size_t n = p->n_services;
    _cleanup_free_ unsigned char *state = xcalloc(n + 1, 1);
    _cleanup_free_ size_t *path = xcalloc(n + 1, sizeof(size_t));
    struct walk w = {.p = p,
                     .state = state,
                     .path = path,
                     .out = xcalloc(n + 1, sizeof(*w.out)),
                     .with_deps = with_deps,
                     .err = err};
    int r = 0;
    if (!names) {
        for (size_t i = 0; i < n && r == 0; i++)
            r = visit(&w, i);
    } else {
        _cleanup_free_ unsigned char *wanted = xcalloc(n + 1, 1);
        for (char *const *nm = names; *nm && r == 0; nm++) {
            const struct servin_compose_service *s = servin_compose_service_find(p, *nm);
            if (!s)
                r = servin_error_set(err, ENOENT, "no such service: %s", *nm);
            else
                wanted[s - p->services] = 1;
        }
        for (size_t i = 0; i < n && r == 0; i++)
            if (wanted[i])
                r = visit(&w, i);
        if (r == 0 && !with_deps) {
            /* keep the order, drop what was not asked for */
            size_t k = 0;
            for (size_t i = 0; i < w.n; i++)
                if (wanted[w.out[i] - p->services])
                    w.out[k++] = w.out[i];
            w.n = k;
        }
    }
    if (r < 0) {
        free(w.out);
        if (cycle_at)
            *cycle_at = w.cycle_at;
        return r;
    }
    *out = w.out;
    *n_out = w.n;
    return 0;
}

int servin_compose_order(const struct servin_compose_project *p, char *const *names, bool with_deps,
                         struct servin_compose_service ***out, size_t *n_out, struct servin_error *err)
{
    return compose_order(p, names, with_deps, out, n_out, NULL, err);
}
