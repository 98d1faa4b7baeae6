/* runtime/security.c — servin_process_finalize(): the ordered credential and sandbox steps that the
 * container init runs just before execve.
 *
 * The order, and why:
 *  0. Parse and check every section first (user, capabilities, rlimits, seccomp filter built but
 *     not loaded), so a bad config.json fails before the process has changed at all.
 *  1. rlimits, while the process is still root with all its capabilities: raising a limit may need
 *     CAP_SYS_RESOURCE, which the later steps may drop.
 *  2. umask: needs no privilege; done early so nothing later depends on it.
 *  3. The bounding set, BEFORE the uid change: PR_CAPBSET_DROP needs CAP_SETPCAP in the effective
 *     set, and a change from uid 0 to another uid empties the effective set. Dropping from the
 *     bounding set does not touch the effective or permitted sets, so CAP_SETUID/CAP_SETGID are
 *     still there for step 4.
 *  4. PR_SET_KEEPCAPS=1, then setgroups, setresgid, setresuid: keepcaps keeps the permitted set
 *     across the uid change (the effective set is emptied all the same), so step 5 can pick the
 *     final sets from it. Keepcaps is cleared again right after; execve would clear it anyway.
 *  5. capset() effective/permitted/inheritable (libcap), then the ambient set, which must be a
 *     subset of permitted and inheritable and so can only be raised once those are final.
 *  6. no_new_privs when process.noNewPrivileges is true.
 *  7. seccomp last, so that only execve runs under the filter and the profile need not allow the
 *     syscalls of the steps above.
 *
 * The one exception is seccomp with noNewPrivileges false: the kernel then only accepts a filter
 * from a process with CAP_SYS_ADMIN in its effective set. When the final effective set lacks it,
 * step 5 keeps CAP_SYS_ADMIN in the effective and permitted sets, the filter is loaded, and a last
 * capset() drops CAP_SYS_ADMIN. So the only syscall the profile must allow besides execve is capset
 * (Docker's default profile does); if it does not, the error says so.
 *
 * Missing sections leave things as they are: no process.user keeps uid, gid and groups; no
 * process.capabilities keeps the capability sets, except that leaving uid 0 for another uid loses
 * the effective, permitted and ambient sets exactly as a plain setuid() would. Inside a present
 * process.capabilities object, an absent set means an empty set, as the OCI spec says.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"
#include "runtime/security_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

#define CAP_SYS_ADMIN_BIT SERVIN_CAP_BIT(21)

static void user_releasep(struct servin_user *u)
{
    servin_user_release(u);
}

/* The sets the process must end with. Without a capabilities object they are the current ones, as
 * the kernel would leave them after setuid() without keepcaps. */
static int final_caps(json_t *caps_json, const struct servin_user *user, struct servin_caps *cur,
                      struct servin_caps *want, bool *touch_bounding, struct servin_error *err)
{
    int ret;

    if ((ret = servin_caps_current(cur, err)) < 0)
        return ret;
    if (caps_json && !json_is_null(caps_json)) {
        if ((ret = servin_caps_parse(caps_json, want, err)) < 0)
            return ret;
        *touch_bounding = true;
        /* The kernel refuses inheritable capabilities outside the bounding set with a bare EPERM;
         * say which ones instead. */
        uint64_t stray = want->inheritable & ~want->bounding & ~cur->inheritable;
        if (stray) {
            _cleanup_free_ char *names = servin_caps_mask_names(stray);
            return servin_error_set(err, EINVAL, "inheritable capabilities %s are not in the bounding set",
                                    names);
        }
        /* The kernel only raises an ambient capability that is permitted and inheritable; other
         * runtimes warn and go on, and so does Servin. */
        uint64_t skip = want->ambient & ~(want->permitted & want->inheritable);
        if (skip) {
            _cleanup_free_ char *names = servin_caps_mask_names(skip);
            log_warn("ambient capabilities %s are not both permitted and inheritable; not raising them",
                     names);
            want->ambient &= ~skip;
        }
        return 0;
    }
    *want = *cur;
    *touch_bounding = false;
    if (user->present && user->uid != 0 && geteuid() == 0)
        want->effective = want->permitted = want->ambient = 0;
    return 0;
}

/* The program prepared before the clone, else the filter built here. */
static int load_seccomp(scmp_filter_ctx filter, struct servin_error *err)
{
    return filter ? servin_seccomp_load(filter, err) : servin_seccomp_load_prepared(err);
}

/* Load the filter while CAP_SYS_ADMIN is still effective, then drop it with the last capset. */
static int load_seccomp_with_sys_admin(scmp_filter_ctx filter, const struct servin_caps *cur,
                                       const struct servin_caps *want, struct servin_error *err)
{
    int ret;

    if (!(cur->permitted & CAP_SYS_ADMIN_BIT))
        return servin_error_set(err, EPERM,
                                "cannot load the seccomp filter: process.noNewPrivileges is false and the "
                                "container process does not have CAP_SYS_ADMIN");
    if ((ret = servin_caps_set(want->effective | CAP_SYS_ADMIN_BIT, want->permitted | CAP_SYS_ADMIN_BIT,
                               want->inheritable, err)) < 0 ||
        (ret = servin_caps_set_ambient(want->ambient, err)) < 0 || (ret = load_seccomp(filter, err)) < 0)
        return ret;
    ret = servin_caps_set(want->effective, want->permitted, want->inheritable, err);
    if (ret < 0)
        return servin_error_wrap(err, "the seccomp profile must allow capset when noNewPrivileges is false "
                                      "and CAP_SYS_ADMIN is dropped");
    return 0;
}

int servin_process_finalize(json_t *spec, struct servin_error *err)
{
    json_t *process = json_object_get(spec, "process");
    json_t *linux_obj = json_object_get(spec, "linux");
    json_t *seccomp_json = json_object_get(linux_obj, "seccomp");
    json_t *rlimits = json_object_get(process, "rlimits");
    bool nnp = json_is_true(json_object_get(process, "noNewPrivileges"));
    _cleanup_(user_releasep) struct servin_user user = {0};
    _cleanup_(servin_seccomp_releasep) scmp_filter_ctx filter = NULL;
    struct servin_caps cur, want;
    bool touch_bounding = false;
    int ret;

    /* Step 0: everything that can be wrong with the spec is found here. */
    if ((ret = servin_user_parse(json_object_get(process, "user"), &user, err)) < 0 ||
        (ret = final_caps(json_object_get(process, "capabilities"), &user, &cur, &want, &touch_bounding,
                          err)) < 0 ||
        (ret = servin_rlimits_check(rlimits, err)) < 0)
        return ret;
    bool prepared = servin_seccomp_is_prepared(seccomp_json);
    if (!prepared && seccomp_json && !json_is_null(seccomp_json) &&
        (ret = servin_seccomp_build(seccomp_json, &filter, err)) < 0)
        return ret;
    bool have_filter = prepared || filter;

    if ((ret = servin_rlimits_apply(rlimits, err)) < 0)
        return ret;
    if (user.has_umask)
        umask(user.umask);

    if (touch_bounding && (ret = servin_caps_drop_bounding(want.bounding, err)) < 0)
        return ret;

    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return servin_error_errno(err, errno, "keep capabilities across the uid change");
    if ((ret = servin_user_apply_ids(&user, err)) < 0)
        return ret;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return servin_error_errno(err, errno, "reset the keep-capabilities flag");

    bool early_seccomp = have_filter && !nnp && !(want.effective & CAP_SYS_ADMIN_BIT);
    if (early_seccomp) {
        if ((ret = load_seccomp_with_sys_admin(filter, &cur, &want, err)) < 0)
            return ret;
    } else {
        if ((ret = servin_caps_set(want.effective, want.permitted, want.inheritable, err)) < 0 ||
            (ret = servin_caps_set_ambient(want.ambient, err)) < 0)
            return ret;
    }

    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return servin_error_errno(err, errno, "set no_new_privs on the container process");

    if (have_filter && !early_seccomp && (ret = load_seccomp(filter, err)) < 0)
        return ret;
    return 0;
}
