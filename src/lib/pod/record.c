/* pod/record.c — pod rows: insert, update, look up, list with filters, delete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "pod/pod_internal.h"
#include "servin/cleanup.h"

#define COLUMNS                                                                                              \
    "id, name, namespace, uid, attempt, state, created, labels, annotations, hostname, log_directory, "      \
    "runtime_handler, cgroup_parent, cgroup_path, cgroup, cgroup_created, dns, port_mappings, sysctls, "     \
    "ns_modes, netns_path, ipc_path, uts_path, ip, additional_ips, cni_net, cni_result, config"

int64_t pod_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void pod_new_id(char id[SERVIN_POD_ID_LEN + 1])
{
    unsigned char raw[32];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            abort(); /* no entropy source at all: nothing sensible to do */
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
}

const char *servin_pod_state_name(enum servin_pod_state s)
{
    return s == SERVIN_POD_READY ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
}

char *pod_run_dir(struct servin_store *store, const char *id)
{
    return xasprintf("%s/pods/%s", store->run_root, id);
}

char *pod_dir(struct servin_store *store, const char *id)
{
    return servin_store_path(store, "pods/%s", id);
}

char *servin_pod_file_path(struct servin_store *store, const char *id, const char *file)
{
    return servin_store_path(store, "pods/%s/%s", id, file);
}

void servin_pod_clear(struct servin_pod *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->namespace);
    free(p->uid);
    json_decref(p->labels);
    json_decref(p->annotations);
    free(p->hostname);
    free(p->log_directory);
    free(p->runtime_handler);
    free(p->cgroup_parent);
    free(p->cgroup_path);
    json_decref(p->cgroup);
    json_decref(p->dns);
    json_decref(p->port_mappings);
    json_decref(p->sysctls);
    free(p->netns_path);
    free(p->ipc_path);
    free(p->uts_path);
    free(p->ip);
    json_decref(p->additional_ips);
    json_decref(p->config);
    json_decref(p->cni_net);
    json_decref(p->cni_result);
    memset(p, 0, sizeof(*p));
}

void servin_pods_free(struct servin_pod *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        servin_pod_clear(&list[i]);
    free(list);
}

static char *col_str(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    return xstrdup(t ? t : "");
}

/* A JSON column; fallback (an empty object or array) when it is missing or damaged. */
static json_t *col_json(sqlite3_stmt *st, int col, json_t *fallback)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    json_t *j = t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
    if (!j)
        return fallback;
    json_decref(fallback);
    return j;
}

static enum servin_pod_nsmode mode_of(json_t *modes, const char *key)
{
    json_t *v = json_object_get(modes, key);
    return json_is_integer(v) ? (enum servin_pod_nsmode)json_integer_value(v) : SERVIN_NS_POD;
}

static void load_row(sqlite3_stmt *st, struct servin_pod *p)
{
    memset(p, 0, sizeof(*p));
    const char *id = (const char *)sqlite3_column_text(st, 0);
    snprintf(p->id, sizeof(p->id), "%s", id ? id : "");
    p->name = col_str(st, 1);
    p->namespace = col_str(st, 2);
    p->uid = col_str(st, 3);
    p->attempt = (uint32_t)sqlite3_column_int64(st, 4);
    const char *state = (const char *)sqlite3_column_text(st, 5);
    p->state = state && strcmp(state, "ready") == 0 ? SERVIN_POD_READY : SERVIN_POD_NOTREADY;
    p->created = sqlite3_column_int64(st, 6);
    p->labels = col_json(st, 7, json_object());
    p->annotations = col_json(st, 8, json_object());
    p->hostname = col_str(st, 9);
    p->log_directory = col_str(st, 10);
    p->runtime_handler = col_str(st, 11);
    p->cgroup_parent = col_str(st, 12);
    p->cgroup_path = col_str(st, 13);
    p->cgroup = col_json(st, 14, json_null());
    p->cgroup_created = sqlite3_column_int(st, 15) != 0;
    p->dns = col_json(st, 16, json_object());
    p->port_mappings = col_json(st, 17, json_array());
    p->sysctls = col_json(st, 18, json_object());
    json_t *modes = col_json(st, 19, json_object());
    p->network_mode = mode_of(modes, "network");
    p->pid_mode = mode_of(modes, "pid");
    p->ipc_mode = mode_of(modes, "ipc");
    json_decref(modes);
    p->netns_path = col_str(st, 20);
    p->ipc_path = col_str(st, 21);
    p->uts_path = col_str(st, 22);
    p->ip = col_str(st, 23);
    p->additional_ips = col_json(st, 24, json_array());
    p->cni_net = col_json(st, 25, json_null());
    p->cni_result = col_json(st, 26, json_null());
    p->config = col_json(st, 27, json_object());
    /* A pod whose namespaces are gone (someone unmounted them, a reboot) is not ready, whatever the
     * row says: kubelet then replaces it. */
    if (p->state == SERVIN_POD_READY &&
        ((*p->netns_path && !pod_ns_pinned(p->netns_path)) || (*p->ipc_path && !pod_ns_pinned(p->ipc_path)) ||
         (*p->uts_path && !pod_ns_pinned(p->uts_path))))
        p->state = SERVIN_POD_NOTREADY;
}

/* fallback: what a missing value is stored as (NULL for the nullable columns). */
static void bind_json_or(sqlite3_stmt *st, int idx, json_t *j, const char *fallback)
{
    if (!j || json_is_null(j)) {
        if (fallback)
            sqlite3_bind_text(st, idx, fallback, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, idx);
        return;
    }
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    sqlite3_bind_text(st, idx, text, -1, free);
}

static void bind_json(sqlite3_stmt *st, int idx, json_t *j)
{
    bind_json_or(st, idx, j, NULL);
}

static void bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    sqlite3_bind_text(st, idx, s ? s : "", -1, SQLITE_TRANSIENT);
}

/* Columns 2.. of COLUMNS in order, starting at parameter 2 (1 is the id). */
static void bind_row(sqlite3_stmt *st, const struct servin_pod *p)
{
    bind_text(st, 2, p->name);
    bind_text(st, 3, p->namespace);
    bind_text(st, 4, p->uid);
    sqlite3_bind_int64(st, 5, p->attempt);
    bind_text(st, 6, p->state == SERVIN_POD_READY ? "ready" : "notready");
    sqlite3_bind_int64(st, 7, p->created);
    bind_json_or(st, 8, p->labels, "{}");
    bind_json_or(st, 9, p->annotations, "{}");
    bind_text(st, 10, p->hostname);
    bind_text(st, 11, p->log_directory);
    bind_text(st, 12, p->runtime_handler);
    bind_text(st, 13, p->cgroup_parent);
    bind_text(st, 14, p->cgroup_path);
    bind_json(st, 15, p->cgroup);
    sqlite3_bind_int(st, 16, p->cgroup_created);
    bind_json_or(st, 17, p->dns, "{}");
    bind_json_or(st, 18, p->port_mappings, "[]");
    bind_json_or(st, 19, p->sysctls, "{}");
    json_t *modes =
        json_pack("{s:i,s:i,s:i}", "network", p->network_mode, "pid", p->pid_mode, "ipc", p->ipc_mode);
    bind_json(st, 20, modes);
    json_decref(modes);
    bind_text(st, 21, p->netns_path);
    bind_text(st, 22, p->ipc_path);
    bind_text(st, 23, p->uts_path);
    bind_text(st, 24, p->ip);
    bind_json_or(st, 25, p->additional_ips, "[]");
    bind_json(st, 26, p->cni_net);
    bind_json(st, 27, p->cni_result);
    bind_json_or(st, 28, p->config, "{}");
}

int pod_record_insert(struct servin_store *store, const struct servin_pod *p, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret =
        servin_store_prepare(store,
                             "INSERT INTO pods (" COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                             "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
                             "?25, ?26, ?27, ?28)",
                             &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, p->id, -1, SQLITE_TRANSIENT);
    bind_row(st, p);
    int rc = sqlite3_step(st);
    int ext = sqlite3_extended_errcode(store->db);
    if (rc == SQLITE_CONSTRAINT && (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY))
        return servin_error_set(err, EEXIST,
                                "pod sandbox name %s_%s_%s_%u is already in use: a sandbox with that name, "
                                "namespace, uid and attempt exists",
                                p->name, p->namespace, p->uid, p->attempt);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "record the pod sandbox");
    return 0;
}

int pod_record_update(struct servin_store *store, const struct servin_pod *p, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(
        store,
        "UPDATE pods SET name = ?2, namespace = ?3, uid = ?4, attempt = ?5, state = ?6, created = ?7, "
        "labels = ?8, annotations = ?9, hostname = ?10, log_directory = ?11, runtime_handler = ?12, "
        "cgroup_parent = ?13, cgroup_path = ?14, cgroup = ?15, cgroup_created = ?16, dns = ?17, "
        "port_mappings = ?18, sysctls = ?19, ns_modes = ?20, netns_path = ?21, ipc_path = ?22, "
        "uts_path = ?23, ip = ?24, additional_ips = ?25, cni_net = ?26, cni_result = ?27, config = ?28 "
        "WHERE id = ?1",
        &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, p->id, -1, SQLITE_TRANSIENT);
    bind_row(st, p);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "update the pod sandbox");
    return 0;
}

int pod_record_delete(struct servin_store *store, const char *id, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(store, "DELETE FROM pods WHERE id = ?1", &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "delete the pod sandbox record");
    return 0;
}

static bool is_hex(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

int servin_pod_get(struct servin_store *store, const char *id, struct servin_pod *out,
                   struct servin_error *err)
{
    if (!id || !*id || strlen(id) > SERVIN_POD_ID_LEN || !is_hex(id))
        return servin_error_set(err, ENOENT, "pod sandbox \"%s\" not found", id ? id : "");
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(
        store, "SELECT " COLUMNS " FROM pods WHERE id >= ?1 AND id < ?1 || 'g' LIMIT 2", &st, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == 0)
            load_row(st, out);
    }
    if (rc != SQLITE_DONE) {
        if (n > 0)
            servin_pod_clear(out);
        return servin_store_sqlite_error(store, rc, err, "look up the pod sandbox");
    }
    if (n == 0)
        return servin_error_set(err, ENOENT, "pod sandbox \"%s\" not found", id);
    if (n > 1) {
        servin_pod_clear(out);
        return servin_error_set(err, EINVAL, "pod sandbox id prefix \"%s\" is ambiguous", id);
    }
    return 0;
}

static bool labels_match(json_t *want, json_t *have)
{
    const char *k;
    json_t *v;
    json_object_foreach (want, k, v) {
        const char *h = json_string_value(json_object_get(have, k));
        if (!h || !json_is_string(v) || strcmp(h, json_string_value(v)) != 0)
            return false;
    }
    return true;
}

int servin_pod_list(struct servin_store *store, const struct servin_pod_filter *f, struct servin_pod **out,
                    size_t *n, struct servin_error *err)
{
    *out = NULL;
    *n = 0;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int ret = servin_store_prepare(store, "SELECT " COLUMNS " FROM pods ORDER BY created DESC", &st, err);
    if (ret < 0)
        return ret;
    struct servin_pod *list = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (f && f->id && *f->id && (!id || strncmp(id, f->id, strlen(f->id)) != 0))
            continue;
        struct servin_pod p;
        load_row(st, &p);
        if (f && ((f->state >= 0 && (int)p.state != f->state) ||
                  (f->labels && !labels_match(f->labels, p.labels)))) {
            servin_pod_clear(&p);
            continue;
        }
        list = xreallocarray(list, count + 1, sizeof(*list));
        list[count++] = p;
    }
    if (rc != SQLITE_DONE) {
        servin_pods_free(list, count);
        return servin_store_sqlite_error(store, rc, err, "list pod sandboxes");
    }
    *out = list;
    *n = count;
    return 0;
}
