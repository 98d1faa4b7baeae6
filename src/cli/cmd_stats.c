/* cli/cmd_stats.c — `stats`: containers' CPU, memory, PIDs and I/O, live on a terminal (redrawn every
 * second until Ctrl-C), one snapshot otherwise or with --no-stream. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "run_flags.h"
#include "servin/cleanup.h"
#include "servin/stats.h"

#define STATS_DEFAULT_FORMAT                                                                                 \
    "table "                                                                                                 \
    "{{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{."    \
    "PIDs}}"

static volatile sig_atomic_t stats_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    stats_interrupted = 1;
}

/* One container being watched, with its previous sample for the CPU rate. */
struct watched {
    struct servin_container c;
    char *given; /* the name the user typed, NULL when listing */
    struct servin_stats_sample prev;
    bool have_prev, seen;
};

struct stats_opts {
    bool all, no_trunc;
    const char *format; /* NULL: the default table */
};

/* Render into a string (without the final newline) so that table cells can be aligned. */
static char *render(const char *format, json_t *obj, struct servin_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        servin_error_errno(err, errno, "render the stats");
        return NULL;
    }
    int r = cli_format_render(format, obj, m, err);
    fclose(m);
    if (r < 0) {
        free(buf);
        return NULL;
    }
    while (len && buf[len - 1] == '\n')
        buf[--len] = '\0';
    return buf;
}

/* Docker's column titles: the header row is the template rendered over these. */
static json_t *header_row(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Container", "CONTAINER", "Name", "NAME", "ID",
                     "CONTAINER ID", "CPUPerc", "CPU %", "MemUsage", "MEM USAGE / LIMIT", "MemPerc", "MEM %",
                     "NetIO", "NET I/O", "BlockIO", "BLOCK I/O", "PIDs", "PIDS");
}

/* Refresh the watched set: the named containers, or every running (all: every) container. */
static int refresh(struct servin_store *store, const struct stats_opts *o, struct watched **list, size_t *n,
                   bool named, struct servin_error *err)
{
    if (named) {
        for (size_t i = 0; i < *n; i++) {
            struct servin_container fresh = {0};
            if (servin_container_get(store, (*list)[i].c.id, &fresh, err) < 0)
                return -ENOENT;
            servin_container_clear(&(*list)[i].c);
            (*list)[i].c = fresh;
        }
        return 0;
    }
    struct servin_container *all = NULL;
    size_t n_all = 0;
    int ret = servin_container_list(store, &all, &n_all, err);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < *n; i++)
        (*list)[i].seen = false;
    for (size_t k = 0; k < n_all; k++) {
        if (!o->all && !servin_container_is_active(&all[k]))
            continue;
        size_t i;
        for (i = 0; i < *n && strcmp((*list)[i].c.id, all[k].id) != 0; i++)
            ;
        if (i == *n) {
            *list = xrealloc(*list, (*n + 1) * sizeof(**list));
            memset(&(*list)[i], 0, sizeof(**list));
            (*n)++;
        } else {
            servin_container_clear(&(*list)[i].c);
        }
        (*list)[i].c = all[k];
        memset(&all[k], 0, sizeof(all[k]));
        (*list)[i].seen = true;
    }
    servin_containers_free(all, n_all);
    /* Containers that went away (or stopped, without --all) leave the table, as in Docker. */
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        if ((*list)[i].seen)
            (*list)[kept++] = (*list)[i];
        else
            servin_container_clear(&(*list)[i].c);
    }
    *n = kept;
    return 0;
}

static void sample_all(struct servin_store *store, struct watched *list, size_t n,
                       struct servin_stats_sample *cur)
{
    for (size_t i = 0; i < n; i++) {
        struct servin_error err = {0};
        /* A container that stops between the list and the read shows zeros, never an error. */
        if (servin_container_stats(store, &list[i].c, &cur[i], &err) < 0)
            memset(&cur[i], 0, sizeof(cur[i]));
    }
}

/* Print one frame to a string: a table or the formatted rows. */
static int frame(const struct stats_opts *o, struct watched *list, size_t n, struct servin_stats_sample *cur,
                 char **out, struct servin_error *err)
{
    const char *format = o->format ? o->format : STATS_DEFAULT_FORMAT;
    bool json_lines = strcmp(format, "json") == 0;
    bool table = strncmp(format, "table", 5) == 0 && (format[5] == ' ' || format[5] == '\0');
    if (strcmp(format, "table") == 0)
        format = STATS_DEFAULT_FORMAT;
    size_t len = 0;
    FILE *m = open_memstream(out, &len);
    if (!m)
        return servin_error_errno(err, errno, "render the stats");
    struct cli_table *t = table ? cli_table_new() : NULL;
    int ret = 0;
    if (t) {
        json_t *h = header_row();
        char *line = render(format, h, err);
        json_decref(h);
        if (!line)
            ret = -EINVAL;
        else
            cli_table_add(t, "%s", line);
        free(line);
    }
    for (size_t i = 0; ret == 0 && i < n; i++) {
        json_t *row = servin_stats_row(&list[i].c, list[i].given, o->no_trunc,
                                       list[i].have_prev ? &list[i].prev : NULL, &cur[i]);
        if (json_lines) {
            json_dumpf(row, m, JSON_COMPACT | JSON_SORT_KEYS);
            fputc('\n', m);
        } else if (t) {
            char *line = render(format, row, err);
            if (!line)
                ret = -EINVAL;
            else
                cli_table_add(t, "%s", line);
            free(line);
        } else {
            ret = cli_format_render(format, row, m, err);
        }
        json_decref(row);
    }
    if (t)
        cli_table_flush(t, ret == 0 ? m : stderr);
    fclose(m);
    return ret;
}

/* Sleep ms milliseconds unless Ctrl-C comes first. */
static void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (!stats_interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int cmd_stats(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, 0, 'a'},          {"no-stream", no_argument, 0, 'S'},
        {"format", required_argument, 0, 'F'}, {"no-trunc", no_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},         {0}};
    struct stats_opts o = {0};
    bool no_stream = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "ah", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'a':
            o.all = true;
            break;
        case 'S':
            no_stream = true;
            break;
        case 'F':
            o.format = optarg;
            break;
        case 'T':
            o.no_trunc = true;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    bool named = optind < argc;
    size_t n = 0;
    struct watched *list = NULL;
    int code = 0;
    if (named) {
        list = xcalloc((size_t)(argc - optind), sizeof(*list));
        for (int i = optind; i < argc; i++, n++) {
            if (servin_container_get(store, argv[i], &list[n].c, &err) < 0) {
                code = cli_fail(&err);
                goto out;
            }
            list[n].given = argv[i];
        }
    } else if (refresh(store, &o, &list, &n, false, &err) < 0) {
        code = cli_fail(&err);
        goto out;
    }

    bool live = !no_stream && isatty(STDOUT_FILENO);
    struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    /* Every frame, the first too, has a CPU rate: two samples a second apart, as Docker takes them. */
    struct servin_stats_sample *cur = xcalloc(n ? n : 1, sizeof(*cur));
    sample_all(store, list, n, cur);
    for (size_t i = 0; i < n; i++) {
        list[i].prev = cur[i];
        list[i].have_prev = true;
    }
    free(cur);
    for (;;) {
        pause_ms(1000);
        if (stats_interrupted)
            break;
        if (refresh(store, &o, &list, &n, named, &err) < 0) {
            code = cli_fail(&err);
            break;
        }
        cur = xcalloc(n ? n : 1, sizeof(*cur));
        sample_all(store, list, n, cur);
        _cleanup_free_ char *text = NULL;
        if (frame(&o, list, n, cur, &text, &err) < 0) {
            free(cur);
            code = cli_fail(&err);
            break;
        }
        if (live)
            fputs("\033[2J\033[H", stdout); /* clear the screen and go home, as Docker redraws */
        fputs(text, stdout);
        fflush(stdout);
        for (size_t i = 0; i < n; i++) {
            list[i].prev = cur[i];
            list[i].have_prev = true;
        }
        free(cur);
        if (!live)
            break;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
out:
    for (size_t i = 0; i < n; i++)
        servin_container_clear(&list[i].c);
    free(list);
    return code;
}
