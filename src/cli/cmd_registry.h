/* cli/cmd_registry.h — what the registry commands share: the state files of running servers. */
#ifndef SERVIN_CLI_CMD_REGISTRY_H
#define SERVIN_CLI_CMD_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "servin/store.h"

/* <run root>/registry: one <port>.json per server started by `servin registry start`. */
char *registry_state_dir(struct servin_store *store);
unsigned long long registry_proc_start(pid_t pid);
int registry_state_load(const char *path, json_t **out);
/* The recorded process still runs (same pid and start time). */
bool registry_state_alive(json_t *state);

#endif
