/* registry/progress.c — per-layer progress lines, redrawn in place on a terminal, plain lines otherwise. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "servin/cleanup.h"
#include "servin/registry.h"

struct progress_row {
    char id[80];
    enum servin_progress_state state;
    uint64_t done, total;
};

struct servin_progress {
    FILE *out;
    bool tty;
    bool json; /* Docker's JSON messages, one per line (the daemon's pull and push streams) */
    pthread_mutex_t lock;
    struct progress_row *rows;
    size_t n_rows;
    size_t drawn; /* rows printed in the current block, to move back over */
    struct timespec last_draw;
};

static const char *state_text(enum servin_progress_state s)
{
    switch (s) {
    case SERVIN_PROGRESS_WAITING:
        return "Waiting";
    case SERVIN_PROGRESS_PULLING:
        return "Pulling fs layer";
    case SERVIN_PROGRESS_DOWNLOADING:
        return "Downloading";
    case SERVIN_PROGRESS_VERIFYING:
        return "Verifying Checksum";
    case SERVIN_PROGRESS_DOWNLOADED:
        return "Download complete";
    case SERVIN_PROGRESS_EXTRACTING:
        return "Extracting";
    case SERVIN_PROGRESS_COMPLETE:
        return "Pull complete";
    case SERVIN_PROGRESS_EXISTS:
        return "Already exists";
    case SERVIN_PROGRESS_PREPARING:
        return "Preparing";
    case SERVIN_PROGRESS_PUSHING:
        return "Pushing";
    case SERVIN_PROGRESS_PUSHED:
        return "Pushed";
    case SERVIN_PROGRESS_MOUNTED:
        return "Mounted from another repository";
    case SERVIN_PROGRESS_LAYER_EXISTS:
        return "Layer already exists";
    }
    return "";
}

struct servin_progress *servin_progress_new(FILE *out, bool tty)
{
    struct servin_progress *p = xcalloc(1, sizeof(*p));
    p->out = out;
    p->tty = tty;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

struct servin_progress *servin_progress_new_json(FILE *out)
{
    struct servin_progress *p = servin_progress_new(out, false);
    p->json = true;
    return p;
}

static void json_message(struct servin_progress *p, json_t *msg)
{
    json_dumpf(msg, p->out, JSON_COMPACT);
    fputc('\n', p->out);
    fflush(p->out);
    json_decref(msg);
}

void servin_progress_json(struct servin_progress *p, json_t *msg)
{
    if (!p || !p->json) {
        json_decref(msg);
        return;
    }
    pthread_mutex_lock(&p->lock);
    json_message(p, msg);
    pthread_mutex_unlock(&p->lock);
}

void servin_progress_free(struct servin_progress *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->rows);
    free(p);
}

static void human(char *buf, size_t cap, uint64_t bytes)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    snprintf(buf, cap, "%.3g%s", v, units[u]);
}

static void draw_row(struct servin_progress *p, const struct progress_row *r)
{
    fprintf(p->out, "\r\033[2K%s: %s", r->id, state_text(r->state));
    if ((r->state == SERVIN_PROGRESS_DOWNLOADING || r->state == SERVIN_PROGRESS_EXTRACTING ||
         r->state == SERVIN_PROGRESS_PUSHING) &&
        r->total > 0) {
        char done[32], total[32], bar[52];
        int fill = (int)(50.0 * (double)(r->done > r->total ? r->total : r->done) / (double)r->total);
        memset(bar, ' ', 50);
        memset(bar, '=', (size_t)fill);
        if (fill < 50)
            bar[fill] = '>';
        bar[50] = '\0';
        human(done, sizeof(done), r->done);
        human(total, sizeof(total), r->total);
        fprintf(p->out, " [%s]  %s/%s", bar, done, total);
    }
    fputc('\n', p->out);
}

static void redraw(struct servin_progress *p)
{
    if (p->drawn)
        fprintf(p->out, "\033[%zuA", p->drawn);
    for (size_t i = 0; i < p->n_rows; i++)
        draw_row(p, &p->rows[i]);
    p->drawn = p->n_rows;
    fflush(p->out);
    clock_gettime(CLOCK_MONOTONIC, &p->last_draw);
}

void servin_progress_line(struct servin_progress *p, const char *fmt, ...)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    va_list ap;
    va_start(ap, fmt);
    if (p->json) {
        _cleanup_free_ char *text = xvasprintf(fmt, ap);
        json_message(p, json_pack("{s:s}", "status", text));
    } else {
        vfprintf(p->out, fmt, ap);
        fputc('\n', p->out);
        fflush(p->out);
    }
    va_end(ap);
    /* A free-form line ends the block of layer rows: later rows start a new one below it. */
    p->n_rows = 0;
    p->drawn = 0;
    pthread_mutex_unlock(&p->lock);
}

void servin_progress_update(struct servin_progress *p, const char *id, enum servin_progress_state state,
                            uint64_t done, uint64_t total)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    struct progress_row *r = NULL;
    for (size_t i = 0; i < p->n_rows; i++)
        if (strcmp(p->rows[i].id, id) == 0)
            r = &p->rows[i];
    bool changed = true;
    if (!r) {
        p->rows = xreallocarray(p->rows, p->n_rows + 1, sizeof(*p->rows));
        r = &p->rows[p->n_rows++];
        memset(r, 0, sizeof(*r));
        snprintf(r->id, sizeof(r->id), "%s", id);
    } else {
        changed = r->state != state;
    }
    r->state = state;
    r->done = done;
    r->total = total;
    if (p->json) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - p->last_draw.tv_sec) * 1000 + (now.tv_nsec - p->last_draw.tv_nsec) / 1000000;
        if (changed || ms >= 100) {
            json_t *detail = total || done ? json_pack("{s:I,s:I}", "current", (json_int_t)done, "total",
                                                       (json_int_t)total)
                                           : json_object();
            json_message(p, json_pack("{s:s,s:o,s:s}", "status", state_text(state), "progressDetail", detail,
                                      "id", id));
            p->last_draw = now;
        }
    } else if (p->tty) {
        /* Byte counts change constantly: redraw them at most ten times a second. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - p->last_draw.tv_sec) * 1000 + (now.tv_nsec - p->last_draw.tv_nsec) / 1000000;
        if (changed || ms >= 100 || done == total)
            redraw(p);
    } else if (changed && state != SERVIN_PROGRESS_DOWNLOADING && state != SERVIN_PROGRESS_EXTRACTING &&
               state != SERVIN_PROGRESS_PUSHING) {
        fprintf(p->out, "%s: %s\n", id, state_text(state));
        fflush(p->out);
    }
    pthread_mutex_unlock(&p->lock);
}
