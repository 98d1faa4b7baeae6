/* cli/run_flags_net.c — the network flags of `run`/`create`: --network, --network-alias, --ip,
 * --dns*, --add-host, -p/--publish, -P/--publish-all, --expose, into Docker's create body. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_flags.h"
#include "servin/cleanup.h"

static json_t *obj_get(json_t *obj, const char *key, bool array)
{
    json_t *v = json_object_get(obj, key);
    if (array ? !json_is_array(v) : !json_is_object(v)) {
        v = array ? json_array() : json_object();
        json_object_set_new(obj, key, v);
    }
    return v;
}

static int bad(struct cli_ctx *ctx, const char *flag, const char *value, const char *why)
{
    return cli_usage_error(ctx, "invalid argument \"%s\" for \"%s\" flag: %s", value, flag, why);
}

static bool valid_port(const char *text, bool allow_empty)
{
    if (!*text)
        return allow_empty;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    return *end == '\0' && v > 0 && v <= 65535;
}

/* "N" or "A-B" (A <= B), each 1..65535; "" only when allow_empty (then *lo = *hi = 0). */
static bool port_range(const char *text, bool allow_empty, int *lo, int *hi)
{
    *lo = *hi = 0;
    if (!*text)
        return allow_empty;
    const char *dash = strchr(text, '-');
    _cleanup_free_ char *first = dash ? xstrndup(text, (size_t)(dash - text)) : xstrdup(text);
    if (!valid_port(first, false) || (dash && !valid_port(dash + 1, false)))
        return false;
    *lo = atoi(first);
    *hi = dash ? atoi(dash + 1) : *lo;
    return *lo <= *hi;
}

/* [ip:][hostPort[-end]:]containerPort[-end][/proto]. A range becomes one binding per port, as
 * Docker's CLI expands it; a host range for one container port is kept as "A-B", from which the
 * start takes the first free port. */
static int publish(struct cli_ctx *ctx, const char *arg, json_t *cfg, json_t *host)
{
    _cleanup_free_ char *copy = xstrdup(arg);
    char *proto = strchr(copy, '/');
    if (proto)
        *proto++ = '\0';
    if (proto && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
        return bad(ctx, "--publish", arg, "the protocol must be tcp or udp");
    char *parts[3] = {NULL, NULL, NULL};
    int n = 0;
    char *last = strrchr(copy, ':');
    if (!last) {
        parts[n++] = copy;
    } else {
        *last = '\0';
        char *mid = strrchr(copy, ':');
        if (mid) {
            *mid = '\0';
            parts[n++] = copy;
            parts[n++] = mid + 1;
        } else {
            parts[n++] = copy;
        }
        parts[n++] = last + 1;
    }
    const char *cport = parts[n - 1];
    const char *hport = n >= 2 ? parts[n - 2] : "";
    const char *hip = n == 3 ? parts[0] : "";
    struct in_addr a;
    int clo, chi, hlo, hhi;
    if (!port_range(cport, false, &clo, &chi) || !port_range(hport, true, &hlo, &hhi))
        return bad(ctx, "--publish", arg, "expected [IP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|udp]");
    if (hlo && hhi - hlo != chi - clo && clo != chi)
        return bad(ctx, "--publish", arg, "the host and container port ranges must be of the same length");
    if (*hip && inet_pton(AF_INET, hip, &a) != 1)
        return bad(ctx, "--publish", arg, "the host IP must be an IPv4 address");
    for (int p = clo; p <= chi; p++) {
        _cleanup_free_ char *key = xasprintf("%d/%s", p, proto ? proto : "tcp");
        _cleanup_free_ char *hp = !hlo         ? xstrdup("")
                                  : clo != chi ? xasprintf("%d", hlo + (p - clo))
                                  : hlo == hhi ? xasprintf("%d", hlo)
                                               : xasprintf("%d-%d", hlo, hhi);
        json_array_append_new(obj_get(obj_get(host, "PortBindings", false), key, true),
                              json_pack("{s:s,s:s}", "HostIp", hip, "HostPort", hp));
        json_object_set_new(obj_get(cfg, "ExposedPorts", false), key, json_object());
    }
    return 0;
}

int run_flags_net_opt(struct cli_ctx *ctx, int opt, const char *arg, json_t *config)
{
    json_t *cfg = json_object_get(config, "Config");
    json_t *host = json_object_get(config, "HostConfig");
    /* Aliases and --ip wait under "" until the network is known (run_flags_net_finish). */
    json_t *ep = NULL;
    if (opt == RUN_OPT_NETWORK_ALIAS || opt == RUN_OPT_IP)
        ep =
            obj_get(obj_get(obj_get(config, "NetworkingConfig", false), "EndpointsConfig", false), "", false);
    struct in_addr a;
    switch (opt) {
    case RUN_OPT_NETWORK:
        if (!*arg)
            return bad(ctx, "--network", arg, "the network name is empty");
        json_object_set_new(host, "NetworkMode", json_string(arg));
        return 0;
    case RUN_OPT_NETWORK_ALIAS:
        json_array_append_new(obj_get(ep, "Aliases", true), json_string(arg));
        return 0;
    case RUN_OPT_IP:
        if (inet_pton(AF_INET, arg, &a) != 1)
            return bad(ctx, "--ip", arg, "not an IPv4 address");
        json_object_set_new(obj_get(ep, "IPAMConfig", false), "IPv4Address", json_string(arg));
        return 0;
    case RUN_OPT_DNS:
        json_array_append_new(obj_get(host, "Dns", true), json_string(arg));
        return 0;
    case RUN_OPT_DNS_SEARCH:
        json_array_append_new(obj_get(host, "DnsSearch", true), json_string(arg));
        return 0;
    case RUN_OPT_DNS_OPTION:
        json_array_append_new(obj_get(host, "DnsOptions", true), json_string(arg));
        return 0;
    case RUN_OPT_ADD_HOST: {
        const char *sep = strchr(arg, ':');
        if (!sep)
            sep = strchr(arg, '=');
        if (!sep || sep == arg || inet_pton(AF_INET, sep + 1, &a) != 1)
            return bad(ctx, "--add-host", arg, "expected HOST:IP with an IPv4 address");
        _cleanup_free_ char *entry = xasprintf("%.*s:%s", (int)(sep - arg), arg, sep + 1);
        json_array_append_new(obj_get(host, "ExtraHosts", true), json_string(entry));
        return 0;
    }
    case RUN_OPT_PUBLISH:
        return publish(ctx, arg, cfg, host);
    case RUN_OPT_PUBLISH_ALL:
        json_object_set_new(host, "PublishAllPorts", json_true());
        return 0;
    case RUN_OPT_EXPOSE: {
        _cleanup_free_ char *copy = xstrdup(arg);
        char *proto = strchr(copy, '/');
        if (proto)
            *proto++ = '\0';
        int lo, hi;
        if (!port_range(copy, false, &lo, &hi) ||
            (proto && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
            return bad(ctx, "--expose", arg, "expected PORT[-END][/tcp|udp]");
        for (int p = lo; p <= hi; p++) {
            _cleanup_free_ char *key = xasprintf("%d/%s", p, proto ? proto : "tcp");
            json_object_set_new(obj_get(cfg, "ExposedPorts", false), key, json_object());
        }
        return 0;
    }
    }
    return CLI_EXIT_USAGE;
}

int run_flags_net_finish(struct cli_ctx *ctx, json_t *config)
{
    json_t *host = json_object_get(config, "HostConfig");
    json_t *nc = json_object_get(config, "NetworkingConfig");
    json_t *eps = json_object_get(nc, "EndpointsConfig");
    json_t *ep = json_object_get(eps, "");
    const char *net_mode = json_string_value(json_object_get(host, "NetworkMode"));
    if (net_mode && strncmp(net_mode, "container:", 10) == 0) {
        /* Docker's refusals: the other container's namespace and files are used as they are. */
        if (json_object_size(json_object_get(host, "PortBindings")) ||
            json_is_true(json_object_get(host, "PublishAllPorts")))
            return cli_failf("conflicting options: port publishing and the container type network mode");
        if (json_array_size(json_object_get(host, "Dns")))
            return cli_failf("conflicting options: dns and the network mode");
        if (json_array_size(json_object_get(host, "ExtraHosts")))
            return cli_failf("conflicting options: custom host-to-IP mapping and the network mode");
        if (json_string_value(json_object_get(json_object_get(config, "Config"), "Hostname")))
            return cli_failf("conflicting options: hostname and the network mode");
    }
    if (!ep) {
        json_object_del(config, "NetworkingConfig");
        return 0;
    }
    const char *mode = json_string_value(json_object_get(host, "NetworkMode"));
    if (!mode || strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0 ||
        strncmp(mode, "container:", 10) == 0 || strcmp(mode, "default") == 0 || strcmp(mode, "bridge") == 0)
        return cli_failf("%s is supported only for containers on user-defined networks",
                         json_object_get(ep, "IPAMConfig") ? "a user-specified IP address"
                                                           : "a network-scoped alias");
    json_object_set(eps, mode, ep);
    json_object_del(eps, "");
    (void)ctx;
    return 0;
}
