/* container/spec_security.c — capabilities, seccomp, no_new_privs and host devices for the spec,
 * with Docker's semantics for CapAdd/CapDrop, SecurityOpt and Privileged. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "container/spec_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"
#include "servin/seccomp_default.h"

/* Docker's default set. */
static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

/* Every capability this kernel and libcap know, as "CAP_NAME"; with bounded_only, those in our own
 * bounding set: "ALL" and Privileged mean what we can give, as in Docker, since the runtime
 * cannot grant a capability its caller lacks. */
static json_t *all_caps(bool bounded_only)
{
    json_t *all = json_array();
    unsigned max = (unsigned)cap_max_bits();
    for (unsigned i = 0; i < max; i++) {
        if (bounded_only && prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) != 1)
            continue;
        char *name = cap_to_name((cap_value_t)i);
        if (!name)
            continue;
        /* libcap names capabilities it does not know by number: there is no CAP_ name to give. */
        if (strncmp(name, "cap_", 4) == 0) {
            char upper[64];
            snprintf(upper, sizeof(upper), "%s", name);
            for (char *p = upper; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            json_array_append_new(all, json_string(upper));
        }
        cap_free(name);
    }
    return all;
}

static bool has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static void remove_name(json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr);) {
        if (strcmp(json_string_value(json_array_get(arr, i)), s) == 0)
            json_array_remove(arr, i);
        else
            i++;
    }
}

/* "net_admin", "CAP_NET_ADMIN", "all" -> "CAP_NET_ADMIN", "ALL"; checked against the known ones. */
static int normalise(json_t *list, json_t *known, const char *what, json_t **out, struct servin_error *err)
{
    json_t *norm = json_array();
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v) {
        const char *s = json_string_value(v);
        if (!s) {
            json_decref(norm);
            return servin_error_set(err, EINVAL, "%s must list capability names", what);
        }
        char name[80];
        snprintf(name, sizeof(name), "%s%s",
                 strncasecmp(s, "CAP_", 4) == 0 || strcasecmp(s, "ALL") == 0 ? "" : "CAP_", s);
        for (char *p = name; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        if (strcmp(name, "ALL") != 0 && !has(known, name)) {
            json_decref(norm);
            return servin_error_set(err, EINVAL, "unknown capability \"%s\" in %s", s, what);
        }
        if (!has(norm, name))
            json_array_append_new(norm, json_string(name));
    }
    *out = norm;
    return 0;
}

int ctr_capabilities(json_t *host_config, json_t **caps, struct servin_error *err)
{
    json_t *all = all_caps(true);
    json_t *set = NULL;
    if (json_is_true(json_object_get(host_config, "Privileged"))) {
        set = json_incref(all);
    } else {
        json_t *add = NULL, *drop = NULL;
        json_t *known = all_caps(false);
        int ret = normalise(json_object_get(host_config, "CapAdd"), known, "CapAdd", &add, err);
        if (ret == 0)
            ret = normalise(json_object_get(host_config, "CapDrop"), known, "CapDrop", &drop, err);
        json_decref(known);
        if (ret < 0) {
            json_decref(add);
            json_decref(all);
            return ret;
        }
        /* As in Docker: dropping ALL starts from nothing, adding ALL from everything. */
        if (has(drop, "ALL")) {
            set = has(add, "ALL") ? json_deep_copy(all) : json_array();
        } else if (has(add, "ALL")) {
            set = json_deep_copy(all);
        } else {
            set = json_array();
            for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
                json_array_append_new(set, json_string(default_caps[i]));
        }
        size_t i;
        json_t *v;
        if (!has(drop, "ALL"))
            json_array_foreach (drop, i, v)
                remove_name(set, json_string_value(v));
        if (!has(add, "ALL"))
            json_array_foreach (add, i, v) {
                if (!has(set, json_string_value(v)))
                    json_array_append(set, v);
            }
        json_decref(add);
        json_decref(drop);
    }
    json_decref(all);
    *caps = json_pack("{s:O,s:O,s:O}", "bounding", set, "effective", set, "permitted", set);
    json_decref(set);
    return 0;
}

/* The architecture this machine's default profile names first, e.g. SCMP_ARCH_X86_64. */
static const char *native_arch(json_t *default_profile)
{
    return json_string_value(json_array_get(json_object_get(default_profile, "architectures"), 0));
}

static bool list_has_all(json_t *need, json_t *have)
{
    size_t i;
    json_t *v;
    json_array_foreach (need, i, v) {
        if (!json_is_string(v) || !has(have, json_string_value(v)))
            return false;
    }
    return true;
}

static bool list_has_any(json_t *some, json_t *have)
{
    size_t i;
    json_t *v;
    json_array_foreach (some, i, v) {
        if (json_is_string(v) && has(have, json_string_value(v)))
            return true;
    }
    return false;
}

/* Docker's profile format to OCI linux.seccomp: archMap to the native architectures, and rules
 * kept or left out by their includes/excludes on capabilities and architectures. */
static int docker_profile(const char *text, json_t *bounding, json_t **out, struct servin_error *err)
{
    json_error_t jerr;
    json_t *p = json_loads(text, 0, &jerr);
    if (!json_is_object(p)) {
        json_decref(p);
        return servin_error_set(err, EINVAL, "invalid seccomp profile: %s", jerr.text);
    }
    if (!json_is_string(json_object_get(p, "defaultAction"))) {
        json_decref(p);
        return servin_error_set(err, EINVAL, "invalid seccomp profile: defaultAction is missing");
    }
    json_t *def = servin_seccomp_default_profile(bounding);
    json_t *arch_list = json_array();
    json_array_append_new(arch_list, json_string(native_arch(def) ? native_arch(def) : ""));
    json_t *seccomp = json_object();
    json_object_set(seccomp, "defaultAction", json_object_get(p, "defaultAction"));
    if (json_object_get(p, "defaultErrnoRet"))
        json_object_set(seccomp, "defaultErrnoRet", json_object_get(p, "defaultErrnoRet"));
    if (json_object_get(p, "flags"))
        json_object_set(seccomp, "flags", json_object_get(p, "flags"));
    json_t *arches = json_object_get(p, "architectures");
    json_t *arch_map = json_object_get(p, "archMap");
    if (json_is_array(arches)) {
        json_object_set(seccomp, "architectures", arches);
    } else if (json_is_array(arch_map)) {
        json_t *mine = json_array();
        size_t i;
        json_t *m;
        json_array_foreach (arch_map, i, m) {
            if (!has(arch_list, json_string_value(json_object_get(m, "architecture")) ?: ""))
                continue;
            json_array_append(mine, json_object_get(m, "architecture"));
            if (json_is_array(json_object_get(m, "subArchitectures")))
                json_array_extend(mine, json_object_get(m, "subArchitectures"));
        }
        json_object_set_new(seccomp, "architectures", mine);
    } else {
        json_object_set(seccomp, "architectures", json_object_get(def, "architectures"));
    }
    json_t *rules = json_array();
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(p, "syscalls"), i, r) {
        json_t *inc = json_object_get(r, "includes"), *exc = json_object_get(r, "excludes");
        if (!list_has_all(json_object_get(inc, "caps"), bounding) ||
            list_has_any(json_object_get(exc, "caps"), bounding))
            continue;
        if ((json_array_size(json_object_get(inc, "arches")) > 0 &&
             !list_has_any(json_object_get(inc, "arches"), arch_list)) ||
            list_has_any(json_object_get(exc, "arches"), arch_list))
            continue;
        json_t *names = json_object_get(r, "names");
        if (!names && json_is_string(json_object_get(r, "name")))
            names = json_pack("[O]", json_object_get(r, "name"));
        else
            json_incref(names);
        const char *action = json_string_value(json_object_get(r, "action"));
        json_t *rule = json_pack("{s:o,s:s}", "names", names ? names : json_array(), "action",
                                 action ? action : "SCMP_ACT_ALLOW");
        if (json_object_get(r, "args"))
            json_object_set(rule, "args", json_object_get(r, "args"));
        if (json_object_get(r, "errnoRet"))
            json_object_set(rule, "errnoRet", json_object_get(r, "errnoRet"));
        json_array_append_new(rules, rule);
    }
    json_object_set_new(seccomp, "syscalls", rules);
    json_decref(arch_list);
    json_decref(def);
    json_decref(p);
    *out = seccomp;
    return 0;
}

int ctr_security_opts(json_t *host_config, json_t *bounding, json_t **seccomp, bool *no_new_privs,
                      struct servin_error *err)
{
    bool privileged = json_is_true(json_object_get(host_config, "Privileged"));
    bool unconfined = privileged;
    const char *profile = NULL;
    *no_new_privs = false;
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(host_config, "SecurityOpt"), i, v) {
        const char *opt = json_string_value(v);
        if (!opt)
            return servin_error_set(err, EINVAL, "SecurityOpt must list strings");
        /* Docker accepts both "key=value" and the older "key:value". */
        size_t klen = strcspn(opt, "=:");
        const char *val = opt[klen] ? opt + klen + 1 : NULL;
        if (strncmp(opt, "no-new-privileges", klen) == 0 && klen == strlen("no-new-privileges")) {
            if (!val || strcmp(val, "true") == 0)
                *no_new_privs = true;
            else if (strcmp(val, "false") == 0)
                *no_new_privs = false;
            else
                return servin_error_set(
                    err, EINVAL, "invalid --security-opt \"%s\": use no-new-privileges[=true|false]", opt);
        } else if (klen == 7 && strncmp(opt, "seccomp", 7) == 0 && val) {
            if (strcmp(val, "unconfined") == 0)
                unconfined = true;
            else
                profile = val;
        } else if ((klen == 8 && strncmp(opt, "apparmor", 8) == 0) ||
                   (klen == 5 && strncmp(opt, "label", 5) == 0)) {
            log_debug("security option %s ignored: this host has no such security module support", opt);
        } else {
            return servin_error_set(err, EINVAL,
                                    "invalid --security-opt \"%s\": expected no-new-privileges, "
                                    "seccomp=unconfined or seccomp=<profile JSON>",
                                    opt);
        }
    }
    *seccomp = NULL;
    if (unconfined)
        return 0;
    if (profile)
        return docker_profile(profile, bounding, seccomp, err);
    *seccomp = servin_seccomp_default_profile(bounding);
    return 0;
}

static void add_devices(const char *dir, json_t *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            /* The container gets its own of these, and /dev/fd points into /proc. */
            if (strcmp(dir, "/dev") == 0 &&
                (strcmp(e->d_name, "pts") == 0 || strcmp(e->d_name, "shm") == 0 ||
                 strcmp(e->d_name, "mqueue") == 0 || strcmp(e->d_name, "fd") == 0))
                continue;
            add_devices(path, out);
            continue;
        }
        if ((!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) || strcmp(path, "/dev/console") == 0)
            continue;
        json_array_append_new(
            out,
            json_pack("{s:s,s:s,s:I,s:I,s:i,s:i,s:i}", "path", path, "type", S_ISCHR(st.st_mode) ? "c" : "b",
                      "major", (json_int_t)major(st.st_rdev), "minor", (json_int_t)minor(st.st_rdev),
                      "fileMode", (int)(st.st_mode & 07777), "uid", (int)st.st_uid, "gid", (int)st.st_gid));
    }
    closedir(d);
}

json_t *ctr_host_devices(void)
{
    json_t *out = json_array();
    add_devices("/dev", out);
    return out;
}
