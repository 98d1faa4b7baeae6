/* network/backend_cni.c — run CNI plugins: ADD, DEL and CHECK along a network's plugin chain.
 *
 * Each plugin is an executable named by its "type", looked up in the bin dirs; it gets its config
 * on stdin and the CNI_* variables in its environment, and answers with a result (ADD) or an
 * error object on stdout. Runs on one network go one at a time (a host-wide lock per network
 * name): the bridge plugin creates the shared bridge and its address on first use, and two first
 * uses at once can fail on each other. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "network/cni_internal.h"
#include "servin/cleanup.h"
#include "servin/cni.h"
#include "servin/fs.h"
#include "servin/log.h"
#include "servin/store.h"

#define CNI_LOCK_DIR SERVIN_DEFAULT_RUN_ROOT "/cni"
/* A plugin that hangs (a stuck iptables lock, a DHCP server that never answers) fails the call. */
#define CNI_TIMEOUT_MS 60000

static char *find_plugin(const char *bin_dir, const char *type)
{
    _cleanup_free_ char *dirs = xstrdup(bin_dir);
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *path = xasprintf("%s/%s", d, type);
        if (access(path, X_OK) == 0)
            return path;
        free(path);
    }
    return NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    *buf = xrealloc(*buf, *len + n + 1);
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Run one plugin; *out gets its stdout, *errtext its stderr. Returns its exit status (>= 0), or a
 * negative errno with err set when it could not be run. */
static int exec_plugin(const char *path, char **envp, const char *input, char **out, char **errtext,
                       struct servin_error *err)
{
    int in[2] = {-1, -1}, op[2] = {-1, -1}, ep[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
        int e = errno;
        for (int *p = in; p; p = p == in ? op : p == op ? ep : NULL) {
            if (p[0] >= 0)
                close(p[0]);
            if (p[1] >= 0)
                close(p[1]);
        }
        return servin_error_errno(err, e, "pipe");
    }
    char *argv[] = {(char *)path, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(op[1], 1);
        dup2(ep[1], 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        _exit(127);
    }
    int fork_errno = errno;
    close(in[0]);
    close(op[1]);
    close(ep[1]);
    if (pid < 0) {
        close(in[1]);
        close(op[0]);
        close(ep[0]);
        return servin_error_errno(err, fork_errno, "fork to run %s", path);
    }
    /* The config is small (a few KiB, under the pipe buffer) but write it with the reads anyway. */
    size_t in_len = strlen(input), in_off = 0;
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    size_t out_len = 0, err_len = 0;
    *out = xstrdup("");
    *errtext = xstrdup("");
    struct pollfd fds[3] = {{op[0], POLLIN, 0}, {ep[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    int64_t deadline = now_ms() + CNI_TIMEOUT_MS;
    bool timed_out = false;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        int r = poll(fds, 3, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = (fds[2].revents & POLLOUT) ? write(in[1], input + in_off, in_len - in_off) : -1;
            if (w > 0)
                in_off += (size_t)w;
            if (w < 0 || in_off == in_len) {
                close(in[1]);
                in[1] = -1;
                fds[2].fd = -1;
            }
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t n = read(fds[k].fd, buf, sizeof(buf));
            if (n > 0)
                append(k == 0 ? out : errtext, k == 0 ? &out_len : &err_len, buf, (size_t)n);
            else if (n == 0 || errno != EINTR) {
                close(fds[k].fd);
                fds[k].fd = -1;
            }
        }
    }
    for (int k = 0; k < 2; k++)
        if (fds[k].fd >= 0)
            close(fds[k].fd);
    if (in[1] >= 0)
        close(in[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out)
        return servin_error_set(err, ETIMEDOUT, "CNI plugin %s did not finish within %d s", path,
                                CNI_TIMEOUT_MS / 1000);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !**out)
        return servin_error_set(err, ENOEXEC, "cannot run CNI plugin %s", path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *first_line(const char *s)
{
    while (*s == '\n' || *s == ' ')
        s++;
    size_t n = strcspn(s, "\n");
    return xstrndup(s, n);
}

static int lock_network(const char *name, int *fd, struct servin_error *err)
{
    int ret = servin_mkdir_p(CNI_LOCK_DIR, 0700, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *path = xasprintf("%s/%s.lock", CNI_LOCK_DIR, name);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return servin_error_errno(err, errno, "open %s", path);
    while (flock(*fd, LOCK_EX) < 0)
        if (errno != EINTR) {
            int e = errno;
            close(*fd);
            *fd = -1;
            return servin_error_errno(err, e, "lock %s", path);
        }
    return 0;
}

/* Run plugin i with command; for ADD *result gets its parsed output. */
static int run_one(const struct servin_cni_net *net, size_t i, const char *command,
                   const struct servin_cni_runtime *rt, json_t *prev_result, json_t **result,
                   struct servin_error *err)
{
    json_t *plugin = json_array_get(net->plugins, i);
    const char *type = json_string_value(json_object_get(plugin, "type"));
    _cleanup_free_ char *path = find_plugin(net->bin_dir, type);
    if (!path)
        return servin_error_set(err, ENOENT, "CNI plugin \"%s\" of network %s not found in %s", type,
                                net->name, net->bin_dir);
    json_t *conf = servin_cni_plugin_config(net, i, prev_result, rt);
    _cleanup_free_ char *input = json_dumps(conf, JSON_COMPACT);
    json_decref(conf);
    _cleanup_free_ char *args =
        xasprintf("IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s;"
                  "K8S_POD_UID=%s",
                  rt->k8s_namespace ? rt->k8s_namespace : "", rt->k8s_name ? rt->k8s_name : "",
                  rt->container_id, rt->k8s_uid ? rt->k8s_uid : "");
    char *envp[] = {
        xasprintf("CNI_COMMAND=%s", command),
        xasprintf("CNI_CONTAINERID=%s", rt->container_id),
        xasprintf("CNI_NETNS=%s", rt->netns ? rt->netns : ""),
        xasprintf("CNI_IFNAME=%s", rt->ifname ? rt->ifname : "eth0"),
        xasprintf("CNI_PATH=%s", net->bin_dir),
        xasprintf("CNI_ARGS=%s", args),
        xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        NULL,
    };
    _cleanup_free_ char *out = NULL, *errtext = NULL;
    int status = exec_plugin(path, envp, input, &out, &errtext, err);
    for (char **e = envp; *e; e++)
        free(*e);
    if (status < 0)
        return servin_error_wrap(err, "CNI %s on network %s", command, net->name);
    json_t *j = *out ? json_loads(out, 0, NULL) : NULL;
    if (status != 0) {
        const char *msg = json_string_value(json_object_get(j, "msg"));
        const char *details = json_string_value(json_object_get(j, "details"));
        _cleanup_free_ char *line = first_line(*errtext ? errtext : out);
        int ret = servin_error_set(err, EIO, "CNI plugin %s %s on network %s failed: %s%s%s", type, command,
                                   net->name, msg ? msg : (*line ? line : "exit status"),
                                   details && *details ? ": " : "", details && *details ? details : "");
        if (!msg && !*line)
            servin_error_set(err, EIO, "CNI plugin %s %s on network %s failed with exit status %d", type,
                             command, net->name, status);
        json_decref(j);
        return ret;
    }
    if (result) {
        if (!j && *out) {
            _cleanup_free_ char *line = first_line(out);
            return servin_error_set(err, EIO, "CNI plugin %s %s on network %s: result is not JSON: %s", type,
                                    command, net->name, line);
        }
        *result = j;
    } else
        json_decref(j);
    return 0;
}

int servin_cni_del(const struct servin_cni_net *net, const struct servin_cni_runtime *rt, json_t *prev_result,
                   struct servin_error *err)
{
    _cleanup_close_ int lock = -1;
    int ret = lock_network(net->name, &lock, err);
    if (ret < 0)
        return ret;
    /* DEL gets prevResult from 0.4.0 on. */
    json_t *prev = cni_version_cmp(net->cni_version, "0.4.0") >= 0 ? prev_result : NULL;
    int first = 0;
    struct servin_error one = {0};
    for (size_t i = json_array_size(net->plugins); i-- > 0;) {
        int r = run_one(net, i, "DEL", rt, prev, NULL, &one);
        if (r < 0 && first == 0) {
            first = r;
            *err = one;
        }
    }
    return first;
}

int servin_cni_add(const struct servin_cni_net *net, const struct servin_cni_runtime *rt, json_t **result,
                   struct servin_error *err)
{
    json_t *prev = NULL;
    size_t done = 0;
    int ret;
    {
        _cleanup_close_ int lock = -1;
        ret = lock_network(net->name, &lock, err);
        if (ret < 0)
            return ret;
        for (size_t i = 0; i < json_array_size(net->plugins); i++) {
            json_t *res = NULL;
            ret = run_one(net, i, "ADD", rt, prev, &res, err);
            if (ret < 0)
                break;
            done++;
            /* A plugin that prints nothing passes the previous result on. */
            if (res) {
                json_decref(prev);
                prev = res;
            }
        }
    }
    if (ret < 0) {
        /* Undo what the plugins that ran did: DEL runs the whole chain, which plugins that never
         * saw an ADD answer as a no-op. */
        struct servin_error ignored = {0};
        if (done > 0 || json_array_size(net->plugins) > 0)
            servin_cni_del(net, rt, prev, &ignored);
        json_decref(prev);
        return ret;
    }
    *result = prev ? prev : json_object();
    return 0;
}

int servin_cni_check(const struct servin_cni_net *net, const struct servin_cni_runtime *rt,
                     json_t *prev_result, struct servin_error *err)
{
    if (cni_version_cmp(net->cni_version, "0.4.0") < 0)
        return 0;
    _cleanup_close_ int lock = -1;
    int ret = lock_network(net->name, &lock, err);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < json_array_size(net->plugins); i++) {
        ret = run_one(net, i, "CHECK", rt, prev_result, NULL, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}
