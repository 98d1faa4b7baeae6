/* runtime.h — Servin's OCI runtime core: OCI bundles to isolated processes, with runc's lifecycle
 * (create, start, state, kill, delete, run, exec, ps, pause, resume). */
#ifndef SERVIN_RUNTIME_H
#define SERVIN_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "servin/error.h"

#define SERVIN_OCI_DEFAULT_ROOT "/run/servin/oci"
#define SERVIN_OCI_VERSION "1.0.2"

struct servin_oci_create_opts {
    const char *state_root;     /* where per-container state lives; default SERVIN_OCI_DEFAULT_ROOT */
    const char *id;
    const char *bundle;         /* directory holding config.json; default "." */
    const char *console_socket; /* unix socket that receives the pty master when terminal is true */
    const char *pid_file;       /* write the init's pid here */
    int preserve_fds;           /* pass fds 3 .. 3+N-1 to the container */
    bool no_pivot;              /* chroot instead of pivot_root (for ramfs roots) */
    bool no_new_keyring;        /* accepted for runc compatibility */
    const char *seccomp_cache_dir; /* compiled seccomp programs are kept here; NULL: compile each time */
};

/* Set the container up and leave its init waiting before execve; returns the init's pid. */
int servin_oci_create(const struct servin_oci_create_opts *opts, pid_t *pid_out, struct servin_error *err);
/* Let a created container's init execve the user process. */
int servin_oci_start(const char *state_root, const char *id, struct servin_error *err);
/* The spec's state JSON: ociVersion, id, status (creating|created|running|paused|stopped), pid, bundle,
 * annotations, plus runc's rootfs and created. */
int servin_oci_state(const char *state_root, const char *id, json_t **state, struct servin_error *err);
int servin_oci_kill(const char *state_root, const char *id, int sig, bool all, struct servin_error *err);
/* Remove a stopped container (or, with force, kill it first): cgroups, state, poststop hooks. */
int servin_oci_delete(const char *state_root, const char *id, bool force, struct servin_error *err);
int servin_oci_pause(const char *state_root, const char *id, struct servin_error *err);
int servin_oci_resume(const char *state_root, const char *id, struct servin_error *err);
/* Pids of every process in the container's cgroup. */
int servin_oci_pids(const char *state_root, const char *id, pid_t **pids, size_t *n, struct servin_error *err);
/* The container's cgroup, as its creation recorded it (free with servin_cgroup_free); ENOENT when the
 * container does not exist or has no cgroup. Used for stats. */
struct servin_cgroup;
int servin_oci_cgroup(const char *state_root, const char *id, struct servin_cgroup **out, struct servin_error *err);
/* States of every container under state_root (a JSON array). */
int servin_oci_list(const char *state_root, json_t **list, struct servin_error *err);
/* Wait for a container's init, which must be our child (run without --detach); returns the exit
 * code the shell would report (128+signal when killed). */
int servin_oci_wait_child(pid_t pid);

struct servin_oci_exec_opts {
    const char *state_root;
    const char *id;
    json_t *process;            /* an OCI "process" object: args, env, cwd, user, capabilities... */
    const char *console_socket; /* when process.terminal is true */
    const char *pid_file;
    int preserve_fds;
    bool detach;                /* return once the process runs instead of waiting for it */
    const char *seccomp_cache_dir; /* as in servin_oci_create_opts */
};
/* Run another process inside a running container: its namespaces, cgroup, root and the container's
 * seccomp profile. Returns the exit code (or 0 when detached); *pid_out gets the process' pid. */
int servin_oci_exec(const struct servin_oci_exec_opts *opts, pid_t *pid_out, int *exit_code,
                    struct servin_error *err);
/* The container's own process object, a base for `exec` flags. */
int servin_oci_process_template(const char *state_root, const char *id, json_t **process, struct servin_error *err);

/* A default config.json like `runc spec` writes (rootless: with a user namespace mapping the caller). */
json_t *servin_oci_default_spec(bool rootless);
/* The signal named "KILL", "SIGKILL" or "9"; -1 when unknown. */
int servin_signal_parse(const char *text);

/* CVE-2019-5736: the process that enters a container must not be the binary on disk. Call before
 * creating or entering a container: runs `program` (NULL: ourselves) from a sealed memfd copy with
 * argv, unless we already are such a copy (then returns 0 at once). Returns only on failure. */
int servin_reexec_sealed(const char *program, char **argv, struct servin_error *err);

#endif
