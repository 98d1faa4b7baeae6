/* container/monitor_internal.h — what the monitor's files share: the json-file log writer, times. */
#ifndef SERVIN_MONITOR_INTERNAL_H
#define SERVIN_MONITOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "servin/error.h"
#include "servin/health.h"
#include "servin/monitor.h"

/* Docker splits lines longer than this into several entries. */
#define LOGFILE_LINE_MAX 16384

struct logfile_partial {
    size_t len;
    char buf[LOGFILE_LINE_MAX];
};

struct logfile {
    char *path; /* NULL: logging is off, writes are dropped */
    bool cri;   /* Kubernetes' CRI format instead of json-file (see servin_monitor_opts.log_format) */
    int fd;
    int64_t size;
    int64_t max_size; /* 0 = never rotate */
    int max_files;
    struct logfile_partial part[2]; /* stdout, stderr */
};

/* Every field is set here (cri: the CRI format, else json-file). */
int logfile_open(struct logfile *lf, const char *path, bool cri, int64_t max_size, int max_files,
                 struct servin_error *err);
/* Open the file at the path again (a new one when it was renamed away): what kubelet's log rotation
 * asks for through ReopenContainerLog. */
int logfile_reopen(struct logfile *lf);
/* Append container output of stream 1 (stdout) or 2 (stderr): complete lines become entries. */
void logfile_write(struct logfile *lf, int stream, const char *data, size_t len);
/* The stream ended: its partial last line becomes an entry too. */
void logfile_flush(struct logfile *lf, int stream);
void logfile_close(struct logfile *lf);

int64_t monitor_now_ns(void);
/* "2026-01-02T03:04:05.123456789Z" into buf (at least 40 bytes). */
void monitor_format_time(int64_t ns, char *buf, size_t size);
/* The reverse; -1 when the text is not such a time. */
int64_t monitor_parse_time(const char *text);

/* The monitor's command line, built by the spawner and parsed by servin_monitor_main. */
char **monitor_build_argv(const char *program, const struct servin_monitor_opts *o, int ready_fd);

/* Unix stream socket helpers (SOCK_CLOEXEC); return the fd or a negative errno. */
int monitor_listen_unix(const char *path, struct servin_error *err);
int monitor_connect_unix(const char *path, struct servin_error *err);

/* The monitor's own state, shared by monitor.c (lifecycle) and monitor_io.c (the poll loop). */
#define MON_MAX_CLIENTS 16

struct mon_client {
    int fd;
    bool read_eof; /* the client half-closed its side: nothing more to read */
};

/* The health check's state (monitor_health.c). */
struct mon_health {
    pid_t pid;              /* the running probe, leader of its own process group; 0 when none */
    int out_fd;             /* its stdout and stderr, -1 */
    int64_t due_ms;         /* monotonic time of the next probe; -1 while the container is not up */
    int64_t deadline_ms;    /* the running probe is killed then */
    int64_t started_ns;     /* the container's start, for the start period */
    int64_t probe_start_ns; /* the running probe's start */
    bool timed_out;
    enum servin_health_status status;
    int streak;
    size_t outlen;
    char out[SERVIN_HEALTH_OUTPUT_MAX];
    void *log; /* json_t array of the last results */
};

struct mon {
    struct servin_monitor_opts o;
    struct logfile log;
    int run_dirfd;         /* O_PATH, for socket paths longer than sun_path */
    int sig_rd, sig_wr;    /* self-pipe: one byte per caught signal */
    int attach_fd, ctl_fd; /* listening sockets */
    struct mon_client clients[MON_MAX_CLIENTS];
    int nclients;
    int out_fd, err_fd;        /* the container's stdout and stderr (with tty: the pty master, err_fd = -1) */
    int in_fd;                 /* its stdin (with tty: a dup of the master); -1 when closed */
    int pty_fd;                /* the pty master for resize, or -1 */
    unsigned short rows, cols; /* the last size asked for, applied to each new pty; 0 = none */
    char inbuf[4096];          /* client bytes not yet written to the container's stdin */
    size_t inlen;
    pid_t pid; /* the container's init while it runs */
    bool exited;
    int status;
    bool signalled;     /* SIGTERM/SIGINT reached us: pass it on, and do not restart */
    char oom_file[512]; /* the container's memory cgroup file that counts OOM kills, "" if unknown */
    long oom_kills;     /* its count at start */
    char **health_argv; /* from --health-arg, NULL: no health check */
    struct mon_health health;
};

/* Listen on attach.sock and ctl.sock in the run dir. */
int mon_io_listen(struct mon *m, struct servin_error *err);
/* Block until the first attach client connects; false when a signal asked us to stop. */
bool mon_io_wait_client(struct mon *m);
/* Serve the running container until it exited and its output is drained; returns the wait status. */
int mon_io_run(struct mon *m);
/* Reap children; records the init's status. */
void mon_reap(struct mon *m);
void mon_close_clients(struct mon *m);
void mon_close_stdio(struct mon *m);

/* Health checks: (re)arm at each start of the container, stop at its exit. */
void mon_health_begin(struct mon *m, int64_t started_ns);
void mon_health_end(struct mon *m);
/* Milliseconds until the health check needs attention (-1: never), and its pipe to poll (-1). */
int mon_health_timeout(struct mon *m);
int mon_health_fd(struct mon *m);
/* Read the probe's output when its pipe is ready, start a due probe, kill a late one. */
void mon_health_poll(struct mon *m, bool readable);
/* A reaped child: true when it was the probe (then its result is recorded). */
bool mon_health_reaped(struct mon *m, pid_t pid, int status);
/* Give the pages that start-up touched in shared code back to the page cache (see monitor.c). */
void mon_trim_memory(void);

#endif
