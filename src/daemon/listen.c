/* daemon/listen.c — the daemon's listening socket: a unix socket, or loopback TCP with client TLS. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <grp.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

void daemon_tls_free(struct daemon_tls *t)
{
    free(t->cert);
    free(t->key);
    free(t->ca);
    memset(t, 0, sizeof(*t));
}

static bool tls_enabled;

static int listen_unix(const char *path, int *out, struct servin_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return servin_error_set(err, EINVAL, "socket path %s is longer than %zu bytes", path,
                                sizeof(sa.sun_path) - 1);
    strcpy(sa.sun_path, path);
    _cleanup_free_ char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int r = servin_mkdir_p(dir, 0755, err);
        if (r < 0)
            return r;
    }
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return servin_error_errno(err, errno, "create a unix socket");
    /* A socket file left by a daemon that died is in the way; one that still answers is not ours. */
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return servin_error_set(err, EEXIST, "%s exists and is not a socket", path);
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool alive = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (alive)
            return servin_error_set(err, EADDRINUSE, "another daemon is listening on %s", path);
        unlink(path);
    }
    /* Created 0660 from the start: no window where anyone could connect. */
    mode_t old = umask(0117);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r < 0)
        return servin_error_errno(err, errno, "bind %s", path);
    struct group *g = getgrnam("servin");
    if (g && chown(path, 0, g->gr_gid) < 0)
        return servin_error_errno(err, errno, "give %s to group servin", path);
    if (chmod(path, 0660) < 0)
        return servin_error_errno(err, errno, "chmod %s", path);
    if (listen(fd, 128) < 0)
        return servin_error_errno(err, errno, "listen on %s", path);
    *out = steal_fd(&fd);
    return 0;
}

static int read_pem(const char *path, const char *what, char **out, struct servin_error *err)
{
    size_t len = 0;
    if (!path || !*path)
        return servin_error_set(err, EINVAL, "tcp listeners need --%s", what);
    int r = servin_read_file(path, out, &len, err);
    if (r < 0)
        return servin_error_wrap(err, "read --%s", what);
    return 0;
}

static int listen_tcp(const struct daemon_listen_opts *o, const char *hostport, int *out,
                      struct daemon_tls *tls, struct servin_error *err)
{
    _cleanup_free_ char *host = NULL;
    const char *port;
    if (hostport[0] == '[') {
        const char *close_br = strchr(hostport, ']');
        if (!close_br || close_br[1] != ':')
            return servin_error_set(err, EINVAL, "invalid tcp address %s: use tcp://127.0.0.1:PORT",
                                    hostport);
        host = xstrndup(hostport + 1, (size_t)(close_br - hostport - 1));
        port = close_br + 2;
    } else {
        const char *colon = strrchr(hostport, ':');
        if (!colon)
            return servin_error_set(err, EINVAL, "invalid tcp address %s: use tcp://127.0.0.1:PORT",
                                    hostport);
        host = xstrndup(hostport, (size_t)(colon - hostport));
        port = colon + 1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (strcmp(host, "localhost") == 0) {
        free(host);
        host = xstrdup("127.0.0.1");
    }
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return servin_error_set(
            err, EINVAL, "invalid tcp address %s: a numeric loopback address and port are needed", hostport);
    bool loopback =
        (ai->ai_family == AF_INET &&
         (ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127) ||
        (ai->ai_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr));
    if (!loopback) {
        freeaddrinfo(ai);
        return servin_error_set(
            err, EPERM,
            "refusing to listen on %s: the API gives root on this machine, so TCP is served "
            "only on a loopback address",
            hostport);
    }
    if (!o->tlsverify) {
        freeaddrinfo(ai);
        return servin_error_set(
            err, EPERM,
            "refusing to listen on tcp://%s without --tlsverify (with --tlscacert, --tlscert "
            "and --tlskey): anyone on the machine could drive the daemon",
            hostport);
    }
    int r = read_pem(o->tlscert, "tlscert", &tls->cert, err);
    if (r == 0)
        r = read_pem(o->tlskey, "tlskey", &tls->key, err);
    if (r == 0)
        r = read_pem(o->tlscacert, "tlscacert", &tls->ca, err);
    if (r < 0) {
        freeaddrinfo(ai);
        daemon_tls_free(tls);
        return r;
    }
    _cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        int e = errno;
        freeaddrinfo(ai);
        daemon_tls_free(tls);
        return servin_error_errno(err, e, "listen on tcp://%s", hostport);
    }
    freeaddrinfo(ai);
    tls_enabled = true;
    *out = steal_fd(&fd);
    return 0;
}

/* systemd socket activation (sd_listen_fds(3)'s protocol): the sockets start at fd 3, LISTEN_FDS
 * counts them and LISTEN_PID names the process they are for. "fd://" takes the first, "fd://N" fd
 * N. The variables are cleared so that the processes the daemon starts do not take them too. */
static int listen_activated(const char *which, int *out, struct servin_error *err)
{
    const char *n = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
    if (!n || atoi(n) < 1)
        return servin_error_set(err, EINVAL,
                                "--host fd:// needs a socket from systemd (LISTEN_FDS is not set)");
    if (!pid || atol(pid) != (long)getpid())
        return servin_error_set(
            err, EINVAL, "--host fd://: the passed sockets are for process %s, not this one (LISTEN_PID)",
            pid ? pid : "(unset)");
    int count = atoi(n);
    int fd = 3;
    if (*which) {
        char *end = NULL;
        long v = strtol(which, &end, 10);
        if (*end || v < 3 || v >= 3 + count)
            return servin_error_set(err, EINVAL, "--host fd://%s: not one of the %d passed sockets (3..%d)",
                                    which, count, 2 + count);
        fd = (int)v;
    }
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
        return servin_error_set(err, EINVAL, "--host fd://: descriptor %d is not a listening socket", fd);
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDNAMES");
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    *out = fd;
    return 0;
}

int daemon_listen(const struct daemon_listen_opts *o, int *fd, char **unix_path, struct daemon_tls *tls,
                  struct servin_error *err)
{
    *unix_path = NULL;
    if (strncmp(o->host, "unix://", 7) == 0) {
        int r = listen_unix(o->host + 7, fd, err);
        if (r == 0)
            *unix_path = xstrdup(o->host + 7);
        return r;
    }
    if (strncmp(o->host, "tcp://", 6) == 0)
        return listen_tcp(o, o->host + 6, fd, tls, err);
    if (strncmp(o->host, "fd://", 5) == 0)
        return listen_activated(o->host + 5, fd, err);
    return servin_error_set(
        err, EINVAL, "invalid --host %s: use unix:///path/servin.sock or tcp://127.0.0.1:PORT", o->host);
}

int daemon_tls_check(struct MHD_Connection *conn)
{
    if (!tls_enabled)
        return 0;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return -1;
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    unsigned n = 0;
    if (!gnutls_certificate_get_peers(session, &n) || n == 0)
        return -1;
    unsigned status = 0;
    if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS || status != 0)
        return -1;
    return 0;
}
