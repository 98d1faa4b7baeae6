/* seccomp_default.h — the default seccomp profile for containers, with Docker's semantics. */
#ifndef SERVIN_SECCOMP_DEFAULT_H
#define SERVIN_SECCOMP_DEFAULT_H

#include <jansson.h>

/* Build a new OCI linux.seccomp object for a container whose capability names (e.g. its
 * process.capabilities.bounding array; NULL = none) are given: default action SCMP_ACT_ERRNO
 * (EPERM), the architectures of this machine, the syscalls any program needs allowed outright, and
 * the privileged ones (mount, unshare, setns, bpf, ptrace, reboot, ...) allowed only when the
 * capability that governs them is in the list. Without CAP_SYS_ADMIN, clone may not create
 * namespaces and clone3 answers ENOSYS so that libc falls back to clone. The caller owns the
 * result (json_decref). */
json_t *servin_seccomp_default_profile(json_t *capabilities);

#endif
