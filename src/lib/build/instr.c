/* build/instr.c — the instructions that only change the image config: ENV, LABEL, CMD,
 * ENTRYPOINT, WORKDIR, USER, EXPOSE, VOLUME, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER.
 * Each is a step with an empty layer in the history, cached like any other step. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/build_internal.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/runtime.h"

json_t *bf_shell_argv(struct bf_stage *s, const char *text)
{
    json_t *shell = json_object_get(bf_state_cfg(&s->state), "Shell");
    json_t *argv = json_array_size(shell) ? json_deep_copy(shell) : json_pack("[s,s]", "/bin/sh", "-c");
    json_array_append_new(argv, json_string(text));
    return argv;
}

/* What a step computed before the cache lookup and applies on a miss. */
struct change {
    const char *key; /* the config key to set, or NULL for a custom apply */
    json_t *value;   /* set (stolen) under key */
    char **pairs;    /* ENV / LABEL pairs */
    size_t n_pairs;
};

static void env_set(json_t *env, const char *k, const char *v)
{
    size_t n = strlen(k), i;
    json_t *e;
    _cleanup_free_ char *kv = xasprintf("%s=%s", k, v);
    json_array_foreach (env, i, e) {
        const char *s = json_string_value(e);
        if (s && strncmp(s, k, n) == 0 && s[n] == '=') {
            json_array_set_new(env, i, json_string(kv));
            return;
        }
    }
    json_array_append_new(env, json_string(kv));
}

static json_t *cfg_obj(struct bf_stage *s, const char *key, bool array)
{
    json_t *cfg = bf_state_cfg(&s->state);
    json_t *v = json_object_get(cfg, key);
    if (array ? !json_is_array(v) : !json_is_object(v)) {
        v = array ? json_array() : json_object();
        json_object_set_new(cfg, key, v);
    }
    return v;
}

static int apply(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in, void *data,
                 struct servin_error *err)
{
    struct change *c = data;
    json_t *cfg = bf_state_cfg(&s->state);
    if (strcmp(in->cmd, "env") == 0) {
        json_t *env = cfg_obj(s, "Env", true);
        for (size_t i = 0; i < c->n_pairs; i++)
            env_set(env, c->pairs[2 * i], c->pairs[2 * i + 1]);
    } else if (strcmp(in->cmd, "label") == 0) {
        json_t *labels = cfg_obj(s, "Labels", false);
        for (size_t i = 0; i < c->n_pairs; i++)
            json_object_set_new(labels, c->pairs[2 * i], json_string(c->pairs[2 * i + 1]));
    } else if (strcmp(in->cmd, "expose") == 0 || strcmp(in->cmd, "volume") == 0) {
        json_t *into = cfg_obj(s, strcmp(in->cmd, "expose") == 0 ? "ExposedPorts" : "Volumes", false);
        json_object_update(into, c->value);
    } else if (strcmp(in->cmd, "maintainer") == 0) {
        json_object_set(s->state.config, "author", c->value);
    } else if (strcmp(in->cmd, "onbuild") == 0) {
        json_array_append(cfg_obj(s, "OnBuild", true), c->value);
    } else {
        json_object_set(cfg, c->key, c->value);
        /* An ENTRYPOINT drops a CMD inherited from the base image, as in Docker. */
        if (strcmp(in->cmd, "entrypoint") == 0 && !s->cmd_set)
            json_object_set_new(cfg, "Cmd", json_null());
    }
    return 0;
}

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* CMD, ENTRYPOINT: the exec form as it is, the shell form through the SHELL. */
static json_t *command(struct bf_stage *s, const struct bf_instr *in)
{
    return in->json ? json_deep_copy(in->json) : bf_shell_argv(s, in->args);
}

static int expose(struct bf_builder *b, const struct bf_instr *in, json_t **out, struct servin_error *err)
{
    char **words = NULL;
    int ret = bf_expand_words(in->args, b->file.escape, bf_stage_lookup, b, &words, err);
    if (ret < 0)
        return ret;
    json_t *ports = json_object();
    for (size_t i = 0; words[i] && ret == 0; i++) {
        _cleanup_free_ char *w = xstrdup(words[i]);
        char *proto = strchr(w, '/');
        if (proto)
            *proto++ = '\0';
        for (char *p = proto; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (proto && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0) {
            ret = servin_error_set(err, EINVAL, "invalid port \"%s\": the protocol must be tcp, udp or sctp",
                                   words[i]);
            break;
        }
        char *end;
        unsigned long lo = strtoul(w, &end, 10), hi = lo;
        if (*end == '-')
            hi = strtoul(end + 1, &end, 10);
        if (!*w || *end || lo == 0 || hi > 65535 || hi < lo) {
            ret = servin_error_set(err, EINVAL, "invalid port \"%s\": expected PORT[-PORT][/PROTOCOL]",
                                   words[i]);
            break;
        }
        for (unsigned long p = lo; p <= hi; p++) {
            _cleanup_free_ char *key = xasprintf("%lu/%s", p, proto ? proto : "tcp");
            json_object_set_new(ports, key, json_object());
        }
    }
    strv_free(words);
    if (ret < 0) {
        json_decref(ports);
        return ret;
    }
    *out = ports;
    return 0;
}

static int healthcheck(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in, json_t **out,
                       struct servin_error *err)
{
    static const char *const allowed[] = {"interval",       "timeout", "start-period",
                                          "start-interval", "retries", NULL};
    const char *bad = bf_unknown_flag(in, allowed);
    if (bad)
        return servin_error_set(err, EINVAL, "unknown flag %s", bad);
    const char *a = in->args;
    if (strcasecmp(a, "none") == 0) {
        *out = json_pack("{s:[s]}", "Test", "NONE");
        return 0;
    }
    if (strncasecmp(a, "cmd", 3) != 0 || (a[3] != ' ' && a[3] != '\t'))
        return servin_error_set(err, EINVAL,
                                "expected HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE");
    const char *rest = a + 3;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    json_t *test = NULL;
    json_t *arr = rest[0] == '[' ? json_loads(rest, 0, NULL) : NULL;
    if (json_is_array(arr)) {
        test = json_pack("[s]", "CMD");
        json_array_extend(test, arr);
    } else {
        test = json_pack("[s,s]", "CMD-SHELL", rest);
    }
    json_decref(arr);
    json_t *hc = json_pack("{s:o}", "Test", test);
    static const char *const keys[] = {"interval",     "Interval",    "timeout",        "Timeout",
                                       "start-period", "StartPeriod", "start-interval", "StartInterval"};
    for (size_t i = 0; i < 8; i += 2) {
        const char *v = bf_flag(in, keys[i]);
        int64_t ns = 0;
        if (v && servin_parse_duration(v, &ns, err) < 0) {
            json_decref(hc);
            return servin_error_wrap(err, "--%s", keys[i]);
        }
        if (v)
            json_object_set_new(hc, keys[i + 1], json_integer(ns));
    }
    const char *retries = bf_flag(in, "retries");
    if (retries) {
        char *end;
        long r = strtol(retries, &end, 10);
        if (!*retries || *end || r < 0) {
            json_decref(hc);
            return servin_error_set(err, EINVAL, "invalid --retries=%s: expected a number", retries);
        }
        json_object_set_new(hc, "Retries", json_integer(r));
    }
    (void)s;
    *out = hc;
    return 0;
}

static char *upper_first_word(const char *text)
{
    char *out = xstrdup(text);
    for (char *c = out; *c && !isspace((unsigned char)*c); c++)
        *c = (char)toupper((unsigned char)*c);
    return out;
}

int bf_exec_meta(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in,
                 struct servin_error *err)
{
    const char *cmd = in->cmd;
    if (strcmp(cmd, "healthcheck") != 0 && in->n_flags)
        return servin_error_set(err, EINVAL, "unknown flag %s", in->flags[0]);
    struct change c = {0};
    int ret = 0;
    _cleanup_free_ char *created_by = NULL;
    if (strcmp(cmd, "env") == 0 || strcmp(cmd, "label") == 0) {
        bool env = strcmp(cmd, "env") == 0;
        ret = bf_parse_pairs(in->args, b->file.escape, true, false, bf_stage_lookup, b, &c.pairs, &c.n_pairs,
                             err);
        if (ret < 0)
            return ret;
        _cleanup_free_ char *text = xstrdup("");
        for (size_t i = 0; i < c.n_pairs; i++) {
            json_t *v = json_string(c.pairs[2 * i + 1]);
            _cleanup_free_ char *quoted = dump(v);
            json_decref(v);
            char *next = env ? xasprintf("%s %s=%s", text, c.pairs[2 * i], c.pairs[2 * i + 1])
                             : xasprintf("%s %s=%s", text, c.pairs[2 * i], quoted);
            free(text);
            text = next;
        }
        created_by = xasprintf("%s%s", env ? "ENV" : "LABEL", text);
    } else if (strcmp(cmd, "cmd") == 0 || strcmp(cmd, "entrypoint") == 0 || strcmp(cmd, "shell") == 0) {
        if (strcmp(cmd, "shell") == 0 && (!in->json || json_array_size(in->json) == 0))
            return servin_error_set(err, EINVAL,
                                    "SHELL takes a non-empty JSON array, e.g. [\"/bin/sh\", \"-c\"]");
        c.value = strcmp(cmd, "shell") == 0 ? json_deep_copy(in->json) : command(s, in);
        c.key = strcmp(cmd, "cmd") == 0 ? "Cmd" : strcmp(cmd, "shell") == 0 ? "Shell" : "Entrypoint";
        if (strcmp(cmd, "cmd") == 0)
            s->cmd_set = true;
        _cleanup_free_ char *text = dump(c.value);
        created_by = xasprintf("%s %s",
                               strcmp(cmd, "cmd") == 0     ? "CMD"
                               : strcmp(cmd, "shell") == 0 ? "SHELL"
                                                           : "ENTRYPOINT",
                               text);
    } else if (strcmp(cmd, "workdir") == 0 || strcmp(cmd, "user") == 0 || strcmp(cmd, "stopsignal") == 0 ||
               strcmp(cmd, "maintainer") == 0) {
        char *v = NULL;
        bool raw = strcmp(cmd, "maintainer") == 0;
        if (raw)
            v = xstrdup(in->args);
        else
            ret = bf_expand_word(in->args, b->file.escape, bf_stage_lookup, b, &v, err);
        if (ret < 0)
            return ret;
        if (!*v) {
            free(v);
            return servin_error_set(err, EINVAL, "missing argument");
        }
        if (strcmp(cmd, "workdir") == 0 && v[0] != '/') {
            /* Relative to the previous WORKDIR. */
            const char *wd = json_string_value(json_object_get(bf_state_cfg(&s->state), "WorkingDir"));
            char *joined = xasprintf("%s/%s", wd && *wd ? wd : "", v);
            free(v);
            v = joined;
        }
        if (strcmp(cmd, "workdir") == 0) {
            _cleanup_free_ char *clean = bf_clean_rel(v);
            free(v);
            v = xasprintf("/%s", clean ? clean : "");
        }
        if (strcmp(cmd, "stopsignal") == 0 && servin_signal_parse(v) < 0) {
            ret = servin_error_set(err, EINVAL, "invalid signal \"%s\"", v);
            free(v);
            return ret;
        }
        c.value = json_string(v);
        c.key = strcmp(cmd, "workdir") == 0 ? "WorkingDir" : strcmp(cmd, "user") == 0 ? "User" : "StopSignal";
        _cleanup_free_ char *kw = upper_first_word(cmd);
        created_by = xasprintf("%s %s", kw, v);
        free(v);
    } else if (strcmp(cmd, "expose") == 0) {
        ret = expose(b, in, &c.value, err);
        if (ret < 0)
            return ret;
        _cleanup_free_ char *text = dump(c.value);
        created_by = xasprintf("EXPOSE %s", text);
    } else if (strcmp(cmd, "volume") == 0) {
        char **words = NULL;
        if (in->json) {
            words = xcalloc(json_array_size(in->json) + 1, sizeof(char *));
            for (size_t i = 0; i < json_array_size(in->json); i++)
                words[i] = xstrdup(json_string_value(json_array_get(in->json, i)));
        } else {
            ret = bf_expand_words(in->args, b->file.escape, bf_stage_lookup, b, &words, err);
            if (ret < 0)
                return ret;
        }
        c.value = json_object();
        for (size_t i = 0; words[i]; i++)
            if (*words[i])
                json_object_set_new(c.value, words[i], json_object());
        strv_free(words);
        if (json_object_size(c.value) == 0) {
            json_decref(c.value);
            return servin_error_set(err, EINVAL, "VOLUME names no path");
        }
        _cleanup_free_ char *text = dump(c.value);
        created_by = xasprintf("VOLUME %s", text);
    } else if (strcmp(cmd, "healthcheck") == 0) {
        ret = healthcheck(b, s, in, &c.value, err);
        if (ret < 0)
            return ret;
        c.key = "Healthcheck";
        _cleanup_free_ char *text = dump(c.value);
        created_by = xasprintf("HEALTHCHECK %s", text);
    } else if (strcmp(cmd, "onbuild") == 0) {
        struct bf_instr trigger = {0};
        ret = bf_parse_one(b->file.name, in->args, b->file.escape, &trigger, err);
        if (ret == 0 && (strcmp(trigger.cmd, "onbuild") == 0 || strcmp(trigger.cmd, "from") == 0 ||
                         strcmp(trigger.cmd, "maintainer") == 0))
            ret = servin_error_set(err, EINVAL, "%s is not allowed as an ONBUILD trigger", trigger.cmd);
        bf_instr_clear(&trigger);
        if (ret < 0)
            return ret;
        _cleanup_free_ char *text = upper_first_word(in->args);
        c.value = json_string(text);
        created_by = xasprintf("ONBUILD %s", text);
    } else {
        return servin_error_set(err, EINVAL, "unsupported instruction");
    }
    ret = bf_meta_step(b, s, in, created_by, apply, &c, err);
    json_decref(c.value);
    bf_pairs_free(c.pairs, c.n_pairs);
    return ret;
}
