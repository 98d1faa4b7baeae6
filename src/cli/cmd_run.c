/* cli/cmd_run.c — `run`, `create` and `start`: a container from an image, started through its monitor. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "run_flags.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/health.h"
#include "servin/image.h"
#include "servin/log.h"
#include "servin/monitor.h"
#include "servin/network.h"
#include "servin/registry.h"
#include "servin/runtime.h"
#include "servin/volume.h"

/* The image named by text, pulled first when missing (or always, with --pull always). */
static int resolve_image(struct servin_store *store, const char *text, const char *pull_mode,
                         char id[SERVIN_DIGEST_MAX], struct servin_error *err)
{
    bool always = pull_mode && strcmp(pull_mode, "always") == 0;
    if (!always) {
        int r = servin_image_resolve(store, text, id, err);
        if (r == 0 || r != -ENOENT)
            return r;
        if (pull_mode && strcmp(pull_mode, "never") == 0)
            return servin_error_set(err, ENOENT, "No such image: %s", text);
        fprintf(stderr, "Unable to find image '%s' locally\n", text);
        servin_error_clear(err);
    }
    /* Progress goes to stderr: stdout belongs to the container. */
    struct servin_progress *progress = servin_progress_new(stderr, isatty(STDERR_FILENO));
    struct servin_pull_opts opts = {.progress = progress};
    struct servin_pull_result res = {0};
    int r = servin_registry_pull(store, text, &opts, &res, err);
    servin_progress_free(progress);
    if (r < 0)
        return r;
    fprintf(stderr, "Status: %s for %s\n", res.up_to_date ? "Image is up to date" : "Downloaded newer image",
            res.familiar ? res.familiar : text);
    memcpy(id, res.image_id, SERVIN_DIGEST_MAX);
    servin_pull_result_free(&res);
    return 0;
}

/* The image pulled first when missing (or always), then the container created by libservin. */
static int create_container(struct servin_store *store, struct run_flags *f, struct servin_container *c,
                            struct servin_error *err)
{
    char image_id[SERVIN_DIGEST_MAX];
    int r = resolve_image(store, f->image, f->pull, image_id, err);
    if (r < 0)
        return r;
    return servin_container_create(store, f->image, f->name, f->config, c, err);
}

/* ---- foreground: terminal, signals, exit code ---- */

struct sig_proxy {
    sigset_t set;
    char *oci_root;
    char *run_dir;
    char id[SERVIN_CONTAINER_ID_LEN + 1];
    bool tty;
    volatile sig_atomic_t stop;
};

static void send_window_size(const char *run_dir)
{
    struct winsize ws;
    struct servin_error err = {0};
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        servin_monitor_resize(run_dir, ws.ws_row, ws.ws_col, &err);
}

/* Signals to a foreground `run` are meant for the container: a thread takes them all and
 * forwards them, so the attach loop needs no EINTR handling. */
static void *sig_proxy_main(void *arg)
{
    struct sig_proxy *p = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&p->set, &sig) != 0)
            continue;
        if (p->stop)
            return NULL;
        if (sig == SIGWINCH) {
            if (p->tty)
                send_window_size(p->run_dir);
            continue;
        }
        struct servin_error err = {0};
        if (servin_oci_kill(p->oci_root, p->id, sig, false, &err) < 0)
            log_debug("forward signal %d to %s: %s", sig, p->id, err.msg);
    }
    return NULL;
}

static int wait_exit_code(struct servin_store *store, struct servin_container *c)
{
    for (;;) {
        int code = servin_container_read_exit(store, c);
        if (code >= 0)
            return code;
        struct servin_error err = {0};
        if (servin_container_reconcile(store, c, &err) < 0)
            return CLI_EXIT_FAILURE;
        if (!servin_container_is_active(c))
            return c->exit_code;
        /* The monitor writes the exit file just before it ends (or runs its cleanup). */
        servin_pid_wait_gone(c->monitor_pid, 20);
    }
}

int cli_container_attach_and_wait(struct cli_ctx *ctx, struct servin_container *c, bool attach_stdin,
                                  bool proxy_signals)
{
    struct servin_store *store = ctx->store;
    bool tty = json_is_true(json_object_get(json_object_get(c->config, "Config"), "Tty"));
    pid_t monitor = c->monitor_pid;
    static struct sig_proxy proxy;
    proxy.stop = 0;
    proxy.oci_root = servin_container_oci_root(store);
    proxy.run_dir = servin_container_run_dir(store, c->id);
    memcpy(proxy.id, c->id, sizeof(proxy.id));
    proxy.tty = tty;
    sigemptyset(&proxy.set);
    if (proxy_signals) {
        int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            sigaddset(&proxy.set, sigs[i]);
    }
    /* Also how we tell the thread to end; without a tty it changes nothing else. */
    sigaddset(&proxy.set, SIGWINCH);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &proxy.set, &old);
    pthread_t th;
    bool thread = pthread_create(&th, NULL, sig_proxy_main, &proxy) == 0;

    struct termios saved;
    bool raw = false;
    if (tty && attach_stdin && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
        struct termios t = saved;
        cfmakeraw(&t);
        raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
    }
    if (tty && isatty(STDIN_FILENO))
        send_window_size(proxy.run_dir);

    struct servin_error err = {0};
    int r = servin_monitor_attach(proxy.run_dir, attach_stdin ? STDIN_FILENO : -1, STDOUT_FILENO,
                                  STDERR_FILENO, tty, &err);
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    if (r < 0)
        cli_fail(&err);
    fflush(stdout);
    int code = wait_exit_code(store, c);
    /* Return once the monitor's cleanup is done, as `docker run` returns a fully stopped container. */
    servin_pid_wait_gone(monitor, 10000);
    /* No thread may outlive this: a later fork (rm's runtime hooks) must not race it. The signals
     * stay blocked, so one arriving from now on is simply not forwarded. */
    if (thread) {
        proxy.stop = 1;
        pthread_kill(th, SIGWINCH);
        pthread_join(th, NULL);
    }
    return code;
}

/* ---- run, create, start ---- */

int cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
    struct run_flags f;
    int code = 0;
    if (run_flags_parse(ctx, argc, argv, &f, &code) < 0) {
        run_flags_clear(&f);
        return code;
    }
    struct servin_store *store = cli_store(ctx);
    if (!store) {
        run_flags_clear(&f);
        return CLI_EXIT_FAILURE;
    }
    struct servin_error err = {0};
    struct servin_container c = {0};
    if (create_container(store, &f, &c, &err) < 0) {
        run_flags_clear(&f);
        return cli_fail(&err);
    }
    struct servin_start_opts so = {.wait_for_attach = !f.detach, .foreground_rm = !f.detach && f.auto_remove};
    if (servin_container_start(ctx->store, &c, &so, &code, &err) < 0) {
        cli_fail(&err);
        /* Docker keeps a container that failed to start, unless --rm asked to remove it. */
        if (f.auto_remove) {
            struct servin_error ignored = {0};
            servin_container_remove(store, &c, true, &ignored);
        }
        goto out;
    }
    if (f.detach) {
        printf("%s\n", c.id);
        goto out;
    }
    code = cli_container_attach_and_wait(ctx, &c, f.interactive, true);
    if (f.auto_remove) {
        /* The monitor left the cleanup to us (see fg.pid in monitor.h). */
        struct servin_error rm_err = {0};
        struct servin_container fresh = {0};
        if (servin_container_get(store, c.id, &fresh, &rm_err) == 0) {
            if (servin_container_cleanup_exited(store, &fresh, &rm_err) < 0) {
                cli_fail(&rm_err);
                servin_error_clear(&rm_err);
            }
            if (servin_container_remove(store, &fresh, true, &rm_err) < 0)
                cli_fail(&rm_err);
        }
        servin_container_clear(&fresh);
    }
out:
    servin_container_clear(&c);
    run_flags_clear(&f);
    return code;
}

int cmd_create(struct cli_ctx *ctx, int argc, char **argv)
{
    struct run_flags f;
    int code = 0;
    if (run_flags_parse(ctx, argc, argv, &f, &code) < 0) {
        run_flags_clear(&f);
        return code;
    }
    struct servin_store *store = cli_store(ctx);
    struct servin_error err = {0};
    struct servin_container c = {0};
    if (!store)
        code = CLI_EXIT_FAILURE;
    else if (create_container(store, &f, &c, &err) < 0)
        code = cli_fail(&err);
    else
        printf("%s\n", c.id);
    servin_container_clear(&c);
    run_flags_clear(&f);
    return code;
}

int cmd_start(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"attach", no_argument, 0, 'a'},
                                             {"interactive", no_argument, 0, 'i'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool attach = false, interactive = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "aih", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'a')
            attach = true;
        else if (c == 'i')
            interactive = true;
    }
    if (optind >= argc)
        return cli_usage_error(ctx, "\"%s\" requires at least 1 argument.", ctx->cmd->path);
    if ((attach || interactive) && argc - optind > 1)
        return cli_failf("you cannot start and attach multiple containers at once");
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    int code = 0;
    for (int i = optind; i < argc; i++) {
        struct servin_error err = {0};
        struct servin_container ct = {0};
        int exit_code = 0;
        if (servin_container_get(store, argv[i], &ct, &err) < 0) {
            cli_fail(&err);
            code = 1;
            continue;
        }
        if (servin_container_is_active(&ct)) {
            if (attach || interactive)
                code = cli_container_attach_and_wait(ctx, &ct, interactive, true);
            else
                printf("%s\n", argv[i]);
            servin_container_clear(&ct);
            continue;
        }
        struct servin_start_opts so = {.wait_for_attach = attach || interactive};
        if (servin_container_start(ctx->store, &ct, &so, &exit_code, &err) < 0) {
            servin_error_wrap(&err, "start %s", argv[i]);
            cli_fail(&err);
            code = exit_code ? exit_code : 1;
        } else if (attach || interactive) {
            code = cli_container_attach_and_wait(ctx, &ct, interactive, true);
        } else {
            printf("%s\n", argv[i]);
        }
        servin_container_clear(&ct);
    }
    return code;
}
