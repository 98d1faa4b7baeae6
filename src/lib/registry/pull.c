/* registry/pull.c — `pull`: manifest (and index), config, layers fetched and unpacked in parallel, then
 * register. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/pull_internal.h"
#include "registry/registry_internal.h"
#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/content.h"
#include "servin/events.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/log.h"
#include "servin/reference.h"
#include "servin/unpack.h"

/* Configs are small JSON documents; anything near this is not one. */
#define CONFIG_MAX (32u * 1024 * 1024)

void servin_pull_result_free(struct servin_pull_result *r)
{
    if (!r)
        return;
    free(r->reference);
    free(r->familiar);
    r->reference = r->familiar = NULL;
}

int reg_fetch_manifest(struct reg_session *s, const char *path, const char *ref, const char *scope,
                       struct fetched_manifest *out, struct servin_error *err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_free_ char *url = xasprintf("/v2/%s/manifests/%s", path, ref);
    const char *headers[] = {reg_manifest_accept, NULL};
    struct reg_req req = {.method = "GET",
                          .url = url,
                          .scope = scope,
                          .headers = headers,
                          .max_body = SERVIN_MANIFEST_MAX,
                          .follow = true};
    struct reg_resp resp = {0};
    int ret = reg_request(s, &req, &resp, err);
    if (ret < 0) {
        reg_resp_free(&resp);
        if (err && err->code == EFBIG)
            return servin_error_set(err, EFBIG, "manifest %s is larger than the %u MiB limit", ref,
                                    SERVIN_MANIFEST_MAX / (1024 * 1024));
        return ret;
    }
    if (resp.status != 200) {
        ret = reg_status_error(&resp, err);
        reg_resp_free(&resp);
        return ret;
    }
    /* The digest is always computed from the bytes; Docker-Content-Digest is only informative. */
    servin_digest_bytes(resp.body ? resp.body : "", resp.body_len, out->digest);
    if (strncmp(ref, "sha256:", 7) == 0 && strcmp(ref, out->digest) != 0) {
        reg_resp_free(&resp);
        return servin_error_set(err, EBADMSG, "manifest digest mismatch: asked for %s, got content with %s",
                                ref, out->digest);
    }
    if (resp.docker_digest && strcmp(resp.docker_digest, out->digest) != 0)
        log_debug("registry says manifest %s has digest %s; computed %s", ref, resp.docker_digest,
                  out->digest);
    ret = reg_manifest_parse(resp.body ? resp.body : "", resp.body_len, resp.content_type, &out->json,
                             &out->media_type, err);
    if (ret < 0) {
        reg_resp_free(&resp);
        return ret;
    }
    out->data = resp.body;
    out->len = resp.body_len;
    resp.body = NULL;
    reg_resp_free(&resp);
    return 0;
}

void reg_fetched_manifest_free(struct fetched_manifest *m)
{
    free(m->data);
    free(m->media_type);
    json_decref(m->json);
    memset(m, 0, sizeof(*m));
}

/* Fetch a small blob (the config) into memory, verified against its digest. */
static int fetch_small_blob(struct reg_session *s, const char *path, const char *digest, const char *scope,
                            char **data, size_t *len, struct servin_error *err)
{
    _cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", path, digest);
    struct reg_req req = {
        .method = "GET", .url = url, .scope = scope, .max_body = CONFIG_MAX, .follow = true};
    struct reg_resp resp = {0};
    int ret = reg_request(s, &req, &resp, err);
    if (ret == 0 && resp.status != 200)
        ret = reg_status_error(&resp, err);
    if (ret == 0) {
        char got[SERVIN_DIGEST_MAX];
        servin_digest_bytes(resp.body ? resp.body : "", resp.body_len, got);
        if (strcmp(got, digest) != 0)
            ret = servin_error_set(err, EBADMSG, "digest mismatch: blob %s has content with digest %s",
                                   digest, got);
    }
    if (ret < 0) {
        reg_resp_free(&resp);
        return servin_error_wrap(err, "fetch config %.19s", digest);
    }
    *data = resp.body ? resp.body : xstrdup("");
    *len = resp.body_len;
    resp.body = NULL;
    reg_resp_free(&resp);
    return 0;
}

static bool is_layer_media_type(const char *mt)
{
    static const char *const ok[] = {SERVIN_MT_OCI_LAYER, SERVIN_MT_OCI_LAYER_GZIP, SERVIN_MT_OCI_LAYER_ZSTD,
                                     SERVIN_MT_DOCKER_LAYER, "application/vnd.docker.image.rootfs.diff.tar"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(mt, ok[i]) == 0)
            return true;
    return false;
}

/* Read the layers of a manifest, and the diff ids of its config, into jobs. */
static int plan_layers(json_t *manifest, json_t *config, struct layer_job **jobs_out, size_t *n_out,
                       struct servin_error *err)
{
    json_t *layers = json_object_get(manifest, "layers");
    json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    if (!json_is_array(layers))
        return servin_error_set(err, EPROTO, "the manifest has no \"layers\" array");
    if (!json_is_array(diff_ids))
        return servin_error_set(err, EPROTO, "the image config has no rootfs.diff_ids");
    size_t n = json_array_size(layers);
    if (json_array_size(diff_ids) != n)
        return servin_error_set(err, EPROTO, "the manifest lists %zu layers but the config %zu diff ids", n,
                                json_array_size(diff_ids));
    struct layer_job *jobs = xcalloc(n ? n : 1, sizeof(*jobs));
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(layers, i);
        const char *d = json_string_value(json_object_get(l, "digest"));
        const char *mt = json_string_value(json_object_get(l, "mediaType"));
        const char *diff = json_string_value(json_array_get(diff_ids, i));
        json_t *size = json_object_get(l, "size");
        int ret = 0;
        if (!d || !servin_digest_valid(d))
            ret = servin_error_set(err, EPROTO, "layer %zu has an invalid or unsupported digest \"%.80s\"",
                                   i + 1, d ? d : "");
        else if (!diff || !servin_digest_valid(diff))
            ret = servin_error_set(err, EPROTO, "diff id %zu in the config is invalid \"%.80s\"", i + 1,
                                   diff ? diff : "");
        else if (!json_is_integer(size) || json_integer_value(size) < 0)
            ret = servin_error_set(err, EPROTO, "layer %s has no valid size", d);
        else if (mt && !is_layer_media_type(mt))
            ret = servin_error_set(err, EPROTO, "layer %s has unsupported media type %s", d, mt);
        if (ret < 0) {
            for (size_t k = 0; k < i; k++)
                free(jobs[k].media_type);
            free(jobs);
            return ret;
        }
        struct layer_job *j = &jobs[i];
        j->index = i;
        snprintf(j->digest, sizeof(j->digest), "%s", d);
        j->media_type = xstrdup(mt ? mt : SERVIN_MT_OCI_LAYER_GZIP);
        j->size = (uint64_t)json_integer_value(size);
        snprintf(j->diff_id, sizeof(j->diff_id), "%s", diff);
        snprintf(j->short_id, sizeof(j->short_id), "%.12s", servin_digest_hex(d));
        servin_chain_id(i ? jobs[i - 1].chain_id : NULL, diff, j->chain_id);
        if (i)
            snprintf(j->parent_chain, sizeof(j->parent_chain), "%s", jobs[i - 1].chain_id);
        j->dup_of = -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(jobs[k].digest, d) == 0) {
                j->dup_of = (long)k;
                break;
            }
    }
    *jobs_out = jobs;
    *n_out = n;
    return 0;
}

static void free_jobs(struct layer_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(jobs[i].media_type);
    free(jobs);
}

/* Undo what a failed pull added, so that the store is as it was. */
static void remove_new_content(struct servin_store *store, struct layer_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].new_blob) {
            _cleanup_free_ char *p = servin_content_path(store, jobs[i].digest);
            unlink(p);
        }
        if (jobs[i].new_layer) {
            _cleanup_free_ char *p =
                servin_store_path(store, "layers/%s", servin_digest_hex(jobs[i].chain_id));
            servin_rm_rf(p, NULL);
        }
    }
}

static int check_platform(json_t *config, const struct servin_platform *want, bool explicit,
                          const struct servin_ref *ref, struct servin_error *err)
{
    const char *os = json_string_value(json_object_get(config, "os"));
    const char *arch = json_string_value(json_object_get(config, "architecture"));
    const char *variant = json_string_value(json_object_get(config, "variant"));
    if (!os || !arch)
        return 0;
    _cleanup_free_ char *text =
        xasprintf("%s/%s%s%s", os, arch, variant && *variant ? "/" : "", variant && *variant ? variant : "");
    struct servin_platform have;
    if (servin_platform_parse(text, &have, NULL) < 0)
        return 0;
    bool variant_ok = !want->variant[0] || !have.variant[0] || strcmp(want->variant, have.variant) == 0;
    if (strcmp(have.os, want->os) == 0 && strcmp(have.arch, want->arch) == 0 && variant_ok)
        return 0;
    _cleanup_free_ char *name = servin_ref_string(ref);
    if (!explicit) {
        log_warn("the image %s is for %s, which does not match the host platform %s/%s", name, text, want->os,
                 want->arch);
        return 0;
    }
    return servin_error_set(err, ENOENT,
                            "image with reference %s was found but does not match the specified platform: "
                            "wanted %s/%s%s%s, actual: %s",
                            name, want->os, want->arch, want->variant[0] ? "/" : "", want->variant, text);
}

static char *familiar_ref(const struct servin_ref *ref)
{
    _cleanup_free_ char *name = servin_ref_familiar_name(ref);
    if (ref->tag)
        return xasprintf("%s:%s", name, ref->tag);
    return xasprintf("%s@%s", name, ref->digest);
}

static int pull_ref(struct servin_store *store, struct reg_session *s, const struct servin_ref *ref,
                    const struct servin_pull_opts *opts, struct servin_pull_result *result,
                    struct servin_error *err)
{
    struct servin_platform host;
    const struct servin_platform *want = opts->platform;
    if (!want) {
        servin_platform_host(&host);
        want = &host;
    }
    _cleanup_free_ char *scope = xasprintf("repository:%s:pull", ref->path);
    _cleanup_free_ char *name = servin_ref_name(ref);
    const char *target = ref->digest ? ref->digest : ref->tag;

    struct fetched_manifest top = {0}, child = {0};
    int ret = reg_fetch_manifest(s, ref->path, target, scope, &top, err);
    if (ret < 0)
        return ret;
    servin_progress_line(opts->progress, "%s: Pulling from %s",
                         ref->tag && !ref->digest ? ref->tag : ref->digest, ref->path);
    struct fetched_manifest *m = &top;
    if (reg_media_type_is_index(top.media_type)) {
        char digest[SERVIN_DIGEST_MAX];
        ret = servin_manifest_select_platform(top.json, want, digest, err);
        if (ret == 0)
            ret = reg_fetch_manifest(s, ref->path, digest, scope, &child, err);
        if (ret == 0 && !reg_media_type_is_manifest(child.media_type))
            ret = servin_error_set(err, EPROTO, "the index entry %s is not an image manifest", digest);
        if (ret < 0) {
            reg_fetched_manifest_free(&top);
            reg_fetched_manifest_free(&child);
            return ret;
        }
        m = &child;
    }

    json_t *cfg_desc = json_object_get(m->json, "config");
    const char *cfg_digest = json_string_value(json_object_get(cfg_desc, "digest"));
    _cleanup_free_ char *cfg_data = NULL;
    size_t cfg_len = 0;
    json_t *config = NULL;
    struct layer_job *jobs = NULL;
    size_t n_jobs = 0;
    bool up_to_date = false;
    bool cfg_present = false;
    _cleanup_close_ int lock_fd = -1;

    if (!cfg_digest || !servin_digest_valid(cfg_digest)) {
        ret = servin_error_set(err, EPROTO, "the manifest has no valid config digest");
        goto out;
    }
    /* GC must not delete what we write before the image record keeps it alive. */
    ret = servin_store_lock(store, "gc", SERVIN_LOCK_SHARED, &lock_fd, err);
    if (ret < 0)
        goto out;

    cfg_present = servin_content_has(store, cfg_digest, NULL);
    if (cfg_present)
        ret = servin_content_read(store, cfg_digest, &cfg_data, &cfg_len, err);
    else
        ret = fetch_small_blob(s, ref->path, cfg_digest, scope, &cfg_data, &cfg_len, err);
    if (ret < 0)
        goto out;
    config = json_loadb(cfg_data, cfg_len, 0, NULL);
    if (!json_is_object(config)) {
        ret = servin_error_set(err, EPROTO, "the image config %.19s is not a JSON object", cfg_digest);
        goto out;
    }
    /* A single-platform image says its platform only in the config; index entries were already chosen. */
    if (m == &top) {
        ret = check_platform(config, want, opts->platform != NULL, ref, err);
        if (ret < 0)
            goto out;
    }
    ret = plan_layers(m->json, config, &jobs, &n_jobs, err);
    if (ret < 0)
        goto out;

    {
        char old_id[SERVIN_DIGEST_MAX];
        _cleanup_free_ char *full = servin_ref_string(ref);
        struct servin_error ignore = {0};
        up_to_date =
            servin_image_resolve(store, full, old_id, &ignore) == 0 && strcmp(old_id, cfg_digest) == 0;
    }

    ret = reg_fetch_layers(store, s, ref->path, scope, jobs, n_jobs, opts->progress, err);
    if (ret < 0) {
        remove_new_content(store, jobs, n_jobs);
        goto out;
    }

    /* Metadata blobs last: a failed pull leaves no manifest or config behind. */
    char stored[SERVIN_DIGEST_MAX];
    ret = servin_content_put(store, cfg_data, cfg_len, cfg_digest, stored, err);
    if (ret == 0)
        ret = servin_content_put(store, m->data, m->len, m->digest, stored, err);
    if (ret == 0 && m != &top)
        ret = servin_content_put(store, top.data, top.len, top.digest, stored, err);
    if (ret < 0) {
        remove_new_content(store, jobs, n_jobs);
        goto out;
    }

    {
        struct servin_layer_desc *descs = xcalloc(n_jobs ? n_jobs : 1, sizeof(*descs));
        for (size_t i = 0; i < n_jobs; i++) {
            memcpy(descs[i].blob_digest, jobs[i].digest, SERVIN_DIGEST_MAX);
            descs[i].blob_media_type = jobs[i].media_type;
            descs[i].blob_size = jobs[i].size;
            memcpy(descs[i].diff_id, jobs[i].diff_id, SERVIN_DIGEST_MAX);
            memcpy(descs[i].chain_id, jobs[i].chain_id, SERVIN_DIGEST_MAX);
            descs[i].size = jobs[i].unpacked_size;
        }
        char extra[1][SERVIN_DIGEST_MAX];
        memcpy(extra[0], top.digest, SERVIN_DIGEST_MAX);
        _cleanup_free_ char *tag = ref->tag ? xasprintf("%s:%s", name, ref->tag) : NULL;
        _cleanup_free_ char *repo_digest = xasprintf("%s@%s", name, top.digest);
        struct servin_image_record rec = {
            .manifest_media_type = m->media_type,
            .n_layers = n_jobs,
            .layers = descs,
            .n_extra_blobs = m != &top ? 1 : 0,
            .extra_blobs = m != &top ? extra : NULL,
            .tag = tag,
            .repo_digest = repo_digest,
        };
        memcpy(rec.config_digest, cfg_digest, SERVIN_DIGEST_MAX);
        memcpy(rec.manifest_digest, m->digest, SERVIN_DIGEST_MAX);
        ret = servin_image_register(store, &rec, err);
        free(descs);
        if (ret < 0)
            goto out;
    }

    memcpy(result->image_id, cfg_digest, SERVIN_DIGEST_MAX);
    memcpy(result->manifest_digest, top.digest, SERVIN_DIGEST_MAX);
    result->reference = servin_ref_string(ref);
    result->familiar = familiar_ref(ref);
    result->up_to_date = up_to_date;

out:
    json_decref(config);
    free_jobs(jobs, n_jobs);
    reg_fetched_manifest_free(&top);
    reg_fetched_manifest_free(&child);
    return ret;
}

/* Try each mirror of the reference's registry in order (registries.mirrors); the image keeps its
 * original name whichever one serves it. 1 when no mirror served it, so the registry itself is asked
 * next; a mirror that is down or lacks the image is only logged. */
static int pull_mirrors(struct servin_store *store, const struct servin_ref *ref,
                        const struct servin_pull_opts *opts, struct servin_pull_result *result,
                        struct servin_error *err)
{
    _cleanup_config_ struct servin_config *cfg = servin_config_current();
    char *const *mirrors = servin_config_mirrors_for(cfg, ref->domain);
    for (; mirrors && *mirrors; mirrors++) {
        const char *url = *mirrors;
        bool plain = strncmp(url, "http://", 7) == 0;
        const char *hp = plain ? url + 7 : strncmp(url, "https://", 8) == 0 ? url + 8 : url;
        _cleanup_free_ char *host = xstrndup(hp, strcspn(hp, "/"));
        /* The file was checked when loaded; the environment may have changed the insecure list since. */
        if (plain && !servin_registry_insecure(host)) {
            log_warn("skipping mirror %s for %s: plain http is only for loopback or insecure registries", url,
                     ref->domain);
            continue;
        }
        struct reg_session *s = reg_session_new(host, NULL, NULL);
        s->plain_http = plain;
        reg_session_load_credentials(s, opts->auth_file);
        struct servin_error merr = {0};
        int ret = reg_session_ping(s, &merr);
        if (ret == 0)
            ret = pull_ref(store, s, ref, opts, result, &merr);
        reg_session_free(s);
        if (ret == 0) {
            log_info("pulled %s through mirror %s", ref->domain, url);
            return 0;
        }
        servin_pull_result_free(result);
        memset(result, 0, sizeof(*result));
        log_warn("mirror %s for %s failed, trying the next: %s", url, ref->domain, merr.msg);
    }
    return 1;
}

int servin_registry_pull(struct servin_store *store, const char *reference,
                         const struct servin_pull_opts *opts, struct servin_pull_result *result,
                         struct servin_error *err)
{
    static const struct servin_pull_opts no_opts = {0};
    struct servin_ref ref = {0};
    memset(result, 0, sizeof(*result));
    if (!opts)
        opts = &no_opts;
    int ret = servin_ref_parse(reference, &ref, err);
    if (ret < 0)
        return servin_error_wrap(err, "pull %s", reference);

    ret = pull_mirrors(store, &ref, opts, result, err);
    if (ret == 1) {
        struct reg_session *s = reg_session_new(ref.domain, NULL, NULL);
        reg_session_load_credentials(s, opts->auth_file);
        ret = reg_session_ping(s, err);
        if (ret == 0)
            ret = pull_ref(store, s, &ref, opts, result, err);
        reg_session_free(s);
    }
    servin_ref_free(&ref);
    if (ret < 0)
        return servin_error_wrap(err, "pull %s", reference);
    servin_event_emit(store, "image", "pull", reference, json_pack("{s:s}", "name", reference));
    return 0;
}
