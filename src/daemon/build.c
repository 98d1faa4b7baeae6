/* daemon/build.c — POST /build: Docker's classic builder API over servin_build(), the same call
 * `servin build` makes. The body is the context as a tar stream; the answer is Docker's JSON
 * messages, one per line ({"stream": ...}, {"aux": {"ID": ...}}, {"error": ...}). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "servin/build.h"
#include "servin/cleanup.h"

struct build_out {
    json_t *lines;
    bool quiet;
};

static void add_stream(struct build_out *o, const char *text)
{
    json_array_append_new(o->lines, json_pack("{s:s}", "stream", text));
}

static void on_progress(void *ctx, const struct servin_build_progress *p)
{
    struct build_out *o = ctx;
    if (o->quiet && p->event != SERVIN_BUILD_WARNING)
        return;
    _cleanup_free_ char *text = NULL;
    switch (p->event) {
    case SERVIN_BUILD_STEP:
        text = xasprintf("Step %d/%d : %s\n", p->step, p->n_steps, p->text);
        break;
    case SERVIN_BUILD_CACHED:
        text = xstrdup(" ---> Using cache\n");
        break;
    case SERVIN_BUILD_OUTPUT:
        text = xstrndup(p->text, p->len);
        break;
    case SERVIN_BUILD_DONE:
        return;
    case SERVIN_BUILD_WARNING:
        text = xasprintf("[Warning] %s\n", p->text);
        break;
    default:
        text = xasprintf("%s\n", p->text);
        break;
    }
    add_stream(o, text);
}

/* "buildargs" and "labels" are JSON objects of strings in the query. */
static const char **pairs(struct dreq *r, const char *name, size_t *n, char ***keep, bool *bad)
{
    *n = 0;
    const char *text = dreq_query(r, name);
    if (!text || !*text)
        return NULL;
    json_t *obj = json_loads(text, 0, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        *bad = true;
        return NULL;
    }
    const char **v = xcalloc(json_object_size(obj) + 1, sizeof(char *));
    char **owned = xcalloc(json_object_size(obj) + 1, sizeof(char *));
    const char *k;
    json_t *val;
    json_object_foreach (obj, k, val) {
        owned[*n] = json_is_string(val) ? xasprintf("%s=%s", k, json_string_value(val)) : xstrdup(k);
        v[*n] = owned[*n];
        (*n)++;
    }
    json_decref(obj);
    *keep = owned;
    return v;
}

int daemon_build(struct dreq *r)
{
    struct servin_error err = {0};
    struct servin_store *store = dreq_store(r, &err);
    if (!store)
        return dreply_servin_error(r, &err);
    if (r->body_fd < 0)
        return dreply_error(r, 400, "the request body must be the build context as a tar archive");
    struct build_out out = {.lines = json_array(), .quiet = dreq_query_bool(r, "q", false)};
    json_t *tags = dreq_query_all(r, "t");
    size_t n_tags = json_array_size(tags);
    const char **tag_v = xcalloc(n_tags + 1, sizeof(char *));
    for (size_t i = 0; i < n_tags; i++)
        tag_v[i] = json_string_value(json_array_get(tags, i));
    _cleanup_strv_ char **args_owned = NULL, **labels_owned = NULL;
    bool bad = false;
    struct servin_build_opts o = {.context_fd = r->body_fd,
                                  .file = dreq_query(r, "dockerfile"),
                                  .tags = tag_v,
                                  .n_tags = n_tags,
                                  .target = dreq_query(r, "target"),
                                  .network = dreq_query(r, "networkmode"),
                                  .no_cache = dreq_query_bool(r, "nocache", false),
                                  .pull = dreq_query_bool(r, "pull", false),
                                  .progress = on_progress,
                                  .progress_ctx = &out};
    _cleanup_free_ const char **args = pairs(r, "buildargs", &o.n_build_args, &args_owned, &bad);
    _cleanup_free_ const char **labels = pairs(r, "labels", &o.n_labels, &labels_owned, &bad);
    o.build_args = args;
    o.labels = labels;
    if (o.network && strcmp(o.network, "default") == 0)
        o.network = NULL;
    if (bad) {
        free(tag_v);
        json_decref(tags);
        json_decref(out.lines);
        return dreply_error(r, 400, "buildargs and labels must be JSON objects of strings");
    }
    char id[SERVIN_DIGEST_MAX];
    int code = 0;
    if (servin_build(store, &o, id, &code, &err) < 0) {
        /* Docker reports a failed build inside a 200 stream, as an error message. */
        json_array_append_new(out.lines, json_pack("{s:{s:s,s:i},s:s}", "errorDetail", "message", err.msg,
                                                   "code", code ? code : 1, "error", err.msg));
    } else {
        json_array_append_new(out.lines, json_pack("{s:{s:s}}", "aux", "ID", id));
        if (out.quiet)
            add_stream(&out, id);
    }
    free(tag_v);
    json_decref(tags);
    char *text = xstrdup("");
    size_t i;
    json_t *l;
    json_array_foreach (out.lines, i, l) {
        _cleanup_free_ char *one = json_dumps(l, JSON_COMPACT);
        char *next = xasprintf("%s%s\r\n", text, one);
        free(text);
        text = next;
    }
    json_decref(out.lines);
    dreply_text(r, 200, "application/json", text, strlen(text));
    free(text);
    return 0;
}
