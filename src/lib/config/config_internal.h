/* config/config_internal.h — the key table config.c and config_yaml.c share. */
#ifndef SERVIN_CONFIG_INTERNAL_H
#define SERVIN_CONFIG_INTERNAL_H

#include <stddef.h>

#include "servin/config.h"

enum cfg_type {
    CFG_STRING,
    CFG_PATH, /* an absolute path */
    CFG_BOOL,
    CFG_COUNT,    /* an integer >= 0 */
    CFG_POSITIVE, /* an integer >= 1 */
    CFG_SIZE,     /* bytes: 10485760 or "10m" */
    CFG_LEVEL,    /* a log level */
    CFG_CHOICE,   /* one of cfg_key.choices */
    CFG_LIST,     /* a sequence of strings (comma-separated in the environment) */
    CFG_MIRRORS,  /* host -> sequence of mirror URLs */
    CFG_CA_FILES, /* host -> path */
    CFG_ULIMITS,  /* name -> "soft[:hard]" */
};

struct cfg_key {
    const char *name; /* "runtime.data_dir" */
    enum cfg_type type;
    size_t offset;       /* of the field in struct servin_config */
    const char *env;     /* the variable that overrides the file, or NULL */
    const char *deflt;   /* for scalar types, or NULL */
    const char *choices; /* "json-file|none" for CFG_CHOICE */
    int alias_of;        /* -1, or the index of the key this one is another name for */
    bool env_only;       /* not a file key (secrets) */
    bool secret;         /* never shown */
};

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_n_keys;

/* Set a scalar or list key from text (a default, the environment, a flag, or a YAML scalar);
 * the error says what was expected, without the key (the caller adds where it came from). */
int cfg_set_text(struct servin_config *cfg, size_t key, const char *text, struct servin_error *err);
/* Find a key by its full name; -1 when unknown. */
int cfg_key_find(const char *name);

/* config_yaml.c: apply the file at path to cfg; ENOENT (with no message) when it does not exist.
 * Checks what spans keys too: http:// mirrors only for insecure or loopback hosts. */
int cfg_read_file(struct servin_config *cfg, const char *path, struct servin_error *err);
/* "soft[:hard]" of a ulimit; hard defaults to soft; -1 or "unlimited" for no limit. */
int cfg_parse_ulimit(const char *text, int64_t *soft, int64_t *hard, struct servin_error *err);

char **cfg_strv_add(char **v, const char *s);

#endif
