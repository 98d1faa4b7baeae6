/* image/config_change.c — `import --change`: Dockerfile instructions applied to an image config. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "servin/archive.h"
#include "servin/cleanup.h"

/* Split Dockerfile-style words: blanks separate, quotes group, a backslash escapes the next
 * character (except inside single quotes). Unbalanced quotes are an error. */
static int split_words(const char *s, char ***out, size_t *n_out, struct servin_error *err)
{
    _cleanup_strv_ char **words = NULL;
    size_t n = 0;
    const char *p = s;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char *word = xmalloc(strlen(p) + 1);
        size_t len = 0;
        char quote = 0;
        for (; *p && (quote || !isspace((unsigned char)*p)); p++) {
            if (quote && *p == quote) {
                quote = 0;
            } else if (!quote && (*p == '"' || *p == '\'')) {
                quote = *p;
            } else if (*p == '\\' && quote != '\'' && p[1]) {
                word[len++] = *++p;
            } else {
                word[len++] = *p;
            }
        }
        word[len] = '\0';
        if (quote) {
            free(word);
            return servin_error_set(err, EINVAL, "unbalanced %c quote in \"%s\"", quote, s);
        }
        words = xreallocarray(words, n + 2, sizeof(char *));
        words[n++] = word;
        words[n] = NULL;
    }
    if (!words)
        words = xcalloc(1, sizeof(char *));
    *out = steal_pointer(&words);
    *n_out = n;
    return 0;
}

/* A JSON array of strings, as the exec form of CMD/ENTRYPOINT/VOLUME; NULL when it is not one. */
static json_t *parse_exec_form(const char *rest)
{
    if (*rest != '[')
        return NULL;
    json_t *arr = json_loads(rest, JSON_DECODE_ANY, NULL);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (!json_is_string(v)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int set_command(json_t *config, const char *key, const char *rest, struct servin_error *err)
{
    json_t *arr = parse_exec_form(rest);
    if (!arr) {
        if (!*rest)
            return servin_error_set(err, EINVAL, "%s needs a command", key);
        /* The shell form runs through /bin/sh -c, exactly as Docker does. */
        arr = json_pack("[s,s,s]", "/bin/sh", "-c", rest);
    }
    json_object_set_new(config, key, arr);
    return 0;
}

static void env_set(json_t *config, const char *key, const char *value)
{
    json_t *env = json_object_get(config, "Env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(config, "Env", env);
    }
    _cleanup_free_ char *entry = xasprintf("%s=%s", key, value);
    size_t klen = strlen(key), i;
    json_t *v;
    /* A variable set again replaces the old value in place, keeping the order stable. */
    json_array_foreach (env, i, v) {
        const char *s = json_string_value(v);
        if (s && strncmp(s, key, klen) == 0 && s[klen] == '=') {
            json_array_set_new(env, i, json_string(entry));
            return;
        }
    }
    json_array_append_new(env, json_string(entry));
}

static void label_set(json_t *config, const char *key, const char *value)
{
    json_t *labels = json_object_get(config, "Labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(config, "Labels", labels);
    }
    json_object_set_new(labels, key, json_string(value));
}

/* ENV and LABEL take "k=v k2=v2" pairs, or the legacy "k rest of the line" form. */
static int set_pairs(json_t *config, const char *what, const char *rest,
                     void (*set)(json_t *, const char *, const char *), struct servin_error *err)
{
    _cleanup_strv_ char **words = NULL;
    size_t n = 0;
    int ret = split_words(rest, &words, &n, err);
    if (ret < 0)
        return servin_error_wrap(err, "%s", what);
    if (n == 0)
        return servin_error_set(err, EINVAL, "%s needs at least one argument", what);

    if (!strchr(words[0], '=')) {
        if (n < 2)
            return servin_error_set(err, EINVAL, "%s %s needs a value", what, words[0]);
        /* Legacy form: the value is the rest of the line after the key, quotes removed word by word. */
        _cleanup_free_ char *value = xstrdup(words[1]);
        for (size_t i = 2; i < n; i++) {
            char *joined = xasprintf("%s %s", value, words[i]);
            free(value);
            value = joined;
        }
        set(config, words[0], value);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(words[i], '=');
        if (!eq)
            return servin_error_set(err, EINVAL, "%s: \"%s\" is not of the form key=value", what, words[i]);
        if (eq == words[i])
            return servin_error_set(err, EINVAL, "%s: \"%s\" has an empty name", what, words[i]);
        *eq = '\0';
        set(config, words[i], eq + 1);
    }
    return 0;
}

static int parse_port(const char *s, char **end, long *out)
{
    errno = 0;
    long v = strtol(s, end, 10);
    if (errno || *end == s || v < 1 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

static int set_expose(json_t *config, const char *rest, struct servin_error *err)
{
    _cleanup_strv_ char **words = NULL;
    size_t n = 0;
    if (split_words(rest, &words, &n, err) < 0)
        return servin_error_wrap(err, "EXPOSE");
    if (n == 0)
        return servin_error_set(err, EINVAL, "EXPOSE needs at least one port");
    json_t *ports = json_object_get(config, "ExposedPorts");
    if (!json_is_object(ports)) {
        ports = json_object();
        json_object_set_new(config, "ExposedPorts", ports);
    }
    for (size_t i = 0; i < n; i++) {
        char *end;
        long lo, hi;
        const char *proto = "tcp";
        if (parse_port(words[i], &end, &lo) < 0)
            return servin_error_set(err, EINVAL, "EXPOSE: invalid port \"%s\"", words[i]);
        hi = lo;
        if (*end == '-' && parse_port(end + 1, &end, &hi) < 0)
            return servin_error_set(err, EINVAL, "EXPOSE: invalid port range \"%s\"", words[i]);
        if (*end == '/') {
            proto = end + 1;
            end += strlen(end);
            for (char *c = (char *)proto; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0)
                return servin_error_set(err, EINVAL, "EXPOSE: invalid protocol in \"%s\"", words[i]);
        }
        if (*end || hi < lo)
            return servin_error_set(err, EINVAL, "EXPOSE: invalid port \"%s\"", words[i]);
        for (long p = lo; p <= hi; p++) {
            char key[32];
            snprintf(key, sizeof(key), "%ld/%s", p, proto);
            json_object_set_new(ports, key, json_object());
        }
    }
    return 0;
}

static int set_volume(json_t *config, const char *rest, struct servin_error *err)
{
    json_t *vols = json_object_get(config, "Volumes");
    if (!json_is_object(vols)) {
        vols = json_object();
        json_object_set_new(config, "Volumes", vols);
    }
    json_t *arr = parse_exec_form(rest);
    if (!arr) {
        _cleanup_strv_ char **words = NULL;
        size_t n = 0;
        if (split_words(rest, &words, &n, err) < 0)
            return servin_error_wrap(err, "VOLUME");
        arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_string(words[i]));
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return servin_error_set(err, EINVAL, "VOLUME needs at least one path");
    }
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (!*json_string_value(v)) {
            json_decref(arr);
            return servin_error_set(err, EINVAL, "VOLUME: a volume path cannot be empty");
        }
        json_object_set_new(vols, json_string_value(v), json_object());
    }
    json_decref(arr);
    return 0;
}

static int set_workdir(json_t *config, const char *rest, struct servin_error *err)
{
    _cleanup_strv_ char **words = NULL;
    size_t n = 0;
    if (split_words(rest, &words, &n, err) < 0)
        return servin_error_wrap(err, "WORKDIR");
    if (n != 1)
        return servin_error_set(err, EINVAL, "WORKDIR takes exactly one path");
    /* A relative WORKDIR is relative to the previous one, as in a Dockerfile. */
    const char *prev = json_string_value(json_object_get(config, "WorkingDir"));
    _cleanup_free_ char *dir = NULL;
    if (words[0][0] == '/')
        dir = xstrdup(words[0]);
    else
        dir = xasprintf("%s/%s", prev && *prev ? prev : "", words[0]);
    json_object_set_new(config, "WorkingDir", json_string(dir));
    return 0;
}

static int set_single(json_t *config, const char *what, const char *key, const char *rest,
                      struct servin_error *err)
{
    _cleanup_strv_ char **words = NULL;
    size_t n = 0;
    if (split_words(rest, &words, &n, err) < 0)
        return servin_error_wrap(err, "%s", what);
    if (n != 1)
        return servin_error_set(err, EINVAL, "%s takes exactly one argument", what);
    json_object_set_new(config, key, json_string(words[0]));
    return 0;
}

static int set_stopsignal(json_t *config, const char *rest, struct servin_error *err)
{
    int ret = set_single(config, "STOPSIGNAL", "StopSignal", rest, err);
    if (ret < 0)
        return ret;
    const char *sig = json_string_value(json_object_get(config, "StopSignal"));
    char *end;
    long num = strtol(sig, &end, 10);
    const char *name = strncasecmp(sig, "SIG", 3) == 0 ? sig + 3 : sig;
    bool ok =
        (*end == '\0' && num > 0 && num < 65) ||
        (*end != '\0' && *name &&
         strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-") == strlen(name));
    if (!ok)
        return servin_error_set(err, EINVAL, "STOPSIGNAL: invalid signal \"%s\"", sig);
    return 0;
}

static int add_onbuild(json_t *config, const char *rest, struct servin_error *err)
{
    size_t wl = strcspn(rest, " \t");
    if (wl == 0)
        return servin_error_set(err, EINVAL, "ONBUILD needs an instruction");
    if ((wl == 7 && strncasecmp(rest, "ONBUILD", 7) == 0) || (wl == 4 && strncasecmp(rest, "FROM", 4) == 0) ||
        (wl == 10 && strncasecmp(rest, "MAINTAINER", 10) == 0))
        return servin_error_set(err, EINVAL, "ONBUILD cannot trigger %.*s", (int)wl, rest);
    json_t *list = json_object_get(config, "OnBuild");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(config, "OnBuild", list);
    }
    json_array_append_new(list, json_string(rest));
    return 0;
}

int servin_config_apply_change(json_t *config, const char *change, struct servin_error *err)
{
    while (isspace((unsigned char)*change))
        change++;
    size_t wl = 0;
    while (change[wl] && !isspace((unsigned char)change[wl]))
        wl++;
    if (wl == 0)
        return servin_error_set(err, EINVAL,
                                "empty change: expected a Dockerfile instruction such as CMD [\"sh\"]");
    _cleanup_free_ char *rest = xstrdup(change + wl + strspn(change + wl, " \t\r\n"));
    /* Trailing blanks are not part of the value. */
    size_t rl = strlen(rest);
    while (rl > 0 && isspace((unsigned char)rest[rl - 1]))
        rest[--rl] = '\0';
    _cleanup_free_ char *word = xstrndup(change, wl);
    for (char *c = word; *c; c++)
        *c = (char)toupper((unsigned char)*c);

    int ret;
    if (strcmp(word, "CMD") == 0)
        ret = set_command(config, "Cmd", rest, err);
    else if (strcmp(word, "ENTRYPOINT") == 0)
        ret = set_command(config, "Entrypoint", rest, err);
    else if (strcmp(word, "ENV") == 0)
        ret = set_pairs(config, "ENV", rest, env_set, err);
    else if (strcmp(word, "LABEL") == 0)
        ret = set_pairs(config, "LABEL", rest, label_set, err);
    else if (strcmp(word, "EXPOSE") == 0)
        ret = set_expose(config, rest, err);
    else if (strcmp(word, "VOLUME") == 0)
        ret = set_volume(config, rest, err);
    else if (strcmp(word, "USER") == 0)
        ret = set_single(config, "USER", "User", rest, err);
    else if (strcmp(word, "WORKDIR") == 0)
        ret = set_workdir(config, rest, err);
    else if (strcmp(word, "STOPSIGNAL") == 0)
        ret = set_stopsignal(config, rest, err);
    else if (strcmp(word, "ONBUILD") == 0)
        ret = add_onbuild(config, rest, err);
    else
        return servin_error_set(err, EINVAL,
                                "%s is not a valid change command (use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                                "ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR)",
                                word);
    if (ret < 0)
        return servin_error_wrap(err, "change \"%s\"", change);
    return 0;
}
