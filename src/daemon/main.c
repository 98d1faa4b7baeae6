/* daemon/main.c — `servin daemon`: flags, the listener, and a main loop that only waits for signals. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "cri/cri_server.h"
#include "daemon_internal.h"
#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/log.h"
#include "servin/version.h"

#define DEFAULT_HOST "unix://" SERVIN_DEFAULT_RUN_ROOT "/servin.sock"

static volatile sig_atomic_t stop_requested;
static int signal_pipe[2] = {-1, -1};

static const char *daemon_state_dir;

int daemon_store_open(const char *root, struct servin_store **out, struct servin_error *err)
{
    return servin_store_open_at(root, daemon_state_dir, out, err);
}

bool daemon_stopping(void)
{
    return stop_requested != 0;
}

/* Handlers, not a blocked mask: a blocked mask would be inherited by every process the daemon
 * starts (monitors, exec'd commands), while caught signals reset to default at execve. */
static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(signal_pipe[1], &b, 1) < 0) {
        /* The pipe is full: a signal is already pending, nothing is lost. */
    }
    errno = saved;
}

/* Called on SIGHUP; the configuration reload hangs here. */
void (*daemon_reload_hook)(void);

int cmd_daemon(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"host", required_argument, 0, 'H'},
                                             {"tlsverify", no_argument, 0, 'V'},
                                             {"tlscacert", required_argument, 0, 'C'},
                                             {"tlscert", required_argument, 0, 'c'},
                                             {"tlskey", required_argument, 0, 'k'},
                                             {"tls", no_argument, 0, 't'},
                                             {"cri-socket", required_argument, 0, 'S'},
                                             {"cri-port", required_argument, 0, 'P'},
                                             {"cni-conf-dir", required_argument, 0, 'N'},
                                             {"cni-bin-dir", required_argument, 0, 'B'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    struct daemon_listen_opts lo = {.host = DEFAULT_HOST};
    const char *cri_socket = NULL;
    int cri_port = 0;
    const char *cni_conf_dir = NULL, *cni_bin_dir = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "H:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'H':
            lo.host = optarg;
            break;
        case 'V':
        case 't':
            lo.tlsverify = true;
            break;
        case 'C':
            lo.tlscacert = optarg;
            break;
        case 'c':
            lo.tlscert = optarg;
            break;
        case 'k':
            lo.tlskey = optarg;
            break;
        case 'S':
            cri_socket = optarg;
            break;
        case 'N':
            cni_conf_dir = optarg;
            break;
        case 'B':
            cni_bin_dir = optarg;
            break;
        case 'P': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v <= 0 || v > 65535)
                return cli_usage_error(ctx, "invalid --cri-port \"%s\": a TCP port (1-65535) on 127.0.0.1",
                                       optarg);
            cri_port = (int)v;
            break;
        }
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "\"servin daemon\" accepts no arguments.");
    /* Open (create, migrate) the store once up front: a broken store is reported at start. */
    if (!cli_store(ctx))
        return CLI_EXIT_FAILURE;

    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return cli_failf("daemon: create the signal pipe: %s", strerror(errno));
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    /* The CRI socket: --cri-socket, else cri.socket_path when the file or the environment set it,
     * else cri.sock in the store's run directory (/run/servin/cri.sock for the default store, so
     * daemons of other stores never collide). "none" or cri.enabled: false turn it off. */
    _cleanup_free_ char *cri_path = NULL;
    struct servin_config *cfg = ctx->config;
    /* cri.listen_address ($SERVIN_CRI_LISTEN): the TCP port, "127.0.0.1:PORT" (loopback only). */
    if (!cri_port && cfg && cfg->cri.listen_address && *cfg->cri.listen_address) {
        const char *a = cfg->cri.listen_address;
        if (strncmp(a, "tcp://", 6) == 0)
            a += 6;
        const char *colon = strrchr(a, ':');
        char *end = NULL;
        long v = colon ? strtol(colon + 1, &end, 10) : 0;
        bool loopback = colon && ((colon - a == 9 && strncmp(a, "127.0.0.1", 9) == 0) ||
                                  (colon - a == 9 && strncmp(a, "localhost", 9) == 0) || colon == a);
        if (!colon || !end || *end || v <= 0 || v > 65535 || !loopback)
            return cli_failf(
                "cri.listen_address \"%s\": use 127.0.0.1:PORT (the CRI is served on loopback only)",
                cfg->cri.listen_address);
        cri_port = (int)v;
    }
    bool cri_on = cri_socket || cri_port || !cfg || cfg->cri.enabled;
    if (cri_socket && (strcmp(cri_socket, "none") == 0 || !*cri_socket))
        cri_on = cri_port != 0;
    else if (cri_socket)
        cri_path = xstrdup(cri_socket);
    else if (cri_on) {
        cri_path = cri_socket_default(ctx);
        if (cri_path && strlen(cri_path) >= 108 &&
            (!cfg || servin_config_key_source(cfg, "cri.socket_path") == SERVIN_CONFIG_DEFAULT)) {
            /* sun_path: only a path someone asked for is worth failing on */
            fprintf(stderr,
                    "servin daemon: not serving the CRI socket: %s is too long for a unix socket "
                    "(use --cri-socket)\n",
                    cri_path);
            free(cri_path);
            cri_path = NULL;
            cri_on = cri_port != 0;
        }
    }

    struct daemon d = {.root = ctx->root, .state_dir = ctx->state_dir};
    daemon_state_dir = ctx->state_dir;
    struct daemon_server *server = NULL;
    struct servin_error err = {0};
    if (daemon_server_start(&d, &lo, &server, &err) < 0) {
        close(signal_pipe[0]);
        close(signal_pipe[1]);
        return cli_fail(&err);
    }
    struct cri_server *cri = NULL;
    if (cri_on) {
        struct cri_server_opts co = {.socket_path = cri_path,
                                     .tcp_port = cri_port,
                                     .root = ctx->root,
                                     .state_dir = ctx->state_dir,
                                     .cni_conf_dir = cni_conf_dir,
                                     .cni_bin_dir = cni_bin_dir};
        if (cri_server_start(&co, &cri, &err) < 0) {
            daemon_server_stop(server);
            close(signal_pipe[0]);
            close(signal_pipe[1]);
            return cli_fail(&err);
        }
        if (cri_path)
            fprintf(stderr, "servin daemon: CRI listen on unix://%s\n", cri_path);
        if (cri_port)
            fprintf(stderr,
                    "servin daemon: CRI listen on tcp://127.0.0.1:%d (development only: no authentication)\n",
                    cri_port);
    }
    log_info("servin daemon %s listening on %s (API %s, minimum %s)", SERVIN_VERSION, lo.host,
             SERVIN_API_VERSION, SERVIN_MIN_API_VERSION);
    fprintf(stderr, "servin daemon: API listen on %s\n", lo.host);

    while (!stop_requested) {
        struct pollfd p = {.fd = signal_pipe[0], .events = POLLIN};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            break;
        unsigned char sig;
        while (read(signal_pipe[0], &sig, 1) == 1) {
            if (sig == SIGHUP) {
                /* The configuration file again (log level, registries, mirrors); connections stay. */
                struct servin_error rerr = {0};
                if (servin_config_reload(&rerr) < 0)
                    log_error("daemon: SIGHUP: %s; the previous configuration stays in force", rerr.msg);
                if (daemon_reload_hook)
                    daemon_reload_hook();
            } else {
                stop_requested = 1;
            }
        }
    }
    fprintf(stderr, "servin daemon: shutting down\n");
    cri_server_stop(cri);
    daemon_server_stop(server);
    daemon_exec_cleanup();
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    return 0;
}
