/* container/spec_files.c — the container's /etc/hostname, /etc/hosts and /etc/resolv.conf,
 * written into its bundle dir and bind-mounted by the spec. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/spec_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

#define HOST_RESOLV "/etc/resolv.conf"
/* systemd-resolved's real upstream servers, when the host's resolv.conf points at its stub. */
#define RESOLVED_UPSTREAM "/run/systemd/resolve/resolv.conf"

static int write_text(const char *dir, const char *name, const char *text, struct servin_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
    return servin_write_file_volatile(path, text, strlen(text), 0644, err);
}

static bool loopback_address(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 || strcmp(addr, "0:0:0:0:0:0:0:1") == 0;
}

char *ctr_resolv_filter(const char *text)
{
    _cleanup_free_ char *copy = xstrdup(text);
    size_t cap = strlen(text) + 2, len = 0;
    _cleanup_free_ char *out = xmalloc(cap);
    out[0] = '\0';
    int kept = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char addr[128];
        if (sscanf(line, " nameserver %127s", addr) == 1) {
            if (loopback_address(addr))
                continue;
            kept++;
        }
        len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
    }
    return kept > 0 ? steal_pointer(&out) : NULL;
}

/* Lines of text whose first word is not `keyword`. */
static void drop_lines(char *text, const char *keyword)
{
    size_t klen = strlen(keyword);
    char *out = text;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        bool drop = strncmp(p, keyword, klen) == 0 && (p[klen] == ' ' || p[klen] == '\t');
        if (!drop) {
            memmove(out, line, len);
            out += len;
        }
        line += len;
    }
    *out = '\0';
}

static void append_list(char **text, const char *keyword, json_t *list, bool one_line)
{
    size_t i;
    json_t *v;
    _cleanup_free_ char *line = NULL;
    json_array_foreach (list, i, v) {
        if (!json_is_string(v))
            continue;
        char *next;
        if (!one_line)
            next = xasprintf("%s%s %s\n", *text, keyword, json_string_value(v));
        else {
            char *joined = line ? xasprintf("%s %s", line, json_string_value(v)) : xstrdup(json_string_value(v));
            free(line);
            line = joined;
            continue;
        }
        free(*text);
        *text = next;
    }
    if (line) {
        char *next = xasprintf("%s%s %s\n", *text, keyword, line);
        free(*text);
        *text = next;
    }
}

/* The host's resolv.conf without loopback nameservers, which mean nothing in a network namespace of
 * its own (with only a local stub resolver, what it forwards to); Docker's public resolvers when
 * none is left. --dns (or the network's DNS server) replaces the nameservers, --dns-search the
 * search list, --dns-option the options. */
static char *container_resolv(bool host_network, json_t *hc, json_t *network_dns)
{
    _cleanup_free_ char *text = NULL, *upstream = NULL;
    struct servin_error err = {0};
    if (servin_read_file(HOST_RESOLV, &text, NULL, &err) < 0)
        text = xstrdup("");
    char *out = NULL;
    if (host_network)
        out = steal_pointer(&text);
    else {
        out = ctr_resolv_filter(text);
        if (!out && servin_read_file(RESOLVED_UPSTREAM, &upstream, NULL, &err) == 0)
            out = ctr_resolv_filter(upstream);
    }
    json_t *dns = json_object_get(hc, "Dns");
    if (json_array_size(dns) == 0)
        dns = json_array_size(network_dns) > 0 ? network_dns : NULL;
    if (!out && !dns)
        return xstrdup("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    if (!out)
        out = xstrdup("");
    if (dns) {
        drop_lines(out, "nameserver");
        append_list(&out, "nameserver", dns, false);
    }
    json_t *search = json_object_get(hc, "DnsSearch");
    if (json_array_size(search) > 0) {
        drop_lines(out, "search");
        drop_lines(out, "domain");
        append_list(&out, "search", search, true);
    }
    json_t *options = json_object_get(hc, "DnsOptions");
    if (json_array_size(options) > 0) {
        drop_lines(out, "options");
        append_list(&out, "options", options, true);
    }
    return out;
}

/* In place rather than renamed over: a running container's bind mount keeps the old inode. */
static int write_in_place(const char *dir, const char *name, const char *text, struct servin_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
    _cleanup_fclose_ FILE *f = fopen(path, "we");
    if (!f || fputs(text, f) < 0 || fflush(f) != 0)
        return servin_error_errno(err, errno, "write %s", path);
    return 0;
}

int ctr_write_etc_files(const char *dir, const char *hostname, bool host_network, json_t *hc, const char *ip,
                        json_t *network_dns, struct servin_error *err)
{
    _cleanup_free_ char *name_line = xasprintf("%s\n", hostname);
    int ret = write_text(dir, "hostname", name_line, err);
    if (ret < 0)
        return ret;

    _cleanup_free_ char *hosts = NULL;
    struct servin_error ignored = {0};
    /* On the host's network the host's names are the right ones. */
    if (!host_network || servin_read_file("/etc/hosts", &hosts, NULL, &ignored) < 0)
        hosts = xasprintf("127.0.0.1\tlocalhost\n"
                          "::1\tlocalhost ip6-localhost ip6-loopback\n"
                          "fe00::0\tip6-localnet\n"
                          "ff00::0\tip6-mcastprefix\n"
                          "ff02::1\tip6-allnodes\n"
                          "ff02::2\tip6-allrouters\n"
                          "%s\t%s\n",
                          ip ? ip : "127.0.0.1", hostname);
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(hc, "ExtraHosts"), i, v) {
        const char *entry = json_string_value(v);
        const char *colon = entry ? strchr(entry, ':') : NULL;
        if (!colon)
            continue;
        char *next = xasprintf("%s%s\t%.*s\n", hosts, colon + 1, (int)(colon - entry), entry);
        free(hosts);
        hosts = next;
    }
    ret = write_in_place(dir, "hosts", hosts, err);
    if (ret < 0)
        return ret;

    _cleanup_free_ char *resolv = container_resolv(host_network, hc, network_dns);
    return write_in_place(dir, "resolv.conf", resolv, err);
}
