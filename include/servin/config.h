/* config.h — Servin's one configuration: the YAML file, the environment and the command line, merged. */
#ifndef SERVIN_CONFIG_H
#define SERVIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "servin/error.h"

#define SERVIN_CONFIG_SYSTEM_PATH "/etc/servin/config.yaml"

/* Where an effective value came from; later ones win: flag > environment > file > default. */
enum servin_config_source {
    SERVIN_CONFIG_DEFAULT = 0,
    SERVIN_CONFIG_FILE,
    SERVIN_CONFIG_ENV,
    SERVIN_CONFIG_FLAG,
};

struct servin_config_ulimit {
    char name[16]; /* "nofile", as in --ulimit */
    int64_t soft, hard;
};

/* The mirrors of one registry host, tried in order before the host itself. */
struct servin_config_mirrors {
    char *host;     /* "docker.io", "registry.example:5000" */
    char **mirrors; /* NULL-terminated: "http://127.0.0.1:5001", "https://mirror.example" */
};

struct servin_config_ca_file {
    char *host;
    char *path;
};

struct servin_config {
    char *path;     /* the file that was read, or the one looked for */
    bool file_read; /* false: there was no file, defaults apply */

    struct {
        char *data_dir;
        char *state_dir; /* NULL: <data_dir>/run for a custom data dir, else /run/servin */
        char *log_level;
        char *log_format;       /* "text" or "json" */
        int64_t max_containers; /* 0: no limit */
    } runtime;
    struct {
        bool enabled;
        char *listen_address;
        char *socket_path;
    } cri;
    struct {
        char *default_registry;
        char **insecure; /* NULL-terminated */
        struct servin_config_mirrors *mirrors;
        size_t n_mirrors;
        struct servin_config_ca_file *ca_files;
        size_t n_ca_files;
        char *credentials_file; /* NULL: the default auth.json */
        char *user, *password;  /* from the environment only */
    } registries;
    struct {
        char *default_bridge;
        char *bridge_ip;
        bool enable_ipv6;
    } networking;
    struct {
        char *driver; /* storage.root is another name for runtime.data_dir: Servin keeps one store */
        char **options;
    } storage;
    struct {
        char *driver;     /* default log driver of new containers; logging.level is runtime.log_level */
        int64_t max_size; /* default json-file rotation: bytes per file, 0 for no rotation */
        int64_t max_files;
    } logging;
    struct {
        bool enable_user_namespaces;
        struct servin_config_ulimit *default_ulimits;
        size_t n_default_ulimits;
    } security;

    /* One source per key of servin_config_keys(), in that order. */
    enum servin_config_source *sources;
    int refs;
};

/* What the command line of a front end said; NULL fields were not given. */
struct servin_config_flags {
    const char *config_path; /* --config */
    const char *data_dir;    /* --root */
    const char *state_dir;   /* --state-dir */
    const char *log_level;   /* --log-level, --debug */
};

/* Read the file (--config, else $SERVIN_CONFIG, else $SERVIN_CONFIG_DIR/config.yaml, else
 * ~/.config/servin/config.yaml for a non-root user who has one, else /etc/servin/config.yaml),
 * then apply the environment and the flags. A missing file means defaults, unless it was named
 * by --config. Errors name the file, the line and the key: "config.yaml:3: runtime.max_containers:
 * expected an integer, got \"many\"". */
int servin_config_load(const struct servin_config_flags *flags, struct servin_config **out,
                       struct servin_error *err);
/* Where the file is looked for when --config is not given. */
char *servin_config_default_path(void);
/* Parse just this file (no environment, no flags), for `servin config check`; ENOENT when missing. */
int servin_config_check_file(const char *path, struct servin_config **out, struct servin_error *err);

struct servin_config *servin_config_ref(struct servin_config *cfg);
void servin_config_unref(struct servin_config *cfg);
void cleanup_configp(struct servin_config **cfg);
#define _cleanup_config_ __attribute__((cleanup(cleanup_configp)))

/* The process-wide configuration the library consults (registry mirrors, default ulimits and log
 * rotation, credentials). servin_config_set_current takes a reference and applies the log level and
 * format; servin_config_current returns a new reference (never NULL: defaults when none was set),
 * so a reload in another thread never frees what a caller is using. */
void servin_config_set_current(struct servin_config *cfg);
struct servin_config *servin_config_current(void);
/* Load again with the flags of the last servin_config_load and make it current: for the daemon's
 * SIGHUP (log level, registries, mirrors). On error the old configuration stays in force. */
int servin_config_reload(struct servin_error *err);

/* The effective state dir (see runtime.state_dir). */
char *servin_config_state_dir(const struct servin_config *cfg);
/* The mirrors of a registry host (NULL when none), and its CA file (NULL when none). */
char *const *servin_config_mirrors_for(const struct servin_config *cfg, const char *host);
const char *servin_config_ca_file_for(const struct servin_config *cfg, const char *host);

/* Every key, for `system info` and `config check`: "runtime.data_dir". */
size_t servin_config_n_keys(void);
const char *servin_config_key_name(size_t i);
/* True for another name of a key (storage.root, logging.level): listings skip it. */
bool servin_config_key_is_alias(size_t i);
/* The env var that sets the key, or NULL. */
const char *servin_config_key_env(size_t i);
/* The effective value as text ("" for unset, lists comma-separated, secrets hidden). */
char *servin_config_key_value(const struct servin_config *cfg, size_t i);
const char *servin_config_source_name(enum servin_config_source s);
/* Where the effective value of a key ("cri.socket_path") came from (DEFAULT for an unknown key). */
enum servin_config_source servin_config_key_source(const struct servin_config *cfg, const char *key);

#endif
