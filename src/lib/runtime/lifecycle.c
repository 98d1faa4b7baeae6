/* runtime/lifecycle.c — start, state, kill, delete, pause/resume, ps and list. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime_cgroup.h"
#include "runtime/runtime_proc.h"
#include "runtime/runtime_state.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"
#include "servin/runtime.h"

static json_t *state_json(const struct oci_state *st)
{
    const char *status = oci_state_status(st);
    bool stopped = strcmp(status, "stopped") == 0;
    return json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:O*}", "ociVersion", SERVIN_OCI_VERSION, "id", st->id, "status",
                     status, "pid", stopped ? 0 : (int)st->pid, "bundle", st->bundle, "rootfs", st->rootfs, "created",
                     st->created, "annotations", st->annotations);
}

int servin_oci_state(const char *state_root, const char *id, json_t **out, struct servin_error *err)
{
    struct oci_state st;
    int ret = oci_state_load(state_root, id, &st, err);
    if (ret < 0)
        return ret;
    *out = state_json(&st);
    oci_state_clear(&st);
    return 0;
}

/* Connect to the waiting init: it exec's (closing the connection on exec) or says why it could not. */
static int release_init(const char *dir, const char *id, bool *reached, struct servin_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/exec.sock", dir);
    _cleanup_close_ int fd = oci_connect_unix(path, err);
    if (fd < 0)
        return servin_error_wrap(err, "start container %s: reach its init", id);
    *reached = true;
    char msg[SERVIN_ERROR_MSG_MAX];
    int tag = oci_sync_recv(fd, msg, sizeof(msg));
    unlink(path);
    if (tag == OCI_SYNC_ERROR)
        return servin_error_set(err, ENOEXEC, "start container %s: %s", id, msg);
    return 0;
}

int servin_oci_start(const char *state_root, const char *id, struct servin_error *err)
{
    _cleanup_free_ char *dir = NULL;
    struct oci_state st;
    int ret = oci_state_load(state_root, id, &st, err);
    if (ret < 0)
        return ret;
    const char *status = oci_state_status(&st);
    bool reached = false;
    if (strcmp(status, "created") != 0)
        ret = servin_error_set(err, EINVAL, "cannot start container %s: it is %s, not created", id, status);
    else if ((ret = oci_state_dir(state_root, id, &dir, err)) == 0)
        ret = release_init(dir, id, &reached, err);
    if (reached) {
        struct servin_error ignored = {0};
        st.started = true;
        oci_state_save(state_root, &st, &ignored);
    }
    if (ret == 0) {
        json_t *state = state_json(&st);
        struct servin_error hook_err = {0};
        if (oci_hooks_run(st.spec, "poststart", state, &hook_err) < 0)
            log_warn("%s", hook_err.msg); /* the spec says poststart failures are only logged */
        json_decref(state);
    }
    oci_state_clear(&st);
    return ret;
}

int servin_oci_kill(const char *state_root, const char *id, int sig, bool all, struct servin_error *err)
{
    struct oci_state st;
    int ret = oci_state_load(state_root, id, &st, err);
    if (ret < 0)
        return ret;
    if (all && st.cgroup_path)
        ret = oci_cgroup_signal_all(st.cgroup_path, sig, err);
    else if (!oci_state_alive(&st))
        ret = servin_error_set(err, ESRCH, "cannot kill container %s: it is not running", id);
    else if (kill(st.pid, sig) < 0)
        ret = servin_error_errno(err, errno, "kill container %s", id);
    oci_state_clear(&st);
    return ret;
}

static void wait_gone(const struct oci_state *st)
{
    /* Our init is usually not our child: poll its start time until the kernel has reaped it. */
    for (int i = 0; i < 1000 && oci_state_alive(st); i++) {
        waitpid(st->pid, NULL, WNOHANG);
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int servin_oci_delete(const char *state_root, const char *id, bool force, struct servin_error *err)
{
    _cleanup_free_ char *dir = NULL;
    struct oci_state st;
    int ret = oci_state_load(state_root, id, &st, err);
    if (ret < 0)
        return ret;
    const char *status = oci_state_status(&st);
    if (strcmp(status, "stopped") != 0 && strcmp(status, "created") != 0 && !force) {
        ret = servin_error_set(err, EBUSY, "cannot delete container %s that is not stopped: %s", id, status);
        goto out;
    }
    if (oci_state_alive(&st)) {
        if (st.cgroup_path) {
            oci_cgroup_freeze(st.cgroup_path, false, err);
            oci_cgroup_signal_all(st.cgroup_path, SIGKILL, err);
        }
        kill(st.pid, SIGKILL);
        wait_gone(&st);
    }
    if (st.cgroup_path) {
        ret = oci_cgroup_destroy(st.cgroup_path, err);
        if (ret < 0)
            goto out;
    }
    json_t *state = state_json(&st);
    struct servin_error hook_err = {0};
    if (oci_hooks_run(st.spec, "poststop", state, &hook_err) < 0)
        log_warn("%s", hook_err.msg);
    json_decref(state);
    oci_state_dir(state_root, id, &dir, err);
    ret = servin_rm_rf(dir, err);
out:
    oci_state_clear(&st);
    return ret;
}

static int set_frozen(const char *state_root, const char *id, bool frozen, struct servin_error *err)
{
    struct oci_state st;
    int ret = oci_state_load(state_root, id, &st, err);
    if (ret < 0)
        return ret;
    const char *status = oci_state_status(&st);
    const char *want = frozen ? "running" : "paused";
    if (strcmp(status, want) != 0)
        ret = servin_error_set(err, EINVAL, "cannot %s container %s: it is %s", frozen ? "pause" : "resume", id, status);
    else if (!st.cgroup_path)
        ret = servin_error_set(err, ENOTSUP, "container %s has no cgroup to freeze", id);
    else
        ret = oci_cgroup_freeze(st.cgroup_path, frozen, err);
    oci_state_clear(&st);
    return ret;
}

int servin_oci_pause(const char *state_root, const char *id, struct servin_error *err)
{
    return set_frozen(state_root, id, true, err);
}

int servin_oci_resume(const char *state_root, const char *id, struct servin_error *err)
{
    return set_frozen(state_root, id, false, err);
}

int servin_oci_pids(const char *state_root, const char *id, pid_t **pids, size_t *n, struct servin_error *err)
{
    struct oci_state st;
    int ret = oci_state_load(state_root, id, &st, err);
    if (ret < 0)
        return ret;
    if (st.cgroup_path)
        ret = oci_cgroup_pids(st.cgroup_path, pids, n, err);
    else {
        *n = oci_state_alive(&st) ? 1 : 0;
        *pids = xcalloc(1, sizeof(pid_t));
        (*pids)[0] = st.pid;
    }
    oci_state_clear(&st);
    return ret;
}

int servin_oci_cgroup(const char *state_root, const char *id, struct servin_cgroup **out, struct servin_error *err)
{
    struct oci_state st;
    int ret = oci_state_load(state_root, id, &st, err);
    if (ret < 0)
        return ret;
    if (!st.cgroup_path)
        ret = servin_error_set(err, ENOENT, "container %s has no cgroup", id);
    else
        ret = oci_cgroup_open(st.cgroup_path, out, err);
    oci_state_clear(&st);
    return ret;
}

int servin_oci_list(const char *state_root, json_t **list, struct servin_error *err)
{
    const char *root = state_root ? state_root : SERVIN_OCI_DEFAULT_ROOT;
    *list = json_array();
    DIR *d = opendir(root);
    if (!d)
        return errno == ENOENT ? 0 : servin_error_errno(err, errno, "list containers in %s", root);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct oci_state st;
        struct servin_error ignored = {0};
        if (oci_state_load(state_root, e->d_name, &st, &ignored) < 0)
            continue; /* still being created, or not ours */
        json_array_append_new(*list, state_json(&st));
        oci_state_clear(&st);
    }
    closedir(d);
    return 0;
}

int servin_oci_wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 125;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 125;
}
