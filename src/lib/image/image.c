/* image/image.c — image records in the store: register, resolve, list, read back, tag. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "image/image_internal.h"
#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/events.h"
#include "servin/image.h"
#include "servin/reference.h"

void img_sql_bind(sqlite3_stmt *stmt, const char *types, va_list ap)
{
    for (int i = 0; types && types[i]; i++) {
        if (types[i] == 'i') {
            sqlite3_bind_int64(stmt, i + 1, va_arg(ap, int64_t));
        } else {
            const char *s = va_arg(ap, const char *);
            if (s)
                sqlite3_bind_text(stmt, i + 1, s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(stmt, i + 1);
        }
    }
}

int img_sql_run(struct servin_store *store, struct servin_error *err, const char *sql, const char *types, ...)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(store, sql, &stmt, err);
    if (ret < 0)
        return ret;
    va_list ap;
    va_start(ap, types);
    img_sql_bind(stmt, types, ap);
    va_end(ap);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "update image records");
    return 0;
}

int img_sql_text(struct servin_store *store, struct servin_error *err, char **out, const char *sql,
                 const char *types, ...)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    *out = NULL;
    int ret = servin_store_prepare(store, sql, &stmt, err);
    if (ret < 0)
        return ret;
    va_list ap;
    va_start(ap, types);
    img_sql_bind(stmt, types, ap);
    va_end(ap);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(stmt, 0);
        *out = xstrdup(s ? s : "");
        return 0;
    }
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "read image records");
    return 0;
}

int img_sql_strv(struct servin_store *store, struct servin_error *err, char ***out, const char *sql,
                 const char *types, ...)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(store, sql, &stmt, err);
    if (ret < 0)
        return ret;
    va_list ap;
    va_start(ap, types);
    img_sql_bind(stmt, types, ap);
    va_end(ap);
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(stmt, 0);
        v = xreallocarray(v, n + 2, sizeof(char *));
        v[n++] = xstrdup(s ? s : "");
        v[n] = NULL;
    }
    if (rc != SQLITE_DONE)
        return servin_store_sqlite_error(store, rc, err, "read image records");
    *out = steal_pointer(&v);
    return 0;
}

static const char *hex_of(const char *digest)
{
    return strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
}

char *servin_layer_diff_path(struct servin_store *store, const char *chain_id)
{
    return servin_store_path(store, "layers/%s/diff", hex_of(chain_id));
}

static const char *json_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : NULL;
}

static int check_record(struct servin_store *store, const struct servin_image_record *rec,
                        struct servin_error *err)
{
    if (!servin_digest_valid(rec->config_digest))
        return servin_error_set(err, EINVAL, "config digest \"%s\" is not a sha256 digest",
                                rec->config_digest);
    if (rec->manifest_digest[0] && !servin_digest_valid(rec->manifest_digest))
        return servin_error_set(err, EINVAL, "manifest digest \"%s\" is not a sha256 digest",
                                rec->manifest_digest);
    for (size_t i = 0; i < rec->n_layers; i++) {
        const struct servin_layer_desc *l = &rec->layers[i];
        if (!servin_digest_valid(l->chain_id) || !servin_digest_valid(l->diff_id))
            return servin_error_set(err, EINVAL, "layer %zu has no valid chain id or diff id", i);
        /* Recording a layer whose files are missing would give containers an empty root later. */
        _cleanup_free_ char *dir = servin_layer_diff_path(store, l->chain_id);
        struct stat st;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
            return servin_error_set(err, ENOENT, "layer %s is not unpacked at %s", l->chain_id, dir);
    }
    return 0;
}

/* Point `name` at the image; a tag that named another image moves, leaving that one dangling. */
static int set_tag(struct servin_store *store, const char *id, const char *name, struct servin_error *err)
{
    return img_sql_run(store, err,
                       "INSERT INTO tags(name, image_id) VALUES(?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                       "ss", name, id);
}

static int register_rows(struct servin_store *store, const struct servin_image_record *rec, json_t *config,
                         struct servin_error *err)
{
    const char *id = rec->config_digest;
    uint64_t size = 0;
    for (size_t i = 0; i < rec->n_layers; i++)
        size += rec->layers[i].size;
    json_t *cfg_platform = config;
    int ret = img_sql_run(
        store, err,
        "INSERT INTO images(id, manifest_digest, manifest_media_type, created, size, os, "
        "architecture, variant, added) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, "
        "manifest_media_type = excluded.manifest_media_type, created = excluded.created, "
        "size = excluded.size, os = excluded.os, architecture = excluded.architecture, "
        "variant = excluded.variant",
        "ssssisssi", id, rec->manifest_digest, rec->manifest_media_type ? rec->manifest_media_type : "",
        json_str(config, "created"), (int64_t)size, json_str(cfg_platform, "os"),
        json_str(cfg_platform, "architecture"), json_str(cfg_platform, "variant"), (int64_t)time(NULL));
    if (ret < 0)
        return ret;
    ret = img_sql_run(store, err, "DELETE FROM image_layers WHERE image_id = ?", "s", id);
    if (ret < 0)
        return ret;

    const char *parent = NULL;
    for (size_t i = 0; i < rec->n_layers; i++) {
        const struct servin_layer_desc *l = &rec->layers[i];
        const char *blob = l->blob_digest[0] ? l->blob_digest : NULL;
        ret = img_sql_run(store, err,
                          "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, blob_digest, "
                          "blob_media_type, blob_size, size) VALUES(?, ?, ?, ?, ?, ?, ?)",
                          "sssssii", l->chain_id, l->diff_id, parent, blob, l->blob_media_type,
                          (int64_t)l->blob_size, (int64_t)l->size);
        /* A layer first recorded by `import` has no blob; a later pull of the same layer supplies one. */
        if (ret == 0 && blob)
            ret = img_sql_run(store, err,
                              "UPDATE layers SET blob_digest = ?, blob_media_type = ?, blob_size = ? "
                              "WHERE chain_id = ? AND blob_digest IS NULL",
                              "ssis", blob, l->blob_media_type, (int64_t)l->blob_size, l->chain_id);
        if (ret == 0)
            ret = img_sql_run(store, err,
                              "INSERT INTO image_layers(image_id, position, chain_id) VALUES(?, ?, ?)", "sis",
                              id, (int64_t)i, l->chain_id);
        if (ret == 0 && blob)
            ret = img_sql_run(store, err, "INSERT OR IGNORE INTO image_blobs(image_id, digest) VALUES(?, ?)",
                              "ss", id, blob);
        if (ret < 0)
            return ret;
        parent = l->chain_id;
    }

    const char *keep[] = {id, rec->manifest_digest};
    for (size_t i = 0; i < 2 + rec->n_extra_blobs; i++) {
        const char *d = i < 2 ? keep[i] : rec->extra_blobs[i - 2];
        if (!d || !*d)
            continue;
        ret = img_sql_run(store, err, "INSERT OR IGNORE INTO image_blobs(image_id, digest) VALUES(?, ?)",
                          "ss", id, d);
        if (ret < 0)
            return ret;
    }
    if (rec->tag) {
        ret = set_tag(store, id, rec->tag, err);
        if (ret < 0)
            return ret;
    }
    if (rec->repo_digest) {
        /* A name@digest names one image; it follows the latest image recorded under it. */
        ret = img_sql_run(store, err, "DELETE FROM repo_digests WHERE name = ? AND image_id <> ?", "ss",
                          rec->repo_digest, id);
        if (ret == 0)
            ret = img_sql_run(store, err, "INSERT OR IGNORE INTO repo_digests(image_id, name) VALUES(?, ?)",
                              "ss", id, rec->repo_digest);
        if (ret < 0)
            return ret;
    }
    return 0;
}

int servin_image_register(struct servin_store *store, const struct servin_image_record *rec,
                          struct servin_error *err)
{
    int ret = check_record(store, rec, err);
    if (ret < 0)
        return servin_error_wrap(err, "register image");
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    ret = servin_content_read(store, rec->config_digest, &data, &len, err);
    if (ret < 0)
        return servin_error_wrap(err, "register image %.19s: read its config", rec->config_digest);
    json_error_t jerr;
    json_t *config = json_loadb(data, len, 0, &jerr);
    if (!json_is_object(config)) {
        json_decref(config);
        return servin_error_set(err, EINVAL, "register image %.19s: its config is not a JSON object",
                                rec->config_digest);
    }

    ret = servin_store_begin(store, err);
    if (ret == 0) {
        ret = register_rows(store, rec, config, err);
        if (ret < 0)
            servin_store_rollback(store);
        else
            ret = servin_store_commit(store, err);
    }
    json_decref(config);
    if (ret < 0)
        return servin_error_wrap(err, "register image %.19s", rec->config_digest);
    return 0;
}

static bool is_hex(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
            return false;
    return true;
}

static int lookup_by_ref(struct servin_store *store, const struct servin_ref *ref, char **id, char **name,
                         enum servin_image_match *how, struct servin_error *err)
{
    _cleanup_free_ char *repo = servin_ref_name(ref);
    int ret;
    if (ref->digest) {
        *name = xasprintf("%s@%s", repo, ref->digest);
        *how = SERVIN_IMAGE_BY_DIGEST;
        ret = img_sql_text(store, err, id, "SELECT image_id FROM repo_digests WHERE name = ?", "s", *name);
        /* An image pulled by tag is still found by the digest of the manifest it came from. */
        if (ret == 0 && !*id)
            ret = img_sql_text(store, err, id,
                               "SELECT id FROM images WHERE manifest_digest = ? ORDER BY added DESC", "s",
                               ref->digest);
        return ret;
    }
    *name = xasprintf("%s:%s", repo, ref->tag ? ref->tag : SERVIN_DEFAULT_TAG);
    *how = SERVIN_IMAGE_BY_TAG;
    return img_sql_text(store, err, id, "SELECT image_id FROM tags WHERE name = ?", "s", *name);
}

int servin_image_lookup(struct servin_store *store, const char *text, char id_out[SERVIN_DIGEST_MAX],
                        enum servin_image_match *how_out, char **name_out, struct servin_error *err)
{
    enum servin_image_match how = SERVIN_IMAGE_BY_ID;
    _cleanup_free_ char *id = NULL, *name = NULL;
    int ret;

    if (!text || !*text)
        return servin_error_set(err, EINVAL, "no image name or id given");
    const char *hex = hex_of(text);
    bool prefixed = hex != text;
    if (name_out)
        *name_out = NULL;
    /* A full id is never a name: Docker refuses 64-hex repository names for this reason. */
    if (is_hex(hex, 64, 64)) {
        _cleanup_free_ char *full = xasprintf("sha256:%s", hex);
        ret = img_sql_text(store, err, &id, "SELECT id FROM images WHERE id = ?", "s", full);
        if (ret < 0)
            return ret;
        if (!id)
            return servin_error_set(err, ENOENT, "No such image: %s", text);
    } else {
        struct servin_ref ref = {0};
        struct servin_error perr = {0};
        bool parsed = !prefixed && servin_ref_parse(text, &ref, &perr) == 0;
        if (parsed) {
            ret = lookup_by_ref(store, &ref, &id, &name, &how, err);
            servin_ref_free(&ref);
            if (ret < 0)
                return ret;
        }
        if (!id && is_hex(hex, 1, 63)) {
            _cleanup_strv_ char **ids = NULL;
            _cleanup_free_ char *want = xasprintf("sha256:%s", hex);
            ret = img_sql_strv(store, err, &ids, "SELECT id FROM images WHERE substr(id, 1, ?) = ? LIMIT 2",
                               "is", (int64_t)strlen(want), want);
            if (ret < 0)
                return ret;
            if (ids[0] && ids[1])
                return servin_error_set(err, EINVAL, "image id prefix %s is ambiguous: give more digits",
                                        text);
            if (ids[0]) {
                id = xstrdup(ids[0]);
                how = SERVIN_IMAGE_BY_ID;
                free(steal_pointer(&name));
            }
        }
        if (!id && !parsed && !is_hex(hex, 1, 63)) {
            *err = perr;
            return servin_error_wrap(err, "image %s", text);
        }
        if (!id)
            return servin_error_set(err, ENOENT, "No such image: %s", text);
    }
    snprintf(id_out, SERVIN_DIGEST_MAX, "%s", id);
    if (how_out)
        *how_out = how;
    if (name_out)
        *name_out = steal_pointer(&name);
    return 0;
}

int servin_image_resolve(struct servin_store *store, const char *text, char id_out[SERVIN_DIGEST_MAX],
                         struct servin_error *err)
{
    return servin_image_lookup(store, text, id_out, NULL, NULL, err);
}

static void fill_summary(sqlite3_stmt *stmt, struct servin_image_summary *s)
{
    const char *t;
    snprintf(s->id, sizeof(s->id), "%s", (const char *)sqlite3_column_text(stmt, 0));
    t = (const char *)sqlite3_column_text(stmt, 1);
    snprintf(s->manifest_digest, sizeof(s->manifest_digest), "%s", t ? t : "");
    t = (const char *)sqlite3_column_text(stmt, 2);
    s->created = t ? xstrdup(t) : NULL;
    s->added = sqlite3_column_int64(stmt, 3);
    s->size = (uint64_t)sqlite3_column_int64(stmt, 4);
}

static int fill_names(struct servin_store *store, struct servin_image_summary *s, struct servin_error *err)
{
    int ret = img_sql_strv(store, err, &s->tags, "SELECT name FROM tags WHERE image_id = ? ORDER BY name",
                           "s", s->id);
    if (ret < 0)
        return ret;
    return img_sql_strv(store, err, &s->repo_digests,
                        "SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name", "s", s->id);
}

void servin_image_summary_clear(struct servin_image_summary *s)
{
    free(s->created);
    strv_free(s->tags);
    strv_free(s->repo_digests);
    memset(s, 0, sizeof(*s));
}

void servin_image_summaries_free(struct servin_image_summary *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        servin_image_summary_clear(&list[i]);
    free(list);
}

#define SUMMARY_COLUMNS "SELECT id, manifest_digest, created, added, size FROM images "

int servin_image_list(struct servin_store *store, struct servin_image_summary **out, size_t *n,
                      struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    /* Newest first, as Docker lists them. */
    int ret =
        servin_store_prepare(store, SUMMARY_COLUMNS "ORDER BY created DESC, added DESC, id", &stmt, err);
    if (ret < 0)
        return ret;
    struct servin_image_summary *list = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        list = xreallocarray(list, count + 1, sizeof(*list));
        memset(&list[count], 0, sizeof(*list));
        fill_summary(stmt, &list[count]);
        count++;
    }
    if (rc != SQLITE_DONE) {
        servin_image_summaries_free(list, count);
        return servin_store_sqlite_error(store, rc, err, "list images");
    }
    for (size_t i = 0; i < count; i++) {
        ret = fill_names(store, &list[i], err);
        if (ret < 0) {
            servin_image_summaries_free(list, count);
            return ret;
        }
    }
    *out = list;
    *n = count;
    return 0;
}

int servin_image_get(struct servin_store *store, const char *id, struct servin_image_summary *out,
                     struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    memset(out, 0, sizeof(*out));
    int ret = servin_store_prepare(store, SUMMARY_COLUMNS "WHERE id = ?", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE)
        return servin_error_set(err, ENOENT, "No such image: %s", id);
    if (rc != SQLITE_ROW)
        return servin_store_sqlite_error(store, rc, err, "read image");
    fill_summary(stmt, out);
    ret = fill_names(store, out, err);
    if (ret < 0)
        servin_image_summary_clear(out);
    return ret;
}

int servin_image_platform(struct servin_store *store, const char *id, char **os, char **arch, char **variant,
                          struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret =
        servin_store_prepare(store, "SELECT os, architecture, variant FROM images WHERE id = ?", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE)
        return servin_error_set(err, ENOENT, "No such image: %s", id);
    if (rc != SQLITE_ROW)
        return servin_store_sqlite_error(store, rc, err, "read image");
    char **outs[] = {os, arch, variant};
    for (int i = 0; i < 3; i++) {
        const char *t = (const char *)sqlite3_column_text(stmt, i);
        *outs[i] = t ? xstrdup(t) : NULL;
    }
    return 0;
}

static int read_json_blob(struct servin_store *store, const char *digest, json_t **out,
                          struct servin_error *err)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    int ret = servin_content_read_stored(store, digest, &data, &len, err);
    if (ret < 0)
        return ret;
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        return servin_error_set(err, EINVAL, "blob %s is not a JSON object", digest);
    }
    *out = j;
    return 0;
}

int servin_image_config(struct servin_store *store, const char *id, json_t **config, struct servin_error *err)
{
    int ret = read_json_blob(store, id, config, err);
    if (ret < 0)
        return servin_error_wrap(err, "read config of image %.19s", id);
    return 0;
}

int servin_image_manifest(struct servin_store *store, const char *id, json_t **manifest, char **media_type,
                          struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(
        store, "SELECT manifest_digest, manifest_media_type FROM images WHERE id = ?", &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE)
        return servin_error_set(err, ENOENT, "No such image: %s", id);
    if (rc != SQLITE_ROW)
        return servin_store_sqlite_error(store, rc, err, "read image");
    const char *digest = (const char *)sqlite3_column_text(stmt, 0);
    if (!digest || !*digest)
        return servin_error_set(err, ENOENT, "image %.19s has no manifest", id);
    ret = read_json_blob(store, digest, manifest, err);
    if (ret < 0)
        return servin_error_wrap(err, "read manifest of image %.19s", id);
    if (media_type) {
        const char *mt = (const char *)sqlite3_column_text(stmt, 1);
        *media_type = xstrdup(mt ? mt : "");
    }
    return 0;
}

void servin_layer_descs_free(struct servin_layer_desc *layers, size_t n)
{
    for (size_t i = 0; layers && i < n; i++)
        free(layers[i].blob_media_type);
    free(layers);
}

int servin_image_layers(struct servin_store *store, const char *id, struct servin_layer_desc **layers,
                        size_t *n, struct servin_error *err)
{
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret =
        servin_store_prepare(store,
                             "SELECT l.chain_id, l.diff_id, l.blob_digest, l.blob_media_type, l.blob_size, "
                             "l.size FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id "
                             "WHERE il.image_id = ? ORDER BY il.position",
                             &stmt, err);
    if (ret < 0)
        return ret;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    struct servin_layer_desc *list = NULL;
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        list = xreallocarray(list, count + 1, sizeof(*list));
        struct servin_layer_desc *l = memset(&list[count++], 0, sizeof(*list));
        const char *t = (const char *)sqlite3_column_text(stmt, 0);
        snprintf(l->chain_id, sizeof(l->chain_id), "%s", t ? t : "");
        t = (const char *)sqlite3_column_text(stmt, 1);
        snprintf(l->diff_id, sizeof(l->diff_id), "%s", t ? t : "");
        t = (const char *)sqlite3_column_text(stmt, 2);
        snprintf(l->blob_digest, sizeof(l->blob_digest), "%s", t ? t : "");
        t = (const char *)sqlite3_column_text(stmt, 3);
        l->blob_media_type = t ? xstrdup(t) : NULL;
        l->blob_size = (uint64_t)sqlite3_column_int64(stmt, 4);
        l->size = (uint64_t)sqlite3_column_int64(stmt, 5);
    }
    if (rc != SQLITE_DONE) {
        servin_layer_descs_free(list, count);
        return servin_store_sqlite_error(store, rc, err, "read image layers");
    }
    *layers = list;
    *n = count;
    return 0;
}

int servin_image_tag(struct servin_store *store, const char *id, const char *tag, struct servin_error *err)
{
    struct servin_ref ref = {0};
    int ret = servin_ref_parse(tag, &ref, err);
    if (ret < 0)
        return servin_error_wrap(err, "tag %s", tag);
    if (ref.digest) {
        servin_ref_free(&ref);
        return servin_error_set(err, EINVAL, "tag %s: refusing to create a tag with a digest reference", tag);
    }
    _cleanup_free_ char *repo = servin_ref_name(&ref);
    _cleanup_free_ char *name = xasprintf("%s:%s", repo, ref.tag ? ref.tag : SERVIN_DEFAULT_TAG);
    servin_ref_free(&ref);

    _cleanup_free_ char *found = NULL;
    ret = img_sql_text(store, err, &found, "SELECT id FROM images WHERE id = ?", "s", id);
    if (ret == 0 && !found)
        ret = servin_error_set(err, ENOENT, "No such image: %s", id);
    if (ret == 0)
        ret = set_tag(store, id, name, err);
    if (ret < 0)
        return servin_error_wrap(err, "tag %s", tag);
    _cleanup_free_ char *familiar = servin_image_familiar(name);
    servin_event_emit(store, "image", "tag", id, json_pack("{s:s}", "name", familiar));
    return 0;
}

char *servin_image_repo_of(const char *name)
{
    const char *at = strchr(name, '@');
    if (at)
        return xstrndup(name, (size_t)(at - name));
    const char *slash = strrchr(name, '/');
    const char *colon = strrchr(slash ? slash : name, ':');
    return colon ? xstrndup(name, (size_t)(colon - name)) : xstrdup(name);
}

char *servin_image_familiar(const char *name)
{
    struct servin_ref ref = {0};
    struct servin_error err = {0};
    if (servin_ref_parse(name, &ref, &err) < 0)
        return xstrdup(name);
    _cleanup_free_ char *repo = servin_ref_familiar_name(&ref);
    char *out = ref.digest ? xasprintf("%s@%s", repo, ref.digest) : xasprintf("%s:%s", repo, ref.tag);
    servin_ref_free(&ref);
    return out;
}
