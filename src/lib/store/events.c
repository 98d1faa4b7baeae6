/* store/events.c — the event journal (see events.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/events.h"
#include "servin/log.h"
#include "servin/timefmt.h"

#define EVENTS_MAX_SIZE (8 * 1024 * 1024)

void servin_event_emit(struct servin_store *store, const char *type, const char *action, const char *id,
                       json_t *attributes)
{
    int64_t now = servin_time_now_ns();
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:o},s:s,s:I,s:I}", "Type", type, "Action", action, "Actor", "ID",
                           id ? id : "", "Attributes", attributes ? attributes : json_object(), "scope", "local",
                           "time", (json_int_t)(now / 1000000000), "timeNano", (json_int_t)now);
    if (!ev)
        return;
    /* Old clients read the top-level status/id/from as well. */
    if (strcmp(type, "container") == 0) {
        json_object_set_new(ev, "status", json_string(action));
        json_object_set_new(ev, "id", json_string(id ? id : ""));
        json_t *image = json_object_get(json_object_get(json_object_get(ev, "Actor"), "Attributes"), "image");
        if (image)
            json_object_set(ev, "from", image);
    }
    _cleanup_free_ char *line = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (!line)
        return;
    _cleanup_free_ char *path = servin_store_path(store, "events.jsonl");
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > EVENTS_MAX_SIZE) {
        _cleanup_free_ char *old = servin_store_path(store, "events.jsonl.1");
        rename(path, old);
    }
    _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    _cleanup_free_ char *text = xasprintf("%s\n", line);
    /* One write per event: appends of a line this small do not interleave. */
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        log_debug("journal event %s %s: %s", type, action, strerror(errno));
}

void servin_event_container(struct servin_store *store, const struct servin_container *c, const char *action,
                            json_t *extra)
{
    json_t *attrs = json_pack("{s:s,s:s}", "name", c->name ? c->name : "", "image",
                              c->image_ref ? c->image_ref : c->image_id);
    json_t *labels = json_object_get(json_object_get(c->config, "Config"), "Labels");
    const char *k;
    json_t *v;
    json_object_foreach (labels, k, v)
        if (json_is_string(v) && !json_object_get(attrs, k))
            json_object_set(attrs, k, v);
    if (extra)
        json_object_update(attrs, extra);
    json_decref(extra);
    servin_event_emit(store, "container", action, c->id, attrs);
}

/* Feed complete lines of fd from *pos on; returns 1 when emit or until ended the read. */
static int feed(int fd, off_t *pos, char **partial, int64_t since_ns, int64_t until_ns,
                int (*emit)(void *ctx, json_t *event), void *ctx)
{
    char buf[65536];
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof(buf), *pos);
        if (n <= 0)
            return 0;
        *pos += n;
        size_t old = *partial ? strlen(*partial) : 0;
        *partial = xrealloc(*partial, old + (size_t)n + 1);
        memcpy(*partial + old, buf, (size_t)n);
        (*partial)[old + (size_t)n] = '\0';
        char *line = *partial, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            json_t *ev = json_loads(line, 0, NULL);
            line = nl + 1;
            if (!ev)
                continue;
            int64_t t = (int64_t)json_integer_value(json_object_get(ev, "timeNano"));
            int r = 0;
            if (until_ns > 0 && t >= until_ns)
                r = 1;
            else if (t >= since_ns)
                r = emit(ctx, ev) < 0 ? 1 : 0;
            json_decref(ev);
            if (r)
                return 1;
        }
        memmove(*partial, line, strlen(line) + 1);
    }
}

int servin_events_read(struct servin_store *store, int64_t since_ns, int64_t until_ns, bool follow,
                       int (*emit)(void *ctx, json_t *event), bool (*stop)(void *ctx), void *ctx,
                       struct servin_error *err)
{
    _cleanup_free_ char *path = servin_store_path(store, "events.jsonl");
    _cleanup_free_ char *old_path = servin_store_path(store, "events.jsonl.1");
    _cleanup_free_ char *partial = NULL;
    /* The rotated generation first, when the caller looks that far back. */
    if (since_ns > 0) {
        _cleanup_close_ int ofd = open(old_path, O_RDONLY | O_CLOEXEC);
        off_t opos = 0;
        if (ofd >= 0 && feed(ofd, &opos, &partial, since_ns, until_ns, emit, ctx))
            return 0;
        free(partial);
        partial = NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t pos = 0;
    struct stat st;
    if (since_ns <= 0 && fd >= 0 && fstat(fd, &st) == 0)
        pos = st.st_size; /* without since: only what happens from now on */
    for (;;) {
        if (fd >= 0 && feed(fd, &pos, &partial, since_ns, until_ns, emit, ctx))
            break;
        if (!follow || (stop && stop(ctx)) || (until_ns > 0 && servin_time_now_ns() >= until_ns))
            break;
        usleep(100000);
        /* Created at the first event, or rotated: start over on the new file. */
        struct stat now_st;
        if (stat(path, &now_st) == 0 && (fd < 0 || (fstat(fd, &st) == 0 && st.st_ino != now_st.st_ino))) {
            if (fd >= 0) {
                feed(fd, &pos, &partial, since_ns, until_ns, emit, ctx);
                close(fd);
            }
            fd = open(path, O_RDONLY | O_CLOEXEC);
            pos = 0;
        }
    }
    if (fd >= 0)
        close(fd);
    (void)err;
    return 0;
}
