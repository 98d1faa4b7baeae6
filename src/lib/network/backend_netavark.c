/* network/backend_netavark.c — the netavark backend: Podman's network tool from Debian's netavark
 * package, with aardvark-dns for names.
 *
 * netavark takes one JSON document on stdin (the container, its networks with the addresses we
 * leased, its port mappings) and a network namespace path; `setup` creates the bridge, the veth
 * pair, the iptables rules (masquerade, forwarding, DNAT for published ports, 127.0.0.1 through
 * route_localnet) and the container's DNS entries in aardvark-dns; `teardown` removes them and the
 * bridge with its last member. Its state (aardvark's per-network name lists) lives under
 * <run_root>/netavark. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "network/network_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"

#define NETAVARK_BIN "/usr/lib/podman/netavark"
#define AARDVARK_BIN "/usr/lib/podman/aardvark-dns"
/* Host-wide, whatever the store: netavark checks for a network's iptables rules and then adds them,
 * so two setups at once on one network add them twice and teardown removes them once. Every
 * netavark run of every Servin store on the host goes one at a time. */
#define NETAVARK_LOCK_DIR SERVIN_DEFAULT_RUN_ROOT
#define NETAVARK_LOCK NETAVARK_LOCK_DIR "/netavark.lock"

static const char *netavark_bin(void)
{
    const char *e = getenv("SERVIN_NETAVARK");
    return e && *e ? e : NETAVARK_BIN;
}

static json_t *options_json(const struct servin_net_attachment *a)
{
    const struct servin_network *n = a->network;
    json_t *aliases = json_array();
    size_t i;
    json_t *v;
    json_array_foreach (a->aliases, i, v)
        json_array_append(aliases, v);
    json_t *ports = json_array();
    json_array_foreach (a->ports, i, v) {
        const char *host_ip = json_string_value(json_object_get(v, "host_ip"));
        json_array_append_new(
            ports, json_pack("{s:s,s:I,s:I,s:I,s:s}", "host_ip", host_ip ? host_ip : "", "container_port",
                             json_integer_value(json_object_get(v, "container_port")), "host_port",
                             json_integer_value(json_object_get(v, "host_port")), "range", (json_int_t)1,
                             "protocol", json_string_value(json_object_get(v, "protocol")) ?: "tcp"));
    }
    json_t *info = json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s}],s:b,s:b,s:b,s:{s:s}}", "name", n->name, "id",
                             n->id, "driver", "bridge", "network_interface", n->bridge, "subnets", "subnet",
                             n->subnet, "gateway", n->gateway, "ipv6_enabled", 0, "internal", n->internal,
                             "dns_enabled", n->dns, "ipam_options", "driver", "host-local");
    /* The MAC follows from the address (as Docker's 02:42:<ip> does; 0a:58 is the prefix CNI's
     * bridge uses): an address handed to a new container right after the old one left is reached
     * at once, not after the neighbours' stale ARP entries for the old MAC expire. */
    unsigned b[4] = {0};
    char mac[32] = "";
    if (sscanf(a->ip, "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]) == 4)
        snprintf(mac, sizeof(mac), "0a:58:%02x:%02x:%02x:%02x", b[0] & 0xff, b[1] & 0xff, b[2] & 0xff,
                 b[3] & 0xff);
    json_t *net = json_pack("{s:[s],s:o,s:s}", "static_ips", a->ip, "aliases", aliases, "interface_name",
                            a->interface_name);
    if (mac[0])
        json_object_set_new(net, "static_mac", json_string(mac));
    return json_pack("{s:s,s:s,s:o,s:{s:o},s:{s:o}}", "container_id", a->container_id, "container_name",
                     a->container_name, "port_mappings", ports, "networks", n->name, net, "network_info",
                     n->name, info);
}

/* Run netavark with input on stdin; its stdout into *out. */
static int run(struct servin_store *store, const char *verb, const char *netns, const char *input, char **out,
               struct servin_error *err)
{
    _cleanup_free_ char *config = xasprintf("%s/netavark", store->run_root);
    int ret = servin_mkdir_p(config, 0700, err);
    if (ret < 0)
        return ret;
    ret = servin_mkdir_p(NETAVARK_LOCK_DIR, 0711, err);
    if (ret < 0)
        return ret;
    _cleanup_close_ int lock = open(NETAVARK_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0)
        return servin_error_errno(err, errno, "open %s", NETAVARK_LOCK);
    while (flock(lock, LOCK_EX) < 0)
        if (errno != EINTR)
            return servin_error_errno(err, errno, "lock %s", NETAVARK_LOCK);
    int in[2], outp[2], errp[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return servin_error_errno(err, errno, "pipe");
    if (pipe2(outp, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return servin_error_errno(err, errno, "pipe");
    }
    if (pipe2(errp, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        close(outp[0]);
        close(outp[1]);
        return servin_error_errno(err, errno, "pipe");
    }
    const char *bin = netavark_bin();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        dup2(errp[1], 2);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        /* aardvark-dns, which netavark starts, must not hold our pipes open. */
        execl(bin, bin, "--config", config, "--rootless", "false", "--aardvark-binary", AARDVARK_BIN, verb,
              netns, (char *)NULL);
        dprintf(2, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    close(errp[1]);
    if (pid < 0) {
        close(in[1]);
        close(outp[0]);
        close(errp[0]);
        return servin_error_errno(err, errno, "fork for %s", bin);
    }
    /* The input is small: the pipe takes it whole before netavark reads. */
    size_t len = strlen(input), done = 0;
    /* Only around the write: an ignored SIGPIPE would pass through execve into containers. */
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    while (done < len) {
        ssize_t w = write(in[1], input + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(in[1]);
    signal(SIGPIPE, old_pipe);
    char *bufs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    struct pollfd fds[2] = {{.fd = outp[0], .events = POLLIN}, {.fd = errp[0], .events = POLLIN}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t r = read(fds[i].fd, chunk, sizeof(chunk));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (lens[i] < 65536) {
                bufs[i] = xrealloc(bufs[i], lens[i] + (size_t)r + 1);
                memcpy(bufs[i] + lens[i], chunk, (size_t)r);
                lens[i] += (size_t)r;
                bufs[i][lens[i]] = '\0';
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    _cleanup_free_ char *stdout_text = bufs[0];
    _cleanup_free_ char *stderr_text = bufs[1];
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (out)
            *out = steal_pointer(&stdout_text);
        return 0;
    }
    /* netavark reports {"error": "..."} on stdout; without it, its last line of stderr. */
    json_t *j = stdout_text ? json_loads(stdout_text, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(j, "error"));
    _cleanup_free_ char *line = NULL;
    if (!msg && stderr_text) {
        char *end = stderr_text + strlen(stderr_text);
        while (end > stderr_text && (end[-1] == '\n' || end[-1] == ' '))
            *--end = '\0';
        char *nl = strrchr(stderr_text, '\n');
        line = xstrdup(nl ? nl + 1 : stderr_text);
        msg = line;
    }
    ret = servin_error_set(err, EIO, "netavark %s: %s", verb, msg && *msg ? msg : "failed");
    json_decref(j);
    return ret;
}

static int netavark_setup(struct servin_store *store, const char *netns,
                          const struct servin_net_attachment *a, json_t **status, struct servin_error *err)
{
    json_t *opts = options_json(a);
    _cleanup_free_ char *input = json_dumps(opts, JSON_COMPACT);
    json_decref(opts);
    _cleanup_free_ char *out = NULL;
    int ret = run(store, "setup", netns, input, &out, err);
    if (ret < 0 || !status)
        return ret;
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    json_t *net = json_object_get(j, a->network->name);
    json_t *iface = json_object_get(json_object_get(net, "interfaces"), a->interface_name);
    const char *mac = json_string_value(json_object_get(iface, "mac_address"));
    json_t *dns = json_object_get(net, "dns_server_ips");
    *status = json_pack("{s:s,s:o}", "mac", mac ? mac : "", "dns",
                        json_is_array(dns) ? json_deep_copy(dns) : json_array());
    json_decref(j);
    return 0;
}

static int netavark_teardown(struct servin_store *store, const char *netns,
                             const struct servin_net_attachment *a, struct servin_error *err)
{
    json_t *opts = options_json(a);
    _cleanup_free_ char *input = json_dumps(opts, JSON_COMPACT);
    json_decref(opts);
    return run(store, "teardown", netns, input, NULL, err);
}

static const struct servin_net_backend netavark = {
    .name = "netavark",
    .setup = netavark_setup,
    .teardown = netavark_teardown,
};

const struct servin_net_backend *servin_net_backend_default(void)
{
    return &netavark;
}
