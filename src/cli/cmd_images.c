/* cli/cmd_images.c — `servin images`, `image inspect`, `history`, `tag`, `rmi` and `image prune`. */
#include <fnmatch.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/image.h"

#define NONE "<none>"

static const char *hex_of(const char *id)
{
    return strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
}

/* The 12-hex short id Docker shows, or the full "sha256:..." with --no-trunc. */
static char *show_id(const char *id, bool no_trunc)
{
    return no_trunc ? xstrdup(id) : xstrndup(hex_of(id), 12);
}

/* Docker's CreatedAt: "2024-01-02 03:04:05 +0000 UTC". */
static char *created_at(long long t)
{
    if (t < 0)
        return xstrdup("");
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[64];
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
    return xstrdup(buf);
}

static char *human_since(long long t)
{
    return t < 0 ? xstrdup("N/A") : cli_human_since(t);
}

static bool parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
        *out = false;
        return true;
    }
    return false;
}

/* Go-template rows; a "table ..." template gets a header and aligned columns, as Docker prints it. */
struct tmpl_out {
    const char *format;
    struct cli_table *table;
};

static void tmpl_begin(struct tmpl_out *t, const char *format)
{
    t->format = format;
    t->table = strncmp(format, "table", 5) == 0 ? cli_table_new() : NULL;
    if (!t->table)
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    cli_format_table_header(format, mem);
    fclose(mem);
    buf[strcspn(buf, "\n")] = '\0';
    cli_table_add(t->table, "%s", buf);
    free(buf);
}

static int tmpl_row(struct tmpl_out *t, json_t *row, struct servin_error *err)
{
    if (!t->table)
        return cli_format_render(t->format, row, stdout, err);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    int ret = cli_format_render(t->format, row, mem, err);
    fclose(mem);
    if (ret == 0) {
        buf[strcspn(buf, "\n")] = '\0';
        cli_table_add(t->table, "%s", buf);
    }
    free(buf);
    return ret;
}

static void tmpl_end(struct tmpl_out *t)
{
    if (t->table)
        cli_table_flush(t->table, stdout);
    t->table = NULL;
}

/* ---- images / image ls ---- */

struct ls_opts {
    bool quiet, digests, no_trunc;
    int dangling; /* -1 any, 0 tagged only, 1 untagged only */
    char **refs;  /* reference patterns, any may match */
    size_t n_refs;
    const char *format;
};

/* A row of the listing: one per tag, or one for an image without tags. */
struct ls_row {
    const struct servin_image_summary *img;
    char *repo; /* familiar */
    char *tag;
    char *digest;
};

static bool glob_any(const char *pattern, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && fnmatch(pattern, names[i], FNM_PATHNAME) == 0)
            return true;
    return false;
}

/* Docker matches the familiar "busybox:latest" and "busybox"; the full names match too. */
static bool ref_matches(const struct ls_opts *o, const char *full_tag)
{
    if (o->n_refs == 0)
        return true;
    _cleanup_free_ char *fam = servin_image_familiar(full_tag);
    _cleanup_free_ char *fam_repo = servin_image_repo_of(fam);
    _cleanup_free_ char *full_repo = servin_image_repo_of(full_tag);
    const char *names[] = {fam, fam_repo, full_tag, full_repo};
    for (size_t i = 0; i < o->n_refs; i++)
        if (glob_any(o->refs[i], names, 4))
            return true;
    return false;
}

/* The repo digest recorded for this repository, as Docker's DIGEST column shows it. */
static char *digest_for_repo(const struct servin_image_summary *img, const char *full_repo)
{
    for (char **d = img->repo_digests; d && *d; d++) {
        _cleanup_free_ char *r = servin_image_repo_of(*d);
        if (strcmp(r, full_repo) == 0)
            return xstrdup(strchr(*d, '@') + 1);
    }
    return xstrdup(NONE);
}

static void add_row(struct ls_row **rows, size_t *n, const struct servin_image_summary *img, char *repo,
                    char *tag, char *digest)
{
    *rows = xreallocarray(*rows, *n + 1, sizeof(**rows));
    (*rows)[(*n)++] = (struct ls_row){img, repo, tag, digest};
}

static void rows_for_image(const struct ls_opts *o, const struct servin_image_summary *img,
                           struct ls_row **rows, size_t *n)
{
    bool tagged = img->tags && img->tags[0];
    if (o->dangling == 1 && tagged)
        return;
    if (o->dangling == 0 && !tagged)
        return;
    if (!tagged) {
        /* Reference filters name tags, so an untagged image never matches one. */
        if (o->n_refs)
            return;
        /* Docker names an untagged image by the repository of its repo digest, when it has one. */
        if (img->repo_digests && img->repo_digests[0]) {
            _cleanup_free_ char *full_repo = servin_image_repo_of(img->repo_digests[0]);
            _cleanup_free_ char *fam = servin_image_familiar(img->repo_digests[0]);
            add_row(rows, n, img, servin_image_repo_of(fam), xstrdup(NONE), digest_for_repo(img, full_repo));
        } else {
            add_row(rows, n, img, xstrdup(NONE), xstrdup(NONE), xstrdup(NONE));
        }
        return;
    }
    for (char **t = img->tags; *t; t++) {
        if (!ref_matches(o, *t))
            continue;
        _cleanup_free_ char *fam = servin_image_familiar(*t);
        _cleanup_free_ char *full_repo = servin_image_repo_of(*t);
        char *repo = servin_image_repo_of(fam);
        char *tag = xstrdup(fam + strlen(repo) + (fam[strlen(repo)] == ':'));
        add_row(rows, n, img, repo, tag, digest_for_repo(img, full_repo));
    }
}

static json_t *row_json(const struct ls_row *r, bool no_trunc)
{
    long long t = servin_time_parse_rfc3339(r->img->created);
    _cleanup_free_ char *id = show_id(r->img->id, no_trunc);
    _cleanup_free_ char *at = created_at(t);
    _cleanup_free_ char *since = human_since(t);
    _cleanup_free_ char *size = cli_human_size((double)r->img->size);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Containers", "N/A", "CreatedAt", at,
                     "CreatedSince", since, "Digest", r->digest, "ID", id, "Repository", r->repo,
                     "SharedSize", "N/A", "Size", size, "Tag", r->tag, "UniqueSize", "N/A", "VirtualSize",
                     size);
}

static int print_rows(const struct ls_opts *o, struct ls_row *rows, size_t n)
{
    struct servin_error err = {0};
    if (o->quiet) {
        /* One line per image, even when it has several tags. */
        for (size_t i = 0; i < n; i++) {
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = rows[j].img == rows[i].img;
            if (seen)
                continue;
            _cleanup_free_ char *id = show_id(rows[i].img->id, o->no_trunc);
            printf("%s\n", id);
        }
        return 0;
    }
    if (o->format && strcmp(o->format, "json") == 0) {
        for (size_t i = 0; i < n; i++) {
            json_t *j = row_json(&rows[i], o->no_trunc);
            json_dumpf(j, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(j);
        }
        return 0;
    }
    if (o->format) {
        struct tmpl_out t;
        int ret = 0;
        tmpl_begin(&t, o->format);
        for (size_t i = 0; i < n && ret == 0; i++) {
            json_t *j = row_json(&rows[i], o->no_trunc);
            ret = tmpl_row(&t, j, &err);
            json_decref(j);
        }
        tmpl_end(&t);
        return ret < 0 ? cli_fail(&err) : 0;
    }
    struct cli_table *t = cli_table_new();
    if (o->digests)
        cli_table_add(t, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE");
    else
        cli_table_add(t, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE");
    for (size_t i = 0; i < n; i++) {
        long long created = servin_time_parse_rfc3339(rows[i].img->created);
        _cleanup_free_ char *id = show_id(rows[i].img->id, o->no_trunc);
        _cleanup_free_ char *since = human_since(created);
        _cleanup_free_ char *size = cli_human_size((double)rows[i].img->size);
        if (o->digests)
            cli_table_add(t, "%s\t%s\t%s\t%s\t%s\t%s", rows[i].repo, rows[i].tag, rows[i].digest, id, since,
                          size);
        else
            cli_table_add(t, "%s\t%s\t%s\t%s\t%s", rows[i].repo, rows[i].tag, id, since, size);
    }
    cli_table_flush(t, stdout);
    return 0;
}

static int add_filter(struct cli_ctx *ctx, struct ls_opts *o, const char *text)
{
    const char *eq = strchr(text, '=');
    if (!eq)
        return cli_usage_error(ctx, "bad format of filter (expected name=value): %s", text);
    size_t klen = (size_t)(eq - text);
    const char *value = eq + 1;
    if (klen == 8 && strncmp(text, "dangling", 8) == 0) {
        bool b;
        if (!parse_bool(value, &b))
            return cli_failf("invalid filter 'dangling=%s': use true or false", value);
        o->dangling = b ? 1 : 0;
        return 0;
    }
    if (klen == 9 && strncmp(text, "reference", 9) == 0) {
        o->refs = xreallocarray(o->refs, o->n_refs + 1, sizeof(char *));
        o->refs[o->n_refs++] = xstrdup(value);
        return 0;
    }
    return cli_failf("invalid filter '%.*s': images accept dangling=true|false and reference=PATTERN",
                     (int)klen, text);
}

int cmd_images_ls(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, 0, 'a'},          {"digests", no_argument, 0, 1},
        {"filter", required_argument, 0, 'f'}, {"format", required_argument, 0, 2},
        {"no-trunc", no_argument, 0, 3},       {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0}};
    struct ls_opts o = {.dangling = -1};
    int c, code = 0;
    while ((c = cli_getopt(ctx, argc, argv, "af:qh", longopts)) != -1) {
        if (c == 'h' || c == '?')
            code = c == 'h' ? 0 : CLI_EXIT_USAGE;
        else if (c == 1)
            o.digests = true;
        else if (c == 'f')
            code = add_filter(ctx, &o, optarg);
        else if (c == 2)
            o.format = optarg;
        else if (c == 3)
            o.no_trunc = true;
        else if (c == 'q')
            o.quiet = true;
        if (code || c == 'h')
            goto out;
    }
    if (argc - optind > 1) {
        code = cli_usage_error(ctx, "\"%s\" accepts at most 1 argument.", ctx->cmd->path);
        goto out;
    }
    /* `images busybox` is Docker's shorthand for --filter reference=busybox. */
    if (optind < argc) {
        o.refs = xreallocarray(o.refs, o.n_refs + 1, sizeof(char *));
        o.refs[o.n_refs++] = xstrdup(argv[optind]);
    }
    struct servin_store *store = cli_store(ctx);
    if (!store) {
        code = CLI_EXIT_FAILURE;
        goto out;
    }
    struct servin_error err = {0};
    struct servin_image_summary *list = NULL;
    size_t n = 0;
    if (servin_image_list(store, &list, &n, &err) < 0) {
        code = cli_fail(&err);
        goto out;
    }
    struct ls_row *rows = NULL;
    size_t n_rows = 0;
    for (size_t i = 0; i < n; i++)
        rows_for_image(&o, &list[i], &rows, &n_rows);
    code = print_rows(&o, rows, n_rows);
    for (size_t i = 0; i < n_rows; i++) {
        free(rows[i].repo);
        free(rows[i].tag);
        free(rows[i].digest);
    }
    free(rows);
    servin_image_summaries_free(list, n);
out:
    for (size_t i = 0; i < o.n_refs; i++)
        free(o.refs[i]);
    free(o.refs);
    return code;
}

/* ---- image inspect ---- */

int cmd_image_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, 0, 'f'},
                                             {"type", required_argument, 0, 1},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    const char *format = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "f:h", longopts)) != -1) {
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
        char id[SERVIN_DIGEST_MAX];
        json_t *j = NULL;
        if (servin_image_resolve(store, argv[i], id, &err) < 0 || servin_image_inspect_json(store, id, &j, &err) < 0) {
            cli_fail(&err);
            /* Docker exits 1 when an object is missing, after printing the ones it found. */
            code = 1;
            continue;
        }
        json_array_append_new(all, j);
    }
    int r = cli_print_inspect(all, format);
    json_decref(all);
    return r ? r : code;
}

/* ---- history ---- */

struct history_opts {
    bool human, no_trunc, quiet;
    const char *format;
};

/* Docker's CREATED BY column: tabs as spaces, cut to 45 characters with an ellipsis. */
static char *created_by(const char *s, bool no_trunc)
{
    char *out = xstrdup(s ? s : "");
    for (char *p = out; *p; p++)
        if (*p == '\t' || *p == '\n')
            *p = ' ';
    if (!no_trunc && strlen(out) > 45) {
        out = xrealloc(out, 48);
        strcpy(out + 44, "…");
    }
    return out;
}

static json_t *history_row(const char *id, json_t *entry, uint64_t size, const struct history_opts *o)
{
    const char *created = json_string_value(json_object_get(entry, "created"));
    long long t = servin_time_parse_rfc3339(created);
    _cleanup_free_ char *since = human_since(t);
    _cleanup_free_ char *by =
        created_by(json_string_value(json_object_get(entry, "created_by")), o->no_trunc);
    _cleanup_free_ char *hsize =
        o->human ? cli_human_size((double)size) : xasprintf("%llu", (unsigned long long)size);
    const char *comment = json_string_value(json_object_get(entry, "comment"));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Comment", comment ? comment : "", "CreatedAt",
                     created ? created : "", "CreatedBy", by, "CreatedSince",
                     o->human ? since : (created ?: ""), "ID", id, "Size", hsize);
}

static int print_history(const char *image_id, json_t *history, const struct history_opts *o)
{
    size_t n = json_array_size(history);
    struct cli_table *t = o->format || o->quiet ? NULL : cli_table_new();
    if (t)
        cli_table_add(t, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT");
    struct tmpl_out tmpl = {0};
    if (o->format && strcmp(o->format, "json") != 0)
        tmpl_begin(&tmpl, o->format);
    int code = 0;
    for (size_t k = n; k-- > 0 && code == 0;) {
        _cleanup_free_ char *id = k == n - 1 ? show_id(image_id, o->no_trunc) : xstrdup("<missing>");
        json_t *entry = json_array_get(history, k);
        json_t *row = history_row(id, entry, (uint64_t)json_integer_value(json_object_get(entry, "Size")), o);
        struct servin_error err = {0};
        if (o->quiet)
            printf("%s\n", id);
        else if (o->format && strcmp(o->format, "json") == 0) {
            json_dumpf(row, stdout, JSON_COMPACT);
            fputc('\n', stdout);
        } else if (o->format) {
            if (tmpl_row(&tmpl, row, &err) < 0)
                code = cli_fail(&err);
        } else {
            cli_table_add(t, "%s\t%s\t%s\t%s\t%s", id,
                          json_string_value(json_object_get(row, "CreatedSince")),
                          json_string_value(json_object_get(row, "CreatedBy")),
                          json_string_value(json_object_get(row, "Size")),
                          json_string_value(json_object_get(row, "Comment")));
        }
        json_decref(row);
    }
    if (t)
        cli_table_flush(t, stdout);
    tmpl_end(&tmpl);
    return code;
}

int cmd_image_history(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, 0, 1}, {"human", optional_argument, 0, 'H'},
        {"no-trunc", no_argument, 0, 2},     {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},       {0}};
    struct history_opts o = {.human = true};
    int c;
    /* "H::" so that cobra's "-H=false" works too. */
    while ((c = cli_getopt(ctx, argc, argv, "H::qh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 1)
            o.format = optarg;
        else if (c == 2)
            o.no_trunc = true;
        else if (c == 'q')
            o.quiet = true;
        else if (c == 'H' && optarg && !parse_bool(optarg + (*optarg == '='), &o.human))
            return cli_usage_error(ctx, "invalid argument \"%s\" for \"-H, --human\": use true or false",
                                   optarg + (*optarg == '='));
    }
    if (argc - optind != 1)
        return cli_usage_error(ctx, "\"%s\" requires exactly 1 argument.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    char id[SERVIN_DIGEST_MAX];
    json_t *history = NULL;
    if (servin_image_resolve(store, argv[optind], id, &err) < 0 ||
        servin_image_history(store, id, &history, &err) < 0)
        return cli_fail(&err);
    int code = print_history(id, history, &o);
    json_decref(history);
    return code;
}

/* ---- tag ---- */

int cmd_image_tag(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1)
        return c == 'h' ? 0 : CLI_EXIT_USAGE;
    if (argc - optind != 2)
        return cli_usage_error(ctx, "\"%s\" requires exactly 2 arguments.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    char id[SERVIN_DIGEST_MAX];
    if (servin_image_resolve(store, argv[optind], id, &err) < 0 ||
        servin_image_tag(store, id, argv[optind + 1], &err) < 0)
        return cli_fail(&err);
    return 0;
}

/* ---- rmi / image rm ---- */

static void print_action(void *ctx, const char *action, const char *what)
{
    FILE *out = ctx;
    fprintf(out, "%s: %s\n", action, what);
}

int cmd_image_rm(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"force", no_argument, 0, 'f'}, {"no-prune", no_argument, 0, 1}, {"help", no_argument, 0, 'h'}, {0}};
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
    /* Like Docker, go on past a failed name and report failure at the end. */
    for (int i = optind; i < argc; i++) {
        struct servin_error err = {0};
        if (servin_image_remove(store, argv[i], force, print_action, stdout, &err) < 0)
            code = cli_fail(&err);
    }
    return code;
}

/* ---- image prune ---- */

struct prune_out {
    char *text;
    size_t len;
};

static void collect_action(void *ctx, const char *action, const char *what)
{
    struct prune_out *p = ctx;
    /* Prune prints Docker's lower-case "untagged:" and "deleted:". */
    _cleanup_free_ char *line = xasprintf("%c%s: %s\n", action[0] | 0x20, action + 1, what);
    p->text = xrealloc(p->text, p->len + strlen(line) + 1);
    strcpy(p->text + p->len, line);
    p->len += strlen(line);
}

/* Docker asks even when stdin is a pipe, so `echo y | servin image prune` works; EOF means no. */
static bool confirm(const char *question)
{
    if (isatty(STDIN_FILENO))
        return cli_confirm(question);
    fprintf(stderr, "%s [y/N] ", question);
    char line[16];
    bool yes = fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y');
    fputc('\n', stderr);
    return yes;
}

int cmd_image_prune(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, 0, 'a'}, {"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
    bool all = false, force = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "afh", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        if (c == 'a')
            all = true;
        else if (c == 'f')
            force = true;
    }
    if (optind < argc)
        return cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    if (!force &&
        !confirm(all ? "WARNING! This will remove all images without at least one container associated to "
                       "them.\nAre you sure you want to continue?"
                     : "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"))
        return 0;
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    struct prune_out out = {0};
    uint64_t reclaimed = 0;
    int ret = servin_image_prune(store, all, collect_action, &out, &reclaimed, &err);
    if (out.len)
        printf("Deleted Images:\n%s\n", out.text);
    free(out.text);
    if (ret < 0)
        return cli_fail(&err);
    _cleanup_free_ char *size = cli_human_size((double)reclaimed);
    printf("Total reclaimed space: %s\n", size);
    return 0;
}
