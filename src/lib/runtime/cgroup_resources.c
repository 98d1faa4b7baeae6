/* runtime/cgroup_resources.c — read and check an OCI linux.resources object before writing it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cgroup_internal.h"
#include "servin/cleanup.h"

static int get_i64(const json_t *obj, const char *section, const char *key, struct cg_opt_i64 *out,
                   struct servin_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return servin_error_set(err, EINVAL, "linux.resources.%s.%s must be an integer", section, key);
    out->set = true;
    out->v = json_integer_value(v);
    return 0;
}

static int get_u64(const json_t *obj, const char *section, const char *key, struct cg_opt_i64 *out,
                   struct servin_error *err)
{
    int ret = get_i64(obj, section, key, out, err);
    if (ret == 0 && out->set && out->v < 0)
        return servin_error_set(err, EINVAL, "linux.resources.%s.%s must not be negative (found %lld)",
                                section, key, (long long)out->v);
    return ret;
}

/* runc and Docker send 0 for "not set" in these fields; writing 0 would mean "no memory at all". */
static void zero_is_unset(struct cg_opt_i64 *o)
{
    if (o->set && o->v == 0)
        o->set = false;
}

static int get_object(const json_t *parent, const char *key, const json_t **out, struct servin_error *err)
{
    json_t *v = json_object_get(parent, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return servin_error_set(err, EINVAL, "linux.resources.%s must be an object", key);
    *out = v;
    return 0;
}

static int get_array(const json_t *parent, const char *section, const char *key, const json_t **out,
                     struct servin_error *err)
{
    json_t *v = json_object_get(parent, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return servin_error_set(err, EINVAL, "linux.resources.%s%s%s must be an array", section,
                                *section ? "." : "", key);
    *out = v;
    return 0;
}

static int parse_memory(const json_t *mem, struct cg_resources *res, struct servin_error *err)
{
    int ret = 0;
    if ((ret = get_i64(mem, "memory", "limit", &res->mem_limit, err)) < 0 ||
        (ret = get_i64(mem, "memory", "reservation", &res->mem_reservation, err)) < 0 ||
        (ret = get_i64(mem, "memory", "swap", &res->mem_swap, err)) < 0 ||
        (ret = get_i64(mem, "memory", "kernel", &res->mem_kernel, err)) < 0 ||
        (ret = get_i64(mem, "memory", "kernelTCP", &res->mem_kernel_tcp, err)) < 0 ||
        (ret = get_u64(mem, "memory", "swappiness", &res->mem_swappiness, err)) < 0)
        return ret;
    zero_is_unset(&res->mem_limit);
    zero_is_unset(&res->mem_reservation);
    zero_is_unset(&res->mem_swap);
    if (res->mem_swappiness.set && res->mem_swappiness.v > 100)
        return servin_error_set(err, EINVAL, "linux.resources.memory.swappiness must be 0..100 (found %lld)",
                                (long long)res->mem_swappiness.v);
    json_t *oom = json_object_get(mem, "disableOOMKiller");
    if (oom && !json_is_null(oom)) {
        if (!json_is_boolean(oom))
            return servin_error_set(err, EINVAL,
                                    "linux.resources.memory.disableOOMKiller must be true or false");
        res->disable_oom_set = true;
        res->disable_oom = json_is_true(oom);
    }
    if (res->mem_limit.set && res->mem_swap.set && res->mem_swap.v != -1 &&
        (res->mem_limit.v == -1 || res->mem_swap.v < res->mem_limit.v))
        return servin_error_set(
            err, EINVAL,
            "linux.resources.memory.swap (%lld) is memory plus swap and must not be below "
            "memory.limit (%lld)",
            (long long)res->mem_swap.v, (long long)res->mem_limit.v);
    return 0;
}

static int get_string(const json_t *obj, const char *section, const char *key, char **out,
                      struct servin_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return servin_error_set(err, EINVAL, "linux.resources.%s.%s must be a string", section, key);
    /* An empty cpus/mems string means "leave as is" in runc's update, not "no cpus". */
    if (*json_string_value(v))
        *out = xstrdup(json_string_value(v));
    return 0;
}

static int parse_cpu(const json_t *cpu, struct cg_resources *res, struct servin_error *err)
{
    int ret = 0;
    if ((ret = get_u64(cpu, "cpu", "shares", &res->cpu_shares, err)) < 0 ||
        (ret = get_i64(cpu, "cpu", "quota", &res->cpu_quota, err)) < 0 ||
        (ret = get_u64(cpu, "cpu", "period", &res->cpu_period, err)) < 0 ||
        (ret = get_u64(cpu, "cpu", "burst", &res->cpu_burst, err)) < 0 ||
        (ret = get_i64(cpu, "cpu", "idle", &res->cpu_idle, err)) < 0 ||
        (ret = get_i64(cpu, "cpu", "realtimeRuntime", &res->cpu_rt_runtime, err)) < 0 ||
        (ret = get_u64(cpu, "cpu", "realtimePeriod", &res->cpu_rt_period, err)) < 0 ||
        (ret = get_string(cpu, "cpu", "cpus", &res->cpus, err)) < 0 ||
        (ret = get_string(cpu, "cpu", "mems", &res->mems, err)) < 0)
        return ret;
    zero_is_unset(&res->cpu_shares);
    zero_is_unset(&res->cpu_quota);
    zero_is_unset(&res->cpu_period);
    return 0;
}

static int parse_device(const json_t *d, size_t i, struct cg_device_rule *rule, struct servin_error *err)
{
    if (!json_is_object(d))
        return servin_error_set(err, EINVAL, "linux.resources.devices[%zu] must be an object", i);
    json_t *allow = json_object_get(d, "allow");
    if (!json_is_boolean(allow))
        return servin_error_set(err, EINVAL, "linux.resources.devices[%zu].allow must be true or false", i);
    rule->allow = json_is_true(allow);

    const char *type = json_string_value(json_object_get(d, "type"));
    if (!type || !*type)
        type = "a";
    if (strlen(type) != 1 || !strchr("abc", type[0]))
        return servin_error_set(
            err, EINVAL, "linux.resources.devices[%zu].type must be a, b or c (found \"%s\")", i, type);
    rule->type = type[0];

    struct cg_opt_i64 major = {0}, minor = {0};
    int ret = 0;
    if ((ret = get_i64(d, "devices[]", "major", &major, err)) < 0 ||
        (ret = get_i64(d, "devices[]", "minor", &minor, err)) < 0)
        return ret;
    rule->major = major.set ? major.v : -1;
    rule->minor = minor.set ? minor.v : -1;

    const char *access = json_string_value(json_object_get(d, "access"));
    if (!access || !*access)
        access = "rwm";
    if (strlen(access) > 3 || strspn(access, "rwm") != strlen(access))
        return servin_error_set(
            err, EINVAL, "linux.resources.devices[%zu].access must be letters from \"rwm\" (found \"%s\")", i,
            access);
    strcpy(rule->access, access);
    return 0;
}

static int parse_devices(const json_t *devices, struct cg_resources *res, struct servin_error *err)
{
    size_t n = json_array_size(devices);
    res->devices = xcalloc(n ? n : 1, sizeof(*res->devices));
    for (size_t i = 0; i < n; i++) {
        int ret = parse_device(json_array_get(devices, i), i, &res->devices[i], err);
        if (ret < 0)
            return ret;
        res->n_devices++;
    }
    return 0;
}

static const char *const throttle_keys[4] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
                                             "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};

static int parse_blkio(const json_t *bio, struct cg_resources *res, struct servin_error *err)
{
    int ret = get_u64(bio, "blockIO", "weight", &res->blkio_weight, err);
    if (ret < 0)
        return ret;
    zero_is_unset(&res->blkio_weight);
    if (res->blkio_weight.set && (res->blkio_weight.v < 10 || res->blkio_weight.v > 1000))
        return servin_error_set(err, EINVAL, "linux.resources.blockIO.weight must be 10..1000 (found %lld)",
                                (long long)res->blkio_weight.v);
    for (int t = 0; t < 4; t++) {
        const json_t *list = NULL;
        if ((ret = get_array(bio, "blockIO", throttle_keys[t], &list, err)) < 0)
            return ret;
        size_t n = json_array_size(list);
        res->throttle[t] = xcalloc(n ? n : 1, sizeof(*res->throttle[t]));
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(list, i);
            struct cg_opt_i64 major = {0}, minor = {0}, rate = {0};
            if ((ret = get_u64(e, "blockIO", "major", &major, err)) < 0 ||
                (ret = get_u64(e, "blockIO", "minor", &minor, err)) < 0 ||
                (ret = get_u64(e, "blockIO", "rate", &rate, err)) < 0)
                return ret;
            if (!major.set || !minor.set || !rate.set)
                return servin_error_set(err, EINVAL,
                                        "linux.resources.blockIO.%s[%zu] needs major, minor and rate",
                                        throttle_keys[t], i);
            res->throttle[t][i] = (struct cg_blkio_device){major.v, minor.v, (uint64_t)rate.v};
            res->n_throttle[t]++;
        }
    }
    if (json_object_get(bio, "weightDevice") || json_object_get(bio, "leafWeight"))
        res->blkio_ignored = true;
    return 0;
}

static int parse_hugepages(const json_t *list, struct cg_resources *res, struct servin_error *err)
{
    size_t n = json_array_size(list);
    res->hugepages = xcalloc(n ? n : 1, sizeof(*res->hugepages));
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        const char *size = json_string_value(json_object_get(e, "pageSize"));
        struct cg_opt_i64 limit = {0};
        int ret = get_u64(e, "hugepageLimits[]", "limit", &limit, err);
        if (ret < 0)
            return ret;
        if (!size || !*size || strchr(size, '/') || !limit.set)
            return servin_error_set(err, EINVAL,
                                    "linux.resources.hugepageLimits[%zu] needs a pageSize such as "
                                    "\"2MB\" and a limit",
                                    i);
        res->hugepages[i].page_size = xstrdup(size);
        res->hugepages[i].limit = (uint64_t)limit.v;
        res->n_hugepages++;
    }
    return 0;
}

int cg_resources_parse(const json_t *resources, struct cg_resources *res, struct servin_error *err)
{
    memset(res, 0, sizeof(*res));
    if (!resources || json_is_null(resources))
        return 0;
    if (!json_is_object(resources))
        return servin_error_set(err, EINVAL, "linux.resources must be an object");

    const json_t *mem = NULL, *cpu = NULL, *pids = NULL, *bio = NULL, *devices = NULL, *huge = NULL;
    const json_t *unified = NULL;
    int ret = 0;
    if ((ret = get_object(resources, "memory", &mem, err)) < 0 ||
        (ret = get_object(resources, "cpu", &cpu, err)) < 0 ||
        (ret = get_object(resources, "pids", &pids, err)) < 0 ||
        (ret = get_object(resources, "blockIO", &bio, err)) < 0 ||
        (ret = get_object(resources, "unified", &unified, err)) < 0 ||
        (ret = get_array(resources, "", "devices", &devices, err)) < 0 ||
        (ret = get_array(resources, "", "hugepageLimits", &huge, err)) < 0)
        return ret;

    if (mem && (ret = parse_memory(mem, res, err)) < 0)
        return ret;
    if (cpu && (ret = parse_cpu(cpu, res, err)) < 0)
        return ret;
    if (pids) {
        if ((ret = get_i64(pids, "pids", "limit", &res->pids_limit, err)) < 0)
            return ret;
        zero_is_unset(&res->pids_limit);
    }
    if (devices && (ret = parse_devices(devices, res, err)) < 0)
        return ret;
    if (bio && (ret = parse_blkio(bio, res, err)) < 0)
        return ret;
    if (huge && (ret = parse_hugepages(huge, res, err)) < 0)
        return ret;
    if (unified) {
        const char *key;
        json_t *value;
        json_object_foreach ((json_t *)unified, key, value) {
            if (!json_is_string(value))
                return servin_error_set(err, EINVAL, "linux.resources.unified[\"%s\"] must be a string", key);
            /* Keys name files in the container's own cgroup directory, never elsewhere. */
            if (!*key || strchr(key, '/') || key[0] == '.')
                return servin_error_set(err, EINVAL,
                                        "linux.resources.unified: \"%s\" is not a cgroup file name", key);
        }
        if (json_object_size(unified) > 0)
            res->unified = unified;
    }
    res->network_ignored = json_object_get(resources, "network") || json_object_get(resources, "rdma");
    return 0;
}

void cg_resources_clear(struct cg_resources *res)
{
    free(res->cpus);
    free(res->mems);
    free(res->devices);
    for (int t = 0; t < 4; t++)
        free(res->throttle[t]);
    for (size_t i = 0; i < res->n_hugepages; i++)
        free(res->hugepages[i].page_size);
    free(res->hugepages);
    memset(res, 0, sizeof(*res));
}

uint64_t cg_shares_to_weight(uint64_t shares)
{
    /* v1 shares run 2..262144 and v2 weights 1..10000; map the ranges linearly. */
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg_blkio_weight_to_io_weight(uint64_t weight)
{
    if (weight < 10)
        weight = 10;
    if (weight > 1000)
        weight = 1000;
    return 1 + ((weight - 10) * 9999) / 990;
}
