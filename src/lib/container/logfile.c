/* container/logfile.c — the log writer of the monitor: json-file with rotation, or the CRI format.
 *
 * json-file: each line of container output becomes
 * {"log":"<text>","stream":"stdout","time":"<RFC 3339 nano>"}.
 * CRI (Kubernetes' container log format, rotated by kubelet, which then asks us to reopen): each
 * line becomes "<RFC 3339 nano> <stdout|stderr> <F|P> <text>\n", F for a whole line (its newline is
 * the record's), P for a piece of a line longer than the buffer; the last piece of a stream that
 * ends without a newline is F, as in containerd.
 * The writer keeps no buffer but the partial last line of each stream (16 KiB at most): the monitor
 * must stay small, so entries are escaped and written out in small chunks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/monitor_internal.h"
#include "servin/cleanup.h"

int64_t monitor_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void monitor_format_time(int64_t ns, char *buf, size_t size)
{
    time_t sec = (time_t)(ns / 1000000000);
    struct tm tm;
    char base[32];
    gmtime_r(&sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%09ldZ", base, (long)(ns % 1000000000));
}

int64_t monitor_parse_time(const char *text)
{
    struct tm tm = {0};
    const char *p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    int64_t frac = 0;
    int digits = 0;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 9)
                frac = frac * 10 + (*p - '0');
    for (int i = digits; i < 9; i++)
        frac *= 10;
    if (*p != 'Z' || p[1] != '\0')
        return -1;
    return (int64_t)timegm(&tm) * 1000000000 + frac;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, cp = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, cp = s[0] & 0x0f, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Output gathered in a small buffer and written when full. */
struct chunk {
    char buf[4096];
    size_t len;
    int fd;
    bool failed;
};

static void chunk_put(struct chunk *c, const char *s, size_t n)
{
    while (n > 0) {
        size_t room = sizeof(c->buf) - c->len;
        size_t k = n < room ? n : room;
        memcpy(c->buf + c->len, s, k);
        c->len += k;
        s += k;
        n -= k;
        if (c->len == sizeof(c->buf)) {
            if (!c->failed && write(c->fd, c->buf, c->len) != (ssize_t)c->len)
                c->failed = true;
            c->len = 0;
        }
    }
}

static void chunk_end(struct chunk *c)
{
    if (c->len && !c->failed && write(c->fd, c->buf, c->len) != (ssize_t)c->len)
        c->failed = true;
    c->len = 0;
}

/* Escape text as a JSON string body into out; with out == NULL only count. Invalid UTF-8 becomes
 * U+FFFD so that every JSON reader can parse the log. */
static size_t escape(struct chunk *out, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t total = 0;
    for (size_t i = 0; i < len;) {
        char esc[8];
        const char *piece = esc;
        size_t plen;
        size_t seq = utf8_seq(s + i, len - i);
        if (seq == 0) {
            piece = "\xef\xbf\xbd";
            plen = 3;
            seq = 1;
        } else if (seq > 1) {
            piece = (const char *)s + i;
            plen = seq;
        } else if (s[i] == '"' || s[i] == '\\') {
            esc[0] = '\\', esc[1] = (char)s[i], plen = 2;
        } else if (s[i] == '\n') {
            piece = "\\n", plen = 2;
        } else if (s[i] == '\r') {
            piece = "\\r", plen = 2;
        } else if (s[i] == '\t') {
            piece = "\\t", plen = 2;
        } else if (s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
            plen = 6;
        } else {
            piece = (const char *)s + i;
            plen = 1;
        }
        if (out)
            chunk_put(out, piece, plen);
        total += plen;
        i += seq;
    }
    return total;
}

static int reopen(struct logfile *lf)
{
    if (lf->fd >= 0)
        close(lf->fd);
    lf->fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (lf->fd < 0)
        return -errno;
    struct stat st;
    lf->size = fstat(lf->fd, &st) == 0 ? st.st_size : 0;
    return 0;
}

/* log.json -> log.json.1 -> ... -> log.json.<max_files-1>; the oldest falls off. */
static void rotate(struct logfile *lf)
{
    char from[4096], to[4096];
    for (int i = lf->max_files - 1; i >= 1; i--) {
        if (i == 1)
            snprintf(from, sizeof(from), "%s", lf->path);
        else
            snprintf(from, sizeof(from), "%s.%d", lf->path, i - 1);
        snprintf(to, sizeof(to), "%s.%d", lf->path, i);
        rename(from, to);
    }
    if (lf->max_files <= 1 && lf->fd >= 0 && ftruncate(lf->fd, 0) == 0) {
        lf->size = 0;
        return;
    }
    reopen(lf);
}

int logfile_reopen(struct logfile *lf)
{
    return lf->path ? reopen(lf) : 0;
}

/* One CRI record; the text's own trailing newline is dropped (the record's ends it). */
static void write_cri_entry(struct logfile *lf, int stream, const char *text, size_t len, bool partial)
{
    char head[80];
    monitor_format_time(monitor_now_ns(), head, sizeof(head));
    size_t hlen = strlen(head);
    hlen += (size_t)snprintf(head + hlen, sizeof(head) - hlen, " %s %c ", stream == 1 ? "stdout" : "stderr",
                             partial ? 'P' : 'F');
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (lf->fd < 0)
        return;
    struct chunk c = {.fd = lf->fd};
    chunk_put(&c, head, hlen);
    chunk_put(&c, text, len);
    chunk_put(&c, "\n", 1);
    chunk_end(&c);
    lf->size += (int64_t)(hlen + len + 1);
}

int logfile_open(struct logfile *lf, const char *path, bool cri, int64_t max_size, int max_files,
                 struct servin_error *err)
{
    lf->cri = cri;
    lf->fd = -1;
    lf->size = 0;
    lf->path = path ? xstrdup(path) : NULL;
    lf->max_size = max_size;
    lf->max_files = max_files < 1 ? 1 : max_files;
    lf->part[0].len = lf->part[1].len = 0;
    if (!path)
        return 0;
    int ret = reopen(lf);
    if (ret < 0) {
        free(lf->path);
        lf->path = NULL;
        return servin_error_errno(err, -ret, "open container log %s", path);
    }
    return 0;
}

static void write_entry(struct logfile *lf, int stream, const char *text, size_t len)
{
    static const char *const names[] = {"stdout", "stderr"};
    char time[48], tail[96];
    monitor_format_time(monitor_now_ns(), time, sizeof(time));
    int tlen =
        snprintf(tail, sizeof(tail), "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", names[stream - 1], time);
    static const char head[] = "{\"log\":\"";
    int64_t total = (int64_t)(sizeof(head) - 1) + (int64_t)escape(NULL, text, len) + tlen;
    if (lf->max_size > 0 && lf->size > 0 && lf->size + total > lf->max_size)
        rotate(lf);
    if (lf->fd < 0)
        return;
    struct chunk c = {.fd = lf->fd};
    chunk_put(&c, head, sizeof(head) - 1);
    escape(&c, text, len);
    chunk_put(&c, tail, (size_t)tlen);
    chunk_end(&c);
    lf->size += total;
}

void logfile_write(struct logfile *lf, int stream, const char *data, size_t len)
{
    if (!lf->path || (stream != 1 && stream != 2))
        return;
    struct logfile_partial *p = &lf->part[stream - 1];
    while (len > 0) {
        size_t room = sizeof(p->buf) - p->len;
        size_t n = len < room ? len : room;
        const char *nl = memchr(data, '\n', n);
        if (nl)
            n = (size_t)(nl - data) + 1;
        memcpy(p->buf + p->len, data, n);
        p->len += n;
        data += n;
        len -= n;
        if (nl || p->len == sizeof(p->buf)) {
            if (lf->cri)
                write_cri_entry(lf, stream, p->buf, p->len, !nl);
            else
                write_entry(lf, stream, p->buf, p->len);
            p->len = 0;
        }
    }
}

void logfile_flush(struct logfile *lf, int stream)
{
    if (!lf->path || (stream != 1 && stream != 2))
        return;
    struct logfile_partial *p = &lf->part[stream - 1];
    if (p->len && lf->cri)
        write_cri_entry(lf, stream, p->buf, p->len, false);
    else if (p->len)
        write_entry(lf, stream, p->buf, p->len);
    p->len = 0;
}

void logfile_close(struct logfile *lf)
{
    logfile_flush(lf, 1);
    logfile_flush(lf, 2);
    if (lf->fd >= 0)
        close(lf->fd);
    lf->fd = -1;
    free(lf->path);
    lf->path = NULL;
}
