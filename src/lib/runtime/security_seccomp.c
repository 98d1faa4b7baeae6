/* runtime/security_seccomp.c — linux.seccomp of the OCI spec turned into a libseccomp filter. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "runtime/security_internal.h"
#include "servin/cleanup.h"
#include "servin/log.h"

static const struct {
    const char *name;
    uint32_t token;
} arch_table[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
};

static const struct {
    const char *name;
    enum scmp_compare op;
} op_table[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

#define TABLE_LEN(t) (sizeof(t) / sizeof((t)[0]))

void servin_seccomp_releasep(scmp_filter_ctx *ctx)
{
    if (*ctx)
        seccomp_release(*ctx);
    *ctx = NULL;
}

/* errnoRet is optional everywhere; when absent an ERRNO (or TRACE) action answers EPERM, as the
 * spec says for defaultErrnoRet and as runc does for a rule's errnoRet. */
static int errno_value(json_t *v, const char *where, uint32_t *out, struct servin_error *err)
{
    json_int_t n;

    if (!v || json_is_null(v)) {
        *out = EPERM;
        return 0;
    }
    if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 || n > 0xffff)
        return servin_error_set(err, EINVAL, "%s must be an errno number between 0 and 65535", where);
    *out = (uint32_t)n;
    return 0;
}

static int parse_action(const char *name, json_t *errno_ret, const char *where, uint32_t *out,
                        struct servin_error *err)
{
    uint32_t e = EPERM;
    int ret;

    if (!name)
        return servin_error_set(err, EINVAL, "%s: the seccomp action is missing", where);
    bool takes_errno = strcmp(name, "SCMP_ACT_ERRNO") == 0 || strcmp(name, "SCMP_ACT_TRACE") == 0;
    if (!takes_errno && errno_ret && !json_is_null(errno_ret))
        return servin_error_set(
            err, EINVAL, "%s: an errno return is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s",
            where, name);
    if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *out = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *out = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *out = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *out = SCMP_ACT_LOG;
    else if (takes_errno) {
        if ((ret = errno_value(errno_ret, where, &e, err)) < 0)
            return ret;
        *out = name[9] == 'E' ? SCMP_ACT_ERRNO(e) : SCMP_ACT_TRACE(e);
    } else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        /* NOTIFY needs an agent on linux.seccomp.listenerPath to answer, which Servin does not run. */
        return servin_error_set(err, ENOTSUP,
                                "%s: the seccomp action SCMP_ACT_NOTIFY is not supported by Servin", where);
    else
        return servin_error_set(err, EINVAL, "%s: unknown seccomp action \"%s\"", where, name);
    return 0;
}

static int add_architectures(scmp_filter_ctx ctx, json_t *list, struct servin_error *err)
{
    size_t i;
    json_t *v;

    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return servin_error_set(err, EINVAL, "linux.seccomp.architectures must be an array");
    json_array_foreach (list, i, v) {
        const char *name = json_string_value(v);
        size_t k;
        for (k = 0; name && k < TABLE_LEN(arch_table); k++)
            if (strcmp(name, arch_table[k].name) == 0)
                break;
        if (!name || k == TABLE_LEN(arch_table))
            return servin_error_set(err, EINVAL, "unknown seccomp architecture \"%s\"", name ? name : "?");
        /* The native architecture is in every new filter already; adding it again says EEXIST. */
        int ret = seccomp_arch_add(ctx, arch_table[k].token);
        if (ret < 0 && ret != -EEXIST)
            return servin_error_errno(err, -ret, "add seccomp architecture %s", name);
    }
    return 0;
}

static int set_flags(scmp_filter_ctx ctx, json_t *list, struct servin_error *err)
{
    unsigned int api = seccomp_api_get();
    size_t i;
    json_t *v;

    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return servin_error_set(err, EINVAL, "linux.seccomp.flags must be an array");
    json_array_foreach (list, i, v) {
        const char *name = json_string_value(v);
        enum scmp_filter_attr attr;
        unsigned int need;
        if (!name)
            return servin_error_set(err, EINVAL, "linux.seccomp.flags[%zu] is not a string", i);
        if (strcmp(name, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
            attr = SCMP_FLTATR_CTL_TSYNC, need = 2;
        else if (strcmp(name, "SECCOMP_FILTER_FLAG_LOG") == 0)
            attr = SCMP_FLTATR_CTL_LOG, need = 3;
        else if (strcmp(name, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
            attr = SCMP_FLTATR_CTL_SSB, need = 4;
        else
            return servin_error_set(err, EINVAL, "unknown or unsupported seccomp flag \"%s\"", name);
        /* A flag only changes how the filter is installed, not what it allows, so an older kernel
         * is worth a warning rather than a refusal. */
        if (api < need) {
            log_warn("seccomp flag %s is not supported by this kernel or libseccomp; ignoring it", name);
            continue;
        }
        int ret = seccomp_attr_set(ctx, attr, 1);
        if (ret < 0)
            return servin_error_errno(err, -ret, "set seccomp flag %s", name);
    }
    return 0;
}

static int parse_arg(json_t *a, const char *sys, struct scmp_arg_cmp *out, struct servin_error *err)
{
    json_t *index = json_object_get(a, "index"), *value = json_object_get(a, "value");
    json_t *value2 = json_object_get(a, "valueTwo");
    const char *op = json_string_value(json_object_get(a, "op"));
    size_t k;

    if (!json_is_integer(index) || json_integer_value(index) < 0 || json_integer_value(index) > 5)
        return servin_error_set(err, EINVAL, "seccomp rule for %s: an argument index must be 0 to 5", sys);
    if (!json_is_integer(value) || (value2 && !json_is_null(value2) && !json_is_integer(value2)))
        return servin_error_set(err, EINVAL, "seccomp rule for %s: argument values must be integers", sys);
    for (k = 0; op && k < TABLE_LEN(op_table); k++)
        if (strcmp(op, op_table[k].name) == 0)
            break;
    if (!op || k == TABLE_LEN(op_table))
        return servin_error_set(err, EINVAL, "seccomp rule for %s: unknown argument operator \"%s\"", sys,
                                op ? op : "?");
    /* jansson holds signed 64-bit numbers; the cast keeps the bits, which is what the kernel compares. */
    *out = (struct scmp_arg_cmp){
        .arg = (unsigned int)json_integer_value(index),
        .op = op_table[k].op,
        .datum_a = (scmp_datum_t)json_integer_value(value),
        .datum_b = value2 ? (scmp_datum_t)json_integer_value(value2) : 0,
    };
    return 0;
}

static int add_rule(scmp_filter_ctx ctx, const char *sys, uint32_t action, const struct scmp_arg_cmp *args,
                    unsigned int nargs, struct servin_error *err)
{
    int nr = seccomp_syscall_resolve_name(sys);

    /* Profiles list syscalls of every kernel and architecture; one this libseccomp does not know
     * cannot be called here either, so it is skipped like runc and crun do. */
    if (nr == __NR_SCMP_ERROR) {
        log_debug("seccomp: syscall %s is unknown here; skipping its rule", sys);
        return 0;
    }
    int ret = seccomp_rule_add_array(ctx, action, nr, nargs, args);
    if (ret < 0)
        return servin_error_errno(err, -ret, "add the seccomp rule for syscall %s", sys);
    return 0;
}

static int add_syscall_entry(scmp_filter_ctx ctx, json_t *entry, size_t i, uint32_t default_action,
                             struct servin_error *err)
{
    char where[64];
    uint32_t action;
    struct scmp_arg_cmp args[6];
    unsigned int nargs = 0;
    bool same_index = false;
    size_t k;
    json_t *v;
    int ret;

    snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu]", i);
    if (!json_is_object(entry))
        return servin_error_set(err, EINVAL, "%s must be an object", where);
    if ((ret = parse_action(json_string_value(json_object_get(entry, "action")),
                            json_object_get(entry, "errnoRet"), where, &action, err)) < 0)
        return ret;

    json_t *names = json_object_get(entry, "names");
    if (!json_is_array(names))
        return servin_error_set(err, EINVAL, "%s.names must be an array of syscall names", where);
    json_t *jargs = json_object_get(entry, "args");
    if (jargs && !json_is_null(jargs)) {
        if (!json_is_array(jargs) || json_array_size(jargs) > 6)
            return servin_error_set(err, EINVAL, "%s.args must be an array of at most 6 comparisons", where);
        json_array_foreach (jargs, k, v) {
            if ((ret = parse_arg(v, where, &args[nargs], err)) < 0)
                return ret;
            for (unsigned int j = 0; j < nargs; j++)
                if (args[j].arg == args[nargs].arg)
                    same_index = true;
            nargs++;
        }
    }
    /* A rule that does what the default does adds nothing, and libseccomp refuses it. */
    if (action == default_action)
        return 0;

    json_array_foreach (names, k, v) {
        const char *sys = json_string_value(v);
        if (!sys)
            return servin_error_set(err, EINVAL, "%s.names[%zu] is not a string", where, k);
        /* libseccomp cannot AND two comparisons of the same argument in one rule; like runc, such
         * comparisons each make their own rule, so any of them matching triggers the action. */
        if (same_index) {
            for (unsigned int j = 0; j < nargs; j++)
                if ((ret = add_rule(ctx, sys, action, &args[j], 1, err)) < 0)
                    return ret;
        } else if ((ret = add_rule(ctx, sys, action, args, nargs, err)) < 0) {
            return ret;
        }
    }
    return 0;
}

int servin_seccomp_build(json_t *seccomp, scmp_filter_ctx *out, struct servin_error *err)
{
    _cleanup_(servin_seccomp_releasep) scmp_filter_ctx ctx = NULL;
    uint32_t default_action;
    size_t i;
    json_t *v;
    int ret;

    *out = NULL;
    if (!json_is_object(seccomp))
        return servin_error_set(err, EINVAL, "linux.seccomp must be an object");
    const char *def = json_string_value(json_object_get(seccomp, "defaultAction"));
    if ((ret = parse_action(def, json_object_get(seccomp, "defaultErrnoRet"), "linux.seccomp.defaultAction",
                            &default_action, err)) < 0)
        return ret;
    json_t *listener = json_object_get(seccomp, "listenerPath");
    if (json_string_value(listener) && json_string_value(listener)[0])
        return servin_error_set(err, ENOTSUP, "linux.seccomp.listenerPath is not supported by Servin");

    ctx = seccomp_init(default_action);
    if (!ctx)
        return servin_error_set(err, EINVAL, "create a seccomp filter with default action %s", def);
    /* no_new_privs is process.noNewPrivileges' business: libseccomp would otherwise set it on load. */
    if ((ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
        return servin_error_errno(err, -ret, "configure the seccomp filter");
    /* Ask for the kernel's own errno from seccomp_load instead of libseccomp's generic ECANCELED. */
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);

    if ((ret = add_architectures(ctx, json_object_get(seccomp, "architectures"), err)) < 0 ||
        (ret = set_flags(ctx, json_object_get(seccomp, "flags"), err)) < 0)
        return ret;

    json_t *syscalls = json_object_get(seccomp, "syscalls");
    if (syscalls && !json_is_null(syscalls) && !json_is_array(syscalls))
        return servin_error_set(err, EINVAL, "linux.seccomp.syscalls must be an array");
    json_array_foreach (syscalls, i, v) {
        if ((ret = add_syscall_entry(ctx, v, i, default_action, err)) < 0)
            return ret;
    }
    *out = steal_pointer(&ctx);
    return 0;
}

int servin_seccomp_load(scmp_filter_ctx ctx, struct servin_error *err)
{
    int ret = seccomp_load(ctx);
    if (ret < 0)
        return servin_error_errno(err, -ret, "load the seccomp filter");
    return 0;
}
