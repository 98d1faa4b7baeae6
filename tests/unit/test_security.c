/* Unit tests for servin_process_finalize: each case forks a child that applies a small spec to
 * itself and then looks at its own credentials; the child reports through its exit code and a pipe
 * carrying finalize's return value and error sentence. Needs root (skipped otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/runtime_internal.h"
#include "runtime/security_internal.h"
#include "servin/cleanup.h"
#include "servin/error.h"
#include "servin/seccomp_default.h"

/* ---- child harness ---- */

struct child_result {
    int exit_code; /* the check's verdict: 0 = all good; 255 = finalize failed, no check run */
    int ret;       /* servin_process_finalize's return value */
    char msg[SERVIN_ERROR_MSG_MAX];
};

typedef int (*check_fn)(void);

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "child check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            return 1;                                                                                        \
        }                                                                                                    \
    } while (0)

static void run_child(const char *spec_text, check_fn before, check_fn after, struct child_result *res)
{
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        json_error_t jerr;
        json_t *spec = json_loads(spec_text, 0, &jerr);
        if (!spec) {
            fprintf(stderr, "bad test spec: %s\n", jerr.text);
            _exit(254);
        }
        if (before && before() != 0)
            _exit(253);
        struct servin_error err = {0};
        int ret = servin_process_finalize(spec, &err);
        /* Report before checking: the check may be running under a filter that forbids a lot. */
        if (write(fds[1], &ret, sizeof(ret)) != sizeof(ret) || write(fds[1], err.msg, sizeof(err.msg)) < 0)
            _exit(252);
        /* _exit, not exit: a sanitizer's exit-time work may need what the spec just took away. */
        if (ret < 0)
            _exit(255);
        _exit(after ? after() : 0);
    }
    close(fds[1]);
    memset(res, 0, sizeof(*res));
    res->ret = 1;
    ssize_t n = read(fds[0], &res->ret, sizeof(res->ret));
    if (n == sizeof(res->ret))
        n = read(fds[0], res->msg, sizeof(res->msg) - 1);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("child killed by signal %d", WTERMSIG(status));
    res->exit_code = WEXITSTATUS(status);
}

/* Finalize must succeed and the check must pass. */
static void expect_ok(const char *spec_text, check_fn after)
{
    struct child_result r;
    run_child(spec_text, NULL, after, &r);
    if (r.ret != 0)
        fail_msg("servin_process_finalize failed (%d): %s", r.ret, r.msg);
    assert_int_equal(r.exit_code, 0);
}

/* Finalize must fail with a message containing want. */
static void expect_error(const char *spec_text, const char *want)
{
    struct child_result r;
    run_child(spec_text, NULL, NULL, &r);
    assert_true(r.ret < 0);
    assert_int_equal(r.exit_code, 255);
    if (!strstr(r.msg, want))
        fail_msg("error \"%s\" does not mention \"%s\"", r.msg, want);
}

/* The value of one "Name:\t..." line of /proc/self/status, into buf. */
static const char *status_field(const char *name, char *buf, size_t size)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    size_t len = strlen(name);
    buf[0] = '\0';
    if (!f)
        return buf;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            const char *v = line + len + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            snprintf(buf, size, "%s", v);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
    return buf;
}

static bool status_is(const char *name, const char *want)
{
    char buf[128];
    status_field(name, buf, sizeof(buf));
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "child: %s is \"%s\", expected \"%s\"\n", name, buf, want);
        return false;
    }
    return true;
}

static int skip_unless_root(void **state)
{
    if (geteuid() != 0)
        skip();
    return 0;
}

/* ---- capability sets ---- */

static int check_chown_kill_only(void)
{
    CHECK(status_is("CapEff", "0000000000000021"));
    CHECK(status_is("CapPrm", "0000000000000021"));
    CHECK(status_is("CapBnd", "0000000000000021"));
    CHECK(status_is("CapInh", "0000000000000000"));
    CHECK(status_is("CapAmb", "0000000000000000"));
    CHECK(status_is("NoNewPrivs", "0"));
    CHECK(status_is("Seccomp", "0"));
    CHECK(getuid() == 0);
    return 0;
}

static void caps_exact_sets(void **state)
{
    skip_unless_root(state);
    /* ambient and inheritable absent from the object: empty, as the spec says. */
    expect_ok("{\"process\":{\"capabilities\":{"
              "\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_CHOWN\",\"CAP_KILL\"],"
              "\"permitted\":[\"CAP_CHOWN\",\"CAP_KILL\"]}}}",
              check_chown_kill_only);
}

static int check_effective_subset(void)
{
    /* effective = KILL only (0x20), permitted CHOWN+KILL, bounding adds SETUID (bit 7 = 0x80). */
    CHECK(status_is("CapEff", "0000000000000020"));
    CHECK(status_is("CapPrm", "0000000000000021"));
    CHECK(status_is("CapBnd", "00000000000000a1"));
    CHECK(status_is("CapInh", "0000000000000001"));
    return 0;
}

static void caps_effective_subset_of_permitted(void **state)
{
    skip_unless_root(state);
    expect_ok("{\"process\":{\"capabilities\":{"
              "\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_SETUID\"],\"effective\":[\"CAP_KILL\"],"
              "\"permitted\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"inheritable\":[\"CAP_CHOWN\"]}}}",
              check_effective_subset);
}

static int check_untouched_caps(void)
{
    /* No capabilities object and uid 0 kept: whatever the parent had (root here) is still there. */
    char eff[64], parent_eff[64];
    status_field("CapEff", eff, sizeof(eff));
    CHECK(eff[0] != '\0');
    snprintf(parent_eff, sizeof(parent_eff), "%s", getenv("SERVIN_TEST_PARENT_CAPEFF"));
    CHECK(strcmp(eff, parent_eff) == 0);
    return 0;
}

static void caps_absent_object_keeps_sets(void **state)
{
    skip_unless_root(state);
    char eff[64];
    setenv("SERVIN_TEST_PARENT_CAPEFF", status_field("CapEff", eff, sizeof(eff)), 1);
    expect_ok("{\"process\":{\"user\":{\"uid\":0,\"gid\":0}}}", check_untouched_caps);
}

static void caps_unknown_name_is_named(void **state)
{
    skip_unless_root(state);
    expect_error("{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_FLY\"]}}}", "CAP_FLY");
    expect_error("{\"process\":{\"capabilities\":{\"ambient\":[42]}}}", "ambient");
}

static void caps_inheritable_outside_bounding_is_refused(void **state)
{
    skip_unless_root(state);
    expect_error("{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_CHOWN\"],\"permitted\":[\"CAP_KILL\"],"
                 "\"inheritable\":[\"CAP_KILL\"]}}}",
                 "CAP_KILL");
}

/* ---- user ---- */

static int check_user_1000(void)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    gid_t groups[8];
    CHECK(getresuid(&r, &e, &s) == 0 && r == 1000 && e == 1000 && s == 1000);
    CHECK(getresgid(&gr, &ge, &gs) == 0 && gr == 1000 && ge == 1000 && gs == 1000);
    int n = getgroups(8, groups);
    CHECK(n == 2 && groups[0] == 1000 && groups[1] == 2000);
    mode_t old = umask(0);
    CHECK(old == 027);
    /* Ambient set survives the uid change because it is raised after it. */
    CHECK(status_is("CapAmb", "0000000000000021"));
    CHECK(status_is("CapEff", "0000000000000021"));
    CHECK(status_is("CapPrm", "0000000000000021"));
    CHECK(status_is("CapInh", "0000000000000021"));
    CHECK(status_is("CapBnd", "0000000000000021"));
    return 0;
}

static void user_ids_groups_umask_and_ambient(void **state)
{
    skip_unless_root(state);
    expect_ok(
        "{\"process\":{\"user\":{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,2000],\"umask\":23},"
        "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_CHOWN\",\"CAP_"
        "KILL\"],"
        "\"permitted\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"inheritable\":[\"CAP_CHOWN\",\"CAP_KILL\"],"
        "\"ambient\":[\"CAP_CHOWN\",\"CAP_KILL\"]}}}",
        check_user_1000);
}

static int check_plain_setuid(void)
{
    /* Without a capabilities object a move away from uid 0 loses everything, as setuid() would. */
    CHECK(getuid() == 1000 && geteuid() == 1000);
    CHECK(getgid() == 1000);
    CHECK(getgroups(0, NULL) == 0);
    CHECK(status_is("CapEff", "0000000000000000"));
    CHECK(status_is("CapPrm", "0000000000000000"));
    CHECK(status_is("CapAmb", "0000000000000000"));
    return 0;
}

static void user_without_caps_object_drops_caps(void **state)
{
    skip_unless_root(state);
    expect_ok("{\"process\":{\"user\":{\"uid\":1000,\"gid\":1000}}}", check_plain_setuid);
}

static int enter_userns_with_setgroups_denied(void)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];
    if (unshare(CLONE_NEWUSER) < 0)
        return 1;
    int fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "deny", 4) != 4)
        return 1;
    close(fd);
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
    fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, strlen(map)) < 0)
        return 1;
    close(fd);
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
    fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, strlen(map)) < 0)
        return 1;
    close(fd);
    return 0;
}

static int check_in_userns(void)
{
    CHECK(getuid() == 0 && getgid() == 0);
    CHECK(status_is("CapEff", "0000000000000001"));
    return 0;
}

static void user_setgroups_denied_is_skipped(void **state)
{
    skip_unless_root(state);
    struct child_result r;
    run_child("{\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[0]},"
              "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\"],\"effective\":[\"CAP_CHOWN\"],"
              "\"permitted\":[\"CAP_CHOWN\"]}}}",
              enter_userns_with_setgroups_denied, check_in_userns, &r);
    if (r.exit_code == 253)
        skip(); /* no user namespaces here */
    if (r.ret != 0)
        fail_msg("servin_process_finalize failed in a user namespace: %s", r.msg);
    assert_int_equal(r.exit_code, 0);
}

/* ---- no_new_privs and seccomp ---- */

static int check_nnp_seccomp(void)
{
    char buf[256];
    CHECK(status_is("NoNewPrivs", "1"));
    CHECK(status_is("Seccomp", "2"));
    errno = 0;
    CHECK(mkdir("/tmp/servin-test-seccomp-denied", 0700) == -1 && errno == EPERM);
    errno = 0;
    CHECK(getcwd(buf, sizeof(buf)) == NULL && errno == ENOSYS);
    CHECK(getpid() > 0);
    /* getpriority is denied only when its first argument is 1 (PRIO_PGRP). */
    errno = 0;
    CHECK(getpriority(PRIO_PROCESS, 0) != -1 || errno == 0);
    errno = 0;
    CHECK(getpriority(PRIO_PGRP, 0) == -1 && errno == EPERM);
    /* dup is denied for fds whose bits 8-15 are 0x01 (MASKED_EQ); fd 0 still works. */
    errno = 0;
    CHECK(dup(0x105) == -1 && errno == EACCES);
    int fd = dup(0);
    CHECK(fd >= 0);
    close(fd);
    return 0;
}

static void seccomp_rules_with_no_new_privs(void **state)
{
    skip_unless_root(state);
    rmdir("/tmp/servin-test-seccomp-denied");
    expect_ok(
        "{\"process\":{\"noNewPrivileges\":true},\"linux\":{\"seccomp\":{"
        "\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\","
        "\"SCMP_ARCH_X32\"],\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],\"syscalls\":["
        "{\"names\":[\"mkdir\",\"mkdirat\",\"no_such_syscall_here\"],\"action\":\"SCMP_ACT_ERRNO\"},"
        "{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38},"
        "{\"names\":[\"getpriority\"],\"action\":\"SCMP_ACT_ERRNO\","
        "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]},"
        "{\"names\":[\"dup\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13,"
        "\"args\":[{\"index\":0,\"value\":65280,\"valueTwo\":256,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
        "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"}]}}}",
        check_nnp_seccomp);
    assert_int_equal(access("/tmp/servin-test-seccomp-denied", F_OK), -1);
}

static int check_seccomp_without_nnp(void)
{
    char buf[256];
    CHECK(status_is("NoNewPrivs", "0"));
    CHECK(status_is("Seccomp", "2"));
    CHECK(status_is("CapEff", "0000000000000021"));
    CHECK(status_is("CapPrm", "0000000000000021"));
    CHECK(getuid() == 1000);
    errno = 0;
    CHECK(getcwd(buf, sizeof(buf)) == NULL && errno == EPERM);
    return 0;
}

static void seccomp_without_nnp_and_without_sys_admin(void **state)
{
    skip_unless_root(state);
    /* The hard case: the filter needs CAP_SYS_ADMIN to load, and the final sets do not have it. */
    expect_ok("{\"process\":{\"user\":{\"uid\":1000,\"gid\":1000},\"capabilities\":{"
              "\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"effective\":[\"CAP_CHOWN\",\"CAP_KILL\"],"
              "\"permitted\":[\"CAP_CHOWN\",\"CAP_KILL\"]}},\"linux\":{\"seccomp\":{"
              "\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
              "{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\"}]}}}",
              check_seccomp_without_nnp);
}

static int check_default_errno(void)
{
    /* Only write, getpid, exit and what a sanitizer needs to exit are allowed: everything else
     * answers defaultErrnoRet. */
    errno = 0;
    if (syscall(SYS_getppid) != -1 || errno != ENOSYS)
        return 1;
    if (syscall(SYS_getpid) <= 0)
        return 2;
    return 0;
}

static void seccomp_default_errno_ret(void **state)
{
    skip_unless_root(state);
    expect_ok("{\"process\":{\"noNewPrivileges\":true},\"linux\":{\"seccomp\":{"
              "\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"syscalls\":["
              "{\"names\":[\"write\",\"getpid\",\"exit_group\",\"exit\",\"sigaltstack\",\"mmap\","
              "\"munmap\"],\"action\":\"SCMP_ACT_ALLOW\"}]}}}",
              check_default_errno);
}

static void seccomp_bad_input_is_refused(void **state)
{
    skip_unless_root(state);
    expect_error("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_DANCE\"}}}", "SCMP_ACT_DANCE");
    expect_error("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                 "{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}}}",
                 "SCMP_ACT_NOTIFY is not supported");
    expect_error("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                 "{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\","
                 "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ABOUT\"}]}]}}}",
                 "SCMP_CMP_ABOUT");
    expect_error("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_"
                 "ARCH_Z80\"]}}}",
                 "SCMP_ARCH_Z80");
    expect_error("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_KILL\",\"defaultErrnoRet\":1}}}",
                 "only valid with SCMP_ACT_ERRNO");
}

static int check_still_root(void)
{
    CHECK(getuid() == 0);
    CHECK(status_is("Seccomp", "0"));
    return 0;
}

static void bad_spec_changes_nothing(void **state)
{
    skip_unless_root(state);
    /* The bad seccomp action comes last in the spec, yet nothing may have been applied before it. */
    const char *spec = "{\"process\":{\"user\":{\"uid\":1000,\"gid\":1000},\"noNewPrivileges\":true},"
                       "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_DANCE\"}}}";
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        json_t *j = json_loads(spec, 0, NULL);
        struct servin_error err = {0};
        if (!j || servin_process_finalize(j, &err) == 0)
            _exit(10);
        _exit(check_still_root() == 0 && status_is("NoNewPrivs", "0") ? 0 : 11);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the default profile ---- */

/* The action of the first rule that names sys without argument conditions, or NULL. */
static const char *plain_action_for(json_t *profile, const char *sys)
{
    size_t i, k;
    json_t *rule, *name;
    json_array_foreach (json_object_get(profile, "syscalls"), i, rule) {
        if (json_object_get(rule, "args"))
            continue;
        json_array_foreach (json_object_get(rule, "names"), k, name) {
            if (strcmp(json_string_value(name), sys) == 0)
                return json_string_value(json_object_get(rule, "action"));
        }
    }
    return NULL;
}

static void default_profile_follows_capabilities(void **state)
{
    json_t *caps = json_pack("[ss]", "CAP_CHOWN", "CAP_KILL");
    json_t *p = servin_seccomp_default_profile(caps);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "defaultAction")), "SCMP_ACT_ERRNO");
    assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")), EPERM);
    json_t *first = json_array_get(json_object_get(p, "syscalls"), 0);
    assert_true(json_array_size(json_object_get(first, "names")) >= 300);
    assert_string_equal(plain_action_for(p, "read"), "SCMP_ACT_ALLOW");
    assert_string_equal(plain_action_for(p, "execve"), "SCMP_ACT_ALLOW");
    assert_null(plain_action_for(p, "mount"));
    assert_null(plain_action_for(p, "unshare"));
    assert_null(plain_action_for(p, "keyctl"));
    assert_null(plain_action_for(p, "reboot"));
    assert_string_equal(plain_action_for(p, "clone3"), "SCMP_ACT_ERRNO");
    /* It must also be a filter libseccomp accepts. */
    struct servin_error err = {0};
    scmp_filter_ctx ctx = NULL;
    assert_int_equal(servin_seccomp_build(p, &ctx, &err), 0);
    servin_seccomp_releasep(&ctx);
    json_decref(p);
    json_decref(caps);

    caps = json_pack("[sss]", "CAP_SYS_ADMIN", "SYS_BOOT", "CAP_SYSLOG");
    p = servin_seccomp_default_profile(caps);
    assert_string_equal(plain_action_for(p, "mount"), "SCMP_ACT_ALLOW");
    assert_string_equal(plain_action_for(p, "setns"), "SCMP_ACT_ALLOW");
    assert_string_equal(plain_action_for(p, "clone3"), "SCMP_ACT_ALLOW");
    assert_string_equal(plain_action_for(p, "reboot"), "SCMP_ACT_ALLOW");
    assert_null(plain_action_for(p, "chroot"));
    /* syslog is listed under two capabilities here; the duplicate must not upset libseccomp. */
    assert_int_equal(servin_seccomp_build(p, &ctx, &err), 0);
    servin_seccomp_releasep(&ctx);
    json_decref(p);
    json_decref(caps);
}

static int check_default_profile(void)
{
    char buf[256];
    CHECK(status_is("Seccomp", "2"));
    CHECK(getcwd(buf, sizeof(buf)) != NULL);
    /* Creating a user namespace needs no capability, so only the filter can refuse it. */
    errno = 0;
    CHECK(unshare(CLONE_NEWUSER) == -1 && errno == EPERM);
    errno = 0;
    CHECK(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
    errno = 0;
    CHECK(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0) == -1 && errno == EPERM);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(sock >= 0);
    close(sock);
    errno = 0;
    CHECK(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0) == -1 && errno == EPERM);
    /* fork is clone without namespace flags, which stays allowed. */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(7);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7);
    return 0;
}

static void default_profile_confines_a_process(void **state)
{
    skip_unless_root(state);
    json_t *caps = json_pack("[ssss]", "CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID");
    json_t *spec = json_pack("{s:{s:b,s:{s:O,s:O,s:O}},s:{s:o}}", "process", "noNewPrivileges", 1,
                             "capabilities", "bounding", caps, "effective", caps, "permitted", caps, "linux",
                             "seccomp", servin_seccomp_default_profile(caps));
    _cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT);
    expect_ok(text, check_default_profile);
    json_decref(spec);
    json_decref(caps);
}

/* ---- rlimits ---- */

static int check_nofile_100_200(void)
{
    struct rlimit r;
    CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur == 100 && r.rlim_max == 200);
    CHECK(getrlimit(RLIMIT_CORE, &r) == 0 && r.rlim_cur == 0 && r.rlim_max == 0);
    return 0;
}

static void rlimits_lowered(void **state)
{
    skip_unless_root(state);
    expect_ok("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":200},"
              "{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0}]}}",
              check_nofile_100_200);
}

static rlim_t parent_nofile_hard;

static int check_nofile_clamped(void)
{
    struct rlimit r;
    CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
    CHECK(r.rlim_max == parent_nofile_hard);
    CHECK(r.rlim_cur == parent_nofile_hard);
    return 0;
}

static void rlimits_above_hard_limit_are_clamped(void **state)
{
    skip_unless_root(state);
    struct rlimit r;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &r), 0);
    parent_nofile_hard = r.rlim_max;
    /* Only meaningful when the kernel will refuse the raise: without CAP_SYS_RESOURCE, or past
     * fs.nr_open (1073741816 at most), which 1<<30 + 4096 always is. */
    char spec[256];
    snprintf(spec, sizeof(spec),
             "{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":%lld,\"hard\":%lld}]}}",
             (long long)(1 << 30) + 4096, (long long)(1 << 30) + 4096);
    expect_ok(spec, check_nofile_clamped);
}

static void rlimits_bad_input_is_refused(void **state)
{
    skip_unless_root(state);
    expect_error("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_WISHES\",\"soft\":1,\"hard\":1}]}}",
                 "RLIMIT_WISHES");
    expect_error("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":1}]}}",
                 "above the hard limit");
    expect_error("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0},"
                 "{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0}]}}",
                 "twice");
}

/* ---- name tables (no privilege needed) ---- */

static void capability_names_match_the_kernel(void **state)
{
    assert_int_equal(servin_cap_from_name("CAP_CHOWN"), CAP_CHOWN);
    assert_int_equal(servin_cap_from_name("chown"), CAP_CHOWN);
    assert_int_equal(servin_cap_from_name("cap_sys_admin"), CAP_SYS_ADMIN);
    assert_int_equal(servin_cap_from_name("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
    assert_int_equal(servin_cap_from_name("CAP_AUDIT_READ"), CAP_AUDIT_READ);
    assert_int_equal(servin_cap_from_name("CAP_PERFMON"), 38);
    assert_int_equal(servin_cap_from_name("CAP_BPF"), 39);
    assert_int_equal(servin_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
    assert_int_equal(servin_cap_from_name("CAP_FLY"), -1);
    assert_int_equal(servin_cap_from_name(""), -1);
    assert_null(servin_cap_name(41));
    /* Every name maps back to its own number, and libcap agrees on the spelling. */
    for (int i = 0; i <= SERVIN_CAP_MAX; i++) {
        const char *name = servin_cap_name(i);
        assert_non_null(name);
        assert_int_equal(servin_cap_from_name(name), i);
        cap_value_t v;
        if (cap_from_name(name, &v) == 0)
            assert_int_equal(v, i);
    }
    _cleanup_free_ char *names = servin_caps_mask_names(0x21);
    assert_string_equal(names, "CAP_CHOWN, CAP_KILL");
}

static void rlimit_names_round_trip(void **state)
{
    assert_int_equal(servin_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    assert_int_equal(servin_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    assert_int_equal(servin_rlimit_from_name("RLIMIT_NONE"), -1);
    assert_string_equal(servin_rlimit_name(RLIMIT_AS), "RLIMIT_AS");
    assert_string_equal(servin_rlimit_name(RLIMIT_MSGQUEUE), "RLIMIT_MSGQUEUE");
    assert_null(servin_rlimit_name(999));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(capability_names_match_the_kernel),
        cmocka_unit_test(rlimit_names_round_trip),
        cmocka_unit_test(caps_exact_sets),
        cmocka_unit_test(caps_effective_subset_of_permitted),
        cmocka_unit_test(caps_absent_object_keeps_sets),
        cmocka_unit_test(caps_unknown_name_is_named),
        cmocka_unit_test(caps_inheritable_outside_bounding_is_refused),
        cmocka_unit_test(user_ids_groups_umask_and_ambient),
        cmocka_unit_test(user_without_caps_object_drops_caps),
        cmocka_unit_test(user_setgroups_denied_is_skipped),
        cmocka_unit_test(seccomp_rules_with_no_new_privs),
        cmocka_unit_test(seccomp_without_nnp_and_without_sys_admin),
        cmocka_unit_test(seccomp_default_errno_ret),
        cmocka_unit_test(seccomp_bad_input_is_refused),
        cmocka_unit_test(bad_spec_changes_nothing),
        cmocka_unit_test(default_profile_follows_capabilities),
        cmocka_unit_test(default_profile_confines_a_process),
        cmocka_unit_test(rlimits_lowered),
        cmocka_unit_test(rlimits_above_hard_limit_are_clamped),
        cmocka_unit_test(rlimits_bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
