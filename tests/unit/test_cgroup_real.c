/* The cgroup layer against this host's real v1 hierarchy: limits, join, freeze, kill, destroy.
 * Needs root and a v1 memory hierarchy at /sys/fs/cgroup/memory; skips otherwise. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cgroup.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

#define CGROUP_V1_MAGIC 0x27e0eb

struct fixture {
    struct servin_cgroup_system *sys;
    struct servin_cgroup *cg;
    char *parent_rel; /* "servin-test-<pid>", removed at the end */
    pid_t child;
    int go[2];     /* test -> child: try to fork now */
    int result[2]; /* child -> test: errno of that fork (0 when it worked) */
};

static char *slurp(const char *dir, const char *file)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    char *text = NULL;
    struct servin_error err = {0};
    if (servin_read_file(path, &text, NULL, &err) < 0)
        return xstrdup("<missing>");
    text[strcspn(text, "\n")] = '\0';
    return text;
}

#define assert_file(dir, file, expected)                                                                     \
    do {                                                                                                     \
        _cleanup_free_ char *_got = slurp(dir, file);                                                        \
        assert_string_equal(_got, expected);                                                                 \
    } while (0)

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool exists_in(const char *dir, const char *file)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    return exists(path);
}

/* The child waits for the word, tries one fork, reports the errno, then idles until killed. */
static void child_main(struct fixture *f)
{
    char c;
    close(f->go[1]);
    close(f->result[0]);
    if (read(f->go[0], &c, 1) == 1) {
        pid_t p = fork();
        int e = p < 0 ? errno : 0;
        if (p == 0)
            _exit(0);
        if (p > 0)
            waitpid(p, NULL, 0);
        if (write(f->result[1], &e, sizeof(e)) < 0)
            _exit(1);
    }
    for (;;)
        pause();
}

static const char *const controllers[] = {"cpu",     "cpuacct", "cpuset", "memory",      "devices",
                                          "freezer", "blkio",   "pids",   "name=systemd"};
#define N_CONTROLLERS (sizeof(controllers) / sizeof(controllers[0]))

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->child = -1;
    f->go[0] = f->go[1] = f->result[0] = f->result[1] = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        waitpid(f->child, NULL, 0);
    }
    if (f->cg) {
        /* After a failure: leave no test cgroup behind on the host. */
        servin_cgroup_thaw(f->cg, &err);
        servin_cgroup_kill_all(f->cg, &err);
        servin_cgroup_destroy(f->cg, &err);
        for (int c = 0; c < (int)N_CONTROLLERS; c++) {
            const char *dir = servin_cgroup_dir(f->cg, controllers[c]);
            if (dir) {
                _cleanup_free_ char *parent = xstrndup(dir, strrchr(dir, '/') - dir);
                rmdir(parent);
            }
        }
        servin_cgroup_free(f->cg);
    }
    for (int i = 0; i < 2; i++) {
        if (f->go[i] >= 0)
            close(f->go[i]);
        if (f->result[i] >= 0)
            close(f->result[i]);
    }
    servin_cgroup_system_free(f->sys);
    free(f->parent_rel);
    free(f);
    return 0;
}

/* cmocka's skip() returns from the test, so this must be a macro. */
#define skip_unless_real_v1()                                                                                \
    do {                                                                                                     \
        struct statfs _sfs;                                                                                  \
        if (geteuid() != 0) {                                                                                \
            printf("SKIP: the real-cgroup test needs root\n");                                               \
            skip();                                                                                          \
        }                                                                                                    \
        if (statfs("/sys/fs/cgroup/memory", &_sfs) < 0 || _sfs.f_type != CGROUP_V1_MAGIC) {                  \
            printf("SKIP: /sys/fs/cgroup/memory is not a cgroup v1 mount on this host\n");                   \
            skip();                                                                                          \
        }                                                                                                    \
    } while (0)

static void test_real_v1_lifecycle(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    skip_unless_real_v1();

    assert_int_equal(servin_cgroup_system_detect(&f->sys, &err), 0);
    assert_int_equal(servin_cgroup_system_mode(f->sys), SERVIN_CGROUP_V1);

    /* A relative path, so that it lands below this process's own (possibly nested) cgroups. */
    f->parent_rel = xasprintf("servin-test-%d", (int)getpid());
    _cleanup_free_ char *rel = xasprintf("%s/c1", f->parent_rel);
    assert_int_equal(servin_cgroup_create(f->sys, rel, "c1", &f->cg, &err), 0);
    const char *memdir = servin_cgroup_dir(f->cg, "memory");
    const char *pidsdir = servin_cgroup_dir(f->cg, "pids");
    const char *freezer = servin_cgroup_dir(f->cg, "freezer");
    assert_non_null(memdir);
    assert_non_null(pidsdir);
    assert_non_null(freezer);
    assert_true(exists(memdir));

    /* The memory cgroup must sit below our own one, which /proc/self/cgroup names. */
    _cleanup_free_ char *self = NULL;
    assert_int_equal(servin_read_file("/proc/self/cgroup", &self, NULL, &err), 0);
    char *line = strstr(self, ":memory:");
    assert_non_null(line);
    line += strlen(":memory:");
    line[strcspn(line, "\n")] = '\0';
    _cleanup_free_ char *want_mem = strcmp(line, "/") == 0
                                        ? xasprintf("/sys/fs/cgroup/memory/%s", rel)
                                        : xasprintf("/sys/fs/cgroup/memory%s/%s", line, rel);
    assert_string_equal(memdir, want_mem);

    json_error_t jerr;
    json_t *res = json_loads("{\"memory\": {\"limit\": 67108864}, \"pids\": {\"limit\": 16}}", 0, &jerr);
    assert_non_null(res);
    assert_int_equal(servin_cgroup_set_resources(f->cg, res, &err), 0);
    json_decref(res);
    assert_file(memdir, "memory.limit_in_bytes", "67108864");
    assert_file(pidsdir, "pids.max", "16");

    assert_int_equal(pipe(f->go), 0);
    assert_int_equal(pipe(f->result), 0);
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0)
        child_main(f);
    close(f->go[0]);
    close(f->result[1]);
    f->go[0] = f->result[1] = -1;

    assert_int_equal(servin_cgroup_add_pid(f->cg, f->child, &err), 0);
    pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(servin_cgroup_pids(f->cg, &pids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(pids[0], f->child);
    free(pids);
    /* The kernel agrees, in every hierarchy. */
    _cleanup_free_ char *all = NULL, *cgfile = xasprintf("/proc/%d/cgroup", (int)f->child);
    assert_int_equal(servin_read_file(cgfile, &all, NULL, &err), 0);
    /* The pids line ends with our path, whatever the own cgroup above it. */
    char *pids_line = strstr(all, ":pids:");
    assert_non_null(pids_line);
    pids_line[strcspn(pids_line, "\n")] = '\0';
    _cleanup_free_ char *tail = xasprintf("/%s", rel);
    assert_true(strlen(pids_line) >= strlen(tail));
    assert_string_equal(pids_line + strlen(pids_line) - strlen(tail), tail);

    /* Live update: with pids.max 1 the child (already 1 task) cannot fork. */
    res = json_loads("{\"pids\": {\"limit\": 1}}", 0, &jerr);
    assert_int_equal(servin_cgroup_set_resources(f->cg, res, &err), 0);
    json_decref(res);
    assert_file(pidsdir, "pids.max", "1");
    assert_int_equal(write(f->go[1], "x", 1), 1);
    int fork_errno = -1;
    assert_int_equal(read(f->result[0], &fork_errno, sizeof(fork_errno)), (ssize_t)sizeof(fork_errno));
    assert_int_equal(fork_errno, EAGAIN);

    struct servin_cgroup_stats st;
    assert_int_equal(servin_cgroup_stats(f->cg, &st, &err), 0);
    assert_int_equal(st.memory_limit, 67108864);
    assert_int_equal(st.pids_current, 1);
    assert_int_equal(st.pids_limit, 1);

    bool frozen = true;
    assert_int_equal(servin_cgroup_is_frozen(f->cg, &frozen, &err), 0);
    assert_false(frozen);
    assert_int_equal(servin_cgroup_freeze(f->cg, &err), 0);
    assert_file(freezer, "freezer.state", "FROZEN");
    assert_int_equal(servin_cgroup_is_frozen(f->cg, &frozen, &err), 0);
    assert_true(frozen);
    assert_int_equal(servin_cgroup_thaw(f->cg, &err), 0);
    assert_file(freezer, "freezer.state", "THAWED");

    /* Reopen from the state record, as `servin oci delete` in another process would. */
    json_t *j = servin_cgroup_to_json(f->cg);
    struct servin_cgroup *again = NULL;
    assert_int_equal(servin_cgroup_from_json(j, &again, &err), 0);
    json_decref(j);

    /* Freeze then kill: kill_all must thaw for SIGKILL to land. */
    assert_int_equal(servin_cgroup_freeze(again, &err), 0);
    assert_int_equal(servin_cgroup_kill_all(again, &err), 0);
    int status = 0;
    assert_int_equal(waitpid(f->child, &status, 0), f->child);
    f->child = -1;
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_int_equal(servin_cgroup_pids(again, &pids, &n, &err), 0);
    assert_int_equal(n, 0);
    free(pids);

    assert_int_equal(servin_cgroup_destroy(again, &err), 0);
    for (size_t i = 0; i < N_CONTROLLERS; i++) {
        const char *dir = servin_cgroup_dir(again, controllers[i]);
        if (!dir)
            continue;
        if (exists(dir))
            fail_msg("cgroup %s is still there after destroy", dir);
        /* The parent must now be empty: removing it proves that nothing leaked below it. */
        _cleanup_free_ char *parent = xstrndup(dir, strrchr(dir, '/') - dir);
        if (rmdir(parent) < 0 && errno != ENOENT)
            fail_msg("rmdir %s: %s", parent, strerror(errno));
    }
    servin_cgroup_free(again);
    servin_cgroup_free(f->cg);
    f->cg = NULL;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad test JSON: %s", jerr.text);
    return j;
}

static void apply(struct servin_cgroup *cg, const char *text)
{
    struct servin_error err = {0};
    json_t *res = parse(text);
    if (servin_cgroup_set_resources(cg, res, &err) < 0)
        fail_msg("apply %s: %s", text, err.msg);
    json_decref(res);
}

/* The kernel checks what plain files cannot: memsw >= limit at every step, device rule syntax,
 * cpu files. */
static void test_real_v1_resources(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    skip_unless_real_v1();
    assert_int_equal(servin_cgroup_system_detect(&f->sys, &err), 0);
    f->parent_rel = xasprintf("servin-test-%d-r", (int)getpid());
    _cleanup_free_ char *rel = xasprintf("%s/c2", f->parent_rel);
    assert_int_equal(servin_cgroup_create(f->sys, rel, "c2", &f->cg, &err), 0);
    const char *mem = servin_cgroup_dir(f->cg, "memory");

    _cleanup_free_ char *memsw = xasprintf("%s/memory.memsw.limit_in_bytes", mem);
    if (exists(memsw)) {
        apply(f->cg, "{\"memory\": {\"limit\": 67108864, \"swap\": 134217728}}");
        assert_file(mem, "memory.limit_in_bytes", "67108864");
        assert_file(mem, "memory.memsw.limit_in_bytes", "134217728");
        /* Raising both past the current memsw needs memsw written first. */
        apply(f->cg, "{\"memory\": {\"limit\": 268435456, \"swap\": 536870912}}");
        assert_file(mem, "memory.limit_in_bytes", "268435456");
        assert_file(mem, "memory.memsw.limit_in_bytes", "536870912");
        /* Lowering both needs the limit written first. */
        apply(f->cg, "{\"memory\": {\"limit\": 33554432, \"swap\": 33554432}}");
        assert_file(mem, "memory.limit_in_bytes", "33554432");
        assert_file(mem, "memory.memsw.limit_in_bytes", "33554432");
        /* Unlimited memory takes memsw along. */
        apply(f->cg, "{\"memory\": {\"limit\": -1}}");
        assert_file(mem, "memory.memsw.limit_in_bytes", "9223372036854771712");
    } else {
        printf("note: no memory.memsw files (swap accounting off); swap ordering not checked\n");
    }
    apply(f->cg, "{\"memory\": {\"reservation\": 16777216, \"swappiness\": 0}}");
    assert_file(mem, "memory.soft_limit_in_bytes", "16777216");
    assert_file(mem, "memory.swappiness", "0");

    apply(f->cg, "{\"cpu\": {\"shares\": 512, \"period\": 50000, \"quota\": 25000, \"cpus\": \"0\","
                 " \"mems\": \"0\"}}");
    assert_file(servin_cgroup_dir(f->cg, "cpu"), "cpu.shares", "512");
    assert_file(servin_cgroup_dir(f->cg, "cpu"), "cpu.cfs_period_us", "50000");
    assert_file(servin_cgroup_dir(f->cg, "cpu"), "cpu.cfs_quota_us", "25000");
    assert_file(servin_cgroup_dir(f->cg, "cpuset"), "cpuset.cpus", "0");
    apply(f->cg, "{\"cpu\": {\"quota\": -1}}");
    assert_file(servin_cgroup_dir(f->cg, "cpu"), "cpu.cfs_quota_us", "-1");

    /* Docker's default shape: deny everything, then allow a few. */
    apply(f->cg, "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                 " {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rwm\"},"
                 " {\"allow\": true, \"type\": \"c\", \"major\": 136, \"access\": \"rwm\"}]}");
    _cleanup_free_ char *list = NULL,
                        *list_path = xasprintf("%s/devices.list", servin_cgroup_dir(f->cg, "devices"));
    assert_int_equal(servin_read_file(list_path, &list, NULL, &err), 0);
    assert_string_equal(list, "c 1:3 rwm\nc 136:* rwm\n");

    /* A value the kernel refuses names the file and the value. */
    json_t *res = parse("{\"cpu\": {\"cpus\": \"99999\"}}");
    assert_true(servin_cgroup_set_resources(f->cg, res, &err) < 0);
    json_decref(res);
    _cleanup_free_ char *want =
        xasprintf("set allowed CPUs: write 99999 to %s/cpuset.cpus: ", servin_cgroup_dir(f->cg, "cpuset"));
    assert_memory_equal(err.msg, want, strlen(want));

    assert_int_equal(servin_cgroup_destroy(f->cg, &err), 0);
    for (size_t i = 0; i < N_CONTROLLERS; i++) {
        const char *dir = servin_cgroup_dir(f->cg, controllers[i]);
        if (!dir)
            continue;
        assert_false(exists(dir));
        _cleanup_free_ char *parent = xstrndup(dir, strrchr(dir, '/') - dir);
        if (rmdir(parent) < 0 && errno != ENOENT)
            fail_msg("rmdir %s: %s", parent, strerror(errno));
    }
}

#define CGROUP2_MAGIC 0x63677270

/* The hybrid host's cgroup2 tree holds no controllers, but its core files (cgroup.procs,
 * cgroup.freeze, cgroup.events, cgroup.kill) are real: check the v2 code against the kernel. */
static void test_real_v2_core_ops(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    struct statfs sfs;
    if (geteuid() != 0) {
        printf("SKIP: the real-cgroup test needs root\n");
        skip();
    }
    if (statfs("/sys/fs/cgroup/unified", &sfs) < 0 || sfs.f_type != CGROUP2_MAGIC) {
        printf("SKIP: no cgroup2 tree at /sys/fs/cgroup/unified on this host\n");
        skip();
    }
    assert_int_equal(servin_cgroup_system_open("/sys/fs/cgroup/unified", SERVIN_CGROUP_V2, 0, &f->sys, &err),
                     0);
    /* Opened, not created: creating would enable controllers in the host's root cgroup. */
    f->parent_rel = xasprintf("servin-test-%d-v2", (int)getpid());
    _cleanup_free_ char *path = xasprintf("/%s/c3", f->parent_rel);
    assert_int_equal(servin_cgroup_open(f->sys, path, "c3", &f->cg, &err), 0);
    const char *dir = servin_cgroup_dir(f->cg, NULL);
    assert_int_equal(servin_mkdir_p(dir, 0755, &err), 0);
    if (!exists(dir) || !exists_in(dir, "cgroup.freeze")) {
        printf("SKIP: this kernel's cgroup2 has no cgroup.freeze\n");
        skip();
    }

    assert_int_equal(pipe(f->go), 0);
    assert_int_equal(pipe(f->result), 0);
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0)
        child_main(f);
    assert_int_equal(servin_cgroup_add_pid(f->cg, f->child, &err), 0);
    pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(servin_cgroup_pids(f->cg, &pids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(pids[0], f->child);
    free(pids);

    bool frozen = true;
    assert_int_equal(servin_cgroup_is_frozen(f->cg, &frozen, &err), 0);
    assert_false(frozen);
    assert_int_equal(servin_cgroup_freeze(f->cg, &err), 0);
    assert_file(dir, "cgroup.freeze", "1");
    assert_int_equal(servin_cgroup_is_frozen(f->cg, &frozen, &err), 0);
    assert_true(frozen);
    assert_int_equal(servin_cgroup_thaw(f->cg, &err), 0);
    assert_file(dir, "cgroup.freeze", "0");

    struct servin_cgroup_stats st;
    assert_int_equal(servin_cgroup_stats(f->cg, &st, &err), 0);
    assert_true(st.memory_limit == SERVIN_CGROUP_UNLIMITED);

    assert_int_equal(servin_cgroup_kill_all(f->cg, &err), 0);
    int status = 0;
    assert_int_equal(waitpid(f->child, &status, 0), f->child);
    f->child = -1;
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    assert_int_equal(servin_cgroup_destroy(f->cg, &err), 0);
    assert_false(exists(dir));
    _cleanup_free_ char *parent = xstrndup(dir, strrchr(dir, '/') - dir);
    assert_int_equal(rmdir(parent), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_real_v1_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_v1_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_v2_core_ops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
