/* stats.h — a container's resource use (CPU, memory, PIDs, block and network I/O), read from its
 * cgroup and its network namespace, for `servin stats` and the Docker API's /containers/{id}/stats.
 *
 * One sample is a set of counters at one moment; rates (CPU %) need two samples of the same
 * container, as Docker computes them: the container's CPU time over the host's CPU time between the
 * two reads, times the number of online CPUs. */
#ifndef SERVIN_STATS_H
#define SERVIN_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "servin/cgroup.h"
#include "servin/container.h"
#include "servin/error.h"
#include "servin/store.h"

#define SERVIN_STATS_MAX_IFACES 8

struct servin_stats_iface {
    char name[32];
    uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
    uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

struct servin_stats_sample {
    bool running;    /* false: the container has no live cgroup; every counter is 0 */
    bool cgroup_v2;  /* which memory.stat key Docker's clients subtract */
    int64_t read_ns; /* unix ns of the read */
    uint64_t cpu_total_ns;
    uint64_t system_cpu_ns; /* the host's CPU time (all CPUs, /proc/stat) */
    unsigned online_cpus;
    uint64_t mem_usage, mem_limit, mem_inactive_file; /* limit: the host's memory when unlimited */
    uint64_t pids_current, pids_limit;                /* pids_limit 0 = none */
    uint64_t blk_read, blk_write;
    uint64_t net_rx, net_tx; /* sums over the interfaces, loopback left out as Docker does */
    size_t n_ifaces;
    struct servin_stats_iface ifaces[SERVIN_STATS_MAX_IFACES];
};

/* The cgroup part of a sample: CPU, memory, PIDs and block I/O (blkio on v1, io.stat on v2).
 * Missing optional files (blkio, pids) count as zero. */
int servin_stats_read_cgroup(const struct servin_cgroup *cg, struct servin_stats_sample *s,
                             struct servin_error *err);
/* The host's CPU time (sum of the "cpu" line of /proc/stat, in ns) and the number of online CPUs. */
int servin_stats_read_system(uint64_t *system_cpu_ns, unsigned *online_cpus, struct servin_error *err);
/* The network part from /proc/<pid>/net/dev of a process inside the container. */
int servin_stats_read_net(pid_t pid, struct servin_stats_sample *s, struct servin_error *err);
/* A whole sample of a container; a container that is not running gives a zero sample with
 * running false (not an error). */
int servin_container_stats(struct servin_store *store, const struct servin_container *c,
                           struct servin_stats_sample *s, struct servin_error *err);

/* Parsers, public for their unit tests. */
int servin_stats_parse_net_dev(const char *text, struct servin_stats_sample *s);
/* v1 blkio.*io_service_bytes* ("8:0 Read 4096" lines) and v2 io.stat ("8:0 rbytes=1 wbytes=2 ..."). */
void servin_stats_parse_blkio_v1(const char *text, uint64_t *read, uint64_t *write);
void servin_stats_parse_io_stat(const char *text, uint64_t *read, uint64_t *write);

/* Derived values, as Docker's client computes them. */
double servin_stats_cpu_percent(const struct servin_stats_sample *prev,
                                const struct servin_stats_sample *cur);
uint64_t servin_stats_mem_used(const struct servin_stats_sample *s); /* usage without inactive file cache */
double servin_stats_mem_percent(const struct servin_stats_sample *s);

/* Docker's human units: binary with 4 significant digits ("1.5MiB") for memory, decimal with 3
 * ("1.05kB") for I/O. */
char *servin_stats_bytes_binary(double bytes);
char *servin_stats_bytes_decimal(double bytes);
/* The row `docker stats --format` templates see: Container, Name, ID, CPUPerc, MemUsage, MemPerc,
 * NetIO, BlockIO, PIDs. `container` is what the user named it by (NULL: the ID shown). */
json_t *servin_stats_row(const struct servin_container *c, const char *container, bool no_trunc,
                         const struct servin_stats_sample *prev, const struct servin_stats_sample *cur);
/* The Docker Engine API's stats object (read, preread, cpu_stats, precpu_stats, memory_stats,
 * pids_stats, blkio_stats, networks, name, id); prev may be NULL. */
json_t *servin_stats_docker_json(const struct servin_container *c, const struct servin_stats_sample *prev,
                                 const struct servin_stats_sample *cur);

#endif
