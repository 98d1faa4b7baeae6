/* compose.h — the Compose Specification model: compose files found, parsed, interpolated, merged and
 * validated into one resolved project of plain C structs (what `servin compose` orchestrates).
 *
 * Everything in the model is already resolved: variables interpolated, -f files merged, extends
 * and include applied, profiles applied (disabled services are absent), short syntaxes expanded to
 * their long form, relative host paths made absolute (against the project directory, or the
 * extended/included file's own), env_file contents folded into `environment` (a bare `FOO` takes
 * the project's value; still NULL when unset), named volumes/networks given their real names
 * (`<project>_<key>` unless `name:` or `external:` says otherwise), and every service without
 * networks/network_mode attached to the implicit `default` network (declared as
 * `<project>_default`). Build args without a value stay NULL (the caller takes them from
 * servin_compose_project_getenv). Unset optional numbers are -1; unset strings NULL; string lists
 * are NULL-terminated (strv) or NULL when empty. A dependency cycle fails the load. */
#ifndef SERVIN_COMPOSE_H
#define SERVIN_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "servin/error.h"

/* An ordered key/value pair; value NULL = "take it from the environment" / "no value". */
struct servin_compose_kv {
    char *key;
    char *value;
};

struct servin_compose_kvlist {
    struct servin_compose_kv *items;
    size_t n;
};

struct servin_compose_build {
    char *context;    /* absolute path (or a URL as written) */
    char *dockerfile; /* as written, relative to the context; NULL = default */
    struct servin_compose_kvlist args;
    char *target;
    struct servin_compose_kvlist labels;
    char *network;
    char **tags; /* extra tags */
};

struct servin_compose_port {
    char *name;
    uint32_t target; /* container port; ranges are expanded to one entry per port */
    char *published; /* "8080", "8080-8090" (range: any free one in it), NULL = random */
    char *host_ip;   /* NULL = all */
    char *protocol;  /* "tcp" (default) or "udp" */
    char *mode;      /* "ingress" (default) or "host" */
    char *app_protocol;
};

enum servin_compose_mount_type {
    SERVIN_COMPOSE_MOUNT_VOLUME,
    SERVIN_COMPOSE_MOUNT_BIND,
    SERVIN_COMPOSE_MOUNT_TMPFS,
};

struct servin_compose_mount {
    enum servin_compose_mount_type type;
    char *source; /* volume: key of the top-level volumes (NULL = anonymous); bind: absolute host path */
    char *target; /* absolute path in the container */
    bool read_only;
    bool bind_create_host_path; /* short syntax binds create a missing host dir, like docker compose */
    char *bind_propagation;
    char *bind_selinux; /* "z" or "Z" */
    bool volume_nocopy;
    char *volume_subpath;
    int64_t tmpfs_size; /* bytes, -1 = unset */
    int tmpfs_mode;     /* -1 = unset */
    char *consistency;
};

struct servin_compose_service_network {
    char *name; /* key of the top-level networks */
    char **aliases;
    char *ipv4_address;
    char *ipv6_address;
    int priority; /* 0 = unset */
};

enum servin_compose_condition {
    SERVIN_COMPOSE_SERVICE_STARTED,
    SERVIN_COMPOSE_SERVICE_HEALTHY,
    SERVIN_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY,
};

struct servin_compose_depends {
    char *service;
    enum servin_compose_condition condition;
    bool required; /* default true */
    bool restart;
};

struct servin_compose_healthcheck {
    bool present; /* the service (or a merged file) has a healthcheck section */
    bool disable; /* disable: true, or test: ["NONE"] */
    char **test;  /* ["CMD", argv...], ["CMD-SHELL", "cmd"], ["NONE"]; NULL = the image's */
    int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns; /* -1 = unset */
    int retries;                                                         /* -1 = unset */
};

struct servin_compose_ulimit {
    char *name; /* "nofile" */
    int64_t soft, hard;
};

struct servin_compose_file_ref { /* a service's configs:/secrets: entry */
    char *source;                /* key of the top-level configs/secrets */
    char *target; /* absolute path, or NULL = default (/<source> for configs, /run/secrets/<source>) */
    char *uid, *gid;
    int mode; /* -1 = unset (0444) */
};

struct servin_compose_logging {
    char *driver; /* NULL = default */
    struct servin_compose_kvlist options;
};

struct servin_compose_deploy {
    int replicas;               /* -1 = unset (1); also set by the legacy `scale:` */
    int64_t memory_limit;       /* bytes, -1 = unset */
    int64_t nano_cpus;          /* 1e9 = one CPU, -1 = unset */
    int64_t pids_limit;         /* -1 = unset */
    int64_t memory_reservation; /* bytes, -1 = unset */
};

struct servin_compose_service {
    char *name;
    char *image;                        /* NULL when only built: compose-run names it <project>-<service> */
    struct servin_compose_build *build; /* NULL = no build section */
    char **command;                     /* argv; string form split into shell words; NULL = the image's */
    char **entrypoint; /* argv; NULL = the image's; an empty list (non-NULL, [0] NULL) = reset */
    bool command_set, entrypoint_set;         /* given in the file (possibly as an empty list) */
    struct servin_compose_kvlist environment; /* env_file contents, then `environment` over them */
    char **env_file;                          /* absolute paths (already folded into environment) */
    struct servin_compose_port *ports;
    size_t n_ports;
    char **expose; /* "80", "8000-8010/udp" */
    struct servin_compose_mount *volumes;
    size_t n_volumes;
    char **tmpfs; /* "/run[:options]" */
    struct servin_compose_service_network *networks;
    size_t n_networks;
    char *network_mode; /* "host", "none", "bridge", "service:NAME", "container:ID"; NULL = networks */
    struct servin_compose_depends *depends_on;
    size_t n_depends_on;
    struct servin_compose_healthcheck healthcheck;
    char *restart; /* "no", "always", "on-failure[:N]", "unless-stopped"; NULL = unset */
    struct servin_compose_deploy deploy;
    struct servin_compose_kvlist labels;
    char *user;
    char *working_dir;
    char *hostname;
    char *domainname;
    int init; /* -1 = unset, 0/1 */
    char *stop_signal;
    int64_t stop_grace_period_ns; /* -1 = unset */
    char **cap_add;
    char **cap_drop;
    bool privileged;
    bool read_only;
    bool tty;
    bool stdin_open;
    char **security_opt;
    struct servin_compose_ulimit *ulimits;
    size_t n_ulimits;
    char **extra_hosts; /* "host:ip" (the mapping form is converted) */
    char **dns;
    char **dns_search;
    char **dns_opt;
    struct servin_compose_logging logging;
    char *container_name;
    char *pull_policy; /* "always", "never", "missing", "build", "if_not_present"; NULL = missing */
    char **profiles;
    struct servin_compose_file_ref *configs;
    size_t n_configs;
    struct servin_compose_file_ref *secrets;
    size_t n_secrets;
    int64_t shm_size;  /* bytes, -1 = unset */
    int64_t mem_limit; /* legacy top-level mem_limit, folded into deploy.memory_limit */
    struct servin_compose_kvlist sysctls;
    char *platform;
    char *pid;
    char *ipc;
};

struct servin_compose_volume {
    char *key;  /* the name used in the file */
    char *name; /* the real volume name: name:, else the key when external, else <project>_<key> */
    bool external;
    char *driver;
    struct servin_compose_kvlist driver_opts;
    struct servin_compose_kvlist labels;
};

struct servin_compose_ipam_config {
    char *subnet;
    char *gateway;
    char *ip_range;
};

struct servin_compose_network {
    char *key;
    char *name; /* name:, else the key when external, else <project>_<key> */
    bool external;
    bool internal;
    bool attachable;
    bool enable_ipv6;
    char *driver;
    struct servin_compose_kvlist driver_opts;
    char *ipam_driver;
    struct servin_compose_ipam_config *ipam_config;
    size_t n_ipam_config;
    struct servin_compose_kvlist labels;
};

struct servin_compose_file_def { /* top-level configs:/secrets: entry */
    char *key;
    char *name;
    char *file; /* absolute path, NULL when external/environment/content */
    bool external;
    char *environment; /* take the content from this variable */
    char *content;     /* inline content (configs) */
};

struct servin_compose_project {
    char *name;                              /* normalised: [a-z0-9_-] */
    char *working_dir;                       /* the project directory (absolute) */
    char **files;                            /* the compose files read, absolute paths, in merge order */
    struct servin_compose_kvlist env;        /* what interpolation used: process env over .env/--env-file */
    char **profiles;                         /* the enabled profiles */
    struct servin_compose_service *services; /* sorted by name */
    size_t n_services;
    char **disabled_services; /* defined but excluded by profiles (sorted) */
    struct servin_compose_volume *volumes;
    size_t n_volumes;
    struct servin_compose_network *networks;
    size_t n_networks;
    struct servin_compose_file_def *configs;
    size_t n_configs;
    struct servin_compose_file_def *secrets;
    size_t n_secrets;
};

typedef void (*servin_compose_warn_fn)(void *arg, const char *msg);

struct servin_compose_options {
    char *const *files;          /* -f, in order; NULL/empty = discover in the project dir (or cwd) */
    const char *project_name;    /* -p; NULL = COMPOSE_PROJECT_NAME, top-level name:, directory name */
    const char *project_dir;     /* --project-directory; NULL = the first file's directory */
    char *const *env_files;      /* --env-file; NULL = <project dir>/.env if it exists */
    char *const *profiles;       /* --profile; NULL = COMPOSE_PROFILES */
    char *const *environ;        /* "K=V" strings; NULL = the process environment */
    bool all_profiles;           /* keep every service whatever its profiles (for `config --profiles`) */
    servin_compose_warn_fn warn; /* unsupported keys etc.; NULL = log_warn */
    void *warn_arg;
};

/* The default file names, in the order they are looked for. */
extern const char *const servin_compose_default_files[];

int servin_compose_load(const struct servin_compose_options *opts, struct servin_compose_project **out,
                        struct servin_error *err);
void servin_compose_project_free(struct servin_compose_project *p);

struct servin_compose_service *servin_compose_service_find(const struct servin_compose_project *p,
                                                           const char *name);
struct servin_compose_volume *servin_compose_volume_find(const struct servin_compose_project *p,
                                                         const char *key);
struct servin_compose_network *servin_compose_network_find(const struct servin_compose_project *p,
                                                           const char *key);
struct servin_compose_file_def *servin_compose_config_find(const struct servin_compose_project *p,
                                                           const char *key);
struct servin_compose_file_def *servin_compose_secret_find(const struct servin_compose_project *p,
                                                           const char *key);
/* The value of a project variable (after .env and the process environment), NULL when unset. */
const char *servin_compose_project_getenv(const struct servin_compose_project *p, const char *key);

/* Services in start order: every service after the services it depends on (network_mode
 * "service:X" counts as a dependency too). names: NULL = all services; else those services, plus
 * their dependencies when with_deps. *out is an allocated array of pointers into p (free() it).
 * A dependency cycle is an error naming it ("a -> b -> a"), as is an unknown service. */
int servin_compose_order(const struct servin_compose_project *p, char *const *names, bool with_deps,
                         struct servin_compose_service ***out, size_t *n_out, struct servin_error *err);

/* A stable SHA-256 (64 hex + NUL) of the service's resolved configuration, for the
 * com.docker.compose.config-hash label: equal configs hash equal; any change changes it. */
void servin_compose_service_config_hash(const struct servin_compose_project *p,
                                        const struct servin_compose_service *s, char out[65]);

/* `servin compose config`: the resolved model as YAML (like `docker compose config`) or JSON. */
void servin_compose_project_write_yaml(const struct servin_compose_project *p, FILE *out);
void servin_compose_project_write_json(const struct servin_compose_project *p, FILE *out);

/* Value parsers the CLI shares with the loader. Each returns 0 or a negative errno-like value. */
int servin_compose_parse_duration(const char *s, int64_t *ns);    /* "1m30s", "500ms", "10" (seconds) */
int servin_compose_parse_bytes(const char *s, int64_t *bytes);    /* "512m", "1g", "1024", "1.5gb" */
int servin_compose_parse_cpus(const char *s, int64_t *nano_cpus); /* "0.5" */
/* Split a command string into words as a POSIX shell would (quotes, backslashes), no expansion. */
int servin_compose_split_words(const char *s, char ***argv, struct servin_error *err);
/* "My App.v2" -> "myappv2": lowercase, only [a-z0-9_-], leading [a-z0-9]. */
char *servin_compose_normalize_name(const char *s);

#endif
