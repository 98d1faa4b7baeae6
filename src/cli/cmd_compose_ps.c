/* cli/cmd_compose_ps.c — what a project has: `compose ps`, `ls`, `images`, `top`, `port`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_compose_ops.h"
#include "servin/cleanup.h"
#include "servin/image.h"
#include "servin/network.h"
#include "servin/timefmt.h"

static char *human_ago(int64_t when_ns)
{
    _cleanup_free_ char *d = servin_human_duration(servin_time_now_ns() - when_ns);
    return xasprintf("%s ago", d);
}

/* "\"sh -c 'httpd -f…\"" as Docker Compose's COMMAND column. */
static char *command_text(const struct servin_container *c, bool trunc)
{
    json_t *all = servin_container_command_argv(c);
    char *s = xstrdup("");
    size_t i;
    json_t *a;
    json_array_foreach (all, i, a) {
        char *n = xasprintf("%s%s%s", s, i ? " " : "", json_string_value(a) ? json_string_value(a) : "");
        free(s);
        s = n;
    }
    json_decref(all);
    if (trunc && strlen(s) > 20) {
        s[19] = '\0';
        char *n = xasprintf("%s\xe2\x80\xa6", s);
        free(s);
        s = n;
    }
    char *q = xasprintf("\"%s\"", s);
    free(s);
    return q;
}

static char *ports_text(json_t *ports)
{
    char *s = xstrdup("");
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p) {
        char *n =
            xasprintf("%s%s%s:%lld->%lld/%s", s, *s ? ", " : "", json_string_value(json_object_get(p, "IP")),
                      (long long)json_integer_value(json_object_get(p, "PublicPort")),
                      (long long)json_integer_value(json_object_get(p, "PrivatePort")),
                      json_string_value(json_object_get(p, "Type")));
        free(s);
        s = n;
    }
    return s;
}

/* One container as `docker compose ps --format json` shows it. */
static json_t *ps_row(struct compose_session *s, const struct servin_container *c)
{
    json_t *ports = servin_network_ports_json(s->env.store, c->id);
    _cleanup_free_ char *ports_s = ports_text(ports);
    _cleanup_free_ char *status = servin_container_status_text(c);
    _cleanup_free_ char *command = command_text(c, true);
    _cleanup_free_ char *running_for = human_ago(c->created);
    _cleanup_free_ char *id = xstrndup(c->id, 12);
    json_t *publishers = json_array();
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p)
        json_array_append_new(
            publishers, json_pack("{s:s,s:O,s:O,s:O}", "URL", json_string_value(json_object_get(p, "IP")),
                                  "TargetPort", json_object_get(p, "PrivatePort"), "PublishedPort",
                                  json_object_get(p, "PublicPort"), "Protocol", json_object_get(p, "Type")));
    json_decref(ports);
    const char *svc = servin_compose_label(c, SERVIN_COMPOSE_LABEL_SERVICE);
    const char *image = servin_compose_label(c, SERVIN_COMPOSE_LABEL_IMAGE);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:i,s:o,s:s,s:s}", "ID", id, "Name", c->name,
                     "Image",
                     image          ? image
                     : c->image_ref ? c->image_ref
                                    : "",
                     "Command", command, "Project", s->project->name, "Service", svc ? svc : "", "Created",
                     (json_int_t)(c->created / 1000000000), "State", servin_container_state_name(c->state),
                     "Status", status, "Health", c->health ? c->health : "", "ExitCode", c->exit_code,
                     "Publishers", publishers, "Ports", ports_s, "RunningFor", running_for);
}

static int select_containers(struct compose_session *s, char **services, unsigned flags,
                             struct servin_container **list, size_t *n)
{
    int code = compose_check_services(s, services);
    if (code)
        return code;
    struct servin_error err = {0};
    if (servin_compose_containers(s->env.store, s->project->name, services, flags, list, n, &err) < 0)
        return cli_fail(&err);
    return 0;
}

int cmd_compose_ps(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"all", no_argument, 0, 'a'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"services", no_argument, 0, 'S'},
                                             {"format", required_argument, 0, 'F'},
                                             {"status", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool all = false, quiet = false, services_only = false;
    const char *format = NULL, *status = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "aqh", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'a':
            all = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'S':
            services_only = true;
            break;
        case 'F':
            format = optarg;
            break;
        case 's':
            status = optarg;
            all = true;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    char **services = optind < argc ? argv + optind : NULL;
    if (services_only) {
        /* The model's services (as docker compose ps --services), filtered by the names given. */
        for (size_t i = 0; i < s.project->n_services; i++) {
            if (compose_service_named(services, s.project->services[i].name))
                printf("%s\n", s.project->services[i].name);
        }
        compose_session_close(&s);
        return 0;
    }
    struct servin_container *list = NULL;
    size_t n = 0;
    code = select_containers(&s, services, all ? 0 : SERVIN_COMPOSE_ONLY_ACTIVE, &list, &n);
    if (code) {
        compose_session_close(&s);
        return code;
    }
    bool json = format && strcmp(format, "json") == 0;
    if (format && strcmp(format, "table") == 0)
        format = NULL;
    struct cli_table *t = NULL;
    if (!quiet && !json && !format) {
        t = cli_table_new();
        cli_table_add(t, "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS");
    }
    for (size_t i = 0; i < n && !code; i++) {
        if (status && strcmp(servin_container_state_name(list[i].state), status) != 0)
            continue;
        if (quiet) {
            printf("%s\n", list[i].id);
            continue;
        }
        json_t *row = ps_row(&s, &list[i]);
        if (json) {
            _cleanup_free_ char *text = json_dumps(row, JSON_COMPACT);
            printf("%s\n", text);
        } else if (format) {
            struct servin_error err = {0};
            if (cli_format_render(format, row, stdout, &err) < 0)
                code = cli_fail(&err);
            else
                putchar('\n');
        } else {
            cli_table_add(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s", list[i].name,
                          json_string_value(json_object_get(row, "Image")),
                          json_string_value(json_object_get(row, "Command")),
                          json_string_value(json_object_get(row, "Service")),
                          json_string_value(json_object_get(row, "RunningFor")),
                          json_string_value(json_object_get(row, "Status")),
                          json_string_value(json_object_get(row, "Ports")));
        }
        json_decref(row);
    }
    if (t)
        cli_table_flush(t, stdout);
    servin_containers_free(list, n);
    compose_session_close(&s);
    return code;
}

int cmd_compose_ls(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"all", no_argument, 0, 'a'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"format", required_argument, 0, 'F'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool all = false, quiet = false;
    const char *format = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "aqh", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'a':
            all = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'F':
            format = optarg;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "\"compose ls\" accepts no arguments.");
    /* ls needs no compose file: projects are found from the containers' labels. */
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    json_t *projects = NULL;
    struct servin_error err = {0};
    if (servin_compose_projects(store, all, &projects, &err) < 0)
        return cli_fail(&err);
    size_t i;
    json_t *p;
    if (format && strcmp(format, "json") == 0) {
        _cleanup_free_ char *text = json_dumps(projects, JSON_COMPACT);
        printf("%s\n", text);
    } else if (quiet) {
        json_array_foreach (projects, i, p)
            printf("%s\n", json_string_value(json_object_get(p, "Name")));
    } else {
        struct cli_table *t = cli_table_new();
        cli_table_add(t, "NAME\tSTATUS\tCONFIG FILES");
        json_array_foreach (projects, i, p)
            cli_table_add(t, "%s\t%s\t%s", json_string_value(json_object_get(p, "Name")),
                          json_string_value(json_object_get(p, "Status")),
                          json_string_value(json_object_get(p, "ConfigFiles")));
        cli_table_flush(t, stdout);
    }
    json_decref(projects);
    return 0;
}

int cmd_compose_images(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"quiet", no_argument, 0, 'q'},
                                             {"format", required_argument, 0, 'F'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    bool quiet = false;
    const char *format = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "qh", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'q':
            quiet = true;
            break;
        case 'F':
            format = optarg;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    struct servin_container *list = NULL;
    size_t n = 0;
    code = select_containers(&s, optind < argc ? argv + optind : NULL, 0, &list, &n);
    struct cli_table *t = NULL;
    json_t *rows = json_array();
    if (!code && !quiet && !format) {
        t = cli_table_new();
        cli_table_add(t, "CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE");
    }
    for (size_t i = 0; i < n && !code; i++) {
        struct servin_image_summary img = {0};
        struct servin_error err = {0};
        const char *hex = strchr(list[i].image_id, ':');
        hex = hex ? hex + 1 : list[i].image_id;
        if (quiet) {
            printf("%s\n", list[i].image_id);
            continue;
        }
        const char *ref = servin_compose_label(&list[i], SERVIN_COMPOSE_LABEL_IMAGE);
        if (!ref)
            ref = list[i].image_ref ? list[i].image_ref : "";
        _cleanup_free_ char *repo = servin_image_repo_of(ref);
        const char *colon = strrchr(ref, ':');
        const char *tag = colon && !strchr(colon, '/') ? colon + 1 : "latest";
        double size = 0;
        if (servin_image_get(s.env.store, list[i].image_id, &img, &err) == 0)
            size = (double)img.size;
        servin_image_summary_clear(&img);
        _cleanup_free_ char *human = cli_human_size(size);
        json_array_append_new(rows,
                              json_pack("{s:s,s:s,s:s,s:s,s:f}", "ContainerName", list[i].name, "Repository",
                                        repo ? repo : ref, "Tag", tag, "ID", list[i].image_id, "Size", size));
        if (t)
            cli_table_add(t, "%s\t%s\t%s\t%.12s\t%s", list[i].name, repo ? repo : ref, tag, hex, human);
    }
    if (t)
        cli_table_flush(t, stdout);
    if (!code && format && strcmp(format, "json") == 0) {
        _cleanup_free_ char *text = json_dumps(rows, JSON_COMPACT);
        printf("%s\n", text);
    }
    json_decref(rows);
    servin_containers_free(list, n);
    compose_session_close(&s);
    return code;
}

int cmd_compose_top(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1)
        return c == 'h' ? 0 : CLI_EXIT_USAGE;
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    struct servin_container *list = NULL;
    size_t n = 0;
    code = select_containers(&s, optind < argc ? argv + optind : NULL, SERVIN_COMPOSE_ONLY_ACTIVE, &list, &n);
    for (size_t i = 0; i < n && !code; i++) {
        json_t *top = NULL;
        struct servin_error err = {0};
        if (servin_container_top(s.env.store, &list[i], &top, &err) < 0) {
            code = cli_fail(&err);
            break;
        }
        printf("%s%s\n", i ? "\n" : "", list[i].name);
        struct cli_table *t = cli_table_new();
        cli_table_add(t, "PID\tUSER\tTIME\tCMD");
        size_t k;
        json_t *row;
        json_array_foreach (json_object_get(top, "Processes"), k, row)
            cli_table_add(t, "%s\t%s\t%s\t%s", json_string_value(json_array_get(row, 0)),
                          json_string_value(json_array_get(row, 1)),
                          json_string_value(json_array_get(row, 2)),
                          json_string_value(json_array_get(row, 3)));
        cli_table_flush(t, stdout);
        json_decref(top);
    }
    servin_containers_free(list, n);
    compose_session_close(&s);
    return code;
}

int cmd_compose_port(struct compose_cli *cc, int argc, char **argv)
{
    struct cli_ctx *ctx = cc->ctx;
    static const struct option longopts[] = {{"protocol", required_argument, 0, 'P'},
                                             {"index", required_argument, 0, 'I'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    const char *proto = "tcp";
    int index = 1;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'P':
            if (strcmp(optarg, "tcp") != 0 && strcmp(optarg, "udp") != 0)
                return cli_usage_error(ctx, "invalid argument \"%s\" for \"--protocol\" flag: use tcp or udp",
                                       optarg);
            proto = optarg;
            break;
        case 'I':
            index = atoi(optarg);
            if (index < 1)
                return cli_usage_error(ctx, "invalid argument \"%s\" for \"--index\" flag", optarg);
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 2)
        return cli_usage_error(ctx, "\"compose port\" requires exactly 2 arguments: SERVICE PRIVATE_PORT");
    const char *service = argv[optind];
    long port = strtol(argv[optind + 1], NULL, 10);
    if (port <= 0 || port > 65535)
        return cli_usage_error(ctx, "invalid port \"%s\"", argv[optind + 1]);
    struct compose_session s;
    int code = compose_session_open(cc, &s);
    if (code)
        return code;
    char *svc[] = {(char *)service, NULL};
    struct servin_container *list = NULL;
    size_t n = 0;
    code = select_containers(&s, svc, 0, &list, &n);
    const struct servin_container *found = NULL;
    for (size_t i = 0; i < n && !code; i++)
        if (servin_compose_container_number(&list[i]) == index)
            found = &list[i];
    if (!code && !found)
        code = cli_failf("service \"%s\" is not running container #%d", service, index);
    if (!code) {
        json_t *ports = servin_network_ports_json(s.env.store, found->id);
        size_t i;
        json_t *p;
        bool any = false;
        json_array_foreach (ports, i, p) {
            if (json_integer_value(json_object_get(p, "PrivatePort")) != port ||
                strcmp(json_string_value(json_object_get(p, "Type")) ?: "", proto) != 0)
                continue;
            printf("%s:%lld\n", json_string_value(json_object_get(p, "IP")),
                   (long long)json_integer_value(json_object_get(p, "PublicPort")));
            any = true;
            break;
        }
        json_decref(ports);
        if (!any)
            code = cli_failf("no port %ld/%s published for service %s", port, proto, service);
    }
    servin_containers_free(list, n);
    compose_session_close(&s);
    return code;
}
