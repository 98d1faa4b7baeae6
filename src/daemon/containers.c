/* daemon/containers.c — /containers/...: create, lifecycle, list, inspect, logs, wait, top, changes,
 * rename, resize, prune. Attach and exec are in exec.c. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/monitor.h"
#include "servin/network.h"
#include "servin/runtime.h"
#include "servin/timefmt.h"
#include "servin/volume.h"

/* ---- create ---- */

static bool is_zero(json_t *v)
{
    return json_is_null(v) || json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
           (json_is_real(v) && json_real_value(v) == 0) || (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0);
}

/* Docker's clients send every field, unset ones as null, 0, "" or {}: drop them so that the
 * image's defaults and Servin's apply, as they would to a field the user never gave. */
static void drop_zero_fields(json_t *obj)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, k, v) if (is_zero(v) && strcmp(k, "Entrypoint") != 0)
        json_object_del(obj, k);
}

/* A Docker strslice: a string is a one-element list. */
static int strslice(json_t *obj, const char *key, struct servin_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        json_object_del(obj, key);
        return 0;
    }
    if (json_is_string(v)) {
        json_object_set_new(obj, key, json_pack("[O]", v));
        return 0;
    }
    if (!json_is_array(v))
        return servin_error_set(err, EINVAL, "invalid %s: expected a list of strings", key);
    size_t i;
    json_t *e;
    json_array_foreach (v, i, e)
        if (!json_is_string(e))
            return servin_error_set(err, EINVAL, "invalid %s: expected a list of strings", key);
    return 0;
}

struct field_type {
    const char *key;
    json_type type;
};

static int check_types(json_t *obj, const struct field_type *types, const char *where,
                       struct servin_error *err)
{
    for (const struct field_type *t = types; t->key; t++) {
        json_t *v = json_object_get(obj, t->key);
        if (!v || json_is_null(v))
            continue;
        bool ok = json_typeof(v) == t->type || (t->type == JSON_TRUE && json_is_boolean(v)) ||
                  (t->type == JSON_INTEGER && json_is_real(v));
        if (!ok)
            return servin_error_set(err, EINVAL, "invalid type for %s%s: %s expected", where, t->key,
                                    t->type == JSON_STRING    ? "a string"
                                    : t->type == JSON_INTEGER ? "a number"
                                    : t->type == JSON_TRUE    ? "a boolean"
                                    : t->type == JSON_ARRAY   ? "a list"
                                                              : "an object");
    }
    return 0;
}

static const struct field_type config_types[] = {
    {"Image", JSON_STRING},
    {"Env", JSON_ARRAY},
    {"WorkingDir", JSON_STRING},
    {"User", JSON_STRING},
    {"Hostname", JSON_STRING},
    {"Domainname", JSON_STRING},
    {"Labels", JSON_OBJECT},
    {"Tty", JSON_TRUE},
    {"OpenStdin", JSON_TRUE},
    {"StdinOnce", JSON_TRUE},
    {"AttachStdin", JSON_TRUE},
    {"AttachStdout", JSON_TRUE},
    {"AttachStderr", JSON_TRUE},
    {"StopSignal", JSON_STRING},
    {"StopTimeout", JSON_INTEGER},
    {"Healthcheck", JSON_OBJECT},
    {"ExposedPorts", JSON_OBJECT},
    {"Volumes", JSON_OBJECT},
    {"HostConfig", JSON_OBJECT},
    {"NetworkingConfig", JSON_OBJECT},
    {NULL, 0},
};

static const struct field_type host_types[] = {
    {"Binds", JSON_ARRAY},         {"Mounts", JSON_ARRAY},
    {"PortBindings", JSON_OBJECT}, {"RestartPolicy", JSON_OBJECT},
    {"Memory", JSON_INTEGER},      {"MemorySwap", JSON_INTEGER},
    {"NanoCpus", JSON_INTEGER},    {"CpuShares", JSON_INTEGER},
    {"CpuQuota", JSON_INTEGER},    {"CpuPeriod", JSON_INTEGER},
    {"PidsLimit", JSON_INTEGER},   {"CapAdd", JSON_ARRAY},
    {"CapDrop", JSON_ARRAY},       {"Privileged", JSON_TRUE},
    {"NetworkMode", JSON_STRING},  {"AutoRemove", JSON_TRUE},
    {"LogConfig", JSON_OBJECT},    {"ReadonlyRootfs", JSON_TRUE},
    {"SecurityOpt", JSON_ARRAY},   {"Ulimits", JSON_ARRAY},
    {"Tmpfs", JSON_OBJECT},        {"ShmSize", JSON_INTEGER},
    {"Sysctls", JSON_OBJECT},      {"Init", JSON_TRUE},
    {"OomScoreAdj", JSON_INTEGER}, {NULL, 0},
};

/* "N" or "N-M" with ports 1..65535 ("" and "0": any free port when allow_zero). */
static bool port_spec_valid(const char *text, bool allow_zero)
{
    if (!*text)
        return allow_zero;
    char *end = NULL;
    long lo = strtol(text, &end, 10), hi = lo;
    if (end == text)
        return false;
    if (*end == '-') {
        const char *h = end + 1;
        hi = strtol(h, &end, 10);
        if (end == h)
            return false;
    }
    if (*end && *end != '/')
        return false;
    return (lo == 0 && hi == 0 && allow_zero) || (lo >= 1 && hi <= 65535 && lo <= hi);
}

/* PortBindings {"80/tcp": [{"HostIp", "HostPort"}]}: refused at create, as Docker does, rather than
 * at the first start. */
static int check_port_bindings(json_t *bindings, struct servin_error *err)
{
    const char *key;
    json_t *list;
    json_object_foreach (bindings, key, list) {
        if (!port_spec_valid(key, false))
            return servin_error_set(err, EINVAL, "invalid port specification: \"%s\"", key);
        if (!json_is_array(list) && !json_is_null(list))
            return servin_error_set(err, EINVAL, "invalid PortBindings for %s: a list expected", key);
        size_t i;
        json_t *b;
        json_array_foreach (list, i, b) {
            json_t *hp = json_object_get(b, "HostPort");
            if (hp && !json_is_null(hp) &&
                (!json_is_string(hp) || !port_spec_valid(json_string_value(hp), true)))
                return servin_error_set(err, EINVAL, "invalid host port for %s: %s", key,
                                        json_is_string(hp) ? json_string_value(hp) : "not a string");
        }
    }
    return 0;
}

/* Docker's create body ({Image, Cmd, ..., HostConfig, NetworkingConfig}) as libservin's container
 * config ({"Config": {...}, "HostConfig": {...}, "NetworkingConfig": {...}}). */
static int config_from_body(json_t *body, json_t **out, struct servin_error *err)
{
    if (!json_is_object(body))
        return servin_error_set(err, EINVAL,
                                "the request body must be a JSON object (Docker's container config)");
    int r = check_types(body, config_types, "", err);
    if (r < 0)
        return r;
    json_t *host = json_object_get(body, "HostConfig");
    if (host && (r = check_types(host, host_types, "HostConfig.", err)) < 0)
        return r;
    if (host && (r = check_port_bindings(json_object_get(host, "PortBindings"), err)) < 0)
        return r;
    json_t *cfg = json_deep_copy(body);
    json_t *hc = json_incref(json_object_get(cfg, "HostConfig"));
    json_t *nc = json_incref(json_object_get(cfg, "NetworkingConfig"));
    json_object_del(cfg, "HostConfig");
    json_object_del(cfg, "NetworkingConfig");
    if ((r = strslice(cfg, "Cmd", err)) < 0 || (r = strslice(cfg, "Entrypoint", err)) < 0) {
        json_decref(cfg);
        json_decref(hc);
        json_decref(nc);
        return r;
    }
    drop_zero_fields(cfg);
    if (!json_is_object(hc))
        hc = json_object();
    drop_zero_fields(hc);
    const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
    if (mode && strcmp(mode, "default") == 0)
        json_object_del(hc, "NetworkMode");
    json_t *policy = json_object_get(hc, "RestartPolicy");
    const char *pname = json_string_value(json_object_get(policy, "Name"));
    if (policy && (!pname || !*pname))
        json_object_del(hc, "RestartPolicy");
    *out = json_pack("{s:o,s:o}", "Config", cfg, "HostConfig", hc);
    if (json_is_object(nc) && json_object_size(nc))
        json_object_set(*out, "NetworkingConfig", nc);
    json_decref(nc);
    return 0;
}

static int create(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *body = NULL, *config = NULL;
    if (!store || dreq_json_body(r, &body, &err) < 0 || config_from_body(body, &config, &err) < 0) {
        json_decref(body);
        return dreply_servin_error(r, &err);
    }
    json_decref(body);
    const char *image = json_string_value(json_object_get(json_object_get(config, "Config"), "Image"));
    if (!image || !*image) {
        json_decref(config);
        return dreply_error(r, 400, "config error: no image given (Image)");
    }
    _cleanup_free_ char *image_copy = xstrdup(image);
    const char *name = dreq_query(r, "name");
    struct servin_container c = {0};
    int rc = servin_container_create(store, image_copy, name && *name ? name : NULL, config, &c, &err);
    json_decref(config);
    if (rc < 0) {
        if (err.code == ENOENT)
            return dreply_error(r, 404, "No such image: %s", image_copy);
        if (err.code == EEXIST)
            return dreply_error(r, 409, "Conflict. %s", err.msg);
        return dreply_servin_error(r, &err);
    }
    json_t *out = json_pack("{s:s,s:[]}", "Id", c.id, "Warnings");
    servin_container_clear(&c);
    return dreply_json(r, 201, out);
}

/* ---- lifecycle ---- */

static int start(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct servin_error err = {0};
    servin_container_reconcile(store, &c, &err);
    if (servin_container_is_active(&c)) {
        servin_container_clear(&c);
        return dreply_empty(r, 304);
    }
    int exit_code = 0;
    /* `docker run` attaches first: the monitor holds the start until that client is connected. */
    struct servin_start_opts so = {.wait_for_attach = daemon_attach_pending(c.id)};
    int rc = servin_container_start(store, &c, &so, &exit_code, &err);
    servin_container_clear(&c);
    if (rc < 0)
        return dreply_error(r, err.code == ENOENT ? 400 : 500, "%s", err.msg);
    return dreply_empty(r, 204);
}

static int stop_timeout(struct dreq *r)
{
    const char *t = dreq_query(r, "t");
    if (!t)
        t = dreq_query(r, "timeout");
    return t && *t ? atoi(t) : -1;
}

static int stop(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct servin_error err = {0};
    servin_container_reconcile(store, &c, &err);
    if (!servin_container_is_active(&c)) {
        servin_container_clear(&c);
        return dreply_empty(r, 304);
    }
    int rc = servin_container_stop(store, &c, stop_timeout(r), &err);
    servin_container_clear(&c);
    return rc < 0 ? dreply_servin_error(r, &err) : dreply_empty(r, 204);
}

static int restart(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct servin_error err = {0};
    int exit_code = 0;
    struct servin_start_opts so = {0};
    int rc = servin_container_stop(store, &c, stop_timeout(r), &err);
    if (rc == 0)
        rc = servin_container_start(store, &c, &so, &exit_code, &err);
    servin_container_clear(&c);
    return rc < 0 ? dreply_servin_error(r, &err) : dreply_empty(r, 204);
}

static int kill_container(struct dreq *r)
{
    const char *s = dreq_query(r, "signal");
    int sig = s && *s ? servin_signal_parse(s) : SIGKILL;
    if (sig <= 0)
        return dreply_error(r, 400, "invalid signal: %s", s);
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct servin_error err = {0};
    int rc = servin_container_kill(store, &c, sig, &err);
    servin_container_clear(&c);
    if (rc == -EBUSY)
        return dreply_error(r, 409, "Container %s is not running", r->params[0]);
    return rc < 0 ? dreply_servin_error(r, &err) : dreply_empty(r, 204);
}

static int pause_common(struct dreq *r, bool pause)
{
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct servin_error err = {0};
    int rc = servin_container_pause(store, &c, pause, &err);
    servin_container_clear(&c);
    return rc < 0 ? dreply_servin_error(r, &err) : dreply_empty(r, 204);
}

static int pause_container(struct dreq *r)
{
    return pause_common(r, true);
}

static int unpause_container(struct dreq *r)
{
    return pause_common(r, false);
}

static int remove_container(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct servin_error err = {0};
    int rc = servin_container_remove(store, &c, dreq_query_bool(r, "force", false), &err);
    servin_container_clear(&c);
    if (rc == -EBUSY)
        return dreply_error(r, 409,
                            "You cannot remove a running container %s. Stop the container before "
                            "attempting removal or force remove",
                            r->params[0]);
    return rc < 0 ? dreply_servin_error(r, &err) : dreply_empty(r, 204);
}

static int rename_container(struct dreq *r)
{
    const char *name = dreq_query(r, "name");
    if (!name || !*name)
        return dreply_error(r, 400, "a new name is required (name)");
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    if (!store)
        return dreply_servin_error(r, &err);
    if (servin_container_rename(store, r->params[0], name[0] == '/' ? name + 1 : name, &err) < 0) {
        if (err.code == ENOENT)
            return dreply_error(r, 404, "No such container: %s", r->params[0]);
        return dreply_servin_error(r, &err);
    }
    return dreply_empty(r, 204);
}

/* ---- wait: a stream, so the headers leave at once (the CLI waits before it starts) ---- */

struct wait_job {
    char *root;
    char *id;
    char *condition;
    int64_t started_at; /* at the request */
};

static void wait_job_free(void *p)
{
    struct wait_job *j = p;
    free(j->root);
    free(j->id);
    free(j->condition);
    free(j);
}

static void wait_stream(void *arg, FILE *out)
{
    struct wait_job *j = arg;
    struct servin_error err = {0};
    _cleanup_store_ struct servin_store *store = NULL;
    int code = -1;
    const char *error = NULL;
    if (daemon_store_open(j->root, &store, &err) < 0) {
        error = err.msg;
        goto done;
    }
    bool saw_active = false;
    for (;;) {
        struct servin_container c = {0};
        struct servin_error gerr = {0};
        if (servin_container_get(store, j->id, &c, &gerr) < 0)
            break; /* gone: removed (AutoRemove, rm -f) */
        bool active = servin_container_is_active(&c);
        int rc = servin_container_read_exit(store, &c);
        int last = c.state == SERVIN_CONTAINER_CREATED ? 0 : rc >= 0 ? rc : c.exit_code;
        int64_t started = c.started_at;
        servin_container_clear(&c);
        saw_active = saw_active || active;
        if (!active) {
            code = last;
            if (strcmp(j->condition, "not-running") == 0)
                break;
            if (strcmp(j->condition, "next-exit") == 0 && (saw_active || started != j->started_at))
                break;
        }
        if (dstream_gone(out))
            return;
        usleep(50000);
    }
done:;
    json_t *res = json_pack("{s:i}", "StatusCode", code < 0 ? 0 : code);
    json_object_set_new(res, "Error", error ? json_pack("{s:s}", "Message", error) : json_null());
    json_dumpf(res, out, JSON_COMPACT);
    fputc('\n', out);
    json_decref(res);
}

static int wait_container(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    const char *cond = dreq_query(r, "condition");
    if (!cond || !*cond)
        cond = "not-running";
    if (strcmp(cond, "not-running") != 0 && strcmp(cond, "next-exit") != 0 && strcmp(cond, "removed") != 0)
        return dreply_error(r, 400, "invalid condition \"%s\": use not-running, next-exit or removed", cond);
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct servin_error err = {0};
    servin_container_reconcile(store, &c, &err);
    struct wait_job *j = xcalloc(1, sizeof(*j));
    j->root = xstrdup(r->d->root ? r->d->root : SERVIN_DEFAULT_ROOT);
    j->id = xstrdup(c.id);
    j->condition = xstrdup(cond);
    /* next-exit ignores the exit the container already had: a new run has a new start time. */
    j->started_at = c.started_at;
    servin_container_clear(&c);
    return dreply_stream(r, 200, "application/json", wait_stream, j, wait_job_free);
}

/* ---- list, inspect ---- */

static json_t *summary_json(struct servin_store *store, const struct servin_container *c)
{
    _cleanup_free_ char *name = xasprintf("/%s", c->name);
    _cleanup_free_ char *status = servin_container_status_text(c);
    json_t *argv = servin_container_command_argv(c);
    char *cmd = xstrdup("");
    size_t i;
    json_t *a;
    json_array_foreach (argv, i, a) {
        char *n = xasprintf("%s%s%s", cmd, i ? " " : "", json_string_value(a) ? json_string_value(a) : "");
        free(cmd);
        cmd = n;
    }
    json_decref(argv);
    json_t *labels = json_object_get(json_object_get(c->config, "Config"), "Labels");
    json_t *no_labels = json_object();
    const char *mode =
        json_string_value(json_object_get(json_object_get(c->config, "HostConfig"), "NetworkMode"));
    /* Published ports and addresses exist while the container runs (leases are per run). */
    json_t *settings = servin_network_settings_json(store, c);
    json_t *networks = json_object_get(settings, "Networks");
    json_t *out = json_pack(
        "{s:s,s:[s],s:s,s:s,s:s,s:I,s:o,s:O,s:s,s:s,s:{s:s},s:{s:O},s:o}", "Id", c->id, "Names", name,
        "Image", c->image_ref ? c->image_ref : c->image_id, "ImageID", c->image_id, "Command", cmd, "Created",
        (json_int_t)(c->created / 1000000000), "Ports", servin_network_ports_json(store, c->id), "Labels",
        json_is_object(labels) ? labels : no_labels, "State", servin_container_state_name(c->state), "Status",
        status, "HostConfig", "NetworkMode", mode ? mode : "default", "NetworkSettings", "Networks",
        networks ? networks : no_labels, "Mounts", servin_volume_mounts_json(c));
    json_decref(settings);
    json_decref(no_labels);
    free(cmd);
    return out;
}

struct container_filter {
    struct servin_store *store;
    const struct servin_container *c;
};

static bool container_matches(const char *key, const char *want, void *ctx)
{
    const struct container_filter *f = ctx;
    return servin_container_filter_match(f->store, f->c, key, want);
}

static int list(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *filters = NULL;
    if (!store || daemon_parse_filters(dreq_query(r, "filters"), &filters, &err) < 0)
        return dreply_servin_error(r, &err);
    static const char *const known[] = {"status", "name",     "id",     "label",
                                        "exited", "ancestor", "health", NULL};
    if (daemon_check_filter_keys(r, filters, known) < 0) {
        json_decref(filters);
        return 0;
    }
    struct servin_container *all = NULL;
    size_t n = 0;
    if (servin_container_list(store, &all, &n, &err) < 0) {
        json_decref(filters);
        return dreply_servin_error(r, &err);
    }
    bool every = dreq_query_bool(r, "all", false) || json_object_get(filters, "status") ||
                 json_object_get(filters, "exited");
    long long limit = dreq_query_int(r, "limit", -1);
    if (limit > 0)
        every = true;
    json_t *out = json_array();
    for (size_t i = 0; i < n && (limit <= 0 || (long long)json_array_size(out) < limit); i++) {
        servin_container_tidy(store, &all[i]);
        if (!every && !servin_container_is_active(&all[i]))
            continue;
        struct container_filter f = {store, &all[i]};
        if (daemon_filters_pass(filters, container_matches, &f))
            json_array_append_new(out, summary_json(store, &all[i]));
    }
    servin_containers_free(all, n);
    json_decref(filters);
    return dreply_json(r, 200, out);
}

static int inspect(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    json_t *j = servin_container_inspect_json(store, &c);
    servin_container_clear(&c);
    return dreply_json(r, 200, j);
}

static int top(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct servin_error err = {0};
    json_t *out = NULL;
    servin_container_reconcile(store, &c, &err);
    int rc = servin_container_top(store, &c, &out, &err);
    servin_container_clear(&c);
    if (rc == -EBUSY)
        return dreply_error(r, 409, "Container %s is not running", r->params[0]);
    return rc < 0 ? dreply_servin_error(r, &err) : dreply_json(r, 200, out);
}

static int changes(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct servin_error err = {0};
    char **list = NULL;
    int rc = servin_container_diff(store, &c, &list, &err);
    servin_container_clear(&c);
    if (rc < 0)
        return dreply_servin_error(r, &err);
    json_t *out = json_array();
    for (char **p = list; p && *p; p++) {
        int kind = (*p)[0] == 'A' ? 1 : (*p)[0] == 'D' ? 2 : 0;
        json_array_append_new(out, json_pack("{s:s,s:i}", "Path", *p + 2, "Kind", kind));
    }
    strv_free(list);
    return dreply_json(r, 200, out);
}

static int resize(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    long long h = dreq_query_int(r, "h", -1), w = dreq_query_int(r, "w", -1);
    if (h <= 0 || w <= 0 || h > 65535 || w > 65535)
        return dreply_error(r, 400, "resize needs h and w between 1 and 65535");
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, c.id);
    struct servin_error err = {0};
    servin_container_reconcile(store, &c, &err);
    bool active = servin_container_is_active(&c);
    servin_container_clear(&c);
    if (!active)
        return dreply_error(r, 409, "Container %s is not running", r->params[0]);
    if (servin_monitor_resize(run_dir, (unsigned)h, (unsigned)w, &err) < 0)
        return dreply_servin_error(r, &err);
    return dreply_empty(r, 200);
}

static int prune(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    if (!store)
        return dreply_servin_error(r, &err);
    struct servin_container *all = NULL;
    size_t n = 0;
    if (servin_container_list(store, &all, &n, &err) < 0)
        return dreply_servin_error(r, &err);
    json_t *deleted = json_array();
    for (size_t i = 0; i < n; i++) {
        if (servin_container_is_active(&all[i]))
            continue;
        struct servin_error one = {0};
        if (servin_container_remove(store, &all[i], false, &one) == 0)
            json_array_append_new(deleted, json_string(all[i].id));
    }
    servin_containers_free(all, n);
    return dreply_json(r, 200, json_pack("{s:o,s:i}", "ContainersDeleted", deleted, "SpaceReclaimed", 0));
}

/* ---- logs ---- */

struct logs_job {
    char *log_path;
    char *run_dir;
    struct servin_log_read_opts o;
    bool tty, want_stdout, want_stderr;
    FILE *out;
};

static void logs_job_free(void *p)
{
    struct logs_job *j = p;
    free(j->log_path);
    free(j->run_dir);
    free(j);
}

static int emit_log(void *ctx, int stream, const char *text, size_t len)
{
    struct logs_job *j = ctx;
    if ((stream == 1 && !j->want_stdout) || (stream == 2 && !j->want_stderr))
        return 0;
    if (j->tty) {
        if (fwrite(text, 1, len, j->out) != len || fflush(j->out) != 0)
            return -1;
        return 0;
    }
    return daemon_write_frame(j->out, stream, text, len);
}

static void logs_stream(void *arg, FILE *out)
{
    struct logs_job *j = arg;
    j->out = out;
    j->o.run_dir = j->run_dir;
    struct servin_error err = {0};
    servin_log_read(j->log_path, &j->o, emit_log, j, &err);
}

/* Docker's since/until: unix seconds with an optional fraction. */
static int64_t time_arg(const char *v)
{
    if (!v || !*v)
        return 0;
    char *end = NULL;
    double d = strtod(v, &end);
    return d > 0 ? (int64_t)(d * 1e9) : 0;
}

static int logs(struct dreq *r)
{
    struct servin_container c = {0};
    struct servin_store *store;
    if (dreq_container(r, r->params[0], &c, &store) < 0)
        return 0;
    struct logs_job *j = xcalloc(1, sizeof(*j));
    j->want_stdout = dreq_query_bool(r, "stdout", false);
    j->want_stderr = dreq_query_bool(r, "stderr", false);
    if (!j->want_stdout && !j->want_stderr) {
        servin_container_clear(&c);
        logs_job_free(j);
        return dreply_error(r, 400, "you must choose at least one stream (stdout or stderr)");
    }
    const char *log_type = json_string_value(
        json_object_get(json_object_get(json_object_get(c.config, "HostConfig"), "LogConfig"), "Type"));
    if (log_type && strcmp(log_type, "none") == 0) {
        servin_container_clear(&c);
        logs_job_free(j);
        return dreply_error(r, 501, "configured logging driver does not support reading");
    }
    _cleanup_free_ char *dir = servin_container_dir(store, c.id);
    j->log_path = servin_container_log_path(store, &c);
    j->run_dir = servin_container_run_dir(store, c.id);
    j->tty = json_is_true(json_object_get(json_object_get(c.config, "Config"), "Tty"));
    j->o.follow = dreq_query_bool(r, "follow", false) && servin_container_is_active(&c);
    j->o.timestamps = dreq_query_bool(r, "timestamps", false);
    const char *tail = dreq_query(r, "tail");
    j->o.tail = tail && *tail && strcmp(tail, "all") != 0 ? atol(tail) : -1;
    j->o.since_ns = time_arg(dreq_query(r, "since"));
    j->o.until_ns = time_arg(dreq_query(r, "until"));
    servin_container_clear(&c);
    return dreply_stream(
        r, 200, j->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
        logs_stream, j, logs_job_free);
}

const struct droute daemon_container_routes[] = {
    {"POST", "/containers/create", create, 0},
    {"GET", "/containers/json", list, 0},
    {"POST", "/containers/prune", prune, 0},
    {"GET", "/containers/*/json", inspect, 0},
    {"POST", "/containers/*/start", start, 0},
    {"POST", "/containers/*/stop", stop, 0},
    {"POST", "/containers/*/restart", restart, 0},
    {"POST", "/containers/*/kill", kill_container, 0},
    {"POST", "/containers/*/pause", pause_container, 0},
    {"POST", "/containers/*/unpause", unpause_container, 0},
    {"POST", "/containers/*/wait", wait_container, 0},
    {"POST", "/containers/*/rename", rename_container, 0},
    {"POST", "/containers/*/resize", resize, 0},
    {"GET", "/containers/*/logs", logs, 0},
    {"GET", "/containers/*/top", top, 0},
    {"GET", "/containers/*/changes", changes, 0},
    {"DELETE", "/containers/*", remove_container, 0},
    {NULL, NULL, NULL, 0},
};
