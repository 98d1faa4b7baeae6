/* daemon/system.c — /_ping, /version, /info, /system/df, /auth, /events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/events.h"
#include "servin/image.h"
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
    json_t *details =
        json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:s}", "ApiVersion", json_object_get(v, "ApiVersion"), "Arch",
                  json_object_get(v, "Arch"), "BuildTime", json_object_get(v, "BuildTime"), "GitCommit",
                  json_object_get(v, "GitCommit"), "KernelVersion", json_object_get(v, "KernelVersion"),
                  "MinAPIVersion", json_object_get(v, "MinAPIVersion"), "Os", json_object_get(v, "Os"),
                  "Experimental", "false");
    json_object_set_new(v, "Platform", json_pack("{s:s}", "Name", "Servin Engine"));
    json_object_set_new(v, "Components",
                        json_pack("[{s:s,s:O,s:o}]", "Name", "Engine", "Version",
                                  json_object_get(v, "Version"), "Details", details));
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

/* ---- events: the journal, replayed from `since` and followed until `until` ---- */

struct events_job {
    char *root;
    int64_t since_ns, until_ns;
    json_t *filters;
    FILE *out;
};

static void events_job_free(void *p)
{
    struct events_job *j = p;
    free(j->root);
    json_decref(j->filters);
    free(j);
}

static bool any_equals(json_t *list, const char *value)
{
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v)
        if (value && json_string_value(v) && strcmp(json_string_value(v), value) == 0)
            return true;
    return false;
}

static bool event_passes(json_t *filters, json_t *ev)
{
    const char *key;
    json_t *vals;
    json_t *actor = json_object_get(ev, "Actor");
    json_t *attrs = json_object_get(actor, "Attributes");
    const char *id = json_string_value(json_object_get(actor, "ID"));
    const char *name = json_string_value(json_object_get(attrs, "name"));
    const char *type = json_string_value(json_object_get(ev, "Type"));
    json_object_foreach (filters, key, vals) {
        if (json_array_size(vals) == 0)
            continue;
        bool ok = false;
        if (strcmp(key, "type") == 0)
            ok = any_equals(vals, type);
        else if (strcmp(key, "event") == 0 || strcmp(key, "action") == 0) {
            const char *action = json_string_value(json_object_get(ev, "Action"));
            ok = any_equals(vals, action);
        } else if (strcmp(key, "container") == 0) {
            size_t i;
            json_t *v;
            json_array_foreach (vals, i, v) {
                const char *want = json_string_value(v);
                if (type && strcmp(type, "container") == 0 && want && *want &&
                    ((id && strncmp(id, want, strlen(want)) == 0) || (name && strcmp(name, want) == 0)))
                    ok = true;
            }
        } else if (strcmp(key, "network") == 0 || strcmp(key, "volume") == 0) {
            /* By id (prefix for networks) or name, on events of that type only. */
            size_t i;
            json_t *v;
            json_array_foreach (vals, i, v) {
                const char *want = json_string_value(v);
                if (type && strcmp(type, key) == 0 && want && *want &&
                    ((id && strncmp(id, want, strlen(want)) == 0) || (name && strcmp(name, want) == 0)))
                    ok = true;
            }
        } else if (strcmp(key, "image") == 0) {
            ok = any_equals(vals, json_string_value(json_object_get(attrs, "image"))) ||
                 (type && strcmp(type, "image") == 0 && any_equals(vals, id));
        } else if (strcmp(key, "label") == 0) {
            size_t i;
            json_t *v;
            json_array_foreach (vals, i, v) {
                const char *want = json_string_value(v);
                const char *eq = want ? strchr(want, '=') : NULL;
                _cleanup_free_ char *k = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want ? want : "");
                json_t *have = json_object_get(attrs, k);
                if (have &&
                    (!eq || (json_string_value(have) && strcmp(json_string_value(have), eq + 1) == 0)))
                    ok = true;
            }
        } else {
            ok = true; /* scope, daemon, ...: everything here is local */
        }
        if (!ok)
            return false;
    }
    return true;
}

static int emit_event(void *ctx, json_t *ev)
{
    struct events_job *j = ctx;
    if (!event_passes(j->filters, ev))
        return 0;
    if (json_dumpf(ev, j->out, JSON_COMPACT) < 0 || fputc('\n', j->out) == EOF || fflush(j->out) != 0)
        return -1;
    return 0;
}

static bool events_stop(void *ctx)
{
    struct events_job *j = ctx;
    return dstream_gone(j->out);
}

static void events_stream(void *arg, FILE *out)
{
    struct events_job *j = arg;
    struct servin_error err = {0};
    _cleanup_store_ struct servin_store *store = NULL;
    if (daemon_store_open(j->root, &store, &err) < 0)
        return;
    j->out = out;
    servin_events_read(store, j->since_ns, j->until_ns, true, emit_event, events_stop, j, &err);
}

/* Docker's since/until: unix seconds with an optional fraction, or an RFC 3339 time. */
static int64_t time_arg(const char *v)
{
    if (!v || !*v)
        return 0;
    char *end = NULL;
    double d = strtod(v, &end);
    if (end && *end == '\0')
        return d > 0 ? (int64_t)(d * 1e9) : 0;
    long long t = servin_time_parse_rfc3339(v);
    return t > 0 ? (int64_t)t * 1000000000 : 0;
}

static int events(struct dreq *r)
{
    struct servin_error err = {0};
    json_t *filters = NULL;
    if (daemon_parse_filters(dreq_query(r, "filters"), &filters, &err) < 0)
        return dreply_servin_error(r, &err);
    struct events_job *j = xcalloc(1, sizeof(*j));
    j->root = xstrdup(r->d->root ? r->d->root : SERVIN_DEFAULT_ROOT);
    j->filters = filters;
    j->since_ns = time_arg(dreq_query(r, "since"));
    j->until_ns = time_arg(dreq_query(r, "until"));
    return dreply_stream(r, 200, "application/json", events_stream, j, events_job_free);
}

static int df(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    struct servin_image_summary *imgs = NULL;
    size_t n = 0;
    struct servin_container *cs = NULL;
    size_t nc = 0;
    if (!store || servin_image_list(store, &imgs, &n, &err) < 0)
        return dreply_servin_error(r, &err);
    if (servin_container_list(store, &cs, &nc, &err) < 0) {
        servin_image_summaries_free(imgs, n);
        return dreply_servin_error(r, &err);
    }
    json_t *images = json_array();
    json_int_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int users = 0;
        for (size_t k = 0; k < nc; k++)
            users += strcmp(cs[k].image_id, imgs[i].id) == 0;
        json_t *tags = json_array();
        for (char **t = imgs[i].tags; t && *t; t++) {
            _cleanup_free_ char *f = servin_image_familiar(*t);
            json_array_append_new(tags, json_string(f));
        }
        long long created = imgs[i].created ? servin_time_parse_rfc3339(imgs[i].created) : -1;
        json_array_append_new(images,
                              json_pack("{s:s,s:s,s:o,s:[],s:I,s:I,s:I,s:I,s:{},s:i}", "Id", imgs[i].id,
                                        "ParentId", "", "RepoTags", tags, "RepoDigests", "Created",
                                        (json_int_t)(created < 0 ? imgs[i].added : created), "Size",
                                        (json_int_t)imgs[i].size, "SharedSize", (json_int_t)0, "VirtualSize",
                                        (json_int_t)imgs[i].size, "Labels", "Containers", users));
        total += (json_int_t)imgs[i].size;
    }
    json_t *containers = json_array();
    for (size_t k = 0; k < nc; k++) {
        _cleanup_free_ char *name = xasprintf("/%s", cs[k].name);
        json_array_append_new(
            containers, json_pack("{s:s,s:[s],s:s,s:s,s:I,s:s,s:I,s:I}", "Id", cs[k].id, "Names", name,
                                  "Image", cs[k].image_ref ? cs[k].image_ref : cs[k].image_id, "ImageID",
                                  cs[k].image_id, "Created", (json_int_t)(cs[k].created / 1000000000),
                                  "State", servin_container_state_name(cs[k].state), "SizeRw", (json_int_t)0,
                                  "SizeRootFs", (json_int_t)0));
    }
    servin_image_summaries_free(imgs, n);
    servin_containers_free(cs, nc);
    return dreply_json(r, 200,
                       json_pack("{s:I,s:o,s:o,s:[],s:[]}", "LayersSize", total, "Images", images,
                                 "Containers", containers, "Volumes", "BuildCache"));
}

const struct droute daemon_system_routes[] = {
    {"GET", "/events", events, 0}, {"GET", "/system/df", df, 0},    {"POST", "/auth", auth, 0},
    {"GET", "/_ping", ping, 0},    {"GET", "/version", version, 0}, {"GET", "/info", info, 0},
    {NULL, NULL, NULL, 0},
};
