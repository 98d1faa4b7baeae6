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

/* [ip:][hostPort:]containerPort[/proto] */
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
    if (!valid_port(cport, false) || !valid_port(hport, true))
        return bad(ctx, "--publish", arg,
                   "expected [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp] (no port ranges)");
    if (*hip && inet_pton(AF_INET, hip, &a) != 1)
        return bad(ctx, "--publish", arg, "the host IP must be an IPv4 address");
    _cleanup_free_ char *key = xasprintf("%s/%s", cport, proto ? proto : "tcp");
    json_array_append_new(obj_get(obj_get(host, "PortBindings", false), key, true),
                          json_pack("{s:s,s:s}", "HostIp", hip, "HostPort", hport));
    json_object_set_new(obj_get(cfg, "ExposedPorts", false), key, json_object());
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
        if (!valid_port(copy, false) || (proto && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
            return bad(ctx, "--expose", arg, "expected PORT[/tcp|udp]");
        _cleanup_free_ char *key = xasprintf("%s/%s", copy, proto ? proto : "tcp");
        json_object_set_new(obj_get(cfg, "ExposedPorts", false), key, json_object());
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
