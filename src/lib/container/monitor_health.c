/* container/monitor_health.c — the monitor runs the container's health check.
 *
 * A probe is a forked child of the monitor (so the sealed binary, never the one on disk, enters
 * the container) that runs the check as an exec in the container, with the container's own
 * process settings (user, env, capabilities, seccomp), its output on a pipe to us. It leads its
 * own process group, so that a probe past its timeout dies with the process it started. After
 * each probe the monitor rewrites the run dir's `health` file; it never opens the database. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "container/monitor_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/runtime.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t ms_of(int64_t ns)
{
    return ns / 1000000 > 0 ? ns / 1000000 : 1;
}

static void write_health(struct mon *m)
{
    struct mon_health *h = &m->health;
    json_t *o = json_pack("{s:s,s:i,s:O}", "Status", servin_health_status_name(h->status), "FailingStreak",
                          h->streak, "Log", (json_t *)h->log);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/health", m->o.run_dir);
    struct servin_error ignored = {0};
    servin_write_file_volatile(path, text, strlen(text), 0644, &ignored);
    free(text);
}

void mon_health_begin(struct mon *m, int64_t started_ns)
{
    struct mon_health *h = &m->health;
    if (!m->health_argv)
        return;
    h->pid = 0;
    h->out_fd = -1;
    h->started_ns = started_ns;
    h->status = SERVIN_HEALTH_STARTING;
    h->streak = 0;
    h->due_ms = mono_ms() + ms_of(m->o.health_interval_ns);
    if (!h->log)
        h->log = json_array();
    write_health(m);
}

static void close_out(struct mon_health *h)
{
    if (h->out_fd >= 0)
        close(h->out_fd);
    h->out_fd = -1;
}

void mon_health_end(struct mon *m)
{
    struct mon_health *h = &m->health;
    if (!m->health_argv)
        return;
    if (h->pid > 0) {
        kill(-h->pid, SIGKILL);
        while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    h->pid = 0;
    h->due_ms = -1;
    close_out(h);
}

int mon_health_timeout(struct mon *m)
{
    struct mon_health *h = &m->health;
    if (!m->health_argv || (h->pid == 0 && h->due_ms < 0))
        return -1;
    int64_t left = (h->pid > 0 ? h->deadline_ms : h->due_ms) - mono_ms();
    if (h->pid > 0 && h->timed_out)
        return -1; /* killed: its reaping wakes us */
    return left < 0 ? 0 : left > 1000000000 ? 1000000000 : (int)left;
}

int mon_health_fd(struct mon *m)
{
    return m->health_argv && m->health.pid > 0 ? m->health.out_fd : -1;
}

/* The probe: an exec of the check in the container; its exit code is ours. */
static _Noreturn void probe_main(struct mon *m)
{
    struct servin_error err = {0};
    json_t *process = NULL;
    int code = 125;
    if (servin_oci_process_template(m->o.oci_root, m->o.id, &process, &err) == 0) {
        json_t *args = json_array();
        for (char **a = m->health_argv; *a; a++)
            json_array_append_new(args, json_string(*a));
        json_object_set_new(process, "args", args);
        json_object_set_new(process, "terminal", json_false());
        json_object_del(process, "consoleSize");
        struct servin_oci_exec_opts eo = {.state_root = m->o.oci_root,
                                          .id = m->o.id,
                                          .process = process,
                                          .seccomp_cache_dir = m->o.seccomp_cache_dir};
        pid_t pid = 0;
        if (servin_oci_exec(&eo, &pid, &code, &err) == 0)
            _exit(code);
    }
    dprintf(2, "%s\n", err.msg);
    _exit(code ? code : 125);
}

static void launch(struct mon *m)
{
    struct mon_health *h = &m->health;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        h->due_ms = mono_ms() + ms_of(m->o.health_interval_ns);
        return;
    }
    h->probe_start_ns = monitor_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        /* Our handlers write to the monitor's signal pipe: not the probe's business. */
        signal(SIGCHLD, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        dup2(p[1], 1);
        dup2(p[1], 2);
        probe_main(m);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        h->due_ms = mono_ms() + ms_of(m->o.health_interval_ns);
        return;
    }
    setpgid(pid, pid); /* also here: a timeout must find the group even if the child was slow */
    h->pid = pid;
    h->out_fd = p[0];
    fcntl(h->out_fd, F_SETFL, O_NONBLOCK);
    h->outlen = 0;
    h->timed_out = false;
    h->deadline_ms = mono_ms() + ms_of(m->o.health_timeout_ns);
}

/* Keep the first SERVIN_HEALTH_OUTPUT_MAX bytes, read and drop the rest. */
static void read_output(struct mon_health *h)
{
    char sink[1024];
    while (h->out_fd >= 0) {
        char *dst = h->outlen < sizeof(h->out) ? h->out + h->outlen : sink;
        size_t room = h->outlen < sizeof(h->out) ? sizeof(h->out) - h->outlen : sizeof(sink);
        ssize_t n = read(h->out_fd, dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close_out(h);
            return;
        }
        if (dst != sink)
            h->outlen += (size_t)n;
    }
}

void mon_health_poll(struct mon *m, bool readable)
{
    struct mon_health *h = &m->health;
    if (!m->health_argv)
        return;
    if (readable)
        read_output(h);
    int64_t now = mono_ms();
    if (h->pid > 0 && !h->timed_out && now >= h->deadline_ms) {
        kill(-h->pid, SIGKILL);
        h->timed_out = true;
    } else if (h->pid == 0 && h->due_ms >= 0 && now >= h->due_ms && !m->exited && m->pid > 0) {
        launch(m);
    }
}

static json_t *output_string(const char *text, size_t len)
{
    json_t *s = json_stringn(text, len);
    if (s)
        return s;
    /* Not UTF-8: keep the ASCII, mark the rest. */
    _cleanup_free_ char *copy = xstrndup(text, len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)copy[i] >= 0x80 || copy[i] == '\0')
            copy[i] = '?';
    return json_stringn(copy, len);
}

bool mon_health_reaped(struct mon *m, pid_t pid, int status)
{
    struct mon_health *h = &m->health;
    if (!m->health_argv || h->pid <= 0 || pid != h->pid)
        return false;
    read_output(h);
    close_out(h);
    h->pid = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    json_t *output;
    if (h->timed_out) {
        char msg[96];
        int64_t t = m->o.health_timeout_ns;
        if (t % 1000000000 == 0)
            snprintf(msg, sizeof(msg), "Health check exceeded timeout (%llds)", (long long)(t / 1000000000));
        else
            snprintf(msg, sizeof(msg), "Health check exceeded timeout (%lldms)", (long long)(t / 1000000));
        code = -1;
        output = json_string(msg);
    } else {
        output = output_string(h->out, h->outlen);
    }
    int64_t end = monitor_now_ns();
    servin_health_record(m->o.health_retries, m->o.health_start_period_ns, h->started_ns, h->probe_start_ns,
                         code, &h->status, &h->streak);
    char start_text[48], end_text[48];
    monitor_format_time(h->probe_start_ns, start_text, sizeof(start_text));
    monitor_format_time(end, end_text, sizeof(end_text));
    json_array_append_new(h->log, json_pack("{s:s,s:s,s:i,s:o}", "Start", start_text, "End", end_text,
                                            "ExitCode", code, "Output", output ? output : json_string("")));
    while (json_array_size(h->log) > SERVIN_HEALTH_LOG_MAX)
        json_array_remove(h->log, 0);
    write_health(m);
    h->due_ms = m->exited ? -1 : mono_ms() + ms_of(m->o.health_interval_ns);
    /* The probe's fork and exec touched code an idle monitor does not need. */
    mon_trim_memory();
    return true;
}
