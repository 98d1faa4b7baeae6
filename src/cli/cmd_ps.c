/* cli/cmd_ps.c — `ps` (container list) and `inspect` for containers, in Docker's shapes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "run_flags.h"
#include "servin/cleanup.h"
#include "servin/health.h"
#include "servin/network.h"
#include "servin/image.h"
#include "servin/size.h"
#include "servin/stats.h"
#include "servin/timefmt.h"
#include "servin/volume.h"

static char *human_ago(int64_t when_ns)
{
    _cleanup_free_ char *d = servin_human_duration(servin_time_now_ns() - when_ns);
    return xasprintf("%s ago", d);
}

static char *command_text(const struct servin_container *c, bool trunc)
{
    json_t *all = servin_container_command_argv(c);
    size_t i, len = 0;
    json_t *a;
    char *s = xstrdup("");
    json_array_foreach (all, i, a) {
        const char *w = json_string_value(a);
        char *n = xasprintf("%s%s%s", s, i ? " " : "", w ? w : "");
        free(s);
        s = n;
    }
    json_decref(all);
    /* Ellipsis at 20 characters, as Docker's table does. */
    len = strlen(s);
    if (trunc && len > 20) {
        s[19] = '\0';
        char *n = xasprintf("%s\xe2\x80\xa6", s);
        free(s);
        s = n;
    }
    char *q = xmalloc(strlen(s) * 2 + 3), *o = q;
    *o++ = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o++ = '"';
    *o = '\0';
    free(s);
    return q;
}

static char *labels_text(const struct servin_container *c)
{
    json_t *labels = json_object_get(json_object_get(c->config, "Config"), "Labels");
    const char *k;
    json_t *v;
    char *s = xstrdup("");
    json_object_foreach (labels, k, v) {
        char *n =
            xasprintf("%s%s%s=%s", s, *s ? "," : "", k, json_string_value(v) ? json_string_value(v) : "");
        free(s);
        s = n;
    }
    return s;
}

/* Docker's PORTS column: "0.0.0.0:8080->80/tcp, 443/tcp". */
static char *ports_text(struct servin_store *store, const struct servin_container *c)
{
    json_t *ports = servin_network_ports_json(store, c->id);
    char *s = xstrdup("");
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p) {
        char *n = xasprintf("%s%s%s:%lld->%lld/%s", s, *s ? ", " : "", json_string_value(json_object_get(p, "IP")),
                            (long long)json_integer_value(json_object_get(p, "PublicPort")),
                            (long long)json_integer_value(json_object_get(p, "PrivatePort")),
                            json_string_value(json_object_get(p, "Type")));
        free(s);
        s = n;
    }
    json_decref(ports);
    return s;
}

/* The row ps prints, as the object --format templates see. */
static json_t *ps_row(struct servin_store *store, const struct servin_container *c, bool no_trunc)
{
    _cleanup_free_ char *ports = ports_text(store, c);
    _cleanup_free_ char *status = servin_container_status_text(c);
    _cleanup_free_ char *command = command_text(c, !no_trunc);
    _cleanup_free_ char *running_for = human_ago(c->created);
    _cleanup_free_ char *labels = labels_text(c);
    time_t secs = (time_t)(c->created / 1000000000);
    struct tm tm;
    char created_at[64];
    gmtime_r(&secs, &tm);
    strftime(created_at, sizeof(created_at), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
    _cleanup_free_ char *id = no_trunc ? xstrdup(c->id) : xstrndup(c->id, 12);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", id, "Image",
                     c->image_ref ? c->image_ref : c->image_id, "Command", command, "CreatedAt", created_at,
                     "RunningFor", running_for, "Ports", ports, "State", servin_container_state_name(c->state),
                     "Status", status, "Size", "", "Names", c->name, "Labels", labels, "Mounts", "",
                     "Networks", "");
}

/* ---- filters: values of one key are alternatives, different keys must all match ---- */

struct ps_filter {
    char *key, *value;
};

static bool matches_all(struct servin_store *store, const struct servin_container *c, struct ps_filter *fs,
                        size_t nf)
{
    for (size_t i = 0; i < nf; i++) {
        bool seen = false, any = false;
        for (size_t j = 0; j < nf; j++) {
            if (strcmp(fs[j].key, fs[i].key) != 0)
                continue;
            if (j < i) {
                seen = true; /* this key was judged already */
                break;
            }
            any = any || servin_container_filter_match(store, c, fs[j].key, fs[j].value);
        }
        if (!seen && !any)
            return false;
    }
    return true;
}

/* A "table ..." template goes through cli_table, so its columns line up as Docker's tabwriter does. */
static int add_rendered(struct cli_table *t, const char *format, json_t *row, struct servin_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return servin_error_errno(err, errno, "render the table");
    int r = row ? cli_format_render(format, row, m, err) : (cli_format_table_header(format, m), 0);
    fclose(m);
    while (len && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (r == 0)
        cli_table_add(t, "%s", buf);
    free(buf);
    return r;
}

static const char *const filter_keys[] = {"status", "name", "id", "label", "exited", "ancestor", "health"};

int cmd_ps(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, 0, 'a'},          {"quiet", no_argument, 0, 'q'},
        {"last", required_argument, 0, 'n'},   {"latest", no_argument, 0, 'l'},
        {"no-trunc", no_argument, 0, 'T'},     {"filter", required_argument, 0, 'f'},
        {"format", required_argument, 0, 'F'}, {"size", no_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},         {0}};
    bool all = false, quiet = false, no_trunc = false, size = false;
    long last = -1;
    const char *format = NULL;
    struct ps_filter filters[32];
    size_t nf = 0;
    int c, code = 0;
    while ((c = cli_getopt(ctx, argc, argv, "aqn:lf:sh", longopts)) != -1) {
        switch (c) {
        case 'h':
            code = 0;
            goto out;
        case 'a':
            all = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'n':
            last = strtol(optarg, NULL, 10);
            break;
        case 'l':
            last = 1;
            break;
        case 'T':
            no_trunc = true;
            break;
        case 'F':
            format = optarg;
            break;
        case 's':
            size = true;
            break;
        case 'f': {
            const char *eq = strchr(optarg, '=');
            size_t k;
            for (k = 0; eq && k < sizeof(filter_keys) / sizeof(filter_keys[0]); k++)
                if (strlen(filter_keys[k]) == (size_t)(eq - optarg) &&
                    strncmp(optarg, filter_keys[k], (size_t)(eq - optarg)) == 0)
                    break;
            if (!eq || k == sizeof(filter_keys) / sizeof(filter_keys[0])) {
                code = cli_failf(
                    "invalid filter '%s': use status=, name=, id=, label=, exited=, ancestor= or health=",
                    optarg);
                goto out;
            }
            if (strncmp(optarg, "health=", 7) == 0 && strcmp(eq + 1, "starting") != 0 &&
                strcmp(eq + 1, "healthy") != 0 && strcmp(eq + 1, "unhealthy") != 0 &&
                strcmp(eq + 1, "none") != 0) {
                code =
                    cli_failf("invalid filter 'health=%s': use starting, healthy, unhealthy or none", eq + 1);
                goto out;
            }
            if (nf == sizeof(filters) / sizeof(filters[0])) {
                code = cli_failf("too many filters");
                goto out;
            }
            filters[nf].key = xstrndup(optarg, (size_t)(eq - optarg));
            filters[nf].value = xstrdup(eq + 1);
            nf++;
            break;
        }
        default:
            code = CLI_EXIT_USAGE;
            goto out;
        }
    }
    if (optind < argc) {
        code = cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
        goto out;
    }
    struct servin_store *store = cli_store(ctx);
    if (!store) {
        code = CLI_EXIT_FAILURE;
        goto out;
    }
    struct servin_error err = {0};
    struct servin_container *list = NULL;
    size_t n = 0;
    if (servin_container_list(store, &list, &n, &err) < 0) {
        code = cli_fail(&err);
        goto out;
    }
    if (format && strcmp(format, "table") == 0)
        format = NULL; /* the default table */
    bool json_lines = format && strcmp(format, "json") == 0;
    bool table_fmt = format && strncmp(format, "table ", 6) == 0;
    struct cli_table *t = NULL;
    if (table_fmt && !quiet) {
        t = cli_table_new();
        add_rendered(t, format, NULL, &err);
    }
    if (!format && !quiet) {
        t = cli_table_new();
        cli_table_add(t, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES%s", size ? "\tSIZE" : "");
    }
    long shown = 0;
    /* A filter on status or exited looks at every container, as does -a and -n. */
    bool every = all || last >= 0;
    for (size_t i = 0; i < nf; i++)
        if (strcmp(filters[i].key, "status") == 0 || strcmp(filters[i].key, "exited") == 0)
            every = true;
    for (size_t i = 0; i < n && (last < 0 || shown < last); i++) {
        struct servin_container *ct = &list[i];
        servin_container_tidy(store, ct);
        if (!every && !servin_container_is_active(ct))
            continue;
        if (!matches_all(store, ct, filters, nf))
            continue;
        shown++;
        json_t *row = ps_row(store, ct, no_trunc);
        if (size && !quiet) {
            /* Docker's "2B (virtual 1.98MB)": what the container wrote, and with its image. */
            uint64_t rw = 0, root_fs = 0;
            struct servin_error serr = {0};
            if (servin_container_size(store, ct, &rw, &root_fs, &serr) == 0) {
                _cleanup_free_ char *a = servin_stats_bytes_decimal((double)rw);
                _cleanup_free_ char *b = servin_stats_bytes_decimal((double)root_fs);
                _cleanup_free_ char *text = xasprintf("%s (virtual %s)", a, b);
                json_object_set_new(row, "Size", json_string(text));
            }
        }
        if (quiet) {
            printf("%s\n", json_string_value(json_object_get(row, "ID")));
        } else if (json_lines) {
            json_dumpf(row, stdout, JSON_COMPACT);
            fputc('\n', stdout);
        } else if (format) {
            if ((table_fmt ? add_rendered(t, format, row, &err)
                           : cli_format_render(format, row, stdout, &err)) < 0) {
                json_decref(row);
                code = cli_fail(&err);
                break;
            }
        } else {
            cli_table_add(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s%s%s", json_string_value(json_object_get(row, "ID")),
                          json_string_value(json_object_get(row, "Image")),
                          json_string_value(json_object_get(row, "Command")),
                          json_string_value(json_object_get(row, "RunningFor")),
                          json_string_value(json_object_get(row, "Status")),
                          json_string_value(json_object_get(row, "Ports")), ct->name, size ? "\t" : "",
                          size ? json_string_value(json_object_get(row, "Size")) : "");
        }
        json_decref(row);
    }
    if (t)
        cli_table_flush(t, stdout);
    servin_containers_free(list, n);
out:
    for (size_t i = 0; i < nf; i++) {
        free(filters[i].key);
        free(filters[i].value);
    }
    return code;
}

/* ---- inspect ---- */

int cmd_container_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, 0, 'f'},
                                             {"type", required_argument, 0, 1},
                                             {"size", no_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    const char *format = NULL, *type = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "f:sh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'f')
            format = optarg;
        else if (c == 1)
            type = optarg;
    }
    if (optind >= argc)
        return cli_usage_error(ctx, "\"%s\" requires at least 1 argument.", ctx->cmd->path);
    if (type && strcmp(type, "container") != 0 && strcmp(type, "image") != 0)
        return cli_failf("\"%s\" is not a valid value for --type: use container or image", type);
    if (type && strcmp(type, "image") == 0) {
        optind = 0;
        return cmd_image_inspect(ctx, argc, argv);
    }
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;

    json_t *all = json_array();
    json_t *missing = json_array();
    for (int i = optind; i < argc; i++) {
        struct servin_error err = {0};
        struct servin_container ct = {0};
        if (servin_container_get(store, argv[i], &ct, &err) < 0) {
            json_array_append_new(missing, json_string(argv[i]));
            continue;
        }
        json_array_append_new(all, servin_container_inspect_json(store, &ct));
        servin_container_clear(&ct);
    }
    /* `servin inspect NAME` with no container of that name looks at images, as Docker does;
     * `container inspect` does not. The dispatcher hands us argv inside the whole command line, so
     * the word before ours tells which form was typed. */
    bool grouped =
        argv > ctx->argv && (strcmp(argv[-1], "container") == 0 || strcmp(argv[-1], "containers") == 0);
    if (json_array_size(all) == 0 && !type && !grouped) {
        json_decref(all);
        json_decref(missing);
        optind = 0;
        return cmd_image_inspect(ctx, argc, argv);
    }
    int code = 0;
    size_t i;
    json_t *j;
    json_array_foreach (missing, i, j) {
        cli_failf("No such container: %s", json_string_value(j));
        code = 1;
    }
    int r = cli_print_inspect(all, format);
    json_decref(all);
    json_decref(missing);
    return r ? r : code;
}
