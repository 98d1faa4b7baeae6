/* runtime/init.c — the container init: namespaces, root filesystem, console, then execve. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"
#include "runtime/runtime_proc.h"
#include "servin/cleanup.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

static int join_and_unshare(struct oci_init_args *a, struct servin_error *err)
{
    if (a->new_user) {
        /* The creator has written our id maps by now: become the namespace's root. */
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
            return servin_error_errno(err, errno, "become root in the new user namespace");
    }
    if (a->unshare_flags && unshare(a->unshare_flags) < 0)
        return servin_error_errno(err, errno, "create namespaces (flags 0x%x)", a->unshare_flags);
    for (int i = 0; i < a->n_joins; i++) {
        if (a->joins[i].flag == CLONE_NEWUSER || a->joins[i].flag == CLONE_NEWPID)
            continue; /* joined before the clone */
        if (setns(a->joins[i].fd, a->joins[i].flag) < 0)
            return servin_error_errno(err, errno, "join namespace 0x%x", a->joins[i].flag);
        close(a->joins[i].fd);
    }
    return 0;
}

/* Keys a container may set: namespaced ones only (CVE-2022-0811 came from trusting the rest). */
static bool sysctl_allowed(const char *key, int unshared)
{
    static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                           "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (size_t i = 0; i < sizeof(ipc_keys) / sizeof(ipc_keys[0]); i++)
        if (strcmp(key, ipc_keys[i]) == 0)
            return unshared & CLONE_NEWIPC;
    if (strncmp(key, "fs.mqueue.", 10) == 0)
        return unshared & CLONE_NEWIPC;
    if (strncmp(key, "net.", 4) == 0)
        return unshared & CLONE_NEWNET;
    if (strcmp(key, "kernel.domainname") == 0 || strcmp(key, "kernel.hostname") == 0)
        return unshared & CLONE_NEWUTS;
    return false;
}

static int apply_sysctls(json_t *sysctl, int unshared, struct servin_error *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(sysctl, key, val)
    {
        const char *value = json_string_value(val);
        if (!value || strpbrk(value, "\n=+") || !sysctl_allowed(key, unshared) || strstr(key, ".."))
            return servin_error_set(err, EPERM, "sysctl %s=%s is not allowed in this container", key,
                                    value ? value : "?");
        char path[PATH_MAX] = "/proc/sys/";
        size_t off = strlen(path);
        for (const char *k = key; *k && off < sizeof(path) - 1; k++)
            path[off++] = *k == '.' ? '/' : *k;
        path[off] = '\0';
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        struct statfs fs;
        if (fd < 0)
            return servin_error_errno(err, errno, "set sysctl %s", key);
        /* A /proc from the image or a volume must not receive our writes (CVE-2019-16884). */
        if (fstatfs(fd, &fs) < 0 || fs.f_type != PROC_SUPER_MAGIC)
            return servin_error_set(err, EPERM, "set sysctl %s: %s is not on procfs", key, path);
        if (write(fd, value, strlen(value)) < 0)
            return servin_error_errno(err, errno, "set sysctl %s=%s", key, value);
    }
    return 0;
}

/* terminal: true — a pty from the container's own devpts; the master goes to the console socket. */
static int setup_console(struct oci_init_args *a, struct servin_error *err)
{
    json_t *size = json_object_get(json_object_get(a->spec, "process"), "consoleSize");
    int slave = oci_open_console(a->console_fd, size, err);
    close(a->console_fd);
    a->console_fd = -1;
    if (slave < 0)
        return slave;
    int ret = servin_rootfs_bind_console(slave, err);
    if (ret < 0) {
        close(slave);
        return ret;
    }
    return oci_take_console(slave, err);
}

static int enter_cwd(json_t *process, struct servin_error *err)
{
    const char *cwd = json_string_value(json_object_get(process, "cwd"));
    if (chdir(cwd) < 0)
        return servin_error_errno(err, errno, "change to working directory %s", cwd);
    /* Only now, after pivot_root, and verified: a leaked host fd must not become our cwd
     * (CVE-2024-21626). getcwd reports "(unreachable)" for a directory outside the root. */
    char buf[PATH_MAX];
    if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
        return servin_error_set(err, EPERM, "working directory %s is outside the container", cwd);
    return 0;
}

/* A new network namespace starts with its loopback down; like crun, bring it up, so that a
 * container without other networks can still talk to itself. */
static int loopback_up(struct servin_error *err)
{
    _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return servin_error_errno(err, errno, "read the flags of the loopback interface");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        return servin_error_errno(err, errno, "bring up the loopback interface");
    return 0;
}

static _Noreturn void fail(struct oci_init_args *a, int conn, const struct servin_error *err, int code)
{
    oci_sync_send(conn >= 0 ? conn : a->sync_fd, OCI_SYNC_ERROR, err->msg);
    _exit(code);
}

_Noreturn void oci_init_run(struct oci_init_args *a)
{
    struct servin_error err = {0};
    json_t *process = json_object_get(a->spec, "process");
    json_t *linux_obj = json_object_get(a->spec, "linux");

    char tag = 0;
    char text[64];
    int r = oci_sync_recv(a->sync_fd, text, sizeof(text));
    tag = r > 0 ? (char)r : 0;
    if (tag != OCI_SYNC_GO)
        _exit(1); /* the creator gave up; it cleans up */

    if (join_and_unshare(a, &err) < 0)
        fail(a, -1, &err, 1);
    /* createContainer: in the container's namespaces, before pivot_root, so paths are the host's. */
    json_t *hook_state = oci_hook_state(a->id, "created", getpid(), a->bundle, a->spec);
    if (oci_hooks_run(a->spec, "createContainer", hook_state, &err) < 0)
        fail(a, -1, &err, 1);
    if (servin_rootfs_prepare(a->spec, a->bundle, a->no_pivot, &err) < 0)
        fail(a, -1, &err, 1);

    const char *hostname = json_string_value(json_object_get(a->spec, "hostname"));
    if (hostname && sethostname(hostname, strlen(hostname)) < 0) {
        servin_error_errno(&err, errno, "set hostname %s", hostname);
        fail(a, -1, &err, 1);
    }
    const char *domain = json_string_value(json_object_get(a->spec, "domainname"));
    if (domain && setdomainname(domain, strlen(domain)) < 0) {
        servin_error_errno(&err, errno, "set domain name %s", domain);
        fail(a, -1, &err, 1);
    }
    if (apply_sysctls(json_object_get(linux_obj, "sysctl"), a->unshare_flags, &err) < 0)
        fail(a, -1, &err, 1);
    if ((a->unshare_flags & CLONE_NEWNET) && loopback_up(&err) < 0)
        fail(a, -1, &err, 1);
    if (json_is_true(json_object_get(process, "terminal"))) {
        if (a->console_fd < 0) {
            servin_error_set(&err, EINVAL, "process.terminal is true but no --console-socket was given");
            fail(a, -1, &err, 1);
        }
        if (setup_console(a, &err) < 0)
            fail(a, -1, &err, 1);
    }
    if (enter_cwd(process, &err) < 0)
        fail(a, -1, &err, 1);
    if (servin_process_finalize(a->spec, &err) < 0)
        fail(a, -1, &err, 1);

    /* Created: tell the creator, then wait for `start` to connect. */
    oci_sync_send(a->sync_fd, OCI_SYNC_READY, NULL);
    close(a->sync_fd);
    int conn;
    do
        conn = accept4(a->exec_listen_fd, NULL, NULL, SOCK_CLOEXEC);
    while (conn < 0 && errno == EINTR);
    if (conn < 0)
        _exit(1);
    close(a->exec_listen_fd);
    /* startContainer: after start, inside the container, before the user's program. */
    if (oci_hooks_run(a->spec, "startContainer", hook_state, &err) < 0)
        fail(a, conn, &err, 1);
    json_decref(hook_state);

    json_t *args = json_object_get(process, "args");
    json_t *env = json_object_get(process, "env");
    _cleanup_free_ char *program = oci_find_program(json_string_value(json_array_get(args, 0)), env);
    if (!program) {
        servin_error_set(&err, ENOENT, "exec %s: executable file not found in $PATH",
                         json_string_value(json_array_get(args, 0)));
        fail(a, conn, &err, 127);
    }
    /* Nothing of ours may reach the container: every fd past the preserved ones closes on exec. */
    for (int fd = 3; fd < 3 + a->preserve_fds; fd++)
        fcntl(fd, F_SETFD, 0);
    syscall(SYS_close_range, 3 + a->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    char **argv = oci_strv_from_json(args);
    char **envp = oci_strv_from_json(env);
    execve(program, argv, envp);
    int e = errno;
    servin_error_errno(&err, e, "exec %s", program);
    fail(a, conn, &err, e == ENOENT ? 127 : 126);
}
