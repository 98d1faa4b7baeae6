/* cli/cmd_volume.c — `volume create|ls|inspect|rm|prune|rm-all`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/volume.h"

/* "k=v" into obj; a bare "k" gets an empty value, as Docker's --label does. */
static int add_kv(struct cli_ctx *ctx, json_t *obj, const char *flag, const char *text, bool need_value)
{
    const char *eq = strchr(text, '=');
    if (eq == text || !*text || (need_value && !eq))
        return cli_usage_error(ctx, "invalid argument \"%s\" for \"%s\" flag: expected key=value", text,
                               flag);
    _cleanup_free_ char *k = eq ? xstrndup(text, (size_t)(eq - text)) : xstrdup(text);
    json_object_set_new(obj, k, json_string(eq ? eq + 1 : ""));
    return 0;
}

int cmd_volume_create(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"driver", required_argument, 0, 'd'}, {"label", required_argument, 0, 'l'},
        {"opt", required_argument, 0, 'o'},    {"name", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},         {0}};
    const char *driver = NULL, *name = NULL;
    json_t *labels = json_object(), *opts = json_object();
    int c, code = 0;
    while (code == 0 && (c = cli_getopt(ctx, argc, argv, "d:l:o:h", longopts)) != -1) {
        if (c == 'h' || c == '?')
            code = c == 'h' ? -1 : CLI_EXIT_USAGE;
        else if (c == 'd')
            driver = optarg;
        else if (c == 'l')
            code = add_kv(ctx, labels, "--label", optarg, false);
        else if (c == 'n')
            name = optarg;
        else if (c == 'o') {
            /* Docker takes one key=value per --opt; "type=tmpfs,o=size=1m" would be one value. */
            code = add_kv(ctx, opts, "--opt", optarg, true);
        }
    }
    if (code == 0 && argc - optind > 1)
        code = cli_usage_error(ctx, "\"%s\" accepts at most 1 argument.", ctx->cmd->path);
    if (code == 0 && optind < argc) {
        if (name && strcmp(name, argv[optind]) != 0)
            code = cli_failf("conflicting options: the volume name is given both as --name and as NAME");
        name = argv[optind];
    }
    struct servin_store *store = code == 0 ? cli_store(ctx) : NULL;
    if (code == 0 && !store)
        code = CLI_EXIT_FAILURE;
    if (code == 0) {
        struct servin_volume_create_opts o = {
            .name = name, .driver = driver, .labels = labels, .options = opts};
        struct servin_volume v = {0};
        struct servin_error err = {0};
        bool created = false;
        if (servin_volume_create(store, &o, &v, &created, &err) < 0)
            code = cli_fail(&err);
        else
            printf("%s\n", v.name);
        servin_volume_clear(&v);
    }
    json_decref(labels);
    json_decref(opts);
    return code < 0 ? 0 : code;
}

/* ---- ls ---- */

struct filters {
    int dangling; /* -1 any, 0 in use only, 1 unused only */
    json_t *labels, *names, *drivers;
};

static bool label_match(json_t *labels, json_t *wanted)
{
    size_t i;
    json_t *w;
    json_array_foreach (wanted, i, w) {
        const char *text = json_string_value(w);
        const char *eq = strchr(text, '=');
        _cleanup_free_ char *k = eq ? xstrndup(text, (size_t)(eq - text)) : xstrdup(text);
        const char *have = json_string_value(json_object_get(labels, k));
        if (!have || (eq && strcmp(have, eq + 1) != 0))
            return false;
    }
    return true;
}

static bool any_match(json_t *alternatives, const char *value, bool substring)
{
    if (json_array_size(alternatives) == 0)
        return true;
    size_t i;
    json_t *a;
    json_array_foreach (alternatives, i, a) {
        const char *s = json_string_value(a);
        if (substring ? strstr(value, s) != NULL : strcmp(value, s) == 0)
            return true;
    }
    return false;
}

static int parse_filter(struct cli_ctx *ctx, struct filters *f, const char *text, bool prune)
{
    const char *eq = strchr(text, '=');
    if (!eq)
        return cli_usage_error(ctx, "bad format of filter (expected name=value): %s", text);
    _cleanup_free_ char *key = xstrndup(text, (size_t)(eq - text));
    const char *val = eq + 1;
    if (strcmp(key, "label") == 0)
        json_array_append_new(f->labels, json_string(val));
    else if (!prune && strcmp(key, "name") == 0)
        json_array_append_new(f->names, json_string(val));
    else if (!prune && strcmp(key, "driver") == 0)
        json_array_append_new(f->drivers, json_string(val));
    else if (!prune && strcmp(key, "dangling") == 0) {
        if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
            f->dangling = 1;
        else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
            f->dangling = 0;
        else
            return cli_failf("invalid filter 'dangling=%s': use true or false", val);
    } else
        return cli_failf("invalid filter '%s': volume %s filters %s", key, prune ? "prune" : "ls",
                         prune ? "by label only" : "by dangling, label, name and driver");
    return 0;
}

static bool in_use(struct servin_store *store, const char *name)
{
    _cleanup_strv_ char **users = NULL;
    struct servin_error err = {0};
    if (servin_volume_users(store, name, &users, &err) < 0)
        return true; /* when in doubt, it is in use */
    return users[0] != NULL;
}

static bool filter_match(struct servin_store *store, const struct filters *f, const struct servin_volume *v)
{
    if (!label_match(v->labels, f->labels) || !any_match(f->names, v->name, true) ||
        !any_match(f->drivers, v->driver, false))
        return false;
    if (f->dangling >= 0 && in_use(store, v->name) == (f->dangling == 1))
        return false;
    return true;
}

static json_t *ls_row(const struct servin_volume *v)
{
    json_t *row = servin_volume_to_json(v);
    _cleanup_free_ char *labels = xstrdup("");
    const char *k;
    json_t *val;
    json_object_foreach (v->labels, k, val) {
        char *next = xasprintf("%s%s%s=%s", labels, *labels ? "," : "", k, json_string_value(val));
        free(labels);
        labels = next;
    }
    json_object_set_new(row, "Labels", json_string(labels));
    json_object_set_new(row, "Size", json_string("N/A"));
    json_object_set_new(row, "Links", json_string("N/A"));
    return row;
}

static void filters_free(struct filters *f)
{
    json_decref(f->labels);
    json_decref(f->names);
    json_decref(f->drivers);
}

int cmd_volume_ls(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"quiet", no_argument, 0, 'q'},
                                             {"filter", required_argument, 0, 'f'},
                                             {"format", required_argument, 0, 1},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    struct filters f = {
        .dangling = -1, .labels = json_array(), .names = json_array(), .drivers = json_array()};
    const char *format = NULL;
    bool quiet = false;
    int c, code = 0;
    while (code == 0 && (c = cli_getopt(ctx, argc, argv, "qf:h", longopts)) != -1) {
        if (c == 'h' || c == '?')
            code = c == 'h' ? -1 : CLI_EXIT_USAGE;
        else if (c == 'q')
            quiet = true;
        else if (c == 'f')
            code = parse_filter(ctx, &f, optarg, false);
        else if (c == 1)
            format = optarg;
    }
    if (code == 0 && optind < argc)
        code = cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    struct servin_store *store = code == 0 ? cli_store(ctx) : NULL;
    if (code == 0 && !store)
        code = CLI_EXIT_FAILURE;
    struct servin_volume *list = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    if (code == 0 && servin_volume_list(store, &list, &n, &err) < 0)
        code = cli_fail(&err);
    if (code != 0) {
        filters_free(&f);
        return code < 0 ? 0 : code;
    }
    bool table = !quiet && (!format || strncmp(format, "table", 5) == 0);
    struct cli_table *t = table && !format ? cli_table_new() : NULL;
    if (t)
        cli_table_add(t, "DRIVER\tVOLUME NAME");
    else if (table)
        cli_format_table_header(format, stdout);
    for (size_t i = 0; i < n && code == 0; i++) {
        if (!filter_match(store, &f, &list[i]))
            continue;
        if (quiet) {
            printf("%s\n", list[i].name);
        } else if (t) {
            cli_table_add(t, "%s\t%s", list[i].driver, list[i].name);
        } else {
            json_t *row = ls_row(&list[i]);
            if (strcmp(format, "json") == 0) {
                json_dumpf(row, stdout, JSON_COMPACT);
                fputc('\n', stdout);
            } else if (cli_format_render(format, row, stdout, &err) < 0) {
                code = cli_fail(&err);
            }
            json_decref(row);
        }
    }
    if (t)
        cli_table_flush(t, stdout);
    servin_volumes_free(list, n);
    filters_free(&f);
    return code;
}

int cmd_volume_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
    const char *format = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "f:h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
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
        struct servin_volume v = {0};
        struct servin_error err = {0};
        if (servin_volume_get(store, argv[i], &v, &err) < 0) {
            cli_fail(&err);
            code = 1;
            continue;
        }
        json_array_append_new(all, servin_volume_to_json(&v));
        servin_volume_clear(&v);
    }
    int r = cli_print_inspect(all, format);
    json_decref(all);
    return r ? r : code;
}

int cmd_volume_rm(struct cli_ctx *ctx, int argc, char **argv)
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
        int r = servin_volume_remove(store, argv[i], NULL, &err);
        /* -f: a volume already gone is what was asked for. It never removes one in use. */
        if (r == -ENOENT && force)
            continue;
        if (r < 0) {
            cli_fail(&err);
            code = 1;
            continue;
        }
        printf("%s\n", argv[i]);
    }
    return code;
}

/* Remove the volumes that match and no container uses; print them and the space freed as Docker
 * does. all: every volume, in use or not, reporting each one refused (rm-all). */
static int remove_many(struct servin_store *store, const struct filters *f, bool all)
{
    struct servin_volume *list = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    if (servin_volume_list(store, &list, &n, &err) < 0)
        return cli_fail(&err);
    long long total = 0;
    int code = 0;
    bool header = false;
    for (size_t i = 0; i < n; i++) {
        if (!label_match(list[i].labels, f->labels))
            continue;
        if (!all && in_use(store, list[i].name))
            continue;
        long long size = 0;
        servin_error_clear(&err);
        int r = servin_volume_remove(store, list[i].name, &size, &err);
        if (r == -EBUSY && !all)
            continue; /* a container took it since we looked: it stays */
        if (r < 0) {
            cli_fail(&err);
            code = 1;
            continue;
        }
        if (!header && !all)
            printf("Deleted Volumes:\n");
        header = true;
        printf("%s\n", list[i].name);
        total += size;
    }
    servin_volumes_free(list, n);
    if (!all) {
        _cleanup_free_ char *human = cli_human_size((double)total);
        printf("%sTotal reclaimed space: %s\n", header ? "\n" : "", human);
    }
    return code;
}

static int prune_common(struct cli_ctx *ctx, int argc, char **argv, bool all)
{
    static const struct option longopts[] = {{"force", no_argument, 0, 'f'},
                                             {"filter", required_argument, 0, 'F'},
                                             {"all", no_argument, 0, 'a'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    struct filters f = {
        .dangling = -1, .labels = json_array(), .names = json_array(), .drivers = json_array()};
    bool force = false;
    int c, code = 0;
    while (code == 0 && (c = cli_getopt(ctx, argc, argv, all ? "fh" : "faF:h", longopts)) != -1) {
        if (c == 'h' || c == '?')
            code = c == 'h' ? -1 : CLI_EXIT_USAGE;
        else if (c == 'f')
            force = true;
        else if (c == 'F' && !all)
            code = parse_filter(ctx, &f, optarg, true);
        else if (c != 'a')
            code = cli_usage_error(ctx, "unknown flag for \"%s\"", ctx->cmd->path);
    }
    if (code == 0 && optind < argc)
        code = cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    const char *question =
        all ? "WARNING! This will remove all volumes not used by a container, and report the "
              "ones in use.\nAre you sure you want to continue?"
            : "WARNING! This will remove all local volumes not used by at least one container.\n"
              "Are you sure you want to continue?";
    if (code == 0 && !force) {
        if (!isatty(STDIN_FILENO))
            code =
                cli_failf("%s: not removing anything without confirmation: stdin is not a terminal, give -f",
                          ctx->cmd->path);
        else if (!cli_confirm(question))
            code = -1;
    }
    struct servin_store *store = code == 0 ? cli_store(ctx) : NULL;
    if (code == 0 && !store)
        code = CLI_EXIT_FAILURE;
    if (code == 0)
        code = remove_many(store, &f, all);
    filters_free(&f);
    return code < 0 ? 0 : code;
}

int cmd_volume_prune(struct cli_ctx *ctx, int argc, char **argv)
{
    return prune_common(ctx, argc, argv, false);
}

int cmd_volume_rm_all(struct cli_ctx *ctx, int argc, char **argv)
{
    return prune_common(ctx, argc, argv, true);
}
