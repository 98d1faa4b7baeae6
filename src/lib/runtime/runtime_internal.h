/* runtime/runtime_internal.h — the steps the container init runs, each owned by one file.
 *
 * The OCI runtime works in three processes (see create.c): the caller (`servin oci create`), a
 * short-lived stage-1 child that joins namespaces given by path and clones the container init with
 * the new ones, and the init itself, which waits for the caller to finish the outside work (id
 * maps, cgroups), then runs, in this order:
 *   servin_rootfs_prepare()   mounts, devices, pivot_root, masked/readonly paths   (rootfs*.c)
 *   hostname, sysctl, cwd, console                                                   (init.c)
 *   servin_process_finalize() rlimits, user and groups, capabilities, no_new_privs,
 *                             seccomp — the last thing before execve                  (security*.c)
 * Every step returns 0 or a negative errno with one sentence in err; the init sends that sentence
 * to the caller, which prints it and cleans up. These functions run in the init only: they may
 * change process-wide state (cwd, mounts, credentials) freely, but must not fork.
 */
#ifndef SERVIN_RUNTIME_INTERNAL_H
#define SERVIN_RUNTIME_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "servin/error.h"

/* Set up the root filesystem of the container from the spec, inside the init's own (new) mount
 * namespace:
 *  - make "/" private/slave recursively (linux.rootfsPropagation, default rprivate) so nothing
 *    propagates back to the host; bind-mount root.path (relative to bundle) onto itself;
 *  - every entry of "mounts", in order (bind/rbind with options ro, nosuid, nodev, noexec,
 *    relatime..., propagation flags, proc, sysfs, tmpfs, devpts, mqueue, cgroup...), each
 *    destination resolved INSIDE the rootfs (openat2 RESOLVE_IN_ROOT, or an O_PATH walk that
 *    refuses to leave the root) and mounted through /proc/self/fd/N of the checked fd, so a
 *    symlink cannot redirect it to the host (CVE-2021-30465); missing destinations are created
 *    (dirs, or empty files for file binds);
 *  - /dev: the default devices (null, zero, full, random, urandom, tty) and linux.devices (mknod,
 *    or bind-mount from the host when mknod is not allowed, e.g. in a user namespace), the
 *    symlinks /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr, /dev/ptmx -> pts/ptmx, /dev/core
 *    when /proc/kcore exists;
 *  - pivot_root into the rootfs (or chroot when no_pivot), detaching the old root;
 *  - linux.maskedPaths (bind /dev/null over files, a read-only tmpfs over directories) and
 *    linux.readonlyPaths (read-only bind remount), root.readonly (remount / read-only);
 *  - before writing anything under /proc or /sys, check with fstatfs that it really is procfs or
 *    sysfs (CVE-2019-16884).
 * console_slave is the path of the pty slave (e.g. /dev/pts/0 in the container's devpts) to bind
 * onto /dev/console when process.terminal is true, or NULL. The caller chdirs afterwards. */
int servin_rootfs_prepare(json_t *spec, const char *bundle, bool no_pivot, struct servin_error *err);
/* Bind the pty slave (an open fd) onto /dev/console of the container, after pivot_root. */
int servin_rootfs_bind_console(int slave_fd, struct servin_error *err);

/* Apply process security, in an order that works whatever the user and capabilities:
 * rlimits (process.rlimits; a soft/hard limit above what this process may set because it lacks
 * CAP_SYS_RESOURCE is lowered to the current hard limit with one warning, never an error),
 * additionalGids/gid/uid (setgroups, setresgid, setresuid, keeping capabilities across the uid
 * change with PR_SET_KEEPCAPS), capabilities (bounding, effective, permitted, inheritable,
 * ambient, via libcap; unknown names are an error naming the capability), process.noNewPrivileges,
 * and linux.seccomp (libseccomp: defaultAction, defaultErrnoRet, architectures, flags, syscalls
 * with names, action, errnoRet and args; unknown syscall names are skipped as other runtimes do)
 * loaded last so that only execve runs under it. spec is the whole config.json. */
int servin_process_finalize(json_t *spec, struct servin_error *err);

#endif
