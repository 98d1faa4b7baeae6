/* container/stats.c — read a container's counters: its cgroup (v1 or v2), the host's CPU time and
 * the network devices of its network namespace. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/runtime.h"
#include "servin/stats.h"
#include "servin/timefmt.h"

/* The text of dir/file, or NULL when it cannot be read (an optional controller file). */
static char *read_optional(const char *dir, const char *file)
{
    if (!dir)
        return NULL;
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    char *text = NULL;
    struct servin_error ignored = {0};
    if (servin_read_file(path, &text, NULL, &ignored) < 0)
        return NULL;
    return text;
}

void servin_stats_parse_blkio_v1(const char *text, uint64_t *read, uint64_t *write)
{
    *read = *write = 0;
    for (const char *line = text; line && *line;) {
        char op[16];
        unsigned long long v;
        unsigned maj, min;
        /* "MAJ:MIN Op value"; the closing "Total N" line has no device and is skipped. */
        if (sscanf(line, "%u:%u %15s %llu", &maj, &min, op, &v) == 4) {
            if (strcmp(op, "Read") == 0)
                *read += v;
            else if (strcmp(op, "Write") == 0)
                *write += v;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
}

void servin_stats_parse_io_stat(const char *text, uint64_t *read, uint64_t *write)
{
    *read = *write = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        _cleanup_free_ char *copy = xstrndup(line, len);
        char *save = NULL;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            if (strncmp(w, "rbytes=", 7) == 0)
                *read += strtoull(w + 7, NULL, 10);
            else if (strncmp(w, "wbytes=", 7) == 0)
                *write += strtoull(w + 7, NULL, 10);
        }
        line = end ? end + 1 : NULL;
    }
}

int servin_stats_parse_net_dev(const char *text, struct servin_stats_sample *s)
{
    s->n_ifaces = 0;
    s->net_rx = s->net_tx = 0;
    /* Two header lines, then "  eth0: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed
     * multicast tx_bytes tx_packets tx_errs tx_drop ...". */
    for (const char *line = text; line && *line;) {
        const char *colon = strchr(line, ':'), *nl = strchr(line, '\n');
        if (colon && (!nl || colon < nl)) {
            const char *name = line;
            while (*name == ' ')
                name++;
            size_t name_len = (size_t)(colon - name);
            unsigned long long v[16] = {0};
            int n = sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                           &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]);
            if (n < 12)
                return -EINVAL;
            bool loopback = name_len == 2 && strncmp(name, "lo", 2) == 0;
            if (!loopback && s->n_ifaces < SERVIN_STATS_MAX_IFACES) {
                struct servin_stats_iface *i = &s->ifaces[s->n_ifaces++];
                snprintf(i->name, sizeof(i->name), "%.*s", (int)name_len, name);
                i->rx_bytes = v[0];
                i->rx_packets = v[1];
                i->rx_errors = v[2];
                i->rx_dropped = v[3];
                i->tx_bytes = v[8];
                i->tx_packets = v[9];
                i->tx_errors = v[10];
                i->tx_dropped = v[11];
                s->net_rx += v[0];
                s->net_tx += v[8];
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

int servin_stats_read_system(uint64_t *system_cpu_ns, unsigned *online_cpus, struct servin_error *err)
{
    _cleanup_free_ char *text = NULL;
    int ret = servin_read_file("/proc/stat", &text, NULL, err);
    if (ret < 0)
        return ret;
    unsigned long long v[8] = {0};
    if (sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6], &v[7]) < 4)
        return servin_error_set(err, EINVAL, "read /proc/stat: unexpected format");
    uint64_t ticks = 0;
    for (int i = 0; i < 8; i++)
        ticks += v[i];
    long hz = sysconf(_SC_CLK_TCK);
    *system_cpu_ns = ticks * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    *online_cpus = n > 0 ? (unsigned)n : 1;
    return 0;
}

int servin_stats_read_cgroup(const struct servin_cgroup *cg, struct servin_stats_sample *s,
                             struct servin_error *err)
{
    struct servin_cgroup_stats cs;
    int ret = servin_cgroup_stats(cg, &cs, err);
    if (ret < 0)
        return ret;
    s->cgroup_v2 = servin_cgroup_mode(cg) == SERVIN_CGROUP_V2;
    s->cpu_total_ns = cs.cpu_usage_ns;
    s->mem_usage = cs.memory_usage;
    s->mem_inactive_file = cs.memory_inactive_file;
    s->mem_limit = cs.memory_limit;
    if (s->mem_limit == SERVIN_CGROUP_UNLIMITED) {
        /* Docker shows the host's memory as the limit of an unlimited container. */
        struct sysinfo si;
        s->mem_limit = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
    }
    s->pids_current = cs.pids_current;
    s->pids_limit = cs.pids_limit == SERVIN_CGROUP_UNLIMITED ? 0 : cs.pids_limit;

    s->blk_read = s->blk_write = 0;
    if (s->cgroup_v2) {
        _cleanup_free_ char *io = read_optional(servin_cgroup_dir(cg, "io"), "io.stat");
        if (io)
            servin_stats_parse_io_stat(io, &s->blk_read, &s->blk_write);
    } else {
        /* The throttle file counts every I/O, also where the proportional (CFQ/BFQ) one stays empty. */
        const char *dir = servin_cgroup_dir(cg, "blkio");
        _cleanup_free_ char *blk = read_optional(dir, "blkio.throttle.io_service_bytes_recursive");
        if (blk)
            servin_stats_parse_blkio_v1(blk, &s->blk_read, &s->blk_write);
        if (s->blk_read == 0 && s->blk_write == 0) {
            _cleanup_free_ char *prop = read_optional(dir, "blkio.io_service_bytes_recursive");
            if (prop)
                servin_stats_parse_blkio_v1(prop, &s->blk_read, &s->blk_write);
        }
    }
    return 0;
}

int servin_stats_read_net(pid_t pid, struct servin_stats_sample *s, struct servin_error *err)
{
    _cleanup_free_ char *path = xasprintf("/proc/%d/net/dev", (int)pid);
    _cleanup_free_ char *text = NULL;
    int ret = servin_read_file(path, &text, NULL, err);
    if (ret < 0)
        return ret;
    if (servin_stats_parse_net_dev(text, s) < 0)
        return servin_error_set(err, EINVAL, "read %s: unexpected format", path);
    return 0;
}

int servin_container_stats(struct servin_store *store, const struct servin_container *c,
                           struct servin_stats_sample *s, struct servin_error *err)
{
    memset(s, 0, sizeof(*s));
    s->read_ns = servin_time_now_ns();
    int ret = servin_stats_read_system(&s->system_cpu_ns, &s->online_cpus, err);
    if (ret < 0)
        return ret;
    bool active = c->state == SERVIN_CONTAINER_RUNNING || c->state == SERVIN_CONTAINER_PAUSED;
    if (!active || c->pid <= 0)
        return 0;
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    struct servin_cgroup *cg = NULL;
    struct servin_error e = {0};
    ret = servin_oci_cgroup(oci_root, c->id, &cg, &e);
    if (ret == -ENOENT)
        return 0; /* it stopped since the record was read */
    if (ret < 0) {
        *err = e;
        return servin_error_wrap(err, "stats of container %.12s", c->id);
    }
    ret = servin_stats_read_cgroup(cg, s, err);
    servin_cgroup_free(cg);
    if (ret < 0)
        return servin_error_wrap(err, "stats of container %.12s", c->id);
    /* The init may exit between the two reads: then the network counters are simply gone. */
    if (servin_stats_read_net(c->pid, s, &e) < 0)
        s->n_ifaces = 0;
    s->running = true;
    return 0;
}
