/* container/logread.c — `logs`: read the json-file log the monitor writes, rotated files oldest
 * first, with tail/since/until/timestamps, and follow it until the container has ended. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/monitor_internal.h"
#include "servin/cleanup.h"
#include "servin/monitor.h"

struct line_reader {
    int fd;
    char *buf;
    size_t len, cap;
};

/* The next complete line (without '\n', NUL-terminated in place) or NULL when none is buffered. */
static char *next_line(struct line_reader *r, size_t *consumed)
{
    char *nl = memchr(r->buf, '\n', r->len);
    if (!nl)
        return NULL;
    *nl = '\0';
    *consumed = (size_t)(nl - r->buf) + 1;
    return r->buf;
}

static void drop(struct line_reader *r, size_t n)
{
    memmove(r->buf, r->buf + n, r->len - n);
    r->len -= n;
}

/* Read what the file has now; returns bytes read, 0 at its current end, < 0 on error. */
static ssize_t fill(struct line_reader *r)
{
    if (r->cap - r->len < 65536) {
        r->cap = r->cap ? r->cap * 2 : 131072;
        r->buf = xrealloc(r->buf, r->cap);
    }
    ssize_t n;
    do
        n = read(r->fd, r->buf + r->len, r->cap - r->len - 1);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        r->len += (size_t)n;
    return n < 0 ? -errno : n;
}

struct entry {
    int stream;
    int64_t time;
    char *text; /* already prefixed with the time when asked */
    size_t len;
};

struct reader_state {
    const struct servin_log_read_opts *o;
    int (*emit)(void *ctx, int stream, const char *text, size_t len);
    void *ctx;
    struct entry *ring; /* tail: the last N entries */
    size_t ring_n, ring_next;
    bool stopped;
};

/* A CRI line "<time> <stdout|stderr> <F|P> <text>" as the json-file object it stands for (a whole
 * line, F, gets its newline back); NULL when it is not one. */
static json_t *cri_line(const char *line)
{
    const char *sp1 = strchr(line, ' ');
    const char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp2 || (sp2[1] != 'F' && sp2[1] != 'P') || (sp2[2] != ' ' && sp2[2] != '\0'))
        return NULL;
    _cleanup_free_ char *time = xstrndup(line, (size_t)(sp1 - line));
    _cleanup_free_ char *stream = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    const char *text = sp2[2] ? sp2 + 3 : "";
    _cleanup_free_ char *log = xasprintf("%s%s", text, sp2[1] == 'F' ? "\n" : "");
    json_t *obj = json_object();
    /* Container output need not be UTF-8; the reader only copies the bytes. */
    json_object_set_new(obj, "log", json_stringn_nocheck(log, strlen(log)));
    json_object_set_new(obj, "stream", json_stringn_nocheck(stream, strlen(stream)));
    json_object_set_new(obj, "time", json_stringn_nocheck(time, strlen(time)));
    return obj;
}

static void emit_or_keep(struct reader_state *s, const char *line)
{
    json_t *obj =
        line[0] == '{' ? json_loads(line, JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, NULL) : cri_line(line);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return; /* a torn or foreign line: skip it, as Docker does */
    }
    json_t *log = json_object_get(obj, "log");
    const char *stream = json_string_value(json_object_get(obj, "stream"));
    const char *time = json_string_value(json_object_get(obj, "time"));
    int64_t t = time ? monitor_parse_time(time) : -1;
    if (!json_is_string(log) || (s->o->since_ns && t < s->o->since_ns) ||
        (s->o->until_ns && t >= s->o->until_ns)) {
        json_decref(obj);
        return;
    }
    int sn = stream && strcmp(stream, "stderr") == 0 ? 2 : 1;
    size_t len = json_string_length(log);
    char *text;
    if (s->o->timestamps) {
        size_t tl = strlen(time ? time : "");
        text = xmalloc(tl + 1 + len + 1);
        memcpy(text, time ? time : "", tl);
        text[tl] = ' ';
        memcpy(text + tl + 1, json_string_value(log), len);
        len += tl + 1;
    } else {
        text = xmalloc(len + 1);
        memcpy(text, json_string_value(log), len);
    }
    text[len] = '\0';
    json_decref(obj);
    if (s->o->tail >= 0) {
        if (s->ring_n == 0) {
            free(text);
            return;
        }
        struct entry *e = &s->ring[s->ring_next % s->ring_n];
        free(e->text);
        *e = (struct entry){.stream = sn, .time = t, .text = text, .len = len};
        s->ring_next++;
        return;
    }
    if (!s->stopped && s->emit(s->ctx, sn, text, len) < 0)
        s->stopped = true;
    free(text);
}

static void consume_lines(struct reader_state *s, struct line_reader *r)
{
    size_t used;
    char *line;
    while ((line = next_line(r, &used)) != NULL) {
        emit_or_keep(s, line);
        drop(r, used);
    }
}

static void flush_ring(struct reader_state *s)
{
    if (s->o->tail < 0)
        return;
    size_t n = s->ring_next < s->ring_n ? s->ring_next : s->ring_n;
    size_t first = s->ring_next - n;
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &s->ring[(first + i) % s->ring_n];
        if (!s->stopped && s->emit(s->ctx, e->stream, e->text, e->len) < 0)
            s->stopped = true;
        free(e->text);
        e->text = NULL;
    }
    s->ring_next = 0;
}

/* The monitor is gone when monitor.pid is missing or names no live process. */
static bool monitor_gone(const char *run_dir)
{
    char path[4096], buf[32];
    snprintf(path, sizeof(path), "%s/monitor.pid", run_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    long pid = strtol(buf, NULL, 10);
    if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
        return true;
    /* A zombie (not yet reaped by its parent) has ended too. */
    char stat[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    n = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    stat[n > 0 ? n : 0] = '\0';
    const char *paren = strrchr(stat, ')');
    return paren && paren[1] == ' ' && paren[2] == 'Z';
}

static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static int follow(struct reader_state *s, const char *log_path, struct line_reader *r)
{
    for (;;) {
        bool gone = s->o->run_dir && monitor_gone(s->o->run_dir);
        ssize_t n;
        while ((n = fill(r)) > 0)
            consume_lines(s, r);
        if (s->stopped || gone)
            return 0;
        /* Rotated under us: the old file is read to its end, go on with the new one. */
        if (r->fd < 0 || !same_file(r->fd, log_path)) {
            int fd = open(log_path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                /* What was appended to the old file just before it was renamed comes first. */
                while (r->fd >= 0 && fill(r) > 0)
                    consume_lines(s, r);
                if (r->fd >= 0)
                    close(r->fd);
                r->fd = fd;
                r->len = 0;
                continue;
            }
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int servin_log_read(const char *log_path, const struct servin_log_read_opts *opts,
                    int (*emit)(void *ctx, int stream, const char *text, size_t len), void *ctx,
                    struct servin_error *err)
{
    struct reader_state s = {.o = opts, .emit = emit, .ctx = ctx};
    struct line_reader r = {.fd = -1};
    int rotated = 0;
    char path[4096];
    for (;;) {
        snprintf(path, sizeof(path), "%s.%d", log_path, rotated + 1);
        if (access(path, F_OK) < 0)
            break;
        rotated++;
    }
    if (opts->tail >= 0) {
        s.ring_n = (size_t)opts->tail;
        s.ring = s.ring_n ? xcalloc(s.ring_n, sizeof(*s.ring)) : NULL;
    }
    int ret = 0;
    for (int i = rotated; i >= 0 && ret == 0; i--) {
        if (i > 0)
            snprintf(path, sizeof(path), "%s.%d", log_path, i);
        else
            snprintf(path, sizeof(path), "%s", log_path);
        r.fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r.fd < 0) {
            if (errno != ENOENT)
                ret = servin_error_errno(err, errno, "read container log %s", path);
            continue;
        }
        r.len = 0;
        ssize_t n;
        while ((n = fill(&r)) > 0)
            consume_lines(&s, &r);
        if (n < 0)
            ret = servin_error_errno(err, (int)-n, "read container log %s", path);
        if (i > 0) {
            close(r.fd);
            r.fd = -1;
        }
    }
    flush_ring(&s);
    free(s.ring);
    /* Past the tail, a followed log streams everything new. */
    s.o = opts;
    struct servin_log_read_opts live = *opts;
    live.tail = -1;
    s.o = &live;
    if (ret == 0 && opts->follow && !s.stopped)
        ret = follow(&s, log_path, &r);
    if (r.fd >= 0)
        close(r.fd);
    free(r.buf);
    return ret;
}
