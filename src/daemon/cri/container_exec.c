/* daemon/cri/container_exec.c — ExecSync and container stats.
 *
 * ExecSync runs `servin exec` (this binary) as a child with pipes, as the Docker API's exec does:
 * the runtime's exec forks into the container, which a threaded daemon must not do itself. The
 * child leads its own process group; the process inside the container stays in it, so a timeout
 * kills both with one kill(-pgid). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container_internal.h"
#include "servin/cleanup.h"
#include "servin/size.h"
#include "servin/stats.h"
#include "servin/timefmt.h"

extern char **environ;

/* ExecSync output beyond this is dropped (kubelet's probes read little; a runaway must not eat
 * the daemon's memory). */
#define EXEC_SYNC_MAX (16 * 1024 * 1024)

pid_t cri_exec_spawn(struct servin_store *store, const char *id, char *const *cmd, size_t n_cmd, bool in,
                     bool tty, int in_fd, int out_fd, int err_fd)
{
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[len > 0 ? len : 0] = '\0';
    char **argv = xcalloc(n_cmd + 10, sizeof(char *));
    size_t n = 0;
    argv[n++] = len > 0 ? self : "servin";
    argv[n++] = "--root";
    argv[n++] = store->root;
    argv[n++] = "exec";
    if (in)
        argv[n++] = "-i";
    if (tty)
        argv[n++] = "-t";
    argv[n++] = (char *)id;
    for (size_t i = 0; i < n_cmd; i++)
        argv[n++] = cmd[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    posix_spawnattr_init(&attr);
    sigset_t none, pipe_only;
    sigemptyset(&none);
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &pipe_only);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, &attr, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(argv);
    return pid;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct outbuf {
    char *data;
    size_t len;
};

static void out_add(struct outbuf *b, const char *p, size_t n)
{
    if (b->len + n > EXEC_SYNC_MAX)
        n = EXEC_SYNC_MAX - b->len;
    if (n == 0)
        return;
    b->data = xrealloc(b->data, b->len + n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

int cri_exec_sync(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ExecSyncRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    struct servin_container c = {0};
    if (!store || cri_container_find(call, store, req->container_id, &c) < 0)
        return -1;
    if (req->n_cmd == 0) {
        servin_container_clear(&c);
        return cri_fail(call, GRPC_INVALID_ARGUMENT, "ExecSync: cmd is empty");
    }
    if (c.state != SERVIN_CONTAINER_RUNNING) {
        int r = cri_fail(call, GRPC_FAILED_PRECONDITION, "container %s is not running", c.id);
        servin_container_clear(&c);
        return r;
    }
    int out[2] = {-1, -1}, errp[2] = {-1, -1};
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (out[i] >= 0)
                close(out[i]);
        }
        if (null >= 0)
            close(null);
        servin_container_clear(&c);
        return cri_fail(call, GRPC_INTERNAL, "ExecSync: create pipes: %s", strerror(e));
    }
    pid_t pid = cri_exec_spawn(store, c.id, req->cmd, req->n_cmd, false, false, null, out[1], errp[1]);
    close(null);
    close(out[1]);
    close(errp[1]);
    servin_container_clear(&c);
    if (pid < 0) {
        close(out[0]);
        close(errp[0]);
        return cri_fail(call, GRPC_INTERNAL, "ExecSync: start servin exec: %s", strerror(errno));
    }
    struct outbuf bufs[2] = {{0}};
    int fds[2] = {out[0], errp[0]};
    int64_t deadline = req->timeout > 0 ? mono_ms() + req->timeout * 1000 : -1;
    int64_t call_left = cri_deadline_remaining_ms(call);
    if (call_left >= 0 && (deadline < 0 || mono_ms() + call_left < deadline))
        deadline = mono_ms() + call_left;
    bool timed_out = false;
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
        int wait_ms = deadline < 0 ? -1 : (int)(deadline - mono_ms());
        if (deadline >= 0 && wait_ms <= 0) {
            timed_out = true;
            break;
        }
        int n = poll(p, 2, wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        for (int k = 0; k < 2; k++) {
            if (!p[k].revents)
                continue;
            char buf[16384];
            ssize_t got = read(fds[k], buf, sizeof(buf));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(fds[k]);
                fds[k] = -1;
                continue;
            }
            out_add(&bufs[k], buf, (size_t)got);
        }
    }
    if (timed_out)
        kill(-pid, SIGKILL);
    for (int k = 0; k < 2; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        free(bufs[0].data);
        free(bufs[1].data);
        return cri_fail(call, GRPC_DEADLINE_EXCEEDED, "ExecSync: command %s timed out after %llds",
                        req->cmd[0], (long long)req->timeout);
    }
    Runtime__V1__ExecSyncResponse *resp = cri_new(call, &runtime__v1__exec_sync_response__descriptor);
    for (int k = 0; k < 2; k++) {
        ProtobufCBinaryData *d = k == 0 ? &resp->stdout : &resp->stderr;
        d->len = bufs[k].len;
        d->data = bufs[k].len ? cri_alloc(call, bufs[k].len) : NULL;
        if (bufs[k].len)
            memcpy(d->data, bufs[k].data, bufs[k].len);
        free(bufs[k].data);
    }
    resp->exit_code =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    *resp_msg = &resp->base;
    return 0;
}

/* ---- stats ---- */

static Runtime__V1__ContainerStats *stats_of(struct cri_call *call, struct servin_store *store,
                                             const struct servin_container *c)
{
    struct servin_stats_sample s = {0};
    struct servin_error err = {0};
    servin_container_stats(store, c, &s, &err);
    int64_t now = servin_time_now_ns();
    Runtime__V1__ContainerStats *st = cri_new(call, &runtime__v1__container_stats__descriptor);
    st->attributes = cri_new(call, &runtime__v1__container_attributes__descriptor);
    st->attributes->id = cri_strdup(call, c->id);
    st->attributes->metadata = cri_container_metadata(call, c);
    cri_container_labels(call, c, &st->attributes->base);
    st->cpu = cri_new(call, &runtime__v1__cpu_usage__descriptor);
    st->cpu->timestamp = now;
    st->cpu->usage_core_nano_seconds = cri_u64(call, s.cpu_total_ns);
    st->memory = cri_new(call, &runtime__v1__memory_usage__descriptor);
    st->memory->timestamp = now;
    uint64_t ws = s.mem_usage > s.mem_inactive_file ? s.mem_usage - s.mem_inactive_file : 0;
    st->memory->working_set_bytes = cri_u64(call, ws);
    st->memory->usage_bytes = cri_u64(call, s.mem_usage);
    if (s.mem_limit > ws)
        st->memory->available_bytes = cri_u64(call, s.mem_limit - ws);
    uint64_t rw = 0, root = 0;
    servin_error_clear(&err);
    servin_container_size(store, c, &rw, &root, &err);
    st->writable_layer = cri_new(call, &runtime__v1__filesystem_usage__descriptor);
    st->writable_layer->timestamp = now;
    st->writable_layer->fs_id = cri_new(call, &runtime__v1__filesystem_identifier__descriptor);
    st->writable_layer->fs_id->mountpoint = cri_strdup(call, store->root);
    st->writable_layer->used_bytes = cri_u64(call, rw);
    return st;
}

int cri_container_stats(struct cri_call *call, const ProtobufCMessage *req_msg, ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ContainerStatsRequest *req = (const void *)req_msg;
    struct servin_store *store = cri_store(call);
    struct servin_container c = {0};
    if (!store || cri_container_find(call, store, req->container_id, &c) < 0)
        return -1;
    Runtime__V1__ContainerStatsResponse *resp =
        cri_new(call, &runtime__v1__container_stats_response__descriptor);
    resp->stats = stats_of(call, store, &c);
    servin_container_clear(&c);
    *resp_msg = &resp->base;
    return 0;
}

int cri_list_container_stats(struct cri_call *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **resp_msg)
{
    const Runtime__V1__ListContainerStatsRequest *req = (const void *)req_msg;
    const Runtime__V1__ContainerStatsFilter *f = req->filter;
    struct servin_store *store = cri_store(call);
    if (!store)
        return -1;
    struct servin_container *list = NULL;
    size_t n = 0;
    if (cri_filter_containers(call, store, f ? f->pod_sandbox_id : NULL, &list, &n) < 0)
        return -1;
    Runtime__V1__ListContainerStatsResponse *resp =
        cri_new(call, &runtime__v1__list_container_stats_response__descriptor);
    for (size_t i = 0; i < n; i++) {
        const struct servin_container *c = &list[i];
        if (f && !cri_filter_match(c, f->id, &f->base))
            continue;
        /* kubelet asks for the stats of running containers (as containerd lists them). */
        if (c->state != SERVIN_CONTAINER_RUNNING)
            continue;
        cri_append(call, &resp->base, "stats", stats_of(call, store, c));
    }
    servin_containers_free(list, n);
    *resp_msg = &resp->base;
    return 0;
}
