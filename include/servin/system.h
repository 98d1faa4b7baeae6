/* system.h — what `servin version`, `servin info` and the daemon's /version and /info report. */
#ifndef SERVIN_SYSTEM_H
#define SERVIN_SYSTEM_H

#include <jansson.h>

#include "servin/error.h"
#include "servin/store.h"

/* This build: {"Version","ApiVersion","MinAPIVersion","GitCommit","BuildTime","Os","Arch",
 * "KernelVersion","Compiler","Libraries":{...}}. */
json_t *servin_version_json(void);
/* The store and host as Docker's /info shapes them: ServerVersion, DockerRootDir, Containers
 * (and Running, Paused, Stopped), Images, Driver, KernelVersion, OperatingSystem, NCPU, MemTotal,
 * Cgroup*, LoggingDriver... plus Servin's RunRoot, SchemaVersion, Layers. */
int servin_system_info(struct servin_store *store, json_t **out, struct servin_error *err);

#endif
