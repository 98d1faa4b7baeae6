/* runtime/security_rlimits.c — process.rlimits: names, checks, and setting them. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "runtime/security_internal.h"
#include "servin/log.h"

static const struct {
    const char *name;
    int resource;
} rlimit_table[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

#define RLIMIT_TABLE_LEN (sizeof(rlimit_table) / sizeof(rlimit_table[0]))

int servin_rlimit_from_name(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < RLIMIT_TABLE_LEN; i++)
        if (strcasecmp(name, rlimit_table[i].name) == 0)
            return rlimit_table[i].resource;
    return -1;
}

const char *servin_rlimit_name(int resource)
{
    for (size_t i = 0; i < RLIMIT_TABLE_LEN; i++)
        if (rlimit_table[i].resource == resource)
            return rlimit_table[i].name;
    return NULL;
}

/* JSON numbers are signed 64-bit in jansson; -1 (and anything negative) is taken as "unlimited",
 * the way Docker writes it. */
static int limit_value(json_t *v, const char *what, size_t i, rlim_t *out, struct servin_error *err)
{
    if (!json_is_integer(v))
        return servin_error_set(err, EINVAL, "process.rlimits[%zu].%s must be an integer", i, what);
    json_int_t n = json_integer_value(v);
    *out = n < 0 ? RLIM_INFINITY : (rlim_t)n;
    return 0;
}

static int parse_entry(json_t *e, size_t i, int *resource, struct rlimit *lim, struct servin_error *err)
{
    int ret;

    if (!json_is_object(e))
        return servin_error_set(err, EINVAL, "process.rlimits[%zu] must be an object", i);
    const char *type = json_string_value(json_object_get(e, "type"));
    if (!type)
        return servin_error_set(err, EINVAL, "process.rlimits[%zu] has no type", i);
    *resource = servin_rlimit_from_name(type);
    if (*resource < 0)
        return servin_error_set(err, EINVAL, "unknown rlimit type \"%s\" in process.rlimits", type);
    if ((ret = limit_value(json_object_get(e, "soft"), "soft", i, &lim->rlim_cur, err)) < 0 ||
        (ret = limit_value(json_object_get(e, "hard"), "hard", i, &lim->rlim_max, err)) < 0)
        return ret;
    if (lim->rlim_cur > lim->rlim_max)
        return servin_error_set(err, EINVAL, "rlimit %s: the soft limit %llu is above the hard limit %llu",
                                type, (unsigned long long)lim->rlim_cur, (unsigned long long)lim->rlim_max);
    return 0;
}

int servin_rlimits_check(json_t *rlimits, struct servin_error *err)
{
    uint64_t seen = 0;
    size_t i;
    json_t *e;

    if (!rlimits || json_is_null(rlimits))
        return 0;
    if (!json_is_array(rlimits))
        return servin_error_set(err, EINVAL, "process.rlimits must be an array");
    json_array_foreach (rlimits, i, e) {
        int resource, ret;
        struct rlimit lim;
        if ((ret = parse_entry(e, i, &resource, &lim, err)) < 0)
            return ret;
        if (seen & (UINT64_C(1) << resource))
            return servin_error_set(err, EINVAL, "rlimit %s is given twice in process.rlimits",
                                    servin_rlimit_name(resource));
        seen |= UINT64_C(1) << resource;
    }
    return 0;
}

static int apply_one(int resource, struct rlimit want, struct servin_error *err)
{
    const char *name = servin_rlimit_name(resource);
    struct rlimit now;

    if (setrlimit(resource, &want) == 0)
        return 0;
    if (errno != EPERM)
        return servin_error_errno(err, errno, "set rlimit %s to %llu/%llu", name,
                                  (unsigned long long)want.rlim_cur, (unsigned long long)want.rlim_max);
    /* EPERM means the hard limit is above what this process may raise it to (no CAP_SYS_RESOURCE, or
     * NOFILE past fs.nr_open). Lowering to the current hard limit gives the container as much as it
     * can have; refusing to run would be worse for everyone who copied a generous default. */
    if (getrlimit(resource, &now) < 0)
        return servin_error_errno(err, errno, "read rlimit %s", name);
    if (want.rlim_max <= now.rlim_max)
        return servin_error_errno(err, EPERM, "set rlimit %s to %llu/%llu", name,
                                  (unsigned long long)want.rlim_cur, (unsigned long long)want.rlim_max);
    struct rlimit clamped = {
        .rlim_cur = want.rlim_cur > now.rlim_max ? now.rlim_max : want.rlim_cur,
        .rlim_max = now.rlim_max,
    };
    log_warn("rlimit %s: %llu/%llu is above what this process may set; using %llu/%llu", name,
             (unsigned long long)want.rlim_cur, (unsigned long long)want.rlim_max,
             (unsigned long long)clamped.rlim_cur, (unsigned long long)clamped.rlim_max);
    if (setrlimit(resource, &clamped) < 0)
        return servin_error_errno(err, errno, "set rlimit %s to %llu/%llu", name,
                                  (unsigned long long)clamped.rlim_cur, (unsigned long long)clamped.rlim_max);
    return 0;
}

int servin_rlimits_apply(json_t *rlimits, struct servin_error *err)
{
    size_t i;
    json_t *e;
    int ret;

    if ((ret = servin_rlimits_check(rlimits, err)) < 0)
        return ret;
    if (!rlimits || json_is_null(rlimits))
        return 0;
    json_array_foreach (rlimits, i, e) {
        int resource;
        struct rlimit lim;
        if ((ret = parse_entry(e, i, &resource, &lim, err)) < 0 || (ret = apply_one(resource, lim, err)) < 0)
            return ret;
    }
    return 0;
}
