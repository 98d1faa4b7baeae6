/* registry/layers.c — fetch layer blobs a few at a time (resuming partial data) and unpack each as it
 * arrives. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/pull_internal.h"
#include "servin/cleanup.h"
#include "servin/content.h"
#include "servin/fs.h"
#include "servin/image.h"
#include "servin/log.h"
#include "servin/unpack.h"

/* Enough to fill a fast link without a thundering herd on the registry; Docker uses 3 too. */
#define PULL_WORKERS 3

struct fetch_ctx {
    struct servin_store *store;
    struct reg_session *s;
    const char *path, *scope;
    struct layer_job *jobs;
    size_t n;
    struct servin_progress *progress;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a job finished: duplicates waiting on it may go on */
    size_t next;
    bool failed;
    struct servin_error err; /* the first failure */
};

struct blob_sink {
    struct fetch_ctx *ctx;
    struct layer_job *job;
    struct servin_content_writer *w;
    uint64_t offset; /* where this response starts */
    uint64_t got;
    bool checked;
    struct servin_error *err;
};

static int blob_sink(void *ud, long status, const void *data, size_t len)
{
    struct blob_sink *b = ud;
    if (__atomic_load_n(&b->ctx->failed, __ATOMIC_RELAXED))
        return servin_error_set(b->err, ECANCELED, "cancelled after another layer failed");
    if (!b->checked) {
        b->checked = true;
        /* The server ignored our Range request and sends it all: start over. */
        if (status == 200 && b->offset > 0) {
            if (servin_content_writer_truncate(b->w, b->err) < 0)
                return -1;
            b->offset = 0;
        }
    }
    if (b->offset + b->got + len > b->job->size)
        return servin_error_set(b->err, EBADMSG,
                                "digest mismatch: blob %s is larger than the %llu bytes the manifest gives",
                                b->job->digest, (unsigned long long)b->job->size);
    if (servin_content_writer_write(b->w, data, len, b->err) < 0)
        return -1;
    b->got += len;
    servin_progress_update(b->ctx->progress, b->job->short_id, SERVIN_PROGRESS_DOWNLOADING,
                           b->offset + b->got, b->job->size);
    return 0;
}

static int download(struct fetch_ctx *ctx, struct layer_job *job, CURL *curl, struct servin_error *err)
{
    struct servin_content_writer *w = NULL;
    uint64_t offset = 0;
    int ret = servin_content_writer_open(ctx->store, job->digest, &w, &offset, err);
    if (ret < 0)
        return ret;
    if (offset > job->size) {
        ret = servin_content_writer_truncate(w, err);
        if (ret < 0) {
            servin_content_writer_close(w);
            return ret;
        }
        offset = 0;
    }
    if (offset > 0)
        log_debug("resuming blob %s at byte %llu", job->digest, (unsigned long long)offset);

    _cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", ctx->path, job->digest);
    for (int attempt = 0; offset < job->size || job->size == 0; attempt++) {
        char range[64];
        snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)offset);
        const char *headers[] = {offset > 0 ? range : NULL, NULL};
        struct blob_sink sink = {.ctx = ctx, .job = job, .w = w, .offset = offset, .err = err};
        struct reg_req req = {.method = "GET",
                              .url = url,
                              .scope = ctx->scope,
                              .headers = headers,
                              .sink = blob_sink,
                              .sink_ctx = &sink,
                              .sink_err = err,
                              .follow = true,
                              .curl = curl};
        struct reg_resp resp = {0};
        ret = reg_request(ctx->s, &req, &resp, err);
        if (ret == 0 && resp.status == 416 && offset > 0 && attempt == 0) {
            /* Our partial data does not fit what the server has: start from scratch. */
            reg_resp_free(&resp);
            ret = servin_content_writer_truncate(w, err);
            offset = 0;
            if (ret < 0)
                break;
            continue;
        }
        if (ret == 0 && resp.status != 200 && resp.status != 206)
            ret = reg_status_error(&resp, err);
        reg_resp_free(&resp);
        break;
    }
    if (ret < 0) {
        /* Keep what arrived: the next pull resumes from there. */
        servin_content_writer_close(w);
        return ret;
    }
    servin_progress_update(ctx->progress, job->short_id, SERVIN_PROGRESS_VERIFYING, job->size, job->size);
    char got[SERVIN_DIGEST_MAX];
    /* The blob is synced after its unpack (run_job), which then overlaps the disk's writeback. */
    servin_content_writer_defer_sync(w);
    ret = servin_content_writer_commit(w, job->size, got, err);
    if (ret < 0)
        return ret;
    job->new_blob = true;
    servin_progress_update(ctx->progress, job->short_id, SERVIN_PROGRESS_DOWNLOADED, job->size, job->size);
    return 0;
}

static int run_job(struct fetch_ctx *ctx, struct layer_job *job, CURL *curl, struct servin_error *err)
{
    _cleanup_free_ char *diff = servin_layer_diff_path(ctx->store, job->chain_id);
    struct stat st;
    if (stat(diff, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* Present already: the unpacker answers from the size it recorded beside the layer rather
         * than walking the whole tree again. */
        char diff_id[SERVIN_DIGEST_MAX], chain_id[SERVIN_DIGEST_MAX];
        int ret = servin_layer_unpack(ctx->store, job->digest, job->parent_chain[0] ? job->parent_chain : NULL,
                                      job->diff_id, diff_id, chain_id, &job->unpacked_size, err);
        if (ret < 0)
            return ret;
        servin_progress_update(ctx->progress, job->short_id, SERVIN_PROGRESS_EXISTS, 0, 0);
        return 0;
    }

    int ret = 0;
    if (job->dup_of >= 0) {
        /* The same blob appears earlier in the image: let that job fetch it. */
        struct layer_job *first = &ctx->jobs[job->dup_of];
        pthread_mutex_lock(&ctx->lock);
        while (!first->finished)
            pthread_cond_wait(&ctx->cond, &ctx->lock);
        pthread_mutex_unlock(&ctx->lock);
        if (first->ret < 0)
            return servin_error_set(err, ECANCELED, "cancelled after another layer failed");
    }
    bool fetched = false;
    if (!servin_content_has(ctx->store, job->digest, NULL)) {
        ret = download(ctx, job, curl, err);
        if (ret < 0)
            return ret;
        fetched = true;
    } else {
        servin_progress_update(ctx->progress, job->short_id, SERVIN_PROGRESS_DOWNLOADED, job->size,
                               job->size);
    }

    servin_progress_update(ctx->progress, job->short_id, SERVIN_PROGRESS_EXTRACTING, 0, 0);
    char diff_id[SERVIN_DIGEST_MAX], chain_id[SERVIN_DIGEST_MAX];
    ret = servin_layer_unpack(ctx->store, job->digest, job->parent_chain[0] ? job->parent_chain : NULL,
                              job->diff_id, diff_id, chain_id, &job->unpacked_size, err);
    if (ret < 0 && !fetched) {
        /* A blob we did not just fetch may be one a crash damaged before it reached the disk (see
         * servin_content_writer_defer_sync): fetch it once more rather than stay stuck on it. */
        _cleanup_free_ char *blob = servin_content_path(ctx->store, job->digest);
        unlink(blob);
        ret = download(ctx, job, curl, err);
        fetched = true;
        if (ret == 0)
            ret = servin_layer_unpack(ctx->store, job->digest, job->parent_chain[0] ? job->parent_chain : NULL,
                                      job->diff_id, diff_id, chain_id, &job->unpacked_size, err);
    }
    if (ret == 0 && fetched)
        ret = servin_content_sync(ctx->store, job->digest, err);
    if (ret < 0)
        return ret;
    if (strcmp(chain_id, job->chain_id) != 0)
        return servin_error_set(err, EBADMSG, "layer %s unpacked to chain id %s, expected %s", job->short_id,
                                chain_id, job->chain_id);
    job->new_layer = true;
    servin_progress_update(ctx->progress, job->short_id, SERVIN_PROGRESS_COMPLETE, 0, 0);
    return 0;
}

static void *worker(void *ud)
{
    struct fetch_ctx *ctx = ud;
    CURL *curl = reg_curl_new();
    for (;;) {
        pthread_mutex_lock(&ctx->lock);
        if (ctx->failed || ctx->next >= ctx->n) {
            pthread_mutex_unlock(&ctx->lock);
            break;
        }
        struct layer_job *job = &ctx->jobs[ctx->next++];
        pthread_mutex_unlock(&ctx->lock);

        job->ret = run_job(ctx, job, curl, &job->err);
        if (job->ret < 0)
            servin_error_wrap(&job->err, "layer %s", job->short_id);

        pthread_mutex_lock(&ctx->lock);
        job->finished = true;
        if (job->ret < 0 && !ctx->failed) {
            __atomic_store_n(&ctx->failed, true, __ATOMIC_RELAXED);
            ctx->err = job->err;
        }
        pthread_cond_broadcast(&ctx->cond);
        pthread_mutex_unlock(&ctx->lock);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

int reg_fetch_layers(struct servin_store *store, struct reg_session *s, const char *path, const char *scope,
                     struct layer_job *jobs, size_t n, struct servin_progress *progress,
                     struct servin_error *err)
{
    struct fetch_ctx ctx = {
        .store = store, .s = s, .path = path, .scope = scope, .jobs = jobs, .n = n, .progress = progress};
    pthread_mutex_init(&ctx.lock, NULL);
    pthread_cond_init(&ctx.cond, NULL);
    /* Layers we already have get their one "Already exists" line from the worker. */
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *diff = servin_layer_diff_path(store, jobs[i].chain_id);
        if (access(diff, F_OK) != 0)
            servin_progress_update(progress, jobs[i].short_id, SERVIN_PROGRESS_PULLING, 0, jobs[i].size);
    }

    size_t n_threads = n < PULL_WORKERS ? n : PULL_WORKERS;
    pthread_t threads[PULL_WORKERS];
    size_t started = 0;
    for (size_t i = 0; i < n_threads; i++) {
        if (pthread_create(&threads[i], NULL, worker, &ctx) != 0)
            break;
        started++;
    }
    if (started == 0 && n > 0)
        worker(&ctx); /* no threads to be had: do it ourselves */
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);

    pthread_cond_destroy(&ctx.cond);
    pthread_mutex_destroy(&ctx.lock);
    if (ctx.failed) {
        if (err)
            *err = ctx.err;
        return -(ctx.err.code ? ctx.err.code : EIO);
    }
    return 0;
}
