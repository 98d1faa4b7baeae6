/* runtime/security_internal.h — the pieces servin_process_finalize() (security.c) is built from.
 *
 * Each piece first parses and checks its part of the spec without touching the process, so that a
 * bad config.json fails before any credential has changed; the apply functions then change the
 * calling process and are called by security.c in the order it documents. */
#ifndef SERVIN_RUNTIME_SECURITY_INTERNAL_H
#define SERVIN_RUNTIME_SECURITY_INTERNAL_H

#include <jansson.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "servin/error.h"

/* ---- capabilities (security_caps.c) ---- */

/* Numbers run from CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40); a mask bit per capability. */
#define SERVIN_CAP_MAX 40
#define SERVIN_CAP_BIT(c) (UINT64_C(1) << (c))

struct servin_caps {
    uint64_t bounding, effective, permitted, inheritable, ambient;
};

/* "CAP_CHOWN" (also "chown" / "cap_chown", any case) -> 0; -1 for an unknown name. */
int servin_cap_from_name(const char *name);
/* 0 -> "CAP_CHOWN"; NULL for a number past SERVIN_CAP_MAX. */
const char *servin_cap_name(int cap);
/* Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int servin_cap_last(void);
/* Parse process.capabilities (an object; every absent set is empty, as the OCI spec says). Unknown
 * names are an error naming them; names the kernel does not know yet are skipped with a warning. */
int servin_caps_parse(json_t *obj, struct servin_caps *out, struct servin_error *err);
/* The sets of the calling process as the kernel reports them. */
int servin_caps_current(struct servin_caps *out, struct servin_error *err);
/* PR_CAPBSET_DROP every capability not in keep; needs CAP_SETPCAP in the effective set. */
int servin_caps_drop_bounding(uint64_t keep, struct servin_error *err);
/* capset() the effective, permitted and inheritable sets (libcap). */
int servin_caps_set(uint64_t effective, uint64_t permitted, uint64_t inheritable, struct servin_error *err);
/* Clear the ambient set, then raise each capability of ambient. */
int servin_caps_set_ambient(uint64_t ambient, struct servin_error *err);
/* "CAP_CHOWN, CAP_KILL" for messages; the caller frees. */
char *servin_caps_mask_names(uint64_t mask);

/* ---- rlimits (security_rlimits.c) ---- */

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 for an unknown name. */
int servin_rlimit_from_name(const char *name);
const char *servin_rlimit_name(int resource);
/* Check process.rlimits (NULL = nothing to do): known, unique types, soft <= hard. */
int servin_rlimits_check(json_t *rlimits, struct servin_error *err);
/* Set every limit; one that this process may not raise is lowered to the current hard limit with a
 * warning instead of failing. */
int servin_rlimits_apply(json_t *rlimits, struct servin_error *err);

/* ---- user (security_user.c) ---- */

struct servin_user {
    bool present; /* process.user given; when absent uid, gid and groups are left as they are */
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* additionalGids; freed by servin_user_release */
    size_t ngroups;
    bool has_umask;
    mode_t umask;
};

int servin_user_parse(json_t *user, struct servin_user *out, struct servin_error *err);
void servin_user_release(struct servin_user *u);
/* setgroups (skipped when /proc/self/setgroups says "deny"), setresgid, setresuid. */
int servin_user_apply_ids(const struct servin_user *u, struct servin_error *err);

/* ---- seccomp (security_seccomp.c) ---- */

/* Build (not load) the filter of linux.seccomp. The filter never sets no_new_privs by itself:
 * security.c does that when process.noNewPrivileges asks for it. */
int servin_seccomp_build(json_t *seccomp, scmp_filter_ctx *out, struct servin_error *err);
int servin_seccomp_load(scmp_filter_ctx ctx, struct servin_error *err);
void servin_seccomp_releasep(scmp_filter_ctx *ctx);

/* ---- the compiled program, cached (security_seccomp_cache.c) ---- */

/* Compile linux.seccomp to BPF (or take it from cache_dir, when not NULL) and keep it for this
 * process and the children it clones; errors in the profile are reported here. */
int servin_seccomp_prepare(json_t *seccomp, const char *cache_dir, struct servin_error *err);
/* This very profile (the same JSON object) was prepared. */
bool servin_seccomp_is_prepared(json_t *seccomp);
/* Install the prepared program with seccomp(2). */
int servin_seccomp_load_prepared(struct servin_error *err);

#endif
