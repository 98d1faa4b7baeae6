/* Unit tests for container stats: the parsers, Docker's units and rates, and the cgroup reads on v1
 * and v2 trees laid out as plain files in a temp dir. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cgroup.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/stats.h"

static void put(const char *dir, const char *file, const char *text)
{
    struct servin_error err = {0};
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    assert_int_equal(servin_write_file_atomic(path, text, strlen(text), 0644, &err), 0);
}

static void test_net_dev_skips_loopback_and_sums(void **state)
{
    const char *text =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
        "drop fifo colls carrier compressed\n"
        "    lo:  999999      10    0    0    0     0          0         0   999999      10    0    "
        "0    0     0       0          0\n"
        "  eth0:    1500      12    1    2    0     0          0         0      700       7    3    "
        "4    0     0       0          0\n"
        "  eth1:     500       1    0    0    0     0          0         0      300       2    0    "
        "0    0     0       0          0\n";
    struct servin_stats_sample s = {0};
    assert_int_equal(servin_stats_parse_net_dev(text, &s), 0);
    assert_int_equal(s.n_ifaces, 2);
    assert_string_equal(s.ifaces[0].name, "eth0");
    assert_int_equal(s.ifaces[0].rx_bytes, 1500);
    assert_int_equal(s.ifaces[0].rx_packets, 12);
    assert_int_equal(s.ifaces[0].rx_errors, 1);
    assert_int_equal(s.ifaces[0].rx_dropped, 2);
    assert_int_equal(s.ifaces[0].tx_bytes, 700);
    assert_int_equal(s.ifaces[0].tx_dropped, 4);
    assert_int_equal(s.net_rx, 2000);
    assert_int_equal(s.net_tx, 1000);
    assert_int_equal(servin_stats_parse_net_dev("x\ny\n  eth0: 1 2 3\n", &s), -EINVAL);
}

static void test_blkio_parsers(void **state)
{
    uint64_t r, w;
    servin_stats_parse_blkio_v1("8:0 Read 4096\n8:0 Write 512\n8:0 Sync 1\n8:0 Total 4608\n"
                                "8:16 Read 100\n8:16 Write 0\nTotal 4708\n",
                                &r, &w);
    assert_int_equal(r, 4196);
    assert_int_equal(w, 512);
    servin_stats_parse_blkio_v1("", &r, &w);
    assert_int_equal(r + w, 0);
    servin_stats_parse_io_stat("8:0 rbytes=1000 wbytes=20 rios=3 wios=1 dbytes=0 dios=0\n"
                               "259:0 rbytes=5 wbytes=7 rios=1 wios=1 dbytes=0 dios=0\n",
                               &r, &w);
    assert_int_equal(r, 1005);
    assert_int_equal(w, 27);
}

static void test_units_like_docker(void **state)
{
    struct {
        double v;
        const char *bin, *dec;
    } cases[] = {{0, "0B", "0B"},
                 {999, "999B", "999B"},
                 {1000, "1000B", "1kB"},
                 {1536, "1.5KiB", "1.54kB"},
                 {1048576, "1MiB", "1.05MB"},
                 {67108864, "64MiB", "67.1MB"},
                 {25271558144.0, "23.54GiB", "25.3GB"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        _cleanup_free_ char *b = servin_stats_bytes_binary(cases[i].v);
        _cleanup_free_ char *d = servin_stats_bytes_decimal(cases[i].v);
        assert_string_equal(b, cases[i].bin);
        assert_string_equal(d, cases[i].dec);
    }
}

static void test_rates(void **state)
{
    struct servin_stats_sample a = {.running = true,
                                    .cpu_total_ns = 1000000000,
                                    .system_cpu_ns = 10000000000ULL,
                                    .online_cpus = 4},
                               b = a;
    /* Half a CPU second over 2 s of host time on 4 CPUs (8 CPU-seconds): 25% of one CPU... times 4. */
    b.cpu_total_ns += 500000000;
    b.system_cpu_ns += 2000000000ULL;
    assert_true(servin_stats_cpu_percent(&a, &b) > 99.9 && servin_stats_cpu_percent(&a, &b) < 100.1);
    assert_true(servin_stats_cpu_percent(NULL, &b) == 0.0);
    assert_true(servin_stats_cpu_percent(&b, &a) == 0.0); /* a restarted counter is no negative rate */
    b.running = false;
    assert_true(servin_stats_cpu_percent(&a, &b) == 0.0);

    struct servin_stats_sample m = {.mem_usage = 3000, .mem_inactive_file = 1000, .mem_limit = 4000};
    assert_int_equal(servin_stats_mem_used(&m), 2000);
    assert_true(servin_stats_mem_percent(&m) == 50.0);
    m.mem_inactive_file = 5000;
    assert_int_equal(servin_stats_mem_used(&m), 3000);
    m.mem_limit = 0;
    assert_true(servin_stats_mem_percent(&m) == 0.0);
}

static void test_row_and_docker_json(void **state)
{
    struct servin_container c = {.name = "web"};
    memset(c.id, 'a', 64);
    struct servin_stats_sample prev = {.running = true,
                                       .cpu_total_ns = 0,
                                       .system_cpu_ns = 1000,
                                       .online_cpus = 2},
                               cur = {.running = true,
                                      .cpu_total_ns = 250,
                                      .system_cpu_ns = 2000,
                                      .online_cpus = 2,
                                      .mem_usage = 2 * 1048576,
                                      .mem_limit = 64 * 1048576,
                                      .pids_current = 3,
                                      .net_rx = 1536,
                                      .blk_write = 1000000};
    json_t *row = servin_stats_row(&c, NULL, false, &prev, &cur);
    assert_string_equal(json_string_value(json_object_get(row, "Container")), "aaaaaaaaaaaa");
    assert_string_equal(json_string_value(json_object_get(row, "CPUPerc")), "50.00%");
    assert_string_equal(json_string_value(json_object_get(row, "MemUsage")), "2MiB / 64MiB");
    assert_string_equal(json_string_value(json_object_get(row, "MemPerc")), "3.12%");
    assert_string_equal(json_string_value(json_object_get(row, "NetIO")), "1.54kB / 0B");
    assert_string_equal(json_string_value(json_object_get(row, "BlockIO")), "0B / 1MB");
    assert_string_equal(json_string_value(json_object_get(row, "PIDs")), "3");
    json_decref(row);
    row = servin_stats_row(&c, "web", true, NULL, &cur);
    assert_int_equal(strlen(json_string_value(json_object_get(row, "ID"))), 64);
    assert_string_equal(json_string_value(json_object_get(row, "Container")), "web");
    assert_string_equal(json_string_value(json_object_get(row, "CPUPerc")), "0.00%");
    json_decref(row);

    json_t *d = servin_stats_docker_json(&c, &prev, &cur);
    assert_string_equal(json_string_value(json_object_get(d, "name")), "/web");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "memory_stats"), "limit")),
                     64 * 1048576);
    assert_non_null(
        json_object_get(json_object_get(json_object_get(d, "memory_stats"), "stats"), "total_inactive_file"));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(d, "precpu_stats"), "cpu_usage"), "total_usage")),
                     0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "pids_stats"), "current")), 3);
    json_decref(d);
}

static char *make_tmp(void)
{
    char tmpl[] = "/tmp/servin-stats-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return xstrdup(tmpl);
}

static void test_cgroup_v2_tree(void **state)
{
    _cleanup_free_ char *root = make_tmp();
    struct servin_error err = {0};
    put(root, "cgroup.controllers", "cpu io memory pids\n");
    put(root, "cgroup.subtree_control", "");
    struct servin_cgroup_system *sys = NULL;
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_system_open(root, SERVIN_CGROUP_V2, SERVIN_CGROUP_PLAIN_FILES, &sys, &err),
                     0);
    assert_int_equal(servin_cgroup_create(sys, "/servin/s2", "s2", &cg, &err), 0);
    const char *d = servin_cgroup_dir(cg, NULL);
    put(d, "memory.current", "10485760\n");
    put(d, "memory.max", "67108864\n");
    put(d, "memory.stat", "anon 8388608\nfile 2097152\ninactive_file 1048576\n");
    put(d, "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n");
    put(d, "pids.current", "4\n");
    put(d, "pids.max", "max\n");
    put(d, "io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
    struct servin_stats_sample s = {0};
    assert_int_equal(servin_stats_read_cgroup(cg, &s, &err), 0);
    assert_true(s.cgroup_v2);
    assert_int_equal(s.cpu_total_ns, 1500000000ULL);
    assert_int_equal(s.mem_usage, 10485760);
    assert_int_equal(s.mem_limit, 67108864);
    assert_int_equal(servin_stats_mem_used(&s), 9437184);
    assert_int_equal(s.pids_current, 4);
    assert_int_equal(s.pids_limit, 0);
    assert_int_equal(s.blk_read, 4096);
    assert_int_equal(s.blk_write, 8192);
    /* Unlimited memory shows the host's memory, as Docker does. */
    put(d, "memory.max", "max\n");
    assert_int_equal(servin_stats_read_cgroup(cg, &s, &err), 0);
    assert_true(s.mem_limit > 67108864 && s.mem_limit != SERVIN_CGROUP_UNLIMITED);
    json_t *j = servin_stats_docker_json(&(struct servin_container){.name = "x"}, NULL, &s);
    assert_non_null(
        json_object_get(json_object_get(json_object_get(j, "memory_stats"), "stats"), "inactive_file"));
    json_decref(j);
    servin_cgroup_free(cg);
    servin_cgroup_system_free(sys);
    servin_rm_rf(root, &err);
}

static void test_cgroup_v1_tree(void **state)
{
    _cleanup_free_ char *root = make_tmp();
    struct servin_error err = {0};
    const char *ctrls[] = {"memory", "cpu", "cpuacct", "pids", "blkio", "freezer", "devices", "cpuset"};
    for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++) {
        _cleanup_free_ char *dir = xasprintf("%s/%s", root, ctrls[i]);
        assert_int_equal(servin_mkdir_p(dir, 0755, &err), 0);
    }
    _cleanup_free_ char *cpuset = xasprintf("%s/cpuset", root);
    put(cpuset, "cpuset.cpus", "0-1\n");
    put(cpuset, "cpuset.mems", "0\n");
    struct servin_cgroup_system *sys = NULL;
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_system_open(root, SERVIN_CGROUP_V1, SERVIN_CGROUP_PLAIN_FILES, &sys, &err),
                     0);
    assert_int_equal(servin_cgroup_create(sys, "/servin/s1", "s1", &cg, &err), 0);
    put(servin_cgroup_dir(cg, "memory"), "memory.usage_in_bytes", "5000000\n");
    put(servin_cgroup_dir(cg, "memory"), "memory.limit_in_bytes", "9223372036854771712\n");
    put(servin_cgroup_dir(cg, "memory"), "memory.stat", "cache 100\ntotal_inactive_file 1000000\n");
    put(servin_cgroup_dir(cg, "cpuacct"), "cpuacct.usage", "123456789\n");
    put(servin_cgroup_dir(cg, "pids"), "pids.current", "2\n");
    put(servin_cgroup_dir(cg, "pids"), "pids.max", "100\n");
    put(servin_cgroup_dir(cg, "blkio"), "blkio.throttle.io_service_bytes_recursive",
        "8:0 Read 300\n8:0 Write 400\n8:0 Total 700\nTotal 700\n");
    struct servin_stats_sample s = {0};
    assert_int_equal(servin_stats_read_cgroup(cg, &s, &err), 0);
    assert_false(s.cgroup_v2);
    assert_int_equal(s.cpu_total_ns, 123456789);
    assert_int_equal(servin_stats_mem_used(&s), 4000000);
    assert_true(s.mem_limit != SERVIN_CGROUP_UNLIMITED && s.mem_limit > 0);
    assert_int_equal(s.pids_current, 2);
    assert_int_equal(s.pids_limit, 100);
    assert_int_equal(s.blk_read, 300);
    assert_int_equal(s.blk_write, 400);
    /* An empty throttle file falls back to the proportional one. */
    put(servin_cgroup_dir(cg, "blkio"), "blkio.throttle.io_service_bytes_recursive", "Total 0\n");
    put(servin_cgroup_dir(cg, "blkio"), "blkio.io_service_bytes_recursive", "8:0 Read 5\n8:0 Write 6\n");
    assert_int_equal(servin_stats_read_cgroup(cg, &s, &err), 0);
    assert_int_equal(s.blk_read, 5);
    assert_int_equal(s.blk_write, 6);
    servin_cgroup_free(cg);
    servin_cgroup_system_free(sys);
    servin_rm_rf(root, &err);
}

static void test_system_cpu(void **state)
{
    uint64_t a = 0, b = 0;
    unsigned n = 0;
    struct servin_error err = {0};
    assert_int_equal(servin_stats_read_system(&a, &n, &err), 0);
    assert_true(n >= 1 && a > 0);
    usleep(50000);
    assert_int_equal(servin_stats_read_system(&b, &n, &err), 0);
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_dev_skips_loopback_and_sums),
        cmocka_unit_test(test_blkio_parsers),
        cmocka_unit_test(test_units_like_docker),
        cmocka_unit_test(test_rates),
        cmocka_unit_test(test_row_and_docker_json),
        cmocka_unit_test(test_cgroup_v2_tree),
        cmocka_unit_test(test_cgroup_v1_tree),
        cmocka_unit_test(test_system_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
