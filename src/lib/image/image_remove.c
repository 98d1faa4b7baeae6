/* image/image_remove.c — untagging and deleting images (`rmi`, `image prune`), as Docker decides it. */
#include <errno.h>
#include <string.h>

#include "image/image_internal.h"
#include "servin/cleanup.h"
#include "servin/events.h"
#include "servin/image.h"
#include "servin/log.h"

static servin_image_in_use_fn in_use_hook;

void servin_image_set_in_use_hook(servin_image_in_use_fn fn)
{
    in_use_hook = fn;
}

static bool image_in_use(struct servin_store *store, const char *id)
{
    return in_use_hook && in_use_hook(store, id);
}

/* What a removal did, reported only once its transaction has committed, so that a failure never
 * prints "Deleted" for something still there. */
struct actions {
    char **verbs;
    char **whats;
    size_t n;
    bool deleted_any;
};

static void actions_add(struct actions *a, const char *verb, char *what)
{
    a->verbs = xreallocarray(a->verbs, a->n + 1, sizeof(char *));
    a->whats = xreallocarray(a->whats, a->n + 1, sizeof(char *));
    a->verbs[a->n] = xstrdup(verb);
    a->whats[a->n++] = what;
}

static void actions_flush(struct actions *a, servin_image_report_fn report, void *ctx)
{
    for (size_t i = 0; i < a->n; i++) {
        if (report)
            report(ctx, a->verbs[i], a->whats[i]);
        free(a->verbs[i]);
        free(a->whats[i]);
    }
    free(a->verbs);
    free(a->whats);
    memset(a, 0, sizeof(*a));
}

/* The journal's image events for what a committed removal did: "untag" per name, "delete" per image. */
static void actions_journal(struct servin_store *store, const struct actions *a)
{
    for (size_t i = 0; i < a->n; i++) {
        bool untagged = strcmp(a->verbs[i], "Untagged") == 0;
        servin_event_emit(store, "image", untagged ? "untag" : "delete", a->whats[i],
                          json_pack("{s:s}", "name", a->whats[i]));
    }
}

static int untag(struct servin_store *store, const char *id, const char *name, struct actions *a,
                 struct servin_error *err)
{
    int ret = img_sql_run(store, err, "DELETE FROM tags WHERE name = ? AND image_id = ?", "ss", name, id);
    if (ret == 0)
        ret = img_sql_run(store, err, "DELETE FROM repo_digests WHERE name = ? AND image_id = ?", "ss", name,
                          id);
    if (ret == 0)
        actions_add(a, "Untagged", servin_image_familiar(name));
    return ret;
}

static int delete_image(struct servin_store *store, const char *id, struct actions *a,
                        struct servin_error *err)
{
    /* Tags, repo digests, layer links and kept blobs go with it (ON DELETE CASCADE); the layers and
     * blobs themselves are left to GC, which frees only what no other image uses. */
    int ret = img_sql_run(store, err, "DELETE FROM images WHERE id = ?", "s", id);
    if (ret == 0) {
        actions_add(a, "Deleted", xstrdup(id));
        a->deleted_any = true;
    }
    return ret;
}

static int all_refs(struct servin_store *store, const char *id, char ***tags, char ***digests,
                    struct servin_error *err)
{
    int ret =
        img_sql_strv(store, err, tags, "SELECT name FROM tags WHERE image_id = ? ORDER BY name", "s", id);
    if (ret < 0)
        return ret;
    return img_sql_strv(store, err, digests, "SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name",
                        "s", id);
}

/* Docker deletes by id without -f only when the image has at most one tag and all its names are in
 * one repository; otherwise the user probably meant a single tag. */
static bool single_reference(char **tags, char **digests)
{
    _cleanup_free_ char *repo = NULL;
    if (tags[0] && tags[1])
        return false;
    for (int pass = 0; pass < 2; pass++) {
        for (char **p = pass ? digests : tags; *p; p++) {
            _cleanup_free_ char *r = servin_image_repo_of(*p);
            if (!repo)
                repo = steal_pointer(&r);
            else if (strcmp(repo, r) != 0)
                return false;
        }
    }
    return true;
}

static int remove_by_name(struct servin_store *store, const char *id, const char *name, struct actions *a,
                          struct servin_error *err)
{
    int ret = untag(store, id, name, a, err);
    if (ret < 0)
        return ret;
    _cleanup_strv_ char **tags = NULL, **digests = NULL;
    ret = all_refs(store, id, &tags, &digests, err);
    if (ret < 0)
        return ret;
    /* When the last tag of a repository goes, its repo digests go too: they would otherwise keep
     * the image listed under a name the user just removed. */
    _cleanup_free_ char *repo = servin_image_repo_of(name);
    bool repo_tagged = false;
    for (char **t = tags; *t; t++) {
        _cleanup_free_ char *r = servin_image_repo_of(*t);
        repo_tagged |= strcmp(r, repo) == 0;
    }
    size_t left = 0;
    for (char **t = tags; *t; t++)
        left++;
    for (char **d = digests; *d; d++) {
        _cleanup_free_ char *r = servin_image_repo_of(*d);
        if (!repo_tagged && strcmp(r, repo) == 0) {
            ret = untag(store, id, *d, a, err);
            if (ret < 0)
                return ret;
        } else {
            left++;
        }
    }
    /* An image a container still uses stays, untagged, as Docker keeps it. */
    if (left > 0 || image_in_use(store, id))
        return 0;
    return delete_image(store, id, a, err);
}

static int remove_by_id(struct servin_store *store, const char *id, bool force, struct actions *a,
                        struct servin_error *err)
{
    _cleanup_strv_ char **tags = NULL, **digests = NULL;
    int ret = all_refs(store, id, &tags, &digests, err);
    if (ret < 0)
        return ret;
    const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
    bool used = image_in_use(store, id);
    if (used && !force)
        return servin_error_set(
            err, EBUSY,
            "conflict: unable to delete %.12s (must be forced) - image is being used by a "
            "container",
            hex);
    if (!force && !single_reference(tags, digests))
        return servin_error_set(err, EBUSY,
                                "conflict: unable to delete %.12s (must be forced) - image is referenced in "
                                "multiple repositories",
                                hex);
    for (int pass = 0; pass < 2; pass++) {
        for (char **p = pass ? digests : tags; *p; p++) {
            ret = untag(store, id, *p, a, err);
            if (ret < 0)
                return ret;
        }
    }
    /* Forced removal of an image in use only untags it: deleting the record would let GC take the
     * layers a container's root filesystem is mounted from. */
    if (used)
        return 0;
    return delete_image(store, id, a, err);
}

static void collect_garbage(struct servin_store *store)
{
    struct servin_error gerr = {0};
    uint64_t freed = 0;
    /* The image is already gone; a failed GC only leaves files the next one removes. */
    if (servin_store_gc_try(store, &freed, &gerr) < 0)
        log_warn("free unused layers and blobs: %s", gerr.msg);
}

int servin_image_remove(struct servin_store *store, const char *text, bool force,
                        servin_image_report_fn report, void *ctx, struct servin_error *err)
{
    struct actions a = {0};
    char id[SERVIN_DIGEST_MAX];
    enum servin_image_match how;
    _cleanup_free_ char *name = NULL;

    int ret = servin_store_begin(store, err);
    if (ret < 0)
        return servin_error_wrap(err, "remove image %s", text);
    ret = servin_image_lookup(store, text, id, &how, &name, err);
    if (ret == 0 && how != SERVIN_IMAGE_BY_ID) {
        /* A digest that matched only the manifest, not a recorded name, removes the image itself. */
        _cleanup_free_ char *owner = NULL;
        ret = img_sql_text(store, err, &owner,
                           "SELECT image_id FROM tags WHERE name = ?1 UNION "
                           "SELECT image_id FROM repo_digests WHERE name = ?1",
                           "s", name);
        if (ret == 0 && !owner)
            how = SERVIN_IMAGE_BY_ID;
    }
    if (ret == 0)
        ret = how == SERVIN_IMAGE_BY_ID ? remove_by_id(store, id, force, &a, err)
                                        : remove_by_name(store, id, name, &a, err);
    if (ret < 0) {
        servin_store_rollback(store);
        actions_flush(&a, NULL, NULL);
        /* "No such image" and conflicts already read as whole sentences, as Docker prints them. */
        return err->code == ENOENT || err->code == EBUSY ? ret
                                                         : servin_error_wrap(err, "remove image %s", text);
    }
    ret = servin_store_commit(store, err);
    if (ret < 0) {
        actions_flush(&a, NULL, NULL);
        return servin_error_wrap(err, "remove image %s", text);
    }
    bool deleted = a.deleted_any;
    actions_journal(store, &a);
    actions_flush(&a, report, ctx);
    if (deleted)
        collect_garbage(store);
    return 0;
}

int servin_image_prune(struct servin_store *store, bool all, servin_image_report_fn report, void *ctx,
                       uint64_t *reclaimed, struct servin_error *err)
{
    return servin_image_prune_matching(store, all, NULL, NULL, report, ctx, reclaimed, err);
}

int servin_image_prune_matching(struct servin_store *store, bool all, servin_image_select_fn select,
                                void *select_ctx, servin_image_report_fn report, void *ctx,
                                uint64_t *reclaimed, struct servin_error *err)
{
    struct actions a = {0};
    _cleanup_strv_ char **ids = NULL;
    *reclaimed = 0;

    int ret = servin_store_begin(store, err);
    if (ret < 0)
        return servin_error_wrap(err, "prune images");
    ret =
        img_sql_strv(store, err, &ids,
                     all ? "SELECT id FROM images ORDER BY added"
                         : "SELECT id FROM images WHERE id NOT IN (SELECT image_id FROM tags) ORDER BY added",
                     NULL);
    for (char **id = ids; ret == 0 && *id; id++) {
        if (image_in_use(store, *id) || (select && !select(store, *id, select_ctx)))
            continue;
        _cleanup_strv_ char **tags = NULL, **digests = NULL;
        ret = all_refs(store, *id, &tags, &digests, err);
        for (int pass = 0; ret == 0 && pass < 2; pass++)
            for (char **p = pass ? digests : tags; ret == 0 && *p; p++)
                ret = untag(store, *id, *p, &a, err);
        if (ret == 0)
            ret = delete_image(store, *id, &a, err);
    }
    if (ret < 0) {
        servin_store_rollback(store);
        actions_flush(&a, NULL, NULL);
        return servin_error_wrap(err, "prune images");
    }
    ret = servin_store_commit(store, err);
    if (ret < 0) {
        actions_flush(&a, NULL, NULL);
        return servin_error_wrap(err, "prune images");
    }
    actions_journal(store, &a);
    actions_flush(&a, report, ctx);
    /* Prune is asked for explicitly to free space, so it waits for the GC lock. */
    ret = servin_store_gc(store, reclaimed, err);
    if (ret < 0)
        return servin_error_wrap(err, "prune images");
    return 0;
}
