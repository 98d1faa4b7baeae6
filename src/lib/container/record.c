/* container/record.c — container rows: create, look up, list, save state, rename, delete. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "container/container_internal.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/fs.h"
#include "servin/image.h"

#define COLUMNS                                                                                              \
    "id, name, image_id, image_ref, created, config, state, pid, monitor_pid, exit_code, "                   \
    "started_at, finished_at, restart_count, health, oom_killed"

/* Generated names are retried this often before giving up: only a store with most of the
 * adjective_noun space taken would get there. */
#define NAME_ATTEMPTS 64

static const char *const state_names[] = {
    [SERVIN_CONTAINER_CREATED] = "created", [SERVIN_CONTAINER_RUNNING] = "running",
    [SERVIN_CONTAINER_PAUSED] = "paused",   [SERVIN_CONTAINER_RESTARTING] = "restarting",
    [SERVIN_CONTAINER_EXITED] = "exited",   [SERVIN_CONTAINER_REMOVING] = "removing",
    [SERVIN_CONTAINER_DEAD] = "dead",
};

const char *servin_container_state_name(enum servin_container_state s)
{
    if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
        return "unknown";
    return state_names[s];
}

int ctr_state_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (strcmp(name, state_names[i]) == 0)
            return (int)i;
    return -1;
}

int64_t ctr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool ctr_name_valid(const char *name)
{
    if (!name || !isalnum((unsigned char)name[0]) || !name[1])
        return false;
    for (const char *p = name + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return false;
    return true;
}

void servin_container_clear(struct servin_container *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->image_ref);
    free(c->health);
    json_decref(c->config);
    memset(c, 0, sizeof(*c));
}

void servin_containers_free(struct servin_container *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        servin_container_clear(&list[i]);
    free(list);
}

char *servin_container_dir(struct servin_store *store, const char *id)
{
    return servin_store_path(store, "containers/%s", id);
}

char *servin_container_run_dir(struct servin_store *store, const char *id)
{
    return xasprintf("%s/containers/%s", store->run_root, id);
}

char *servin_container_oci_root(struct servin_store *store)
{
    return xasprintf("%s/oci", store->run_root);
}

char *servin_container_seccomp_cache(struct servin_store *store)
{
    return xasprintf("%s/seccomp", store->run_root);
}

static const char *column_text(sqlite3_stmt *stmt, int col)
{
    return (const char *)sqlite3_column_text(stmt, col);
}

static void load_row(sqlite3_stmt *stmt, struct servin_container *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", column_text(stmt, 0) ? column_text(stmt, 0) : "");
    c->name = xstrdup(column_text(stmt, 1) ? column_text(stmt, 1) : "");
    snprintf(c->image_id, sizeof(c->image_id), "%s", column_text(stmt, 2) ? column_text(stmt, 2) : "");
    c->image_ref = column_text(stmt, 3) ? xstrdup(column_text(stmt, 3)) : NULL;
    c->created = sqlite3_column_int64(stmt, 4);
    const char *config = column_text(stmt, 5);
    c->config = config ? json_loads(config, 0, NULL) : NULL;
    /* A row is never written without a config; a damaged one still lists, with an empty config. */
    if (!c->config)
        c->config = json_object();
    int state = ctr_state_parse(column_text(stmt, 6));
    c->state = state < 0 ? SERVIN_CONTAINER_DEAD : (enum servin_container_state)state;
    c->pid = (pid_t)sqlite3_column_int64(stmt, 7);
    c->monitor_pid = (pid_t)sqlite3_column_int64(stmt, 8);
    c->exit_code = sqlite3_column_int(stmt, 9);
    c->started_at = sqlite3_column_int64(stmt, 10);
    c->finished_at = sqlite3_column_int64(stmt, 11);
    c->restart_count = sqlite3_column_int(stmt, 12);
    c->health = column_text(stmt, 13) ? xstrdup(column_text(stmt, 13)) : NULL;
    c->oom_killed = sqlite3_column_int(stmt, 14) != 0;
}

/* Rows matching one text parameter; *n counts them, out gets the first. */
static int query_one(struct servin_store *store, const char *sql, const char *arg,
                     struct servin_container *out, size_t *n, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(store, sql, &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_TRANSIENT);
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if ((*n)++ == 0)
            load_row(stmt, out);
    }
    if (rc != SQLITE_DONE) {
        if (*n > 0)
            servin_container_clear(out);
        return servin_store_sqlite_error(store, rc, err, "read container records");
    }
    return 0;
}

/* The id of the container holding name, or NULL; *ret < 0 on a database error. */
static char *name_owner(struct servin_store *store, const char *name, int *ret, struct servin_error *err)
{
    struct servin_container c;
    size_t n = 0;
    *ret = query_one(store, "SELECT " COLUMNS " FROM containers WHERE name = ?", name, &c, &n, err);
    if (*ret < 0 || n == 0)
        return NULL;
    char *id = xstrdup(c.id);
    servin_container_clear(&c);
    return id;
}

static bool is_hex(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
            return false;
    return true;
}

/* Look a container up without reconciling it. */
static int get_raw(struct servin_store *store, const char *text, struct servin_container *out,
                   struct servin_error *err)
{
    size_t n = 0;
    int ret;
    if (!text || !*text)
        return servin_error_set(err, ENOENT, "No such container: %s", text ? text : "");
    const char *name = text[0] == '/' ? text + 1 : text;
    if (text[0] != '/') {
        ret = query_one(store, "SELECT " COLUMNS " FROM containers WHERE id = ?", text, out, &n, err);
        if (ret < 0 || n > 0)
            return ret;
    }
    ret = query_one(store, "SELECT " COLUMNS " FROM containers WHERE name = ?", name, out, &n, err);
    if (ret < 0 || n > 0)
        return ret;
    if (text[0] != '/' && is_hex(text)) {
        ret = query_one(store,
                        "SELECT " COLUMNS " FROM containers WHERE substr(id, 1, length(?1)) = ?1 "
                        "ORDER BY id",
                        text, out, &n, err);
        if (ret < 0)
            return ret;
        if (n == 1)
            return 0;
        if (n > 1) {
            servin_container_clear(out);
            return servin_error_set(err, EINVAL,
                                    "multiple containers match the prefix \"%s\": give more of the id", text);
        }
    }
    return servin_error_set(err, ENOENT, "No such container: %s", text);
}

int servin_container_get(struct servin_store *store, const char *text, struct servin_container *out,
                         struct servin_error *err)
{
    /* A copy: callers may pass out->id of the very struct being filled. */
    _cleanup_free_ char *copy = text ? xstrdup(text) : NULL;
    int ret = get_raw(store, copy, out, err);
    if (ret < 0)
        return ret;
    ret = servin_container_reconcile(store, out, err);
    if (ret < 0) {
        servin_container_clear(out);
        return ret;
    }
    return 0;
}

int servin_container_list(struct servin_store *store, struct servin_container **out, size_t *n,
                          struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(
        store, "SELECT " COLUMNS " FROM containers ORDER BY created DESC, rowid DESC", &stmt, err);
    if (ret < 0)
        return ret;
    struct servin_container *list = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        list = xreallocarray(list, count + 1, sizeof(*list));
        load_row(stmt, &list[count++]);
    }
    if (rc != SQLITE_DONE) {
        servin_containers_free(list, count);
        return servin_store_sqlite_error(store, rc, err, "list containers");
    }
    /* Reconcile after the statement is done: reconciling writes, and a reader must not be open. */
    sqlite3_finalize(steal_pointer(&stmt));
    for (size_t i = 0; i < count; i++) {
        ret = servin_container_reconcile(store, &list[i], err);
        if (ret < 0) {
            servin_containers_free(list, count);
            return ret;
        }
    }
    *out = list;
    *n = count;
    return 0;
}

static void random_id(char out[SERVIN_CONTAINER_ID_LEN + 1])
{
    for (;;) {
        unsigned char bytes[SERVIN_CONTAINER_ID_LEN / 2];
        size_t got = 0;
        while (got < sizeof(bytes)) {
            ssize_t r = getrandom(bytes + got, sizeof(bytes) - got, 0);
            if (r > 0)
                got += (size_t)r;
            else if (errno != EINTR)
                abort(); /* The kernel's random source does not fail once booted. */
        }
        for (size_t i = 0; i < sizeof(bytes); i++)
            snprintf(out + 2 * i, 3, "%02x", bytes[i]);
        /* A short id of digits only would read as a number to tools (and to Docker's own parser). */
        size_t digits = strspn(out, "0123456789");
        if (digits < 12)
            return;
    }
}

static int insert_row(struct servin_store *store, const struct servin_container *c, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    _cleanup_free_ char *config = json_dumps(c->config, JSON_COMPACT);
    int ret =
        servin_store_prepare(store,
                             "INSERT INTO containers(id, name, image_id, image_ref, created, config, state) "
                             "VALUES(?, ?, ?, ?, ?, ?, 'created')",
                             &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, c->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, c->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 3, c->image_id, -1, SQLITE_TRANSIENT);
    if (c->image_ref)
        sqlite3_bind_text(stmt, 4, c->image_ref, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, 4);
    sqlite3_bind_int64(stmt, 5, c->created);
    sqlite3_bind_text(stmt, 6, config ? config : "{}", -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "record the container");
    return 0;
}

/* Inside the transaction: pick or check the name, insert the row, make the bundle dir. */
static int create_locked(struct servin_store *store, const char *name, struct servin_container *c,
                         struct servin_error *err)
{
    int ret = ctr_check_max_containers(store, err);
    if (ret < 0)
        return ret;
    if (name) {
        _cleanup_free_ char *owner = name_owner(store, name, &ret, err);
        if (ret < 0)
            return ret;
        if (owner)
            return servin_error_set(err, EEXIST,
                                    "the container name \"/%s\" is already in use by container %s: remove or "
                                    "rename that container to reuse the name",
                                    name, owner);
        c->name = xstrdup(name);
    } else {
        for (int i = 0; i < NAME_ATTEMPTS && !c->name; i++) {
            _cleanup_free_ char *candidate = servin_container_random_name();
            _cleanup_free_ char *owner = name_owner(store, candidate, &ret, err);
            if (ret < 0)
                return ret;
            if (!owner)
                c->name = steal_pointer(&candidate);
        }
        if (!c->name)
            return servin_error_set(err, EEXIST,
                                    "no free generated container name found: name the container");
    }
    ret = insert_row(store, c, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    if (mkdir(dir, 0710) < 0)
        return servin_error_errno(err, errno, "create container directory %s", dir);
    return 0;
}

int servin_container_create_record(struct servin_store *store, const char *name, const char *image_id,
                                   const char *image_ref, json_t *config, struct servin_container *out,
                                   struct servin_error *err)
{
    if (name && name[0] == '/')
        name++;
    if (name && !ctr_name_valid(name))
        return servin_error_set(
            err, EINVAL, "invalid container name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed", name);
    if (!image_id || !*image_id)
        return servin_error_set(err, EINVAL, "create container: no image given");

    _cleanup_free_ char *parent = servin_store_path(store, "containers");
    int ret = servin_mkdir_p(parent, 0711, err);
    if (ret < 0)
        return servin_error_wrap(err, "create container");

    struct servin_container c = {0};
    random_id(c.id);
    snprintf(c.image_id, sizeof(c.image_id), "%s", image_id);
    c.image_ref = image_ref ? xstrdup(image_ref) : NULL;
    c.created = ctr_now_ns();
    c.config = config ? json_incref(config) : json_object();
    servin_container_apply_config_defaults(c.config);
    c.state = SERVIN_CONTAINER_CREATED;

    ret = servin_store_begin(store, err);
    if (ret == 0) {
        ret = create_locked(store, name, &c, err);
        if (ret < 0)
            servin_store_rollback(store);
        else
            ret = servin_store_commit(store, err);
        if (ret < 0) {
            /* The row is gone with the rollback; the directory must follow it. */
            struct servin_error ignored = {0};
            _cleanup_free_ char *dir = servin_container_dir(store, c.id);
            servin_rm_rf(dir, &ignored);
        }
    }
    if (ret < 0) {
        servin_container_clear(&c);
        return ret;
    }
    *out = c;
    return 0;
}

int servin_container_save_state(struct servin_store *store, const struct servin_container *c,
                                struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret =
        servin_store_prepare(store,
                             "UPDATE containers SET state = ?, pid = ?, monitor_pid = ?, exit_code = ?, "
                             "started_at = ?, finished_at = ?, restart_count = ?, health = ?, oom_killed = ? "
                             "WHERE id = ?",
                             &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, servin_container_state_name(c->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, c->pid);
    sqlite3_bind_int64(stmt, 3, c->monitor_pid);
    sqlite3_bind_int(stmt, 4, c->exit_code);
    sqlite3_bind_int64(stmt, 5, c->started_at);
    sqlite3_bind_int64(stmt, 6, c->finished_at);
    sqlite3_bind_int(stmt, 7, c->restart_count);
    if (c->health)
        sqlite3_bind_text(stmt, 8, c->health, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, 8);
    sqlite3_bind_int(stmt, 9, c->oom_killed ? 1 : 0);
    sqlite3_bind_text(stmt, 10, c->id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "save the container's state");
    if (sqlite3_changes(store->db) == 0)
        return servin_error_set(err, ENOENT, "No such container: %s", c->id);
    return 0;
}

int servin_container_save_config(struct servin_store *store, const struct servin_container *c,
                                 struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    _cleanup_free_ char *config = json_dumps(c->config, JSON_COMPACT);
    int ret = servin_store_prepare(store, "UPDATE containers SET config = ? WHERE id = ?", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, config ? config : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, c->id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "save the container's config");
    if (sqlite3_changes(store->db) == 0)
        return servin_error_set(err, ENOENT, "No such container: %s", c->id);
    return 0;
}

static int rename_locked(struct servin_store *store, const char *text, const char *new_name,
                         struct servin_error *err)
{
    struct servin_container c;
    int ret = get_raw(store, text, &c, err);
    if (ret < 0)
        return ret;
    if (strcmp(c.name, new_name) == 0) {
        servin_container_clear(&c);
        return servin_error_set(err, EINVAL, "container %s is already named \"%s\"", text, new_name);
    }
    _cleanup_free_ char *owner = name_owner(store, new_name, &ret, err);
    if (ret == 0 && owner)
        ret =
            servin_error_set(err, EEXIST,
                             "the container name \"/%s\" is already in use by container %s: remove or rename "
                             "that container to reuse the name",
                             new_name, owner);
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    if (ret == 0)
        ret = servin_store_prepare(store, "UPDATE containers SET name = ? WHERE id = ?", &stmt, err);
    if (ret == 0) {
        sqlite3_bind_text(stmt, 1, new_name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 2, c.id, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE)
            ret = servin_store_sqlite_error(store, rc, err, "rename the container");
    }
    servin_container_clear(&c);
    return ret;
}

int servin_container_rename(struct servin_store *store, const char *text, const char *new_name,
                            struct servin_error *err)
{
    if (new_name && new_name[0] == '/')
        new_name++;
    if (!ctr_name_valid(new_name))
        return servin_error_set(err, EINVAL,
                                "invalid container name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed",
                                new_name ? new_name : "");
    int ret = servin_store_begin(store, err);
    if (ret < 0)
        return servin_error_wrap(err, "rename container %s", text);
    ret = rename_locked(store, text, new_name, err);
    if (ret < 0) {
        servin_store_rollback(store);
        return ret;
    }
    return servin_store_commit(store, err);
}

/* True when something is mounted on path (its device differs from its parent's). */
static bool mounted_on(const char *path, const char *parent)
{
    struct stat st, pst;
    return stat(path, &st) == 0 && stat(parent, &pst) == 0 && st.st_dev != pst.st_dev;
}

int servin_container_delete_record(struct servin_store *store, const char *id, struct servin_error *err)
{
    _cleanup_free_ char *dir = servin_container_dir(store, id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, id);
    /* Removing files through a mounted overlay would record whiteouts, not free anything, and hides
     * a caller that forgot to unmount: refuse. */
    if (mounted_on(merged, dir))
        return servin_error_set(err, EBUSY, "remove container %s: its root filesystem is still mounted at %s",
                                id, merged);

    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(store, "DELETE FROM containers WHERE id = ?", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "delete the container record");
    if (sqlite3_changes(store->db) == 0)
        return servin_error_set(err, ENOENT, "No such container: %s", id);
    ret = servin_rm_rf(dir, err);
    if (ret == 0)
        ret = servin_rm_rf(run_dir, err);
    if (ret < 0)
        return servin_error_wrap(err, "remove container %s", id);
    return 0;
}

bool servin_container_image_in_use(struct servin_store *store, const char *image_id)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    struct servin_error err = {0};
    if (servin_store_prepare(store, "SELECT 1 FROM containers WHERE image_id = ? LIMIT 1", &stmt, &err) < 0)
        return true; /* When in doubt, keep the image. */
    sqlite3_bind_text(stmt, 1, image_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    return rc != SQLITE_DONE;
}

void servin_container_init_hooks(void)
{
    servin_image_set_in_use_hook(servin_container_image_in_use);
}
