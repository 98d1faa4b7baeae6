/* runtime/hooks.c — OCI hooks: programs run with the container state on their stdin. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime_proc.h"
#include "servin/cleanup.h"

static int run_one(json_t *hook, const char *state_text, const char *kind, struct servin_error *err)
{
    const char *path = json_string_value(json_object_get(hook, "path"));
    if (!path || path[0] != '/')
        return servin_error_set(err, EINVAL, "%s hook: path must be absolute", kind);
    long timeout = json_is_integer(json_object_get(hook, "timeout")) ? (long)json_integer_value(json_object_get(hook, "timeout")) : -1;
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return servin_error_errno(err, errno, "%s hook %s", kind, path);
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(in[1]);
        return servin_error_errno(err, errno, "%s hook %s", kind, path);
    }
    if (pid == 0) {
        dup2(in[0], 0);
        /* With no args, the program still gets its path as argv[0]. */
        json_t *args = json_object_get(hook, "args");
        char *only_path[] = {(char *)path, NULL};
        char **argv = json_array_size(args) ? oci_strv_from_json(args) : only_path;
        char **envp = oci_strv_from_json(json_object_get(hook, "env"));
        execve(path, argv, envp);
        _exit(127);
    }
    close(in[0]);
    /* A hook that does not read its stdin must not kill us with SIGPIPE. Ignore it only for this
     * write: an ignored signal survives execve, and the init runs hooks before the user's program. */
    struct sigaction ignore = {.sa_handler = SIG_IGN}, saved;
    sigaction(SIGPIPE, &ignore, &saved);
    ssize_t unused = write(in[1], state_text, strlen(state_text));
    (void)unused;
    sigaction(SIGPIPE, &saved, NULL);
    close(in[1]);

    int status = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t r = waitpid(pid, &status, timeout > 0 ? WNOHANG : 0);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return servin_error_errno(err, errno, "%s hook %s", kind, path);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (timeout > 0 && now.tv_sec - start.tv_sec >= timeout) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return servin_error_set(err, ETIMEDOUT, "%s hook %s timed out after %lds", kind, path, timeout);
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return servin_error_set(err, ECANCELED, "%s hook %s failed (exit status %d)", kind, path,
                                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}

json_t *oci_hook_state(const char *id, const char *status, pid_t pid, const char *bundle, json_t *spec)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:s,s:O*}", "ociVersion", "1.0.2", "id", id, "status", status, "pid", (int)pid,
                     "bundle", bundle, "annotations", json_object_get(spec, "annotations"));
}

int oci_hooks_run(json_t *spec, const char *kind, json_t *state, struct servin_error *err)
{
    json_t *hooks = json_object_get(json_object_get(spec, "hooks"), kind);
    if (json_array_size(hooks) == 0)
        return 0;
    _cleanup_free_ char *text = json_dumps(state, JSON_COMPACT);
    size_t i;
    json_t *hook;
    json_array_foreach(hooks, i, hook)
    {
        int ret = run_one(hook, text, kind, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}
