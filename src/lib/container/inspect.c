/* container/inspect.c — a container in Docker's JSON shapes (inspect) and the ps filters, shared
 * by the CLI and the daemon. */
#include <stdlib.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/health.h"
#include "servin/image.h"
#include "servin/network.h"
#include "servin/timefmt.h"
#include "servin/volume.h"

/* Docker's HumanDuration: "Less than a second", "3 seconds", "About a minute", "2 hours"... */
char *servin_human_duration(int64_t ns)
{
    long long s = ns / 1000000000;
    if (s < 1)
        return xstrdup("Less than a second");
    if (s < 60)
        return s == 1 ? xstrdup("1 second") : xasprintf("%lld seconds", s);
    long long m = s / 60;
    if (m < 60)
        return m == 1 ? xstrdup("About a minute") : xasprintf("%lld minutes", m);
    long long h = m / 60;
    if (h < 48)
        return h == 1 ? xstrdup("About an hour") : xasprintf("%lld hours", h);
    if (h < 24 * 7 * 2)
        return xasprintf("%lld days", h / 24);
    if (h < 24 * 30 * 2)
        return xasprintf("%lld weeks", h / (24 * 7));
    if (h < 24 * 365 * 2)
        return xasprintf("%lld months", h / (24 * 30));
    return xasprintf("%lld years", h / (24 * 365));
}

static char *human_ago(int64_t when_ns)
{
    _cleanup_free_ char *d = servin_human_duration(servin_time_now_ns() - when_ns);
    return xasprintf("%s ago", d);
}

char *servin_container_status_text(const struct servin_container *c)
{
    int64_t now = servin_time_now_ns();
    switch (c->state) {
    case SERVIN_CONTAINER_CREATED:
        return xstrdup("Created");
    case SERVIN_CONTAINER_RUNNING:
    case SERVIN_CONTAINER_PAUSED: {
        _cleanup_free_ char *up = servin_human_duration(now - c->started_at);
        const char *health = c->health && *c->health ? c->health : NULL;
        if (health && strcmp(health, "starting") == 0)
            health = "health: starting";
        return xasprintf("Up %s%s%s%s%s", up, health ? " (" : "", health ? health : "", health ? ")" : "",
                         c->state == SERVIN_CONTAINER_PAUSED ? " (Paused)" : "");
    }
    case SERVIN_CONTAINER_RESTARTING: {
        _cleanup_free_ char *ago = human_ago(c->finished_at ? c->finished_at : now);
        return xasprintf("Restarting (%d) %s", c->exit_code, ago);
    }
    case SERVIN_CONTAINER_EXITED: {
        if (!c->finished_at)
            return xasprintf("Exited (%d)", c->exit_code);
        _cleanup_free_ char *ago = human_ago(c->finished_at);
        return xasprintf("Exited (%d) %s", c->exit_code, ago);
    }
    case SERVIN_CONTAINER_REMOVING:
        return xstrdup("Removal In Progress");
    case SERVIN_CONTAINER_DEAD:
        return xstrdup("Dead");
    }
    return xstrdup("Unknown");
}

/* Entrypoint + Cmd: the process the container runs. */
json_t *servin_container_command_argv(const struct servin_container *c)
{
    json_t *cfg = json_object_get(c->config, "Config");
    json_t *all = json_array();
    json_array_extend(all, json_object_get(cfg, "Entrypoint"));
    json_array_extend(all, json_object_get(cfg, "Cmd"));
    return all;
}

static bool label_matches(const struct servin_container *c, const char *want)
{
    json_t *labels = json_object_get(json_object_get(c->config, "Config"), "Labels");
    const char *eq = strchr(want, '=');
    _cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
    json_t *v = json_object_get(labels, key);
    if (!v)
        return false;
    return !eq || (json_string_value(v) && strcmp(json_string_value(v), eq + 1) == 0);
}

bool servin_container_filter_match(struct servin_store *store, const struct servin_container *c,
                                   const char *key, const char *v)
{
    if (strcmp(key, "status") == 0)
        return strcmp(v, servin_container_state_name(c->state)) == 0;
    if (strcmp(key, "name") == 0)
        return strstr(c->name, v[0] == '/' ? v + 1 : v) != NULL;
    if (strcmp(key, "id") == 0)
        return strncmp(c->id, v, strlen(v)) == 0;
    if (strcmp(key, "label") == 0)
        return label_matches(c, v);
    if (strcmp(key, "exited") == 0)
        return c->state == SERVIN_CONTAINER_EXITED && c->exit_code == atoi(v);
    if (strcmp(key, "health") == 0)
        return strcmp(v, c->health ? c->health : "none") == 0;
    if (strcmp(key, "ancestor") == 0) {
        if (c->image_ref && strcmp(c->image_ref, v) == 0)
            return true;
        char id[SERVIN_DIGEST_MAX];
        struct servin_error err = {0};
        return servin_image_resolve(store, v, id, &err) == 0 && strcmp(id, c->image_id) == 0;
    }
    return false;
}

static json_t *time_json(int64_t ns)
{
    if (!ns)
        return json_string("0001-01-01T00:00:00Z");
    char buf[SERVIN_RFC3339_MAX];
    servin_time_format_rfc3339(ns, buf);
    return json_string(buf);
}

json_t *servin_container_inspect_json(struct servin_store *store, const struct servin_container *c)
{
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *resolv = xasprintf("%s/resolv.conf", dir);
    _cleanup_free_ char *hostname = xasprintf("%s/hostname", dir);
    _cleanup_free_ char *hosts = xasprintf("%s/hosts", dir);
    _cleanup_free_ char *log = servin_container_log_path(store, c);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
    _cleanup_free_ char *work = xasprintf("%s/work", dir);
    _cleanup_free_ char *name = xasprintf("/%s", c->name);
    json_t *argv = servin_container_command_argv(c);
    json_t *path = json_array_size(argv) ? json_incref(json_array_get(argv, 0)) : json_string("");
    json_array_remove(argv, 0);
    bool running = c->state == SERVIN_CONTAINER_RUNNING || c->state == SERVIN_CONTAINER_PAUSED ||
                   c->state == SERVIN_CONTAINER_RESTARTING;
    json_t *state = json_pack(
        "{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:o,s:o}", "Status", servin_container_state_name(c->state),
        "Running", running, "Paused", c->state == SERVIN_CONTAINER_PAUSED, "Restarting",
        c->state == SERVIN_CONTAINER_RESTARTING, "OOMKilled", c->oom_killed, "Dead",
        c->state == SERVIN_CONTAINER_DEAD, "Pid", running ? (int)c->pid : 0, "ExitCode", c->exit_code,
        "Error", "", "StartedAt", time_json(c->started_at), "FinishedAt", time_json(c->finished_at));
    json_t *health = c->health ? servin_container_health(store, c) : NULL;
    if (!health && c->health)
        health = json_pack("{s:s,s:i,s:[]}", "Status", c->health, "FailingStreak", 0, "Log");
    if (health)
        json_object_set_new(state, "Health", health);
    json_t *config = json_deep_copy(json_object_get(c->config, "Config"));
    if (!json_is_object(config))
        config = json_object();
    if (!json_string_value(json_object_get(config, "Hostname")) ||
        !*json_string_value(json_object_get(config, "Hostname"))) {
        _cleanup_free_ char *short_id = xstrndup(c->id, 12);
        json_object_set_new(config, "Hostname", json_string(short_id));
    }
    if (!json_object_get(config, "Labels"))
        json_object_set_new(config, "Labels", json_object());
    /* The create path drops unset fields; Docker's clients read these without a default. */
    static const char *const false_keys[] = {"AttachStdin", "AttachStdout", "AttachStderr",
                                             "Tty",         "OpenStdin",    "StdinOnce"};
    for (size_t i = 0; i < sizeof(false_keys) / sizeof(false_keys[0]); i++)
        if (!json_object_get(config, false_keys[i]))
            json_object_set_new(config, false_keys[i], json_false());
    static const char *const empty_keys[] = {"Domainname", "User", "WorkingDir"};
    for (size_t i = 0; i < sizeof(empty_keys) / sizeof(empty_keys[0]); i++)
        if (!json_object_get(config, empty_keys[i]))
            json_object_set_new(config, empty_keys[i], json_string(""));
    if (!json_object_get(config, "Image"))
        json_object_set_new(config, "Image", json_string(c->image_ref ? c->image_ref : c->image_id));
    static const char *const null_keys[] = {"Env", "Cmd", "Entrypoint", "Volumes", "OnBuild", "ExposedPorts"};
    for (size_t i = 0; i < sizeof(null_keys) / sizeof(null_keys[0]); i++)
        if (!json_object_get(config, null_keys[i]))
            json_object_set_new(config, null_keys[i], json_null());
    json_t *host = json_deep_copy(json_object_get(c->config, "HostConfig"));
    if (!json_is_object(host))
        host = json_object();
    return json_pack("{s:s,s:o,s:o,s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:o,s:{s:s,s:{s:s,s:s,s:s}},"
                     "s:o,s:o,s:o}",
                     "Id", c->id, "Created", time_json(c->created), "Path", path, "Args", argv, "State",
                     state, "Image", c->image_id, "ResolvConfPath", resolv, "HostnamePath", hostname,
                     "HostsPath", hosts, "LogPath", log, "Name", name, "RestartCount", c->restart_count,
                     "Driver", "overlay2", "Platform", "linux", "HostConfig", host, "GraphDriver", "Name",
                     "overlay2", "Data", "MergedDir", merged, "UpperDir", upper, "WorkDir", work, "Mounts",
                     servin_volume_mounts_json(c), "Config", config, "NetworkSettings",
                     servin_network_settings_json(store, c));
}
