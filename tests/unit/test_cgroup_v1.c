/* Unit tests for the cgroup layer on a v1 tree of plain files (one directory per controller). */
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

#include "servin/cgroup.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

struct fixture {
    char *root;
    struct servin_cgroup_system *sys;
};

static const char *const controllers[] = {"cpu",     "cpuacct", "cpuset", "memory", "devices",
                                          "freezer", "blkio",   "pids",   "systemd"};
#define N_CONTROLLERS (sizeof(controllers) / sizeof(controllers[0]))

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
    char tmpl[] = "/tmp/servin-cgv1-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    f->root = xstrdup(tmpl);
    struct servin_error err = {0};
    for (size_t i = 0; i < N_CONTROLLERS; i++) {
        _cleanup_free_ char *dir = xasprintf("%s/%s", f->root, controllers[i]);
        assert_int_equal(servin_mkdir_p(dir, 0755, &err), 0);
    }
    _cleanup_free_ char *cpuset = xasprintf("%s/cpuset", f->root);
    put(cpuset, "cpuset.cpus", "0-3\n");
    put(cpuset, "cpuset.mems", "0\n");
    assert_int_equal(
        servin_cgroup_system_open(f->root, SERVIN_CGROUP_V1, SERVIN_CGROUP_PLAIN_FILES, &f->sys, &err), 0);
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

static void test_create_every_controller(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_system_mode(f->sys), SERVIN_CGROUP_V1);
    assert_false(servin_cgroup_system_hybrid(f->sys));
    assert_int_equal(servin_cgroup_create(f->sys, "/servin/abc", "abc", &cg, &err), 0);
    for (size_t i = 0; i < N_CONTROLLERS; i++) {
        _cleanup_free_ char *dir = xasprintf("%s/%s/servin/abc", f->root, controllers[i]);
        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_string_equal(servin_cgroup_dir(cg, controllers[i]), dir);
    }
    /* Controllers not mounted get no directory. */
    assert_null(servin_cgroup_dir(cg, "hugetlb"));

    /* Each new cpuset level inherits cpus and mems, or tasks could not join it. */
    _cleanup_free_ char *mid = xasprintf("%s/cpuset/servin", f->root);
    _cleanup_free_ char *leaf = xasprintf("%s/cpuset/servin/abc", f->root);
    assert_file(mid, "cpuset.cpus", "0-3");
    assert_file(mid, "cpuset.mems", "0");
    assert_file(leaf, "cpuset.cpus", "0-3");
    assert_file(leaf, "cpuset.mems", "0");

    assert_int_equal(servin_cgroup_add_pid(cg, 777, &err), 0);
    for (size_t i = 0; i < N_CONTROLLERS; i++)
        assert_file(servin_cgroup_dir(cg, controllers[i]), "cgroup.procs", "777");
    servin_cgroup_free(cg);
}

static void test_resources_files(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_create(f->sys, "/servin/r", "r", &cg, &err), 0);
    json_t *res =
        parse("{\"memory\": {\"limit\": 67108864, \"reservation\": 33554432, \"swap\": 134217728,"
              "  \"swappiness\": 10, \"disableOOMKiller\": true},"
              " \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000, \"cpus\": \"1\","
              "  \"mems\": \"0\"},"
              " \"pids\": {\"limit\": 16},"
              " \"blockIO\": {\"weight\": 300, \"throttleWriteIOPSDevice\": [{\"major\": 8, \"minor\": 16,"
              "  \"rate\": 100}]},"
              " \"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
              "  {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rwm\"},"
              "  {\"allow\": true, \"type\": \"c\", \"major\": 136, \"access\": \"rw\"},"
              "  {\"allow\": false, \"type\": \"b\", \"major\": 8, \"minor\": 0}]}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), 0);
    json_decref(res);

    const char *mem = servin_cgroup_dir(cg, "memory"), *cpu = servin_cgroup_dir(cg, "cpu");
    const char *devices = servin_cgroup_dir(cg, "devices");
    assert_file(mem, "memory.limit_in_bytes", "67108864");
    /* v1 takes memory plus swap as is. */
    assert_file(mem, "memory.memsw.limit_in_bytes", "134217728");
    assert_file(mem, "memory.soft_limit_in_bytes", "33554432");
    assert_file(mem, "memory.swappiness", "10");
    assert_file(mem, "memory.oom_control", "1");
    assert_file(cpu, "cpu.shares", "512");
    assert_file(cpu, "cpu.cfs_quota_us", "50000");
    assert_file(cpu, "cpu.cfs_period_us", "100000");
    assert_file(servin_cgroup_dir(cg, "cpuset"), "cpuset.cpus", "1");
    assert_file(servin_cgroup_dir(cg, "pids"), "pids.max", "16");
    assert_file(servin_cgroup_dir(cg, "blkio"), "blkio.weight", "300");
    assert_file(servin_cgroup_dir(cg, "blkio"), "blkio.throttle.write_iops_device", "8:16 100\n");
    assert_file(devices, "devices.deny", "a *:* rwm\nb 8:0 rwm\n");
    assert_file(devices, "devices.allow", "c 1:3 rwm\nc 136:* rw\n");

    /* Unlimited is -1 in v1 files, except pids.max which says "max". */
    res = parse(
        "{\"memory\": {\"limit\": -1, \"swap\": -1}, \"cpu\": {\"quota\": -1}, \"pids\": {\"limit\": -1}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), 0);
    json_decref(res);
    assert_file(mem, "memory.limit_in_bytes", "-1");
    assert_file(mem, "memory.memsw.limit_in_bytes", "-1");
    assert_file(cpu, "cpu.cfs_quota_us", "-1");
    assert_file(servin_cgroup_dir(cg, "pids"), "pids.max", "max");
    /* Fields not named in an update are left alone. */
    assert_file(cpu, "cpu.shares", "512");

    /* unified is v2 only. */
    res = parse("{\"unified\": {\"memory.high\": \"1\"}}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), -ENOTSUP);
    assert_non_null(strstr(err.msg, "cgroup v2"));
    json_decref(res);

    /* A limit for a controller that is not mounted says which one. */
    res = parse("{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}]}");
    assert_int_equal(servin_cgroup_set_resources(cg, res, &err), -ENOTSUP);
    assert_non_null(strstr(err.msg, "hugetlb"));
    json_decref(res);
    servin_cgroup_free(cg);
}

static void test_freeze_destroy(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct servin_cgroup *cg = NULL;
    assert_int_equal(servin_cgroup_create(f->sys, NULL, "life", &cg, &err), 0);
    const char *freezer = servin_cgroup_dir(cg, "freezer");
    _cleanup_free_ char *want = xasprintf("%s/freezer/servin/life", f->root);
    assert_string_equal(freezer, want);

    assert_int_equal(servin_cgroup_freeze(cg, &err), 0);
    assert_file(freezer, "freezer.state", "FROZEN");
    bool frozen = false;
    assert_int_equal(servin_cgroup_is_frozen(cg, &frozen, &err), 0);
    assert_true(frozen);
    assert_int_equal(servin_cgroup_thaw(cg, &err), 0);
    assert_file(freezer, "freezer.state", "THAWED");

    /* Nothing listed: kill_all returns at once, and leaves the cgroup thawed. */
    assert_int_equal(servin_cgroup_kill_all(cg, &err), 0);
    assert_file(freezer, "freezer.state", "THAWED");

    struct servin_cgroup_stats st;
    put(servin_cgroup_dir(cg, "memory"), "memory.usage_in_bytes", "8192\n");
    put(servin_cgroup_dir(cg, "memory"), "memory.limit_in_bytes", "9223372036854771712\n");
    put(servin_cgroup_dir(cg, "memory"), "memory.stat", "cache 1\ntotal_inactive_file 100\n");
    put(servin_cgroup_dir(cg, "cpuacct"), "cpuacct.usage", "123456789\n");
    put(servin_cgroup_dir(cg, "pids"), "pids.current", "2\n");
    assert_int_equal(servin_cgroup_stats(cg, &st, &err), 0);
    assert_int_equal(st.memory_usage, 8192);
    assert_true(st.memory_limit == SERVIN_CGROUP_UNLIMITED);
    assert_int_equal(st.memory_inactive_file, 100);
    assert_int_equal(st.cpu_usage_ns, 123456789);
    assert_int_equal(st.pids_current, 2);
    assert_true(st.pids_limit == SERVIN_CGROUP_UNLIMITED);

    json_t *j = servin_cgroup_to_json(cg);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "paths"), "freezer")), freezer);
    json_decref(j);

    assert_int_equal(servin_cgroup_destroy(cg, &err), 0);
    for (size_t i = 0; i < N_CONTROLLERS; i++) {
        _cleanup_free_ char *dir = xasprintf("%s/%s/servin/life", f->root, controllers[i]);
        _cleanup_free_ char *parent = xasprintf("%s/%s/servin", f->root, controllers[i]);
        struct stat sb;
        assert_int_equal(stat(dir, &sb), -1);
        assert_int_equal(stat(parent, &sb), 0);
    }
    servin_cgroup_free(cg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_every_controller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resources_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeze_destroy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
