/* compose/model_keys.c — keys valid in the Compose Specification that servin does not implement
 * (they warn once), and the table walk that reads a mapping. */
#include <string.h>

#include "compose/model_keys.h"
#include "servin/cleanup.h"

const char *const compose_unsupported_service_keys[] = {"annotations",
                                                        "attach",
                                                        "blkio_config",
                                                        "cgroup",
                                                        "cgroup_parent",
                                                        "cpu_count",
                                                        "cpu_percent",
                                                        "cpu_period",
                                                        "cpu_quota",
                                                        "cpu_rt_period",
                                                        "cpu_rt_runtime",
                                                        "cpu_shares",
                                                        "cpuset",
                                                        "credential_spec",
                                                        "develop",
                                                        "device_cgroup_rules",
                                                        "devices",
                                                        "external_links",
                                                        "gpus",
                                                        "group_add",
                                                        "isolation",
                                                        "label_file",
                                                        "links",
                                                        "mac_address",
                                                        "memswap_limit",
                                                        "mem_swappiness",
                                                        "oom_kill_disable",
                                                        "oom_score_adj",
                                                        "runtime",
                                                        "storage_opt",
                                                        "userns_mode",
                                                        "uts",
                                                        "volumes_from",
                                                        "post_start",
                                                        "pre_stop",
                                                        "models",
                                                        "provider",
                                                        "use_api_socket",
                                                        "stop_grace_period_ns",
                                                        NULL};
const char *const compose_unsupported_build_keys[] = {"cache_from",
                                                      "cache_to",
                                                      "no_cache",
                                                      "pull",
                                                      "shm_size",
                                                      "extra_hosts",
                                                      "platforms",
                                                      "secrets",
                                                      "ssh",
                                                      "isolation",
                                                      "privileged",
                                                      "dockerfile_inline",
                                                      "additional_contexts",
                                                      "ulimits",
                                                      "entitlements",
                                                      "provenance",
                                                      "sbom",
                                                      "platform",
                                                      NULL};
const char *const compose_unsupported_deploy_keys[] = {
    "mode",           "placement", "update_config", "rollback_config",
    "restart_policy", "labels",    "endpoint_mode", NULL};
const char *const compose_unsupported_service_network_keys[] = {
    "link_local_ips", "mac_address", "driver_opts", "gw_priority", "interface_name", NULL};

bool compose_key_listed(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

int compose_apply_keys(struct cctx *c, const struct cnode *n, const char *path,
                       const struct compose_key *keys, const char *const *unsupported,
                       struct servin_compose_service *s)
{
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->keys[i]->s;
        const struct cnode *v = n->items[i];
        _cleanup_free_ char *sub = xasprintf("%s.%s", path, k);
        const struct compose_key *key = keys;
        while (key->name && strcmp(key->name, k) != 0)
            key++;
        int r = 0;
        if (key->name)
            r = key->read(c, v, sub, s);
        else if (unsupported && compose_key_listed(unsupported, k))
            cwarn(c, "%s:%d: %s is not supported by servin and is ignored", v->file, v->line, sub);
        else if (strncmp(k, "x-", 2) != 0)
            r = cfail(c, n->keys[i], "%s: unknown key", sub);
        if (r < 0)
            return r;
    }
    return 0;
}
