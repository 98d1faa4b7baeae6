/* config/config_yaml.c — reading config.yaml with libyaml: sections, keys, types, and errors that name the
 * line. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "config/config_internal.h"
#include "servin/cleanup.h"
#include "servin/registry.h"

/* What the parse of one file needs besides the config it fills. */
struct reader {
    struct servin_config *cfg;
    const char *path;
    yaml_document_t *doc;
    int *lines; /* per key: the line that set it, 0 when the file did not */
    struct servin_error *err;
};

static const char *const ulimit_names[] = {"cpu",      "fsize",  "data",    "stack", "core",  "rss",
                                           "nproc",    "nofile", "memlock", "as",    "locks", "sigpending",
                                           "msgqueue", "nice",   "rtprio",  "rttime"};

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static int fail(struct reader *r, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct reader *r, const yaml_node_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return servin_error_set(r->err, EINVAL, "%s:%d: %s", r->path, line_of(at), msg);
}

static const char *kind(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar";
}

static const char *scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* "key:" with nothing after it, "~" or "null", unquoted. */
static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = scalar(n);
    return !*v || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

static const char *describe(enum cfg_type t)
{
    switch (t) {
    case CFG_LIST:
        return "a list of strings";
    case CFG_MIRRORS:
        return "a mapping of registry hosts to lists of mirror URLs";
    case CFG_CA_FILES:
        return "a mapping of registry hosts to CA file paths";
    case CFG_ULIMITS:
        return "a mapping of ulimit names to SOFT[:HARD]";
    case CFG_BOOL:
        return "true or false";
    case CFG_COUNT:
    case CFG_POSITIVE:
        return "an integer";
    case CFG_SIZE:
        return "a size";
    case CFG_PATH:
        return "an absolute path";
    default:
        return "a string";
    }
}

/* Iterate the pairs of a mapping node. */
#define for_each_pair(doc, node, kn, vn)                                                                     \
    for (yaml_node_pair_t *_p = (node)->data.mapping.pairs.start; _p < (node)->data.mapping.pairs.top; _p++) \
        for (yaml_node_t *kn = yaml_document_get_node(doc, _p->key),                                         \
                         *vn = yaml_document_get_node(doc, _p->value);                                       \
             kn; kn = NULL)

static int read_string_list(struct reader *r, const char *key, yaml_node_t *v, char ***out)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(r, v, "%s: expected a list of strings, got %s", key, kind(v));
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(r->doc, *it);
        if (!scalar(e) || is_null(e))
            return fail(r, e, "%s: expected a string in the list, got %s", key,
                        is_null(e) ? "null" : kind(e));
        *out = cfg_strv_add(*out, scalar(e));
    }
    return 0;
}

/* "http://host[:port]", "https://host[:port]" or "host[:port]" (https); no path. */
static int check_mirror_url(struct reader *r, yaml_node_t *at, const char *key, const char *url)
{
    const char *hp = url;
    if (strncmp(url, "http://", 7) == 0)
        hp += 7;
    else if (strncmp(url, "https://", 8) == 0)
        hp += 8;
    else if (strstr(url, "://"))
        return fail(r, at, "%s: mirror \"%s\" must be an http:// or https:// URL", key, url);
    size_t n = strcspn(hp, "/");
    if (n == 0 || (hp[n] && strcmp(hp + n, "/") != 0))
        return fail(r, at, "%s: mirror \"%s\" must be a registry host URL without a path", key, url);
    if (hp == url + 7) {
        /* Plain HTTP exposes every pulled byte to the network: only where the user chose that. */
        _cleanup_free_ char *host = xstrndup(hp, n);
        bool listed = false;
        for (char **i = r->cfg->registries.insecure; i && *i && !listed; i++)
            listed = strcmp(*i, host) == 0 || (strncmp(host, *i, strlen(*i)) == 0 && host[strlen(*i)] == ':');
        if (!listed && !servin_registry_insecure(host))
            return fail(r, at,
                        "%s: mirror \"%s\" uses plain http but %s is neither on loopback nor listed in "
                        "registries.insecure",
                        key, url, host);
    }
    return 0;
}

static int read_mirrors(struct reader *r, const char *key, yaml_node_t *v)
{
    struct servin_config *cfg = r->cfg;
    if (v->type != YAML_MAPPING_NODE)
        return fail(r, v, "%s: expected %s, got %s", key, describe(CFG_MIRRORS), kind(v));
    for_each_pair(r->doc, v, hk, hv)
    {
        if (!scalar(hk) || is_null(hk))
            return fail(r, hk, "%s: expected a registry host as key", key);
        _cleanup_free_ char *sub = xasprintf("%s.%s", key, scalar(hk));
        if (servin_config_mirrors_for(cfg, scalar(hk)))
            return fail(r, hk, "%s: the host is given twice", sub);
        char **list = NULL;
        int ret = read_string_list(r, sub, hv, &list);
        if (ret < 0) {
            strv_free(list);
            return ret;
        }
        cfg->registries.mirrors = xreallocarray(cfg->registries.mirrors, cfg->registries.n_mirrors + 1,
                                                sizeof(*cfg->registries.mirrors));
        cfg->registries.mirrors[cfg->registries.n_mirrors++] =
            (struct servin_config_mirrors){.host = xstrdup(scalar(hk)), .mirrors = list};
    }
    return 0;
}

/* After the whole file: registries.insecure may come after the mirrors. */
static int check_mirrors(struct reader *r, yaml_node_t *v)
{
    for_each_pair(r->doc, v, hk, hv)
    {
        _cleanup_free_ char *sub = xasprintf("registries.mirrors.%s", scalar(hk));
        for (yaml_node_item_t *it = hv->data.sequence.items.start; it < hv->data.sequence.items.top; it++) {
            yaml_node_t *e = yaml_document_get_node(r->doc, *it);
            int ret = check_mirror_url(r, e, sub, scalar(e));
            if (ret < 0)
                return ret;
        }
    }
    return 0;
}

static int read_ca_files(struct reader *r, const char *key, yaml_node_t *v)
{
    struct servin_config *cfg = r->cfg;
    if (v->type != YAML_MAPPING_NODE)
        return fail(r, v, "%s: expected %s, got %s", key, describe(CFG_CA_FILES), kind(v));
    for_each_pair(r->doc, v, hk, hv)
    {
        if (!scalar(hk) || is_null(hk))
            return fail(r, hk, "%s: expected a registry host as key", key);
        const char *p = scalar(hv);
        if (!p || p[0] != '/')
            return fail(r, hv, "%s.%s: expected an absolute path, got %s", key, scalar(hk), p ? p : kind(hv));
        if (access(p, R_OK) < 0)
            return fail(r, hv, "%s.%s: cannot read %s: %s", key, scalar(hk), p, strerror(errno));
        if (servin_config_ca_file_for(cfg, scalar(hk)))
            return fail(r, hk, "%s.%s: the host is given twice", key, scalar(hk));
        cfg->registries.ca_files = xreallocarray(cfg->registries.ca_files, cfg->registries.n_ca_files + 1,
                                                 sizeof(*cfg->registries.ca_files));
        cfg->registries.ca_files[cfg->registries.n_ca_files++] =
            (struct servin_config_ca_file){.host = xstrdup(scalar(hk)), .path = xstrdup(p)};
    }
    return 0;
}

static int read_ulimits(struct reader *r, const char *key, yaml_node_t *v)
{
    struct servin_config *cfg = r->cfg;
    if (v->type != YAML_MAPPING_NODE)
        return fail(r, v, "%s: expected %s, got %s", key, describe(CFG_ULIMITS), kind(v));
    for_each_pair(r->doc, v, nk, nv)
    {
        const char *name = scalar(nk);
        bool known = false;
        for (size_t i = 0; name && i < sizeof(ulimit_names) / sizeof(ulimit_names[0]); i++)
            known = known || strcmp(name, ulimit_names[i]) == 0;
        if (!known)
            return fail(r, nk, "%s: unknown ulimit \"%s\" (use nofile, nproc, core, memlock, stack, ...)",
                        key, name ? name : kind(nk));
        for (size_t i = 0; i < cfg->security.n_default_ulimits; i++)
            if (strcmp(cfg->security.default_ulimits[i].name, name) == 0)
                return fail(r, nk, "%s.%s: given twice", key, name);
        if (!scalar(nv) || is_null(nv))
            return fail(r, nv, "%s.%s: expected SOFT[:HARD], got %s", key, name,
                        is_null(nv) ? "null" : kind(nv));
        struct servin_config_ulimit u = {0};
        struct servin_error inner = {0};
        if (cfg_parse_ulimit(scalar(nv), &u.soft, &u.hard, &inner) < 0)
            return fail(r, nv, "%s.%s: %s", key, name, inner.msg);
        snprintf(u.name, sizeof(u.name), "%s", name);
        cfg->security.default_ulimits =
            xreallocarray(cfg->security.default_ulimits, cfg->security.n_default_ulimits + 1, sizeof(u));
        cfg->security.default_ulimits[cfg->security.n_default_ulimits++] = u;
    }
    return 0;
}

static int read_key(struct reader *r, size_t key, yaml_node_t *v)
{
    const struct cfg_key *k = &cfg_keys[key];
    size_t target = k->alias_of >= 0 ? (size_t)k->alias_of : key;
    if (r->lines[key])
        return fail(r, v, "%s: given twice (first on line %d)", k->name, r->lines[key]);
    if (is_null(v))
        return 0; /* "key:" alone keeps the default */

    switch (k->type) {
    case CFG_LIST: {
        char ***f = (char ***)((char *)r->cfg + k->offset);
        strv_free(*f);
        *f = NULL;
        int ret = read_string_list(r, k->name, v, f);
        if (ret < 0)
            return ret;
        break;
    }
    case CFG_MIRRORS: {
        int ret = read_mirrors(r, k->name, v);
        if (ret < 0)
            return ret;
        break;
    }
    case CFG_CA_FILES: {
        int ret = read_ca_files(r, k->name, v);
        if (ret < 0)
            return ret;
        break;
    }
    case CFG_ULIMITS: {
        int ret = read_ulimits(r, k->name, v);
        if (ret < 0)
            return ret;
        break;
    }
    default: {
        if (!scalar(v))
            return fail(r, v, "%s: expected %s, got %s", k->name, describe(k->type), kind(v));
        _cleanup_free_ char *before = r->lines[target] ? servin_config_key_value(r->cfg, target) : NULL;
        struct servin_error inner = {0};
        if (cfg_set_text(r->cfg, key, scalar(v), &inner) < 0)
            return fail(r, v, "%s: %s", k->name, inner.msg);
        _cleanup_free_ char *after = before ? servin_config_key_value(r->cfg, target) : NULL;
        if (before && strcmp(before, after) != 0)
            return fail(r, v, "%s says \"%s\" but %s (line %d) says \"%s\": they are the same setting",
                        k->name, after, cfg_keys[target].name, r->lines[target], before);
        break;
    }
    }
    r->lines[key] = line_of(v);
    r->lines[target] = r->lines[target] ? r->lines[target] : line_of(v);
    r->cfg->sources[target] = SERVIN_CONFIG_FILE;
    r->cfg->sources[key] = SERVIN_CONFIG_FILE;
    return 0;
}

static int read_section(struct reader *r, const char *section, yaml_node_t *v)
{
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return fail(r, v, "%s: expected a mapping of keys, got %s", section, kind(v));
    for_each_pair(r->doc, v, kn, vn)
    {
        if (!scalar(kn))
            return fail(r, kn, "%s: expected a key name, got %s", section, kind(kn));
        _cleanup_free_ char *full = xasprintf("%s.%s", section, scalar(kn));
        int key = cfg_key_find(full);
        if (key < 0 || cfg_keys[key].env_only)
            return fail(r, kn, "unknown key \"%s\"", full);
        int ret = read_key(r, (size_t)key, vn);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static bool section_known(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < cfg_n_keys; i++)
        if (strncmp(cfg_keys[i].name, name, n) == 0 && cfg_keys[i].name[n] == '.')
            return true;
    return false;
}

static yaml_node_t *find_value(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
        if (scalar(k) && strcmp(scalar(k), key) == 0 && !is_null(v))
            return v;
    }
    return NULL;
}

static int read_document(struct reader *r)
{
    yaml_node_t *root = yaml_document_get_root_node(r->doc);
    if (!root || is_null(root))
        return 0; /* an empty file: the defaults */
    if (root->type != YAML_MAPPING_NODE)
        return fail(r, root, "expected a mapping of sections (runtime:, registries:, ...), got %s",
                    kind(root));
    yaml_node_t *mirrors = NULL;
    for_each_pair(r->doc, root, kn, vn)
    {
        const char *name = scalar(kn);
        if (!name || !section_known(name))
            return fail(r, kn,
                        "unknown section \"%s\" (use runtime, cri, registries, networking, storage, "
                        "logging or security)",
                        name ? name : kind(kn));
        int ret = read_section(r, name, vn);
        if (ret < 0)
            return ret;
        if (strcmp(name, "registries") == 0 && vn->type == YAML_MAPPING_NODE)
            mirrors = find_value(r->doc, vn, "mirrors");
    }
    return mirrors ? check_mirrors(r, mirrors) : 0;
}

int cfg_read_file(struct servin_config *cfg, const char *path, struct servin_error *err)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            return -ENOENT;
        return servin_error_errno(err, errno, "read config file %s", path);
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return servin_error_set(err, ENOMEM, "read config file %s: cannot start the YAML parser", path);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        int ret =
            servin_error_set(err, EINVAL, "%s:%zu: YAML syntax error: %s%s%s", path,
                             parser.problem_mark.line + 1, parser.problem ? parser.problem : "invalid YAML",
                             parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return ret;
    }
    _cleanup_free_ int *lines = xcalloc(cfg_n_keys, sizeof(int));
    struct reader r = {.cfg = cfg, .path = path, .doc = &doc, .lines = lines, .err = err};
    int ret = read_document(&r);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return ret;
}
