/* volume/volume.c — volume records and their directories: create, get, list, users, remove. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/events.h"
#include "servin/fs.h"
#include "servin/timefmt.h"
#include "volume/volume_internal.h"

#define COLUMNS "name, driver, created, labels, options, anonymous"

void servin_volume_clear(struct servin_volume *v)
{
    if (!v)
        return;
    free(v->name);
    free(v->driver);
    free(v->mountpoint);
    json_decref(v->labels);
    json_decref(v->options);
    memset(v, 0, sizeof(*v));
}

void servin_volumes_free(struct servin_volume *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        servin_volume_clear(&list[i]);
    free(list);
}

bool servin_volume_name_valid(const char *name)
{
    if (!name || strlen(name) < 2 || strlen(name) > 255)
        return false;
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
          (name[0] >= '0' && name[0] <= '9')))
        return false;
    for (const char *p = name + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '.' || *p == '-'))
            return false;
    return true;
}

char *vol_dir(struct servin_store *store, const char *name)
{
    return servin_store_path(store, "volumes/%s", name);
}

static json_t *json_column(sqlite3_stmt *stmt, int col)
{
    const char *text = (const char *)sqlite3_column_text(stmt, col);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(v)) {
        json_decref(v);
        v = json_object();
    }
    return v;
}

static void load_row(struct servin_store *store, sqlite3_stmt *stmt, struct servin_volume *v)
{
    memset(v, 0, sizeof(*v));
    v->name = xstrdup((const char *)sqlite3_column_text(stmt, 0));
    v->driver = xstrdup(sqlite3_column_text(stmt, 1) ? (const char *)sqlite3_column_text(stmt, 1) : "local");
    v->created = sqlite3_column_int64(stmt, 2);
    v->labels = json_column(stmt, 3);
    v->options = json_column(stmt, 4);
    v->anonymous = sqlite3_column_int(stmt, 5) != 0;
    v->mountpoint = servin_store_path(store, "volumes/%s/_data", v->name);
}

/* The local driver's options: type=tmpfs (o= size/mode/...), type=none with o=bind and an absolute
 * device, or no type at all. Anything else would be a mount we do not make: refuse it now. */
int vol_check_options(json_t *options, struct servin_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach (options, key, v) {
        if (strcmp(key, "type") != 0 && strcmp(key, "device") != 0 && strcmp(key, "o") != 0)
            return servin_error_set(err, EINVAL,
                                    "invalid option \"%s\": the local driver takes type, device and o", key);
        if (!json_is_string(v))
            return servin_error_set(err, EINVAL, "invalid option \"%s\": its value must be a string", key);
    }
    const char *type = json_string_value(json_object_get(options, "type"));
    const char *device = json_string_value(json_object_get(options, "device"));
    const char *o = json_string_value(json_object_get(options, "o"));
    if (!type) {
        if (device || (o && *o))
            return servin_error_set(err, EINVAL,
                                    "invalid options: device and o need a type (tmpfs, or none with o=bind)");
        return 0;
    }
    if (strcmp(type, "tmpfs") == 0)
        return 0;
    if (strcmp(type, "none") == 0 || strcmp(type, "bind") == 0) {
        if (!device || device[0] != '/')
            return servin_error_set(err, EINVAL,
                                    "invalid options: a bind volume needs device=/absolute/host/path");
        if (strcmp(type, "none") == 0 && (!o || !strstr(o, "bind")))
            return servin_error_set(err, EINVAL, "invalid options: type=none needs o=bind");
        struct stat st;
        if (stat(device, &st) < 0 || !S_ISDIR(st.st_mode))
            return servin_error_set(err, ENOENT, "invalid options: device %s is not an existing directory",
                                    device);
        return 0;
    }
    return servin_error_set(err, EINVAL,
                            "invalid option type=%s: the local driver supports tmpfs and none (bind)", type);
}

static void random_name(char out[65])
{
    unsigned char buf[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
        /* No randomness is unusual enough not to guard against collisions beyond the primary key. */
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (unsigned char)(rand() ^ getpid());
    }
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < sizeof(buf); i++)
        snprintf(out + 2 * i, 3, "%02x", buf[i]);
}

static int get_locked(struct servin_store *store, const char *name, struct servin_volume *out,
                      struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(store, "SELECT " COLUMNS " FROM volumes WHERE name = ?", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE)
        return servin_error_set(err, ENOENT, "no such volume: %s", name);
    if (rc != SQLITE_ROW)
        return servin_store_sqlite_error(store, rc, err, "read the volume record");
    load_row(store, stmt, out);
    return 0;
}

int servin_volume_get(struct servin_store *store, const char *name, struct servin_volume *out,
                      struct servin_error *err)
{
    memset(out, 0, sizeof(*out));
    return get_locked(store, name, out, err);
}

/* Inside the caller's transaction: the row, then the directory, so that a failed mkdir rolls the
 * row back with the rest. */
int vol_create_locked(struct servin_store *store, const struct servin_volume_create_opts *opts,
                      struct servin_volume *out, bool *created, struct servin_error *err)
{
    char generated[65];
    const char *name = opts->name;
    if (!name) {
        random_name(generated);
        name = generated;
    }
    int ret = get_locked(store, name, out, err);
    if (ret == 0) {
        const char *driver = opts->driver ? opts->driver : "local";
        if (strcmp(out->driver, driver) != 0) {
            ret = servin_error_set(err, EEXIST, "volume \"%s\" already exists with driver %s", name,
                                   out->driver);
            servin_volume_clear(out);
            return ret;
        }
        *created = false;
        return 0;
    }
    if (ret != -ENOENT)
        return ret;
    servin_error_clear(err);

    _cleanup_free_ char *labels = opts->labels ? json_dumps(opts->labels, JSON_COMPACT) : NULL;
    _cleanup_free_ char *options = opts->options ? json_dumps(opts->options, JSON_COMPACT) : NULL;
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    ret = servin_store_prepare(store,
                               "INSERT INTO volumes (name, driver, created, labels, options, anonymous) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, "local", -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, servin_time_now_ns());
    sqlite3_bind_text(stmt, 4, labels ? labels : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 5, options ? options : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 6, opts->anonymous ? 1 : 0);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "record the volume");

    /* A directory left by a crash between an earlier mkdir and its commit is empty or holds data
     * of a volume the database forgot; either way it becomes this volume's, never deleted here. */
    _cleanup_free_ char *data = servin_store_path(store, "volumes/%s/_data", name);
    ret = servin_mkdir_p(data, 0755, err);
    if (ret < 0)
        return servin_error_wrap(err, "create volume %s", name);
    ret = get_locked(store, name, out, err);
    if (ret == 0)
        *created = true;
    return ret;
}

int servin_volume_create(struct servin_store *store, const struct servin_volume_create_opts *opts,
                         struct servin_volume *out, bool *created, struct servin_error *err)
{
    memset(out, 0, sizeof(*out));
    *created = false;
    if (opts->name && !servin_volume_name_valid(opts->name))
        return servin_error_set(err, EINVAL,
                                "invalid volume name \"%s\": names must be two or more of [a-zA-Z0-9_.-], "
                                "starting with a letter or digit",
                                opts->name);
    if (opts->driver && strcmp(opts->driver, "local") != 0)
        return servin_error_set(err, EINVAL, "volume driver \"%s\" is not supported: only local is",
                                opts->driver);
    if (opts->labels && !json_is_object(opts->labels))
        return servin_error_set(err, EINVAL, "volume labels must be an object");
    if (opts->options && !json_is_object(opts->options))
        return servin_error_set(err, EINVAL, "volume options must be an object");
    int ret = opts->options ? vol_check_options(opts->options, err) : 0;
    if (ret < 0)
        return servin_error_wrap(err, "create volume %s", opts->name ? opts->name : "");
    ret = servin_store_begin(store, err);
    if (ret < 0)
        return ret;
    ret = vol_create_locked(store, opts, out, created, err);
    if (ret == 0)
        ret = servin_store_commit(store, err);
    if (ret < 0) {
        servin_store_rollback(store);
        servin_volume_clear(out);
        *created = false;
    } else if (*created)
        servin_event_emit(store, "volume", "create", out->name, json_pack("{s:s}", "driver", out->driver));
    return ret;
}

int servin_volume_list(struct servin_store *store, struct servin_volume **out, size_t *n,
                       struct servin_error *err)
{
    *out = NULL;
    *n = 0;
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(store, "SELECT " COLUMNS " FROM volumes ORDER BY name", &stmt, err);
    if (ret < 0)
        return ret;
    struct servin_volume *list = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        list = xreallocarray(list, count + 1, sizeof(*list));
        load_row(store, stmt, &list[count++]);
    }
    if (rc != SQLITE_DONE) {
        servin_volumes_free(list, count);
        return servin_store_sqlite_error(store, rc, err, "list volumes");
    }
    *out = list;
    *n = count;
    return 0;
}

int servin_volume_users(struct servin_store *store, const char *name, char ***ids, struct servin_error *err)
{
    *ids = NULL;
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(
        store, "SELECT container_id FROM container_volumes WHERE volume = ? ORDER BY container_id", &stmt,
        err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
    char **list = xcalloc(1, sizeof(char *));
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        list = xreallocarray(list, count + 2, sizeof(char *));
        list[count++] = xstrdup((const char *)sqlite3_column_text(stmt, 0));
        list[count] = NULL;
    }
    if (rc != SQLITE_DONE) {
        strv_free(list);
        return servin_store_sqlite_error(store, rc, err, "read the users of a volume");
    }
    *ids = list;
    return 0;
}

/* Inside the caller's transaction: refuse while linked, delete the row, and move the directory
 * aside so that a create of the same name after our commit starts from nothing. *trash gets
 * the moved directory, for the caller to delete after the commit. */
static int remove_locked(struct servin_store *store, const char *name, char **trash, struct servin_error *err)
{
    *trash = NULL;
    _cleanup_strv_ char **users = NULL;
    int ret = servin_volume_users(store, name, &users, err);
    if (ret < 0)
        return ret;
    if (users[0]) {
        _cleanup_free_ char *list = xstrdup("");
        for (size_t i = 0; users[i]; i++) {
            char *next = xasprintf("%s%s%.12s", list, i ? ", " : "", users[i]);
            free(list);
            list = next;
        }
        return servin_error_set(err, EBUSY, "volume is in use by container%s %s", users[1] ? "s" : "", list);
    }
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    ret = servin_store_prepare(store, "DELETE FROM volumes WHERE name = ?", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "delete the volume record");
    if (sqlite3_changes(store->db) == 0)
        return servin_error_set(err, ENOENT, "no such volume: %s", name);
    _cleanup_free_ char *dir = vol_dir(store, name);
    char *aside = servin_store_path(store, "volumes/.removing-%s-%d", name, (int)getpid());
    if (rename(dir, aside) < 0) {
        int e = errno;
        free(aside);
        if (e == ENOENT)
            return 0;
        return servin_error_errno(err, e, "move %s aside", dir);
    }
    *trash = aside;
    return 0;
}

int servin_volume_remove(struct servin_store *store, const char *name, long long *size,
                         struct servin_error *err)
{
    if (size)
        *size = 0;
    int ret = servin_store_begin(store, err);
    if (ret < 0)
        return servin_error_wrap(err, "remove volume %s", name);
    _cleanup_free_ char *trash = NULL;
    ret = remove_locked(store, name, &trash, err);
    if (ret == 0)
        ret = servin_store_commit(store, err);
    if (ret < 0) {
        servin_store_rollback(store);
        if (trash) {
            /* The row is back: so must its data be. */
            _cleanup_free_ char *dir = vol_dir(store, name);
            rename(trash, dir);
        }
        return ret == -ENOENT ? ret : servin_error_wrap(err, "remove volume %s", name);
    }
    servin_event_emit(store, "volume", "destroy", name, json_pack("{s:s}", "driver", "local"));
    if (trash) {
        if (size) {
            _cleanup_free_ char *data = xasprintf("%s/_data", trash);
            *size = servin_dir_size(data);
        }
        ret = servin_rm_rf(trash, err);
        if (ret < 0)
            return servin_error_wrap(err, "remove the data of volume %s", name);
    }
    return 0;
}

json_t *servin_volume_to_json(const struct servin_volume *v)
{
    char created[SERVIN_RFC3339_MAX];
    time_t secs = (time_t)(v->created / 1000000000LL);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s,s:s,s:s,s:O,s:O,s:s,s:s}", "CreatedAt", created, "Driver", v->driver, "Mountpoint",
                     v->mountpoint, "Labels", v->labels, "Options", v->options, "Name", v->name, "Scope",
                     "local");
}

int servin_volume_anonymous_of(struct servin_store *store, const char *container_id, char ***names,
                               struct servin_error *err)
{
    *names = NULL;
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret =
        servin_store_prepare(store,
                             "SELECT v.name FROM container_volumes cv JOIN volumes v ON v.name = cv.volume "
                             "WHERE cv.container_id = ? AND v.anonymous = 1 ORDER BY v.name",
                             &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, container_id, -1, SQLITE_TRANSIENT);
    char **list = xcalloc(1, sizeof(char *));
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        list = xreallocarray(list, count + 2, sizeof(char *));
        list[count++] = xstrdup((const char *)sqlite3_column_text(stmt, 0));
        list[count] = NULL;
    }
    if (rc != SQLITE_DONE) {
        strv_free(list);
        return servin_store_sqlite_error(store, rc, err, "read the volumes of a container");
    }
    *names = list;
    return 0;
}

void servin_volume_remove_unused(struct servin_store *store, char **names)
{
    for (size_t i = 0; names && names[i]; i++) {
        struct servin_error ignored = {0};
        servin_volume_remove(store, names[i], NULL, &ignored);
    }
}
