/* cli/cmd_oci.c — `servin oci ...`: the runc command-line contract over the runtime core. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/log.h"
#include "servin/monitor.h"
#include "servin/runtime.h"

struct oci_globals {
    const char *root;
    bool json_log;
};

static int oci_fail(const struct servin_error *err)
{
    return cli_fail(err);
}

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
}

/* Sub-verbs parse their own flags with plain getopt_long; the table keeps help in one place. */
static int parse(int argc, char **argv, const char *usage, const char *optstring, const struct option *lo,
                 int (*on_opt)(int c, void *ctx), void *ctx)
{
    optind = 0;
    opterr = 0;
    int c;
    _cleanup_free_ char *spec = xasprintf("+:h%s", optstring);
    while ((c = getopt_long(argc, argv, spec, lo, NULL)) != -1) {
        if (c == 'h') {
            printf("Usage:  servin oci %s %s\n", argv[0], usage);
            return 1;
        }
        if (c == '?' || c == ':') {
            cli_failf("oci %s: unknown or incomplete flag %s", argv[0], argv[optind - 1]);
            return -1;
        }
        if (on_opt(c, ctx) < 0)
            return -1;
    }
    return 0;
}

struct create_flags {
    struct servin_oci_create_opts o;
    bool detach;
};

static int create_opt(int c, void *ctx)
{
    struct create_flags *f = ctx;
    switch (c) {
    case 'b':
        f->o.bundle = optarg;
        break;
    case 'c':
        f->o.console_socket = optarg;
        break;
    case 'p':
        f->o.pid_file = optarg;
        break;
    case 'f':
        f->o.preserve_fds = atoi(optarg);
        break;
    case 'n':
        f->o.no_pivot = true;
        break;
    case 'k':
        f->o.no_new_keyring = true;
        break;
    case 'd':
        f->detach = true;
        break;
    }
    return 0;
}

static const struct option create_lo[] = {
    {"bundle", required_argument, 0, 'b'},     {"console-socket", required_argument, 0, 'c'},
    {"pid-file", required_argument, 0, 'p'},   {"preserve-fds", required_argument, 0, 'f'},
    {"no-pivot", no_argument, 0, 'n'},         {"no-new-keyring", no_argument, 0, 'k'},
    {"detach", no_argument, 0, 'd'},           {"help", no_argument, 0, 'h'},
    {0}};

static int verb_create(struct oci_globals *g, int argc, char **argv, bool run)
{
    struct create_flags f = {.o = {.state_root = g->root}};
    int r = parse(argc, argv, "[--bundle DIR] [--console-socket PATH] [--pid-file FILE] [--preserve-fds N] ID",
                  "b:c:p:f:nkd", create_lo, create_opt, &f);
    if (r != 0)
        return r > 0 ? 0 : CLI_EXIT_USAGE;
    if (optind + 1 != argc)
        return cli_failf("oci %s: expects exactly one container id", argv[0]);
    f.o.id = argv[optind];
    struct servin_error err = {0};
    pid_t pid = 0;
    if (servin_oci_create(&f.o, &pid, &err) < 0)
        return oci_fail(&err);
    if (!run)
        return 0;
    if (servin_oci_start(g->root, f.o.id, &err) < 0) {
        struct servin_error ignored = {0};
        servin_oci_delete(g->root, f.o.id, true, &ignored);
        return oci_fail(&err);
    }
    if (f.detach)
        return 0;
    /* Foreground run: the init is our child; forward the usual signals, then clean up. */
    int code = servin_oci_wait_child(pid);
    if (servin_oci_delete(g->root, f.o.id, true, &err) < 0)
        oci_fail(&err);
    return code;
}

static int no_opt(int c, void *ctx)
{
    (void)c;
    (void)ctx;
    return 0;
}

static int one_id(int argc, char **argv, const char *usage, const char **id)
{
    static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
    int r = parse(argc, argv, usage, "", lo, no_opt, NULL);
    if (r != 0)
        return r > 0 ? 1 : -1;
    if (optind + 1 != argc) {
        cli_failf("oci %s: expects exactly one container id", argv[0]);
        return -1;
    }
    *id = argv[optind];
    return 0;
}

static int verb_simple(struct oci_globals *g, int argc, char **argv)
{
    const char *id = NULL;
    int r = one_id(argc, argv, "ID", &id);
    if (r != 0)
        return r > 0 ? 0 : CLI_EXIT_USAGE;
    struct servin_error err = {0};
    int ret;
    if (strcmp(argv[0], "start") == 0)
        ret = servin_oci_start(g->root, id, &err);
    else if (strcmp(argv[0], "pause") == 0)
        ret = servin_oci_pause(g->root, id, &err);
    else if (strcmp(argv[0], "resume") == 0)
        ret = servin_oci_resume(g->root, id, &err);
    else {
        json_t *state = NULL;
        ret = servin_oci_state(g->root, id, &state, &err);
        if (ret == 0)
            print_json(state);
        json_decref(state);
    }
    return ret < 0 ? oci_fail(&err) : 0;
}

static int flag_opt(int c, void *ctx)
{
    if (c == 'a' || c == 'f')
        *(bool *)ctx = true;
    return 0;
}

static int verb_kill(struct oci_globals *g, int argc, char **argv)
{
    static const struct option lo[] = {{"all", no_argument, 0, 'a'}, {"help", no_argument, 0, 'h'}, {0}};
    bool all = false;
    int r = parse(argc, argv, "[--all] ID [SIGNAL]", "a", lo, flag_opt, &all);
    if (r != 0)
        return r > 0 ? 0 : CLI_EXIT_USAGE;
    if (optind >= argc || argc - optind > 2)
        return cli_failf("oci kill: expects a container id and an optional signal");
    int sig = argc - optind == 2 ? servin_signal_parse(argv[optind + 1]) : SIGTERM;
    if (sig < 0)
        return cli_failf("oci kill: unknown signal %s", argv[optind + 1]);
    struct servin_error err = {0};
    return servin_oci_kill(g->root, argv[optind], sig, all, &err) < 0 ? oci_fail(&err) : 0;
}

static int verb_delete(struct oci_globals *g, int argc, char **argv)
{
    static const struct option lo[] = {{"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
    bool force = false;
    int r = parse(argc, argv, "[--force] ID", "f", lo, flag_opt, &force);
    if (r != 0)
        return r > 0 ? 0 : CLI_EXIT_USAGE;
    if (optind + 1 != argc)
        return cli_failf("oci delete: expects exactly one container id");
    struct servin_error err = {0};
    return servin_oci_delete(g->root, argv[optind], force, &err) < 0 ? oci_fail(&err) : 0;
}

static int verb_list(struct oci_globals *g, int argc, char **argv)
{
    static const struct option lo[] = {{"format", required_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'}, {0}};
    optind = 0;
    opterr = 0;
    const char *format = "table";
    bool quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "+:hf:q", lo, NULL)) != -1) {
        if (c == 'h') {
            puts("Usage:  servin oci list [--format table|json] [-q]");
            return 0;
        }
        if (c == 'f')
            format = optarg;
        else if (c == 'q')
            quiet = true;
        else
            return cli_failf("oci list: unknown flag %s", argv[optind - 1]);
    }
    struct servin_error err = {0};
    json_t *list = NULL;
    if (servin_oci_list(g->root, &list, &err) < 0)
        return oci_fail(&err);
    size_t i;
    json_t *s;
    if (strcmp(format, "json") == 0) {
        print_json(list);
    } else {
        struct cli_table *t = cli_table_new();
        if (!quiet)
            cli_table_add(t, "ID\tPID\tSTATUS\tBUNDLE\tCREATED");
        json_array_foreach(list, i, s)
        {
            const char *id = json_string_value(json_object_get(s, "id"));
            if (quiet)
                cli_table_add(t, "%s", id);
            else
                cli_table_add(t, "%s\t%d\t%s\t%s\t%s", id, (int)json_integer_value(json_object_get(s, "pid")),
                              json_string_value(json_object_get(s, "status")),
                              json_string_value(json_object_get(s, "bundle")),
                              json_string_value(json_object_get(s, "created")));
        }
        cli_table_flush(t, stdout);
    }
    json_decref(list);
    return 0;
}

static int verb_ps(struct oci_globals *g, int argc, char **argv)
{
    const char *id = NULL;
    int r = one_id(argc, argv, "ID", &id);
    if (r != 0)
        return r > 0 ? 0 : CLI_EXIT_USAGE;
    struct servin_error err = {0};
    pid_t *pids = NULL;
    size_t n = 0;
    if (servin_oci_pids(g->root, id, &pids, &n, &err) < 0)
        return oci_fail(&err);
    printf("PID\n");
    for (size_t i = 0; i < n; i++)
        printf("%d\n", (int)pids[i]);
    free(pids);
    return 0;
}

static int verb_spec(struct oci_globals *g, int argc, char **argv)
{
    static const struct option lo[] = {{"rootless", no_argument, 0, 'a'}, {"bundle", required_argument, 0, 'b'},
                                       {"help", no_argument, 0, 'h'}, {0}};
    optind = 0;
    opterr = 0;
    bool rootless = false;
    const char *bundle = ".";
    int c;
    (void)g;
    while ((c = getopt_long(argc, argv, "+:hb:", lo, NULL)) != -1) {
        if (c == 'h') {
            puts("Usage:  servin oci spec [--rootless] [--bundle DIR]");
            return 0;
        }
        if (c == 'a')
            rootless = true;
        else if (c == 'b')
            bundle = optarg;
        else
            return cli_failf("oci spec: unknown flag %s", argv[optind - 1]);
    }
    _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
    if (access(path, F_OK) == 0)
        return cli_failf("oci spec: %s already exists; remove it first", path);
    json_t *spec = servin_oci_default_spec(rootless);
    int ret = json_dump_file(spec, path, JSON_INDENT(2));
    json_decref(spec);
    return ret < 0 ? cli_failf("oci spec: write %s: %s", path, strerror(errno)) : 0;
}

static int verb_features(struct oci_globals *g, int argc, char **argv)
{
    (void)g;
    (void)argc;
    (void)argv;
    json_t *f = json_pack("{s:s,s:s,s:[s,s,s,s,s,s],s:{s:[s,s,s,s,s,s,s],s:{s:b,s:b}}}", "ociVersionMin", "1.0.0",
                          "ociVersionMax", SERVIN_OCI_VERSION, "hooks", "prestart", "createRuntime", "createContainer",
                          "startContainer", "poststart", "poststop", "linux", "namespaces", "cgroup", "ipc", "mount",
                          "network", "pid", "user", "uts", "cgroup", "v1", 1, "v2", 1);
    print_json(f);
    json_decref(f);
    return 0;
}

static int apply_user(json_t *process, const char *spec)
{
    char *end = NULL;
    long uid = strtol(spec, &end, 10);
    long gid = 0;
    if (end == spec || uid < 0 || (*end && *end != ':'))
        return -1;
    if (*end == ':') {
        const char *g = end + 1;
        gid = strtol(g, &end, 10);
        if (end == g || *end || gid < 0)
            return -1;
    }
    json_t *user = json_object_get(process, "user");
    if (!json_is_object(user)) {
        user = json_object();
        json_object_set_new(process, "user", user);
    }
    json_object_set_new(user, "uid", json_integer(uid));
    json_object_set_new(user, "gid", json_integer(gid));
    return 0;
}

static int verb_exec(struct oci_globals *g, int argc, char **argv)
{
    static const struct option lo[] = {
        {"console-socket", required_argument, 0, 's'}, {"cwd", required_argument, 0, 'w'},
        {"env", required_argument, 0, 'e'},            {"tty", no_argument, 0, 't'},
        {"user", required_argument, 0, 'u'},           {"additional-gids", required_argument, 0, 'g'},
        {"process", required_argument, 0, 'p'},        {"detach", no_argument, 0, 'd'},
        {"pid-file", required_argument, 0, 'P'},       {"no-new-privs", no_argument, 0, 'n'},
        {"cap", required_argument, 0, 'c'},            {"preserve-fds", required_argument, 0, 'f'},
        {"process-label", required_argument, 0, 'L'},  {"apparmor", required_argument, 0, 'A'},
        {"ignore-paused", no_argument, 0, 'I'},        {"cgroup", required_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'},                 {0}};
    struct servin_oci_exec_opts o = {.state_root = g->root};
    const char *process_file = NULL, *cwd = NULL, *user = NULL;
    bool tty = false, nnp = false;
    json_t *env = json_array(), *caps = json_array(), *gids = json_array();
    int code = CLI_EXIT_USAGE, c;
    json_t *process = NULL;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:hs:w:e:tu:g:p:dP:nc:f:", lo, NULL)) != -1) {
        switch (c) {
        case 'h':
            puts("Usage:  servin oci exec [OPTIONS] ID [COMMAND [ARG...]]\n\n"
                 "  -p, --process FILE       process.json to run instead of COMMAND\n"
                 "  -t, --tty                allocate a pty (needs --console-socket)\n"
                 "      --console-socket P   unix socket that receives the pty master\n"
                 "  -e, --env K=V            add an environment variable\n"
                 "      --cwd DIR            working directory inside the container\n"
                 "  -u, --user UID[:GID]     run as this user\n"
                 "  -g, --additional-gids G  add a supplementary group\n"
                 "  -c, --cap CAP            add a capability\n"
                 "      --no-new-privs       set no_new_privs\n"
                 "  -d, --detach             do not wait for the process\n"
                 "      --pid-file FILE      write the process' pid here\n"
                 "      --preserve-fds N     pass N more fds from 3 on");
            code = 0;
            goto out;
        case 's': o.console_socket = optarg; break;
        case 'w': cwd = optarg; break;
        case 'e': json_array_append_new(env, json_string(optarg)); break;
        case 't': tty = true; break;
        case 'u': user = optarg; break;
        case 'g': json_array_append_new(gids, json_integer(atoll(optarg))); break;
        case 'p': process_file = optarg; break;
        case 'd': o.detach = true; break;
        case 'P': o.pid_file = optarg; break;
        case 'n': nnp = true; break;
        case 'c': json_array_append_new(caps, json_string(optarg)); break;
        case 'f': o.preserve_fds = atoi(optarg); break;
        case 'L': case 'A': case 'I': case 'C': break; /* accepted for runc compatibility */
        default:
            cli_failf("oci exec: unknown or incomplete flag %s", argv[optind - 1]);
            goto out;
        }
    }
    if (optind >= argc) {
        cli_failf("oci exec: expects a container id");
        goto out;
    }
    o.id = argv[optind++];
    struct servin_error err = {0};
    if (process_file) {
        json_error_t jerr;
        process = json_load_file(process_file, 0, &jerr);
        if (!process) {
            code = cli_failf("oci exec: read %s: %s", process_file, jerr.text);
            goto out;
        }
    } else {
        if (optind >= argc) {
            cli_failf("oci exec: expects a command to run (or --process)");
            goto out;
        }
        /* Flags refine the container's own process: same env, user and capabilities by default. */
        if (servin_oci_process_template(g->root, o.id, &process, &err) < 0) {
            code = cli_fail(&err);
            goto out;
        }
        json_t *args = json_array();
        for (int i = optind; i < argc; i++)
            json_array_append_new(args, json_string(argv[i]));
        json_object_set_new(process, "args", args);
        json_object_set_new(process, "terminal", json_boolean(tty));
        json_object_del(process, "consoleSize");
        if (cwd)
            json_object_set_new(process, "cwd", json_string(cwd));
        if (json_array_size(env)) {
            json_t *merged = json_object_get(process, "env");
            if (!json_is_array(merged))
                json_object_set_new(process, "env", merged = json_array());
            json_array_extend(merged, env);
        }
        if (user && apply_user(process, user) < 0) {
            code = cli_failf("oci exec: invalid --user %s: use UID[:GID]", user);
            goto out;
        }
        if (json_array_size(gids)) {
            json_t *u = json_object_get(process, "user");
            if (json_is_object(u))
                json_object_set(u, "additionalGids", gids);
        }
        if (nnp)
            json_object_set_new(process, "noNewPrivileges", json_true());
        json_t *capobj = json_object_get(process, "capabilities");
        if (json_array_size(caps) && json_is_object(capobj)) {
            const char *sets[] = {"bounding", "effective", "permitted"};
            for (size_t i = 0; i < 3; i++) {
                json_t *set = json_object_get(capobj, sets[i]);
                if (!json_is_array(set))
                    json_object_set_new(capobj, sets[i], set = json_array());
                json_array_extend(set, caps);
            }
        }
    }
    o.process = process;
    int exit_code = 0;
    pid_t pid = 0;
    if (servin_oci_exec(&o, &pid, &exit_code, &err) < 0) {
        code = cli_fail(&err);
        if (exit_code == 126 || exit_code == 127)
            code = exit_code;
    }
    else
        code = exit_code;
out:
    json_decref(process);
    json_decref(env);
    json_decref(caps);
    json_decref(gids);
    return code;
}

/* servin-runtime in the directory of our own binary, when we are not it. */
static char *runtime_binary_beside_us(void)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash || strcmp(slash + 1, "servin-runtime") == 0)
        return NULL;
    *slash = '\0';
    char *path = xasprintf("%s/servin-runtime", self);
    if (access(path, X_OK) < 0) {
        free(path);
        return NULL;
    }
    return path;
}

static const char oci_help[] =
    "Usage:  servin oci [--root DIR] [--log FILE] [--log-format text|json] COMMAND\n\n"
    "The OCI runtime, with runc's command line.\n\nCommands:\n"
    "  create    Create a container from a bundle, stopped before the user process runs\n"
    "  start     Run the user process of a created container\n"
    "  run       Create and start a container (waits for it unless --detach)\n"
    "  state     Print the state of a container as JSON\n"
    "  exec      Run another process inside a running container\n"
    "  kill      Send a signal to a container's init (or all its processes with --all)\n"
    "  delete    Delete a stopped container (--force kills it first)\n"
    "  list      List containers\n"
    "  ps        List the processes of a container\n"
    "  pause     Freeze every process of a container\n"
    "  resume    Thaw a paused container\n"
    "  spec      Write a default config.json\n"
    "  features  Print what this runtime supports as JSON\n";

int cmd_oci(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    struct oci_globals g = {.root = SERVIN_OCI_DEFAULT_ROOT};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        bool takes_value = (nl == 6 && strncmp(a, "--root", 6) == 0) || (nl == 5 && strncmp(a, "--log", 5) == 0) ||
                           (nl == 12 && strncmp(a, "--log-format", 12) == 0) ||
                           (nl == 10 && strncmp(a, "--criu", 6) == 0);
        const char *value = NULL;
        if (takes_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return cli_failf("oci: flag %s needs a value", a);
        }
        if (strncmp(a, "--root", nl) == 0 && nl == 6)
            g.root = value;
        else if (nl == 5 && strncmp(a, "--log", 5) == 0) {
            if (servin_log_set_file(value) < 0)
                return cli_failf("oci: open log file %s: %s", value, strerror(errno));
        } else if (nl == 12 && strncmp(a, "--log-format", 12) == 0) {
            if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0)
                return cli_failf("oci: --log-format must be text or json, not %s", value);
            g.json_log = strcmp(value, "json") == 0;
            servin_log_set_json(g.json_log);
        }
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(oci_help, stdout);
            return 0;
        } else if (strcmp(a, "--debug") == 0)
            servin_log_set_level(SERVIN_LOG_DEBUG);
        else if (strcmp(a, "--systemd-cgroup") == 0 || strcmp(a, "--rootless=false") == 0 || takes_value)
            ; /* accepted for runc compatibility */
        else
            return cli_failf("oci: unknown flag %s", a);
    }
    if (i >= argc) {
        fputs(oci_help, stdout);
        return 0;
    }
    int sargc = argc - i;
    char **sargv = argv + i;
    const char *verb = sargv[0];
    bool enters = strcmp(verb, "create") == 0 || strcmp(verb, "run") == 0 || strcmp(verb, "exec") == 0 ||
                  strcmp(verb, "monitor") == 0; /* the hidden verb of the container monitor */
    if (enters && !getenv("SERVIN_NO_REEXEC")) {
        /* CVE-2019-5736: whatever enters a container runs from a sealed copy. The copy is of
         * servin-runtime, our lean runtime binary, when it sits beside us: it loads in a fraction of
         * the time, which is most of a container's start. */
        struct servin_error err = {0};
        _cleanup_free_ char *lean = runtime_binary_beside_us();
        char **args = argv;
        if (lean) {
            args = xcalloc((size_t)argc + 1, sizeof(char *));
            args[0] = "servin-runtime";
            for (int k = 1; k < argc; k++)
                args[k] = argv[k];
        }
        if (servin_reexec_sealed(lean, lean ? args : ctx->argv, &err) < 0)
            return cli_fail(&err);
    }
    if (strcmp(verb, "monitor") == 0)
        servin_monitor_main(sargc, sargv);
    if (strcmp(verb, "create") == 0)
        return verb_create(&g, sargc, sargv, false);
    if (strcmp(verb, "run") == 0)
        return verb_create(&g, sargc, sargv, true);
    if (strcmp(verb, "start") == 0 || strcmp(verb, "state") == 0 || strcmp(verb, "pause") == 0 ||
        strcmp(verb, "resume") == 0)
        return verb_simple(&g, sargc, sargv);
    if (strcmp(verb, "exec") == 0)
        return verb_exec(&g, sargc, sargv);
    if (strcmp(verb, "kill") == 0)
        return verb_kill(&g, sargc, sargv);
    if (strcmp(verb, "delete") == 0 || strcmp(verb, "rm") == 0)
        return verb_delete(&g, sargc, sargv);
    if (strcmp(verb, "list") == 0 || strcmp(verb, "ls") == 0)
        return verb_list(&g, sargc, sargv);
    if (strcmp(verb, "ps") == 0)
        return verb_ps(&g, sargc, sargv);
    if (strcmp(verb, "spec") == 0)
        return verb_spec(&g, sargc, sargv);
    if (strcmp(verb, "features") == 0)
        return verb_features(&g, sargc, sargv);
    return cli_failf("oci: unknown command \"%s\"\nSee 'servin oci --help'.", verb);
}
