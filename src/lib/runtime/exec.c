/* runtime/exec.c — `exec`: one more process in a running container.
 *
 * The creator joins the container's pid namespace (which only affects its children), forks, and
 * the child joins the other namespaces of the container's init, waits until the creator has put it
 * in the container's cgroup, then sets itself up like the init does (cwd, console, user,
 * capabilities, no_new_privs, the container's seccomp) and execs. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"
#include "runtime/runtime_proc.h"
#include "runtime/runtime_state.h"
#include "runtime/security_internal.h"
#include "servin/cgroup.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/runtime.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Order matters: the user namespace first (it grants rights over the others), mount last but one
 * so that paths opened before it still resolve on the host, then the cgroup namespace. */
static const struct {
    const char *name;
    int flag;
} ns_order[] = {{"user", CLONE_NEWUSER},    {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},
                {"net", CLONE_NEWNET},      {"time", CLONE_NEWTIME}, {"mnt", CLONE_NEWNS},
                {"cgroup", CLONE_NEWCGROUP}};

int servin_oci_process_template(const char *state_root, const char *id, json_t **process,
                                struct servin_error *err)
{
    struct oci_state st;
    int ret = oci_state_load(state_root, id, &st, err);
    if (ret < 0)
        return ret;
    *process = json_deep_copy(json_object_get(st.spec, "process"));
    if (!*process)
        *process = json_object();
    oci_state_clear(&st);
    return 0;
}

static bool same_ns(pid_t pid, const char *name)
{
    char a[64], b[64];
    struct stat sa, sb;
    snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, name);
    snprintf(b, sizeof(b), "/proc/self/ns/%s", name);
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

struct exec_child {
    json_t *spec; /* {"process": ..., "linux": {"seccomp": ...}} for servin_process_finalize */
    int ns_fds[7];
    int sync_fd;
    int console_fd;
    int preserve_fds;
};

static _Noreturn void child_fail(struct exec_child *c, const struct servin_error *err, int code)
{
    oci_sync_send(c->sync_fd, OCI_SYNC_ERROR, err->msg);
    _exit(code);
}

static _Noreturn void exec_child_run(struct exec_child *c)
{
    struct servin_error err = {0};
    json_t *process = json_object_get(c->spec, "process");
    char buf[16];
    if (oci_sync_recv(c->sync_fd, buf, sizeof(buf)) != OCI_SYNC_GO)
        _exit(1);
    for (size_t i = 0; i < sizeof(ns_order) / sizeof(ns_order[0]); i++) {
        if (c->ns_fds[i] < 0)
            continue;
        if (setns(c->ns_fds[i], ns_order[i].flag) < 0) {
            servin_error_errno(&err, errno, "join the container's %s namespace", ns_order[i].name);
            child_fail(c, &err, 1);
        }
        close(c->ns_fds[i]);
    }
    if (json_is_true(json_object_get(process, "terminal"))) {
        if (c->console_fd < 0) {
            servin_error_set(&err, EINVAL, "a terminal was asked for but no --console-socket was given");
            child_fail(c, &err, 1);
        }
        int slave = oci_open_console(c->console_fd, json_object_get(process, "consoleSize"), &err);
        close(c->console_fd);
        if (slave < 0 || oci_take_console(slave, &err) < 0)
            child_fail(c, &err, 1);
    }
    const char *cwd = json_string_value(json_object_get(process, "cwd"));
    char here[4096];
    if (chdir(cwd ? cwd : "/") < 0) {
        servin_error_errno(&err, errno, "change to working directory %s", cwd ? cwd : "/");
        child_fail(c, &err, 1);
    }
    /* CVE-2024-21626: the working directory must be inside the container's root. */
    if (!getcwd(here, sizeof(here)) || here[0] != '/') {
        servin_error_set(&err, EPERM, "working directory %s is outside the container", cwd);
        child_fail(c, &err, 1);
    }
    if (servin_process_finalize(c->spec, &err) < 0)
        child_fail(c, &err, 1);
    json_t *args = json_object_get(process, "args");
    json_t *env = json_object_get(process, "env");
    _cleanup_free_ char *program = oci_find_program(json_string_value(json_array_get(args, 0)), env);
    if (!program) {
        servin_error_set(&err, ENOENT, "exec %s: executable file not found in $PATH",
                         json_string_value(json_array_get(args, 0)));
        child_fail(c, &err, 127);
    }
    char **argv = oci_strv_from_json(args), **envp = oci_strv_from_json(env);
    for (int fd = 3; fd < 3 + c->preserve_fds; fd++)
        fcntl(fd, F_SETFD, 0);
    syscall(SYS_close_range, 3 + c->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    /* The sync socket closes on exec: that tells the creator the program started. */
    execve(program, argv, envp);
    int e = errno;
    servin_error_errno(&err, e, "exec %s", program);
    child_fail(c, &err, e == ENOENT ? 127 : 126);
}

int servin_oci_exec(const struct servin_oci_exec_opts *o, pid_t *pid_out, int *exit_code,
                    struct servin_error *err)
{
    struct oci_state st;
    int ret = oci_state_load(o->state_root, o->id, &st, err);
    if (ret < 0)
        return ret;
    struct exec_child c = {.sync_fd = -1, .console_fd = -1, .preserve_fds = o->preserve_fds};
    for (size_t i = 0; i < sizeof(c.ns_fds) / sizeof(c.ns_fds[0]); i++)
        c.ns_fds[i] = -1;
    int sync[2] = {-1, -1}, pid_ns = -1, own_pid_ns = -1;
    pid_t pid = -1;
    struct servin_cgroup *cg = NULL;
    if (strcmp(oci_state_status(&st), "running") != 0) {
        ret = servin_error_set(err, EINVAL, "cannot exec in container %s: it is %s", o->id,
                               oci_state_status(&st));
        goto out;
    }
    json_t *process = o->process;
    if (!json_is_array(json_object_get(process, "args")) ||
        json_array_size(json_object_get(process, "args")) == 0) {
        ret = servin_error_set(err, EINVAL, "exec in %s: no command given", o->id);
        goto out;
    }
    c.spec = json_pack("{s:O,s:{s:O*}}", "process", process, "linux", "seccomp",
                       json_object_get(json_object_get(st.spec, "linux"), "seccomp"));
    ret = servin_seccomp_prepare(json_object_get(json_object_get(c.spec, "linux"), "seccomp"),
                                 o->seccomp_cache_dir, err);
    if (ret < 0)
        goto out;
    for (size_t i = 0; i < sizeof(ns_order) / sizeof(ns_order[0]); i++) {
        if (same_ns(st.pid, ns_order[i].name))
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)st.pid, ns_order[i].name);
        c.ns_fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (c.ns_fds[i] < 0 && errno != ENOENT) {
            ret = servin_error_errno(err, errno, "exec in %s: open %s", o->id, path);
            goto out;
        }
    }
    if (!same_ns(st.pid, "pid")) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)st.pid);
        own_pid_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        pid_ns = open(path, O_RDONLY | O_CLOEXEC);
        if (own_pid_ns < 0 || pid_ns < 0 || setns(pid_ns, CLONE_NEWPID) < 0) {
            ret = servin_error_errno(err, errno, "exec in %s: join its pid namespace", o->id);
            goto out;
        }
    }
    if (o->console_socket && (ret = c.console_fd = oci_connect_unix(o->console_socket, err)) < 0)
        goto out;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
        ret = servin_error_errno(err, errno, "exec in %s: create sync socket", o->id);
        goto out;
    }
    c.sync_fd = sync[1];
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        ret = servin_error_errno(err, errno, "exec in %s: fork", o->id);
        goto out;
    }
    if (pid == 0) {
        close(sync[0]);
        exec_child_run(&c);
    }
    close(sync[1]);
    sync[1] = -1;
    /* Our later children (hooks, LeakSanitizer's tracer) belong in our own pid namespace. */
    if (own_pid_ns >= 0 && setns(own_pid_ns, CLONE_NEWPID) < 0) {
        ret = servin_error_errno(err, errno, "exec in %s: return to our pid namespace", o->id);
        goto out;
    }
    if (st.cgroup_path) {
        json_t *j = json_loads(st.cgroup_path, 0, NULL);
        ret = j ? servin_cgroup_from_json(j, &cg, err) : servin_error_set(err, EIO, "bad cgroup record");
        json_decref(j);
        if (ret == 0)
            ret = servin_cgroup_add_pid(cg, pid, err);
        if (ret < 0)
            goto out;
    }
    oci_sync_send(sync[0], OCI_SYNC_GO, NULL);
    char msg[SERVIN_ERROR_MSG_MAX];
    int tag = oci_sync_recv(sync[0], msg, sizeof(msg));
    if (tag == OCI_SYNC_ERROR) {
        int status = 0;
        waitpid(pid, &status, 0);
        pid = -1;
        /* 126/127, as a shell reports a command it cannot run or find. */
        *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 125;
        ret = servin_error_set(err, ENOEXEC, "exec in %s: %s", o->id, msg);
        goto out;
    }
    if (o->pid_file) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
        ret = servin_write_file_volatile(o->pid_file, buf, (size_t)n, 0644, err);
        if (ret < 0)
            goto out;
    }
    if (pid_out)
        *pid_out = pid;
    *exit_code = o->detach ? 0 : servin_oci_wait_child(pid);
    pid = -1;
    ret = 0;
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    for (size_t i = 0; i < sizeof(c.ns_fds) / sizeof(c.ns_fds[0]); i++)
        if (c.ns_fds[i] >= 0)
            close(c.ns_fds[i]);
    if (pid_ns >= 0)
        close(pid_ns);
    if (own_pid_ns >= 0)
        close(own_pid_ns);
    if (sync[0] >= 0)
        close(sync[0]);
    if (sync[1] >= 0)
        close(sync[1]);
    if (c.console_fd >= 0)
        close(c.console_fd);
    servin_cgroup_free(cg);
    json_decref(c.spec);
    oci_state_clear(&st);
    return ret;
}
