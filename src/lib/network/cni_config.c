/* network/cni_config.c — CNI network configs: find, parse and check them, build each plugin's stdin
 * config, and read the addresses out of a result. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/cni_internal.h"
#include "servin/cleanup.h"
#include "servin/cni.h"
#include "servin/fs.h"

void servin_cni_net_free(struct servin_cni_net *net)
{
    if (!net)
        return;
    free(net->name);
    free(net->cni_version);
    json_decref(net->plugins);
    free(net->file);
    free(net->bin_dir);
    free(net);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A network name is used in file names (host-local's lease dir) and iptables comments. */
static bool net_name_valid(const char *s)
{
    if (!s || !*s || strlen(s) > 128)
        return false;
    for (const char *p = s; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
            !strchr("._-", *p))
            return false;
    return true;
}

static bool type_valid(const char *s)
{
    return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int servin_cni_parse(const char *text, const char *file, const char *bin_dir, struct servin_cni_net **out,
                     struct servin_error *err)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return servin_error_set(err, EINVAL, "CNI config %s: not a JSON object (%s)", file,
                                j ? "wrong type" : jerr.text);
    }
    json_t *plugins = json_object_get(j, "plugins");
    if (plugins) {
        if (!json_is_array(plugins) || json_array_size(plugins) == 0) {
            json_decref(j);
            return servin_error_set(err, EINVAL, "CNI config %s: \"plugins\" must be a non-empty array",
                                    file);
        }
        json_incref(plugins);
    } else {
        /* A single-plugin .conf: the object itself is the one plugin. */
        plugins = json_pack("[O]", j);
    }
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *version = json_string_value(json_object_get(j, "cniVersion"));
    int ret = 0;
    if (!net_name_valid(name))
        ret = servin_error_set(err, EINVAL, "CNI config %s: \"name\" is missing or not a valid network name",
                               file);
    else if (!version || !*version)
        ret = servin_error_set(err, EINVAL, "CNI config %s: \"cniVersion\" is missing", file);
    size_t i;
    json_t *p;
    json_array_foreach (plugins, i, p) {
        if (ret < 0)
            break;
        if (!json_is_object(p))
            ret = servin_error_set(err, EINVAL, "CNI config %s: plugin %zu is not an object", file, i);
        else if (!type_valid(json_string_value(json_object_get(p, "type"))))
            ret = servin_error_set(err, EINVAL, "CNI config %s: plugin %zu has no valid \"type\"", file, i);
    }
    if (ret < 0) {
        json_decref(plugins);
        json_decref(j);
        return ret;
    }
    struct servin_cni_net *net = xcalloc(1, sizeof(*net));
    net->name = xstrdup(name);
    net->cni_version = xstrdup(version);
    net->plugins = plugins;
    net->file = xstrdup(file ? file : "");
    net->bin_dir = xstrdup(bin_dir && *bin_dir ? bin_dir : "/usr/lib/cni");
    json_decref(j);
    *out = net;
    return 0;
}

int servin_cni_load(const char *conf_dir, const char *bin_dir, struct servin_cni_net **out,
                    struct servin_error *err)
{
    DIR *d = opendir(conf_dir);
    if (!d)
        return servin_error_errno(err, errno == ENOENT ? ENOENT : errno, "read the CNI config directory %s",
                                  conf_dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (!has_suffix(de->d_name, ".conflist") && !has_suffix(de->d_name, ".conf") &&
            !has_suffix(de->d_name, ".json"))
            continue;
        names = xreallocarray(names, n + 1, sizeof(*names));
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n == 0) {
        free(names);
        return servin_error_set(err, ENOENT, "no CNI network config (*.conflist, *.conf) in %s", conf_dir);
    }
    qsort(names, n, sizeof(*names), name_cmp);
    _cleanup_free_ char *path = xasprintf("%s/%s", conf_dir, names[0]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int ret = servin_read_file(path, &text, &len, err);
    if (ret < 0)
        return ret;
    return servin_cni_parse(text, path, bin_dir, out, err);
}

json_t *servin_cni_net_to_json(const struct servin_cni_net *net)
{
    return json_pack("{s:s,s:s,s:O,s:s}", "name", net->name, "cniVersion", net->cni_version, "plugins",
                     net->plugins, "bin_dir", net->bin_dir);
}

int servin_cni_net_from_json(const json_t *j, struct servin_cni_net **out, struct servin_error *err)
{
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    const char *bin_dir = json_string_value(json_object_get(j, "bin_dir"));
    if (!text)
        return servin_error_set(err, EINVAL, "stored CNI network config is damaged");
    return servin_cni_parse(text, "(stored config)", bin_dir, out, err);
}

/* "0.4.0" >= "0.3.0"? Versions are dotted numbers. */
int cni_version_cmp(const char *a, const char *b)
{
    for (;;) {
        char *ea, *eb;
        long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
        if (x != y)
            return x < y ? -1 : 1;
        if (*ea != '.' || *eb != '.')
            return (*ea == '.') - (*eb == '.');
        a = ea + 1;
        b = eb + 1;
    }
}

static json_t *port_mappings_cni(json_t *cri)
{
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach (cri, i, m) {
        json_int_t host = json_integer_value(json_object_get(m, "host_port"));
        if (host <= 0) /* a port kubelet did not ask to publish */
            continue;
        const char *proto = json_string_value(json_object_get(m, "protocol"));
        const char *host_ip = json_string_value(json_object_get(m, "host_ip"));
        json_t *e = json_pack("{s:I,s:I,s:s}", "hostPort", host, "containerPort",
                              json_integer_value(json_object_get(m, "container_port")), "protocol",
                              proto && *proto ? proto : "tcp");
        if (host_ip && *host_ip)
            json_object_set_new(e, "hostIP", json_string(host_ip));
        json_array_append_new(out, e);
    }
    return out;
}

json_t *servin_cni_plugin_config(const struct servin_cni_net *net, size_t i, json_t *prev_result,
                                 const struct servin_cni_runtime *rt)
{
    json_t *conf = json_deep_copy(json_array_get(net->plugins, i));
    json_object_set_new(conf, "name", json_string(net->name));
    json_object_set_new(conf, "cniVersion", json_string(net->cni_version));
    if (prev_result && cni_version_cmp(net->cni_version, "0.3.0") >= 0)
        json_object_set(conf, "prevResult", prev_result);
    json_t *caps = json_object_get(conf, "capabilities");
    json_t *rc = json_object();
    if (json_is_true(json_object_get(caps, "portMappings")) && rt && rt->port_mappings) {
        json_t *pm = port_mappings_cni(rt->port_mappings);
        if (json_array_size(pm) > 0)
            json_object_set_new(rc, "portMappings", pm);
        else
            json_decref(pm);
    }
    if (json_object_size(rc) > 0)
        json_object_set_new(conf, "runtimeConfig", rc);
    else
        json_decref(rc);
    return conf;
}

/* "10.1.2.3/24" -> "10.1.2.3" */
static char *strip_prefix(const char *cidr)
{
    const char *slash = strchr(cidr, '/');
    return slash ? xstrndup(cidr, (size_t)(slash - cidr)) : xstrdup(cidr);
}

static bool is_v4(const char *ip)
{
    struct in_addr a;
    return inet_pton(AF_INET, ip, &a) == 1;
}

static bool is_loopback(const char *ip)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, ip, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, ip, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int servin_cni_result_ips(json_t *result, char **ip, json_t **more)
{
    json_t *all = json_array();
    json_t *ips = json_object_get(result, "ips");
    json_t *ifaces = json_object_get(result, "interfaces");
    size_t i;
    json_t *e;
    json_array_foreach (ips, i, e) {
        const char *addr = json_string_value(json_object_get(e, "address"));
        if (!addr)
            continue;
        /* Only addresses on an interface inside the sandbox (the bridge's own are the host's). */
        json_t *idx = json_object_get(e, "interface");
        if (json_is_integer(idx)) {
            json_t *iface = json_array_get(ifaces, (size_t)json_integer_value(idx));
            const char *sandbox = json_string_value(json_object_get(iface, "sandbox"));
            if (iface && (!sandbox || !*sandbox))
                continue;
        }
        /* The loopback plugin's 127.0.0.1 is no pod address. */
        _cleanup_free_ char *bare = strip_prefix(addr);
        if (is_loopback(bare))
            continue;
        json_array_append_new(all, json_string_nocheck(addr));
    }
    /* Results of cniVersion 0.1.0/0.2.0. */
    const char *keys[] = {"ip4", "ip6"};
    for (size_t k = 0; k < 2; k++) {
        const char *addr = json_string_value(json_object_get(json_object_get(result, keys[k]), "ip"));
        if (addr)
            json_array_append_new(all, json_string_nocheck(addr));
    }
    *ip = NULL;
    *more = json_array();
    size_t first = SIZE_MAX;
    json_array_foreach (all, i, e) {
        _cleanup_free_ char *a = strip_prefix(json_string_value(e));
        if (first == SIZE_MAX && is_v4(a))
            first = i;
    }
    if (first == SIZE_MAX && json_array_size(all) > 0)
        first = 0;
    json_array_foreach (all, i, e) {
        char *a = strip_prefix(json_string_value(e));
        if (i == first)
            *ip = a;
        else {
            json_array_append_new(*more, json_string(a));
            free(a);
        }
    }
    json_decref(all);
    return *ip ? 0 : -ENOENT;
}
