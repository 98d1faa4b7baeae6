/* daemon/stats.c — GET /containers/{id}/stats (streamed once a second, or one sample) and
 * POST /containers/{id}/update (resources and restart policy), on libservin's stats and update. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/stats.h"

struct stats_job {
    char *root;
    char *id;
    bool stream, one_shot;
};

static void stats_job_free(void *p)
{
    struct stats_job *j = p;
    free(j->root);
    free(j->id);
    free(j);
}

static int sample(struct servin_store *store, const char *id, struct servin_container *c,
                  struct servin_stats_sample *s, struct servin_error *err)
{
    servin_container_clear(c);
    int ret = servin_container_get(store, id, c, err);
    if (ret == 0)
        ret = servin_container_stats(store, c, s, err);
    return ret;
}

static void stats_stream(void *arg, FILE *out)
{
    struct stats_job *j = arg;
    struct servin_error err = {0};
    _cleanup_store_ struct servin_store *store = NULL;
    if (daemon_store_open(j->root, &store, &err) < 0)
        return dstream_abort(out);
    struct servin_container c = {0};
    struct servin_stats_sample prev = {0}, cur = {0};
    bool have_prev = false;
    /* Docker's one sample without one-shot carries a precpu read a second earlier, so that the
     * client's CPU % means something; one-shot answers at once with no previous sample. */
    if (!j->stream && !j->one_shot) {
        if (sample(store, j->id, &c, &prev, &err) < 0)
            goto fail;
        have_prev = true;
        for (int i = 0; i < 10 && !dstream_gone(out); i++)
            usleep(100000);
    }
    for (;;) {
        if (sample(store, j->id, &c, &cur, &err) < 0)
            goto fail;
        json_t *obj = servin_stats_docker_json(&c, have_prev ? &prev : NULL, &cur);
        int w = json_dumpf(obj, out, JSON_COMPACT);
        json_decref(obj);
        if (w < 0 || fputc('\n', out) == EOF || fflush(out) != 0 || !j->stream || !cur.running)
            break;
        prev = cur;
        have_prev = true;
        for (int i = 0; i < 10 && !dstream_gone(out); i++)
            usleep(100000);
        if (dstream_gone(out))
            break;
    }
    servin_container_clear(&c);
    return;
fail:
    servin_container_clear(&c);
    dstream_abort(out);
}

static int stats(struct dreq *r)
{
    struct servin_container c = {0};
    if (dreq_container(r, r->params[0], &c, NULL) < 0)
        return 0;
    struct stats_job *j = xcalloc(1, sizeof(*j));
    j->root = xstrdup(r->d->root ? r->d->root : SERVIN_DEFAULT_ROOT);
    j->id = xstrdup(c.id);
    j->stream = dreq_query_bool(r, "stream", true);
    j->one_shot = dreq_query_bool(r, "one-shot", false);
    servin_container_clear(&c);
    if (j->one_shot && j->stream) {
        stats_job_free(j);
        return dreply_error(r, 400, "cannot have stream=true and one-shot=true");
    }
    return dreply_stream(r, 200, "application/json", stats_stream, j, stats_job_free);
}

static int update(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    json_t *body = NULL;
    struct servin_container c = {0};
    if (!store || dreq_json_body(r, &body, &err) < 0)
        return dreply_servin_error(r, &err);
    int ret;
    if (!json_is_object(body)) {
        ret = dreply_error(r, 400, "the request body must be a JSON object (Memory, NanoCpus, ...)");
        goto out;
    }
    if (dreq_container(r, r->params[0], &c, NULL) < 0) {
        ret = 0;
        goto out;
    }
    if (servin_container_update(store, &c, body, &err) < 0) {
        ret = dreply_servin_error(r, &err);
        goto out;
    }
    ret = dreply_json(r, 200, json_pack("{s:[]}", "Warnings"));
out:
    servin_container_clear(&c);
    json_decref(body);
    return ret;
}

const struct droute daemon_stats_routes[] = {
    {"GET", "/containers/*/stats", stats, 0},
    {"POST", "/containers/*/update", update, 0},
    {NULL, NULL, NULL, 0},
};
