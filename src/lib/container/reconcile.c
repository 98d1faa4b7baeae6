/* container/reconcile.c — fold the monitor's run-dir files back into the container record.
 *
 * The monitor never opens the database; it leaves monitor.pid, state, exit and (from stop/kill)
 * stopped in the run dir. Every read path calls servin_container_reconcile, so the record tells
 * the truth after a monitor was killed, or after a reboot wiped the run dir. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container_internal.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/fs.h"
#include "servin/health.h"
#include "servin/runtime.h"

/* /proc/stat's btime has whole seconds, and start times are in clock ticks: allow this much. */
#define START_SLACK_NS 2000000000LL

static int64_t boot_time_ns(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/stat", "re");
    char line[256];
    long long btime = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    return (int64_t)btime * 1000000000LL;
}

bool ctr_pid_alive(pid_t pid, int64_t since_ns)
{
    if (pid <= 0)
        return false;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_free_ char *text = NULL;
    struct servin_error err = {0};
    if (servin_read_file(path, &text, NULL, &err) < 0)
        return false;
    /* The command name may hold spaces and parentheses: fields start after the last ')'. */
    char *p = strrchr(text, ')');
    if (!p)
        return false;
    char state = 0;
    unsigned long long start_ticks = 0;
    /* Field 3 is the state, field 22 the start time in clock ticks since boot. */
    if (sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
               &state, &start_ticks) != 2)
        return false;
    if (state == 'Z' || state == 'X' || state == 'x')
        return false;
    if (since_ns <= 0)
        return true;
    long ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0)
        ticks = 100;
    int64_t start_ns = boot_time_ns() + (int64_t)(start_ticks / (unsigned long long)ticks) * 1000000000LL +
                       (int64_t)(start_ticks % (unsigned long long)ticks) * (1000000000LL / ticks);
    /* Started after the file that names it was written: the kernel reused the pid. */
    return start_ns <= since_ns + START_SLACK_NS;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* The monitor's pid when its pid file names a live process that is not a reused pid. */
static pid_t live_monitor(const char *run_dir)
{
    _cleanup_free_ char *path = xasprintf("%s/monitor.pid", run_dir);
    _cleanup_free_ char *text = NULL;
    struct servin_error err = {0};
    struct stat st;
    if (stat(path, &st) < 0 || servin_read_file(path, &text, NULL, &err) < 0)
        return 0;
    char *end = NULL;
    long pid = strtol(text, &end, 10);
    if (end == text || pid <= 0 || pid > 4194304)
        return 0;
    return ctr_pid_alive((pid_t)pid, mtime_ns(&st)) ? (pid_t)pid : 0;
}

static json_t *load_json(const char *run_dir, const char *name)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", run_dir, name);
    json_t *v = json_load_file(path, 0, NULL);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static int64_t json_i64(json_t *obj, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

static bool is_paused(struct servin_store *store, const char *id)
{
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    struct servin_error err = {0};
    json_t *state = NULL;
    if (servin_oci_state(oci_root, id, &state, &err) < 0)
        return false;
    const char *status = json_string_value(json_object_get(state, "status"));
    bool paused = status && strcmp(status, "paused") == 0;
    json_decref(state);
    return paused;
}

static void set_exited(struct servin_container *c, json_t *exit_obj)
{
    c->state = SERVIN_CONTAINER_EXITED;
    c->pid = 0;
    c->exit_code = (int)json_i64(exit_obj, "ExitCode");
    c->finished_at = json_i64(exit_obj, "FinishedAt");
    c->oom_killed = json_is_true(json_object_get(exit_obj, "OOMKilled"));
}

static bool changed(const struct servin_container *a, const struct servin_container *b)
{
    return a->state != b->state || a->pid != b->pid || a->monitor_pid != b->monitor_pid ||
           a->exit_code != b->exit_code || a->started_at != b->started_at ||
           a->finished_at != b->finished_at || a->restart_count != b->restart_count ||
           a->oom_killed != b->oom_killed || (a->health == NULL) != (b->health == NULL) ||
           (a->health && b->health && strcmp(a->health, b->health) != 0);
}

/* The health check's status from the monitor's file; a container without one keeps NULL. */
static void reconcile_health(const char *run_dir, struct servin_container *c)
{
    json_t *h = load_json(run_dir, "health");
    const char *status = json_string_value(json_object_get(h, "Status"));
    if (status && (!c->health || strcmp(c->health, status) != 0)) {
        free(c->health);
        c->health = xstrdup(status);
    }
    json_decref(h);
}

int servin_container_reconcile(struct servin_store *store, struct servin_container *c,
                               struct servin_error *err)
{
    /* A container being removed, or already broken, is left to whoever handles that. */
    if (c->state == SERVIN_CONTAINER_REMOVING || c->state == SERVIN_CONTAINER_DEAD)
        return 0;
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, c->id);
    _cleanup_free_ char *stopped_path = xasprintf("%s/stopped", run_dir);
    struct servin_container before = *c;
    _cleanup_free_ char *health_before = c->health ? xstrdup(c->health) : NULL;
    before.health = health_before;
    reconcile_health(run_dir, c);
    pid_t monitor = live_monitor(run_dir);
    json_t *state = load_json(run_dir, "state");
    json_t *exit_obj = load_json(run_dir, "exit");

    if (state) {
        c->started_at = json_i64(state, "StartedAt");
        c->restart_count = (int)json_i64(state, "RestartCount");
    }
    /* An exit file from before the latest start belongs to an earlier run. */
    bool exited = exit_obj && json_i64(exit_obj, "FinishedAt") >= c->started_at;
    struct stat st;
    bool stopped = stat(stopped_path, &st) == 0 && mtime_ns(&st) >= c->started_at;
    const char *status = json_string_value(json_object_get(state, "Status"));

    c->monitor_pid = monitor;
    if (monitor > 0 && status && strcmp(status, "restarting") == 0 && !stopped) {
        c->state = SERVIN_CONTAINER_RESTARTING;
        c->pid = 0;
        if (exited) {
            c->exit_code = (int)json_i64(exit_obj, "ExitCode");
            c->finished_at = json_i64(exit_obj, "FinishedAt");
        }
    } else if (exited) {
        /* A monitor still alive here is finishing up (its on-exit command), or about to restart:
         * the next read shows "restarting" then. */
        set_exited(c, exit_obj);
    } else if (monitor > 0 && status && strcmp(status, "running") == 0) {
        c->pid = (pid_t)json_i64(state, "Pid");
        c->state = is_paused(store, c->id) ? SERVIN_CONTAINER_PAUSED : SERVIN_CONTAINER_RUNNING;
        c->exit_code = 0; /* as Docker: a running container has no exit code yet */
    } else if (monitor == 0 &&
               (c->state == SERVIN_CONTAINER_RUNNING || c->state == SERVIN_CONTAINER_RESTARTING ||
                c->state == SERVIN_CONTAINER_PAUSED)) {
        if (status && strcmp(status, "running") == 0 && json_i64(state, "Pid") > 0)
            c->pid = (pid_t)json_i64(state, "Pid");
        /* The monitor is gone but the init lives on: still running, only nobody reaps it. */
        if (!(c->state != SERVIN_CONTAINER_RESTARTING && ctr_pid_alive(c->pid, c->started_at))) {
            /* Lost: nothing recorded how it ended. Docker reports 255 for a container it lost. */
            c->state = SERVIN_CONTAINER_EXITED;
            c->pid = 0;
            c->exit_code = 255;
            c->finished_at = ctr_now_ns();
        }
    }
    json_decref(state);
    json_decref(exit_obj);

    if (!changed(&before, c))
        return 0;
    int ret = servin_container_save_state(store, c, err);
    if (ret < 0)
        return servin_error_wrap(err, "update the state of container %.12s", c->id);
    return 0;
}

/* (health.h) Kept here, beside the store's paths: the monitor links health.c and no store. */
json_t *servin_container_health(struct servin_store *store, const struct servin_container *c)
{
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, c->id);
    _cleanup_free_ char *path = xasprintf("%s/health", run_dir);
    json_t *h = json_load_file(path, 0, NULL);
    if (h && !json_is_string(json_object_get(h, "Status"))) {
        json_decref(h);
        return NULL;
    }
    return h;
}
