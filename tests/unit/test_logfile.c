/* Unit tests for the json-file log: the monitor's writer (lines, partials, rotation) and
 * servin_log_read (tail, since, until, timestamps, follow). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#include "container/monitor_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/monitor.h"

struct collected {
    int n;
    int streams[512];
    char *texts[512];
    int stop_after; /* 0 = never */
};

static int collect(void *ctx, int stream, const char *text, size_t len)
{
    struct collected *c = ctx;
    if (c->n >= 512)
        return -1;
    c->streams[c->n] = stream;
    c->texts[c->n++] = xstrndup(text, len);
    return c->stop_after && c->n >= c->stop_after ? -1 : 0;
}

static void collected_free(struct collected *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->texts[i]);
    c->n = 0;
}

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/servin-logtest-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return xstrdup(d);
}

static void rm_tree(char *dir)
{
    struct servin_error err = {0};
    servin_rm_rf(dir, &err);
    free(dir);
}

static const struct servin_log_read_opts all = {.tail = -1};

static void time_format_round_trip(void **state)
{
    char buf[48];
    monitor_format_time(1795618953443691438LL, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-25T15:02:33.443691438Z");
    assert_int_equal(monitor_parse_time(buf), 1795618953443691438LL);
    assert_int_equal(monitor_parse_time("2026-11-25T15:02:33.5Z"), 1795618953500000000LL);
    assert_int_equal(monitor_parse_time("2026-11-25T15:02:33Z"), 1795618953000000000LL);
    assert_int_equal(monitor_parse_time("2026-11-25 15:02:33Z"), -1);
    assert_int_equal(monitor_parse_time("2026-11-25T15:02:33.1+01:00"), -1);
}

static void lines_partials_and_streams(void **state)
{
    char *dir = tmpdir();
    _cleanup_free_ char *path = xasprintf("%s/log.json", dir);
    struct servin_error err = {0};
    struct logfile lf;
    assert_int_equal(logfile_open(&lf, path, false, 0, 1, &err), 0);
    logfile_write(&lf, 1, "a\nb", 3);
    logfile_write(&lf, 2, "e1\n", 3);
    logfile_write(&lf, 1, "c\n", 2);
    logfile_write(&lf, 2, "tail", 4);
    logfile_close(&lf); /* flushes the partial "tail" */

    struct collected c = {0};
    assert_int_equal(servin_log_read(path, &all, collect, &c, &err), 0);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.streams[0], 1);
    assert_string_equal(c.texts[0], "a\n");
    assert_int_equal(c.streams[1], 2);
    assert_string_equal(c.texts[1], "e1\n");
    assert_int_equal(c.streams[2], 1);
    assert_string_equal(c.texts[2], "bc\n");
    assert_int_equal(c.streams[3], 2);
    assert_string_equal(c.texts[3], "tail");
    collected_free(&c);

    /* Every line is a JSON object with Docker's three fields. */
    _cleanup_free_ char *text = NULL;
    size_t len;
    assert_int_equal(servin_read_file(path, &text, &len, &err), 0);
    char *line = strtok(text, "\n");
    json_t *obj = json_loads(line, 0, NULL);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(obj, "stream")), "stdout");
    assert_true(monitor_parse_time(json_string_value(json_object_get(obj, "time"))) > 0);
    json_decref(obj);
    rm_tree(dir);
}

static void tail_timestamps_and_early_stop(void **state)
{
    char *dir = tmpdir();
    _cleanup_free_ char *path = xasprintf("%s/log.json", dir);
    struct servin_error err = {0};
    struct logfile lf;
    assert_int_equal(logfile_open(&lf, path, false, 0, 1, &err), 0);
    for (int i = 0; i < 10; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "l%d\n", i);
        logfile_write(&lf, 1, buf, (size_t)n);
    }
    logfile_close(&lf);

    struct collected c = {0};
    struct servin_log_read_opts o = {.tail = 3};
    assert_int_equal(servin_log_read(path, &o, collect, &c, &err), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.texts[0], "l7\n");
    assert_string_equal(c.texts[2], "l9\n");
    collected_free(&c);

    o.tail = 0;
    assert_int_equal(servin_log_read(path, &o, collect, &c, &err), 0);
    assert_int_equal(c.n, 0);

    o = (struct servin_log_read_opts){.tail = 1, .timestamps = true};
    assert_int_equal(servin_log_read(path, &o, collect, &c, &err), 0);
    assert_int_equal(c.n, 1);
    char *space = strchr(c.texts[0], ' ');
    assert_non_null(space);
    assert_string_equal(space + 1, "l9\n");
    *space = '\0';
    assert_true(monitor_parse_time(c.texts[0]) > 0);
    collected_free(&c);

    c.stop_after = 2;
    assert_int_equal(servin_log_read(path, &all, collect, &c, &err), 0);
    assert_int_equal(c.n, 2);
    collected_free(&c);
    rm_tree(dir);
}

static void since_and_until(void **state)
{
    char *dir = tmpdir();
    _cleanup_free_ char *path = xasprintf("%s/log.json", dir);
    struct servin_error err = {0};
    const char *text =
        "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:01.000000000Z\"}\n"
        "{\"log\":\"two\\n\",\"stream\":\"stderr\",\"time\":\"2026-01-01T00:00:02.000000000Z\"}\n"
        "not json at all\n"
        "{\"log\":\"three\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:03.000000000Z\"}\n";
    assert_int_equal(servin_write_file_atomic(path, text, strlen(text), 0644, &err), 0);
    int64_t t2 = monitor_parse_time("2026-01-01T00:00:02.000000000Z");
    int64_t t3 = monitor_parse_time("2026-01-01T00:00:03.000000000Z");

    struct collected c = {0};
    struct servin_log_read_opts o = {.tail = -1, .since_ns = t2};
    assert_int_equal(servin_log_read(path, &o, collect, &c, &err), 0);
    assert_int_equal(c.n, 2); /* since is inclusive; the torn line is skipped */
    assert_string_equal(c.texts[0], "two\n");
    assert_int_equal(c.streams[0], 2);
    assert_string_equal(c.texts[1], "three\n");
    collected_free(&c);

    o = (struct servin_log_read_opts){.tail = -1, .until_ns = t3};
    assert_int_equal(servin_log_read(path, &o, collect, &c, &err), 0);
    assert_int_equal(c.n, 2); /* until is exclusive */
    assert_string_equal(c.texts[1], "two\n");
    collected_free(&c);

    o = (struct servin_log_read_opts){.tail = 1, .since_ns = t2, .until_ns = t3};
    assert_int_equal(servin_log_read(path, &o, collect, &c, &err), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.texts[0], "two\n");
    collected_free(&c);

    /* A container without a log yet reads as empty. */
    _cleanup_free_ char *missing = xasprintf("%s/none.json", dir);
    assert_int_equal(servin_log_read(missing, &all, collect, &c, &err), 0);
    assert_int_equal(c.n, 0);
    rm_tree(dir);
}

static void rotation_keeps_max_files_and_reads_oldest_first(void **state)
{
    char *dir = tmpdir();
    _cleanup_free_ char *path = xasprintf("%s/log.json", dir);
    struct servin_error err = {0};
    struct logfile lf;
    assert_int_equal(logfile_open(&lf, path, false, 1000, 3, &err), 0);
    for (int i = 0; i < 100; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "line %d\n", i);
        logfile_write(&lf, i % 2 + 1, buf, (size_t)n);
    }
    logfile_close(&lf);
    struct stat st;
    for (int i = 0; i < 3; i++) {
        _cleanup_free_ char *p = i ? xasprintf("%s.%d", path, i) : xstrdup(path);
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_size <= 1000);
    }
    _cleanup_free_ char *gone = xasprintf("%s.3", path);
    assert_int_equal(stat(gone, &st), -1);

    struct collected c = {0};
    assert_int_equal(servin_log_read(path, &all, collect, &c, &err), 0);
    assert_true(c.n > 10 && c.n < 100);
    int first = atoi(c.texts[0] + 5);
    for (int i = 0; i < c.n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "line %d\n", first + i);
        assert_string_equal(c.texts[i], want);
        assert_int_equal(c.streams[i], (first + i) % 2 + 1);
    }
    assert_int_equal(first + c.n, 100);
    collected_free(&c);

    /* One file: it is truncated in place when full. */
    _cleanup_free_ char *single = xasprintf("%s/single.json", dir);
    assert_int_equal(logfile_open(&lf, single, false, 200, 1, &err), 0);
    for (int i = 0; i < 20; i++)
        logfile_write(&lf, 1, "0123456789\n", 11);
    logfile_close(&lf);
    assert_int_equal(stat(single, &st), 0);
    assert_true(st.st_size > 0 && st.st_size <= 200);
    rm_tree(dir);
}

/* follow: new lines are read as they come, and the read ends once the monitor is gone. */
static void follow_until_the_monitor_is_gone(void **state)
{
    char *dir = tmpdir();
    _cleanup_free_ char *path = xasprintf("%s/log.json", dir);
    _cleanup_free_ char *pidfile = xasprintf("%s/monitor.pid", dir);
    struct servin_error err = {0};
    struct logfile lf;
    assert_int_equal(logfile_open(&lf, path, false, 0, 1, &err), 0);
    logfile_write(&lf, 1, "before\n", 7);
    logfile_close(&lf);

    pid_t writer = fork();
    assert_true(writer >= 0);
    if (writer == 0) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", (int)getpid());
        servin_write_file_atomic(pidfile, buf, (size_t)n, 0644, &err);
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
        struct logfile w;
        logfile_open(&w, path, false, 0, 1, &err);
        logfile_write(&w, 2, "after\n", 6);
        logfile_close(&w);
        nanosleep(&ts, NULL);
        _exit(0); /* the "monitor" dies: its pid is no longer alive */
    }
    /* Let the child write monitor.pid before we look. */
    for (int i = 0; i < 100 && access(pidfile, F_OK) < 0; i++)
        usleep(10000);
    struct collected c = {0};
    struct servin_log_read_opts o = {.tail = -1, .follow = true, .run_dir = dir};
    /* The child stays a zombie until we reap it: the reader counts a zombie as gone. */
    assert_int_equal(servin_log_read(path, &o, collect, &c, &err), 0);
    waitpid(writer, NULL, 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.texts[0], "before\n");
    assert_string_equal(c.texts[1], "after\n");
    assert_int_equal(c.streams[1], 2);
    collected_free(&c);
    rm_tree(dir);
}

/* follow across rotations: lines appended before a rename are still read, in order. */
static void follow_across_rotation(void **state)
{
    char *dir = tmpdir();
    _cleanup_free_ char *path = xasprintf("%s/log.json", dir);
    _cleanup_free_ char *pidfile = xasprintf("%s/monitor.pid", dir);
    struct servin_error err = {0};
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", (int)getpid());
    assert_int_equal(servin_write_file_atomic(pidfile, buf, (size_t)n, 0644, &err), 0);
    struct logfile lf;
    assert_int_equal(logfile_open(&lf, path, false, 0, 1, &err), 0);
    logfile_close(&lf);

    pid_t writer = fork();
    assert_true(writer >= 0);
    if (writer == 0) {
        struct logfile w;
        logfile_open(&w, path, false, 1200, 3, &err);
        for (int i = 0; i < 40; i++) {
            char line[32];
            int len = snprintf(line, sizeof(line), "n%d\n", i);
            logfile_write(&w, 1, line, (size_t)len);
            usleep(20000);
        }
        logfile_close(&w);
        unlink(pidfile); /* the "monitor" is done */
        _exit(0);
    }
    struct collected c = {0};
    struct servin_log_read_opts o = {.tail = -1, .follow = true, .run_dir = dir};
    assert_int_equal(servin_log_read(path, &o, collect, &c, &err), 0);
    waitpid(writer, NULL, 0);
    assert_int_equal(c.n, 40);
    for (int i = 0; i < c.n; i++) {
        snprintf(buf, sizeof(buf), "n%d\n", i);
        assert_string_equal(c.texts[i], buf);
    }
    collected_free(&c);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_format_round_trip),
        cmocka_unit_test(lines_partials_and_streams),
        cmocka_unit_test(tail_timestamps_and_early_stop),
        cmocka_unit_test(since_and_until),
        cmocka_unit_test(rotation_keeps_max_files_and_reads_oldest_first),
        cmocka_unit_test(follow_until_the_monitor_is_gone),
        cmocka_unit_test(follow_across_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
