/* container.h — containers in the store: records, names, their root filesystem and OCI spec.
 *
 * A container is a row in the `containers` table (schema migration 2) plus two directories:
 *   <root>/containers/<id>/        bundle: config.json (OCI spec), upper/ work/ merged/ (overlayfs,
 *                                  merged/ is root.path), log.json (json-file log), hostname, hosts,
 *                                  resolv.conf
 *   <run_root>/containers/<id>/    run state, lost at reboot: monitor.pid, exit (written by the
 *                                  monitor, see monitor.h), attach.sock, ctl.sock
 * The OCI runtime state of a running container lives in <run_root>/oci/<id> (servin_oci_* calls
 * with state_root = servin_container_oci_root(store)).
 *
 * Who writes what: the CLI (or daemon) writes the record; the monitor, which must stay small and
 * does not open the database, only writes files under the run dir. servin_container_reconcile()
 * folds those files back into the record; every read path calls it, so `ps` tells the truth
 * after a monitor was killed or the machine rebooted.
 */
#ifndef SERVIN_CONTAINER_H
#define SERVIN_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "servin/digest.h"
#include "servin/error.h"
#include "servin/store.h"

#define SERVIN_CONTAINER_ID_LEN 64

/* Docker's state names. */
enum servin_container_state {
    SERVIN_CONTAINER_CREATED,
    SERVIN_CONTAINER_RUNNING,
    SERVIN_CONTAINER_PAUSED,
    SERVIN_CONTAINER_RESTARTING,
    SERVIN_CONTAINER_EXITED,
    SERVIN_CONTAINER_REMOVING,
    SERVIN_CONTAINER_DEAD,
};
const char *servin_container_state_name(enum servin_container_state s);

/* What `run`/`create` asked for, in Docker's create-body shape so that the Docker API (later) can
 * pass its JSON straight through. `config` holds the Docker "Config" fields that matter:
 *   Image, Cmd [], Entrypoint [], Env [], WorkingDir, User, Hostname, Domainname, Labels {},
 *   Tty, OpenStdin, StdinOnce, AttachStdin/Stdout/Stderr, StopSignal, StopTimeout, Healthcheck
 *   {Test [], Interval, Timeout, Retries, StartPeriod (ns)}, ExposedPorts {}, Volumes {}
 * and "HostConfig":
 *   AutoRemove, RestartPolicy {Name: no|on-failure|always|unless-stopped, MaximumRetryCount},
 *   Memory, MemorySwap, NanoCpus, CpuShares, CpuQuota, CpuPeriod, CpusetCpus, PidsLimit,
 *   ReadonlyRootfs, Privileged, CapAdd [], CapDrop [], SecurityOpt [] ("no-new-privileges",
 *   "seccomp=unconfined", "seccomp=<profile JSON text>"), Init, Ulimits [{Name, Soft, Hard}],
 *   LogConfig {Type: json-file, Config {max-size, max-file}}, NetworkMode, Binds [], Tmpfs {},
 *   ShmSize, OomScoreAdj, Sysctls {}
 * Missing fields take the image config's values (Cmd, Entrypoint, Env, WorkingDir, User,
 * StopSignal, Healthcheck, Labels merged) or Docker's defaults. */
struct servin_container {
    char id[SERVIN_CONTAINER_ID_LEN + 1];
    char *name; /* without the leading '/' */
    char image_id[SERVIN_DIGEST_MAX];
    char *image_ref; /* as the user named it, e.g. "busybox" */
    int64_t created; /* unix nanoseconds */
    json_t *config;  /* {"Config": {...}, "HostConfig": {...}} as above, with image defaults applied */
    enum servin_container_state state;
    pid_t pid;         /* container init, host pid namespace; 0 when not running */
    pid_t monitor_pid; /* 0 when none */
    int exit_code;
    int64_t started_at;  /* unix ns, 0 = never */
    int64_t finished_at; /* unix ns, 0 = never */
    int restart_count;
    char *health; /* NULL, "starting", "healthy", "unhealthy" */
    bool oom_killed;
};
void servin_container_clear(struct servin_container *c);
void servin_containers_free(struct servin_container *list, size_t n);

/* A new 64-hex id and, when name is NULL, a generated "adjective_noun" name not in use. Names
 * must match [a-zA-Z0-9][a-zA-Z0-9_.-]+; a taken name is EEXIST "the container name \"/x\" is
 * already in use by container <id>". Creates the row (state created) and the bundle dir, in one
 * transaction; the caller then prepares the rootfs and writes the spec. */
int servin_container_create_record(struct servin_store *store, const char *name, const char *image_id,
                                   const char *image_ref, json_t *config, struct servin_container *out,
                                   struct servin_error *err);
/* By full id, unique id prefix, or name (with or without '/'). ENOENT "No such container: x". */
int servin_container_get(struct servin_store *store, const char *text, struct servin_container *out,
                         struct servin_error *err);
/* Every container (reconciled), newest first. */
int servin_container_list(struct servin_store *store, struct servin_container **out, size_t *n,
                          struct servin_error *err);
/* Write back state, pid, monitor_pid, exit_code, started_at, finished_at, restart_count, health. */
int servin_container_save_state(struct servin_store *store, const struct servin_container *c,
                                struct servin_error *err);
/* Write back c->config (e.g. after a resource update; rewrite the spec too). */
int servin_container_save_config(struct servin_store *store, const struct servin_container *c,
                                 struct servin_error *err);
/* Docker's update: Memory, MemorySwap, MemoryReservation, NanoCpus, CpuShares, CpuQuota, CpuPeriod,
 * CpusetCpus, CpusetMems, PidsLimit, BlkioWeight and RestartPolicy from changes (a Docker
 * Resources object; fields left 0 or null keep their value) into the record and the spec, and onto
 * the cgroup when the container runs. EINVAL names a bad or unsupported field. */
int servin_container_update(struct servin_store *store, struct servin_container *c, json_t *changes,
                            struct servin_error *err);
/* Make config (taken) the container's, its spec and record rewritten; on failure the old config
 * stays, on disk too. */
int servin_container_replace_config(struct servin_store *store, struct servin_container *c, json_t *config,
                                    struct servin_error *err);
/* The resources of the container's spec (but its devices, unchanged) onto its running cgroup;
 * pids_unlimited lifts the pids limit. */
int servin_container_apply_spec_resources(struct servin_store *store, const struct servin_container *c,
                                          bool pids_unlimited, struct servin_error *err);
int servin_container_rename(struct servin_store *store, const char *text, const char *new_name,
                            struct servin_error *err);
/* Delete the row, the bundle dir and the run dir (the rootfs must be unmounted already). */
int servin_container_delete_record(struct servin_store *store, const char *id, struct servin_error *err);
/* Fold the monitor's files (exit file, monitor.pid liveness, runtime state) into the record and
 * save it when it changed: a running container whose monitor and init are gone becomes exited. */
int servin_container_reconcile(struct servin_store *store, struct servin_container *c,
                               struct servin_error *err);
/* True when some container references the image (registered as the image layer's in-use hook by
 * servin_container_init_hooks). */
bool servin_container_image_in_use(struct servin_store *store, const char *image_id);
void servin_container_init_hooks(void);

/* Paths. */
char *servin_container_dir(struct servin_store *store, const char *id);     /* <root>/containers/<id> */
char *servin_container_run_dir(struct servin_store *store, const char *id); /* <run_root>/containers/<id> */
char *servin_container_oci_root(struct servin_store *store);                /* <run_root>/oci */
/* The container's log file: HostConfig.LogConfig {"Type": "cri", "Config": {"path": P}} (Kubernetes'
 * log format at the path kubelet chose) gives P, any other <root>/containers/<id>/log.json. */
char *servin_container_log_path(struct servin_store *store, const struct servin_container *c);
char *servin_container_seccomp_cache(struct servin_store *store);           /* <run_root>/seccomp */

/* Root filesystem: overlayfs with the image's layers (top layer first in lowerdir) under
 * <dir>/merged, upper/ and work/ beside it. Mount is idempotent (already mounted = fine); unmount
 * is lazy-safe and also fine when not mounted. `diff` lists the upper dir's changes as Docker's
 * `diff` does ("A /path", "C /path", "D /path" from whiteouts). */
int servin_container_mount_rootfs(struct servin_store *store, const struct servin_container *c,
                                  struct servin_error *err);
int servin_container_unmount_rootfs(struct servin_store *store, const struct servin_container *c,
                                    struct servin_error *err);
/* The same overlay over the given layer dirs (bottom layer first) instead of the image's: for
 * containers whose root is not a registered image, such as a build's steps (c->image_id unused). */
int servin_container_mount_layers(struct servin_store *store, const struct servin_container *c,
                                  const char *const *layer_dirs, size_t n, struct servin_error *err);
/* The changes as a NULL-terminated list of "A /path", "C /path", "D /path", sorted by path (free
 * with strv_free). */
int servin_container_diff(struct servin_store *store, const struct servin_container *c, char ***changes,
                          struct servin_error *err);

/* Build the OCI runtime spec (config.json) for the container from its config and the image config,
 * Docker's defaults: namespaces pid, ipc, uts, mount, network (NetworkMode "host" shares the
 * host's; container:X joins X's; else the pinned servin_container_netns_path), cgroup; default
 * capabilities (Docker's 14: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
 * SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE) adjusted by CapAdd/CapDrop ("ALL"
 * accepted), Privileged (all capabilities, no seccomp, no masked/readonly paths, all devices),
 * default seccomp profile (servin_seccomp_default_profile) unless unconfined or a profile given,
 * Docker's masked and readonly paths, no_new_privs only with "no-new-privileges", mounts: proc,
 * /dev tmpfs, devpts, shm (ShmSize, default 64m), mqueue, sysfs ro, cgroup ro, and bind mounts
 * of hostname, hosts, resolv.conf from the container dir; process: args = Entrypoint + Cmd,
 * Env (PATH default, HOSTNAME, TERM=xterm with Tty), cwd (WorkingDir, default /), user (numeric
 * "uid[:gid]", or names looked up in the container's /etc/passwd and /etc/group), rlimits from
 * Ulimits (default NOFILE 1048576 — the runtime clamps what it cannot set), terminal = Tty;
 * linux.resources from Memory/NanoCpus/CpuShares/PidsLimit...; hostname = Hostname or the first
 * 12 hex of the id; root.readonly = ReadonlyRootfs; annotations with the container name.
 * Writes <dir>/config.json, <dir>/hostname, <dir>/hosts, <dir>/resolv.conf (host's, minus
 * loopback resolvers). Errors name the bad value ("invalid user \"nobody2\": no such user in the
 * image"). */
int servin_container_write_spec(struct servin_store *store, const struct servin_container *c,
                                struct servin_error *err);
/* The same with the image config given (the whole config blob) rather than read by c->image_id. */
int servin_container_write_spec_from(struct servin_store *store, const struct servin_container *c,
                                     json_t *image_config, struct servin_error *err);
/* <run_root>/netns/<id>: where the container's network namespace is pinned (see network.h); the
 * spec joins it (or container:X's), except with NetworkMode host. */
char *servin_container_netns_path(struct servin_store *store, const char *id);
/* Rewrite <dir>/hostname, hosts and resolv.conf: ip is the container's address for its hostname
 * (NULL: 127.0.0.1), network_dns the nameservers of its networks (NULL: the host's, minus loopback
 * ones); HostConfig's Dns, DnsSearch, DnsOptions and ExtraHosts ("name:ip") apply. hosts and
 * resolv.conf are written in place, so a running container sees the change. */
int servin_container_write_etc(struct servin_store *store, const struct servin_container *c, const char *ip,
                               json_t *network_dns, struct servin_error *err);
/* Fill what config ({"Config": {...}, ...}) leaves out from the image config (its "config"):
 * Entrypoint and Cmd (a non-empty Entrypoint of the user's own drops the image's Cmd, as in
 * Docker), Env (merged, the user's values win), WorkingDir, User, StopSignal, Healthcheck, and
 * Labels/ExposedPorts/Volumes merged. Applying it twice changes nothing. */
void servin_container_apply_image_defaults(json_t *config, json_t *image_config);
/* The configuration file's defaults for a new container (servin_container_create_record applies them):
 * HostConfig.LogConfig.Type from logging.driver, and for json-file the max-size/max-file of
 * logging.max_size/max_files unless the container set its own. */
void servin_container_apply_config_defaults(json_t *config);

/* ---- lifecycle (lifecycle.c): what the CLI and the daemon do to containers ---- */

/* Resolve the image (no pull: ENOENT "No such image" when absent), fill config from the image's
 * defaults, write the record, mount the rootfs and write the OCI spec; on failure nothing of the
 * container is left. */
int servin_container_create(struct servin_store *store, const char *image, const char *name, json_t *config,
                            struct servin_container *c, struct servin_error *err);
/* Options for starting a created (or exited) container through its monitor. */
struct servin_start_opts {
    bool wait_for_attach; /* the container starts once a client attaches (a foreground run) */
    bool foreground_rm;   /* foreground --rm: the caller removes it after reading the exit code */
};
/* Mount the rootfs, spawn the monitor (the on-exit command is this same binary's `container
 * cleanup`, or `rm -f` with AutoRemove) and record the container as running. *exit_code gets the
 * monitor's verdict (126/127/125) when the start fails. */
int servin_container_start(struct servin_store *store, struct servin_container *c,
                           const struct servin_start_opts *opts, int *exit_code, struct servin_error *err);
/* Stop (StopSignal, then SIGKILL after timeout_s; < 0 = the container's StopTimeout or 10). */
int servin_container_stop(struct servin_store *store, struct servin_container *c, int timeout_s,
                          struct servin_error *err);
/* The two halves of stop, so that many containers can be stopped at once (compose down): begin
 * sends the StopSignal (nothing for a container that does not run); finish waits up to timeout_s
 * (< 0: its own), then kills. */
int servin_container_stop_begin(struct servin_store *store, struct servin_container *c,
                                struct servin_error *err);
int servin_container_stop_finish(struct servin_store *store, struct servin_container *c, int timeout_s,
                                 struct servin_error *err);
/* Send sig to the container's init (EBUSY when it is not running); it will not be restarted. */
int servin_container_kill(struct servin_store *store, struct servin_container *c, int sig, struct servin_error *err);
/* The same; volumes: also the container's anonymous volumes that no other container uses (rm -v). */
int servin_container_remove_volumes(struct servin_store *store, struct servin_container *c, bool force,
                                    bool volumes, struct servin_error *err);
/* Freeze or thaw (EBUSY when not running, or not paused). */
int servin_container_pause(struct servin_store *store, struct servin_container *c, bool pause,
                           struct servin_error *err);
/* Kill if needed (force; else EBUSY), unmount, delete the runtime state and the record. */
int servin_container_remove(struct servin_store *store, struct servin_container *c, bool force,
                            struct servin_error *err);
/* Wait until the container is no longer running (or timeout_ms passes, -1 = forever); 0 when it
 * stopped, -ETIMEDOUT otherwise. *c is refreshed. */
int servin_container_wait_stopped(struct servin_store *store, struct servin_container *c, long timeout_ms,
                                  struct servin_error *err);
/* Running, paused or restarting: something a stop must act on. */
bool servin_container_is_active(const struct servin_container *c);
/* The user stopped or killed the container: its monitor must not restart it (the run dir's
 * `stopped`), and neither must `system restore` after a reboot for "unless-stopped" (this file in
 * the container dir, removed by the next start). */
#define SERVIN_CONTAINER_STOPPED_BY_USER "stopped-by-user"
/* Touch <run_dir>/stopped (and the lasting marker above) so the monitor does not restart the
 * container after this exit. */
void servin_container_mark_stopped(struct servin_store *store, const struct servin_container *c);
/* Serialise start and the monitor's cleanup of one container (a file lock under <root>/locks). */
int servin_container_lock(struct servin_store *store, const char *id, int *fd, struct servin_error *err);
/* A container that ended without its monitor's cleanup (the monitor was killed, the machine
 * crashed) still holds its runtime state, cgroup and rootfs mount: release them. */
void servin_container_tidy(struct servin_store *store, struct servin_container *c);
/* After the container's last exit (its monitor done or gone): delete the runtime state, stop the
 * network, unmount the rootfs, record the exit from the monitor's exit file, and journal "die".
 * Every step is tried; the first failure is returned. 1 (nothing done) when a new run of the
 * container started meanwhile and owns all of that. */
int servin_container_cleanup_exited(struct servin_store *store, struct servin_container *ct,
                                    struct servin_error *err);
/* Tidy every container that no longer runs, including one whose start was killed half-way (a
 * pinned namespace or a rootfs mount without runtime state), then the network's leases and
 * namespaces of containers that no longer exist. *cleaned counts containers released. For
 * `system prune` and `system restore`. */
int servin_container_cleanup_orphans(struct servin_store *store, int *cleaned, struct servin_error *err);
/* The container's exit code from its exit file, or the record's; -1 when unknown. */
int servin_container_read_exit(struct servin_store *store, const struct servin_container *c);
/* Wait (up to timeout_ms) until a process that is not our child is gone. */
void servin_pid_wait_gone(pid_t pid, long timeout_ms);

/* {"Titles": ["PID","USER","TIME","CMD"], "Processes": [[...], ...]} of a running container (top.c);
 * EBUSY when it is not running. */
int servin_container_top(struct servin_store *store, const struct servin_container *c, json_t **out,
                         struct servin_error *err);

/* ---- Docker's JSON views (inspect.c) ---- */
/* `docker inspect` of a container. */
json_t *servin_container_inspect_json(struct servin_store *store, const struct servin_container *c);
/* Docker's HumanDuration ("Less than a second", "3 seconds", "About a minute", "2 hours"...). */
char *servin_human_duration(int64_t ns);
/* ps's STATUS: "Created", "Up 3 seconds (healthy)", "Exited (0) 2 minutes ago"... */
char *servin_container_status_text(const struct servin_container *c);
/* Entrypoint + Cmd as one array. */
json_t *servin_container_command_argv(const struct servin_container *c);
/* Does the container pass one ps filter (status, name, id, label, exited, ancestor, health)? An
 * unknown key matches nothing. */
bool servin_container_filter_match(struct servin_store *store, const struct servin_container *c, const char *key,
                                   const char *value);

/* Docker-style parsing used by the CLI and the API. */
int servin_parse_bytes(const char *text, int64_t *out,
                       struct servin_error *err); /* "512m", "1g", "100k", "1024" */
int servin_parse_duration(const char *text, int64_t *ns,
                          struct servin_error *err); /* "30s", "1m30s", "500ms" */
/* Generate "adjective_noun" (Docker style) from the random bytes of seed. */
char *servin_container_random_name(void);

#endif
