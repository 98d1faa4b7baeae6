/* runtime/create.c — `create`: everything outside the container, around the init's own setup. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime_cgroup.h"
#include "runtime/runtime_internal.h"
#include "runtime/runtime_proc.h"
#include "runtime/runtime_state.h"
#include "runtime/security_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"
#include "servin/runtime.h"
#include "servin/timefmt.h"

static int listen_unix(const char *path, struct servin_error *err)
{
    struct sockaddr_un addr;
    _cleanup_close_ int dir_fd = -1;
    int ret = oci_unix_address(path, &addr, &dir_fd, err);
    if (ret < 0)
        return ret;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return servin_error_errno(err, errno, "create socket %s", path);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
        int e = errno;
        close(fd);
        return servin_error_errno(err, e, "listen on %s", path);
    }
    return fd;
}

/* Split spec namespaces into those to create and those to join by path. */
static int plan_namespaces(json_t *linux_obj, struct oci_init_args *a, int *clone_flags, int *pid_join_fd,
                           struct servin_error *err)
{
    size_t i;
    json_t *ns;
    json_array_foreach (json_object_get(linux_obj, "namespaces"), i, ns) {
        const char *type = json_string_value(json_object_get(ns, "type"));
        const char *path = json_string_value(json_object_get(ns, "path"));
        int flag = oci_ns_flag(type);
        if (!flag)
            return servin_error_set(err, EINVAL, "unknown namespace type %s", type ? type : "(none)");
        if (flag == CLONE_NEWTIME) {
            if (path && *path)
                return servin_error_set(err, ENOTSUP, "joining a time namespace by path is not supported");
            *clone_flags |= CLONE_NEWTIME; /* made by unshare in the creator: see enter_time_namespace */
            continue;
        }
        if (!path || !*path) {
            if (flag == CLONE_NEWPID || flag == CLONE_NEWUSER)
                *clone_flags |= flag;
            else
                a->unshare_flags |= flag;
            continue;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return servin_error_errno(err, errno, "open %s namespace %s", type, path);
        if (flag == CLONE_NEWPID) {
            *pid_join_fd = fd;
            continue;
        }
        if (a->n_joins >= (int)(sizeof(a->joins) / sizeof(a->joins[0]))) {
            close(fd);
            return servin_error_set(err, EINVAL, "too many namespaces to join");
        }
        a->joins[a->n_joins].flag = flag;
        a->joins[a->n_joins++].fd = fd;
    }
    return 0;
}

static void close_joins(struct oci_init_args *a)
{
    for (int i = 0; i < a->n_joins; i++)
        if (a->joins[i].fd >= 0)
            close(a->joins[i].fd);
    a->n_joins = 0;
}

/* A new time namespace is only ever for children: unshare it here, write the offsets the spec
 * asks for while no process lives in it yet, and the init is born inside. */
static int enter_time_namespace(json_t *linux_obj, struct servin_error *err)
{
    if (unshare(CLONE_NEWTIME) < 0)
        return servin_error_errno(err, errno, "create time namespace");
    json_t *offsets = json_object_get(linux_obj, "timeOffsets");
    const char *clock;
    json_t *off;
    char buf[256];
    size_t used = 0;
    json_object_foreach (offsets, clock, off) {
        if (strcmp(clock, "monotonic") != 0 && strcmp(clock, "boottime") != 0)
            return servin_error_set(err, EINVAL, "time offset for unknown clock %s", clock);
        int n = snprintf(buf + used, sizeof(buf) - used, "%s %lld %lld\n", clock,
                         (long long)json_integer_value(json_object_get(off, "secs")),
                         (long long)json_integer_value(json_object_get(off, "nanosecs")));
        if (n < 0 || (size_t)n >= sizeof(buf) - used)
            return servin_error_set(err, EINVAL, "too many time offsets");
        used += (size_t)n;
    }
    if (used == 0)
        return 0;
    _cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, used) != (ssize_t)used)
        return servin_error_errno(err, errno, "write time namespace offsets");
    return 0;
}

/* oom_score_adj below the current value needs CAP_SYS_RESOURCE, which we may lack: clamp, warn once. */
static void set_oom_score_adj(pid_t pid, json_t *process)
{
    json_t *v = json_object_get(process, "oomScoreAdj");
    if (!json_is_integer(v))
        return;
    char path[64], buf[32];
    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    int len = snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    if (write(fd, buf, (size_t)len) < 0) {
        char cur[32] = "";
        ssize_t n = pread(fd, cur, sizeof(cur) - 1, 0);
        cur[n > 0 ? n : 0] = '\0';
        cur[strcspn(cur, "\n")] = '\0';
        log_warn("oom_score_adj %s is below what this process may set; keeping %s", buf, cur);
    }
    close(fd);
}

struct create_ctx {
    const struct servin_oci_create_opts *o;
    char *dir;
    json_t *spec;
    pid_t pid;
    bool cgroup_made;
    char *cgroup_path;
};

static int run_parent_side(struct create_ctx *c, struct oci_init_args *a, int sync_fd, bool new_user,
                           struct servin_error *err)
{
    json_t *linux_obj = json_object_get(c->spec, "linux");
    int ret;
    if (new_user) {
        ret = oci_write_id_maps(c->pid, linux_obj, err);
        if (ret < 0)
            return ret;
    }
    ret = oci_cgroup_enter(c->o->id, linux_obj, c->pid, &c->cgroup_path, err);
    if (ret < 0)
        return ret;
    c->cgroup_made = true;
    set_oom_score_adj(c->pid, json_object_get(c->spec, "process"));

    json_t *state = json_pack("{s:s,s:s,s:s,s:i,s:s}", "ociVersion", SERVIN_OCI_VERSION, "id", c->o->id,
                              "status", "creating", "pid", (int)c->pid, "bundle", c->o->bundle);
    ret = oci_hooks_run(c->spec, "prestart", state, err);
    if (ret == 0)
        ret = oci_hooks_run(c->spec, "createRuntime", state, err);
    json_decref(state);
    if (ret < 0)
        return ret;

    if (oci_sync_send(sync_fd, OCI_SYNC_GO, NULL) < 0)
        return servin_error_set(err, EPIPE, "container init exited before it could be set up");
    char msg[SERVIN_ERROR_MSG_MAX];
    int tag = oci_sync_recv(sync_fd, msg, sizeof(msg));
    if (tag == OCI_SYNC_READY)
        return 0;
    if (tag == OCI_SYNC_ERROR)
        return servin_error_set(err, EINVAL, "%s", msg);
    int status = 0;
    waitpid(c->pid, &status, 0);
    c->pid = 0;
    return servin_error_set(err, ECHILD, "container init exited during setup (status %d)", status);
    (void)a;
}

static void undo(struct create_ctx *c)
{
    struct servin_error ignored = {0};
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
    }
    if (c->cgroup_made)
        oci_cgroup_destroy(c->cgroup_path, &ignored);
    if (c->dir)
        servin_rm_rf(c->dir, &ignored);
}

int servin_oci_create(const struct servin_oci_create_opts *o, pid_t *pid_out, struct servin_error *err)
{
    struct create_ctx c = {.o = o};
    _cleanup_free_ char *rootfs = NULL, *created = NULL;
    _cleanup_free_ char *bundle = realpath(o->bundle && *o->bundle ? o->bundle : ".", NULL);
    if (!bundle)
        return servin_error_errno(err, errno, "create %s: bundle %s", o->id, o->bundle ? o->bundle : ".");
    int ret = oci_state_dir(o->state_root, o->id, &c.dir, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *dir_owned = c.dir;
    struct servin_error ignored = {0};
    servin_mkdir_p(o->state_root ? o->state_root : SERVIN_OCI_DEFAULT_ROOT, 0700, &ignored);
    if (mkdir(c.dir, 0700) < 0) {
        int e = errno;
        c.dir = NULL;
        if (e == EEXIST)
            return servin_error_set(err, EEXIST, "container %s already exists", o->id);
        return servin_error_errno(err, e, "create state directory for %s", o->id);
    }

    struct servin_oci_create_opts local = *o;
    local.bundle = bundle;
    c.o = &local;
    ret = servin_spec_load(bundle, &c.spec, err);
    if (ret < 0) {
        undo(&c);
        c.dir = NULL;
        return servin_error_wrap(err, "create %s", o->id);
    }

    struct oci_init_args a = {.id = o->id,
                              .spec = c.spec,
                              .bundle = bundle,
                              .console_fd = -1,
                              .sync_fd = -1,
                              .exec_listen_fd = -1,
                              .no_pivot = o->no_pivot,
                              .preserve_fds = o->preserve_fds};
    int clone_flags = 0, pid_join_fd = -1, own_pid_ns = -1, sync[2] = {-1, -1};
    _cleanup_free_ char *exec_sock = xasprintf("%s/exec.sock", c.dir);
    /* Compiled here, once, and cached: the container process only installs it (see
     * security_seccomp_cache.c). */
    ret = servin_seccomp_prepare(json_object_get(json_object_get(c.spec, "linux"), "seccomp"),
                                 o->seccomp_cache_dir, err);
    if (ret >= 0)
        ret = plan_namespaces(json_object_get(c.spec, "linux"), &a, &clone_flags, &pid_join_fd, err);
    if (ret >= 0 && o->console_socket)
        ret = a.console_fd = oci_connect_unix(o->console_socket, err);
    if (ret >= 0)
        ret = a.exec_listen_fd = listen_unix(exec_sock, err);
    if (ret >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
        ret = servin_error_errno(err, errno, "create sync socket");
    /* Joining a pid namespace only affects children: the init is born in it, and we return to our
     * own right after the clone so that our other children (hooks) stay with us. */
    if (ret >= 0 && pid_join_fd >= 0) {
        own_pid_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pid_ns < 0 || setns(pid_join_fd, CLONE_NEWPID) < 0)
            ret = servin_error_errno(err, errno, "join pid namespace");
    }
    if (pid_join_fd >= 0)
        close(pid_join_fd);
    for (int i = 0; ret >= 0 && i < a.n_joins; i++)
        if (a.joins[i].flag == CLONE_NEWUSER && setns(a.joins[i].fd, CLONE_NEWUSER) < 0)
            ret = servin_error_errno(err, errno, "join user namespace");
    if (ret >= 0 && (clone_flags & CLONE_NEWTIME)) {
        clone_flags &= ~CLONE_NEWTIME;
        ret = enter_time_namespace(json_object_get(c.spec, "linux"), err);
    }
    if (ret < 0)
        goto fail;

    a.sync_fd = sync[1];
    a.new_user = clone_flags & CLONE_NEWUSER;
    fflush(NULL);
    /* A fork-like clone: the init starts with our memory and returns here as the child. */
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(clone_flags | SIGCHLD), NULL, NULL, NULL, 0UL);
    if (pid < 0) {
        ret = servin_error_errno(err, errno, "create the container process");
        goto fail;
    }
    if (pid == 0) {
        close(sync[0]);
        if (own_pid_ns >= 0)
            close(own_pid_ns);
        oci_init_run(&a);
    }
    c.pid = pid;
    if (own_pid_ns >= 0) {
        if (setns(own_pid_ns, CLONE_NEWPID) < 0)
            log_warn("return to our pid namespace: %s", strerror(errno));
        close(own_pid_ns);
        own_pid_ns = -1;
    }
    close(sync[1]);
    sync[1] = -1;
    close(a.exec_listen_fd);
    a.exec_listen_fd = -1;
    if (a.console_fd >= 0)
        close(a.console_fd);
    a.console_fd = -1;
    close_joins(&a);

    ret = run_parent_side(&c, &a, sync[0], clone_flags & CLONE_NEWUSER, err);
    close(sync[0]);
    sync[0] = -1;
    if (ret < 0)
        goto fail;

    struct oci_state st = {.id = (char *)o->id,
                           .bundle = bundle,
                           .pid = c.pid,
                           .pid_start = oci_pid_start_time(c.pid),
                           .cgroup_path = c.cgroup_path,
                           .annotations = json_object_get(c.spec, "annotations"),
                           .spec = c.spec};
    const char *root_path = json_string_value(json_object_get(json_object_get(c.spec, "root"), "path"));
    rootfs = root_path[0] == '/' ? xstrdup(root_path) : xasprintf("%s/%s", bundle, root_path);
    char now[SERVIN_RFC3339_MAX];
    servin_time_format_rfc3339(servin_time_now_ns(), now);
    created = xstrdup(now);
    st.rootfs = rootfs;
    st.created = created;
    ret = oci_state_save(o->state_root, &st, err);
    if (ret == 0 && o->pid_file) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", (int)c.pid);
        ret = servin_write_file_volatile(o->pid_file, buf, (size_t)n, 0644, err);
    }
    if (ret < 0)
        goto fail;
    if (pid_out)
        *pid_out = c.pid;
    json_decref(c.spec);
    free(c.cgroup_path);
    c.dir = NULL;
    return 0;

fail:
    if (own_pid_ns >= 0)
        close(own_pid_ns);
    if (sync[0] >= 0)
        close(sync[0]);
    if (sync[1] >= 0)
        close(sync[1]);
    if (a.exec_listen_fd >= 0)
        close(a.exec_listen_fd);
    if (a.console_fd >= 0)
        close(a.console_fd);
    close_joins(&a);
    undo(&c);
    c.dir = NULL;
    json_decref(c.spec);
    free(c.cgroup_path);
    return servin_error_wrap(err, "create container %s", o->id);
}
