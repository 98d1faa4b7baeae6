/* regserver/meta.c — the registry's rows: which repository links which blob, manifests, tags. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"
#include "regserver/regserver_internal.h"
#include "servin/cleanup.h"

static void unlock_db(pthread_mutex_t **m)
{
    if (*m)
        pthread_mutex_unlock(*m);
}
/* Hold the server's database lock until the end of the scope. */
#define DB_LOCKED(srv)                                                                                       \
    __attribute__((cleanup(unlock_db))) pthread_mutex_t *_db_held = &(srv)->db_lock;                         \
    pthread_mutex_lock(_db_held)

bool rs_meta_blob_linked(struct servin_regserver *srv, const char *repo, const char *digest, uint64_t *size)
{
    DB_LOCKED(srv);
    struct servin_error err = {0};
    _cleanup_free_ char *found = NULL;
    /* A manifest is a blob of its repository too, as in distribution. */
    if (img_sql_text(srv->store, &err, &found,
                     "SELECT size FROM registry_blobs WHERE repo = ?1 AND digest = ?2 UNION ALL "
                     "SELECT size FROM registry_manifests WHERE repo = ?1 AND digest = ?2 LIMIT 1",
                     "ss", repo, digest) < 0 ||
        !found)
        return false;
    if (size)
        *size = strtoull(found, NULL, 10);
    return true;
}

int rs_meta_blob_link(struct servin_regserver *srv, const char *repo, const char *digest, uint64_t size,
                      struct servin_error *err)
{
    DB_LOCKED(srv);
    return img_sql_run(srv->store, err,
                       "INSERT OR REPLACE INTO registry_blobs (repo, digest, size) VALUES (?, ?, ?)", "ssi",
                       repo, digest, (int64_t)size);
}

int rs_meta_blob_unlink(struct servin_regserver *srv, const char *repo, const char *digest,
                        struct servin_error *err)
{
    DB_LOCKED(srv);
    int ret = img_sql_run(srv->store, err, "DELETE FROM registry_blobs WHERE repo = ? AND digest = ?", "ss",
                          repo, digest);
    if (ret < 0)
        return ret;
    return sqlite3_changes(srv->store->db) > 0 ? 1 : 0;
}

bool rs_meta_repo_exists(struct servin_regserver *srv, const char *repo)
{
    DB_LOCKED(srv);
    struct servin_error err = {0};
    _cleanup_free_ char *found = NULL;
    img_sql_text(srv->store, &err, &found,
                 "SELECT 1 FROM registry_manifests WHERE repo = ?1 UNION ALL "
                 "SELECT 1 FROM registry_blobs WHERE repo = ?1 LIMIT 1",
                 "s", repo);
    return found != NULL;
}

int rs_meta_manifest_find(struct servin_regserver *srv, const char *repo, const char *ref,
                          char digest[SERVIN_DIGEST_MAX], char **media_type, uint64_t *size,
                          struct servin_error *err)
{
    DB_LOCKED(srv);
    const char *sql =
        strchr(ref, ':')
            ? "SELECT digest, media_type, size FROM registry_manifests WHERE repo = ?1 AND digest = ?2"
            : "SELECT m.digest, m.media_type, m.size FROM registry_tags t JOIN registry_manifests m "
              "ON m.repo = t.repo AND m.digest = t.digest WHERE t.repo = ?1 AND t.tag = ?2";
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(srv->store, sql, &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, repo, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, ref, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return servin_store_sqlite_error(srv->store, rc, err, "read registry manifests");
    snprintf(digest, SERVIN_DIGEST_MAX, "%s", (const char *)sqlite3_column_text(stmt, 0));
    if (media_type)
        *media_type = xstrdup((const char *)sqlite3_column_text(stmt, 1));
    if (size)
        *size = (uint64_t)sqlite3_column_int64(stmt, 2);
    return 1;
}

static int check_present(struct servin_regserver *srv, const char *repo, const char **list, bool manifests,
                         struct servin_error *err)
{
    for (; list && *list; list++) {
        _cleanup_free_ char *found = NULL;
        int ret =
            img_sql_text(srv->store, err, &found,
                         manifests ? "SELECT 1 FROM registry_manifests WHERE repo = ? AND digest = ?"
                                   : "SELECT 1 FROM registry_blobs WHERE repo = ?1 AND digest = ?2 UNION ALL "
                                     "SELECT 1 FROM registry_manifests WHERE repo = ?1 AND digest = ?2",
                         "ss", repo, *list);
        if (ret < 0)
            return ret;
        if (!found)
            return servin_error_set(err, ENOENT, "%s %s is not in repository %s",
                                    manifests ? "manifest" : "blob", *list, repo);
    }
    return 0;
}

static int insert_manifest(struct servin_regserver *srv, const char *repo, const struct rs_manifest_info *m,
                           const char *tag, struct servin_error *err)
{
    int ret = img_sql_run(srv->store, err,
                          "INSERT OR REPLACE INTO registry_manifests "
                          "(repo, digest, media_type, size, subject, artifact_type, annotations) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          "sssisss", repo, m->digest, m->media_type, (int64_t)m->size, m->subject,
                          m->artifact_type, m->annotations);
    if (ret < 0)
        return ret;
    ret = img_sql_run(srv->store, err, "DELETE FROM registry_manifest_refs WHERE repo = ? AND manifest = ?",
                      "ss", repo, m->digest);
    const char **lists[] = {m->blobs, m->manifests};
    for (size_t i = 0; ret == 0 && i < 2; i++)
        for (const char **d = lists[i]; ret == 0 && d && *d; d++)
            ret = img_sql_run(
                srv->store, err,
                "INSERT OR IGNORE INTO registry_manifest_refs (repo, manifest, digest) VALUES (?, ?, ?)",
                "sss", repo, m->digest, *d);
    if (ret == 0 && tag)
        ret = img_sql_run(srv->store, err,
                          "INSERT OR REPLACE INTO registry_tags (repo, tag, digest) VALUES (?, ?, ?)", "sss",
                          repo, tag, m->digest);
    return ret;
}

int rs_meta_manifest_put(struct servin_regserver *srv, const char *repo, const struct rs_manifest_info *m,
                         const char *tag, bool *missing_manifest, struct servin_error *err)
{
    DB_LOCKED(srv);
    *missing_manifest = false;
    int ret = check_present(srv, repo, m->blobs, false, err);
    if (ret == 0) {
        ret = check_present(srv, repo, m->manifests, true, err);
        if (ret == -ENOENT)
            *missing_manifest = true;
    }
    if (ret < 0)
        return ret;
    ret = servin_store_begin(srv->store, err);
    if (ret < 0)
        return ret;
    ret = insert_manifest(srv, repo, m, tag, err);
    if (ret < 0) {
        servin_store_rollback(srv->store);
        return ret;
    }
    return servin_store_commit(srv->store, err);
}

int rs_meta_manifest_delete(struct servin_regserver *srv, const char *repo, const char *digest,
                            struct servin_error *err)
{
    DB_LOCKED(srv);
    int ret = servin_store_begin(srv->store, err);
    if (ret < 0)
        return ret;
    ret = img_sql_run(srv->store, err, "DELETE FROM registry_manifests WHERE repo = ? AND digest = ?", "ss",
                      repo, digest);
    int changed = ret == 0 ? sqlite3_changes(srv->store->db) : 0;
    if (ret == 0)
        ret =
            img_sql_run(srv->store, err, "DELETE FROM registry_manifest_refs WHERE repo = ? AND manifest = ?",
                        "ss", repo, digest);
    if (ret == 0)
        ret = img_sql_run(srv->store, err, "DELETE FROM registry_tags WHERE repo = ? AND digest = ?", "ss",
                          repo, digest);
    if (ret < 0) {
        servin_store_rollback(srv->store);
        return ret;
    }
    ret = servin_store_commit(srv->store, err);
    if (ret < 0)
        return ret;
    return changed > 0 ? 1 : 0;
}

int rs_meta_tag_delete(struct servin_regserver *srv, const char *repo, const char *tag,
                       struct servin_error *err)
{
    DB_LOCKED(srv);
    int ret =
        img_sql_run(srv->store, err, "DELETE FROM registry_tags WHERE repo = ? AND tag = ?", "ss", repo, tag);
    if (ret < 0)
        return ret;
    return sqlite3_changes(srv->store->db) > 0 ? 1 : 0;
}

/* Run a paginated query taking (last, limit) and split off the extra row that says "more". */
static int paginate(struct servin_regserver *srv, const char *sql, const char *repo, const char *last, long n,
                    char ***out, bool *more, struct servin_error *err)
{
    int64_t limit = n < 0 ? -1 : (int64_t)n + 1;
    _cleanup_strv_ char **v = NULL;
    int ret = repo ? img_sql_strv(srv->store, err, &v, sql, "ssi", repo, last ? last : "", limit)
                   : img_sql_strv(srv->store, err, &v, sql, "si", last ? last : "", limit);
    if (ret < 0)
        return ret;
    size_t count = 0;
    while (v[count])
        count++;
    *more = n >= 0 && count > (size_t)n;
    if (*more) {
        free(v[n]);
        v[n] = NULL;
    }
    *out = steal_pointer(&v);
    return 0;
}

int rs_meta_tags(struct servin_regserver *srv, const char *repo, const char *last, long n, char ***out,
                 bool *more, struct servin_error *err)
{
    DB_LOCKED(srv);
    return paginate(srv, "SELECT tag FROM registry_tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?",
                    repo, last, n, out, more, err);
}

int rs_meta_catalog(struct servin_regserver *srv, const char *last, long n, char ***out, bool *more,
                    struct servin_error *err)
{
    DB_LOCKED(srv);
    return paginate(
        srv,
        "SELECT repo FROM (SELECT repo FROM registry_manifests UNION SELECT repo FROM registry_blobs) "
        "WHERE repo > ? ORDER BY repo LIMIT ?",
        NULL, last, n, out, more, err);
}

int rs_meta_referrers(struct servin_regserver *srv, const char *repo, const char *digest,
                      const char *artifact_type, json_t **out, struct servin_error *err)
{
    DB_LOCKED(srv);
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(srv->store,
                                   "SELECT digest, media_type, size, artifact_type, annotations "
                                   "FROM registry_manifests WHERE repo = ? AND subject = ? "
                                   "AND (?3 IS NULL OR artifact_type = ?3) ORDER BY digest",
                                   &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, repo, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, digest, -1, SQLITE_TRANSIENT);
    if (artifact_type)
        sqlite3_bind_text(stmt, 3, artifact_type, -1, SQLITE_TRANSIENT);
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", (const char *)sqlite3_column_text(stmt, 1),
                              "digest", (const char *)sqlite3_column_text(stmt, 0), "size",
                              (json_int_t)sqlite3_column_int64(stmt, 2));
        const char *at = (const char *)sqlite3_column_text(stmt, 3);
        if (at)
            json_object_set_new(d, "artifactType", json_string(at));
        const char *ann = (const char *)sqlite3_column_text(stmt, 4);
        json_t *annotations = ann ? json_loads(ann, 0, NULL) : NULL;
        if (json_is_object(annotations) && json_object_size(annotations) > 0)
            json_object_set(d, "annotations", annotations);
        json_decref(annotations);
        json_array_append_new(list, d);
    }
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return servin_store_sqlite_error(srv->store, rc, err, "read registry referrers");
    }
    *out = list;
    return 0;
}
