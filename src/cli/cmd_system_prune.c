/* cli/cmd_system_prune.c — `servin system prune`, Docker's: stopped containers, unused networks,
 * dangling images (every unused one with -a), the build cache and, with --volumes, unused
 * volumes; --filter until= and label= (label!=) choose among them.
 *
 * Before any of that it releases what containers that no longer run still hold (a monitor killed
 * with its container, a `servin run` killed half-way through a start): runtime state, rootfs
 * mounts, pinned network namespaces with their veths, firewall rules, DNS entries and leases. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/image.h"
#include "servin/network.h"
#include "servin/size.h"
#include "servin/volume.h"

static int prune_containers(struct servin_store *store, const struct cli_prune_filters *f,
                            uint64_t *reclaimed)
{
    struct servin_error err = {0};
    struct servin_container *list = NULL;
    size_t n = 0;
    if (servin_container_list(store, &list, &n, &err) < 0)
        return cli_fail(&err);
    struct cli_section s = {"Deleted Containers", false};
    int code = 0;
    for (size_t i = 0; i < n; i++) {
        struct servin_container *c = &list[i];
        if (servin_container_is_active(c) || c->monitor_pid > 0 ||
            !cli_prune_matches(f, json_object_get(json_object_get(c->config, "Config"), "Labels"),
                               c->created))
            continue;
        uint64_t rw = 0, rootfs = 0;
        if (servin_container_size(store, c, &rw, &rootfs, &err) < 0)
            servin_error_clear(&err);
        if (servin_container_remove(store, c, false, &err) < 0) {
            code = cli_fail(&err);
            servin_error_clear(&err);
            continue;
        }
        *reclaimed += rw;
        cli_section_item(&s, c->id);
    }
    cli_section_end(&s);
    servin_containers_free(list, n);
    return code;
}

static bool image_selected(struct servin_store *store, const char *id, void *ctx)
{
    const struct cli_prune_filters *f = ctx;
    struct servin_error err = {0};
    json_t *config = NULL;
    if (servin_image_config(store, id, &config, &err) < 0)
        return false;
    struct servin_image_summary sum = {0};
    int64_t created = 0;
    if (servin_image_get(store, id, &sum, &err) == 0) {
        long long t = sum.created ? servin_time_parse_rfc3339(sum.created) : -1;
        created = t > 0 ? (int64_t)t * 1000000000LL : sum.added;
        servin_image_summary_clear(&sum);
    }
    bool ok = cli_prune_matches(f, json_object_get(json_object_get(config, "config"), "Labels"), created);
    json_decref(config);
    return ok;
}

static void image_action(void *ctx, const char *action, const char *what)
{
    struct cli_section *s = ctx;
    /* Prune prints Docker's lower-case "untagged:" and "deleted:". */
    _cleanup_free_ char *line = xasprintf("%c%s: %s", action[0] | 0x20, action + 1, what);
    cli_section_item(s, line);
}

static int prune_images(struct servin_store *store, bool all, const struct cli_prune_filters *f,
                        uint64_t *reclaimed)
{
    struct servin_error err = {0};
    struct cli_section s = {"Deleted Images", false};
    uint64_t freed = 0;
    bool filtered = f->has_until || json_array_size(f->labels) || json_array_size(f->no_labels);
    int ret = servin_image_prune_matching(store, all, filtered ? image_selected : NULL, (void *)f,
                                          image_action, &s, &freed, &err);
    cli_section_end(&s);
    *reclaimed += freed;
    return ret < 0 ? cli_fail(&err) : 0;
}

/* The build cache: <root>/build-cache/<key>.json, one file per cached step (build/state.c). They
 * carry no labels; their time is the file's. */
static int prune_build_cache(struct servin_store *store, const struct cli_prune_filters *f,
                             uint64_t *reclaimed)
{
    _cleanup_free_ char *dir = servin_store_path(store, "build-cache");
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : cli_failf("prune the build cache: open %s: %s", dir, strerror(errno));
    struct cli_section s = {"Deleted build cache objects", false};
    json_t *no_labels = json_object();
    struct dirent *e;
    int code = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        if (!cli_prune_matches(f, no_labels, mtime))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
            if (errno != ENOENT)
                code = cli_failf("prune the build cache: remove %s/%s: %s", dir, e->d_name, strerror(errno));
            continue;
        }
        *reclaimed += (uint64_t)st.st_size;
        _cleanup_free_ char *key = xstrndup(e->d_name, len - 5);
        cli_section_item(&s, key);
    }
    closedir(d);
    json_decref(no_labels);
    cli_section_end(&s);
    if (s.printed) {
        /* The layers only those entries kept are garbage now. */
        uint64_t freed = 0;
        struct servin_error err = {0};
        if (servin_store_gc_try(store, &freed, &err) == 0)
            *reclaimed += freed;
    }
    return code;
}

/* Docker asks even when stdin is a pipe, so `echo y | servin system prune` works; EOF means no. */
static bool confirm(const char *question)
{
    if (isatty(STDIN_FILENO))
        return cli_confirm(question);
    fprintf(stderr, "%s [y/N] ", question);
    char line[16];
    return fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y');
}

int cmd_system_prune(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, 0, 'a'},     {"force", no_argument, 0, 'f'},
        {"volumes", no_argument, 0, 'V'}, {"filter", required_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'},    {0}};
    struct cli_prune_filters f = CLI_PRUNE_FILTERS_INIT;
    bool all = false, force = false, volumes = false;
    int c, code = 0;
    while (code == 0 && (c = cli_getopt(ctx, argc, argv, "afh", longopts)) != -1) {
        if (c == 'h' || c == '?')
            code = c == 'h' ? -1 : CLI_EXIT_USAGE;
        else if (c == 'a')
            all = true;
        else if (c == 'f')
            force = true;
        else if (c == 'V')
            volumes = true;
        else if (c == 'F')
            code = cli_prune_filter_parse(&f, optarg);
    }
    if (code == 0 && optind < argc)
        code = cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    if (code == 0 && volumes && f.has_until)
        code = cli_failf("the \"until\" filter is not supported with \"--volumes\"");
    if (code == 0 && !force) {
        _cleanup_free_ char *q =
            xasprintf("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by "
                      "at least one "
                      "container\n%s%s\n%s\nAre you sure you want to continue?",
                      volumes ? "  - all volumes not used by at least one container\n" : "",
                      all ? "  - all images without at least one container associated to them"
                          : "  - all dangling images",
                      all ? "  - all build cache\n" : "  - unused build cache\n");
        if (!confirm(q))
            code = -1;
    }
    struct servin_store *store = code == 0 ? cli_store(ctx) : NULL;
    if (code == 0 && !store)
        code = CLI_EXIT_FAILURE;
    if (code != 0) {
        json_decref(f.labels);
        json_decref(f.no_labels);
        return code < 0 ? 0 : code;
    }
    struct servin_error err = {0};
    int cleaned = 0;
    if (servin_container_cleanup_orphans(store, &cleaned, &err) < 0)
        code = cli_fail(&err);
    uint64_t reclaimed = 0;
    int r = prune_containers(store, &f, &reclaimed);
    code = code ? code : r;
    r = cli_prune_networks(store, &f);
    code = code ? code : r;
    if (volumes) {
        r = cli_prune_volumes(store, &f, &reclaimed);
        code = code ? code : r;
    }
    r = prune_images(store, all, &f, &reclaimed);
    code = code ? code : r;
    r = prune_build_cache(store, &f, &reclaimed);
    code = code ? code : r;
    _cleanup_free_ char *human = cli_human_size((double)reclaimed);
    printf("Total reclaimed space: %s\n", human);
    cli_prune_filters_clear(&f);
    return code;
}
