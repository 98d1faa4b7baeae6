/* daemon/build.c — POST /build: Docker's classic builder API over servin_build(), the same call
 * `servin build` makes. The body is the context as a tar stream; the answer is Docker's JSON
 * messages, one per line ({"stream": ...}, {"aux": {"ID": ...}}, {"error": ...}). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "servin/build.h"
#include "servin/cleanup.h"

/* One build, owned by the thread that streams its messages. */
struct build_job {
    char *root;
    int context_fd;
    char *file, *target, *network, *platform;
    char **tags, **args, **labels; /* NULL-terminated */
    bool quiet, no_cache, pull;
    FILE *out;
    volatile int cancel; /* the client went away: stop before the next step */
};

static void build_job_free(void *p)
{
    struct build_job *j = p;
    if (j->context_fd >= 0)
        close(j->context_fd);
    free(j->root);
    free(j->file);
    free(j->target);
    free(j->network);
    free(j->platform);
    strv_free(j->tags);
    strv_free(j->args);
    strv_free(j->labels);
    free(j);
}

/* One message, sent at once: `docker build` shows each step as it happens. */
static void send_message(struct build_job *j, json_t *m)
{
    json_dumpf(m, j->out, JSON_COMPACT);
    fputs("\r\n", j->out);
    fflush(j->out);
    json_decref(m);
    if (dstream_gone(j->out))
        j->cancel = 1;
}

static void add_stream(struct build_job *j, const char *text)
{
    send_message(j, json_pack("{s:s}", "stream", text));
}

static void on_progress(void *ctx, const struct servin_build_progress *p)
{
    struct build_job *o = ctx;
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

static size_t count(char **v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static void build_stream(void *arg, FILE *out)
{
    struct build_job *j = arg;
    j->out = out;
    struct servin_error err = {0};
    _cleanup_store_ struct servin_store *store = NULL;
    char id[SERVIN_DIGEST_MAX];
    int code = 0;
    int ret = daemon_store_open(j->root, &store, &err);
    if (ret == 0) {
        struct servin_build_opts o = {.context_fd = j->context_fd,
                                      .file = j->file,
                                      .tags = (const char *const *)j->tags,
                                      .n_tags = count(j->tags),
                                      .build_args = (const char *const *)j->args,
                                      .n_build_args = count(j->args),
                                      .labels = (const char *const *)j->labels,
                                      .n_labels = count(j->labels),
                                      .target = j->target,
                                      .network = j->network,
                                      .platform = j->platform,
                                      .no_cache = j->no_cache,
                                      .pull = j->pull,
                                      .progress = on_progress,
                                      .progress_ctx = j,
                                      .cancel = &j->cancel};
        ret = servin_build(store, &o, id, &code, &err);
    }
    if (ret < 0) {
        /* Docker reports a failed build inside a 200 stream, as an error message. */
        send_message(j, json_pack("{s:{s:s,s:i},s:s}", "errorDetail", "message", err.msg, "code",
                                  code ? code : 1, "error", err.msg));
        return;
    }
    send_message(j, json_pack("{s:{s:s}}", "aux", "ID", id));
    if (j->quiet)
        add_stream(j, id);
}

/* "buildargs" and "labels" are JSON objects of strings in the query: "k=v" (or "k" for a null). */
static char **pairs(struct dreq *r, const char *name, bool *bad)
{
    const char *text = dreq_query(r, name);
    if (!text || !*text)
        return NULL;
    json_t *obj = json_loads(text, 0, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        *bad = true;
        return NULL;
    }
    char **owned = xcalloc(json_object_size(obj) + 1, sizeof(char *));
    size_t n = 0;
    const char *k;
    json_t *val;
    json_object_foreach (obj, k, val)
        owned[n++] = json_is_string(val) ? xasprintf("%s=%s", k, json_string_value(val)) : xstrdup(k);
    json_decref(obj);
    return owned;
}

static char *dup_query(struct dreq *r, const char *name)
{
    const char *v = dreq_query(r, name);
    return v && *v ? xstrdup(v) : NULL;
}

int daemon_build(struct dreq *r)
{
    if (r->body_fd < 0)
        return dreply_error(r, 400, "the request body must be the build context as a tar archive");
    bool bad = false;
    char **args = pairs(r, "buildargs", &bad);
    char **labels = pairs(r, "labels", &bad);
    if (bad) {
        strv_free(args);
        strv_free(labels);
        return dreply_error(r, 400, "buildargs and labels must be JSON objects of strings");
    }
    struct build_job *j = xcalloc(1, sizeof(*j));
    j->args = args;
    j->labels = labels;
    j->context_fd = fcntl(r->body_fd, F_DUPFD_CLOEXEC, 0);
    if (j->context_fd < 0) {
        int e = errno;
        build_job_free(j);
        return dreply_error(r, 500, "keep the build context: %s", strerror(e));
    }
    j->root = xstrdup(r->d->root ? r->d->root : SERVIN_DEFAULT_ROOT);
    j->file = dup_query(r, "dockerfile");
    j->target = dup_query(r, "target");
    j->network = dup_query(r, "networkmode");
    if (j->network && strcmp(j->network, "default") == 0) {
        free(j->network);
        j->network = NULL;
    }
    j->platform = dup_query(r, "platform");
    j->quiet = dreq_query_bool(r, "q", false);
    j->no_cache = dreq_query_bool(r, "nocache", false);
    j->pull = dreq_query_bool(r, "pull", false);
    json_t *tags = dreq_query_all(r, "t");
    j->tags = xcalloc(json_array_size(tags) + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(tags); i++)
        j->tags[i] = xstrdup(json_string_value(json_array_get(tags, i)));
    json_decref(tags);
    return dreply_stream(r, 200, "application/json", build_stream, j, build_job_free);
}
