/* runtime/runtime_cgroup.c — the lifecycle's view of cgroups, over the cgroup layer. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_cgroup.h"
#include "servin/cgroup.h"
#include "servin/cleanup.h"

static int reopen(const char *path, struct servin_cgroup **cg, struct servin_error *err)
{
    json_error_t jerr;
    json_t *j = json_loads(path, 0, &jerr);
    if (!j)
        return servin_error_set(err, EINVAL, "container cgroup record is unreadable: %s", jerr.text);
    int ret = servin_cgroup_from_json(j, cg, err);
    json_decref(j);
    return ret;
}

/* Like runc, the devices every container gets (null, zero, full, tty, random, urandom, the console,
 * ptmx and its pts) stay usable whatever deny rules the spec starts with; later rules win. */
static json_t *with_default_devices(json_t *resources)
{
    static const struct {
        long long major, minor;
    } defaults[] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {136, -1}};
    json_t *copy = json_deep_copy(resources);
    json_t *devices = json_object_get(copy, "devices");
    if (!json_is_array(devices))
        return copy;
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        json_t *rule = json_pack("{s:b,s:s,s:I,s:s}", "allow", 1, "type", "c", "major", (json_int_t)defaults[i].major,
                                 "access", "rwm");
        if (defaults[i].minor >= 0)
            json_object_set_new(rule, "minor", json_integer(defaults[i].minor));
        json_array_append_new(devices, rule);
    }
    return copy;
}

int oci_cgroup_enter(const char *id, json_t *linux_obj, pid_t pid, char **path_out, struct servin_error *err)
{
    struct servin_cgroup_system *sys = NULL;
    struct servin_cgroup *cg = NULL;
    int ret = servin_cgroup_system_detect(&sys, err);
    if (ret < 0)
        return ret;
    ret = servin_cgroup_create(sys, json_string_value(json_object_get(linux_obj, "cgroupsPath")), id, &cg, err);
    servin_cgroup_system_free(sys);
    if (ret < 0)
        return ret;
    json_t *j = servin_cgroup_to_json(cg);
    *path_out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    json_t *resources = with_default_devices(json_object_get(linux_obj, "resources"));
    ret = servin_cgroup_set_resources(cg, resources, err);
    json_decref(resources);
    if (ret == 0)
        ret = servin_cgroup_add_pid(cg, pid, err);
    servin_cgroup_free(cg);
    return ret;
}

int oci_cgroup_open(const char *path, struct servin_cgroup **out, struct servin_error *err)
{
    return reopen(path, out, err);
}

int oci_cgroup_destroy(const char *path, struct servin_error *err)
{
    struct servin_cgroup *cg = NULL;
    int ret = reopen(path, &cg, err);
    if (ret < 0)
        return ret;
    ret = servin_cgroup_destroy(cg, err);
    servin_cgroup_free(cg);
    return ret;
}

bool oci_cgroup_is_frozen(const char *path)
{
    struct servin_cgroup *cg = NULL;
    struct servin_error err = {0};
    bool frozen = false;
    if (!path || reopen(path, &cg, &err) < 0)
        return false;
    servin_cgroup_is_frozen(cg, &frozen, &err);
    servin_cgroup_free(cg);
    return frozen;
}

int oci_cgroup_freeze(const char *path, bool frozen, struct servin_error *err)
{
    struct servin_cgroup *cg = NULL;
    int ret = reopen(path, &cg, err);
    if (ret < 0)
        return ret;
    ret = frozen ? servin_cgroup_freeze(cg, err) : servin_cgroup_thaw(cg, err);
    servin_cgroup_free(cg);
    return ret;
}

int oci_cgroup_pids(const char *path, pid_t **pids, size_t *n, struct servin_error *err)
{
    struct servin_cgroup *cg = NULL;
    int ret = reopen(path, &cg, err);
    if (ret < 0)
        return ret;
    ret = servin_cgroup_pids(cg, pids, n, err);
    servin_cgroup_free(cg);
    return ret;
}

int oci_cgroup_signal_all(const char *path, int sig, struct servin_error *err)
{
    struct servin_cgroup *cg = NULL;
    int ret = reopen(path, &cg, err);
    if (ret < 0)
        return ret;
    if (sig == SIGKILL) {
        ret = servin_cgroup_kill_all(cg, err);
    } else {
        pid_t *pids = NULL;
        size_t n = 0;
        ret = servin_cgroup_pids(cg, &pids, &n, err);
        for (size_t i = 0; ret == 0 && i < n; i++)
            kill(pids[i], sig);
        free(pids);
    }
    servin_cgroup_free(cg);
    return ret;
}
