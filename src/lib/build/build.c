/* build/build.c — servin_build(): the context and Buildfile, the stages that the target needs in
 * file order, each instruction as a step with progress, and the tagged image at the end. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build/build_internal.h"
#include "servin/cleanup.h"
#include "servin/timefmt.h"

void bf_report(struct bf_builder *b, enum servin_build_event ev, const char *text, size_t len, double seconds)
{
    if (!b->o->progress)
        return;
    char stage[32];
    const char *name = "";
    if (b->cur) {
        snprintf(stage, sizeof(stage), "%zu", b->cur->index);
        name = b->cur->name ? b->cur->name : stage;
    }
    struct servin_build_progress p = {.event = ev,
                                      .step = b->step,
                                      .n_steps = b->n_steps,
                                      .stage = name,
                                      .text = text ? text : "",
                                      .len = text ? len : 0,
                                      .seconds = seconds};
    b->o->progress(b->o->progress_ctx, &p);
}

void bf_reportf(struct bf_builder *b, enum servin_build_event ev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *text = xvasprintf(fmt, ap);
    va_end(ap);
    bf_report(b, ev, text, strlen(text), 0);
}

void bf_created(const struct bf_builder *b, char out[64])
{
    char buf[SERVIN_RFC3339_MAX];
    if (b->epoch >= 0) {
        /* A fixed time is written without fractions, as Docker writes SOURCE_DATE_EPOCH. */
        time_t t = (time_t)b->epoch;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, 64, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return;
    }
    servin_time_format_rfc3339(servin_time_now_ns(), buf);
    snprintf(out, 64, "%s", buf);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_build_args(struct bf_builder *b, struct servin_error *err)
{
    b->build_args = json_object();
    for (size_t i = 0; i < b->o->n_build_args; i++) {
        const char *a = b->o->build_args[i];
        const char *eq = strchr(a, '=');
        _cleanup_free_ char *name = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
        if (!*name)
            return servin_error_set(err, EINVAL, "invalid build argument \"%s\": expected NAME=VALUE", a);
        const char *value = eq ? eq + 1 : getenv(name);
        /* "--build-arg NAME" with NAME unset in the environment: as Docker, it is not set at all. */
        if (value)
            json_object_set_new(b->build_args, name, json_string(value));
    }
    return 0;
}

static int exec_instr(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in,
                      struct servin_error *err)
{
    if (strcmp(in->cmd, "from") == 0)
        return bf_exec_from(b, s, in, err);
    if (strcmp(in->cmd, "arg") == 0)
        return bf_exec_arg(b, s, in, err);
    if (strcmp(in->cmd, "run") == 0)
        return bf_exec_run(b, s, in, err);
    if (strcmp(in->cmd, "copy") == 0 || strcmp(in->cmd, "add") == 0)
        return bf_exec_copy(b, s, in, err);
    return bf_exec_meta(b, s, in, err);
}

/* One instruction as a step: progress, and errors that say where in the Buildfile. */
static int step(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in, const char *file,
                struct servin_error *err)
{
    if (b->o->cancel && *b->o->cancel)
        return servin_error_set(err, ECANCELED, "the build was cancelled");
    b->step++;
    bf_report(b, SERVIN_BUILD_STEP, in->original, strlen(in->original), 0);
    double t0 = now_s();
    int ret = exec_instr(b, s, in, err);
    if (ret < 0) {
        _cleanup_free_ char *kw = xstrdup(in->cmd);
        for (char *c = kw; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        return servin_error_wrap(err, "%s:%d:%d: %s", file, in->line, in->column, kw);
    }
    bf_report(b, SERVIN_BUILD_DONE, NULL, 0, now_s() - t0);
    return 0;
}

/* ONBUILD triggers of the base image run right after its FROM, as steps of their own. */
static int run_triggers(struct bf_builder *b, struct bf_stage *s, json_t *triggers, struct servin_error *err)
{
    size_t i;
    json_t *t;
    b->n_steps += (int)json_array_size(triggers);
    json_array_foreach (triggers, i, t) {
        struct bf_instr in = {0};
        const char *text = json_string_value(t);
        if (!text)
            continue;
        int ret = bf_parse_one("ONBUILD trigger", text, b->file.escape, &in, err);
        if (ret == 0)
            ret = step(b, s, &in, "ONBUILD trigger", err);
        bf_instr_clear(&in);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int build_stage(struct bf_builder *b, struct bf_stage *s, struct servin_error *err)
{
    b->cur = s;
    s->args = json_object();
    for (size_t i = s->first; i < s->end; i++) {
        int ret = step(b, s, &b->file.v[i], b->file.name, err);
        if (ret < 0)
            return ret;
        if (i == s->first) {
            json_t *cfg = bf_state_cfg(&s->state);
            json_t *triggers = json_incref(json_object_get(cfg, "OnBuild"));
            if (json_array_size(triggers) > 0) {
                /* Triggers fire once: the new image does not pass them on. */
                json_object_del(cfg, "OnBuild");
                ret = run_triggers(b, s, triggers, err);
            }
            json_decref(triggers);
            if (ret < 0)
                return ret;
        }
    }
    s->built = true;
    return 0;
}

static void apply_labels(struct bf_builder *b, struct bf_state *st)
{
    if (b->o->n_labels == 0)
        return;
    json_t *cfg = bf_state_cfg(st);
    json_t *labels = json_object_get(cfg, "Labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(cfg, "Labels", labels);
    }
    for (size_t i = 0; i < b->o->n_labels; i++) {
        const char *l = b->o->labels[i];
        const char *eq = strchr(l, '=');
        _cleanup_free_ char *k = eq ? xstrndup(l, (size_t)(eq - l)) : xstrdup(l);
        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
    }
}

static void warn_unused_args(struct bf_builder *b)
{
    const char *k;
    json_t *v;
    _cleanup_free_ char *list = xstrdup("");
    json_object_foreach (b->build_args, k, v) {
        if (json_object_get(b->used_args, k))
            continue;
        char *next = xasprintf("%s%s%s", list, *list ? " " : "", k);
        free(list);
        list = next;
    }
    if (*list)
        bf_reportf(b, SERVIN_BUILD_WARNING, "one or more build args were not consumed: [%s]", list);
}

static void builder_free(struct bf_builder *b)
{
    for (size_t i = 0; i < b->n_stages; i++) {
        bf_state_clear(&b->stages[i].state);
        json_decref(b->stages[i].args);
        free(b->stages[i].name);
        free(b->stages[i].base);
    }
    free(b->stages);
    json_decref(b->meta_args);
    json_decref(b->build_args);
    json_decref(b->used_args);
    bf_file_free(&b->file);
    bf_context_close(&b->ctx);
}

static int run_build(struct bf_builder *b, char id_out[SERVIN_DIGEST_MAX], struct servin_error *err)
{
    int ret = parse_build_args(b, err);
    if (ret < 0)
        return ret;
    ret = bf_context_open(b->store, b->o, &b->ctx, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *text = NULL, *name = NULL;
    size_t len = 0;
    ret = bf_context_buildfile(&b->ctx, b->o->file, &text, &len, &name, err);
    if (ret < 0)
        return ret;
    ret = bf_parse(name, text, len, &b->file, err);
    if (ret == 0)
        ret = bf_stages_split(b, err);
    if (ret == 0)
        ret = bf_stages_mark_needed(b, err);
    if (ret < 0)
        return ret;
    struct bf_stage *last = NULL;
    for (size_t i = 0; i < b->n_stages && ret == 0; i++) {
        if (!b->stages[i].needed)
            continue;
        last = &b->stages[i];
        ret = build_stage(b, last, err);
    }
    if (ret < 0)
        return ret;
    b->cur = NULL;
    warn_unused_args(b);
    struct bf_state final = {0};
    bf_state_copy(&final, &last->state);
    apply_labels(b, &final);
    ret = bf_state_commit_image(b->store, &final, b->o->tags, b->o->n_tags, id_out, err);
    bf_state_clear(&final);
    if (ret < 0)
        return ret;
    bf_reportf(b, SERVIN_BUILD_MESSAGE, "Successfully built %.12s", servin_digest_hex(id_out));
    for (size_t i = 0; i < b->o->n_tags; i++)
        bf_reportf(b, SERVIN_BUILD_MESSAGE, "Successfully tagged %s", b->o->tags[i]);
    return 0;
}

int servin_build(struct servin_store *store, const struct servin_build_opts *opts,
                 char id_out[SERVIN_DIGEST_MAX], int *exit_code, struct servin_error *err)
{
    struct bf_builder b = {.store = store, .o = opts, .epoch = -1, .used_args = json_object()};
    if (exit_code)
        *exit_code = 0;
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (*end || v < 0)
            return servin_error_set(err, EINVAL, "invalid SOURCE_DATE_EPOCH \"%s\": expected unix seconds",
                                    sde);
        b.epoch = v;
    }
    if (opts->platform && *opts->platform) {
        int ret = bf_platform_check(opts->platform, err);
        if (ret < 0)
            return servin_error_wrap(err, "--platform");
    }
    /* Shared "gc" lock for the whole build: the layers steps make belong to no image until the end,
     * and a concurrent garbage collection must not free them meanwhile. */
    _cleanup_close_ int lock = -1;
    int ret = servin_store_lock(store, "gc", SERVIN_LOCK_SHARED, &lock, err);
    if (ret == 0)
        ret = run_build(&b, id_out, err);
    if (exit_code)
        *exit_code = b.exit_code;
    builder_free(&b);
    return ret;
}
