/* container/spec_ulimits.c — security.default_ulimits: the rlimits a container gets unless --ulimit names
 * them. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "container/spec_internal.h"
#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/log.h"

static const struct {
    const char *name;
    int resource;
} resources[] = {
    {"cpu", RLIMIT_CPU},           {"fsize", RLIMIT_FSIZE},
    {"data", RLIMIT_DATA},         {"stack", RLIMIT_STACK},
    {"core", RLIMIT_CORE},         {"rss", RLIMIT_RSS},
    {"nproc", RLIMIT_NPROC},       {"nofile", RLIMIT_NOFILE},
    {"memlock", RLIMIT_MEMLOCK},   {"as", RLIMIT_AS},
    {"locks", RLIMIT_LOCKS},       {"sigpending", RLIMIT_SIGPENDING},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"rtprio", RLIMIT_RTPRIO},     {"rttime", RLIMIT_RTTIME},
};

bool ctr_can_raise_rlimits(void)
{
    cap_flag_value_t v = CAP_CLEAR;
    cap_t caps = cap_get_proc();
    if (caps) {
        cap_get_flag(caps, CAP_SYS_RESOURCE, CAP_EFFECTIVE, &v);
        cap_free(caps);
    }
    return v == CAP_SET;
}

static json_int_t as_json(int64_t v)
{
    return v < 0 ? -1 : (json_int_t)v;
}

/* Lower a limit to what the runtime can set: without CAP_SYS_RESOURCE no hard limit above ours. */
static bool clamp(int resource, int64_t *soft, int64_t *hard, bool can_raise)
{
    struct rlimit now;
    if (can_raise || getrlimit(resource, &now) < 0 || now.rlim_max == RLIM_INFINITY)
        return false;
    int64_t max = (int64_t)now.rlim_max;
    bool lowered = false;
    if (*hard < 0 || *hard > max) {
        *hard = max;
        lowered = true;
    }
    if (*soft < 0 || *soft > *hard) {
        *soft = *hard;
        lowered = true;
    }
    return lowered;
}

int ctr_default_ulimits(json_t *list, bool *nofile_set)
{
    _cleanup_config_ struct servin_config *cfg = servin_config_current();
    bool can_raise = ctr_can_raise_rlimits();
    _cleanup_free_ char *lowered = NULL;
    for (size_t i = 0; i < cfg->security.n_default_ulimits; i++) {
        const struct servin_config_ulimit *u = &cfg->security.default_ulimits[i];
        char type[32];
        snprintf(type, sizeof(type), "RLIMIT_%s", u->name);
        for (char *p = type; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        /* --ulimit of the container wins over the default. */
        bool given = false;
        size_t k;
        json_t *e;
        json_array_foreach (list, k, e)
            given = given || strcmp(json_string_value(json_object_get(e, "type")), type) == 0;
        if (given)
            continue;
        int resource = -1;
        for (size_t r = 0; r < sizeof(resources) / sizeof(resources[0]); r++)
            if (strcmp(resources[r].name, u->name) == 0)
                resource = resources[r].resource;
        if (resource < 0)
            continue;
        int64_t soft = u->soft, hard = u->hard;
        if (clamp(resource, &soft, &hard, can_raise)) {
            char *more = xasprintf("%s%s%s %lld:%lld", lowered ? lowered : "", lowered ? ", " : "", u->name,
                                   (long long)soft, (long long)hard);
            free(lowered);
            lowered = more;
        }
        if (strcmp(u->name, "nofile") == 0)
            *nofile_set = true;
        json_array_append_new(
            list, json_pack("{s:s,s:I,s:I}", "type", type, "soft", as_json(soft), "hard", as_json(hard)));
    }
    /* One warning for all of them: the container still runs, with what the host could grant. */
    if (lowered)
        log_warn(
            "security.default_ulimits: lowered to what this process may grant without CAP_SYS_RESOURCE: %s",
            lowered);
    return 0;
}
