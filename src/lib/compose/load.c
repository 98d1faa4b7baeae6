/* compose/load.c — servin_compose_load: find the files, read the variables (.env, --env-file, the
 * process environment), then per file parse, interpolate and normalize, merge them in order, name
 * the project, apply profiles and build the checked model. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

extern char **environ;

const char *const servin_compose_default_files[] = {
    "servin-compose.yml", "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml", NULL};

static char *absolute(const char *p)
{
    char buf[PATH_MAX];
    if (realpath(p, buf))
        return xstrdup(buf);
    if (p[0] == '/')
        return xstrdup(p);
    if (!getcwd(buf, sizeof(buf)))
        return xstrdup(p);
    return xasprintf("%s/%s", buf, p);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
}

/* The first default name present in dir, plus its ".override" sibling when there is one. */
static int discover(struct cctx *c, const char *dir, char ***files)
{
    for (const char *const *n = servin_compose_default_files; *n; n++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, *n);
        if (access(p, F_OK) != 0)
            continue;
        *files = cstrv_add(*files, p);
        const char *dot = strrchr(*n, '.');
        _cleanup_free_ char *ov = xasprintf("%s/%.*s.override%s", dir, (int)(dot - *n), *n, dot);
        if (access(ov, F_OK) == 0)
            *files = cstrv_add(*files, ov);
        return 0;
    }
    return servin_error_set(
        c->err, ENOENT,
        "no compose file found in %s (looked for servin-compose.yml, compose.yaml, compose.yml, "
        "docker-compose.yml, docker-compose.yaml; use -f to name one)",
        dir);
}

static bool profile_enabled(char *const *enabled, char *const *profiles)
{
    if (!profiles || !*profiles)
        return true;
    for (char *const *e = enabled; e && *e; e++) {
        if (strcmp(*e, "*") == 0)
            return true;
        for (char *const *p = profiles; *p; p++)
            if (strcmp(*e, *p) == 0)
                return true;
    }
    return false;
}

static char **split_list(const char *s, char sep)
{
    char **out = NULL;
    _cleanup_free_ char *dup = xstrdup(s);
    char sepstr[2] = {sep, 0};
    char *save = NULL;
    for (char *tok = strtok_r(dup, sepstr, &save); tok; tok = strtok_r(NULL, sepstr, &save))
        if (*tok)
            out = cstrv_add(out, tok);
    return out;
}

static int cmp_service(const void *a, const void *b)
{
    return strcmp(((const struct servin_compose_service *)a)->name,
                  ((const struct servin_compose_service *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_top_keys(struct cctx *c, const struct cnode *root)
{
    static const char *const known[] = {"version", "name",    "services", "volumes", "networks",
                                        "configs", "secrets", "include",  NULL};
    for (size_t i = 0; i < root->n; i++) {
        const char *k = root->keys[i]->s;
        bool ok = strncmp(k, "x-", 2) == 0;
        for (const char *const *n = known; *n && !ok; n++)
            ok = strcmp(*n, k) == 0;
        if (!ok)
            return cfail(c, root->keys[i], "%s: unknown top-level key", k);
    }
    return 0;
}

/* References between services and to the top-level sections must resolve. */
static int check_references(struct cctx *c, struct servin_compose_project *p, const struct cnode *svcs)
{
    for (size_t i = 0; i < p->n_services; i++) {
        struct servin_compose_service *s = &p->services[i];
        const struct cnode *sn = cn_get(svcs, s->name);
        for (size_t j = 0; j < s->n_depends_on; j++) {
            const char *d = s->depends_on[j].service;
            if (servin_compose_service_find(p, d))
                continue;
            const struct cnode *dn = cn_get(cn_get(sn, "depends_on"), d);
            bool disabled = false;
            for (char **x = p->disabled_services; x && *x; x++)
                disabled = disabled || strcmp(*x, d) == 0;
            if (disabled && !s->depends_on[j].required)
                continue;
            return cfail(c, dn ? dn : sn, "services.%s.depends_on: service \"%s\" %s", s->name, d,
                         disabled ? "is disabled by its profiles" : "is not defined");
        }
        if (s->network_mode && strncmp(s->network_mode, "service:", 8) == 0 &&
            !servin_compose_service_find(p, s->network_mode + 8))
            return cfail(c, cn_get(sn, "network_mode"),
                         "services.%s.network_mode: service \"%s\" is not defined", s->name,
                         s->network_mode + 8);
        if (s->network_mode && s->n_networks)
            return cfail(c, cn_get(sn, "network_mode"),
                         "services.%s: network_mode and networks exclude each other", s->name);
        for (size_t j = 0; j < s->n_networks; j++)
            if (!servin_compose_network_find(p, s->networks[j].name) &&
                strcmp(s->networks[j].name, "default") != 0)
                return cfail(c, cn_get(cn_get(sn, "networks"), s->networks[j].name),
                             "services.%s.networks: network \"%s\" is not declared in the top-level networks",
                             s->name, s->networks[j].name);
        for (size_t j = 0; j < s->n_volumes; j++) {
            struct servin_compose_mount *m = &s->volumes[j];
            if (m->type == SERVIN_COMPOSE_MOUNT_VOLUME && m->source &&
                !servin_compose_volume_find(p, m->source)) {
                const struct cnode *vn = cn_get(sn, "volumes");
                return cfail(
                    c, vn && j < vn->n ? vn->items[j] : sn,
                    "services.%s.volumes[%zu]: volume \"%s\" is not declared in the top-level volumes",
                    s->name, j, m->source);
            }
        }
        for (size_t j = 0; j < s->n_secrets + s->n_configs; j++) {
            bool sec = j < s->n_secrets;
            const char *src = sec ? s->secrets[j].source : s->configs[j - s->n_secrets].source;
            if (sec ? servin_compose_secret_find(p, src) != NULL : servin_compose_config_find(p, src) != NULL)
                continue;
            return cfail(c, cn_get(sn, sec ? "secrets" : "configs"),
                         "services.%s.%s: %s \"%s\" is not declared", s->name, sec ? "secrets" : "configs",
                         sec ? "secret" : "config", src);
        }
    }
    return 0;
}

/* Services with neither networks nor network_mode join "default", declared as <project>_default. */
static void add_default_network(struct servin_compose_project *p)
{
    bool used = false;
    for (size_t i = 0; i < p->n_services; i++) {
        struct servin_compose_service *s = &p->services[i];
        if (!s->network_mode && !s->n_networks) {
            free(s->networks); /* "networks: {}" left an empty array */
            s->networks = xcalloc(2, sizeof(*s->networks));
            s->networks[0].name = xstrdup("default");
            s->n_networks = 1;
        }
        for (size_t j = 0; j < s->n_networks; j++)
            used = used || strcmp(s->networks[j].name, "default") == 0;
    }
    if (!used || servin_compose_network_find(p, "default"))
        return;
    p->networks = xreallocarray(p->networks, p->n_networks + 1, sizeof(*p->networks));
    struct servin_compose_network *n = &p->networks[p->n_networks++];
    memset(n, 0, sizeof(*n));
    n->key = xstrdup("default");
    n->name = xasprintf("%s_default", p->name);
}

int compose_load_tree(struct cctx *c, const char *path, const char *display, int depth, struct cnode **out)
{
    struct cnode *t = NULL;
    _cleanup_free_ char *dir = dir_of(path);
    int r = cn_load_file(c, path, display, &t);
    if (r == 0)
        r = check_top_keys(c, t);
    if (r == 0)
        r = cn_interpolate(c, t);
    if (r == 0)
        r = cn_normalize(c, t);
    if (r == 0 && depth > 0)
        cn_absolutize_paths(t, dir); /* an included file's paths are its own */
    if (r == 0)
        r = cn_extends(c, t, dir);
    if (r == 0)
        r = cn_include(c, t, dir, depth);
    if (r < 0) {
        cn_free(t);
        return r;
    }
    *out = t;
    return 0;
}

static int load_files(struct cctx *c, char *const *files, char *const *display, struct cnode **out)
{
    struct cnode *merged = NULL;
    for (size_t i = 0; files[i]; i++) {
        struct cnode *t = NULL;
        int r = compose_load_tree(c, files[i], display[i], 0, &t);
        if (r < 0) {
            cn_free(merged);
            return r;
        }
        if (!merged)
            merged = t;
        else
            cn_merge(merged, t);
    }
    *out = merged;
    return 0;
}

static int name_project(struct cctx *c, const struct servin_compose_options *o, const struct cnode *root,
                        struct servin_compose_project *p)
{
    const char *given = o->project_name;
    if (given) {
        char *norm = servin_compose_normalize_name(given);
        if (strcmp(norm, given) != 0 || !*norm) {
            free(norm);
            return servin_error_set(
                c->err, EINVAL,
                "invalid project name \"%s\": use only lowercase letters, digits, dashes and "
                "underscores, starting with a letter or digit",
                given);
        }
        p->name = norm;
        return 0;
    }
    const char *env = ckv_get(c->env, "COMPOSE_PROJECT_NAME", NULL);
    const struct cnode *nn = cn_get(root, "name");
    if (nn && nn->type != CN_SCALAR && nn->type != CN_NULL)
        return cfail(c, nn, "name: expected a string, got %s", cn_kind(nn));
    const char *base = strrchr(p->working_dir, '/');
    const char *src = env && *env                             ? env
                      : nn && nn->type == CN_SCALAR && *nn->s ? nn->s
                      : base                                  ? base + 1
                                                              : "";
    p->name = servin_compose_normalize_name(src);
    if (!*p->name)
        return servin_error_set(
            c->err, EINVAL,
            "project name \"%s\" is empty once normalised (only [a-z0-9_-] are kept): set one "
            "with -p",
            src);
    return 0;
}

static int build_services(struct cctx *c, const struct servin_compose_options *o, const struct cnode *root,
                          struct servin_compose_project *p)
{
    const struct cnode *svcs = cn_get(root, "services");
    if (!svcs || !svcs->n)
        return cfail(c, root, "no services defined (the file needs a \"services:\" section)");
    p->services = xcalloc(svcs->n + 1, sizeof(*p->services));
    for (size_t i = 0; i < svcs->n; i++) {
        struct servin_compose_service s = {0};
        int r = compose_build_service(c, svcs->keys[i]->s, svcs->items[i], &s);
        if (r < 0) {
            compose_service_free(&s);
            return r;
        }
        if (!o->all_profiles && !profile_enabled(p->profiles, s.profiles)) {
            p->disabled_services = cstrv_add(p->disabled_services, s.name);
            compose_service_free(&s);
            continue;
        }
        p->services[p->n_services++] = s;
    }
    qsort(p->services, p->n_services, sizeof(*p->services), cmp_service);
    if (p->disabled_services)
        qsort(p->disabled_services, cstrv_len(p->disabled_services), sizeof(char *), cmp_str);
    int r = compose_build_top(c, root, p);
    if (r == 0)
        r = check_references(c, p, svcs);
    if (r == 0)
        add_default_network(p);
    return r;
}

int servin_compose_load(const struct servin_compose_options *o, struct servin_compose_project **out,
                        struct servin_error *err)
{
    struct servin_compose_project *p = xcalloc(1, sizeof(*p));
    struct servin_compose_kvlist osenv = {0};
    for (char *const *e = o->environ ? o->environ : environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        _cleanup_free_ char *k = xstrndup(*e, (size_t)(eq - *e));
        ckv_set(&osenv, k, eq + 1);
    }
    struct cctx c = {.err = err, .warn = o->warn, .warn_arg = o->warn_arg, .env = &osenv, .budget = 200000};
    _cleanup_strv_ char **files = NULL, **display = NULL;
    struct cnode *root = NULL;
    int r = 0;

    /* the files: -f, else COMPOSE_FILE (of the environment, or of the .env where we start), else
     * the first default name in the project dir or cwd */
    const char *compose_file = ckv_get(&osenv, "COMPOSE_FILE", NULL);
    struct servin_compose_kvlist start_env = {0};
    if (!(o->files && *o->files) && !(compose_file && *compose_file) && !(o->env_files && *o->env_files)) {
        _cleanup_free_ char *dotenv = xasprintf("%s/.env", o->project_dir ? o->project_dir : ".");
        if (access(dotenv, F_OK) == 0 && compose_read_env_file(&c, dotenv, &start_env, &osenv) == 0)
            compose_file = ckv_get(&start_env, "COMPOSE_FILE", NULL);
        servin_error_clear(err); /* a bad .env is reported when it is read for real */
    }
    if (o->files && *o->files) {
        for (char *const *f = o->files; *f; f++)
            files = cstrv_add(files, *f);
    } else if (compose_file && *compose_file) {
        files = split_list(compose_file, ':');
    } else {
        r = discover(&c, o->project_dir ? o->project_dir : ".", &files);
    }
    ckv_free(&start_env);
    for (char **f = files; r == 0 && f && *f; f++) {
        const char *slash = strrchr(*f, '/');
        display = cstrv_add(display, o->files && *o->files ? *f : slash ? slash + 1 : *f);
        if (strcmp(*f, "-") == 0) { /* -f -: the file is stdin, the project directory the current one */
            free(*f);
            *f = xstrdup("/dev/stdin");
        } else if (access(*f, R_OK) != 0) {
            r = servin_error_errno(err, errno, "compose file %s", *f);
        }
    }
    if (r < 0)
        goto fail;
    for (char **f = files; *f; f++) {
        _cleanup_free_ char *abs = strcmp(*f, "/dev/stdin") == 0 ? xstrdup("-") : absolute(*f);
        p->files = cstrv_add(p->files, abs);
    }
    {
        _cleanup_free_ char *first_dir = strcmp(p->files[0], "-") == 0 ? xstrdup(".") : dir_of(p->files[0]);
        p->working_dir = absolute(o->project_dir ? o->project_dir : first_dir);
    }
    c.project_dir = p->working_dir;

    /* the variables: .env (or --env-file) under the process environment */
    struct servin_compose_kvlist dotenv = {0};
    if (o->env_files && *o->env_files) {
        for (char *const *f = o->env_files; r == 0 && *f; f++)
            r = compose_read_env_file(&c, *f, &dotenv, &osenv);
    } else {
        _cleanup_free_ char *dflt = xasprintf("%s/.env", p->working_dir);
        if (access(dflt, F_OK) == 0)
            r = compose_read_env_file(&c, dflt, &dotenv, &osenv);
    }
    for (size_t i = 0; i < dotenv.n; i++) {
        bool in_os = false;
        ckv_get(&osenv, dotenv.items[i].key, &in_os);
        if (!in_os)
            ckv_set(&p->env, dotenv.items[i].key, dotenv.items[i].value);
    }
    ckv_free(&dotenv);
    for (size_t i = 0; i < osenv.n; i++)
        ckv_set(&p->env, osenv.items[i].key, osenv.items[i].value);
    c.env = &p->env;
    if (r < 0)
        goto fail;

    if (o->profiles && *o->profiles)
        p->profiles = cstrv_dup(o->profiles);
    else if (ckv_get(&p->env, "COMPOSE_PROFILES", NULL))
        p->profiles = split_list(ckv_get(&p->env, "COMPOSE_PROFILES", NULL), ',');

    r = load_files(&c, files, display, &root);
    if (r == 0)
        r = name_project(&c, o, root, p);
    if (r == 0)
        r = build_services(&c, o, root, p);
    if (r == 0) {
        /* a dependency cycle is an error at load time, so every command reports it */
        struct servin_compose_service **order = NULL;
        size_t n = 0;
        const char *at = NULL;
        r = compose_order(p, NULL, true, &order, &n, &at, err);
        free(order);
        const struct cnode *sn = at ? cn_get(cn_get(root, "services"), at) : NULL;
        const struct cnode *dn =
            cn_get(sn, "depends_on") ? cn_get(sn, "depends_on") : cn_get(sn, "network_mode");
        if (r < 0 && dn) {
            _cleanup_free_ char *msg = xstrdup(err->msg);
            r = cfail(&c, dn, "services.%s.%s: %s", at,
                      dn == cn_get(sn, "depends_on") ? "depends_on" : "network_mode", msg);
        }
    }
    if (r < 0)
        goto fail;
    cn_free(root);
    ckv_free(&osenv);
    strv_free(c.warned);
    strv_free(c.names);
    *out = p;
    return 0;
fail:
    cn_free(root);
    ckv_free(&osenv);
    strv_free(c.warned);
    strv_free(c.names);
    servin_compose_project_free(p);
    return r < 0 ? r : -EINVAL;
}
