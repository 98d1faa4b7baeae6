/* compose/images.c — a service's image: built from its build section or pulled, per pull_policy. */
#include <errno.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/compose_stack.h"
#include "servin/image.h"
#include "servin/registry.h"
#include "stack_report.h"

int servin_compose_build_service(struct servin_compose_env *env, const struct servin_compose_service *s,
                                 bool no_cache, bool pull, struct servin_error *err)
{
    const struct servin_compose_build *b = s->build;
    if (!b)
        return servin_error_set(err, EINVAL, "service %s has no build section", s->name);
    if (!b->context || b->context[0] != '/')
        return servin_error_set(err, ENOTSUP,
                                "service %s: build context \"%s\" is not supported: use a directory", s->name,
                                b->context ? b->context : "");
    _cleanup_free_ char *image = servin_compose_service_image(env->project, s);
    size_t n_tags = 1;
    for (size_t i = 0; b->tags && b->tags[i]; i++)
        n_tags++;
    _cleanup_free_ const char **tags = xcalloc(n_tags, sizeof(char *));
    tags[0] = image;
    for (size_t i = 1; i < n_tags; i++)
        tags[i] = b->tags[i - 1];
    /* Build args without a value come from the project's environment, and are dropped when unset. */
    _cleanup_free_ const char **args = xcalloc(b->args.n + 1, sizeof(char *));
    char **owned = xcalloc(b->args.n + b->labels.n + 1, sizeof(char *));
    size_t n_args = 0, n_owned = 0;
    for (size_t i = 0; i < b->args.n; i++) {
        const char *v = b->args.items[i].value;
        if (!v)
            v = servin_compose_project_getenv(env->project, b->args.items[i].key);
        if (!v)
            continue;
        owned[n_owned] = xasprintf("%s=%s", b->args.items[i].key, v);
        args[n_args++] = owned[n_owned++];
    }
    _cleanup_free_ const char **labels = xcalloc(b->labels.n + 1, sizeof(char *));
    for (size_t i = 0; i < b->labels.n; i++) {
        owned[n_owned] = xasprintf("%s=%s", b->labels.items[i].key,
                                   b->labels.items[i].value ? b->labels.items[i].value : "");
        labels[i] = owned[n_owned++];
    }
    _cleanup_free_ char *file = NULL;
    if (b->dockerfile)
        file =
            b->dockerfile[0] == '/' ? xstrdup(b->dockerfile) : xasprintf("%s/%s", b->context, b->dockerfile);
    struct servin_build_opts o = {
        .context_dir = b->context,
        .context_fd = -1,
        .file = file,
        .tags = tags,
        .n_tags = n_tags,
        .build_args = args,
        .n_build_args = n_args,
        .labels = labels,
        .n_labels = b->labels.n,
        .target = b->target,
        .network = b->network,
        .no_cache = no_cache,
        .pull = pull,
        .progress = env->build_progress,
        .progress_ctx = env->build_progress_arg,
        .cancel = env->cancel,
    };
    stack_progress(env, "Service", s->name, "Building");
    char id[SERVIN_DIGEST_MAX];
    int code = 0;
    int r = servin_build(env->store, &o, id, &code, err);
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    free(owned);
    if (r < 0)
        return servin_error_wrap(err, "build service %s", s->name);
    stack_progress(env, "Service", s->name, "Built");
    return 0;
}

static int pull(struct servin_compose_env *env, const struct servin_compose_service *s, const char *image,
                struct servin_error *err)
{
    stack_progress(env, "Image", image, "Pulling");
    struct servin_progress *pg = env->pull_out ? servin_progress_new(env->pull_out, env->pull_tty) : NULL;
    struct servin_pull_opts o = {.progress = pg};
    struct servin_pull_result res = {0};
    int r = servin_registry_pull(env->store, image, &o, &res, err);
    servin_progress_free(pg);
    servin_pull_result_free(&res);
    if (r < 0)
        return servin_error_wrap(err, "pull image for service %s", s->name);
    stack_progress(env, "Image", image, "Pulled");
    return 0;
}

int servin_compose_ensure_image(struct servin_compose_env *env, const struct servin_compose_service *s,
                                bool force_build, bool no_build, struct servin_error *err)
{
    _cleanup_free_ char *image = servin_compose_service_image(env->project, s);
    const char *policy = s->pull_policy ? s->pull_policy : "missing";
    if (s->build && !no_build && (force_build || strcmp(policy, "build") == 0))
        return servin_compose_build_service(env, s, false, false, err);
    char id[SERVIN_DIGEST_MAX];
    int r = servin_image_resolve(env->store, image, id, err);
    if (r < 0 && r != -ENOENT)
        return r;
    bool present = r == 0;
    servin_error_clear(err);
    if (strcmp(policy, "always") == 0 && !(s->build && !s->image))
        return pull(env, s, image, err);
    if (present)
        return 0;
    if (s->build && !no_build)
        return servin_compose_build_service(env, s, false, false, err);
    if (strcmp(policy, "never") == 0 || s->build)
        return servin_error_set(err, ENOENT, "service %s: no such image %s (pull_policy %s%s)", s->name,
                                image, policy, s->build ? ", --no-build" : "");
    return pull(env, s, image, err);
}
