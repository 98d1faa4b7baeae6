/* daemon/images.c — /images/...: list, inspect, history, tag, remove, pull, push, save, load, prune. */
#include <errno.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "servin/archive.h"
#include "servin/cleanup.h"
#include "servin/events.h"
#include "servin/image.h"
#include "servin/reference.h"
#include "servin/registry.h"

/* The image named by the path, or a 404 reply. */
static int resolve(struct dreq *r, const char *name, char id[SERVIN_DIGEST_MAX], struct servin_store **store)
{
    struct servin_error err = {0};
    *store = dreq_store(r, &err);
    if (!*store)
        return dreply_servin_error(r, &err), -1;
    if (servin_image_resolve(*store, name, id, &err) < 0) {
        if (err.code == ENOENT)
            return dreply_error(r, 404, "No such image: %s", name), -1;
        return dreply_servin_error(r, &err), -1;
    }
    return 0;
}

static json_t *familiar_list(char **names)
{
    json_t *a = json_array();
    for (char **p = names; p && *p; p++) {
        _cleanup_free_ char *f = servin_image_familiar(*p);
        json_array_append_new(a, json_string(f));
    }
    return a;
}

static bool any_glob(json_t *patterns, char **names)
{
    size_t i;
    json_t *pat;
    json_array_foreach (patterns, i, pat) {
        for (char **p = names; p && *p; p++) {
            _cleanup_free_ char *f = servin_image_familiar(*p);
            _cleanup_free_ char *repo = xstrndup(f, strcspn(f, "@"));
            char *colon = strrchr(repo, ':');
            if (colon && !strchr(colon, '/'))
                *colon = '\0';
            const char *g = json_string_value(pat);
            if (fnmatch(g, f, 0) == 0 || fnmatch(g, repo, 0) == 0 || fnmatch(g, *p, 0) == 0)
                return true;
        }
    }
    return false;
}

static int list(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *filters = NULL;
    if (!store || daemon_parse_filters(dreq_query(r, "filters"), &filters, &err) < 0)
        return dreply_servin_error(r, &err);
    struct servin_image_summary *imgs = NULL;
    size_t n = 0;
    if (servin_image_list(store, &imgs, &n, &err) < 0) {
        json_decref(filters);
        return dreply_servin_error(r, &err);
    }
    json_t *dangling = json_object_get(filters, "dangling");
    json_t *reference = json_object_get(filters, "reference");
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        bool untagged = !imgs[i].tags || !imgs[i].tags[0];
        if (json_array_size(dangling)) {
            const char *v = json_string_value(json_array_get(dangling, 0));
            bool want = v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
            if (want != untagged)
                continue;
        }
        if (json_array_size(reference) && !any_glob(reference, imgs[i].tags))
            continue;
        long long created = imgs[i].created ? servin_time_parse_rfc3339(imgs[i].created) : -1;
        json_t *tags = familiar_list(imgs[i].tags);
        json_t *digests = familiar_list(imgs[i].repo_digests);
        if (untagged && !dreq_version_at_least(r, "1.44")) {
            /* Before 1.44 Docker listed "<none>:<none>" for an untagged image. */
            json_array_append_new(tags, json_string("<none>:<none>"));
            if (!json_array_size(digests))
                json_array_append_new(digests, json_string("<none>@<none>"));
        }
        json_array_append_new(out,
                              json_pack("{s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:{},s:i}", "Id", imgs[i].id,
                                        "ParentId", "", "RepoTags", tags, "RepoDigests", digests, "Created",
                                        (json_int_t)(created < 0 ? imgs[i].added : created), "Size",
                                        (json_int_t)imgs[i].size, "VirtualSize", (json_int_t)imgs[i].size,
                                        "SharedSize", (json_int_t)-1, "Labels", "Containers", -1));
    }
    servin_image_summaries_free(imgs, n);
    json_decref(filters);
    return dreply_json(r, 200, out);
}

static int inspect(struct dreq *r)
{
    char id[SERVIN_DIGEST_MAX];
    struct servin_store *store;
    if (resolve(r, r->params[0], id, &store) < 0)
        return 0;
    struct servin_error err = {0};
    json_t *j = NULL;
    if (servin_image_inspect_json(store, id, &j, &err) < 0)
        return dreply_servin_error(r, &err);
    return dreply_json(r, 200, j);
}

static int history(struct dreq *r)
{
    char id[SERVIN_DIGEST_MAX];
    struct servin_store *store;
    if (resolve(r, r->params[0], id, &store) < 0)
        return 0;
    struct servin_error err = {0};
    json_t *entries = NULL;
    struct servin_image_summary s;
    if (servin_image_history(store, id, &entries, &err) < 0)
        return dreply_servin_error(r, &err);
    if (servin_image_get(store, id, &s, &err) < 0) {
        json_decref(entries);
        return dreply_servin_error(r, &err);
    }
    json_t *out = json_array();
    for (size_t k = json_array_size(entries); k-- > 0;) {
        json_t *e = json_array_get(entries, k);
        const char *created = json_string_value(json_object_get(e, "created"));
        const char *by = json_string_value(json_object_get(e, "created_by"));
        const char *comment = json_string_value(json_object_get(e, "comment"));
        bool top = k == json_array_size(entries) - 1;
        long long t = created ? servin_time_parse_rfc3339(created) : 0;
        json_array_append_new(out,
                              json_pack("{s:s,s:I,s:s,s:o,s:O,s:s}", "Id", top ? id : "<missing>", "Created",
                                        (json_int_t)(t < 0 ? 0 : t), "CreatedBy", by ? by : "", "Tags",
                                        top ? familiar_list(s.tags) : json_null(), "Size",
                                        json_object_get(e, "Size"), "Comment", comment ? comment : ""));
    }
    servin_image_summary_clear(&s);
    json_decref(entries);
    return dreply_json(r, 200, out);
}

/* "repo" + "tag" query as one normalised "name:tag". */
static char *normalised_tag(const char *repo, const char *tag, struct servin_error *err)
{
    _cleanup_free_ char *text = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
    struct servin_ref ref = {0};
    if (servin_ref_parse(text, &ref, err) < 0)
        return NULL;
    if (ref.digest) {
        servin_ref_free(&ref);
        servin_error_set(err, EINVAL, "refusing to create a tag with a digest reference: %s", text);
        return NULL;
    }
    char *s = servin_ref_string(&ref);
    servin_ref_free(&ref);
    return s;
}

static int tag(struct dreq *r)
{
    char id[SERVIN_DIGEST_MAX];
    struct servin_store *store;
    const char *repo = dreq_query(r, "repo");
    if (!repo || !*repo)
        return dreply_error(r, 400, "repository name (repo) is required");
    if (resolve(r, r->params[0], id, &store) < 0)
        return 0;
    struct servin_error err = {0};
    _cleanup_free_ char *name = normalised_tag(repo, dreq_query(r, "tag"), &err);
    if (!name || servin_image_tag(store, id, name, &err) < 0)
        return dreply_servin_error(r, &err);
    return dreply_empty(r, 201);
}

static void collect(void *ctx, const char *action, const char *what)
{
    json_array_append_new(ctx, json_pack("{s:s}", action, what));
}

static int remove_image(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    if (!store)
        return dreply_servin_error(r, &err);
    json_t *out = json_array();
    if (servin_image_remove(store, r->params[0], dreq_query_bool(r, "force", false), collect, out, &err) <
        0) {
        json_decref(out);
        if (err.code == ENOENT)
            return dreply_error(r, 404, "No such image: %s", r->params[0]);
        return dreply_servin_error(r, &err);
    }
    return dreply_json(r, 200, out);
}

static int prune(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *filters = NULL;
    if (!store || daemon_parse_filters(dreq_query(r, "filters"), &filters, &err) < 0)
        return dreply_servin_error(r, &err);
    const char *d = json_string_value(json_array_get(json_object_get(filters, "dangling"), 0));
    bool all = d && (strcmp(d, "false") == 0 || strcmp(d, "0") == 0);
    json_decref(filters);
    json_t *deleted = json_array();
    uint64_t reclaimed = 0;
    if (servin_image_prune(store, all, collect, deleted, &reclaimed, &err) < 0) {
        json_decref(deleted);
        return dreply_servin_error(r, &err);
    }
    return dreply_json(
        r, 200, json_pack("{s:o,s:I}", "ImagesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed));
}

static int search(struct dreq *r)
{
    return dreply_error(r, 501,
                        "image search is not supported by servin: registries are reached by name "
                        "(servin pull HOST/REPO:TAG); the v2 registry API has no search");
}

/* ---- pull and push: JSON progress streams ---- */

/* X-Registry-Auth (base64url JSON {username, password, serveraddress}) as a private auth file, so
 * the registry client finds the credentials the way it always does. NULL when there are none. */
static char *auth_file_from_header(struct dreq *r, const char *default_server)
{
    const char *h = dreq_header(r, "X-Registry-Auth");
    if (!h || !*h)
        return NULL;
    size_t len = strlen(h);
    _cleanup_free_ char *b64 = xmalloc(len + 4);
    size_t j = 0;
    for (size_t i = 0; i < len; i++)
        b64[j++] = h[i] == '-' ? '+' : h[i] == '_' ? '/' : h[i];
    while (j % 4)
        b64[j++] = '=';
    b64[j] = '\0';
    _cleanup_free_ unsigned char *raw = xmalloc(j + 1);
    int n = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)j);
    if (n < 0)
        return NULL;
    while (n > 0 && raw[n - 1] == '\0')
        n--;
    json_t *a = json_loadb((const char *)raw, (size_t)n, 0, NULL);
    const char *user = json_string_value(json_object_get(a, "username"));
    const char *pass = json_string_value(json_object_get(a, "password"));
    const char *server = json_string_value(json_object_get(a, "serveraddress"));
    if (!user || !*user || !pass) {
        json_decref(a);
        return NULL;
    }
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    char *path = store ? servin_store_path(store, "tmp/auth-%d-%p.json", getpid(), (void *)r) : NULL;
    _cleanup_free_ char *host = NULL;
    const char *s = server && *server ? server : default_server;
    const char *h2 = strstr(s, "://") ? strstr(s, "://") + 3 : s;
    host = xstrndup(h2, strcspn(h2, "/"));
    if (!path || servin_authfile_set(path, host, user, pass, &err) < 0) {
        free(path);
        path = NULL;
    }
    json_decref(a);
    return path;
}

struct registry_job {
    char *root;
    char *ref;
    char *platform;
    char *auth_file;
};

static void registry_job_free(void *p)
{
    struct registry_job *j = p;
    if (j->auth_file)
        unlink(j->auth_file);
    free(j->root);
    free(j->ref);
    free(j->platform);
    free(j->auth_file);
    free(j);
}

static void stream_error(FILE *out, const char *msg)
{
    json_t *m = json_pack("{s:{s:s},s:s}", "errorDetail", "message", msg, "error", msg);
    json_dumpf(m, out, JSON_COMPACT);
    fputc('\n', out);
    fflush(out);
    json_decref(m);
}

static void pull_stream(void *arg, FILE *out)
{
    struct registry_job *j = arg;
    struct servin_error err = {0};
    _cleanup_store_ struct servin_store *store = NULL;
    struct servin_platform platform;
    struct servin_pull_opts opts = {.auth_file = j->auth_file};
    if (j->platform && *j->platform) {
        if (servin_platform_parse(j->platform, &platform, &err) < 0)
            return stream_error(out, err.msg);
        opts.platform = &platform;
    }
    if (daemon_store_open(j->root, &store, &err) < 0)
        return stream_error(out, err.msg);
    struct servin_progress *progress = servin_progress_new_json(out);
    opts.progress = progress;
    struct servin_pull_result res = {0};
    int rc = servin_registry_pull(store, j->ref, &opts, &res, &err);
    servin_progress_free(progress);
    if (rc < 0)
        return stream_error(out, err.msg);
    fprintf(out, "{\"status\":\"Digest: %s\"}\n", res.manifest_digest);
    json_t *m =
        json_pack("{s:s+}", "status",
                  res.up_to_date ? "Status: Image is up to date for " : "Status: Downloaded newer image for ",
                  res.familiar ? res.familiar : j->ref);
    json_dumpf(m, out, JSON_COMPACT);
    fputc('\n', out);
    json_decref(m);
    servin_pull_result_free(&res);
}

static const char *default_root(struct dreq *r)
{
    return r->d->root ? r->d->root : SERVIN_DEFAULT_ROOT;
}

static char *registry_of(const char *ref_text)
{
    struct servin_ref ref = {0};
    struct servin_error err = {0};
    if (servin_ref_parse(ref_text, &ref, &err) < 0)
        return xstrdup("docker.io");
    char *d = xstrdup(ref.domain);
    servin_ref_free(&ref);
    return d;
}

/* fromSrc: `docker import` — a rootfs tarball as the body ("-") or at an http(s) URL, made into a
 * one-layer image as `servin import` makes it; one JSON message with the new image's id. */
static int import_image(struct dreq *r, const char *src)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    if (!store)
        return dreply_servin_error(r, &err);
    bool from_body = strcmp(src, "-") == 0;
    if (!from_body && strncmp(src, "http://", 7) != 0 && strncmp(src, "https://", 8) != 0)
        return dreply_error(r, 400, "fromSrc must be - (the request body) or an http(s) URL: %s", src);
    if (from_body && r->body_fd < 0)
        return dreply_error(r, 400, "fromSrc=- needs the tarball as the request body");
    const char *repo = dreq_query(r, "repo"), *tagq = dreq_query(r, "tag");
    _cleanup_free_ char *tag = NULL;
    if (repo && *repo)
        tag = tagq && *tagq ? xasprintf("%s:%s", repo, tagq) : xstrdup(repo);
    json_t *changes = dreq_query_all(r, "changes");
    size_t n = json_array_size(changes);
    const char **list = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        list[i] = json_string_value(json_array_get(changes, i));
    const char *message = dreq_query(r, "message");
    const char *platform = dreq_query(r, "platform");
    struct servin_import_opts o = {.changes = list,
                                   .n_changes = n,
                                   .message = message && *message ? message : NULL,
                                   .platform = platform && *platform ? platform : NULL,
                                   .tag = tag};
    char id[SERVIN_DIGEST_MAX];
    int rc = from_body ? servin_image_import_fd(store, r->body_fd, &o, id, &err)
                       : servin_image_import_url(store, src, &o, id, &err);
    free(list);
    json_decref(changes);
    if (rc < 0)
        return dreply_servin_error(r, &err);
    json_t *attrs = tag ? json_pack("{s:s}", "name", tag) : NULL;
    servin_event_emit(store, "image", "import", id, attrs);
    return dreply_json(r, 200, json_pack("{s:s}", "status", id));
}

static int create(struct dreq *r)
{
    const char *from = dreq_query(r, "fromImage");
    if (!from || !*from) {
        const char *src = dreq_query(r, "fromSrc");
        if (src && *src)
            return import_image(r, src);
        return dreply_error(r, 400, "fromImage or fromSrc is required");
    }
    const char *tagq = dreq_query(r, "tag");
    struct registry_job *j = xcalloc(1, sizeof(*j));
    if (tagq && *tagq)
        j->ref = strncmp(tagq, "sha256:", 7) == 0 ? xasprintf("%s@%s", from, tagq)
                                                  : xasprintf("%s:%s", from, tagq);
    else
        j->ref = xstrdup(from);
    struct servin_ref ref = {0};
    struct servin_error err = {0};
    if (servin_ref_parse(j->ref, &ref, &err) < 0) {
        registry_job_free(j);
        return dreply_servin_error(r, &err);
    }
    servin_ref_free(&ref);
    const char *platform = dreq_query(r, "platform");
    j->platform = platform ? xstrdup(platform) : NULL;
    j->root = xstrdup(default_root(r));
    _cleanup_free_ char *registry = registry_of(j->ref);
    j->auth_file = auth_file_from_header(r, registry);
    return dreply_stream(r, 200, "application/json", pull_stream, j, registry_job_free);
}

static void push_stream(void *arg, FILE *out)
{
    struct registry_job *j = arg;
    struct servin_error err = {0};
    _cleanup_store_ struct servin_store *store = NULL;
    if (daemon_store_open(j->root, &store, &err) < 0)
        return stream_error(out, err.msg);
    struct servin_progress *progress = servin_progress_new_json(out);
    struct servin_push_opts opts = {.progress = progress, .auth_file = j->auth_file};
    struct servin_push_result res = {0};
    int rc = servin_registry_push(store, j->ref, &opts, &res, &err);
    servin_progress_free(progress);
    if (rc < 0)
        return stream_error(out, err.msg);
    const char *t = res.tag ? res.tag : "latest";
    fprintf(out, "{\"status\":\"%s: digest: %s size: %llu\"}\n", t, res.manifest_digest,
            (unsigned long long)res.manifest_size);
    json_t *aux = json_pack("{s:{},s:{s:s,s:s,s:I}}", "progressDetail", "aux", "Tag", t, "Digest",
                            res.manifest_digest, "Size", (json_int_t)res.manifest_size);
    json_dumpf(aux, out, JSON_COMPACT);
    fputc('\n', out);
    json_decref(aux);
    servin_push_result_free(&res);
}

static int push(struct dreq *r)
{
    char id[SERVIN_DIGEST_MAX];
    struct servin_store *store;
    const char *tagq = dreq_query(r, "tag");
    _cleanup_free_ char *text =
        tagq && *tagq ? xasprintf("%s:%s", r->params[0], tagq) : xstrdup(r->params[0]);
    if (resolve(r, text, id, &store) < 0)
        return 0;
    struct registry_job *j = xcalloc(1, sizeof(*j));
    j->ref = steal_pointer(&text);
    j->root = xstrdup(default_root(r));
    _cleanup_free_ char *registry = registry_of(j->ref);
    j->auth_file = auth_file_from_header(r, registry);
    return dreply_stream(r, 200, "application/json", push_stream, j, registry_job_free);
}

/* ---- save and load ---- */

struct save_job {
    char *root;
    json_t *names;
};

static void save_job_free(void *p)
{
    struct save_job *j = p;
    free(j->root);
    json_decref(j->names);
    free(j);
}

static void save_stream(void *arg, FILE *out)
{
    struct save_job *j = arg;
    struct servin_error err = {0};
    _cleanup_store_ struct servin_store *store = NULL;
    if (daemon_store_open(j->root, &store, &err) < 0)
        return;
    size_t n = json_array_size(j->names);
    const char **names = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        names[i] = json_string_value(json_array_get(j->names, i));
    fflush(out);
    /* The archive goes straight to the stream's socket: a tar is no JSON, nothing is buffered. */
    int fd = dstream_fd(out);
    if (servin_archive_save_fd(store, names, n, SERVIN_ARCHIVE_DOCKER, fd, &err) < 0)
        dstream_abort(out);
    free(names);
}

static int save_names(struct dreq *r, json_t *names)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    if (!store) {
        json_decref(names);
        return dreply_servin_error(r, &err);
    }
    if (!json_array_size(names)) {
        json_decref(names);
        return dreply_error(r, 400, "no image names given");
    }
    size_t i;
    json_t *v;
    json_array_foreach (names, i, v) {
        char id[SERVIN_DIGEST_MAX];
        if (servin_image_resolve(store, json_string_value(v), id, &err) < 0) {
            json_decref(names);
            return dreply_error(r, 404, "No such image: %s", json_string_value(v));
        }
    }
    struct save_job *j = xcalloc(1, sizeof(*j));
    j->root = xstrdup(default_root(r));
    j->names = names;
    return dreply_stream(r, 200, "application/x-tar", save_stream, j, save_job_free);
}

static int get_one(struct dreq *r)
{
    return save_names(r, json_pack("[s]", r->params[0]));
}

static int get_many(struct dreq *r)
{
    return save_names(r, dreq_query_all(r, "names"));
}

struct load_out {
    json_t *lines;
};

static void report_loaded(void *ctx, const char *tag, const char *id)
{
    _cleanup_free_ char *text =
        tag ? xasprintf("Loaded image: %s\n", tag) : xasprintf("Loaded image ID: %s\n", id);
    json_array_append_new(ctx, json_pack("{s:s}", "stream", text));
}

static int load(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    if (!store)
        return dreply_servin_error(r, &err);
    if (r->body_fd < 0)
        return dreply_error(r, 400, "the request body must be a tar archive of images");
    json_t *lines = json_array();
    if (servin_archive_load_fd(store, r->body_fd, report_loaded, lines, &err) < 0) {
        json_decref(lines);
        servin_error_wrap(&err, "load");
        return dreply_error(r, err.code == ENOENT || err.code == EINVAL ? 400 : 500, "%s", err.msg);
    }
    /* One JSON message per line, as Docker streams them. */
    char *text = xstrdup("");
    size_t i;
    json_t *l;
    json_array_foreach (lines, i, l) {
        _cleanup_free_ char *one = json_dumps(l, JSON_COMPACT);
        char *n = xasprintf("%s%s\n", text, one);
        free(text);
        text = n;
    }
    json_decref(lines);
    dreply_text(r, 200, "application/json", text, strlen(text));
    free(text);
    return 0;
}

const struct droute daemon_image_routes[] = {
    {"GET", "/images/json", list, 0},
    {"POST", "/images/create", create, DROUTE_BODY_FILE},
    {"POST", "/images/load", load, DROUTE_BODY_FILE},
    {"POST", "/images/prune", prune, 0},
    {"GET", "/images/search", search, 0},
    {"GET", "/images/get", get_many, 0},
    {"GET", "/images/**/json", inspect, 0},
    {"GET", "/images/**/history", history, 0},
    {"GET", "/images/**/get", get_one, 0},
    {"POST", "/images/**/tag", tag, 0},
    {"POST", "/images/**/push", push, 0},
    {"DELETE", "/images/**", remove_image, 0},
    {"POST", "/build", daemon_build, DROUTE_BODY_FILE},
    {NULL, NULL, NULL, 0},
};
