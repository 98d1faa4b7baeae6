/* Unit tests for the cgroup layer on a v2 tree of plain files, and for host layout detection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/cgroup_internal.h"
#include "servin/cgroup.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

struct fixture {
    char *root;
    struct servin_cgroup_system *sys;
};

static char *slurp(const char *dir, const char *file)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    char *text = NULL;
    struct servin_error err = {0};
    if (servin_read_file(path, &text, NULL, &err) < 0)
        return xstrdup("<missing>");
    return text;
}

static void put(const char *dir, const char *file, const char *text)
{
    struct servin_error err = {0};
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    assert_int_equal(servin_write_file_atomic(path, text, strlen(text), 0644, &err), 0);
}

#define assert_file(dir, file, expected)                                                                     \
    do {                                                                                                     \
        _cleanup_free_ char *_got = slurp(dir, file);                                                        \
        assert_string_equal(_got, expected);                                                                 \
    } while (0)

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/servin-cgv2-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    f->root = xstrdup(tmpl);
    /* The kernel's root cgroup offers these; rdma is absent on purpose. */
    put(f->root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids misc\n");
    put(f->root, "cgroup.subtree_control", "");
    struct servin_error err = {0};
    assert_int_equal(
        servin_cgroup_system_open(f->root, SERVIN_CGROUP_V2, SERVIN_CGROUP_PLAIN_FILES, &f->sys, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    servin_rm_rf(f->root, &err);
    servin_cgroup_system_free(f->sys);
    free(f->root);
    free(f);
    return 0;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad test JSON: %s", jerr.text);
    return j;
}

static void test_create_enables_controllers(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_system_mode(f->sys), SERVIN_CGROUP_V2);
    assert_int_equal(servin_cgroup_create(f->sys, "/servin/abc", "abc", &cg, &err), 0);

    _cleanup_free_ char *leaf = xasprintf("%s/servin/abc", f->root);
    _cleanup_free_ char *mid = xasprintf("%s/servin", f->root);
    assert_string_equal(servin_cgroup_dir(cg, NULL), leaf);
    struct stat st;
    assert_int_equal(stat(leaf, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_file(f->root, "cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids +misc");
    assert_file(mid, "cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids +misc");
    /* The leaf holds the processes, so nothing is enabled in it. */
    assert_file(leaf, "cgroup.subtree_control", "<missing>");
    servin_cgroup_free(cg);

    /* Already enabled controllers are not written again. */
    put(f->root, "cgroup.subtree_control", "cpuset cpu io memory hugetlb pids misc\n");
    put(mid, "cgroup.subtree_control", "cpu memory\n");
    assert_int_equal(servin_cgroup_create(f->sys, "/servin/def", "def", &cg, &err), 0);
    assert_file(f->root, "cgroup.subtree_control", "cpuset cpu io memory hugetlb pids misc\n");
    assert_file(mid, "cgroup.subtree_control", "+cpuset +io +hugetlb +pids +misc");
    servin_cgroup_free(cg);
}

static void test_resources_files(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_create(f->sys, NULL, "c1", &cg, &err), 0);
    _cleanup_free_ char *leaf = xasprintf("%s/servin/c1", f->root);
    assert_string_equal(servin_cgroup_dir(cg, "memory"), leaf);

    json_t *res =
        parse("{\"memory\": {\"limit\": 67108864, \"reservation\": 33554432, \"swap\": 134217728,"
              "  \"swappiness\": 10, \"disableOOMKiller\": false},"
              " \"cpu\": {\"shares\": 1024, \"quota\": 50000, \"period\": 100000, \"cpus\": \"0-1\","
              "  \"mems\": \"0\", \"realtimeRuntime\": 950000},"
              " \"pids\": {\"limit\": 16},"
              " \"blockIO\": {\"weight\": 500, \"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0,"
              "  \"rate\": 1048576}]},"
              " \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}],"
              " \"devices\": [{\"allow\": false, \"access\": \"rwm\"}],"
              " \"unified\": {\"memory.high\": \"50000000\"}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), 0);
    json_decref(res);
    assert_file(leaf, "memory.max", "67108864");
    assert_file(leaf, "memory.low", "33554432");
    /* v2 limits swap alone: 128M of memory+swap minus 64M of memory. */
    assert_file(leaf, "memory.swap.max", "67108864");
    assert_file(leaf, "cpu.max", "50000 100000");
    /* 1 + (1024 - 2) * 9999 / 262142 */
    assert_file(leaf, "cpu.weight", "39");
    assert_file(leaf, "cpuset.cpus", "0-1");
    assert_file(leaf, "cpuset.mems", "0");
    assert_file(leaf, "pids.max", "16");
    /* 1 + (500 - 10) * 9999 / 990 */
    assert_file(leaf, "io.weight", "default 4950");
    assert_file(leaf, "io.max", "8:0 rbps=1048576\n");
    assert_file(leaf, "hugetlb.2MB.max", "4194304");
    assert_file(leaf, "memory.high", "50000000");
    /* No v2 files exist for these. */
    assert_file(leaf, "memory.swappiness", "<missing>");
    assert_file(leaf, "cpu.rt_runtime_us", "<missing>");

    /* An update writes only what it names, and keeps cpu.max's period. */
    res = parse(
        "{\"cpu\": {\"quota\": -1}, \"memory\": {\"limit\": -1, \"swap\": -1}, \"pids\": {\"limit\": -1}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), 0);
    json_decref(res);
    assert_file(leaf, "cpu.max", "max 100000");
    assert_file(leaf, "memory.max", "max");
    assert_file(leaf, "memory.swap.max", "max");
    assert_file(leaf, "pids.max", "max");
    assert_file(leaf, "cpu.weight", "39");

    res = parse("{\"cpu\": {\"period\": 250000}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), 0);
    json_decref(res);
    assert_file(leaf, "cpu.max", "max 250000");

    /* Swap alone is converted against the limit already in place. */
    put(leaf, "memory.max", "1000\n");
    res = parse("{\"memory\": {\"swap\": 3000}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), 0);
    json_decref(res);
    assert_file(leaf, "memory.swap.max", "2000");
    servin_cgroup_free(cg);
}

static void test_shares_conversion(void **state)
{
    (void)state;
    assert_int_equal(cg_shares_to_weight(2), 1);
    assert_int_equal(cg_shares_to_weight(262144), 10000);
    assert_int_equal(cg_shares_to_weight(1024), 39);
    assert_int_equal(cg_shares_to_weight(512), 20);
    assert_int_equal(cg_blkio_weight_to_io_weight(10), 1);
    assert_int_equal(cg_blkio_weight_to_io_weight(1000), 10000);
}

static void test_resource_errors(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_create(f->sys, "/servin/bad", NULL, &cg, &err), 0);
    _cleanup_free_ char *leaf = xasprintf("%s/servin/bad", f->root);

    json_t *res = parse("{\"memory\": {\"limit\": \"lots\"}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "memory.limit must be an integer"));
    json_decref(res);

    res = parse("{\"memory\": {\"swap\": 1000}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "without a memory limit"));
    json_decref(res);

    res = parse("{\"memory\": {\"limit\": 2000, \"swap\": 1000}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "must not be below"));
    json_decref(res);

    res = parse("{\"devices\": [{\"allow\": true, \"type\": \"x\"}]}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "devices[0].type"));
    json_decref(res);

    res = parse("{\"unified\": {\"../escape\": \"1\"}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "not a cgroup file name"));
    json_decref(res);

    /* A write the kernel refuses names what was being set, the value and the file. */
    _cleanup_free_ char *memmax = xasprintf("%s/memory.max", leaf);
    assert_int_equal(mkdir(memmax, 0755), 0);
    res = parse("{\"memory\": {\"limit\": 1024}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), -EISDIR);
    _cleanup_free_ char *want = xasprintf("set memory limit: write 1024 to %s: Is a directory", memmax);
    assert_string_equal(err.msg, want);
    json_decref(res);
    servin_cgroup_free(cg);
}

static void test_bad_paths(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_create(f->sys, "/servin/../../etc", "x", &cg, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "\"..\""));
    assert_int_equal(servin_cgroup_create(f->sys, "system.slice:servin:abc", "x", &cg, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "systemd"));
    assert_int_equal(servin_cgroup_create(f->sys, "/", "x", &cg, &err), -EINVAL);
    assert_int_equal(servin_cgroup_create(f->sys, NULL, NULL, &cg, &err), -EINVAL);
    assert_null(cg);
    /* Redundant slashes and dots are cleaned. */
    assert_int_equal(servin_cgroup_open(f->sys, "//a/./b//", "x", &cg, &err), 0);
    _cleanup_free_ char *want = xasprintf("%s/a/b", f->root);
    assert_string_equal(servin_cgroup_dir(cg, NULL), want);
    servin_cgroup_free(cg);
}

static void test_freeze_kill_pids_stats_destroy(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_create(f->sys, "/servin/life", "life", &cg, &err), 0);
    const char *leaf = servin_cgroup_dir(cg, NULL);

    assert_int_equal(servin_cgroup_add_pid(cg, 4242, &err), 0);
    assert_file(leaf, "cgroup.procs", "4242");
    put(leaf, "cgroup.procs", "12\n34\n");
    pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(servin_cgroup_pids(cg, &pids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pids[0], 12);
    assert_int_equal(pids[1], 34);
    free(pids);

    /* The kernel reports the frozen state in cgroup.events; here the test plays the kernel. */
    put(leaf, "cgroup.events", "populated 1\nfrozen 1\n");
    assert_int_equal(servin_cgroup_freeze(cg, &err), 0);
    assert_file(leaf, "cgroup.freeze", "1");
    bool frozen = false;
    assert_int_equal(servin_cgroup_is_frozen(cg, &frozen, &err), 0);
    assert_true(frozen);
    assert_int_equal(servin_cgroup_thaw(cg, &err), 0);
    assert_file(leaf, "cgroup.freeze", "0");
    put(leaf, "cgroup.events", "populated 1\nfrozen 0\n");
    assert_int_equal(servin_cgroup_is_frozen(cg, &frozen, &err), 0);
    assert_false(frozen);

    put(leaf, "cgroup.procs", "");
    put(leaf, "cgroup.kill", "");
    assert_int_equal(servin_cgroup_kill_all(cg, &err), 0);
    assert_file(leaf, "cgroup.kill", "1");

    put(leaf, "memory.current", "1048576\n");
    put(leaf, "memory.max", "max\n");
    put(leaf, "memory.stat", "anon 10\nfile 20\ninactive_file 4096\nactive_file 5\n");
    put(leaf, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
    put(leaf, "pids.current", "3\n");
    put(leaf, "pids.max", "16\n");
    struct servin_cgroup_stats st;
    assert_int_equal(servin_cgroup_stats(cg, &st, &err), 0);
    assert_int_equal(st.memory_usage, 1048576);
    assert_true(st.memory_limit == SERVIN_CGROUP_UNLIMITED);
    assert_int_equal(st.memory_inactive_file, 4096);
    assert_int_equal(st.cpu_usage_ns, 1500000);
    assert_int_equal(st.pids_current, 3);
    assert_int_equal(st.pids_limit, 16);

    /* The state record reopens the same directory from another process. */
    json_t *j = servin_cgroup_to_json(cg);
    struct servin_cgroup *again = NULL;
    assert_int_equal(servin_cgroup_from_json(j, &again, &err), 0);
    json_decref(j);
    assert_string_equal(servin_cgroup_dir(again, NULL), leaf);

    _cleanup_free_ char *sub = xasprintf("%s/inner", leaf);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(servin_cgroup_destroy(again, &err), 0);
    struct stat sb;
    assert_int_equal(stat(leaf, &sb), -1);
    _cleanup_free_ char *mid = xasprintf("%s/servin", f->root);
    assert_int_equal(stat(mid, &sb), 0);
    /* Destroying twice is fine. */
    assert_int_equal(servin_cgroup_destroy(again, &err), 0);
    servin_cgroup_free(again);
    servin_cgroup_free(cg);
}

static const char hybrid_mountinfo[] =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char hybrid_self[] = "9:name=systemd:/\n8:pids:/\n6:freezer:/\n"
                                  "4:memory:/process_api/360d\n2:cpuacct:/\n1:cpu:/\n0::/\n";

static void test_detect_hybrid(void **state)
{
    (void)state;
    struct servin_error err = {0};
    struct servin_cgroup_system *sys = NULL;
    assert_int_equal(cg_system_parse(hybrid_mountinfo, hybrid_self, &sys, &err), 0);
    assert_int_equal(servin_cgroup_system_mode(sys), SERVIN_CGROUP_V1);
    assert_true(servin_cgroup_system_hybrid(sys));
    assert_string_equal(sys->v1_mount[CG_MEMORY], "/sys/fs/cgroup/memory");
    assert_string_equal(sys->v1_own[CG_MEMORY], "/process_api/360d");
    assert_string_equal(sys->v1_mount[CG_SYSTEMD], "/sys/fs/cgroup/systemd");
    assert_null(sys->v1_mount[CG_DEVICES]);

    /* Relative paths go below the own cgroup of each hierarchy; absolute ones below the mount. */
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_open(sys, NULL, "abc", &cg, &err), 0);
    assert_string_equal(servin_cgroup_dir(cg, "memory"), "/sys/fs/cgroup/memory/process_api/360d/servin/abc");
    assert_string_equal(servin_cgroup_dir(cg, "pids"), "/sys/fs/cgroup/pids/servin/abc");
    assert_string_equal(servin_cgroup_dir(cg, "name=systemd"), "/sys/fs/cgroup/systemd/servin/abc");
    assert_null(servin_cgroup_dir(cg, "devices"));
    servin_cgroup_free(cg);
    assert_int_equal(servin_cgroup_open(sys, "/x/abc", "abc", &cg, &err), 0);
    assert_string_equal(servin_cgroup_dir(cg, "memory"), "/sys/fs/cgroup/memory/x/abc");
    servin_cgroup_free(cg);
    servin_cgroup_system_free(sys);
}

static void test_detect_v2(void **state)
{
    (void)state;
    const char *mi = "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
                     "26 20 0:23 / /mnt/with\\040space rw - ext4 /dev/sda1 rw\n";
    const char *self = "0::/user.slice/user-0.slice/session-1.scope\n";
    struct servin_error err = {0};
    struct servin_cgroup_system *sys = NULL;
    assert_int_equal(cg_system_parse(mi, self, &sys, &err), 0);
    assert_int_equal(servin_cgroup_system_mode(sys), SERVIN_CGROUP_V2);
    assert_false(servin_cgroup_system_hybrid(sys));
    struct servin_cgroup *cg = NULL;
    /* The own cgroup holds processes, so containers go beside it, under its parent. */
    assert_int_equal(servin_cgroup_open(sys, "", "abc", &cg, &err), 0);
    assert_string_equal(servin_cgroup_dir(cg, NULL), "/sys/fs/cgroup/user.slice/user-0.slice/servin/abc");
    servin_cgroup_free(cg);
    servin_cgroup_system_free(sys);

    /* A cgroup namespace root that is not "/" is stripped from the own path. */
    mi = "25 20 0:22 /docker/ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    self = "0::/docker/ctr/sub\n";
    assert_int_equal(cg_system_parse(mi, self, &sys, &err), 0);
    assert_string_equal(sys->v2_own, "/sub");
    servin_cgroup_system_free(sys);

    assert_int_equal(cg_system_parse("1 0 8:1 / / rw - ext4 /dev/sda rw\n", "", &sys, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no cgroup"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_enables_controllers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resources_files, setup, teardown),
        cmocka_unit_test(test_shares_conversion),
        cmocka_unit_test_setup_teardown(test_resource_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeze_kill_pids_stats_destroy, setup, teardown),
        cmocka_unit_test(test_detect_hybrid),
        cmocka_unit_test(test_detect_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
