/* runtime/security_caps.c — capability names and numbers, and the five capability sets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "runtime/security_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

/* Written out rather than taken from libcap, so that a name stays known even when the libcap or
 * kernel headers of the build machine are older than the spec being run. */
static const char *const cap_names[SERVIN_CAP_MAX + 1] = {
    [0] = "CAP_CHOWN",
    [1] = "CAP_DAC_OVERRIDE",
    [2] = "CAP_DAC_READ_SEARCH",
    [3] = "CAP_FOWNER",
    [4] = "CAP_FSETID",
    [5] = "CAP_KILL",
    [6] = "CAP_SETGID",
    [7] = "CAP_SETUID",
    [8] = "CAP_SETPCAP",
    [9] = "CAP_LINUX_IMMUTABLE",
    [10] = "CAP_NET_BIND_SERVICE",
    [11] = "CAP_NET_BROADCAST",
    [12] = "CAP_NET_ADMIN",
    [13] = "CAP_NET_RAW",
    [14] = "CAP_IPC_LOCK",
    [15] = "CAP_IPC_OWNER",
    [16] = "CAP_SYS_MODULE",
    [17] = "CAP_SYS_RAWIO",
    [18] = "CAP_SYS_CHROOT",
    [19] = "CAP_SYS_PTRACE",
    [20] = "CAP_SYS_PACCT",
    [21] = "CAP_SYS_ADMIN",
    [22] = "CAP_SYS_BOOT",
    [23] = "CAP_SYS_NICE",
    [24] = "CAP_SYS_RESOURCE",
    [25] = "CAP_SYS_TIME",
    [26] = "CAP_SYS_TTY_CONFIG",
    [27] = "CAP_MKNOD",
    [28] = "CAP_LEASE",
    [29] = "CAP_AUDIT_WRITE",
    [30] = "CAP_AUDIT_CONTROL",
    [31] = "CAP_SETFCAP",
    [32] = "CAP_MAC_OVERRIDE",
    [33] = "CAP_MAC_ADMIN",
    [34] = "CAP_SYSLOG",
    [35] = "CAP_WAKE_ALARM",
    [36] = "CAP_BLOCK_SUSPEND",
    [37] = "CAP_AUDIT_READ",
    [38] = "CAP_PERFMON",
    [39] = "CAP_BPF",
    [40] = "CAP_CHECKPOINT_RESTORE",
};

int servin_cap_from_name(const char *name)
{
    if (!name)
        return -1;
    /* Docker's CLI accepts "chown" for "CAP_CHOWN"; the OCI spec always has the prefix. */
    const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
    for (int i = 0; i <= SERVIN_CAP_MAX; i++)
        if (strcasecmp(bare, cap_names[i] + 4) == 0)
            return i;
    return -1;
}

const char *servin_cap_name(int cap)
{
    return cap >= 0 && cap <= SERVIN_CAP_MAX ? cap_names[cap] : NULL;
}

int servin_cap_last(void)
{
    static int last = -1;
    if (last >= 0)
        return last;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    int v = -1;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -1;
        fclose(f);
    }
    /* Without /proc (it should be mounted by now), ask libcap, which probes the kernel itself. */
    if (v < 0)
        v = (int)cap_max_bits() - 1;
    last = v > SERVIN_CAP_MAX ? SERVIN_CAP_MAX : v;
    return last;
}

char *servin_caps_mask_names(uint64_t mask)
{
    char *out = xstrdup("");
    for (int i = 0; i <= SERVIN_CAP_MAX; i++) {
        if (!(mask & SERVIN_CAP_BIT(i)))
            continue;
        char *next = xasprintf("%s%s%s", out, out[0] ? ", " : "", cap_names[i]);
        free(out);
        out = next;
    }
    return out;
}

static int parse_set(json_t *obj, const char *set, uint64_t *mask, struct servin_error *err)
{
    json_t *list = json_object_get(obj, set);
    size_t i;
    json_t *v;

    *mask = 0;
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return servin_error_set(err, EINVAL, "process.capabilities.%s must be an array of names", set);
    json_array_foreach (list, i, v) {
        const char *name = json_string_value(v);
        if (!name)
            return servin_error_set(err, EINVAL, "process.capabilities.%s[%zu] is not a string", set, i);
        int cap = servin_cap_from_name(name);
        if (cap < 0)
            return servin_error_set(err, EINVAL, "unknown capability \"%s\" in process.capabilities.%s", name,
                                    set);
        /* A newer spec on an older kernel: the capability cannot exist here, so it cannot be granted;
         * other runtimes skip it the same way rather than refuse to run. */
        if (cap > servin_cap_last()) {
            log_warn("capability %s in process.capabilities.%s is not known to this kernel; ignoring it",
                     cap_names[cap], set);
            continue;
        }
        *mask |= SERVIN_CAP_BIT(cap);
    }
    return 0;
}

int servin_caps_parse(json_t *obj, struct servin_caps *out, struct servin_error *err)
{
    int ret;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj))
        return servin_error_set(err, EINVAL, "process.capabilities must be an object");
    if ((ret = parse_set(obj, "bounding", &out->bounding, err)) < 0 ||
        (ret = parse_set(obj, "effective", &out->effective, err)) < 0 ||
        (ret = parse_set(obj, "permitted", &out->permitted, err)) < 0 ||
        (ret = parse_set(obj, "inheritable", &out->inheritable, err)) < 0 ||
        (ret = parse_set(obj, "ambient", &out->ambient, err)) < 0)
        return ret;
    return 0;
}

static void cap_t_release(cap_t *c)
{
    if (*c)
        cap_free(*c);
}

int servin_caps_current(struct servin_caps *out, struct servin_error *err)
{
    __attribute__((cleanup(cap_t_release))) cap_t now = cap_get_proc();
    int last = servin_cap_last();

    memset(out, 0, sizeof(*out));
    if (!now)
        return servin_error_errno(err, errno, "read the capabilities of the container process");
    for (int i = 0; i <= last; i++) {
        cap_flag_value_t v;
        uint64_t bit = SERVIN_CAP_BIT(i);
        if (cap_get_flag(now, i, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
            out->effective |= bit;
        if (cap_get_flag(now, i, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
            out->permitted |= bit;
        if (cap_get_flag(now, i, CAP_INHERITABLE, &v) == 0 && v == CAP_SET)
            out->inheritable |= bit;
        if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
            out->bounding |= bit;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1)
            out->ambient |= bit;
    }
    return 0;
}

int servin_caps_drop_bounding(uint64_t keep, struct servin_error *err)
{
    int last = servin_cap_last();

    for (int i = 0; i <= last; i++) {
        if (keep & SERVIN_CAP_BIT(i))
            continue;
        /* Skip what is already gone, so that a process without CAP_SETPCAP can still ask for a
         * bounding set it already has. */
        if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) != 1)
            continue;
        if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0)
            return servin_error_errno(err, errno, "drop %s from the bounding capability set", cap_names[i]);
    }
    return 0;
}

static int add_flags(cap_t c, cap_flag_t flag, uint64_t mask)
{
    cap_value_t list[SERVIN_CAP_MAX + 1];
    int n = 0;
    for (int i = 0; i <= SERVIN_CAP_MAX; i++)
        if (mask & SERVIN_CAP_BIT(i))
            list[n++] = i;
    return n ? cap_set_flag(c, flag, n, list, CAP_SET) : 0;
}

int servin_caps_set(uint64_t effective, uint64_t permitted, uint64_t inheritable, struct servin_error *err)
{
    __attribute__((cleanup(cap_t_release))) cap_t c = cap_init();

    if (!c)
        return servin_error_errno(err, errno, "allocate a capability state");
    if (add_flags(c, CAP_EFFECTIVE, effective) < 0 || add_flags(c, CAP_PERMITTED, permitted) < 0 ||
        add_flags(c, CAP_INHERITABLE, inheritable) < 0)
        return servin_error_errno(err, errno, "build the capability sets");
    if (cap_set_proc(c) < 0) {
        int e = errno;
        _cleanup_free_ char *names = servin_caps_mask_names(permitted);
        return servin_error_errno(err, e, "set the process capabilities (permitted: %s)",
                                  names[0] ? names : "none");
    }
    return 0;
}

int servin_caps_set_ambient(uint64_t ambient, struct servin_error *err)
{
    int last = servin_cap_last();

    /* Clearing is refused only by kernels older than 4.3, which have no ambient set at all: nothing
     * to clear there, and raising will report the problem if anything was asked for. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && ambient == 0)
        return 0;
    for (int i = 0; i <= last; i++) {
        if (!(ambient & SERVIN_CAP_BIT(i)))
            continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
            return servin_error_errno(err, errno, "raise %s in the ambient capability set", cap_names[i]);
    }
    return 0;
}
