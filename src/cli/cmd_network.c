/* cli/cmd_network.c — `servin network create|ls|inspect|rm|prune|connect|disconnect` and `servin port`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "servin/cleanup.h"
#include "servin/network.h"

static int label_arg(json_t *labels, const char *arg)
{
    const char *eq = strchr(arg, '=');
    _cleanup_free_ char *key = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
    if (!*key)
        return -1;
    json_object_set_new(labels, key, json_string(eq ? eq + 1 : ""));
    return 0;
}

int cmd_network_create(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"driver", required_argument, 0, 'd'},  {"subnet", required_argument, 0, 's'},
        {"gateway", required_argument, 0, 'g'}, {"ip-range", required_argument, 0, 'r'},
        {"internal", no_argument, 0, 'i'},      {"label", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},          {0}};
    struct servin_network_create_opts o = {0};
    json_t *labels = json_object();
    int c, code = 0;
    while ((c = cli_getopt(ctx, argc, argv, "d:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            json_decref(labels);
            return 0;
        case '?':
            json_decref(labels);
            return CLI_EXIT_USAGE;
        case 'd':
            o.driver = optarg;
            break;
        case 's':
            o.subnet = optarg;
            break;
        case 'g':
            o.gateway = optarg;
            break;
        case 'r':
            o.ip_range = optarg;
            break;
        case 'i':
            o.internal = true;
            break;
        case 'l':
            if (label_arg(labels, optarg) < 0) {
                json_decref(labels);
                return cli_usage_error(
                    ctx, "invalid argument \"%s\" for \"--label\" flag: expected KEY=VALUE", optarg);
            }
            break;
        }
    }
    if (argc - optind != 1) {
        json_decref(labels);
        return cli_usage_error(ctx, "\"%s\" requires exactly 1 argument.", ctx->cmd->path);
    }
    if (o.gateway && !o.subnet) {
        json_decref(labels);
        return cli_failf("invalid --gateway %s: it needs --subnet", o.gateway);
    }
    o.name = argv[optind];
    o.labels = labels;
    struct servin_store *store = cli_store(ctx);
    if (!store) {
        json_decref(labels);
        return CLI_EXIT_FAILURE;
    }
    struct servin_error err = {0};
    struct servin_network n = {0};
    if (servin_network_create(store, &o, &n, &err) < 0)
        code = cli_fail(&err);
    else
        printf("%s\n", n.id);
    servin_network_clear(&n);
    json_decref(labels);
    return code;
}

static bool network_matches(const struct servin_network *n, char **filters, size_t nf)
{
    for (size_t i = 0; i < nf; i++) {
        const char *f = filters[i];
        const char *eq = strchr(f, '=');
        const char *v = eq ? eq + 1 : "";
        size_t klen = eq ? (size_t)(eq - f) : strlen(f);
        if (strncmp(f, "name", klen) == 0 && klen == 4) {
            if (!strstr(n->name, v))
                return false;
        } else if (strncmp(f, "id", klen) == 0 && klen == 2) {
            if (strncmp(n->id, v, strlen(v)) != 0)
                return false;
        } else if (strncmp(f, "driver", klen) == 0 && klen == 6) {
            if (strcmp(n->driver ? n->driver : "bridge", v) != 0)
                return false;
        } else if (strncmp(f, "label", klen) == 0 && klen == 5) {
            const char *eq2 = strchr(v, '=');
            _cleanup_free_ char *key = eq2 ? xstrndup(v, (size_t)(eq2 - v)) : xstrdup(v);
            json_t *lv = json_object_get(n->labels, key);
            if (!lv || (eq2 && strcmp(json_string_value(lv) ? json_string_value(lv) : "", eq2 + 1) != 0))
                return false;
        } else if (strncmp(f, "type", klen) == 0 && klen == 4) {
            bool builtin = strcmp(n->name, SERVIN_NETWORK_DEFAULT) == 0;
            if (strcmp(v, builtin ? "builtin" : "custom") != 0)
                return false;
        }
    }
    return true;
}

int cmd_network_ls(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, 0, 'q'},        {"filter", required_argument, 0, 'f'},
        {"format", required_argument, 0, 'F'}, {"no-trunc", no_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},         {0}};
    bool quiet = false, no_trunc = false;
    const char *format = NULL;
    char *filters[32];
    size_t nf = 0;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "qf:h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'q')
            quiet = true;
        else if (c == 'T')
            no_trunc = true;
        else if (c == 'F')
            format = optarg;
        else if (c == 'f') {
            const char *eq = strchr(optarg, '=');
            size_t k = eq ? (size_t)(eq - optarg) : 0;
            bool known =
                eq && ((k == 4 && (!strncmp(optarg, "name", 4) || !strncmp(optarg, "type", 4))) ||
                       (k == 2 && !strncmp(optarg, "id", 2)) || (k == 6 && !strncmp(optarg, "driver", 6)) ||
                       (k == 5 && !strncmp(optarg, "label", 5)));
            if (!known)
                return cli_failf("invalid filter '%s': use name=, id=, driver=, label= or type=", optarg);
            if (nf == sizeof(filters) / sizeof(filters[0]))
                return cli_failf("too many filters");
            filters[nf++] = optarg;
        }
    }
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    /* The default network always shows, as Docker's bridge does. */
    struct servin_network def = {0};
    if (servin_network_get(store, "bridge", &def, &err) < 0)
        return cli_fail(&err);
    servin_network_clear(&def);
    struct servin_network *list = NULL;
    size_t n = 0;
    if (servin_network_list(store, &list, &n, &err) < 0)
        return cli_fail(&err);
    int code = 0;
    if (format && strcmp(format, "table") == 0)
        format = NULL;
    struct cli_table *t = NULL;
    if (!quiet && !format) {
        t = cli_table_new();
        cli_table_add(t, "NETWORK ID\tNAME\tDRIVER\tSCOPE");
    } else if (!quiet && format && strncmp(format, "table ", 6) == 0) {
        cli_format_table_header(format, stdout);
    }
    for (size_t i = 0; i < n; i++) {
        if (!network_matches(&list[i], filters, nf))
            continue;
        _cleanup_free_ char *id = no_trunc ? xstrdup(list[i].id) : xstrndup(list[i].id, 12);
        if (quiet) {
            printf("%s\n", id);
            continue;
        }
        if (t) {
            cli_table_add(t, "%s\t%s\t%s\tlocal", id, list[i].name,
                          list[i].driver ? list[i].driver : "bridge");
            continue;
        }
        json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "ID", id, "Name", list[i].name, "Driver",
                                list[i].driver ? list[i].driver : "bridge", "Scope", "local", "Internal",
                                list[i].internal, "Subnet", list[i].subnet);
        if (strcmp(format, "json") == 0) {
            json_dumpf(row, stdout, JSON_COMPACT);
            fputc('\n', stdout);
        } else if (cli_format_render(format, row, stdout, &err) < 0) {
            json_decref(row);
            code = cli_fail(&err);
            break;
        }
        json_decref(row);
    }
    if (t)
        cli_table_flush(t, stdout);
    servin_networks_free(list, n);
    return code;
}

int cmd_network_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, 0, 'f'},
                                             {"verbose", no_argument, 0, 'v'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    const char *format = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "f:vh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'f')
            format = optarg;
    }
    if (optind >= argc)
        return cli_usage_error(ctx, "\"%s\" requires at least 1 argument.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    json_t *all = json_array();
    int code = 0;
    for (int i = optind; i < argc; i++) {
        struct servin_error err = {0};
        struct servin_network n = {0};
        if (servin_network_get(store, argv[i], &n, &err) < 0) {
            /* Docker exits 1 when an object is missing, after printing the ones it found. */
            cli_fail(&err);
            code = 1;
            continue;
        }
        json_array_append_new(all, servin_network_inspect_json(store, &n));
        servin_network_clear(&n);
    }
    int r = cli_print_inspect(all, format);
    json_decref(all);
    return r ? r : code;
}

int cmd_network_rm(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
    bool force = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "fh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'f')
            force = true;
    }
    if (optind >= argc)
        return cli_usage_error(ctx, "\"%s\" requires at least 1 argument.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    int code = 0;
    for (int i = optind; i < argc; i++) {
        struct servin_error err = {0};
        if (servin_network_remove(store, argv[i], &err) < 0) {
            if (!(force && err.code == ENOENT))
                code = cli_fail(&err);
            continue;
        }
        printf("%s\n", argv[i]);
    }
    return code;
}

int cmd_network_prune(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"force", no_argument, 0, 'f'},
                                             {"filter", required_argument, 0, 'F'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    struct cli_prune_filters f = CLI_PRUNE_FILTERS_INIT;
    bool force = false;
    int c, code = 0;
    while (code == 0 && (c = cli_getopt(ctx, argc, argv, "fh", longopts)) != -1) {
        if (c == 'h' || c == '?')
            code = c == 'h' ? -1 : CLI_EXIT_USAGE;
        else if (c == 'f')
            force = true;
        else if (c == 'F')
            code = cli_prune_filter_parse(&f, optarg);
    }
    if (code == 0 && optind < argc)
        code = cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    if (code == 0 && !force &&
        !cli_confirm("WARNING! This will remove all custom networks not used by at least one container.\n"
                     "Are you sure you want to continue?"))
        code = -1;
    struct servin_store *store = code == 0 ? cli_store(ctx) : NULL;
    if (code == 0 && !store)
        code = CLI_EXIT_FAILURE;
    if (code == 0) {
        /* What stopped containers left first, so that their networks count as unused. */
        struct servin_error err = {0};
        int cleaned = 0;
        if (servin_network_cleanup_orphans(store, &cleaned, &err) < 0)
            cli_fail(&err);
        code = cli_prune_networks(store, &f);
    }
    cli_prune_filters_clear(&f);
    return code < 0 ? 0 : code;
}

static int connect_common(struct cli_ctx *ctx, int argc, char **argv, bool connect)
{
    static const struct option longopts[] = {{"alias", required_argument, 0, 'a'},
                                             {"ip", required_argument, 0, 'i'},
                                             {"force", no_argument, 0, 'f'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    json_t *aliases = json_array();
    const char *ip = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "fh", longopts)) != -1) {
        if (c == 'h' || c == '?') {
            json_decref(aliases);
            return c == 'h' ? 0 : CLI_EXIT_USAGE;
        }
        if (c == 'a')
            json_array_append_new(aliases, json_string(optarg));
        else if (c == 'i')
            ip = optarg;
    }
    if (argc - optind != 2) {
        json_decref(aliases);
        return cli_usage_error(ctx, "\"%s\" requires exactly 2 arguments.", ctx->cmd->path);
    }
    struct servin_store *store = cli_store(ctx);
    if (!store) {
        json_decref(aliases);
        return CLI_EXIT_FAILURE;
    }
    struct servin_error err = {0};
    struct servin_container ct = {0};
    int code = 0;
    if (servin_container_get(store, argv[optind + 1], &ct, &err) < 0) {
        json_decref(aliases);
        return cli_fail(&err);
    }
    servin_container_reconcile(store, &ct, &err);
    servin_error_clear(&err);
    int r = connect ? servin_network_connect(store, &ct, argv[optind], aliases, ip, &err)
                    : servin_network_disconnect(store, &ct, argv[optind], &err);
    if (r < 0)
        code = cli_fail(&err);
    servin_container_clear(&ct);
    json_decref(aliases);
    return code;
}

int cmd_network_connect(struct cli_ctx *ctx, int argc, char **argv)
{
    return connect_common(ctx, argc, argv, true);
}

int cmd_network_disconnect(struct cli_ctx *ctx, int argc, char **argv)
{
    return connect_common(ctx, argc, argv, false);
}

int cmd_port(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
    }
    if (argc - optind < 1 || argc - optind > 2)
        return cli_usage_error(ctx, "\"%s\" requires 1 or 2 arguments.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    struct servin_container ct = {0};
    if (servin_container_get(store, argv[optind], &ct, &err) < 0)
        return cli_fail(&err);
    const char *want = optind + 1 < argc ? argv[optind + 1] : NULL;
    _cleanup_free_ char *want_key =
        want && !strchr(want, '/') ? xasprintf("%s/tcp", want) : (want ? xstrdup(want) : NULL);
    json_t *ports = servin_network_ports_json(store, ct.id);
    size_t i;
    json_t *p;
    int shown = 0;
    json_array_foreach (ports, i, p) {
        char key[32];
        snprintf(key, sizeof(key), "%lld/%s",
                 (long long)json_integer_value(json_object_get(p, "PrivatePort")),
                 json_string_value(json_object_get(p, "Type")));
        if (want_key && strcmp(key, want_key) != 0)
            continue;
        shown++;
        if (want_key)
            printf("%s:%lld\n", json_string_value(json_object_get(p, "IP")),
                   (long long)json_integer_value(json_object_get(p, "PublicPort")));
        else
            printf("%s -> %s:%lld\n", key, json_string_value(json_object_get(p, "IP")),
                   (long long)json_integer_value(json_object_get(p, "PublicPort")));
    }
    json_decref(ports);
    int code = 0;
    if (want_key && !shown)
        code = cli_failf("no public port '%s' published for %s", want_key, ct.name);
    servin_container_clear(&ct);
    return code;
}
