/* runtime/runtime_state.h — what the runtime remembers about a container between commands. */
#ifndef SERVIN_RUNTIME_STATE_H
#define SERVIN_RUNTIME_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "servin/error.h"

/* Everything `create` records in <state_root>/<id>/state.json. */
struct oci_state {
    char *id;
    char *bundle;
    char *rootfs;
    char *created; /* RFC 3339 */
    pid_t pid;
    unsigned long long pid_start; /* start time of pid, so a reused pid is not mistaken for ours */
    char *cgroup_path;            /* as given to the cgroup layer */
    json_t *annotations;
    json_t *spec; /* the config.json the container was created from (hooks, namespaces) */
    bool started; /* set by `start` */
};

int servin_spec_load(const char *bundle, json_t **out, struct servin_error *err);

/* "<state_root>/<id>", after checking the id cannot walk out of state_root. */
int oci_state_dir(const char *state_root, const char *id, char **out, struct servin_error *err);
int oci_state_save(const char *state_root, const struct oci_state *st, struct servin_error *err);
/* ENOENT "container <id> does not exist" when absent. */
int oci_state_load(const char *state_root, const char *id, struct oci_state *st, struct servin_error *err);
void oci_state_clear(struct oci_state *st);
/* "created", "running", "paused" or "stopped", looking at the live process. */
const char *oci_state_status(const struct oci_state *st);
/* Field 22 of /proc/<pid>/stat; 0 when the process is gone. */
unsigned long long oci_pid_start_time(pid_t pid);
bool oci_state_alive(const struct oci_state *st);

#endif
