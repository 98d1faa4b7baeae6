/* container/stats_format.c — what a stats sample means: CPU and memory percentages, Docker's human
 * units, the row `stats --format` sees and the Docker API's stats object. */
#include <stdio.h>
#include <string.h>

#include "servin/cleanup.h"
#include "servin/stats.h"
#include "servin/timefmt.h"

double servin_stats_cpu_percent(const struct servin_stats_sample *prev, const struct servin_stats_sample *cur)
{
    if (!prev || !prev->running || !cur->running)
        return 0.0;
    /* Counters only grow; a restarted container's smaller count is not a negative rate. */
    if (cur->cpu_total_ns <= prev->cpu_total_ns || cur->system_cpu_ns <= prev->system_cpu_ns)
        return 0.0;
    double cpu = (double)(cur->cpu_total_ns - prev->cpu_total_ns);
    double sys = (double)(cur->system_cpu_ns - prev->system_cpu_ns);
    return cpu / sys * (double)(cur->online_cpus ? cur->online_cpus : 1) * 100.0;
}

uint64_t servin_stats_mem_used(const struct servin_stats_sample *s)
{
    return s->mem_inactive_file < s->mem_usage ? s->mem_usage - s->mem_inactive_file : s->mem_usage;
}

double servin_stats_mem_percent(const struct servin_stats_sample *s)
{
    return s->mem_limit ? (double)servin_stats_mem_used(s) / (double)s->mem_limit * 100.0 : 0.0;
}

static char *human(double size, double base, const char *const *units, size_t n_units, int precision)
{
    size_t i = 0;
    while (size >= base && i + 1 < n_units) {
        size /= base;
        i++;
    }
    return xasprintf("%.*g%s", precision, size, units[i]);
}

char *servin_stats_bytes_binary(double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    return human(bytes, 1024.0, units, sizeof(units) / sizeof(units[0]), 4);
}

char *servin_stats_bytes_decimal(double bytes)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    return human(bytes, 1000.0, units, sizeof(units) / sizeof(units[0]), 3);
}

static char *pair(char *(*fmt)(double), uint64_t a, uint64_t b)
{
    _cleanup_free_ char *x = fmt((double)a);
    _cleanup_free_ char *y = fmt((double)b);
    return xasprintf("%s / %s", x, y);
}

json_t *servin_stats_row(const struct servin_container *c, const char *container, bool no_trunc,
                         const struct servin_stats_sample *prev, const struct servin_stats_sample *cur)
{
    _cleanup_free_ char *id = no_trunc ? xstrdup(c->id) : xstrndup(c->id, 12);
    _cleanup_free_ char *cpu = xasprintf("%.2f%%", servin_stats_cpu_percent(prev, cur));
    _cleanup_free_ char *mem = pair(servin_stats_bytes_binary, servin_stats_mem_used(cur), cur->mem_limit);
    _cleanup_free_ char *mem_perc = xasprintf("%.2f%%", servin_stats_mem_percent(cur));
    _cleanup_free_ char *net = pair(servin_stats_bytes_decimal, cur->net_rx, cur->net_tx);
    _cleanup_free_ char *blk = pair(servin_stats_bytes_decimal, cur->blk_read, cur->blk_write);
    _cleanup_free_ char *pids = xasprintf("%llu", (unsigned long long)cur->pids_current);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Container", container ? container : id, "Name",
                     c->name, "ID", id, "CPUPerc", cpu, "MemUsage", mem, "MemPerc", mem_perc, "NetIO", net,
                     "BlockIO", blk, "PIDs", pids);
}

static json_t *time_json(int64_t ns)
{
    if (!ns)
        return json_string("0001-01-01T00:00:00Z");
    char buf[SERVIN_RFC3339_MAX];
    servin_time_format_rfc3339(ns, buf);
    return json_string(buf);
}

static json_t *cpu_json(const struct servin_stats_sample *s)
{
    if (!s)
        return json_pack("{s:{s:i},s:i,s:i}", "cpu_usage", "total_usage", 0, "system_cpu_usage", 0,
                         "online_cpus", 0);
    return json_pack("{s:{s:I},s:I,s:i}", "cpu_usage", "total_usage", (json_int_t)s->cpu_total_ns,
                     "system_cpu_usage", (json_int_t)s->system_cpu_ns, "online_cpus", (int)s->online_cpus);
}

json_t *servin_stats_docker_json(const struct servin_container *c, const struct servin_stats_sample *prev,
                                 const struct servin_stats_sample *cur)
{
    _cleanup_free_ char *name = xasprintf("/%s", c->name);
    json_t *mem_stats = json_object();
    /* Docker's clients subtract total_inactive_file on v1 and inactive_file on v2. */
    json_object_set_new(mem_stats, cur->cgroup_v2 ? "inactive_file" : "total_inactive_file",
                        json_integer((json_int_t)cur->mem_inactive_file));
    json_t *blk = json_array();
    if (cur->running) {
        json_array_append_new(blk, json_pack("{s:i,s:i,s:s,s:I}", "major", 0, "minor", 0, "op", "read",
                                             "value", (json_int_t)cur->blk_read));
        json_array_append_new(blk, json_pack("{s:i,s:i,s:s,s:I}", "major", 0, "minor", 0, "op", "write",
                                             "value", (json_int_t)cur->blk_write));
    }
    json_t *nets = json_object();
    for (size_t i = 0; i < cur->n_ifaces; i++) {
        const struct servin_stats_iface *f = &cur->ifaces[i];
        json_object_set_new(nets, f->name,
                            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rx_bytes",
                                      (json_int_t)f->rx_bytes, "rx_packets", (json_int_t)f->rx_packets,
                                      "rx_errors", (json_int_t)f->rx_errors, "rx_dropped",
                                      (json_int_t)f->rx_dropped, "tx_bytes", (json_int_t)f->tx_bytes,
                                      "tx_packets", (json_int_t)f->tx_packets, "tx_errors",
                                      (json_int_t)f->tx_errors, "tx_dropped", (json_int_t)f->tx_dropped));
    }
    json_t *pids = json_pack("{s:I}", "current", (json_int_t)cur->pids_current);
    if (cur->pids_limit)
        json_object_set_new(pids, "limit", json_integer((json_int_t)cur->pids_limit));
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:{s:I,s:I,s:o},s:o,s:{s:o},s:o}", "name", name, "id", c->id,
                     "read", time_json(cur->read_ns), "preread", time_json(prev ? prev->read_ns : 0),
                     "cpu_stats", cpu_json(cur), "precpu_stats", cpu_json(prev), "memory_stats", "usage",
                     (json_int_t)cur->mem_usage, "limit", (json_int_t)cur->mem_limit, "stats", mem_stats,
                     "pids_stats", pids, "blkio_stats", "io_service_bytes_recursive", blk, "networks", nets);
}
