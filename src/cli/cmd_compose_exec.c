/* cli/cmd_compose_exec.c — `compose exec` (through `servin exec`) and `compose run` (a one-off
 * container of a service, started and attached like `servin run`). */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cmd_compose_ops.h"
#include "commands.h"
#include "run_flags.h"
#include "servin/cleanup.h"

/* Run another command of the table (exec) with our argv, as if typed. */
static int run_command(struct cli_ctx *ctx, const char *path, int argc, char **argv)
{
    const struct cli_command *saved = ctx->cmd;
    const struct cli_command *cmd = NULL;
    for (size_t i = 0; i < cli_commands_count && !cmd; i++)
        if (strcmp(cli_commands[i].path, path) == 0)
            cmd = &cli_commands[i];
    if (!cmd)
        return cli_failf("internal error: no command %s", path);
    ctx->cmd = cmd;
    optind = 0;
    int code = cmd->run(ctx, argc, argv);
    ctx->cmd = saved;
    return code;
}

int cmd_compose_exec(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {
        {"detach", no_argument, 0, 'd'},      {"no-TTY", no_argument, 0, 'T'},
        {"no-tty", no_argument, 0, 'T'},      {"interactive", no_argument, 0, 'i'},
        {"tty", no_argument, 0, 't'},         {"env", required_argument, 0, 'e'},
        {"user", required_argument, 0, 'u'},  {"workdir", required_argument, 0, 'w'},
        {"index", required_argument, 0, 'I'}, {"privileged", no_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},        {0}};
    bool detach = false, no_tty = !isatty(STDIN_FILENO), privileged = false;
    int index = 1;
    _cleanup_free_ char **pass = xcalloc((size_t)argc * 2 + 8, sizeof(char *));
    int np = 0;
    pass[np++] = "exec";
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "dTite:u:w:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'd':
            detach = true;
            break;
        case 'T':
            no_tty = true;
            break;
        case 'i':
        case 't':
            break; /* the defaults already */
        case 'e':
            pass[np++] = "-e";
            pass[np++] = optarg;
            break;
        case 'u':
            pass[np++] = "-u";
            pass[np++] = optarg;
            break;
        case 'w':
            pass[np++] = "-w";
            pass[np++] = optarg;
            break;
        case 'I':
            index = atoi(optarg);
            if (index < 1)
                return cli_usage_error(ctx, "invalid argument \"%s\" for \"--index\" flag", optarg);
            break;
        case 'P':
            privileged = true;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind < 2)
        return cli_usage_error(ctx,
                               "\"compose exec\" requires at least 2 arguments: SERVICE COMMAND [ARGS...]");
    const char *service = argv[optind];
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    char *svc[] = {(char *)service, NULL};
    code = compose_check_services(&s, svc);
    struct servin_container *list = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    if (!code && servin_compose_containers(s.env.store, s.project->name, svc, 0, &list, &n, &err) < 0)
        code = cli_fail(&err);
    const struct servin_container *found = NULL;
    for (size_t i = 0; i < n && !code; i++)
        if (servin_compose_container_number(&list[i]) == index && servin_container_is_active(&list[i]))
            found = &list[i];
    if (!code && !found)
        code = cli_failf("service \"%s\" is not running", service);
    if (!code) {
        if (detach)
            pass[np++] = "-d";
        else
            pass[np++] = "-i";
        if (!detach && !no_tty)
            pass[np++] = "-t";
        if (privileged)
            pass[np++] = "--privileged";
        _cleanup_free_ char *id = xstrdup(found->id);
        pass[np++] = id;
        for (int i = optind + 1; i < argc; i++)
            pass[np++] = argv[i];
        pass[np] = NULL;
        servin_containers_free(list, n);
        list = NULL;
        n = 0;
        code = run_command(ctx, "container exec", np, pass);
    }
    servin_containers_free(list, n);
    compose_session_close(&s);
    return code;
}

/* ---- run ---- */

static char *random_hex12(void)
{
    unsigned char b[6] = {0};
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        abort();
    return xasprintf("%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

/* -p [ip:][host:]container[/proto] into PortBindings. */
static int add_publish(struct cli_ctx *ctx, const char *text, json_t *cfg, json_t *host)
{
    _cleanup_free_ char *copy = xstrdup(text);
    char *proto = strchr(copy, '/');
    if (proto)
        *proto++ = '\0';
    char *parts[3] = {0};
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok && n < 3; tok = strtok_r(NULL, ":", &save))
        parts[n++] = tok;
    if (n == 0)
        return cli_usage_error(ctx, "invalid argument \"%s\" for \"-p, --publish\" flag", text);
    long cport = strtol(parts[n - 1], NULL, 10);
    struct in_addr a;
    if (cport <= 0 || cport > 65535 || (n == 3 && inet_pton(AF_INET, parts[0], &a) != 1) ||
        (proto && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
        return cli_usage_error(
            ctx, "invalid argument \"%s\" for \"-p, --publish\" flag: expected [IP:][HOSTPORT:]PORT[/PROTO]",
            text);
    _cleanup_free_ char *key = xasprintf("%ld/%s", cport, proto ? proto : "tcp");
    json_t *pb = json_object_get(host, "PortBindings");
    if (!json_is_object(pb))
        json_object_set_new(host, "PortBindings", pb = json_object());
    json_t *list = json_object_get(pb, key);
    if (!json_is_array(list))
        json_object_set_new(pb, key, list = json_array());
    json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp", n == 3 ? parts[0] : "", "HostPort",
                                          n >= 2 ? parts[n - 2] : ""));
    json_t *exposed = json_object_get(cfg, "ExposedPorts");
    if (!json_is_object(exposed))
        json_object_set_new(cfg, "ExposedPorts", exposed = json_object());
    json_object_set_new(exposed, key, json_object());
    return 0;
}

enum {
    OPT_RM = 256,
    OPT_NAME,
    OPT_ENTRYPOINT,
    OPT_NO_DEPS,
    OPT_SERVICE_PORTS,
    OPT_BUILD,
    OPT_QUIET_PULL,
    OPT_REMOVE_ORPHANS,
    OPT_USE_ALIASES,
};

int cmd_compose_run(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"detach", no_argument, 0, 'd'},
                                             {"rm", no_argument, 0, OPT_RM},
                                             {"name", required_argument, 0, OPT_NAME},
                                             {"env", required_argument, 0, 'e'},
                                             {"user", required_argument, 0, 'u'},
                                             {"workdir", required_argument, 0, 'w'},
                                             {"entrypoint", required_argument, 0, OPT_ENTRYPOINT},
                                             {"no-TTY", no_argument, 0, 'T'},
                                             {"no-tty", no_argument, 0, 'T'},
                                             {"interactive", no_argument, 0, 'i'},
                                             {"tty", no_argument, 0, 't'},
                                             {"no-deps", no_argument, 0, OPT_NO_DEPS},
                                             {"service-ports", no_argument, 0, OPT_SERVICE_PORTS},
                                             {"use-aliases", no_argument, 0, OPT_USE_ALIASES},
                                             {"publish", required_argument, 0, 'p'},
                                             {"label", required_argument, 0, 'l'},
                                             {"build", no_argument, 0, OPT_BUILD},
                                             {"quiet-pull", no_argument, 0, OPT_QUIET_PULL},
                                             {"remove-orphans", no_argument, 0, OPT_REMOVE_ORPHANS},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool detach = false, rm = false, no_tty = !isatty(STDIN_FILENO), no_deps = false, service_ports = false;
    bool build = false, quiet_pull = false, remove_orphans = false;
    const char *name = NULL, *entrypoint = NULL, *user = NULL, *workdir = NULL;
    json_t *override_cfg = json_object();
    json_t *override_host = json_object();
    json_t *extra_env = json_array();
    json_t *labels = json_object();
    int code = 0;
    int c;
    while (!code && (c = cli_getopt(ctx, argc, argv, "de:u:w:Titp:l:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            goto out;
        case 'd':
            detach = true;
            break;
        case OPT_RM:
            rm = true;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case 'e':
            if (strchr(optarg, '=')) {
                json_array_append_new(extra_env, json_string(optarg));
            } else if (getenv(optarg)) {
                _cleanup_free_ char *kv = xasprintf("%s=%s", optarg, getenv(optarg));
                json_array_append_new(extra_env, json_string(kv));
            }
            break;
        case 'u':
            user = optarg;
            break;
        case 'w':
            workdir = optarg;
            break;
        case OPT_ENTRYPOINT:
            entrypoint = optarg;
            break;
        case 'T':
            no_tty = true;
            break;
        case 'i':
        case 't':
            break;
        case OPT_NO_DEPS:
            no_deps = true;
            break;
        case OPT_SERVICE_PORTS:
            service_ports = true;
            break;
        case OPT_USE_ALIASES:
            break;
        case 'p':
            code = add_publish(ctx, optarg, override_cfg, override_host);
            break;
        case 'l': {
            const char *eq = strchr(optarg, '=');
            _cleanup_free_ char *k = eq ? xstrndup(optarg, (size_t)(eq - optarg)) : xstrdup(optarg);
            json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
            break;
        }
        case OPT_BUILD:
            build = true;
            break;
        case OPT_QUIET_PULL:
            quiet_pull = true;
            break;
        case OPT_REMOVE_ORPHANS:
            remove_orphans = true;
            break;
        default:
            code = CLI_EXIT_USAGE;
            break;
        }
    }
    if (code)
        goto out;
    if (optind >= argc) {
        code =
            cli_usage_error(ctx, "\"compose run\" requires at least 1 argument: SERVICE [COMMAND] [ARGS...]");
        goto out;
    }
    const char *service = argv[optind];
    struct compose_session s;
    code = compose_session_open(cc, &s);
    if (code)
        goto out;
    /* Running a service whose profile is not enabled enables it, as in Docker Compose. */
    if (!servin_compose_service_find(s.project, service)) {
        compose_session_close(&s);
        code = compose_session_open_all_profiles(cc, &s);
        if (code)
            goto out;
    }
    if (quiet_pull)
        s.env.pull_out = NULL;
    char *svc[] = {(char *)service, NULL};
    code = compose_check_services(&s, svc);
    const struct servin_compose_service *sv = code ? NULL : servin_compose_service_find(s.project, service);
    struct servin_error err = {0};
    compose_catch_signals();
    /* Its dependencies first, as `up` would bring them. */
    if (!code && !no_deps && sv->n_depends_on) {
        char **deps = xcalloc(sv->n_depends_on + 1, sizeof(char *));
        for (size_t i = 0; i < sv->n_depends_on; i++)
            deps[i] = sv->depends_on[i].service;
        struct servin_compose_up_opts uo = {
            .services = deps, .timeout_s = -1, .remove_orphans = remove_orphans};
        if (servin_compose_up(&s.env, &uo, &err) < 0)
            code = cli_fail(&err);
        else {
            for (size_t i = 0; i < sv->n_depends_on && !code; i++)
                if (servin_compose_wait_condition(&s.env, sv->depends_on[i].service,
                                                  sv->depends_on[i].condition, -1, &err) < 0)
                    code = cli_fail(&err);
        }
        free(deps);
    }
    struct servin_compose_service *one[] = {(struct servin_compose_service *)sv};
    if (!code && (servin_compose_ensure_image(&s.env, sv, build, false, &err) < 0 ||
                  servin_compose_ensure_resources(&s.env, one, 1, &err) < 0))
        code = cli_fail(&err);
    struct servin_container ct = {0};
    if (!code) {
        /* The service's environment plus -e. */
        json_t *body = NULL, *extra = NULL;
        if (servin_compose_service_body(&s.env, sv, 0, &body, &extra, &err) < 0) {
            code = cli_fail(&err);
        } else {
            json_t *env = json_deep_copy(json_object_get(json_object_get(body, "Config"), "Env"));
            json_array_extend(env, extra_env);
            json_object_set_new(override_cfg, "Env", env);
            if (!service_ports && !json_object_get(override_host, "PortBindings"))
                json_object_set_new(override_host, "PortBindings", json_object());
            json_decref(body);
            json_decref(extra);
        }
    }
    if (!code) {
        bool interactive = !detach;
        bool tty = !no_tty && !detach;
        if (optind + 1 < argc) {
            json_t *cmd = json_array();
            for (int i = optind + 1; i < argc; i++)
                json_array_append_new(cmd, json_string(argv[i]));
            json_object_set_new(override_cfg, "Cmd", cmd);
        }
        if (entrypoint) {
            char **words = NULL;
            if (servin_compose_split_words(entrypoint, &words, &err) < 0) {
                code = cli_fail(&err);
            } else {
                json_t *ep = json_array();
                for (size_t i = 0; words && words[i]; i++)
                    json_array_append_new(ep, json_string(words[i]));
                json_object_set_new(override_cfg, "Entrypoint", ep);
                strv_free(words);
            }
        }
        if (user)
            json_object_set_new(override_cfg, "User", json_string(user));
        if (workdir)
            json_object_set_new(override_cfg, "WorkingDir", json_string(workdir));
        json_object_set_new(override_cfg, "Tty", json_boolean(tty));
        json_object_set_new(override_cfg, "OpenStdin", json_boolean(interactive));
        json_object_set_new(override_cfg, "StdinOnce", json_boolean(interactive));
        json_object_set_new(override_cfg, "AttachStdin", json_boolean(interactive));
        json_object_set_new(override_cfg, "AttachStdout", json_boolean(!detach));
        json_object_set_new(override_cfg, "AttachStderr", json_boolean(!detach));
        json_object_set(override_cfg, "Labels", labels);
        json_object_set_new(override_host, "RestartPolicy",
                            json_pack("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0));
        json_object_set_new(override_host, "AutoRemove", json_boolean(rm && detach));
        json_t *override = json_pack("{s:O,s:O}", "Config", override_cfg, "HostConfig", override_host);
        _cleanup_free_ char *hex = random_hex12();
        _cleanup_free_ char *gen = xasprintf("%s-%s-run-%s", s.project->name, service, hex);
        if (!code &&
            servin_compose_create_container(&s.env, sv, 0, name ? name : gen, override, &ct, &err) < 0)
            code = cli_fail(&err);
        json_decref(override);
        if (!code) {
            struct servin_start_opts so = {.wait_for_attach = !detach, .foreground_rm = !detach && rm};
            int exit_code = 0;
            /* Signals now go to the container, as with `servin run`. */
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            if (servin_container_start(s.env.store, &ct, &so, &exit_code, &err) < 0) {
                code = cli_fail(&err);
                if (exit_code)
                    code = exit_code;
                if (rm) {
                    struct servin_error ignored = {0};
                    servin_container_remove(s.env.store, &ct, true, &ignored);
                }
            } else if (detach) {
                printf("%s\n", ct.name);
            } else {
                code = cli_container_attach_and_wait(ctx, &ct, interactive, true);
                if (rm) {
                    struct servin_container fresh = {0};
                    /* The monitor left the cleanup to us, as for a foreground `servin run --rm`. */
                    if (servin_container_get(s.env.store, ct.id, &fresh, &err) == 0) {
                        if (servin_container_cleanup_exited(s.env.store, &fresh, &err) < 0) {
                            cli_fail(&err);
                            servin_error_clear(&err);
                        }
                        if (servin_container_remove(s.env.store, &fresh, true, &err) < 0)
                            cli_fail(&err);
                    }
                    servin_container_clear(&fresh);
                }
            }
        }
    }
    servin_container_clear(&ct);
    compose_session_close(&s);
out:
    json_decref(override_cfg);
    json_decref(override_host);
    json_decref(extra_env);
    json_decref(labels);
    return code;
}
