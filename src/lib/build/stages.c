/* build/stages.c — stages and ARG scoping: ARGs before the first FROM serve FROM lines only; an
 * ARG inside a stage is in scope from its line to the stage's end and takes its value from
 * --build-arg, its default, or (without a default) the ARG of the same name before the first
 * FROM; ENV wins over ARG. Only the stages the target needs are built. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/build_internal.h"
#include "servin/archive.h"
#include "servin/cleanup.h"
#include "servin/registry.h"

/* BuildKit's automatic platform ARGs, global, and in a stage once declared. */
static const char *platform_arg(const char *name)
{
    static char platform[64];
    const char *os, *arch, *variant;
    servin_archive_host_platform(&os, &arch, &variant);
    snprintf(platform, sizeof(platform), "%s/%s%s%s", os, arch, variant ? "/" : "", variant ? variant : "");
    if (strcmp(name, "TARGETPLATFORM") == 0 || strcmp(name, "BUILDPLATFORM") == 0)
        return platform;
    if (strcmp(name, "TARGETOS") == 0 || strcmp(name, "BUILDOS") == 0)
        return os;
    if (strcmp(name, "TARGETARCH") == 0 || strcmp(name, "BUILDARCH") == 0)
        return arch;
    if (strcmp(name, "TARGETVARIANT") == 0 || strcmp(name, "BUILDVARIANT") == 0)
        return variant ? variant : "";
    return NULL;
}

int bf_platform_check(const char *p, struct servin_error *err)
{
    const char *os, *arch, *variant;
    servin_archive_host_platform(&os, &arch, &variant);
    _cleanup_free_ char *copy = xstrdup(p);
    char *save = NULL;
    const char *want_os = strtok_r(copy, "/", &save);
    const char *want_arch = want_os ? strtok_r(NULL, "/", &save) : NULL;
    const char *want_variant = want_arch ? strtok_r(NULL, "/", &save) : NULL;
    bool same = want_os && want_arch && strcmp(want_os, os) == 0 && strcmp(want_arch, arch) == 0 &&
                (!want_variant || (variant && strcmp(want_variant, variant) == 0));
    if (same)
        return 0;
    return servin_error_set(err, ENOTSUP,
                            "platform \"%s\" cannot be built here: RUN steps run natively, so only the "
                            "host's platform %s can be",
                            p, platform_arg("TARGETPLATFORM"));
}

const char *bf_meta_lookup(void *builder, const char *name)
{
    struct bf_builder *b = builder;
    json_t *v = json_object_get(b->meta_args, name);
    if (v)
        return json_string_value(v);
    return platform_arg(name);
}

const char *bf_stage_lookup(void *stage_builder, const char *name)
{
    struct bf_builder *b = stage_builder;
    struct bf_stage *s = b->cur;
    size_t n = strlen(name), i;
    json_t *e;
    json_array_foreach (json_object_get(bf_state_cfg(&s->state), "Env"), i, e) {
        const char *kv = json_string_value(e);
        if (kv && strncmp(kv, name, n) == 0 && kv[n] == '=')
            return kv + n + 1;
    }
    return json_string_value(json_object_get(s->args, name));
}

/* An ARG's value: --build-arg, else its default, else the global ARG's, else the platform's. */
static json_t *arg_value(struct bf_builder *b, const char *name, const char *dflt, bool global)
{
    json_t *given = json_object_get(b->build_args, name);
    if (given) {
        json_object_set_new(b->used_args, name, json_true());
        return json_incref(given);
    }
    if (dflt)
        return json_string(dflt);
    if (!global) {
        json_t *meta = json_object_get(b->meta_args, name);
        if (json_is_string(meta))
            return json_incref(meta);
    }
    const char *p = platform_arg(name);
    return p ? json_string(p) : json_null();
}

static int declare_args(struct bf_builder *b, const struct bf_instr *in, bool global, json_t *into,
                        struct servin_error *err)
{
    char **pairs = NULL;
    size_t n = 0;
    int ret = bf_parse_pairs(in->args, b->file.escape, false, true, global ? bf_meta_lookup : bf_stage_lookup,
                             b, &pairs, &n, err);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < n; i++)
        json_object_set_new(into, pairs[2 * i], arg_value(b, pairs[2 * i], pairs[2 * i + 1], global));
    bf_pairs_free(pairs, n);
    return 0;
}

int bf_exec_arg(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in, struct servin_error *err)
{
    if (in->n_flags)
        return servin_error_set(err, EINVAL, "unknown flag %s", in->flags[0]);
    return declare_args(b, in, false, s->args, err);
}

static char *lower(const char *s)
{
    char *out = xstrdup(s);
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return out;
}

struct bf_stage *bf_stage_find(struct bf_builder *b, const char *name, size_t before)
{
    _cleanup_free_ char *l = lower(name);
    char *end;
    unsigned long idx = strtoul(l, &end, 10);
    bool numeric = *l && !*end;
    for (size_t i = 0; i < before && i < b->n_stages; i++) {
        if ((b->stages[i].name && strcmp(b->stages[i].name, l) == 0) || (numeric && idx == i))
            return &b->stages[i];
    }
    return NULL;
}

static int fail_at(struct bf_builder *b, const struct bf_instr *in, struct servin_error *err, const char *msg,
                   const char *arg)
{
    return servin_error_set(err, EINVAL, "%s:%d:%d: %s%s", b->file.name, in->line, in->column, msg, arg);
}

int bf_stages_split(struct bf_builder *b, struct servin_error *err)
{
    b->meta_args = json_object();
    struct bf_stage *cur = NULL;
    for (size_t i = 0; i < b->file.n; i++) {
        const struct bf_instr *in = &b->file.v[i];
        if (strcmp(in->cmd, "from") == 0) {
            if (cur)
                cur->end = i;
            b->stages = xreallocarray(b->stages, b->n_stages + 1, sizeof(*b->stages));
            cur = &b->stages[b->n_stages];
            memset(cur, 0, sizeof(*cur));
            cur->index = b->n_stages++;
            cur->first = i;
            _cleanup_strv_ char **words = bf_split_words(in->args, b->file.escape);
            size_t n = 0;
            while (words[n])
                n++;
            if (n == 3 && strcasecmp(words[1], "as") == 0) {
                cur->name = lower(words[2]);
                if (bf_stage_find(b, cur->name, cur->index))
                    return fail_at(b, in, err, "FROM: duplicate stage name ", cur->name);
                char *endp;
                strtoul(cur->name, &endp, 10);
                if (!*endp)
                    return fail_at(b, in, err, "FROM: a stage name cannot be a number: ", cur->name);
            } else if (n != 1) {
                return fail_at(b, in, err, "FROM: expected FROM <image> [AS <name>], got: ", in->args);
            }
            continue;
        }
        if (!cur) {
            if (strcmp(in->cmd, "arg") != 0)
                return fail_at(b, in, err, "the first instruction must be FROM (or ARG before it), not ",
                               in->original);
            int ret = declare_args(b, in, true, b->meta_args, err);
            if (ret < 0)
                return servin_error_wrap(err, "%s:%d:%d: ARG", b->file.name, in->line, in->column);
        }
    }
    if (!cur)
        return servin_error_set(err, EINVAL, "%s: no FROM instruction: a Buildfile starts a stage with FROM",
                                b->file.name);
    cur->end = b->file.n;
    return 0;
}

/* The stage a FROM or --from names, expanded with the global ARGs. */
static struct bf_stage *stage_ref(struct bf_builder *b, const char *text, size_t before)
{
    char *v = NULL;
    if (bf_expand_word(text, b->file.escape, bf_meta_lookup, b, &v, NULL) < 0)
        return NULL;
    struct bf_stage *s = bf_stage_find(b, v, before);
    free(v);
    return s;
}

static void mark(struct bf_builder *b, struct bf_stage *s)
{
    if (s->needed)
        return;
    s->needed = true;
    b->n_steps += (int)(s->end - s->first);
    for (size_t i = s->first; i < s->end; i++) {
        const struct bf_instr *in = &b->file.v[i];
        struct bf_stage *dep = NULL;
        if (i == s->first) {
            _cleanup_strv_ char **words = bf_split_words(in->args, b->file.escape);
            if (words[0])
                dep = stage_ref(b, words[0], s->index);
        } else if ((strcmp(in->cmd, "copy") == 0 || strcmp(in->cmd, "add") == 0) && bf_flag(in, "from")) {
            dep = stage_ref(b, bf_flag(in, "from"), s->index);
        }
        if (dep)
            mark(b, dep);
    }
}

int bf_stages_mark_needed(struct bf_builder *b, struct servin_error *err)
{
    struct bf_stage *target = &b->stages[b->n_stages - 1];
    if (b->o->target && *b->o->target) {
        _cleanup_free_ char *t = lower(b->o->target);
        target = NULL;
        for (size_t i = 0; i < b->n_stages; i++)
            if (b->stages[i].name && strcmp(b->stages[i].name, t) == 0)
                target = &b->stages[i];
        if (!target)
            return servin_error_set(err, ENOENT, "target stage \"%s\" could not be found in %s", b->o->target,
                                    b->file.name);
    }
    mark(b, target);
    /* Stages after the target are never built, even when the file goes on. */
    for (size_t i = target->index + 1; i < b->n_stages; i++)
        b->stages[i].needed = false;
    return 0;
}

int bf_image_state(struct bf_builder *b, const char *ref, bool pull, struct bf_state *out,
                   struct servin_error *err)
{
    char id[SERVIN_DIGEST_MAX];
    struct servin_error lookup = {0};
    if (!pull && servin_image_resolve(b->store, ref, id, &lookup) == 0)
        return bf_state_from_image(b->store, id, out, err);
    if (!pull && lookup.code != ENOENT) {
        *err = lookup;
        return -lookup.code;
    }
    bf_reportf(b, SERVIN_BUILD_MESSAGE, "Pulling %s", ref);
    struct servin_pull_opts po = {0};
    struct servin_pull_result res = {0};
    int ret = servin_registry_pull(b->store, ref, &po, &res, err);
    if (ret < 0)
        return servin_error_wrap(err, "pull %s", ref);
    ret = bf_state_from_image(b->store, res.image_id, out, err);
    servin_pull_result_free(&res);
    return ret;
}

int bf_exec_from(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in,
                 struct servin_error *err)
{
    static const char *const allowed[] = {"platform", NULL};
    const char *bad = bf_unknown_flag(in, allowed);
    if (bad)
        return servin_error_set(err, EINVAL, "unknown flag %s", bad);
    const char *platform = bf_flag(in, "platform");
    if (platform) {
        _cleanup_free_ char *p = NULL;
        int ret = bf_expand_word(platform, b->file.escape, bf_meta_lookup, b, &p, err);
        if (ret < 0)
            return ret;
        ret = bf_platform_check(p, err);
        if (ret < 0)
            return ret;
    }
    _cleanup_strv_ char **words = bf_split_words(in->args, b->file.escape);
    int ret = bf_expand_word(words[0], b->file.escape, bf_meta_lookup, b, &s->base, err);
    if (ret < 0)
        return ret;
    if (!*s->base)
        return servin_error_set(err, EINVAL, "FROM names no image (\"%s\" expands to nothing)", words[0]);
    struct bf_stage *dep = bf_stage_find(b, s->base, s->index);
    if (dep) {
        if (!dep->built)
            return servin_error_set(err, EINVAL, "stage %s is not built", s->base);
        bf_state_copy(&s->state, &dep->state);
        return 0;
    }
    if (strcasecmp(s->base, "scratch") == 0) {
        bf_state_scratch(&s->state);
        return 0;
    }
    return bf_image_state(b, s->base, b->o->pull, &s->state, err);
}
