/* build/steps.c — the steps that make layers (RUN, COPY, ADD) and the cache rule every step
 * follows: a step is reused when its parent state, its text and what else decides its result
 * (for COPY and ADD the hashed content of the sources) are the same. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/build_internal.h"
#include "container/spec_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/jsonstr.h"

/* Proxy variables Docker passes to RUN from --build-arg without an ARG line. */
static const char *const predefined[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                         "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                         "ALL_PROXY",  "all_proxy",  NULL};

static bool in_env(struct bf_stage *s, const char *name)
{
    size_t n = strlen(name), i;
    json_t *e;
    json_array_foreach (json_object_get(bf_state_cfg(&s->state), "Env"), i, e) {
        const char *kv = json_string_value(e);
        if (kv && strncmp(kv, name, n) == 0 && kv[n] == '=')
            return true;
    }
    return false;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

json_t *bf_run_args(struct bf_builder *b, struct bf_stage *s)
{
    json_t *env = json_array();
    const char *k;
    json_t *v;
    json_object_foreach (s->args, k, v) {
        if (json_is_string(v) && !in_env(s, k)) {
            _cleanup_free_ char *kv = xasprintf("%s=%s", k, json_string_value(v));
            json_array_append_new(env, json_string(kv));
        }
    }
    for (size_t i = 0; predefined[i]; i++) {
        json_t *given = json_object_get(b->build_args, predefined[i]);
        if (given && !json_object_get(s->args, predefined[i])) {
            json_object_set_new(b->used_args, predefined[i], json_true());
            _cleanup_free_ char *kv = xasprintf("%s=%s", predefined[i], json_string_value(given));
            json_array_append_new(env, json_string(kv));
        }
    }
    /* Sorted, so that the step's text (and its cache key) does not depend on declaration order. */
    size_t n = json_array_size(env);
    json_t **items = xcalloc(n + 1, sizeof(json_t *));
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(env, i));
    qsort(items, n, sizeof(json_t *), by_string);
    json_array_clear(env);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(env, items[i]);
    free(items);
    return env;
}

int bf_cache_lookup(struct bf_builder *b, struct bf_stage *s, const char *key)
{
    if (b->o->no_cache)
        return 0;
    struct bf_state hit;
    if (bf_cache_get(b->store, key, &hit) != 1)
        return 0;
    bf_state_clear(&s->state);
    s->state = hit;
    bf_report(b, SERVIN_BUILD_CACHED, NULL, 0, 0);
    return 1;
}

static void cache_store(struct bf_builder *b, struct bf_stage *s, const char *key)
{
    struct servin_error e = {0};
    if (bf_cache_put(b->store, key, &s->state, &e) < 0)
        bf_reportf(b, SERVIN_BUILD_WARNING, "the step is not cached: %s", e.msg);
}

int bf_meta_step(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in, const char *created_by,
                 bf_apply_fn apply, void *data, struct servin_error *err)
{
    char parent[SERVIN_DIGEST_MAX], key[SERVIN_DIGEST_MAX];
    bf_state_id(&s->state, parent);
    bf_cache_key(parent, created_by, NULL, key);
    if (bf_cache_lookup(b, s, key))
        return 0;
    int ret = apply(b, s, in, data, err);
    if (ret < 0)
        return ret;
    char created[64];
    bf_created(b, created);
    bf_state_add(&s->state, created, created_by, NULL);
    cache_store(b, s, key);
    return 0;
}

/* Run on a fresh overlay of the state, then turn its changes into the step's layer. */
int bf_layer_step(struct bf_builder *b, struct bf_stage *s, const char *created_by, const char *key,
                  bf_work_fn work, void *data, struct servin_error *err)
{
    struct bf_fs fs;
    int ret = bf_fs_open(b->store, &s->state, &fs, err);
    if (ret == 0)
        ret = work(b, s, &fs, data, err);
    struct servin_layer_desc layer = {0};
    bool empty = true;
    if (ret == 0)
        ret = bf_fs_commit(b->store, &fs, &s->state, b->epoch, &layer, &empty, err);
    bf_fs_close(b->store, &fs);
    if (ret < 0)
        return ret;
    char created[64];
    bf_created(b, created);
    bf_state_add(&s->state, created, created_by, empty ? NULL : &layer);
    cache_store(b, s, key);
    return 0;
}

/* --- RUN --- */

struct run_job {
    json_t *argv, *env, *binds;
    const char *network;
    const char *shown;
};

static void run_output(void *ctx, const char *buf, size_t len)
{
    bf_report(ctx, SERVIN_BUILD_OUTPUT, buf, len, 0);
}

static int run_work(struct bf_builder *b, struct bf_stage *s, struct bf_fs *fs, void *data,
                    struct servin_error *err)
{
    struct run_job *j = data;
    struct bf_run_opts o = {.argv = j->argv,
                            .env = j->env,
                            .binds = j->binds,
                            .network = j->network,
                            .output = run_output,
                            .output_ctx = b};
    int code = 0;
    int ret = bf_run(b->store, fs, &s->state, &o, &code, err);
    if (ret < 0)
        return ret;
    if (code != 0) {
        b->exit_code = code;
        return servin_error_set(err, EIO, "the command %s returned a non-zero code: %d", j->shown, code);
    }
    return 0;
}

/* "id=x,src=/path" of --secret. */
static char *secret_source(struct bf_builder *b, const char *id)
{
    for (size_t i = 0; i < b->o->n_secrets; i++) {
        _cleanup_free_ char *copy = xstrdup(b->o->secrets[i]);
        const char *sid = NULL, *src = NULL;
        char *save = NULL;
        for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            if (strncmp(kv, "id=", 3) == 0)
                sid = kv + 3;
            else if (strncmp(kv, "src=", 4) == 0)
                src = kv + 4;
            else if (strncmp(kv, "source=", 7) == 0)
                src = kv + 7;
        }
        if (sid && src && strcmp(sid, id) == 0)
            return realpath(src, NULL);
    }
    return NULL;
}

/* RUN --mount: secrets are bound read-only for this step only; the rest is refused, not ignored. */
static int run_mounts(struct bf_builder *b, const struct bf_instr *in, json_t *binds,
                      struct servin_error *err)
{
    for (size_t i = 0; i < in->n_flags; i++) {
        if (strncmp(in->flags[i], "--mount=", 8) != 0)
            continue;
        _cleanup_free_ char *copy = xstrdup(in->flags[i] + 8);
        const char *type = "bind", *id = NULL, *target = NULL;
        bool required = false;
        char *save = NULL;
        for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            if (strncmp(kv, "type=", 5) == 0)
                type = kv + 5;
            else if (strncmp(kv, "id=", 3) == 0)
                id = kv + 3;
            else if (strncmp(kv, "target=", 7) == 0 || strncmp(kv, "dst=", 4) == 0 ||
                     strncmp(kv, "destination=", 12) == 0)
                target = strchr(kv, '=') + 1;
            else if (strcmp(kv, "required") == 0 || strcmp(kv, "required=true") == 0)
                required = true;
        }
        if (strcmp(type, "secret") != 0)
            return servin_error_set(err, ENOTSUP,
                                    "--mount=type=%s is not supported yet (only type=secret is); remove the "
                                    "mount to run the step without it",
                                    type);
        if (!id && target) {
            const char *slash = strrchr(target, '/');
            id = slash ? slash + 1 : target;
        }
        if (!id || !*id)
            return servin_error_set(err, EINVAL, "--mount=type=secret needs an id");
        _cleanup_free_ char *src = secret_source(b, id);
        if (!src) {
            if (required)
                return servin_error_set(
                    err, ENOENT, "secret %s is required but was not given (--secret id=%s,src=FILE)", id, id);
            continue;
        }
        _cleanup_free_ char *dest = target ? xstrdup(target) : xasprintf("/run/secrets/%s", id);
        _cleanup_free_ char *bind = xasprintf("%s:%s:ro", src, dest);
        json_array_append_new(binds, json_string(bind));
    }
    return 0;
}

int bf_exec_run(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in, struct servin_error *err)
{
    static const char *const allowed[] = {"mount", "network", NULL};
    const char *bad = bf_unknown_flag(in, allowed);
    if (bad)
        return servin_error_set(err, EINVAL, "unknown flag %s", bad);
    const char *net = bf_flag(in, "network");
    if (!net || strcmp(net, "default") == 0)
        net = b->o->network;
    /* Docker's default for RUN is the default bridge network. */
    if (!net || strcmp(net, "default") == 0)
        net = "bridge";
    if (strcmp(net, "none") != 0 && strcmp(net, "host") != 0 && strcmp(net, "bridge") != 0)
        return servin_error_set(err, EINVAL, "network mode \"%s\" is not supported: use none, host or bridge",
                                net);
    struct run_job j = {.binds = json_array(), .network = net};
    int ret = run_mounts(b, in, j.binds, err);
    if (ret < 0) {
        json_decref(j.binds);
        return ret;
    }
    if (in->json) {
        j.argv = json_deep_copy(in->json);
    } else if (in->n_heredocs == 1 && strncmp(in->args, "<<", 2) == 0 && !strpbrk(in->args, " \t")) {
        /* "RUN <<EOF": the here-document is the script. */
        j.argv = bf_shell_argv(s, in->heredocs[0].body);
    } else {
        /* Here-documents go to the shell as written, which feeds them to the command. */
        _cleanup_free_ char *script = xstrdup(in->args);
        for (size_t i = 0; i < in->n_heredocs; i++) {
            char *next = xasprintf("%s\n%s%s", script, in->heredocs[i].body, in->heredocs[i].name);
            free(script);
            script = next;
        }
        j.argv = bf_shell_argv(s, script);
    }
    j.env = bf_run_args(b, s);
    _cleanup_free_ char *shown = servin_json_join_words(j.argv);
    _cleanup_free_ char *args_text = servin_json_join_words(j.env);
    _cleanup_free_ char *created_by =
        json_array_size(j.env) ? xasprintf("RUN |%zu %s %s", json_array_size(j.env), args_text, shown)
                               : xasprintf("RUN %s", shown);
    j.shown = shown;
    char parent[SERVIN_DIGEST_MAX], key[SERVIN_DIGEST_MAX];
    bf_state_id(&s->state, parent);
    /* What the history does not show but the result may depend on: the network and the mounts. */
    _cleanup_free_ char *extra = xasprintf("network=%s", net);
    for (size_t i = 0; i < in->n_flags; i++) {
        if (strncmp(in->flags[i], "--mount=", 8) == 0) {
            char *next = xasprintf("%s\n%s", extra, in->flags[i]);
            free(extra);
            extra = next;
        }
    }
    bf_cache_key(parent, created_by, extra, key);
    if (!bf_cache_lookup(b, s, key))
        ret = bf_layer_step(b, s, created_by, key, run_work, &j, err);
    json_decref(j.argv);
    json_decref(j.env);
    json_decref(j.binds);
    return ret;
}
