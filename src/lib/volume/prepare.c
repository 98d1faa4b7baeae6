/* volume/prepare.c — a new container's mounts: -v, --mount, --volumes-from and the image's VOLUME
 * entries resolved into volumes, links and OCI mounts entries (the container's "MountPoints"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/fs.h"
#include "volume/volume_internal.h"

/* A plan is a JSON object: Type (volume|bind|tmpfs), Name (volume; absent = new anonymous),
 * Source (bind), Destination, RW, Mode, Propagation, CreateSource (bind: -v creates a missing host
 * path), NoCopy, Labels, DriverOpts, TmpfsOptions {SizeBytes, Mode}, From (a MountPoint taken
 * over from --volumes-from). */

/* "/a//b/" -> "/a/b"; NULL when the path is not absolute or is the root itself. */
static char *clean_dest(const char *path)
{
    if (!path || path[0] != '/')
        return NULL;
    char *out = xmalloc(strlen(path) + 1);
    size_t n = 0;
    for (const char *p = path; *p; p++) {
        if (*p == '/' && n > 0 && out[n - 1] == '/')
            continue;
        out[n++] = *p;
    }
    while (n > 1 && out[n - 1] == '/')
        n--;
    out[n] = '\0';
    if (strcmp(out, "/") == 0) {
        free(out);
        return NULL;
    }
    return out;
}

static bool planned(json_t *plans, const char *dest)
{
    size_t i;
    json_t *p;
    json_array_foreach (plans, i, p) {
        if (strcmp(json_string_value(json_object_get(p, "Destination")), dest) == 0)
            return true;
    }
    return false;
}

static bool is_propagation(const char *o)
{
    static const char *const modes[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave"};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(o, modes[i]) == 0)
            return true;
    return false;
}

static int add_plan(json_t *plans, json_t *plan, const char *what, struct servin_error *err)
{
    const char *dest = json_string_value(json_object_get(plan, "Destination"));
    if (planned(plans, dest)) {
        servin_error_set(err, EINVAL, "invalid %s: duplicate mount point %s", what, dest);
        json_decref(plan);
        return -EINVAL;
    }
    json_array_append_new(plans, plan);
    return 0;
}

/* "name:/d[:opts]", "/host:/d[:opts]", or "/d" (anonymous). */
static int plan_bind(json_t *plans, const char *bind, struct servin_error *err)
{
    _cleanup_free_ char *copy = xstrdup(bind);
    char *parts[4] = {0};
    size_t n = 0;
    for (char *p = copy, *colon; p && n < 4; p = colon ? colon + 1 : NULL) {
        colon = strchr(p, ':');
        if (colon)
            *colon = '\0';
        parts[n++] = p;
        if (!colon)
            break;
    }
    if (n == 0 || n > 3 || !parts[0][0] || (n > 1 && !parts[1][0]))
        return servin_error_set(
            err, EINVAL, "invalid volume \"%s\": expected [NAME|/host/path:]/container/path[:ro|rw]", bind);
    const char *src = n == 1 ? NULL : parts[0];
    _cleanup_free_ char *dest = clean_dest(n == 1 ? parts[0] : parts[1]);
    if (!dest)
        return servin_error_set(
            err, EINVAL, "invalid volume \"%s\": the container path must be absolute and not \"/\"", bind);
    json_t *plan = json_pack("{s:s,s:b,s:s}", "Destination", dest, "RW", 1, "Mode", n == 3 ? parts[2] : "");
    bool nocopy = false;
    _cleanup_free_ char *prop = NULL;
    for (char *save = NULL, *o = n == 3 ? strtok_r(parts[2], ",", &save) : NULL; o;
         o = strtok_r(NULL, ",", &save)) {
        if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0)
            json_object_set_new(plan, "RW", json_boolean(strcmp(o, "rw") == 0));
        else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0)
            continue; /* SELinux relabelling: no SELinux here */
        else if (strcmp(o, "nocopy") == 0)
            nocopy = true;
        else if (is_propagation(o)) {
            free(prop);
            prop = xstrdup(o);
        } else {
            json_decref(plan);
            return servin_error_set(err, EINVAL, "invalid volume \"%s\": unknown option \"%s\"", bind, o);
        }
    }
    if (src && src[0] == '/') {
        json_object_set_new(plan, "Type", json_string("bind"));
        json_object_set_new(plan, "Source", json_string(src));
        json_object_set_new(plan, "Propagation", json_string(prop ? prop : "rprivate"));
        json_object_set_new(plan, "CreateSource", json_true());
    } else {
        if (prop) {
            json_decref(plan);
            return servin_error_set(err, EINVAL,
                                    "invalid volume \"%s\": propagation applies to bind mounts only", bind);
        }
        if (src && !servin_volume_name_valid(src)) {
            json_decref(plan);
            return servin_error_set(
                err, EINVAL,
                "invalid volume \"%s\": \"%s\" is neither an absolute host path nor a volume "
                "name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)",
                bind, src);
        }
        json_object_set_new(plan, "Type", json_string("volume"));
        if (src)
            json_object_set_new(plan, "Name", json_string(src));
        json_object_set_new(plan, "NoCopy", json_boolean(nocopy));
    }
    return add_plan(plans, plan, "volume", err);
}

/* One Docker API Mounts entry. */
static int plan_mount(json_t *plans, json_t *m, struct servin_error *err)
{
    const char *type = json_string_value(json_object_get(m, "Type"));
    const char *src = json_string_value(json_object_get(m, "Source"));
    const char *target = json_string_value(json_object_get(m, "Target"));
    if (src && !*src)
        src = NULL;
    if (!type || (strcmp(type, "volume") != 0 && strcmp(type, "bind") != 0 && strcmp(type, "tmpfs") != 0))
        return servin_error_set(err, EINVAL, "invalid mount: type \"%s\" is not volume, bind or tmpfs",
                                type ? type : "");
    _cleanup_free_ char *dest = clean_dest(target);
    if (!dest)
        return servin_error_set(err, EINVAL,
                                "invalid mount config for type \"%s\": the target \"%s\" must be an "
                                "absolute path other than \"/\"",
                                type, target ? target : "");
    bool ro = json_is_true(json_object_get(m, "ReadOnly"));
    json_t *plan = json_pack("{s:s,s:s,s:b,s:s}", "Type", type, "Destination", dest, "RW", !ro, "Mode", "");
    if (strcmp(type, "bind") == 0) {
        json_t *bo = json_object_get(m, "BindOptions");
        const char *prop = json_string_value(json_object_get(bo, "Propagation"));
        struct stat st;
        if (!src || src[0] != '/') {
            json_decref(plan);
            return servin_error_set(err, EINVAL,
                                    "invalid mount config for type \"bind\": the source \"%s\" must be "
                                    "an absolute host path",
                                    src ? src : "");
        }
        if (prop && !is_propagation(prop)) {
            json_decref(plan);
            return servin_error_set(err, EINVAL,
                                    "invalid mount config for type \"bind\": unknown propagation "
                                    "\"%s\"",
                                    prop);
        }
        bool create = json_is_true(json_object_get(bo, "CreateMountpoint"));
        if (!create && stat(src, &st) < 0) {
            json_decref(plan);
            return servin_error_set(err, ENOENT,
                                    "invalid mount config for type \"bind\": bind source path does "
                                    "not exist: %s",
                                    src);
        }
        json_object_set_new(plan, "Source", json_string(src));
        json_object_set_new(plan, "Propagation", json_string(prop ? prop : "rprivate"));
        json_object_set_new(plan, "CreateSource", json_boolean(create));
    } else if (strcmp(type, "volume") == 0) {
        json_t *vo = json_object_get(m, "VolumeOptions");
        const char *driver = json_string_value(json_object_get(json_object_get(vo, "DriverConfig"), "Name"));
        json_t *opts = json_object_get(json_object_get(vo, "DriverConfig"), "Options");
        if (src && !servin_volume_name_valid(src)) {
            json_decref(plan);
            return servin_error_set(err, EINVAL,
                                    "invalid mount config for type \"volume\": invalid volume name "
                                    "\"%s\"",
                                    src);
        }
        if (driver && *driver && strcmp(driver, "local") != 0) {
            json_decref(plan);
            return servin_error_set(err, EINVAL, "volume driver \"%s\" is not supported: only local is",
                                    driver);
        }
        if (json_is_object(opts) && vol_check_options(opts, err) < 0) {
            json_decref(plan);
            return servin_error_wrap(err, "invalid mount config for type \"volume\"");
        }
        if (src)
            json_object_set_new(plan, "Name", json_string(src));
        json_object_set_new(plan, "NoCopy", json_boolean(json_is_true(json_object_get(vo, "NoCopy"))));
        if (json_is_object(json_object_get(vo, "Labels")))
            json_object_set(plan, "Labels", json_object_get(vo, "Labels"));
        if (json_is_object(opts))
            json_object_set(plan, "DriverOpts", opts);
    } else {
        if (src) {
            json_decref(plan);
            return servin_error_set(err, EINVAL,
                                    "invalid mount config for type \"tmpfs\": it takes no source");
        }
        if (json_is_object(json_object_get(m, "TmpfsOptions")))
            json_object_set(plan, "TmpfsOptions", json_object_get(m, "TmpfsOptions"));
    }
    return add_plan(plans, plan, "mount", err);
}

/* "ctr[:ro|rw]": the other container's mounts, at the same places, unless we mount something
 * there ourselves. */
static int plan_volumes_from(struct servin_store *store, json_t *plans, const char *text,
                             struct servin_error *err)
{
    _cleanup_free_ char *copy = xstrdup(text);
    char *mode = strchr(copy, ':');
    if (mode)
        *mode++ = '\0';
    if (mode && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
        return servin_error_set(err, EINVAL, "invalid --volumes-from \"%s\": the mode must be ro or rw",
                                text);
    struct servin_container other = {0};
    int ret = servin_container_get(store, copy, &other, err);
    if (ret < 0)
        return servin_error_wrap(err, "--volumes-from");
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(other.config, "MountPoints"), i, p) {
        const char *dest = json_string_value(json_object_get(p, "Destination"));
        const char *type = json_string_value(json_object_get(p, "Type"));
        if (!dest || !type || strcmp(type, "tmpfs") == 0 || planned(plans, dest))
            continue;
        bool rw = mode ? strcmp(mode, "rw") == 0 : json_is_true(json_object_get(p, "RW"));
        json_t *plan = json_pack("{s:s,s:s,s:b,s:O}", "Type", type, "Destination", dest, "RW", rw, "From", p);
        json_array_append_new(plans, plan);
    }
    servin_container_clear(&other);
    return 0;
}

static json_t *oci_options(const char *base, bool rw, const char *extra)
{
    json_t *a = json_array();
    _cleanup_free_ char *all =
        xasprintf("%s%s%s%s", base, rw ? "" : ",ro", extra && *extra ? "," : "", extra ? extra : "");
    for (char *save = NULL, *o = strtok_r(all, ",", &save); o; o = strtok_r(NULL, ",", &save))
        json_array_append_new(a, json_string(o));
    return a;
}

static json_t *oci_entry(const char *dest, const char *type, const char *source, json_t *options)
{
    return json_pack("{s:s,s:s,s:s,s:o}", "destination", dest, "type", type, "source", source, "options",
                     options);
}

/* The MountPoint of a volume at dest. */
static json_t *volume_point(const struct servin_volume *v, const char *dest, bool rw, const char *mode)
{
    const char *type = json_string_value(json_object_get(v->options, "type"));
    const char *device = json_string_value(json_object_get(v->options, "device"));
    const char *o = json_string_value(json_object_get(v->options, "o"));
    json_t *spec;
    if (type && strcmp(type, "tmpfs") == 0)
        spec = oci_entry(dest, "tmpfs", "tmpfs", oci_options("nosuid,nodev", rw, o));
    else if (type && device)
        spec = oci_entry(dest, "bind", device, oci_options("rbind", rw, "rprivate"));
    else
        spec = oci_entry(dest, "bind", v->mountpoint, oci_options("rbind", rw, "rprivate"));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:o}", "Type", "volume", "Name", v->name, "Source",
                     v->mountpoint, "Destination", dest, "Driver", v->driver, "Mode", mode, "RW", rw,
                     "Propagation", "", "Spec", spec);
}

static json_t *bind_point(json_t *plan)
{
    const char *src = json_string_value(json_object_get(plan, "Source"));
    const char *dest = json_string_value(json_object_get(plan, "Destination"));
    const char *prop = json_string_value(json_object_get(plan, "Propagation"));
    bool rw = json_is_true(json_object_get(plan, "RW"));
    json_t *spec = oci_entry(dest, "bind", src, oci_options("rbind", rw, prop));
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:o}", "Type", "bind", "Source", src, "Destination", dest,
                     "Mode", json_string_value(json_object_get(plan, "Mode")) ?: "", "RW", rw, "Propagation",
                     prop, "Spec", spec);
}

static json_t *tmpfs_point(json_t *plan)
{
    const char *dest = json_string_value(json_object_get(plan, "Destination"));
    bool rw = json_is_true(json_object_get(plan, "RW"));
    json_t *to = json_object_get(plan, "TmpfsOptions");
    _cleanup_free_ char *extra = xstrdup("");
    if (json_integer_value(json_object_get(to, "SizeBytes")) > 0) {
        char *next = xasprintf("size=%lld", (long long)json_integer_value(json_object_get(to, "SizeBytes")));
        free(extra);
        extra = next;
    }
    if (json_object_get(to, "Mode")) {
        char *next = xasprintf("%s%smode=%llo", extra, *extra ? "," : "",
                               (unsigned long long)json_integer_value(json_object_get(to, "Mode")));
        free(extra);
        extra = next;
    }
    json_t *spec = oci_entry(dest, "tmpfs", "tmpfs", oci_options("nosuid,nodev,noexec", rw, extra));
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:o}", "Type", "tmpfs", "Source", "", "Destination", dest,
                     "Mode", "", "RW", rw, "Propagation", "", "Spec", spec);
}

/* A point taken over from another container, with our own read-only flag. */
static json_t *from_point(json_t *plan)
{
    json_t *p = json_deep_copy(json_object_get(plan, "From"));
    bool rw = json_is_true(json_object_get(plan, "RW"));
    json_object_set_new(p, "RW", json_boolean(rw));
    json_t *spec = json_object_get(p, "Spec");
    json_t *opts = json_array();
    size_t i;
    json_t *o;
    json_array_foreach (json_object_get(spec, "options"), i, o) {
        const char *s = json_string_value(o);
        if (s && strcmp(s, "ro") != 0 && strcmp(s, "rw") != 0)
            json_array_append(opts, o);
    }
    if (!rw)
        json_array_append_new(opts, json_string("ro"));
    json_object_set_new(spec, "options", opts);
    return p;
}

static int depth_of(json_t *point)
{
    int n = 0;
    for (const char *s = json_string_value(json_object_get(point, "Destination")); s && *s; s++)
        n += *s == '/';
    return n;
}

/* Parents before children, so that /data/sub mounts on top of /data, not under it. */
static void sort_points(json_t *points)
{
    size_t n = json_array_size(points);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i;
             j > 0 && depth_of(json_array_get(points, j - 1)) > depth_of(json_array_get(points, j)); j--) {
            json_t *a = json_incref(json_array_get(points, j - 1));
            json_array_set(points, j - 1, json_array_get(points, j));
            json_array_set_new(points, j, a);
        }
}

static int link_volume(struct servin_store *store, const char *id, const char *name, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(
        store, "INSERT OR IGNORE INTO container_volumes (container_id, volume) VALUES (?, ?)", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "link the volume to its container");
    return 0;
}

static int save_config(struct servin_store *store, const struct servin_container *c, struct servin_error *err)
{
    _cleanup_free_ char *text = json_dumps(c->config, JSON_COMPACT);
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(store, "UPDATE containers SET config = ? WHERE id = ?", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, c->id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "save the container's mounts");
    return 0;
}

static void strv_push(char ***v, size_t *n, const char *s)
{
    *v = xreallocarray(*v, *n + 2, sizeof(char *));
    (*v)[(*n)++] = xstrdup(s);
    (*v)[*n] = NULL;
}

/* In one transaction: every volume made or found and linked, and the MountPoints saved. *made
 * lists the volumes this call created. */
static int resolve_locked(struct servin_store *store, struct servin_container *c, json_t *plans,
                          json_t *points, char ***made, size_t *n_made, struct servin_error *err)
{
    size_t i;
    json_t *plan;
    json_array_foreach (plans, i, plan) {
        const char *type = json_string_value(json_object_get(plan, "Type"));
        const char *dest = json_string_value(json_object_get(plan, "Destination"));
        bool rw = json_is_true(json_object_get(plan, "RW"));
        json_t *from = json_object_get(plan, "From");
        int ret = 0;
        if (from) {
            const char *name = json_string_value(json_object_get(from, "Name"));
            if (name) {
                struct servin_volume v = {0};
                ret = servin_volume_get(store, name, &v, err);
                servin_volume_clear(&v);
                if (ret == 0)
                    ret = link_volume(store, c->id, name, err);
            }
            if (ret == 0)
                json_array_append_new(points, from_point(plan));
        } else if (strcmp(type, "volume") == 0) {
            struct servin_volume_create_opts opts = {
                .name = json_string_value(json_object_get(plan, "Name")),
                .labels = json_object_get(plan, "Labels"),
                .options = json_object_get(plan, "DriverOpts"),
                .anonymous = !json_object_get(plan, "Name"),
            };
            struct servin_volume v = {0};
            bool created = false;
            ret = vol_create_locked(store, &opts, &v, &created, err);
            if (ret == 0 && created)
                strv_push(made, n_made, v.name);
            if (ret == 0)
                ret = link_volume(store, c->id, v.name, err);
            if (ret == 0) {
                json_t *point =
                    volume_point(&v, dest, rw, json_string_value(json_object_get(plan, "Mode")) ?: "");
                if (json_is_true(json_object_get(plan, "NoCopy")))
                    json_object_set_new(point, "NoCopy", json_true());
                json_array_append_new(points, point);
            }
            servin_volume_clear(&v);
        } else if (strcmp(type, "bind") == 0) {
            json_array_append_new(points, bind_point(plan));
        } else {
            json_array_append_new(points, tmpfs_point(plan));
        }
        if (ret < 0)
            return servin_error_wrap(err, "mount on %s", dest);
    }
    sort_points(points);
    json_object_set(c->config, "MountPoints", points);
    return save_config(store, c, err);
}

/* Copy-up into each plain volume that is still empty, under a lock per volume so that two
 * containers created at once with a new volume do not both fill it. */
static int copy_up_all(struct servin_store *store, struct servin_container *c, json_t *points,
                       struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    struct stat st, dst;
    if (stat(merged, &st) < 0 || stat(dir, &dst) < 0 || st.st_dev == dst.st_dev)
        return 0; /* not mounted: there is no image content to copy */
    _cleanup_close_ int root = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return servin_error_errno(err, errno, "open %s", merged);
    size_t i;
    json_t *p;
    json_array_foreach (points, i, p) {
        const char *name = json_string_value(json_object_get(p, "Name"));
        const char *spec_src = json_string_value(json_object_get(json_object_get(p, "Spec"), "source"));
        const char *src = json_string_value(json_object_get(p, "Source"));
        if (!name || json_is_true(json_object_get(p, "NoCopy")) || !src || !spec_src ||
            strcmp(src, spec_src) != 0)
            continue;
        _cleanup_free_ char *lock_name = xasprintf("volume-%s", name);
        _cleanup_close_ int lock = -1;
        int ret = servin_store_lock(store, lock_name, SERVIN_LOCK_EXCLUSIVE, &lock, err);
        if (ret == 0 && vol_dir_empty(src))
            ret = vol_copy_up(root, json_string_value(json_object_get(p, "Destination")), src, err);
        if (ret < 0)
            return servin_error_wrap(err, "fill volume %s", name);
    }
    return 0;
}

static int unlink_all(struct servin_store *store, const char *id, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(store, "DELETE FROM container_volumes WHERE container_id = ?", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    return rc == SQLITE_DONE ? 0 : servin_store_sqlite_error(store, rc, err, "unlink volumes");
}

static int plan_all(struct servin_store *store, json_t *cfg, json_t *hc, json_t *plans,
                    struct servin_error *err)
{
    size_t i;
    json_t *v;
    int ret = 0;
    json_array_foreach (json_object_get(hc, "Binds"), i, v) {
        if (!json_is_string(v))
            return servin_error_set(err, EINVAL, "Binds must list \"source:destination[:options]\" strings");
        if ((ret = plan_bind(plans, json_string_value(v), err)) < 0)
            return ret;
    }
    json_array_foreach (json_object_get(hc, "Mounts"), i, v) {
        if ((ret = plan_mount(plans, v, err)) < 0)
            return ret;
    }
    const char *dest;
    json_object_foreach (json_object_get(hc, "Tmpfs"), dest, v) {
        _cleanup_free_ char *clean = clean_dest(dest);
        if (clean && planned(plans, clean))
            return servin_error_set(err, EINVAL, "invalid tmpfs: duplicate mount point %s", clean);
    }
    json_array_foreach (json_object_get(hc, "VolumesFrom"), i, v) {
        if (!json_is_string(v))
            return servin_error_set(err, EINVAL, "VolumesFrom must list container names");
        if ((ret = plan_volumes_from(store, plans, json_string_value(v), err)) < 0)
            return ret;
    }
    /* The image's VOLUME entries (and `-v /path`): an anonymous volume each, unless a mount of
     * the user's own or a tmpfs covers the place. */
    json_object_foreach (json_object_get(cfg, "Volumes"), dest, v) {
        _cleanup_free_ char *clean = clean_dest(dest);
        if (!clean)
            return servin_error_set(err, EINVAL,
                                    "invalid volume \"%s\": the path must be absolute and not \"/\"", dest);
        if (planned(plans, clean) || json_object_get(json_object_get(hc, "Tmpfs"), clean) ||
            json_object_get(json_object_get(hc, "Tmpfs"), dest))
            continue;
        json_array_append_new(plans, json_pack("{s:s,s:s,s:b,s:s}", "Type", "volume", "Destination", clean,
                                               "RW", 1, "Mode", ""));
    }
    /* -v creates a missing host directory, as Docker does; --mount refused it above. */
    json_array_foreach (plans, i, v) {
        const char *src = json_string_value(json_object_get(v, "Source"));
        if (json_is_true(json_object_get(v, "CreateSource")) && access(src, F_OK) < 0 &&
            servin_mkdir_p(src, 0755, err) < 0)
            return servin_error_wrap(err, "create the host directory %s", src);
    }
    return 0;
}

int servin_volume_prepare_container(struct servin_store *store, struct servin_container *c,
                                    struct servin_error *err)
{
    json_t *cfg = json_object_get(c->config, "Config");
    json_t *hc = json_object_get(c->config, "HostConfig");
    json_t *plans = json_array();
    int ret = plan_all(store, cfg, hc, plans, err);
    if (ret < 0 || json_array_size(plans) == 0) {
        json_decref(plans);
        return ret;
    }
    json_t *points = json_array();
    _cleanup_strv_ char **made = NULL;
    size_t n_made = 0;
    ret = servin_store_begin(store, err);
    if (ret == 0) {
        ret = resolve_locked(store, c, plans, points, &made, &n_made, err);
        if (ret == 0)
            ret = servin_store_commit(store, err);
        if (ret < 0)
            servin_store_rollback(store);
    }
    json_decref(plans);
    if (ret < 0) {
        /* The rollback dropped the rows; directories made inside it go too. */
        for (size_t i = 0; i < n_made; i++) {
            _cleanup_free_ char *d = vol_dir(store, made[i]);
            struct servin_error ignored = {0};
            servin_rm_rf(d, &ignored);
        }
        json_object_del(c->config, "MountPoints");
        json_decref(points);
        return ret;
    }
    ret = copy_up_all(store, c, points, err);
    json_decref(points);
    if (ret < 0) {
        struct servin_error ignored = {0};
        if (servin_store_begin(store, &ignored) == 0) {
            if (unlink_all(store, c->id, &ignored) == 0)
                servin_store_commit(store, &ignored);
            else
                servin_store_rollback(store);
        }
        servin_volume_remove_unused(store, made);
    }
    return ret;
}

json_t *servin_volume_mounts_json(const struct servin_container *c)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(c->config, "MountPoints"), i, p) {
        json_t *m = json_deep_copy(p);
        json_object_del(m, "Spec");
        json_object_del(m, "NoCopy");
        json_array_append_new(out, m);
    }
    return out;
}
