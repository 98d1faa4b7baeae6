/* cli/cmd_registry.c — `servin registry start|stop|gc`: the built-in registry server. The
 * client forms (push, pull, login, logout, list, ping) are in cmd_registry_client.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd_registry.h"
#include "commands.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/regserver.h"

#define STOP_WAIT_SECS 10

char *registry_state_dir(struct servin_store *store)
{
    return xasprintf("%s/registry", store->run_root);
}

/* The start time of a process (field 22 of /proc/PID/stat), so that a reused pid is not taken
 * for our server; 0 when the process is gone. */
unsigned long long registry_proc_start(pid_t pid)
{
    _cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid);
    _cleanup_free_ char *text = NULL;
    struct servin_error err = {0};
    if (servin_read_file(path, &text, NULL, &err) < 0)
        return 0;
    const char *p = strrchr(text, ')');
    if (!p)
        return 0;
    unsigned long long start = 0;
    /* after ") " come state (field 3) ... starttime (field 22) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
               &start) != 1)
        return 0;
    return start;
}

int registry_state_load(const char *path, json_t **out)
{
    json_t *j = json_load_file(path, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return -EINVAL;
    }
    *out = j;
    return 0;
}

bool registry_state_alive(json_t *state)
{
    pid_t pid = (pid_t)json_integer_value(json_object_get(state, "pid"));
    unsigned long long start = (unsigned long long)json_integer_value(json_object_get(state, "start"));
    return pid > 0 && registry_proc_start(pid) == start;
}

static int write_state(const char *dir, const struct servin_regserver_config *cfg, uint16_t port,
                       const char *log_path, struct servin_error *err)
{
    int ret = servin_mkdir_p(dir, 0700, err);
    if (ret < 0)
        return ret;
    json_t *state = json_pack("{s:i,s:I,s:s,s:i,s:s,s:b,s:b,s:s?}", "pid", (int)getpid(), "start",
                              (json_int_t)registry_proc_start(getpid()), "address",
                              cfg->address ? cfg->address : SERVIN_REGSERVER_DEFAULT_ADDRESS, "port",
                              (int)port, "storage", cfg->storage, "tls", cfg->tls_cert != NULL, "auth",
                              cfg->htpasswd != NULL, "log", log_path);
    _cleanup_free_ char *text = json_dumps(state, JSON_INDENT(2));
    json_decref(state);
    _cleanup_free_ char *path = xasprintf("%s/%u.json", dir, port);
    return servin_write_file_atomic(path, text, strlen(text), 0600, err);
}

static int parse_port(const char *text, uint16_t *port)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* Serve until SIGINT or SIGTERM. The signals are blocked before the server's threads start, so
 * only sigwait sees them. */
static int serve(const struct servin_regserver_config *cfg, const char *state_dir, const char *log_path,
                 int ready_fd, bool quiet)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up mid-response is not our death */

    struct servin_error err = {0};
    struct servin_regserver *srv = NULL;
    if (servin_regserver_start(cfg, &srv, &err) < 0) {
        if (ready_fd >= 0) {
            dprintf(ready_fd, "E%s", err.msg);
            return CLI_EXIT_FAILURE;
        }
        return cli_fail(&err);
    }
    uint16_t port = servin_regserver_port(srv);
    if (write_state(state_dir, cfg, port, log_path, &err) < 0) {
        servin_regserver_stop(srv);
        if (ready_fd >= 0) {
            dprintf(ready_fd, "E%s", err.msg);
            return CLI_EXIT_FAILURE;
        }
        return cli_fail(&err);
    }
    const char *address = cfg->address ? cfg->address : SERVIN_REGSERVER_DEFAULT_ADDRESS;
    const char *scheme = cfg->tls_cert ? "https" : "http";
    if (ready_fd >= 0) {
        dprintf(ready_fd, "O%u", port);
        close(ready_fd);
    } else if (!quiet) {
        fprintf(stderr, "Registry listening on %s://%s:%u (storage %s)\n", scheme, address, port,
                cfg->storage);
    }
    int sig = 0;
    sigwait(&set, &sig);
    servin_regserver_stop(srv);
    _cleanup_free_ char *path = xasprintf("%s/%u.json", state_dir, port);
    unlink(path);
    return 0;
}

int cmd_registry_start(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"port", required_argument, 0, 'p'},     {"address", required_argument, 0, 'a'},
        {"detach", no_argument, 0, 'd'},         {"storage", required_argument, 0, 's'},
        {"htpasswd", required_argument, 0, 'H'}, {"tls-cert", required_argument, 0, 'C'},
        {"tls-key", required_argument, 0, 'K'},  {"insecure-public", no_argument, 0, 'I'},
        {"help", no_argument, 0, 'h'},           {0}};
    struct servin_regserver_config cfg = {.port = SERVIN_REGSERVER_DEFAULT_PORT};
    bool detach = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "p:a:dh", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'p':
            if (parse_port(optarg, &cfg.port) < 0)
                return cli_usage_error(ctx, "invalid port \"%s\": expected 0-65535", optarg);
            break;
        case 'a':
            cfg.address = optarg;
            break;
        case 'd':
            detach = true;
            break;
        case 's':
            cfg.storage = optarg;
            break;
        case 'H':
            cfg.htpasswd = optarg;
            break;
        case 'C':
            cfg.tls_cert = optarg;
            break;
        case 'K':
            cfg.tls_key = optarg;
            break;
        case 'I':
            cfg.insecure_public = true;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc)
        return cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    /* By default the registry shares the image store's root, so its blobs are the store's blobs. */
    if (!cfg.storage)
        cfg.storage = store->root;
    _cleanup_free_ char *state_dir = registry_state_dir(store);
    /* Absolute paths: the detached server runs from "/". */
    _cleanup_free_ char *storage = realpath(cfg.storage, NULL);
    if (storage)
        cfg.storage = storage;

    if (!detach) {
        cfg.access_log = stdout;
        return serve(&cfg, state_dir, NULL, -1, false);
    }

    struct servin_error err = {0};
    if (servin_mkdir_p(state_dir, 0700, &err) < 0)
        return cli_fail(&err);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return cli_failf("registry start: create a pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return cli_failf("registry start: fork: %s", strerror(errno));
    if (pid == 0) {
        close(pipefd[0]);
        setsid();
        if (chdir("/") < 0) {
            /* stays where it was; paths given were made absolute */
        }
        _cleanup_free_ char *log_path = xasprintf("%s/registry-%d.log", state_dir, (int)getpid());
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        if (log_fd >= 0) {
            dup2(log_fd, STDOUT_FILENO);
            dup2(log_fd, STDERR_FILENO);
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        cfg.access_log = stdout;
        _exit(serve(&cfg, state_dir, log_path, pipefd[1], true));
    }
    close(pipefd[1]);
    char buf[SERVIN_ERROR_MSG_MAX + 2] = "";
    ssize_t n, total = 0;
    while ((n = read(pipefd[0], buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
        total += n;
    close(pipefd[0]);
    buf[total > 0 ? total : 0] = '\0';
    if (buf[0] != 'O') {
        int status = 0;
        waitpid(pid, &status, 0);
        if (buf[0] == 'E')
            return cli_failf("%s", buf + 1);
        return cli_failf("registry start: the server process exited before it was ready");
    }
    const char *address = cfg.address ? cfg.address : SERVIN_REGSERVER_DEFAULT_ADDRESS;
    printf("Registry started on %s://%s:%s (pid %d, storage %s)\n", cfg.tls_cert ? "https" : "http", address,
           buf + 1, (int)pid, cfg.storage);
    return 0;
}

int cmd_registry_stop(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"port", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'}, {0}};
    uint16_t port = SERVIN_REGSERVER_DEFAULT_PORT;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "p:h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c != 'p')
            return CLI_EXIT_USAGE;
        if (parse_port(optarg, &port) < 0)
            return cli_usage_error(ctx, "invalid port \"%s\": expected 1-65535", optarg);
    }
    if (optind != argc)
        return cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    _cleanup_free_ char *dir = registry_state_dir(store);
    _cleanup_free_ char *path = xasprintf("%s/%u.json", dir, port);
    json_t *state = NULL;
    if (registry_state_load(path, &state) < 0)
        return cli_failf("registry stop: no registry started by servin listens on port %u", port);
    pid_t pid = (pid_t)json_integer_value(json_object_get(state, "pid"));
    bool alive = registry_state_alive(state);
    json_decref(state);
    if (!alive) {
        unlink(path);
        return cli_failf("registry stop: the registry on port %u (pid %d) is no longer running", port,
                         (int)pid);
    }
    if (kill(pid, SIGTERM) < 0)
        return cli_failf("registry stop: signal pid %d: %s", (int)pid, strerror(errno));
    for (int i = 0; i < STOP_WAIT_SECS * 20; i++) {
        struct stat st;
        if (stat(path, &st) < 0)
            break; /* the server removes its state file as its last act */
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (access(path, F_OK) == 0)
        return cli_failf("registry stop: the registry (pid %d) did not stop within %d seconds", (int)pid,
                         STOP_WAIT_SECS);
    printf("Registry on port %u stopped\n", port);
    return 0;
}

static void print_gc(void *ctx, const char *digest, uint64_t size)
{
    bool dry = *(bool *)ctx;
    printf("%s %s (%llu bytes)\n", dry ? "would delete" : "deleted", digest, (unsigned long long)size);
}

int cmd_registry_gc(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"dry-run", no_argument, 0, 'n'},
                                             {"storage", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool dry = false;
    const char *storage = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'n':
            dry = true;
            break;
        case 's':
            storage = optarg;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc)
        return cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    if (!storage) {
        struct servin_store *store = cli_store(ctx);
        if (!store)
            return CLI_EXIT_FAILURE;
        storage = store->root;
    }
    struct servin_error err = {0};
    struct servin_regserver_gc_stats stats;
    if (servin_regserver_gc(storage, dry, print_gc, &dry, &stats, &err) < 0)
        return cli_fail(&err);
    printf("%s %llu blobs (%llu bytes) and %llu unreferenced repository links\n",
           dry ? "Would remove" : "Removed", (unsigned long long)stats.blobs_removed,
           (unsigned long long)stats.bytes_freed, (unsigned long long)stats.links_removed);
    return 0;
}
