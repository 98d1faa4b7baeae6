/* container/spec_linux.c — the namespaces, extra devices and cgroup path of the spec, from Docker's
 * NetworkMode, PidMode, IpcMode, UTSMode, Devices and CgroupParent.
 *
 * Besides Docker's "host" and "container:<name|id>", each mode accepts Podman's "ns:<path>": join
 * the namespace file at path. That is how a container joins the namespaces pinned by its pod. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/spec_internal.h"
#include "servin/cleanup.h"

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : NULL;
}

/* The /proc/<pid>/ns/<type> of a running container named by text. */
static int container_ns(struct servin_store *store, const struct servin_container *self, const char *text,
                        const char *type, const char *what, char **out, struct servin_error *err)
{
    struct servin_container other = {0};
    int ret = servin_container_get(store, text, &other, err);
    if (ret < 0)
        return servin_error_wrap(err, "invalid %s container:%s", what, text);
    servin_container_reconcile(store, &other, err);
    servin_error_clear(err);
    if (strcmp(other.id, self->id) == 0)
        ret = servin_error_set(err, EINVAL, "invalid %s container:%s: a container cannot join itself", what,
                               text);
    else if (other.state != SERVIN_CONTAINER_RUNNING || other.pid <= 0)
        ret = servin_error_set(err, EINVAL, "invalid %s container:%s: the container is not running", what,
                               text);
    else
        *out = xasprintf("/proc/%d/ns/%s", (int)other.pid, type);
    servin_container_clear(&other);
    return ret;
}

/* One of pid, ipc, uts from its mode: *path NULL and *own true for a namespace of its own. */
static int mode_namespace(struct servin_store *store, const struct servin_container *c, const char *mode,
                          const char *type, const char *what, char **path, bool *own,
                          struct servin_error *err)
{
    *path = NULL;
    *own = true;
    if (!mode || strcmp(mode, "private") == 0 || strcmp(mode, "shareable") == 0 || strcmp(mode, "") == 0)
        return 0;
    if (strcmp(mode, "host") == 0) {
        *own = false;
        return 0;
    }
    if (strncmp(mode, "ns:", 3) == 0) {
        if (mode[3] != '/')
            return servin_error_set(err, EINVAL, "invalid %s %s: the namespace path must be absolute", what,
                                    mode);
        if (access(mode + 3, F_OK) < 0)
            return servin_error_errno(err, errno, "invalid %s %s", what, mode);
        *path = xstrdup(mode + 3);
        return 0;
    }
    if (strncmp(mode, "container:", 10) == 0)
        return container_ns(store, c, mode + 10, type, what, path, err);
    return servin_error_set(
        err, EINVAL, "invalid %s \"%s\": expected host, private, container:<name> or ns:<path>", what, mode);
}

int ctr_namespaces(struct servin_store *store, const struct servin_container *c, json_t *hc,
                   const char *netns, bool host_network, json_t **out, bool *own_uts,
                   struct servin_error *err)
{
    static const struct {
        const char *type, *key, *what;
    } modes[] = {{"pid", "PidMode", "--pid"}, {"ipc", "IpcMode", "--ipc"}, {"uts", "UTSMode", "--uts"}};
    json_t *ns = json_array();
    *own_uts = true;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        _cleanup_free_ char *path = NULL;
        bool own;
        int ret =
            mode_namespace(store, c, str(hc, modes[i].key), modes[i].type, modes[i].what, &path, &own, err);
        if (ret < 0) {
            json_decref(ns);
            return ret;
        }
        if (strcmp(modes[i].type, "uts") == 0)
            *own_uts = own && !path;
        if (path)
            json_array_append_new(ns, json_pack("{s:s,s:s}", "type", modes[i].type, "path", path));
        else if (own)
            json_array_append_new(ns, json_pack("{s:s}", "type", modes[i].type));
    }
    json_array_append_new(ns, json_pack("{s:s}", "type", "mount"));
    json_array_append_new(ns, json_pack("{s:s}", "type", "cgroup"));
    if (netns)
        json_array_append_new(ns, json_pack("{s:s,s:s}", "type", "network", "path", netns));
    else if (!host_network)
        json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
    *out = ns;
    return 0;
}

int ctr_devices(json_t *hc, json_t *linux_devices, json_t *allow, struct servin_error *err)
{
    size_t i;
    json_t *d;
    json_array_foreach (json_object_get(hc, "Devices"), i, d) {
        const char *host = str(d, "PathOnHost");
        const char *ctr = str(d, "PathInContainer") ?: host;
        const char *perms = str(d, "CgroupPermissions") ?: "rwm";
        if (!host || host[0] != '/' || ctr[0] != '/')
            return servin_error_set(err, EINVAL, "invalid device \"%s\": the paths must be absolute",
                                    host ? host : "");
        if (strspn(perms, "rwm") != strlen(perms))
            return servin_error_set(
                err, EINVAL, "invalid device %s: permissions \"%s\" are not a mix of r, w, m", host, perms);
        struct stat st;
        if (stat(host, &st) < 0)
            return servin_error_errno(err, errno, "invalid device %s", host);
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
            return servin_error_set(err, EINVAL, "invalid device %s: not a character or block device", host);
        const char *type = S_ISCHR(st.st_mode) ? "c" : "b";
        json_int_t maj = (json_int_t)major(st.st_rdev), min = (json_int_t)minor(st.st_rdev);
        json_array_append_new(linux_devices,
                              json_pack("{s:s,s:s,s:I,s:I,s:i,s:i,s:i}", "path", ctr, "type", type, "major",
                                        maj, "minor", min, "fileMode", (int)(st.st_mode & 07777), "uid",
                                        (int)st.st_uid, "gid", (int)st.st_gid));
        json_array_append_new(allow, json_pack("{s:b,s:s,s:I,s:I,s:s}", "allow", 1, "type", type, "major",
                                               maj, "minor", min, "access", perms));
    }
    return 0;
}

int ctr_cgroups_path(const struct servin_container *c, json_t *hc, char **out, struct servin_error *err)
{
    const char *parent = str(hc, "CgroupParent");
    if (!parent) {
        *out = xasprintf("servin/%s", c->id);
        return 0;
    }
    if (strstr(parent, "..") || strchr(parent, ':'))
        return servin_error_set(err, EINVAL,
                                "invalid cgroup parent \"%s\": give a cgroupfs path without \"..\" (systemd "
                                "slices are not supported)",
                                parent);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/')
        n--;
    *out = xasprintf("%s%.*s/%s", parent[0] == '/' ? "" : "/", (int)n, parent, c->id);
    return 0;
}
