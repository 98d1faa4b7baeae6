/* pod/files.c — the pod's /etc/hostname, /etc/hosts and /etc/resolv.conf, which its containers
 * bind-mount. A pod on the host's network sees the host's hosts and resolv.conf (copied, so that
 * the host's later edits do not reach into a running pod half-way). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pod/pod_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/jsonstr.h"

#define HOSTS_LOCAL                                                                                          \
    "127.0.0.1\tlocalhost\n"                                                                                 \
    "::1\tlocalhost ip6-localhost ip6-loopback\n"                                                            \
    "fe00::0\tip6-localnet\n"                                                                                \
    "ff00::0\tip6-mcastprefix\n"                                                                             \
    "ff02::1\tip6-allnodes\n"                                                                                \
    "ff02::2\tip6-allrouters\n"

static bool one_line_word(const char *s)
{
    return s && *s && !strpbrk(s, " \t\r\n");
}

int pod_dns_check(json_t *dns, struct servin_error *err)
{
    if (!dns)
        return 0;
    const char *keys[] = {"servers", "searches", "options"};
    for (size_t k = 0; k < 3; k++) {
        json_t *list = json_object_get(dns, keys[k]);
        size_t i;
        json_t *v;
        if (list && !json_is_array(list))
            return servin_error_set(err, EINVAL, "dns_config.%s must be a list", keys[k]);
        json_array_foreach (list, i, v) {
            const char *s = json_string_value(v);
            if (!one_line_word(s))
                return servin_error_set(err, EINVAL, "dns_config.%s: \"%s\" is not a single word", keys[k],
                                        s ? s : "");
            if (k == 0) {
                unsigned char buf[16];
                if (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1)
                    return servin_error_set(err, EINVAL, "dns_config.servers: \"%s\" is not an IP address",
                                            s);
            }
        }
    }
    return 0;
}

static int copy_host_file(const char *from, const char *to, const char *fallback, struct servin_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    struct servin_error ignored = {0};
    if (servin_read_file(from, &text, &len, &ignored) < 0)
        return servin_write_file_atomic(to, fallback, strlen(fallback), 0644, err);
    return servin_write_file_atomic(to, text, len, 0644, err);
}

int pod_files_write(struct servin_store *store, const struct servin_pod *p, struct servin_error *err)
{
    _cleanup_free_ char *dir = pod_dir(store, p->id);
    int ret = servin_mkdir_p(dir, 0755, err);
    if (ret < 0)
        return ret;
    bool host_net = p->network_mode == SERVIN_NS_NODE;
    _cleanup_free_ char *hostname_path = xasprintf("%s/hostname", dir);
    _cleanup_free_ char *hosts_path = xasprintf("%s/hosts", dir);
    _cleanup_free_ char *resolv_path = xasprintf("%s/resolv.conf", dir);

    char host_name[256] = "";
    if (host_net)
        gethostname(host_name, sizeof(host_name) - 1);
    _cleanup_free_ char *hostname = xasprintf("%s\n", host_net ? host_name : p->hostname);
    ret = servin_write_file_atomic(hostname_path, hostname, strlen(hostname), 0644, err);
    if (ret < 0)
        return ret;

    if (host_net)
        ret = copy_host_file("/etc/hosts", hosts_path, HOSTS_LOCAL, err);
    else {
        _cleanup_free_ char *hosts =
            p->ip && *p->ip ? xasprintf(HOSTS_LOCAL "%s\t%s\n", p->ip, p->hostname) : xstrdup(HOSTS_LOCAL);
        ret = servin_write_file_atomic(hosts_path, hosts, strlen(hosts), 0644, err);
    }
    if (ret < 0)
        return ret;

    json_t *servers = json_object_get(p->dns, "servers");
    json_t *searches = json_object_get(p->dns, "searches");
    json_t *options = json_object_get(p->dns, "options");
    if (json_array_size(servers) + json_array_size(searches) + json_array_size(options) == 0)
        return copy_host_file("/etc/resolv.conf", resolv_path, "", err);
    _cleanup_free_ char *text = xstrdup("");
    size_t i;
    json_t *v;
    json_array_foreach (servers, i, v) {
        char *next = xasprintf("%snameserver %s\n", text, json_string_value(v));
        free(text);
        text = next;
    }
    if (json_array_size(searches) > 0) {
        _cleanup_free_ char *words = servin_json_join_words(searches);
        char *next = xasprintf("%ssearch %s\n", text, words);
        free(text);
        text = next;
    }
    if (json_array_size(options) > 0) {
        _cleanup_free_ char *words = servin_json_join_words(options);
        char *next = xasprintf("%soptions %s\n", text, words);
        free(text);
        text = next;
    }
    return servin_write_file_atomic(resolv_path, text, strlen(text), 0644, err);
}
