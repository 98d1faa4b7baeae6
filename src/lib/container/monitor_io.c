/* container/monitor_io.c — the monitor's poll loop: container output to the log and to attach
 * clients, client input to the container's stdin, resize requests, and reaping. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "container/monitor_internal.h"
#include "servin/cleanup.h"

/* After the init exited, output still in flight gets this long to arrive. */
#define DRAIN_MS 1000

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int mon_io_listen(struct mon *m, struct servin_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/attach.sock", m->o.run_dir);
    m->attach_fd = monitor_listen_unix(path, err);
    if (m->attach_fd < 0)
        return m->attach_fd;
    snprintf(path, sizeof(path), "%s/ctl.sock", m->o.run_dir);
    m->ctl_fd = monitor_listen_unix(path, err);
    return m->ctl_fd < 0 ? m->ctl_fd : 0;
}

void mon_reap(struct mon *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (mon_health_reaped(m, pid, status)) {
            continue;
        } else if (pid == m->pid && !m->exited) {
            m->exited = true;
            m->status = status;
        }
}

/* Signals arrive as bytes on the self-pipe: children to reap, or a stop to pass on. */
static void handle_signals(struct mon *m)
{
    unsigned char sigs[64];
    ssize_t n = read(m->sig_rd, sigs, sizeof(sigs));
    for (ssize_t i = 0; i < n; i++) {
        if (sigs[i] == SIGCHLD)
            continue;
        m->signalled = true;
        if (m->pid > 0 && !m->exited)
            kill(m->pid, sigs[i]);
    }
    mon_reap(m);
}

static void add_client(struct mon *m)
{
    int fd = accept4(m->attach_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (m->nclients >= MON_MAX_CLIENTS) {
        close(fd);
        return;
    }
    /* A client that stops reading must not stall the container for long. */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    m->clients[m->nclients++] = (struct mon_client){.fd = fd};
}

static void drop_client(struct mon *m, int i)
{
    close(m->clients[i].fd);
    m->clients[i] = m->clients[--m->nclients];
}

void mon_close_clients(struct mon *m)
{
    while (m->nclients > 0)
        drop_client(m, m->nclients - 1);
}

void mon_close_stdio(struct mon *m)
{
    close_fd(&m->out_fd);
    close_fd(&m->err_fd);
    close_fd(&m->in_fd);
    close_fd(&m->pty_fd);
    m->inlen = 0;
}

static void serve_ctl(struct mon *m);

bool mon_io_wait_client(struct mon *m)
{
    while (m->nclients == 0 && !m->signalled) {
        struct pollfd p[3] = {{.fd = m->attach_fd, .events = POLLIN},
                              {.fd = m->sig_rd, .events = POLLIN},
                              {.fd = m->ctl_fd, .events = POLLIN}};
        if (poll(p, 3, -1) < 0)
            continue;
        if (p[1].revents)
            handle_signals(m);
        /* `run -it` sends the window size before it attaches: the pty must be born with it. */
        if (p[2].revents)
            serve_ctl(m);
        if (p[0].revents)
            add_client(m);
    }
    return m->nclients > 0;
}

/* One control request per connection: "resize <rows> <cols>\n" or "reopen-log\n"; the answer is "ok\n" or
 * "err ...\n". A size asked for before the pty exists is kept for it. */
static void serve_ctl(struct mon *m)
{
    int fd = accept4(m->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[128];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    unsigned rows, cols;
    char reply[PATH_MAX + 64];
    const char *answer = "ok\n";
    if (sscanf(buf, "resize %u %u", &rows, &cols) == 2) {
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        if (!m->o.tty)
            answer = "err the container has no terminal\n";
        else if (m->pty_fd >= 0 && ioctl(m->pty_fd, TIOCSWINSZ, &ws) < 0)
            answer = "err resize failed\n";
        m->rows = ws.ws_row;
        m->cols = ws.ws_col;
    } else if (strncmp(buf, "reopen-log", 10) == 0) {
        int r = logfile_reopen(&m->log);
        snprintf(reply, sizeof(reply), r < 0 ? "err reopen %s: %s\n" : "ok\n", m->log.path, strerror(-r));
        answer = reply;
    } else {
        answer = "err unknown request\n";
    }
    send(fd, answer, strlen(answer), MSG_NOSIGNAL);
    close(fd);
}

static void broadcast(struct mon *m, int stream, const char *data, size_t len)
{
    unsigned char hdr[8] = {(unsigned char)stream, 0, 0, 0};
    uint32_t be = htonl((uint32_t)len);
    memcpy(hdr + 4, &be, 4);
    for (int i = m->nclients - 1; i >= 0; i--) {
        struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)data, len}};
        struct msghdr msg = {.msg_iov = m->o.tty ? iov + 1 : iov, .msg_iovlen = m->o.tty ? 1 : 2};
        size_t want = len + (m->o.tty ? 0 : sizeof(hdr));
        ssize_t n = sendmsg(m->clients[i].fd, &msg, MSG_NOSIGNAL);
        /* A short write would tear the frame stream: such a client is dropped. */
        if (n != (ssize_t)want)
            drop_client(m, i);
    }
}

/* Container output: to the log and the clients. Returns false at the end of the stream. */
static bool pump_output(struct mon *m, int fd, int stream)
{
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0) { /* EOF, or EIO from a pty master once the slave side is gone */
        logfile_flush(&m->log, stream);
        return false;
    }
    logfile_write(&m->log, stream, buf, (size_t)n);
    broadcast(m, stream, buf, (size_t)n);
    return true;
}

static void client_input(struct mon *m, int i)
{
    size_t room = sizeof(m->inbuf) - m->inlen;
    ssize_t n = recv(m->clients[i].fd, m->inbuf + m->inlen, room, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        if (m->in_fd >= 0)
            m->inlen += (size_t)n;
        return;
    }
    m->clients[i].read_eof = true;
    /* StdinOnce: the client's end of input is the container's (with a pty there is no such end). */
    if (m->o.open_stdin && !m->o.tty && m->inlen == 0)
        close_fd(&m->in_fd);
}

static void flush_input(struct mon *m)
{
    ssize_t n = write(m->in_fd, m->inbuf, m->inlen);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) { /* the container closed its stdin */
        m->inlen = 0;
        if (!m->o.tty)
            close_fd(&m->in_fd);
        return;
    }
    memmove(m->inbuf, m->inbuf + n, m->inlen - (size_t)n);
    m->inlen -= (size_t)n;
    /* Every client's input ended while bytes were pending: now close stdin. */
    if (m->inlen == 0 && m->o.open_stdin && !m->o.tty) {
        bool any_open = false;
        for (int i = 0; i < m->nclients; i++)
            any_open |= !m->clients[i].read_eof;
        if (!any_open)
            close_fd(&m->in_fd);
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mon_io_run(struct mon *m)
{
    int64_t deadline = -1;
    for (;;) {
        if (m->exited && deadline < 0)
            deadline = mono_ms() + DRAIN_MS;
        if (m->exited && ((m->out_fd < 0 && m->err_fd < 0) || mono_ms() >= deadline))
            break;
        struct pollfd p[7 + MON_MAX_CLIENTS];
        int n = 0;
        p[n++] = (struct pollfd){.fd = m->sig_rd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->attach_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->ctl_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->out_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->err_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->inlen ? m->in_fd : -1, .events = POLLOUT};
        p[n++] = (struct pollfd){.fd = mon_health_fd(m), .events = POLLIN};
        int nc = m->nclients;
        for (int i = 0; i < nc; i++) {
            bool want = !m->clients[i].read_eof && m->inlen < sizeof(m->inbuf);
            p[n++] = (struct pollfd){.fd = want ? m->clients[i].fd : -1, .events = POLLIN};
        }
        int timeout = m->exited ? (int)(deadline - mono_ms()) : mon_health_timeout(m);
        if (poll(p, (nfds_t)n, timeout < 0 && m->exited ? 0 : timeout) < 0) {
            if (errno != EINTR)
                break;
            continue;
        }
        if (p[0].revents)
            handle_signals(m);
        if (p[3].revents && !pump_output(m, m->out_fd, 1)) {
            close_fd(&m->out_fd);
            if (m->o.tty)
                close_fd(&m->in_fd);
        }
        if (p[4].revents && !pump_output(m, m->err_fd, 2))
            close_fd(&m->err_fd);
        if (p[5].revents && m->in_fd >= 0)
            flush_input(m);
        /* Clients from the poll set first (the list can shrink while sending), new ones after. */
        for (int i = nc - 1; i >= 0; i--)
            if (i < m->nclients && p[7 + i].fd == m->clients[i].fd && p[7 + i].revents)
                client_input(m, i);
        if (p[1].revents)
            add_client(m);
        if (p[2].revents)
            serve_ctl(m);
        mon_reap(m);
        mon_health_poll(m, p[6].revents != 0);
    }
    logfile_flush(&m->log, 1);
    logfile_flush(&m->log, 2);
    return m->status;
}
