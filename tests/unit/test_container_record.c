/* Unit tests for container records, names, reconcile and Docker-style parsing, on a temp store. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/container_internal.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/fs.h"
#include "servin/image.h"

#define IMAGE_ID "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER_IMAGE "sha256:2222222222222222222222222222222222222222222222222222222222222222"

struct fixture {
    char *root;
    struct servin_store *store;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/servin-ctr-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    f->root = xstrdup(tmpl);
    struct servin_error err = {0};
    assert_int_equal(servin_store_open(f->root, &f->store, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct servin_error err = {0};
    servin_image_set_in_use_hook(NULL);
    servin_store_close(f->store);
    servin_rm_rf(f->root, &err);
    free(f->root);
    free(f);
    return 0;
}

static void create(struct fixture *f, const char *name, struct servin_container *c)
{
    struct servin_error err = {0};
    json_t *config = json_pack("{s:{s:[s]},s:{}}", "Config", "Cmd", "sh", "HostConfig");
    int ret = servin_container_create_record(f->store, name, IMAGE_ID, "busybox", config, c, &err);
    json_decref(config);
    if (ret != 0)
        fail_msg("create %s: %s", name ? name : "(generated)", err.msg);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static size_t count_rows(struct fixture *f)
{
    struct servin_container *list = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    assert_int_equal(servin_container_list(f->store, &list, &n, &err), 0);
    servin_containers_free(list, n);
    return n;
}

static void create_named_and_generated(void **state)
{
    struct fixture *f = *state;
    struct servin_container a, b;
    create(f, "web", &a);
    assert_string_equal(a.name, "web");
    assert_int_equal(strlen(a.id), 64);
    assert_int_equal(strspn(a.id, "0123456789abcdef"), 64);
    assert_int_equal(a.state, SERVIN_CONTAINER_CREATED);
    assert_string_equal(a.image_id, IMAGE_ID);
    assert_string_equal(a.image_ref, "busybox");
    assert_true(a.created > 0);
    _cleanup_free_ char *dir = servin_container_dir(f->store, a.id);
    assert_true(exists(dir));

    create(f, NULL, &b);
    assert_non_null(strchr(b.name, '_'));
    assert_string_not_equal(a.id, b.id);
    struct servin_container got;
    struct servin_error err = {0};
    assert_int_equal(servin_container_get(f->store, b.name, &got, &err), 0);
    assert_string_equal(got.id, b.id);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_object_get(got.config, "Config"), "Cmd"), 0)),
        "sh");
    servin_container_clear(&got);
    servin_container_clear(&a);
    servin_container_clear(&b);
}

static void random_names_look_docker_like(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        _cleanup_free_ char *n = servin_container_random_name();
        char *us = strchr(n, '_');
        assert_non_null(us);
        assert_null(strchr(us + 1, '_'));
        assert_true(us > n && us[1] != '\0');
        assert_int_equal(strspn(n, "abcdefghijklmnopqrstuvwxyz_"), strlen(n));
    }
}

static void duplicate_name_refused(void **state)
{
    struct fixture *f = *state;
    struct servin_container a, b;
    create(f, "web", &a);
    struct servin_error err = {0};
    json_t *config = json_object();
    assert_int_equal(servin_container_create_record(f->store, "/web", IMAGE_ID, NULL, config, &b, &err),
                     -EEXIST);
    json_decref(config);
    assert_non_null(strstr(err.msg, "the container name \"/web\" is already in use by container"));
    assert_non_null(strstr(err.msg, a.id));
    assert_int_equal(count_rows(f), 1);
    /* Nothing left behind: only the first container's directory. */
    _cleanup_free_ char *parent = servin_store_path(f->store, "containers");
    int entries = 0;
    DIR *d = opendir(parent);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
    servin_container_clear(&a);
}

static void invalid_names_refused(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = {"-x", "a", "a b", "_lead", "x/y", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct servin_container c;
        struct servin_error err = {0};
        assert_int_equal(servin_container_create_record(f->store, bad[i], IMAGE_ID, NULL, NULL, &c, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "invalid container name"));
    }
    assert_int_equal(count_rows(f), 0);
}

static void get_by_id_prefix_and_name(void **state)
{
    struct fixture *f = *state;
    struct servin_container a, got;
    struct servin_error err = {0};
    create(f, "web", &a);
    char prefix[8];
    snprintf(prefix, sizeof(prefix), "%.7s", a.id);
    const char *forms[] = {a.id, prefix, "web", "/web"};
    for (size_t i = 0; i < 4; i++) {
        if (servin_container_get(f->store, forms[i], &got, &err) != 0)
            fail_msg("get %s: %s", forms[i], err.msg);
        assert_string_equal(got.id, a.id);
        servin_container_clear(&got);
    }
    assert_int_equal(servin_container_get(f->store, "nope", &got, &err), -ENOENT);
    assert_string_equal(err.msg, "No such container: nope");
    assert_int_equal(servin_container_get(f->store, "", &got, &err), -ENOENT);

    /* 17 ids over 16 first digits: two share a one-digit prefix, which is then ambiguous. */
    char ids[17][SERVIN_CONTAINER_ID_LEN + 1];
    strcpy(ids[0], a.id);
    for (int i = 1; i < 17; i++) {
        struct servin_container c;
        create(f, NULL, &c);
        strcpy(ids[i], c.id);
        servin_container_clear(&c);
    }
    char shared[2] = "";
    for (int i = 0; i < 17 && !shared[0]; i++)
        for (int j = i + 1; j < 17; j++)
            if (ids[i][0] == ids[j][0])
                shared[0] = ids[i][0];
    assert_int_equal(servin_container_get(f->store, shared, &got, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "multiple containers"));
    servin_container_clear(&a);
}

static void rename_and_list_order(void **state)
{
    struct fixture *f = *state;
    struct servin_container a, b, c, got;
    struct servin_error err = {0};
    create(f, "first", &a);
    create(f, "second", &b);
    create(f, "third", &c);
    struct servin_container *list = NULL;
    size_t n = 0;
    assert_int_equal(servin_container_list(f->store, &list, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "third");
    assert_string_equal(list[1].name, "second");
    assert_string_equal(list[2].name, "first");
    servin_containers_free(list, n);

    assert_int_equal(servin_container_rename(f->store, "first", "renamed", &err), 0);
    assert_int_equal(servin_container_get(f->store, "first", &got, &err), -ENOENT);
    assert_int_equal(servin_container_get(f->store, "renamed", &got, &err), 0);
    assert_string_equal(got.id, a.id);
    servin_container_clear(&got);
    assert_int_equal(servin_container_rename(f->store, "renamed", "second", &err), -EEXIST);
    assert_non_null(strstr(err.msg, b.id));
    assert_int_equal(servin_container_rename(f->store, "renamed", "bad name", &err), -EINVAL);
    assert_int_equal(servin_container_rename(f->store, "missing", "fine", &err), -ENOENT);
    /* A failed rename changed nothing. */
    assert_int_equal(servin_container_get(f->store, "renamed", &got, &err), 0);
    servin_container_clear(&got);
    servin_container_clear(&a);
    servin_container_clear(&b);
    servin_container_clear(&c);
}

static void delete_removes_row_and_dirs(void **state)
{
    struct fixture *f = *state;
    struct servin_container a, got;
    struct servin_error err = {0};
    create(f, "gone", &a);
    _cleanup_free_ char *dir = servin_container_dir(f->store, a.id);
    _cleanup_free_ char *run_dir = servin_container_run_dir(f->store, a.id);
    assert_int_equal(servin_mkdir_p(run_dir, 0700, &err), 0);
    assert_int_equal(servin_container_delete_record(f->store, a.id, &err), 0);
    assert_false(exists(dir));
    assert_false(exists(run_dir));
    assert_int_equal(servin_container_get(f->store, "gone", &got, &err), -ENOENT);
    assert_int_equal(servin_container_delete_record(f->store, a.id, &err), -ENOENT);
    servin_container_clear(&a);
}

static void image_in_use_hook(void **state)
{
    struct fixture *f = *state;
    struct servin_container a;
    assert_false(servin_container_image_in_use(f->store, IMAGE_ID));
    create(f, "user", &a);
    assert_true(servin_container_image_in_use(f->store, IMAGE_ID));
    assert_false(servin_container_image_in_use(f->store, OTHER_IMAGE));
    servin_container_init_hooks();
    servin_container_clear(&a);
}

static void save_state_round_trip(void **state)
{
    struct fixture *f = *state;
    struct servin_container a, got;
    struct servin_error err = {0};
    create(f, "saved", &a);
    a.state = SERVIN_CONTAINER_EXITED;
    a.exit_code = 42;
    a.started_at = 1000;
    a.finished_at = 2000;
    a.restart_count = 3;
    a.health = xstrdup("healthy");
    a.oom_killed = true;
    assert_int_equal(servin_container_save_state(f->store, &a, &err), 0);
    assert_int_equal(servin_container_get(f->store, "saved", &got, &err), 0);
    assert_int_equal(got.state, SERVIN_CONTAINER_EXITED);
    assert_int_equal(got.exit_code, 42);
    assert_int_equal(got.started_at, 1000);
    assert_int_equal(got.finished_at, 2000);
    assert_int_equal(got.restart_count, 3);
    assert_string_equal(got.health, "healthy");
    assert_true(got.oom_killed);
    assert_string_equal(servin_container_state_name(got.state), "exited");
    servin_container_clear(&got);
    servin_container_clear(&a);
}

/* --- reconcile --- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put_run_file(struct fixture *f, const char *id, const char *name, const char *text)
{
    struct servin_error err = {0};
    _cleanup_free_ char *run_dir = servin_container_run_dir(f->store, id);
    assert_int_equal(servin_mkdir_p(run_dir, 0700, &err), 0);
    _cleanup_free_ char *path = xasprintf("%s/%s", run_dir, name);
    assert_int_equal(servin_write_file_atomic(path, text, strlen(text), 0600, &err), 0);
}

/* A container the record says is running since `started`. */
static void running_record(struct fixture *f, const char *name, pid_t pid, int64_t started,
                           struct servin_container *c)
{
    struct servin_error err = {0};
    create(f, name, c);
    c->state = SERVIN_CONTAINER_RUNNING;
    c->pid = pid;
    c->started_at = started;
    assert_int_equal(servin_container_save_state(f->store, c, &err), 0);
}

static pid_t dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

static const char *stored_state(struct fixture *f, const char *id, char buf[32])
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(f->store->db, "SELECT state FROM containers WHERE id = ?", -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    snprintf(buf, 32, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return buf;
}

static void pid_alive_checks_start_time_and_zombies(void **state)
{
    (void)state;
    int64_t before = now_ns();
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    /* Named by a file written now: alive. Named by one from a minute before it started: reused. */
    assert_true(ctr_pid_alive(child, now_ns()));
    assert_true(ctr_pid_alive(child, 0));
    assert_false(ctr_pid_alive(child, before - 60000000000LL));
    kill(child, SIGKILL);
    /* A zombie is not alive, even before it is reaped. */
    for (int i = 0; i < 200 && ctr_pid_alive(child, 0); i++)
        usleep(10000);
    assert_false(ctr_pid_alive(child, 0));
    waitpid(child, NULL, 0);
    assert_false(ctr_pid_alive(child, 0));
    assert_false(ctr_pid_alive(0, 0));
}

static void reconcile_running_from_state_file(void **state)
{
    struct fixture *f = *state;
    struct servin_container c, got;
    struct servin_error err = {0};
    char buf[32];
    create(f, "live", &c);
    int64_t started = now_ns();
    /* Our own pid stands in for both the monitor and the init: alive, and older than the files. */
    _cleanup_free_ char *pid_text = xasprintf("%d\n", (int)getpid());
    put_run_file(f, c.id, "monitor.pid", pid_text);
    _cleanup_free_ char *st =
        xasprintf("{\"Status\":\"running\",\"Pid\":%d,\"StartedAt\":%lld,\"RestartCount\":2}", (int)getpid(),
                  (long long)started);
    put_run_file(f, c.id, "state", st);
    assert_int_equal(servin_container_get(f->store, "live", &got, &err), 0);
    assert_int_equal(got.state, SERVIN_CONTAINER_RUNNING);
    assert_int_equal(got.pid, getpid());
    assert_int_equal(got.monitor_pid, getpid());
    assert_int_equal(got.started_at, started);
    assert_int_equal(got.restart_count, 2);
    assert_string_equal(stored_state(f, c.id, buf), "running");
    servin_container_clear(&got);
    servin_container_clear(&c);
}

static void reconcile_exit_file(void **state)
{
    struct fixture *f = *state;
    struct servin_container c, got;
    struct servin_error err = {0};
    char buf[32];
    int64_t started = now_ns() - 5000000000LL;
    running_record(f, "done", dead_pid(), started, &c);
    _cleanup_free_ char *ex =
        xasprintf("{\"ExitCode\":3,\"FinishedAt\":%lld,\"OOMKilled\":true}", (long long)(started + 1000));
    put_run_file(f, c.id, "exit", ex);
    assert_int_equal(servin_container_get(f->store, "done", &got, &err), 0);
    assert_int_equal(got.state, SERVIN_CONTAINER_EXITED);
    assert_int_equal(got.exit_code, 3);
    assert_int_equal(got.finished_at, started + 1000);
    assert_true(got.oom_killed);
    assert_int_equal(got.pid, 0);
    assert_string_equal(stored_state(f, c.id, buf), "exited");
    servin_container_clear(&got);
    servin_container_clear(&c);
}

static void reconcile_stale_exit_file_ignored(void **state)
{
    struct fixture *f = *state;
    struct servin_container c, got;
    struct servin_error err = {0};
    int64_t started = now_ns();
    create(f, "again", &c);
    _cleanup_free_ char *pid_text = xasprintf("%d", (int)getpid());
    put_run_file(f, c.id, "monitor.pid", pid_text);
    _cleanup_free_ char *st = xasprintf("{\"Status\":\"running\",\"Pid\":%d,\"StartedAt\":%lld}",
                                        (int)getpid(), (long long)started);
    put_run_file(f, c.id, "state", st);
    /* From the run before this start. */
    _cleanup_free_ char *ex =
        xasprintf("{\"ExitCode\":1,\"FinishedAt\":%lld}", (long long)(started - 1000000));
    put_run_file(f, c.id, "exit", ex);
    assert_int_equal(servin_container_get(f->store, "again", &got, &err), 0);
    assert_int_equal(got.state, SERVIN_CONTAINER_RUNNING);
    servin_container_clear(&got);
    servin_container_clear(&c);
}

static void reconcile_lost_is_255(void **state)
{
    struct fixture *f = *state;
    struct servin_container c, got;
    struct servin_error err = {0};
    int64_t before = now_ns();
    running_record(f, "lost", dead_pid(), before - 1000, &c);
    _cleanup_free_ char *pid_text = xasprintf("%d", (int)dead_pid());
    put_run_file(f, c.id, "monitor.pid", pid_text);
    assert_int_equal(servin_container_get(f->store, "lost", &got, &err), 0);
    assert_int_equal(got.state, SERVIN_CONTAINER_EXITED);
    assert_int_equal(got.exit_code, 255);
    assert_true(got.finished_at >= before);
    assert_int_equal(got.pid, 0);
    assert_int_equal(got.monitor_pid, 0);
    servin_container_clear(&got);
    servin_container_clear(&c);
}

static void reconcile_reused_monitor_pid_is_dead(void **state)
{
    struct fixture *f = *state;
    struct servin_container c, got;
    struct servin_error err = {0};
    running_record(f, "reused", dead_pid(), now_ns() - 1000, &c);
    /* A live pid, but the file naming it is older than the process: the pid was reused. */
    _cleanup_free_ char *pid_text = xasprintf("%d", (int)getpid());
    put_run_file(f, c.id, "monitor.pid", pid_text);
    _cleanup_free_ char *run_dir = servin_container_run_dir(f->store, c.id);
    _cleanup_free_ char *path = xasprintf("%s/monitor.pid", run_dir);
    struct timespec old[2] = {{.tv_sec = 946684800}, {.tv_sec = 946684800}};
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    assert_int_equal(servin_container_get(f->store, "reused", &got, &err), 0);
    assert_int_equal(got.state, SERVIN_CONTAINER_EXITED);
    assert_int_equal(got.exit_code, 255);
    servin_container_clear(&got);
    servin_container_clear(&c);
}

static void reconcile_restarting_and_stopped_marker(void **state)
{
    struct fixture *f = *state;
    struct servin_container c, got;
    struct servin_error err = {0};
    int64_t started = now_ns() - 3000000000LL;
    running_record(f, "flappy", dead_pid(), started, &c);
    _cleanup_free_ char *pid_text = xasprintf("%d", (int)getpid());
    put_run_file(f, c.id, "monitor.pid", pid_text);
    _cleanup_free_ char *st = xasprintf(
        "{\"Status\":\"restarting\",\"Pid\":0,\"StartedAt\":%lld,\"RestartCount\":1}", (long long)started);
    put_run_file(f, c.id, "state", st);
    _cleanup_free_ char *ex = xasprintf("{\"ExitCode\":137,\"FinishedAt\":%lld}", (long long)(started + 10));
    put_run_file(f, c.id, "exit", ex);
    assert_int_equal(servin_container_get(f->store, "flappy", &got, &err), 0);
    assert_int_equal(got.state, SERVIN_CONTAINER_RESTARTING);
    assert_int_equal(got.exit_code, 137);
    assert_int_equal(got.restart_count, 1);
    servin_container_clear(&got);

    /* `stop` marked it: the monitor will not restart, so it is exited. */
    put_run_file(f, c.id, "stopped", "");
    assert_int_equal(servin_container_get(f->store, "flappy", &got, &err), 0);
    assert_int_equal(got.state, SERVIN_CONTAINER_EXITED);
    assert_int_equal(got.exit_code, 137);
    servin_container_clear(&got);
    servin_container_clear(&c);
}

static void created_without_files_stays_created(void **state)
{
    struct fixture *f = *state;
    struct servin_container c, got;
    struct servin_error err = {0};
    create(f, "idle", &c);
    assert_int_equal(servin_container_get(f->store, "idle", &got, &err), 0);
    assert_int_equal(got.state, SERVIN_CONTAINER_CREATED);
    assert_int_equal(got.exit_code, 0);
    servin_container_clear(&got);
    servin_container_clear(&c);
}

/* --- parsing --- */

static void parse_bytes_table(void **state)
{
    (void)state;
    const struct {
        const char *text;
        int64_t want;
    } ok[] = {{"1024", 1024},         {"0", 0},
              {"100k", 102400},       {"100K", 102400},
              {"512m", 536870912},    {"512MB", 536870912},
              {"1g", 1073741824},     {"1GiB", 1073741824},
              {"1.5g", 1610612736},   {"10b", 10},
              {"2t", 2199023255552LL}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        struct servin_error err = {0};
        if (servin_parse_bytes(ok[i].text, &v, &err) != 0)
            fail_msg("parse %s: %s", ok[i].text, err.msg);
        assert_int_equal(v, ok[i].want);
    }
    const char *bad[] = {"", "m", "-1m", "12x", "1.2.3g", "abc", "9999999p"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 0;
        struct servin_error err = {0};
        if (servin_parse_bytes(bad[i], &v, &err) == 0)
            fail_msg("parse %s should fail, gave %lld", bad[i], (long long)v);
        assert_non_null(strstr(err.msg, "invalid size"));
    }
}

static void parse_duration_table(void **state)
{
    (void)state;
    const struct {
        const char *text;
        int64_t want;
    } ok[] = {{"30s", 30000000000LL},    {"1m30s", 90000000000LL}, {"500ms", 500000000}, {"0", 0},
              {"1h", 3600000000000LL},   {"1.5s", 1500000000},     {"10us", 10000},      {"7ns", 7},
              {"2h45m", 9900000000000LL}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        struct servin_error err = {0};
        if (servin_parse_duration(ok[i].text, &v, &err) != 0)
            fail_msg("parse %s: %s", ok[i].text, err.msg);
        assert_int_equal(v, ok[i].want);
    }
    const char *bad[] = {"", "30", "s", "-5s", "5x", "1m30", "abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 0;
        struct servin_error err = {0};
        if (servin_parse_duration(bad[i], &v, &err) == 0)
            fail_msg("parse %s should fail, gave %lld", bad[i], (long long)v);
        assert_non_null(strstr(err.msg, "invalid duration"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_named_and_generated, setup, teardown),
        cmocka_unit_test(random_names_look_docker_like),
        cmocka_unit_test_setup_teardown(duplicate_name_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_names_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(get_by_id_prefix_and_name, setup, teardown),
        cmocka_unit_test_setup_teardown(rename_and_list_order, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_removes_row_and_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(image_in_use_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(save_state_round_trip, setup, teardown),
        cmocka_unit_test(pid_alive_checks_start_time_and_zombies),
        cmocka_unit_test_setup_teardown(reconcile_running_from_state_file, setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_exit_file, setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_stale_exit_file_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_lost_is_255, setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_reused_monitor_pid_is_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_restarting_and_stopped_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(created_without_files_stays_created, setup, teardown),
        cmocka_unit_test(parse_bytes_table),
        cmocka_unit_test(parse_duration_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
