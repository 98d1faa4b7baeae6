/* config/config.c — the keys, their defaults, the environment and flags over the file, and the current
 * config. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/log.h"

#define OFF(field) offsetof(struct servin_config, field)

/* clang-format off */
const struct cfg_key cfg_keys[] = {
    {"runtime.data_dir", CFG_PATH, OFF(runtime.data_dir), "SERVIN_ROOT", "/var/lib/servin", NULL, -1, false, false},
    {"runtime.state_dir", CFG_PATH, OFF(runtime.state_dir), "SERVIN_STATE_DIR", NULL, NULL, -1, false, false},
    {"runtime.log_level", CFG_LEVEL, OFF(runtime.log_level), "SERVIN_LOG_LEVEL", "warn", NULL, -1, false, false},
    {"runtime.log_format", CFG_CHOICE, OFF(runtime.log_format), "SERVIN_LOG_FORMAT", "text", "text|json", -1, false, false},
    {"runtime.max_containers", CFG_COUNT, OFF(runtime.max_containers), NULL, "0", NULL, -1, false, false},
    {"cri.enabled", CFG_BOOL, OFF(cri.enabled), NULL, "true", NULL, -1, false, false},
    {"cri.listen_address", CFG_STRING, OFF(cri.listen_address), "SERVIN_CRI_LISTEN", NULL, NULL, -1, false, false},
    {"cri.socket_path", CFG_PATH, OFF(cri.socket_path), "SERVIN_CRI_SOCKET", "/run/servin/cri.sock", NULL, -1, false, false},
    {"registries.default", CFG_CHOICE, OFF(registries.default_registry), NULL, "docker.io", "docker.io", -1, false, false},
    {"registries.insecure", CFG_LIST, OFF(registries.insecure), "SERVIN_INSECURE_REGISTRIES", NULL, NULL, -1, false, false},
    {"registries.mirrors", CFG_MIRRORS, OFF(registries.mirrors), NULL, NULL, NULL, -1, false, false},
    {"registries.ca_file", CFG_CA_FILES, OFF(registries.ca_files), NULL, NULL, NULL, -1, false, false},
    {"registries.credentials_file", CFG_PATH, OFF(registries.credentials_file), "SERVIN_REGISTRY_AUTH_FILE", NULL, NULL, -1, false, false},
    {"registries.user", CFG_STRING, OFF(registries.user), "SERVIN_REGISTRY_USER", NULL, NULL, -1, true, false},
    {"registries.password", CFG_STRING, OFF(registries.password), "SERVIN_REGISTRY_PASSWORD", NULL, NULL, -1, true, true},
    {"networking.default_bridge", CFG_STRING, OFF(networking.default_bridge), NULL, "servin0", NULL, -1, false, false},
    {"networking.bridge_ip", CFG_STRING, OFF(networking.bridge_ip), NULL, "172.17.0.1/16", NULL, -1, false, false},
    {"networking.enable_ipv6", CFG_BOOL, OFF(networking.enable_ipv6), NULL, "false", NULL, -1, false, false},
    {"storage.driver", CFG_CHOICE, OFF(storage.driver), NULL, "overlay", "overlay", -1, false, false},
    {"storage.root", CFG_PATH, OFF(runtime.data_dir), NULL, NULL, NULL, 0, false, false},
    {"storage.options", CFG_LIST, OFF(storage.options), NULL, NULL, NULL, -1, false, false},
    {"logging.driver", CFG_CHOICE, OFF(logging.driver), NULL, "json-file", "json-file|none", -1, false, false},
    {"logging.level", CFG_LEVEL, OFF(runtime.log_level), NULL, NULL, NULL, 2, false, false},
    {"logging.max_size", CFG_SIZE, OFF(logging.max_size), NULL, "0", NULL, -1, false, false},
    {"logging.max_files", CFG_POSITIVE, OFF(logging.max_files), NULL, "1", NULL, -1, false, false},
    {"security.enable_user_namespaces", CFG_BOOL, OFF(security.enable_user_namespaces), NULL, "false", NULL, -1, false, false},
    {"security.default_ulimits", CFG_ULIMITS, OFF(security.default_ulimits), NULL, NULL, NULL, -1, false, false},
};
/* clang-format on */
const size_t cfg_n_keys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);

static const char *const source_names[] = {"default", "file", "env", "flag"};

const char *servin_config_source_name(enum servin_config_source s)
{
    return (unsigned)s < 4 ? source_names[s] : "unknown";
}

size_t servin_config_n_keys(void)
{
    return cfg_n_keys;
}

const char *servin_config_key_name(size_t i)
{
    return i < cfg_n_keys ? cfg_keys[i].name : NULL;
}

bool servin_config_key_is_alias(size_t i)
{
    return i < cfg_n_keys && cfg_keys[i].alias_of >= 0;
}

const char *servin_config_key_env(size_t i)
{
    return i < cfg_n_keys ? cfg_keys[i].env : NULL;
}

int cfg_key_find(const char *name)
{
    for (size_t i = 0; i < cfg_n_keys; i++)
        if (strcmp(cfg_keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

char **cfg_strv_add(char **v, const char *s)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    v = xreallocarray(v, n + 2, sizeof(char *));
    v[n] = xstrdup(s);
    v[n + 1] = NULL;
    return v;
}

static void *field(struct servin_config *cfg, size_t key)
{
    return (char *)cfg + cfg_keys[key].offset;
}

static const void *cfield(const struct servin_config *cfg, size_t key)
{
    return (const char *)cfg + cfg_keys[key].offset;
}

static int parse_int(const char *text, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return -1;
    *out = v;
    return 0;
}

int cfg_parse_ulimit(const char *text, int64_t *soft, int64_t *hard, struct servin_error *err)
{
    _cleanup_free_ char *copy = xstrdup(text);
    char *colon = strchr(copy, ':');
    if (colon)
        *colon = '\0';
    const char *parts[2] = {copy, colon ? colon + 1 : copy};
    int64_t v[2];
    for (int i = 0; i < 2; i++) {
        if (strcasecmp(parts[i], "unlimited") == 0 || strcmp(parts[i], "-1") == 0)
            v[i] = -1;
        else if (parse_int(parts[i], &v[i]) < 0 || v[i] < 0)
            return servin_error_set(err, EINVAL, "expected SOFT[:HARD] limits like 1024:2048, got \"%s\"",
                                    text);
    }
    /* -1 is unlimited: above any number. */
    if (v[1] != -1 && (v[0] == -1 || v[0] > v[1]))
        return servin_error_set(err, EINVAL, "the soft limit is above the hard limit in \"%s\"", text);
    *soft = v[0];
    *hard = v[1];
    return 0;
}

int cfg_set_text(struct servin_config *cfg, size_t key, const char *text, struct servin_error *err)
{
    const struct cfg_key *k = &cfg_keys[key];
    void *f = field(cfg, key);
    int64_t n;

    switch (k->type) {
    case CFG_PATH:
        if (text[0] != '/')
            return servin_error_set(err, EINVAL, "expected an absolute path, got \"%s\"", text);
        /* fallthrough */
    case CFG_STRING:
        free(*(char **)f);
        *(char **)f = xstrdup(text);
        return 0;
    case CFG_LEVEL:
        if (servin_log_level_parse(text) < 0)
            return servin_error_set(err, EINVAL, "expected debug, info, warn, error or fatal, got \"%s\"",
                                    text);
        free(*(char **)f);
        *(char **)f = xstrdup(servin_log_level_name((enum servin_log_level)servin_log_level_parse(text)));
        return 0;
    case CFG_CHOICE: {
        size_t len = strlen(text);
        for (const char *c = k->choices; *c;) {
            size_t cl = strcspn(c, "|");
            if (cl == len && strncmp(c, text, len) == 0) {
                free(*(char **)f);
                *(char **)f = xstrdup(text);
                return 0;
            }
            c += cl + (c[cl] ? 1 : 0);
        }
        return servin_error_set(err, EINVAL, "expected one of %s, got \"%s\"", k->choices, text);
    }
    case CFG_BOOL:
        if (strcasecmp(text, "true") == 0 || strcasecmp(text, "yes") == 0 || strcasecmp(text, "on") == 0 ||
            strcmp(text, "1") == 0)
            *(bool *)f = true;
        else if (strcasecmp(text, "false") == 0 || strcasecmp(text, "no") == 0 ||
                 strcasecmp(text, "off") == 0 || strcmp(text, "0") == 0)
            *(bool *)f = false;
        else
            return servin_error_set(err, EINVAL, "expected true or false, got \"%s\"", text);
        return 0;
    case CFG_COUNT:
    case CFG_POSITIVE:
        if (parse_int(text, &n) < 0 || n < (k->type == CFG_POSITIVE ? 1 : 0))
            return servin_error_set(err, EINVAL, "expected an integer of at least %d, got \"%s\"",
                                    k->type == CFG_POSITIVE ? 1 : 0, text);
        *(int64_t *)f = n;
        return 0;
    case CFG_SIZE: {
        if (servin_parse_bytes(text, &n, NULL) < 0 || n < 0)
            return servin_error_set(err, EINVAL, "expected a size like 10m or a number of bytes, got \"%s\"",
                                    text);
        *(int64_t *)f = n;
        return 0;
    }
    case CFG_LIST: {
        /* From the environment: comma- or space-separated. */
        char ***v = f;
        strv_free(*v);
        *v = NULL;
        _cleanup_free_ char *copy = xstrdup(text);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
            *v = cfg_strv_add(*v, tok);
        return 0;
    }
    default:
        return servin_error_set(err, EINVAL, "cannot be set from text");
    }
}

static void free_fields(struct servin_config *cfg)
{
    for (size_t i = 0; i < cfg_n_keys; i++) {
        if (cfg_keys[i].alias_of >= 0)
            continue;
        void *f = field(cfg, i);
        switch (cfg_keys[i].type) {
        case CFG_STRING:
        case CFG_PATH:
        case CFG_LEVEL:
        case CFG_CHOICE:
            if (cfg_keys[i].secret && *(char **)f)
                explicit_bzero(*(char **)f, strlen(*(char **)f));
            free(*(char **)f);
            break;
        case CFG_LIST:
            strv_free(*(char ***)f);
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < cfg->registries.n_mirrors; i++) {
        free(cfg->registries.mirrors[i].host);
        strv_free(cfg->registries.mirrors[i].mirrors);
    }
    free(cfg->registries.mirrors);
    for (size_t i = 0; i < cfg->registries.n_ca_files; i++) {
        free(cfg->registries.ca_files[i].host);
        free(cfg->registries.ca_files[i].path);
    }
    free(cfg->registries.ca_files);
    free(cfg->security.default_ulimits);
    free(cfg->sources);
    free(cfg->path);
}

static struct servin_config *config_new(void)
{
    struct servin_config *cfg = xcalloc(1, sizeof(*cfg));
    cfg->refs = 1;
    cfg->sources = xcalloc(cfg_n_keys, sizeof(*cfg->sources));
    for (size_t i = 0; i < cfg_n_keys; i++)
        if (cfg_keys[i].deflt && cfg_keys[i].alias_of < 0 &&
            cfg_set_text(cfg, i, cfg_keys[i].deflt, NULL) < 0)
            abort(); /* a default that does not parse is a bug in the table */
    return cfg;
}

struct servin_config *servin_config_ref(struct servin_config *cfg)
{
    if (cfg)
        __atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
    return cfg;
}

void servin_config_unref(struct servin_config *cfg)
{
    if (!cfg || __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    free_fields(cfg);
    free(cfg);
}

void cleanup_configp(struct servin_config **cfg)
{
    servin_config_unref(*cfg);
}

/* Where to look when --config is not given. */
static char *default_path(void)
{
    const char *p = getenv("SERVIN_CONFIG");
    if (p && *p)
        return xstrdup(p);
    p = getenv("SERVIN_CONFIG_DIR");
    if (p && *p)
        return xasprintf("%s/config.yaml", p);
    if (geteuid() != 0) {
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        _cleanup_free_ char *user = xdg && *xdg     ? xasprintf("%s/servin/config.yaml", xdg)
                                    : home && *home ? xasprintf("%s/.config/servin/config.yaml", home)
                                                    : NULL;
        if (user && access(user, F_OK) == 0)
            return steal_pointer(&user);
    }
    return xstrdup(SERVIN_CONFIG_SYSTEM_PATH);
}

static int apply_override(struct servin_config *cfg, size_t key, const char *text,
                          enum servin_config_source src, const char *what, struct servin_error *err)
{
    struct servin_error inner = {0};
    if (cfg_set_text(cfg, key, text, &inner) < 0)
        return servin_error_set(err, EINVAL, "%s: %s", what, inner.msg);
    cfg->sources[key] = src;
    return 0;
}

static int apply_env_and_flags(struct servin_config *cfg, const struct servin_config_flags *flags,
                               struct servin_error *err)
{
    int ret;
    for (size_t i = 0; i < cfg_n_keys; i++) {
        const char *v = cfg_keys[i].env ? getenv(cfg_keys[i].env) : NULL;
        if (!v || !*v)
            continue;
        _cleanup_free_ char *what = xasprintf("$%s (%s)", cfg_keys[i].env, cfg_keys[i].name);
        if ((ret = apply_override(cfg, i, v, SERVIN_CONFIG_ENV, what, err)) < 0)
            return ret;
    }
    if (!flags)
        return 0;
    const struct {
        const char *value, *flag, *key;
    } fl[] = {{flags->data_dir, "--root", "runtime.data_dir"},
              {flags->state_dir, "--state-dir", "runtime.state_dir"},
              {flags->log_level, "--log-level", "runtime.log_level"}};
    for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
        if (!fl[i].value)
            continue;
        size_t key = (size_t)cfg_key_find(fl[i].key);
        /* A relative --root is the user's shell talking: make it absolute as Docker would. */
        _cleanup_free_ char *abs = NULL;
        const char *v = fl[i].value;
        if (cfg_keys[key].type == CFG_PATH && v[0] != '/' && *v) {
            char cwd[4096];
            if (getcwd(cwd, sizeof(cwd)))
                v = abs = xasprintf("%s/%s", cwd, v);
        }
        if ((ret = apply_override(cfg, key, v, SERVIN_CONFIG_FLAG, fl[i].flag, err)) < 0)
            return ret;
    }
    return 0;
}

static int load(const struct servin_config_flags *flags, bool env, struct servin_config **out,
                struct servin_error *err)
{
    struct servin_config *cfg = config_new();
    bool explicit = flags && flags->config_path;
    cfg->path = explicit ? xstrdup(flags->config_path) : default_path();
    if (cfg->path[0] != '/') {
        /* Re-executed children (monitors) run elsewhere: they must find the same file. */
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd))) {
            char *abs = xasprintf("%s/%s", cwd, cfg->path);
            free(cfg->path);
            cfg->path = abs;
        }
    }
    int ret = cfg_read_file(cfg, cfg->path, err);
    if (ret == -ENOENT && !explicit) {
        servin_error_clear(err);
        ret = 0;
    } else if (ret == -ENOENT) {
        ret = servin_error_set(err, ENOENT, "config file %s does not exist", cfg->path);
    } else if (ret == 0) {
        cfg->file_read = true;
    }
    if (ret == 0 && env)
        ret = apply_env_and_flags(cfg, flags, err);
    if (ret < 0) {
        servin_config_unref(cfg);
        return ret;
    }
    *out = cfg;
    return 0;
}

int servin_config_check_file(const char *path, struct servin_config **out, struct servin_error *err)
{
    struct servin_config_flags flags = {.config_path = path};
    return load(&flags, false, out, err);
}

char *servin_config_default_path(void)
{
    return default_path();
}

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct servin_config *current;
/* The flags of the last load, for reload: the command line does not change under a daemon. */
static struct {
    bool set;
    char *config_path, *data_dir, *state_dir, *log_level;
} last_flags;

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

int servin_config_load(const struct servin_config_flags *flags, struct servin_config **out,
                       struct servin_error *err)
{
    int ret = load(flags, true, out, err);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&current_lock);
    free(last_flags.config_path);
    free(last_flags.data_dir);
    free(last_flags.state_dir);
    free(last_flags.log_level);
    last_flags.set = true;
    last_flags.config_path = dup_or_null(flags ? flags->config_path : NULL);
    last_flags.data_dir = dup_or_null(flags ? flags->data_dir : NULL);
    last_flags.state_dir = dup_or_null(flags ? flags->state_dir : NULL);
    last_flags.log_level = dup_or_null(flags ? flags->log_level : NULL);
    pthread_mutex_unlock(&current_lock);
    return 0;
}

void servin_config_set_current(struct servin_config *cfg)
{
    servin_config_ref(cfg);
    pthread_mutex_lock(&current_lock);
    struct servin_config *old = current;
    current = cfg;
    pthread_mutex_unlock(&current_lock);
    servin_config_unref(old);
    if (cfg) {
        int level = servin_log_level_parse(cfg->runtime.log_level);
        if (level >= 0)
            servin_log_set_level((enum servin_log_level)level);
        servin_log_set_format_json(cfg->runtime.log_format && strcmp(cfg->runtime.log_format, "json") == 0);
    }
}

struct servin_config *servin_config_current(void)
{
    pthread_mutex_lock(&current_lock);
    if (!current)
        current = config_new(); /* a library user that never loaded one gets the defaults */
    struct servin_config *cfg = servin_config_ref(current);
    pthread_mutex_unlock(&current_lock);
    return cfg;
}

int servin_config_reload(struct servin_error *err)
{
    pthread_mutex_lock(&current_lock);
    struct servin_config_flags flags = {
        .config_path = dup_or_null(last_flags.config_path),
        .data_dir = dup_or_null(last_flags.data_dir),
        .state_dir = dup_or_null(last_flags.state_dir),
        .log_level = dup_or_null(last_flags.log_level),
    };
    pthread_mutex_unlock(&current_lock);
    struct servin_config *cfg = NULL;
    int ret = load(&flags, true, &cfg, err);
    free((char *)flags.config_path);
    free((char *)flags.data_dir);
    free((char *)flags.state_dir);
    free((char *)flags.log_level);
    if (ret < 0)
        return servin_error_wrap(err, "reload configuration");
    servin_config_set_current(cfg);
    servin_config_unref(cfg);
    log_info("configuration reloaded from %s", cfg->file_read ? cfg->path : "defaults");
    return 0;
}

char *servin_config_state_dir(const struct servin_config *cfg)
{
    if (cfg->runtime.state_dir && *cfg->runtime.state_dir)
        return xstrdup(cfg->runtime.state_dir);
    /* A custom data dir keeps its run state inside itself, so tests never touch /run/servin. */
    if (cfg->runtime.data_dir && strcmp(cfg->runtime.data_dir, "/var/lib/servin") != 0)
        return xasprintf("%s/run", cfg->runtime.data_dir);
    return xstrdup("/run/servin");
}

/* "docker.io" also answers for the names Docker Hub goes by. */
static bool same_host(const char *a, const char *b)
{
    static const char *const hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io"};
    if (strcmp(a, b) == 0)
        return true;
    bool ha = false, hb = false;
    for (size_t i = 0; i < 3; i++) {
        ha = ha || strcmp(a, hub[i]) == 0;
        hb = hb || strcmp(b, hub[i]) == 0;
    }
    return ha && hb;
}

char *const *servin_config_mirrors_for(const struct servin_config *cfg, const char *host)
{
    for (size_t i = 0; cfg && i < cfg->registries.n_mirrors; i++)
        if (same_host(cfg->registries.mirrors[i].host, host))
            return cfg->registries.mirrors[i].mirrors;
    return NULL;
}

const char *servin_config_ca_file_for(const struct servin_config *cfg, const char *host)
{
    for (size_t i = 0; cfg && i < cfg->registries.n_ca_files; i++)
        if (same_host(cfg->registries.ca_files[i].host, host))
            return cfg->registries.ca_files[i].path;
    return NULL;
}

static void append(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *more = xvasprintf(fmt, ap);
    va_end(ap);
    char *joined = xasprintf("%s%s%s", *s ? *s : "", *s && **s ? ", " : "", more);
    free(*s);
    *s = joined;
}

char *servin_config_key_value(const struct servin_config *cfg, size_t i)
{
    if (i >= cfg_n_keys)
        return xstrdup("");
    const struct cfg_key *k = &cfg_keys[i];
    const void *f = cfield(cfg, i);
    char *out = NULL;
    switch (k->type) {
    case CFG_STRING:
    case CFG_PATH:
    case CFG_LEVEL:
    case CFG_CHOICE: {
        const char *v = *(char *const *)f;
        if (k->secret)
            return xstrdup(v ? "(set)" : "");
        if (!v && strcmp(k->name, "runtime.state_dir") == 0)
            return servin_config_state_dir(cfg);
        return xstrdup(v ? v : "");
    }
    case CFG_BOOL:
        return xstrdup(*(const bool *)f ? "true" : "false");
    case CFG_COUNT:
    case CFG_POSITIVE:
    case CFG_SIZE:
        return xasprintf("%" PRId64, *(const int64_t *)f);
    case CFG_LIST:
        for (char *const *v = *(char **const *)f; v && *v; v++)
            append(&out, "%s", *v);
        break;
    case CFG_MIRRORS:
        for (size_t m = 0; m < cfg->registries.n_mirrors; m++)
            for (char *const *v = cfg->registries.mirrors[m].mirrors; v && *v; v++)
                append(&out, "%s=%s", cfg->registries.mirrors[m].host, *v);
        break;
    case CFG_CA_FILES:
        for (size_t m = 0; m < cfg->registries.n_ca_files; m++)
            append(&out, "%s=%s", cfg->registries.ca_files[m].host, cfg->registries.ca_files[m].path);
        break;
    case CFG_ULIMITS:
        for (size_t m = 0; m < cfg->security.n_default_ulimits; m++) {
            const struct servin_config_ulimit *u = &cfg->security.default_ulimits[m];
            append(&out, "%s=%" PRId64 ":%" PRId64, u->name, u->soft, u->hard);
        }
        break;
    }
    return out ? out : xstrdup("");
}

enum servin_config_source servin_config_key_source(const struct servin_config *cfg, const char *key)
{
    for (size_t i = 0; i < servin_config_n_keys(); i++)
        if (strcmp(servin_config_key_name(i), key) == 0)
            return cfg->sources ? cfg->sources[i] : SERVIN_CONFIG_DEFAULT;
    return SERVIN_CONFIG_DEFAULT;
}
