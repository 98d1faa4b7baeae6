/* daemon/cri/cri_server.c — the CRI listener: a unix socket (and a loopback TCP port for
 * development), an accept thread, and a thread per connection.
 *
 * Why threads and not one event loop: handlers block (a pull takes minutes, a stop waits out a
 * grace period) and libservin's calls are synchronous, so each call runs in a thread of its own
 * anyway (grpc_h2.c); a thread per connection then keeps the HTTP/2 framing of one client simple
 * and independent of the others. kubelet opens one or two connections, so the count stays small.
 * No thread forks: libservin starts containers and helpers with fork+exec only, as the Docker API
 * side of the daemon does. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cri_conn.h"
#include "cri_internal.h"
#include "cri_server.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct cri_server {
    int fds[2];
    int n_fds;
    char *unix_path;
    pthread_t accept_thread;
    volatile int stopping;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n_conns;
    struct cri_context ctx;
    int wake[2];
};

struct conn_job {
    struct cri_server *s;
    int fd;
};

/* HTTP/2 when the first bytes are the client preface; anything else is HTTP/1.1. */
static bool is_h2(int fd, volatile int *stopping)
{
    char buf[sizeof(h2_preface) - 1];
    for (int waited = 0; waited < 30000 && !*stopping;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        if (memcmp(buf, h2_preface, (size_t)n) != 0)
            return false;
        if ((size_t)n == sizeof(buf))
            return true;
        /* The rest of the preface is on its way, unless the peer has shut its side. */
        struct pollfd p = {.fd = fd, .events = POLLRDHUP};
        if (poll(&p, 1, 10) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
            return false;
        waited += 10;
    }
    return false;
}

static void *conn_thread(void *arg)
{
    struct conn_job *job = arg;
    struct cri_server *s = job->s;
    if (is_h2(job->fd, &s->stopping))
        cri_h2_serve(job->fd, &s->stopping);
    else
        cri_http1_serve(job->fd, &s->stopping);
    close(job->fd);
    pthread_mutex_lock(&s->lock);
    s->n_conns--;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    free(job);
    return NULL;
}

static void *accept_thread(void *arg)
{
    struct cri_server *s = arg;
    while (!s->stopping) {
        struct pollfd p[3];
        int n = 0;
        for (int i = 0; i < s->n_fds; i++)
            p[n++] = (struct pollfd){.fd = s->fds[i], .events = POLLIN};
        p[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        if (poll(p, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < s->n_fds; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            int fd = accept4(s->fds[i], NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails harmlessly on unix */
            struct conn_job *job = xmalloc(sizeof(*job));
            job->s = s;
            job->fd = fd;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            pthread_mutex_lock(&s->lock);
            s->n_conns++;
            pthread_mutex_unlock(&s->lock);
            pthread_t t;
            if (pthread_create(&t, &attr, conn_thread, job) != 0) {
                close(fd);
                free(job);
                pthread_mutex_lock(&s->lock);
                s->n_conns--;
                pthread_mutex_unlock(&s->lock);
            }
            pthread_attr_destroy(&attr);
        }
    }
    return NULL;
}

static int listen_unix(const char *path, int *out, struct servin_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return servin_error_set(err, EINVAL, "CRI socket path %s is longer than %zu bytes", path,
                                sizeof(sa.sun_path) - 1);
    strcpy(sa.sun_path, path);
    _cleanup_free_ char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (servin_mkdir_p(dir, 0755, err) < 0)
            return servin_error_wrap(err, "create the CRI socket's directory");
    }
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return servin_error_errno(err, errno, "create a unix socket");
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return servin_error_set(err, EEXIST, "CRI socket %s exists and is not a socket", path);
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool alive = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (alive)
            return servin_error_set(err, EADDRINUSE, "another server is listening on the CRI socket %s",
                                    path);
        unlink(path);
    }
    /* kubelet runs as root: the socket is for root only. */
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r < 0)
        return servin_error_errno(err, errno, "bind the CRI socket %s", path);
    if (listen(fd, 128) < 0)
        return servin_error_errno(err, errno, "listen on %s", path);
    *out = steal_fd(&fd);
    return 0;
}

static int listen_tcp(int port, int *out, struct servin_error *err)
{
    if (port <= 0 || port > 65535)
        return servin_error_set(err, EINVAL, "invalid --cri-port %d: use 1-65535", port);
    _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return servin_error_errno(err, errno, "create a TCP socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
        return servin_error_errno(err, errno, "listen on 127.0.0.1:%d", port);
    *out = steal_fd(&fd);
    return 0;
}

static char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return xstrdup(v && *v ? v : def);
}

int cri_server_start(const struct cri_server_opts *o, struct cri_server **out, struct servin_error *err)
{
    if (cri_methods_init(err) < 0)
        return -1;
    struct cri_server *s = xcalloc(1, sizeof(*s));
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->ctx.root = o->root;
    s->ctx.state_dir = o->state_dir;
    s->ctx.socket_path = o->socket_path;
    s->ctx.cni_conf_dir =
        o->cni_conf_dir ? xstrdup(o->cni_conf_dir) : env_or("SERVIN_CNI_CONF_DIR", "/etc/cni/net.d");
    s->ctx.cni_bin_dir =
        o->cni_bin_dir ? xstrdup(o->cni_bin_dir) : env_or("SERVIN_CNI_BIN_DIR", "/usr/lib/cni");
    cri_ctx = &s->ctx;

    int r = 0;
    if (o->socket_path) {
        r = listen_unix(o->socket_path, &s->fds[s->n_fds], err);
        if (r == 0) {
            s->n_fds++;
            s->unix_path = xstrdup(o->socket_path);
        }
    }
    if (r == 0 && o->tcp_port) {
        r = listen_tcp(o->tcp_port, &s->fds[s->n_fds], err);
        if (r == 0)
            s->n_fds++;
    }
    if (r == 0 && s->n_fds == 0)
        r = servin_error_set(err, EINVAL, "the CRI server has neither a socket nor a port to listen on");
    if (r == 0 && pipe2(s->wake, O_CLOEXEC) < 0)
        r = servin_error_errno(err, errno, "create a pipe");
    if (r == 0 && ((r = cri_runtime_start(err)) < 0 || (r = cri_image_start(err)) < 0 ||
                   (r = cri_sandbox_start(err)) < 0 || (r = cri_container_start(err)) < 0))
        servin_error_wrap(err, "start the CRI services");
    if (r == 0 && pthread_create(&s->accept_thread, NULL, accept_thread, s) != 0)
        r = servin_error_set(err, EAGAIN, "start the CRI accept thread");
    if (r < 0) {
        for (int i = 0; i < s->n_fds; i++)
            close(s->fds[i]);
        if (s->unix_path)
            unlink(s->unix_path);
        s->n_fds = 0;
        cri_server_stop(s);
        return r;
    }
    *out = s;
    return 0;
}

void cri_server_stop(struct cri_server *s)
{
    if (!s)
        return;
    if (s->n_fds) {
        s->stopping = 1;
        cri_health_set_serving(false);
        if (write(s->wake[1], "x", 1) < 0) {
            /* the accept thread also wakes on its own */
        }
        pthread_join(s->accept_thread, NULL);
        for (int i = 0; i < s->n_fds; i++)
            close(s->fds[i]);
        if (s->unix_path)
            unlink(s->unix_path);
        /* Connection threads notice `stopping` within half a second and wait for their handlers.
         * A handler stuck in a call that cannot be interrupted (a pull from a registry that does not
         * answer) must not hold the daemon's exit: after a while the server is left as it is. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 10;
        pthread_mutex_lock(&s->lock);
        while (s->n_conns > 0 && pthread_cond_timedwait(&s->cond, &s->lock, &until) == 0)
            ;
        int left = s->n_conns;
        pthread_mutex_unlock(&s->lock);
        if (left > 0) {
            log_warn("CRI: %d connection(s) still busy with calls at shut-down; not waiting for them", left);
            return; /* their threads still use s */
        }
        cri_container_stop();
        cri_sandbox_stop();
        cri_store_pool_drain();
    }
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    free(s->unix_path);
    free((char *)s->ctx.cni_conf_dir);
    free((char *)s->ctx.cni_bin_dir);
    if (cri_ctx == &s->ctx)
        cri_ctx = NULL;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}
