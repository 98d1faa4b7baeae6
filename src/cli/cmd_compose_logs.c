/* cli/cmd_compose_logs.c — `compose logs`, and the prefixed, coloured log streams of `up` in the
 * foreground. A followed container gets its own child process (servin_log_read blocks while it
 * follows); each line leaves in one write(), so lines of different containers never mix. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd_compose_ops.h"
#include "servin/cleanup.h"
#include "servin/monitor.h"
#include "servin/timefmt.h"

/* Docker Compose's palette, in its order. */
static const char *const colors[] = {"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};

struct log_sink {
    char *prefix; /* "web-1  | ", coloured or not */
};

/* "<project>-web-1" -> "web-1"; container_name and one-offs are shown whole. */
static char *short_name(struct compose_session *s, const struct servin_container *c)
{
    size_t pl = strlen(s->project->name);
    if (strncmp(c->name, s->project->name, pl) == 0 && c->name[pl] == '-' && c->name[pl + 1])
        return xstrdup(c->name + pl + 1);
    return xstrdup(c->name);
}

static char *make_prefix(const char *name, size_t width, int index, bool color)
{
    if (color)
        return xasprintf("\033[%sm%-*s |\033[0m ", colors[index % (int)(sizeof(colors) / sizeof(colors[0]))],
                         (int)width, name);
    return xasprintf("%-*s | ", (int)width, name);
}

static int emit(void *arg, int stream, const char *text, size_t len)
{
    (void)stream;
    struct log_sink *sink = arg;
    size_t pl = strlen(sink->prefix);
    bool nl = len > 0 && text[len - 1] == '\n';
    _cleanup_free_ char *line = xmalloc(pl + len + 2);
    memcpy(line, sink->prefix, pl);
    memcpy(line + pl, text, len);
    size_t total = pl + len;
    if (!nl)
        line[total++] = '\n';
    for (size_t off = 0; off < total;) {
        ssize_t w = write(STDOUT_FILENO, line + off, total - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

static int read_one(struct compose_session *s, const struct servin_container *c, const char *prefix,
                    const struct compose_log_opts *o, bool follow)
{
    _cleanup_free_ char *dir = servin_container_dir(s->env.store, c->id);
    _cleanup_free_ char *run_dir = servin_container_run_dir(s->env.store, c->id);
    _cleanup_free_ char *log_path = xasprintf("%s/log.json", dir);
    struct servin_log_read_opts ro = {
        .follow = follow,
        .timestamps = o->timestamps,
        .tail = o->tail,
        .since_ns = o->since_ns,
        .run_dir = run_dir,
    };
    struct log_sink sink = {.prefix = (char *)prefix};
    struct servin_error err = {0};
    int r = servin_log_read(log_path, &ro, emit, &sink, &err);
    if (r < 0 && r != -ENOENT) {
        cli_fail(&err);
        return r;
    }
    return 0;
}

struct streamer {
    pid_t pid;
    char *prefix;
    char id[SERVIN_CONTAINER_ID_LEN + 1];
    char *name;
};

static char **prefixes(struct compose_session *s, struct servin_container *list, size_t n,
                       const struct compose_log_opts *o)
{
    char **names = xcalloc(n + 1, sizeof(char *));
    size_t width = 0;
    for (size_t i = 0; i < n; i++) {
        names[i] = short_name(s, &list[i]);
        if (strlen(names[i]) > width)
            width = strlen(names[i]);
    }
    char **out = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = o->no_prefix ? xstrdup("") : make_prefix(names[i], width + 1, (int)i, o->color);
    strv_free(names);
    return out;
}

/* One child per active container; the others are printed at once. */
static int spawn_streamers(struct compose_session *s, struct servin_container *list, size_t n,
                           const struct compose_log_opts *o, bool ignore_sigint, struct streamer **out,
                           size_t *n_out)
{
    _cleanup_strv_ char **pre = prefixes(s, list, n, o);
    struct streamer *st = xcalloc(n + 1, sizeof(*st));
    size_t k = 0;
    fflush(stdout);
    fflush(stderr);
    for (size_t i = 0; i < n; i++) {
        if (!servin_container_is_active(&list[i]) || !o->follow) {
            read_one(s, &list[i], pre[i], o, false);
            continue;
        }
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
            read_one(s, &list[i], pre[i], o, false);
            continue;
        }
        if (pid == 0) {
            /* A streamer never outlives us (we may be killed without a chance to reap it). */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(0);
            /* Ctrl-C is for the parent: it stops the containers, and the stream ends with them. */
            signal(SIGINT, ignore_sigint ? SIG_IGN : SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            int r = read_one(s, &list[i], pre[i], o, true);
            _exit(r < 0 ? 1 : 0);
        }
        st[k].pid = pid;
        st[k].prefix = xstrdup(pre[i]);
        memcpy(st[k].id, list[i].id, sizeof(st[k].id));
        st[k].name = short_name(s, &list[i]);
        k++;
    }
    *out = st;
    *n_out = k;
    return 0;
}

static void streamers_free(struct streamer *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(st[i].prefix);
        free(st[i].name);
    }
    free(st);
}

int compose_print_logs(struct compose_session *s, struct servin_container *list, size_t n,
                       const struct compose_log_opts *o)
{
    struct streamer *st = NULL;
    size_t k = 0;
    spawn_streamers(s, list, n, o, false, &st, &k);
    int code = 0;
    for (size_t i = 0; i < k; i++) {
        int status = 0;
        while (waitpid(st[i].pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
            code = 1;
    }
    streamers_free(st, k);
    return code;
}

/* The container that a streamer followed has ended: "web-1 exited with code 0". */
static int report_exit(struct compose_session *s, struct streamer *st)
{
    struct servin_container c = {0};
    struct servin_error err = {0};
    int code = -1;
    if (servin_container_get(s->env.store, st->id, &c, &err) == 0) {
        code = servin_container_read_exit(s->env.store, &c);
        if (code < 0)
            code = c.exit_code;
    }
    servin_container_clear(&c);
    printf("%s exited with code %d\n", st->name, code < 0 ? 0 : code);
    fflush(stdout);
    return code < 0 ? 0 : code;
}

static void stop_all(struct compose_session *s, struct servin_container *list, size_t n)
{
    struct servin_error err = {0};
    for (size_t i = 0; i < n; i++)
        servin_container_reconcile(s->env.store, &list[i], &err);
    servin_error_clear(&err);
    if (servin_compose_stop_containers(&s->env, list, n, -1, &err) < 0)
        cli_fail(&err);
}

int compose_attach_foreground(struct compose_session *s, struct servin_container *list, size_t n,
                              const struct compose_log_opts *o, bool abort_on_exit)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    struct streamer *st = NULL;
    size_t k = 0;
    struct compose_log_opts fo = *o;
    fo.follow = true;
    spawn_streamers(s, list, n, &fo, true, &st, &k);
    size_t alive = k;
    int code = 0;
    bool stopping = compose_interrupted != 0;
    if (stopping) {
        fprintf(stderr, "Gracefully stopping... (press Ctrl+C again to force)\n");
        stop_all(s, list, n);
    }
    while (alive > 0) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            if (stopping) {
                /* Second Ctrl-C: no more grace. */
                for (size_t i = 0; i < n; i++) {
                    struct servin_error err = {0};
                    struct servin_container c = {0};
                    if (servin_container_get(s->env.store, list[i].id, &c, &err) == 0 &&
                        servin_container_is_active(&c))
                        servin_container_kill(s->env.store, &c, SIGKILL, &err);
                    servin_container_clear(&c);
                }
                continue;
            }
            stopping = true;
            code = 130;
            fprintf(stderr, "Gracefully stopping... (press Ctrl+C again to force)\n");
            stop_all(s, list, n);
            continue;
        }
        for (;;) {
            int status = 0;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0)
                break;
            for (size_t i = 0; i < k; i++) {
                if (st[i].pid != pid)
                    continue;
                st[i].pid = 0;
                alive--;
                int exit_code = report_exit(s, &st[i]);
                if (abort_on_exit && !stopping) {
                    stopping = true;
                    code = exit_code;
                    fprintf(stderr, "Aborting on container exit...\n");
                    stop_all(s, list, n);
                }
            }
        }
    }
    streamers_free(st, k);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return code;
}

/* ---- `compose logs` ---- */

int cmd_compose_logs(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {
        {"follow", no_argument, 0, 'f'},        {"timestamps", no_argument, 0, 't'},
        {"tail", required_argument, 0, 'n'},    {"no-color", no_argument, 0, 'C'},
        {"no-log-prefix", no_argument, 0, 'P'}, {"index", required_argument, 0, 'I'},
        {"help", no_argument, 0, 'h'},          {0}};
    struct compose_log_opts o = {.tail = -1, .color = isatty(STDOUT_FILENO)};
    int index = 0;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "ftn:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'f':
            o.follow = true;
            break;
        case 't':
            o.timestamps = true;
            break;
        case 'C':
            o.color = false;
            break;
        case 'P':
            o.no_prefix = true;
            break;
        case 'I':
            index = atoi(optarg);
            if (index < 1)
                return cli_usage_error(ctx, "invalid argument \"%s\" for \"--index\" flag", optarg);
            break;
        case 'n': {
            int code = cli_parse_tail(ctx, optarg, &o.tail);
            if (code)
                return code;
            break;
        }
        default:
            return CLI_EXIT_USAGE;
        }
    }
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    char **services = optind < argc ? argv + optind : NULL;
    code = compose_check_services(&s, services);
    struct servin_container *list = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    if (!code && servin_compose_containers(s.env.store, s.project->name, services, SERVIN_COMPOSE_WITH_ONEOFF,
                                           &list, &n, &err) < 0)
        code = cli_fail(&err);
    if (!code && index > 0) {
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (servin_compose_container_number(&list[i]) == index) {
                if (kept != i) {
                    servin_container_clear(&list[kept]);
                    list[kept] = list[i];
                    memset(&list[i], 0, sizeof(list[i]));
                }
                kept++;
            }
        }
        for (size_t i = kept; i < n; i++)
            servin_container_clear(&list[i]);
        n = kept;
    }
    if (!code)
        code = compose_print_logs(&s, list, n, &o);
    servin_containers_free(list, n);
    compose_session_close(&s);
    return code;
}
