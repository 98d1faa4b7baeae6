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
    return servin_write_file_atomic(path, text, strlen(text), 0644, err);
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

/* The host's resolv.conf without loopback nameservers, which mean nothing in a network namespace of
 * its own (with only a local stub resolver, what it forwards to); Docker's public resolvers when
 * none is left. */
static char *container_resolv(bool host_network)
{
    _cleanup_free_ char *text = NULL, *upstream = NULL;
    struct servin_error err = {0};
    if (servin_read_file(HOST_RESOLV, &text, NULL, &err) < 0)
        text = xstrdup("");
    if (host_network)
        return steal_pointer(&text);
    char *out = ctr_resolv_filter(text);
    if (!out && servin_read_file(RESOLVED_UPSTREAM, &upstream, NULL, &err) == 0)
        out = ctr_resolv_filter(upstream);
    return out ? out : xstrdup("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

int ctr_write_etc_files(const char *dir, const char *hostname, bool host_network, struct servin_error *err)
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
                          "127.0.0.1\t%s\n",
                          hostname);
    ret = write_text(dir, "hosts", hosts, err);
    if (ret < 0)
        return ret;

    _cleanup_free_ char *resolv = container_resolv(host_network);
    return write_text(dir, "resolv.conf", resolv, err);
}
