/* compose/model_keys.h — the key tables the model files read mappings with. */
#ifndef SERVIN_COMPOSE_MODEL_KEYS_H
#define SERVIN_COMPOSE_MODEL_KEYS_H

#include "compose/compose_internal.h"

#define KEY_ARGS struct cctx *c, const struct cnode *v, const char *path, struct servin_compose_service *s

struct compose_key {
    const char *name;
    int (*read)(KEY_ARGS);
};

extern const char *const compose_unsupported_service_keys[];
extern const char *const compose_unsupported_build_keys[];
extern const char *const compose_unsupported_deploy_keys[];
extern const char *const compose_unsupported_service_network_keys[];

bool compose_key_listed(const char *const *list, const char *key);
/* Read every key of the mapping n with the table: unsupported keys warn once, x-* are skipped,
 * anything else is an error naming the key and its line. */
int compose_apply_keys(struct cctx *c, const struct cnode *n, const char *path,
                       const struct compose_key *keys, const char *const *unsupported,
                       struct servin_compose_service *s);
char *compose_host_path(struct cctx *c, const char *p);
/* model_mounts.c */
int compose_key_ports(KEY_ARGS);
int compose_key_volumes(KEY_ARGS);

#endif
