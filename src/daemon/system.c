/* daemon/system.c — /_ping, /version, /info, /system/df, /auth, /events. */
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "servin/cleanup.h"
#include "servin/registry.h"
#include "servin/system.h"
#include "servin/version.h"

static int ping(struct dreq *r)
{
    dreply_text(r, 200, "text/plain; charset=utf-8", "OK", 2);
    return 0;
}

static int version(struct dreq *r)
{
    json_t *v = servin_version_json();
    /* Docker names architectures as Go does (amd64, arm64), not as uname does. */
    struct servin_platform host;
    servin_platform_host(&host);
    json_object_set_new(v, "Arch", json_string(host.arch));
    json_t *details = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:s}", "ApiVersion", json_object_get(v, "ApiVersion"),
                                "Arch", json_object_get(v, "Arch"), "BuildTime", json_object_get(v, "BuildTime"),
                                "GitCommit", json_object_get(v, "GitCommit"), "KernelVersion",
                                json_object_get(v, "KernelVersion"), "MinAPIVersion",
                                json_object_get(v, "MinAPIVersion"), "Os", json_object_get(v, "Os"),
                                "Experimental", "false");
    json_object_set_new(v, "Platform", json_pack("{s:s}", "Name", "Servin Engine"));
    json_object_set_new(v, "Components",
                        json_pack("[{s:s,s:O,s:o}]", "Name", "Engine", "Version", json_object_get(v, "Version"),
                                  "Details", details));
    json_object_set_new(v, "GoVersion", json_string("none (C)"));
    json_object_set_new(v, "Experimental", json_false());
    return dreply_json(r, 200, v);
}

static int info(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *out = NULL;
    if (!store || servin_system_info(store, &out, &err) < 0)
        return dreply_servin_error(r, &err);
    return dreply_json(r, 200, out);
}

/* Docker's login check: the credentials are tried against the registry, not stored (the CLI keeps
 * them in its own config and sends them with each push or pull). */
static int auth(struct dreq *r)
{
    struct servin_error err = {0};
    json_t *body = NULL;
    if (dreq_json_body(r, &body, &err) < 0)
        return dreply_servin_error(r, &err);
    const char *user = json_string_value(json_object_get(body, "username"));
    const char *password = json_string_value(json_object_get(body, "password"));
    const char *server = json_string_value(json_object_get(body, "serveraddress"));
    if (!user || !password) {
        json_decref(body);
        return dreply_error(r, 400, "username and password are required");
    }
    if (!server || !*server)
        server = "docker.io";
    /* "https://host/v1/" as the CLI sends it for Docker Hub and old configs: keep host[:port]. */
    _cleanup_free_ char *host = NULL;
    const char *h = strstr(server, "://") ? strstr(server, "://") + 3 : server;
    host = xstrndup(h, strcspn(h, "/"));
    if (strcmp(host, "index.docker.io") == 0) {
        free(host);
        host = xstrdup("docker.io");
    }
    int rc = servin_registry_login(host, user, password, &err);
    json_decref(body);
    if (rc < 0)
        return dreply_error(r, err.code == EACCES || err.code == EPERM ? 401 : 500, "%s", err.msg);
    return dreply_json(r, 200, json_pack("{s:s,s:s}", "Status", "Login Succeeded", "IdentityToken", ""));
}

const struct droute daemon_system_routes[] = {
    {"POST", "/auth", auth, 0},
    {"GET", "/_ping", ping, 0},
    {"GET", "/version", version, 0},
    {"GET", "/info", info, 0},
    {NULL, NULL, NULL, 0},
};
