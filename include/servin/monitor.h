/* monitor.h — the per-container monitor (our conmon), and the files it shares with the CLI.
 *
 * `servin run/start` spawns one monitor per container: a small process (the servin-runtime binary,
 * run as `servin-runtime monitor ...`, double-forked and setsid so that it outlives the CLI) that
 * creates and starts the container through the runtime core, holds its stdio (pipes, or the pty
 * master when Tty), writes the json-file log, serves attach, reaps the exit status, applies the
 * restart policy, and at the final exit runs the on-exit command (e.g. `servin container cleanup
 * <id>` or, for --rm, `servin rm -f <id>`). It never opens the database: it talks through files
 * in its run dir, written atomically (temp + rename):
 *   monitor.pid   its pid, while it lives
 *   state         {"Status":"running","Pid":N,"StartedAt":ns,"RestartCount":k} at each (re)start,
 *                 {"Status":"restarting",...} while it waits to restart
 *   exit          {"ExitCode":N,"FinishedAt":ns,"OOMKilled":false} at each exit of the container
 *   stopped       created by `servin stop/kill` BEFORE signalling: the monitor must not restart
 *                 after this exit (and "unless-stopped" stays stopped)
 *   attach.sock   attach clients: with Tty the raw pty stream both ways; without, the container's
 *                 stdout/stderr as Docker's stdcopy frames (8-byte header: stream 1|2, 3 zero bytes,
 *                 big-endian u32 length) and, when OpenStdin, bytes from the client go to stdin;
 *                 a client that half-closes its write side closes the container's stdin (StdinOnce)
 *   ctl.sock      one text command per connection: "resize <rows> <cols>\n", or "reopen-log\n"
 *                 (open the log file at its path again, after it was renamed away); answer "ok\n"
 *                 or "err <why>\n"
 *   health        with a health check, Docker's State.Health: {"Status":"starting"|"healthy"|
 *                 "unhealthy","FailingStreak":N,"Log":[{"Start","End","ExitCode","Output"}...]}
 *                 (the last 5 probes, times RFC 3339 with nanoseconds), rewritten after each probe
 *   console.sock  transient, while a Tty container is created (the runtime's console socket)
 * Sockets whose path exceeds sun_path (108 bytes) are reached through /proc/self/fd/<dirfd>/name,
 * which servin_monitor_attach/resize do by themselves.
 * Exit file: also written when a (re)start fails, with 127/126 for a failed exec, else 125;
 * "OOMKilled" comes from the memory cgroup's oom_kill counter. After the final exit the monitor
 * removes monitor.pid, attach.sock and ctl.sock, THEN runs on_exit_argv (and waits for it), unless
 * the run dir's fg.pid names a live process (a foreground `run --rm`, which then cleans up and
 * removes the container itself); the state file stays with the last status.
 * The json-file log holds one JSON object per line: {"log":"<text>","stream":"stdout"|"stderr",
 * "time":"<RFC 3339 with nanoseconds, UTC>"}; it rotates at max_size into log.json.1 .. .N-1.
 */
#ifndef SERVIN_MONITOR_H
#define SERVIN_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "servin/error.h"

struct servin_monitor_opts {
    const char *id;
    const char *bundle;   /* <root>/containers/<id>, holding config.json */
    const char *oci_root; /* runtime state root, <run_root>/oci */
    const char *run_dir;  /* <run_root>/containers/<id> */
    const char *seccomp_cache_dir; /* see servin_oci_create_opts; NULL for none */
    const char *log_path; /* the log file, or NULL for none */
    const char
        *log_format;      /* "json-file" (NULL) or "cri": Kubernetes' "<time> <stream> <F|P> <text>" lines */
    int64_t log_max_size; /* bytes; 0 = never rotate */
    int log_max_files;    /* files kept, >= 1 */
    bool tty;
    bool open_stdin;
    bool wait_for_attach;       /* do not start the container before the first attach client connects */
    const char *restart_policy; /* "no" (NULL), "on-failure", "always", "unless-stopped" */
    int restart_max;            /* on-failure:N; 0 = unlimited */
    char *const *on_exit_argv;  /* run (no shell) after the final exit; NULL for nothing */
    /* Health check: health_argv (NULL: none) runs as an exec in the container every
     * health_interval_ns, killed after health_timeout_ns; see servin_health_config_from. */
    char *const *health_argv;
    int64_t health_interval_ns, health_timeout_ns, health_start_period_ns;
    int health_retries;
};

/* Start the monitor detached from the caller and wait until the container runs (or failed to
 * start, then the monitor's one-line error is returned, e.g. "exec foo: executable file not found
 * in $PATH", and *exit_code gets 126/127 as appropriate, else 125). Returns the container's pid
 * and the monitor's pid. With wait_for_attach it returns as soon as the monitor listens, with
 * *container_pid = 0.
 * When the first start fails and the error is returned here, the monitor has written the exit
 * file, deleted the runtime container and exited WITHOUT running on_exit_argv: the caller cleans
 * up. (With wait_for_attach a failed start is told to the attach client as a stderr frame
 * "servin: <message>\n", and on_exit_argv does run.) The monitor binary is servin-runtime beside
 * /proc/self/exe, else in $PATH; env SERVIN_RUNTIME_BIN overrides. The monitor removes a stale
 * `exit` and `stopped` file of its run dir when it starts. */
int servin_monitor_spawn(const struct servin_monitor_opts *opts, pid_t *container_pid, pid_t *monitor_pid,
                         int *exit_code, struct servin_error *err);

/* `servin-runtime monitor` entry point (argv as given to that verb). Never returns. Flags:
 * --ready-fd=N --id= --bundle= --oci-root= --run-dir= [--log-path= --log-max-size= --log-max-files=
 * --log-format=cri]
 * [--tty] [--open-stdin] [--wait-for-attach] [--restart=POLICY --restart-max=N]
 * [--health-arg=ARG... --health-interval=NS --health-timeout=NS --health-retries=N
 * --health-start-period=NS] [-- ON-EXIT ARGV].
 * For tests and scripts: `--spawn` plus the same flags runs servin_monitor_spawn and prints
 * "<container pid> <monitor pid>"; `--attach --run-dir=DIR [--tty] [--open-stdin]` runs
 * servin_monitor_attach on its own stdio. */
_Noreturn void servin_monitor_main(int argc, char **argv);

/* Attach the caller's stdio to a container through its attach socket until the container's output
 * ends. stdin_fd < 0 sends nothing. With tty, raw bytes; without, demultiplexed onto out/err. */
int servin_monitor_attach(const char *run_dir, int stdin_fd, int stdout_fd, int stderr_fd, bool tty,
                          struct servin_error *err);
/* A connection to the container's attach socket (see above for what flows on it), for a front end
 * that relays it elsewhere (the daemon's hijacked attach). ENOENT/ECONNREFUSED: no monitor serves it. */
int servin_monitor_attach_connect(const char *run_dir, struct servin_error *err);
/* Ask the monitor to resize the container's pty. */
int servin_monitor_resize(const char *run_dir, unsigned rows, unsigned cols, struct servin_error *err);
/* Ask the monitor to reopen its log file (ENOENT/ECONNREFUSED: no monitor runs). */
int servin_monitor_reopen_log(const char *run_dir, struct servin_error *err);

/* Reading the json-file log (for `logs`): lines from the rotated files oldest first, filtered. */
struct servin_log_read_opts {
    bool follow;         /* keep reading new lines until the container exits (exit file appears and
                          * the monitor is gone) */
    bool timestamps;     /* prefix each line with its RFC 3339 time and a space */
    long tail;           /* last N lines; -1 = all */
    int64_t since_ns;    /* only lines at or after; 0 = no bound */
    int64_t until_ns;    /* only lines before; 0 = no bound */
    const char *run_dir; /* to know when a followed container has ended */
};
/* Calls emit(ctx, stream (1 stdout, 2 stderr), text, len) per line; stops early if emit returns < 0. */
int servin_log_read(const char *log_path, const struct servin_log_read_opts *opts,
                    int (*emit)(void *ctx, int stream, const char *text, size_t len), void *ctx,
                    struct servin_error *err);

#endif
