/* cli/cmd_registry_client.c — `servin registry push|pull|login|logout|list|ping`: the client side,
 * with localhost:5000 (the built-in server's default) as the registry when none is named. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_registry.h"
#include "commands.h"
#include "servin/cleanup.h"
#include "servin/image.h"
#include "servin/reference.h"
#include "servin/registry.h"

#define DEFAULT_REGISTRY "localhost:5000"

/* Run another command's function with a new argument vector (getopt starts over). */
static int run_as(struct cli_ctx *ctx, int (*fn)(struct cli_ctx *, int, char **), char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    optind = 0;
    return fn(ctx, argc, argv);
}

/* The repository path as the user knows it: "busybox" for docker.io/library/busybox. */
static char *short_path(const struct servin_ref *ref)
{
    if (strcmp(ref->domain, SERVIN_DEFAULT_DOMAIN) == 0 && strncmp(ref->path, "library/", 8) == 0)
        return xstrdup(ref->path + 8);
    return xstrdup(ref->path);
}

/* push and pull take the same arguments: [-q] IMAGE [REGISTRY]. -1 to go on, else the exit code. */
static int parse_transfer(struct cli_ctx *ctx, int argc, char **argv, bool *quiet, const char **image,
                          const char **registry)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "qh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c != 'q')
            return CLI_EXIT_USAGE;
        *quiet = true;
    }
    if (argc - optind < 1 || argc - optind > 2)
        return cli_usage_error(ctx, "\"%s\" requires 1 or 2 arguments.", ctx->cmd->path);
    *image = argv[optind];
    *registry = argc - optind == 2 ? argv[optind + 1] : NULL;
    return -1;
}

int cmd_registry_push(struct cli_ctx *ctx, int argc, char **argv)
{
    bool quiet = false;
    const char *image = NULL, *registry = NULL;
    int code = parse_transfer(ctx, argc, argv, &quiet, &image, &registry);
    if (code >= 0)
        return code;
    struct servin_error err = {0};
    struct servin_ref ref = {0};
    if (servin_ref_parse(image, &ref, &err) < 0) {
        servin_error_wrap(&err, "registry push %s", image);
        return cli_fail(&err);
    }
    _cleanup_free_ char *path = short_path(&ref);
    _cleanup_free_ char *target = NULL;
    /* An image already named after a registry goes there, unless another registry is given. */
    bool named = strcmp(ref.domain, SERVIN_DEFAULT_DOMAIN) != 0 && strchr(image, '/') &&
                 strncmp(image, ref.domain, strlen(ref.domain)) == 0;
    if (!registry && named)
        target = xstrdup(image);
    else
        target =
            xasprintf("%s/%s:%s", registry ? registry : DEFAULT_REGISTRY, path, ref.tag ? ref.tag : "latest");
    bool by_digest = ref.digest != NULL;
    servin_ref_free(&ref);
    if (by_digest)
        return cli_failf("registry push %s: name a tag, not a digest", image);

    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    if (strcmp(target, image) != 0) {
        /* Push under the registry's name, as `docker tag` + `docker push` would. */
        char id[SERVIN_DIGEST_MAX];
        if (servin_image_resolve(store, image, id, &err) < 0 ||
            servin_image_tag(store, id, target, &err) < 0) {
            servin_error_wrap(&err, "registry push %s", image);
            return cli_fail(&err);
        }
    }
    char *args[] = {"push", quiet ? "-q" : target, quiet ? target : NULL, NULL};
    return run_as(ctx, cmd_push, args);
}

int cmd_registry_pull(struct cli_ctx *ctx, int argc, char **argv)
{
    bool quiet = false;
    const char *image = NULL, *registry = NULL;
    int code = parse_transfer(ctx, argc, argv, &quiet, &image, &registry);
    if (code >= 0)
        return code;
    _cleanup_free_ char *source = NULL;
    /* "host:port/..." or "host.domain/..." already names a registry. */
    const char *slash = strchr(image, '/');
    bool named =
        slash && (memchr(image, '.', (size_t)(slash - image)) ||
                  memchr(image, ':', (size_t)(slash - image)) || strncmp(image, "localhost/", 10) == 0);
    if (registry)
        source = xasprintf("%s/%s", registry, image);
    else if (named)
        source = xstrdup(image);
    else
        source = xasprintf("%s/%s", DEFAULT_REGISTRY, image);
    char *args[] = {"pull", quiet ? "-q" : source, quiet ? source : NULL, NULL};
    return run_as(ctx, cmd_pull, args);
}

int cmd_registry_login(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_login_run(ctx, argc, argv, DEFAULT_REGISTRY);
}

int cmd_registry_logout(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, 0, 'a'}, {"help", no_argument, 0, 'h'}, {0}};
    bool all = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "ah", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c != 'a')
            return CLI_EXIT_USAGE;
        all = true;
    }
    if (argc - optind > 1 || (all && argc - optind == 1))
        return cli_usage_error(ctx, "\"%s\" takes one SERVER, or --all.", ctx->cmd->path);
    _cleanup_free_ char *path = servin_authfile_path();
    struct servin_error err = {0};
    if (!all) {
        const char *server = optind < argc ? argv[optind] : DEFAULT_REGISTRY;
        if (servin_authfile_remove(path, server, &err) < 0)
            return cli_fail(&err);
        _cleanup_free_ char *key = servin_authfile_key(server);
        printf("Removed login credentials for %s\n", key);
        return 0;
    }
    _cleanup_strv_ char **servers = NULL;
    if (servin_authfile_list(path, &servers, &err) < 0)
        return cli_fail(&err);
    for (char **s = servers; *s; s++) {
        if (servin_authfile_remove(path, *s, &err) < 0 && err.code != ENOENT)
            return cli_fail(&err);
        printf("Removed login credentials for %s\n", *s);
    }
    return 0;
}

static char *describe(const char *server, bool *credentials)
{
    struct servin_error err = {0};
    struct servin_registry_status st = {0};
    if (servin_registry_ping(server, NULL, &st, &err) < 0) {
        char *why = strstr(err.msg, ": ");
        *credentials = st.credentials;
        return xasprintf("unreachable (%s)", why ? why + 2 : err.msg);
    }
    *credentials = st.credentials;
    char *text = xasprintf("reachable at %s%s", st.base,
                           st.status == 200 ? (st.auth_required ? ", logged in" : "")
                                            : (st.credentials ? ", login refused" : ", login required"));
    servin_registry_status_free(&st);
    return text;
}

int cmd_registry_ping(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1)
        return c == 'h' ? 0 : CLI_EXIT_USAGE;
    if (argc - optind > 1)
        return cli_usage_error(ctx, "\"%s\" requires at most 1 argument.", ctx->cmd->path);
    const char *server = optind < argc ? argv[optind] : DEFAULT_REGISTRY;
    struct servin_error err = {0};
    struct servin_registry_status st = {0};
    if (servin_registry_ping(server, NULL, &st, &err) < 0)
        return cli_fail(&err);
    printf("%s: reachable at %s (GET /v2/: HTTP %ld%s)\n", server, st.base, st.status,
           st.status == 401 ? (st.credentials ? ", stored credentials refused" : ", login required") : "");
    servin_registry_status_free(&st);
    return 0;
}

static void add_server(char ***list, size_t *n, const char *server)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], server) == 0)
            return;
    *list = xreallocarray(*list, *n + 2, sizeof(char *));
    (*list)[(*n)++] = xstrdup(server);
    (*list)[*n] = NULL;
}

int cmd_registry_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1)
        return c == 'h' ? 0 : CLI_EXIT_USAGE;
    if (optind != argc)
        return cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    _cleanup_strv_ char **servers = xcalloc(1, sizeof(char *));
    _cleanup_strv_ char **local = xcalloc(1, sizeof(char *)); /* parallel to servers: "pid N" or "" */
    size_t n = 0, n_local = 0;

    /* Servers this store root started, then every registry with stored credentials. */
    _cleanup_free_ char *dir = registry_state_dir(store);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strstr(de->d_name, ".json"))
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
        json_t *state = NULL;
        if (registry_state_load(path, &state) < 0)
            continue;
        if (registry_state_alive(state)) {
            _cleanup_free_ char *server =
                xasprintf("%s:%lld", json_string_value(json_object_get(state, "address")),
                          json_integer_value(json_object_get(state, "port")));
            add_server(&servers, &n, server);
            _cleanup_free_ char *what =
                xasprintf("pid %lld, storage %s", json_integer_value(json_object_get(state, "pid")),
                          json_string_value(json_object_get(state, "storage")));
            add_server(&local, &n_local, what);
        }
        json_decref(state);
    }
    if (d)
        closedir(d);
    _cleanup_free_ char *auth_path = servin_authfile_path();
    _cleanup_strv_ char **stored = NULL;
    struct servin_error err = {0};
    if (servin_authfile_list(auth_path, &stored, &err) < 0)
        return cli_fail(&err);
    for (char **s = stored; *s; s++)
        add_server(&servers, &n, *s);

    struct cli_table *t = cli_table_new();
    cli_table_add(t, "REGISTRY\tSTATUS\tAUTH\tSERVED HERE");
    for (size_t i = 0; i < n; i++) {
        bool credentials = false;
        _cleanup_free_ char *status = describe(servers[i], &credentials);
        cli_table_add(t, "%s\t%s\t%s\t%s", servers[i], status, credentials ? "stored" : "none",
                      i < n_local ? local[i] : "-");
    }
    cli_table_flush(t, stdout);
    return 0;
}
