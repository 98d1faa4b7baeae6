/* cli/prune.c — what the prune commands share: Docker's prune filters (until=, label=, label!=)
 * and the "Deleted X:" blocks, and the network and volume passes of `system prune` that
 * `network prune` uses as well. */
#include <errno.h>
#include <string.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/network.h"
#include "servin/volume.h"

void cli_prune_filters_clear(struct cli_prune_filters *f)
{
    json_decref(f->labels);
    json_decref(f->no_labels);
    f->labels = f->no_labels = NULL;
}

int cli_prune_filter_parse(struct cli_prune_filters *f, const char *text)
{
    const char *eq = strchr(text, '=');
    if (!eq)
        return cli_failf("bad format of filter (expected name=value): %s", text);
    bool negated = eq > text && eq[-1] == '!';
    _cleanup_free_ char *key = xstrndup(text, (size_t)(eq - text - (negated ? 1 : 0)));
    const char *val = eq + 1;
    if (strcmp(key, "label") == 0) {
        json_array_append_new(negated ? f->no_labels : f->labels, json_string(val));
        return 0;
    }
    if (strcmp(key, "until") == 0 && !negated) {
        struct servin_error err = {0};
        if (cli_parse_time(val, &f->until_ns, &err) < 0)
            return cli_fail(&err);
        f->has_until = true;
        return 0;
    }
    return cli_failf("invalid filter '%s': prune filters by until= and label= (or label!=)", key);
}

static bool has_label(json_t *labels, const char *spec)
{
    const char *eq = strchr(spec, '=');
    _cleanup_free_ char *k = eq ? xstrndup(spec, (size_t)(eq - spec)) : xstrdup(spec);
    const char *have = json_string_value(json_object_get(labels, k));
    return have && (!eq || strcmp(have, eq + 1) == 0);
}

/* created_ns 0: unknown, which until= never selects. */
bool cli_prune_matches(const struct cli_prune_filters *f, json_t *labels, int64_t created_ns)
{
    if (f->has_until && (created_ns <= 0 || created_ns >= f->until_ns))
        return false;
    size_t i;
    json_t *v;
    json_array_foreach (f->labels, i, v)
        if (!has_label(labels, json_string_value(v)))
            return false;
    json_array_foreach (f->no_labels, i, v)
        if (has_label(labels, json_string_value(v)))
            return false;
    return true;
}

void cli_section_item(struct cli_section *s, const char *item)
{
    if (!s->printed)
        printf("%s:\n", s->title);
    s->printed = true;
    printf("%s\n", item);
}

void cli_section_end(struct cli_section *s)
{
    if (s->printed)
        printf("\n");
}

int cli_prune_networks(struct servin_store *store, const struct cli_prune_filters *f)
{
    struct servin_error err = {0};
    struct servin_network *list = NULL;
    size_t n = 0;
    if (servin_network_list(store, &list, &n, &err) < 0)
        return cli_fail(&err);
    struct cli_section s = {"Deleted Networks", false};
    int code = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].name, SERVIN_NETWORK_DEFAULT) == 0 ||
            !cli_prune_matches(f, list[i].labels, list[i].created) ||
            servin_network_users(store, list[i].id, &err) != 0)
            continue;
        if (servin_network_remove(store, list[i].id, &err) < 0) {
            /* A container joined it since we looked: it stays. */
            if (err.code != EBUSY)
                code = cli_fail(&err);
            servin_error_clear(&err);
            continue;
        }
        cli_section_item(&s, list[i].name);
    }
    cli_section_end(&s);
    servin_networks_free(list, n);
    return code;
}

int cli_prune_volumes(struct servin_store *store, const struct cli_prune_filters *f, uint64_t *reclaimed)
{
    struct servin_error err = {0};
    struct servin_volume *list = NULL;
    size_t n = 0;
    if (servin_volume_list(store, &list, &n, &err) < 0)
        return cli_fail(&err);
    struct cli_section s = {"Deleted Volumes", false};
    int code = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cli_prune_matches(f, list[i].labels, 1))
            continue;
        _cleanup_strv_ char **users = NULL;
        if (servin_volume_users(store, list[i].name, &users, &err) < 0 || users[0]) {
            servin_error_clear(&err);
            continue;
        }
        long long size = 0;
        int r = servin_volume_remove(store, list[i].name, &size, &err);
        if (r < 0) {
            if (r != -EBUSY)
                code = cli_fail(&err);
            servin_error_clear(&err);
            continue;
        }
        *reclaimed += (uint64_t)(size > 0 ? size : 0);
        cli_section_item(&s, list[i].name);
    }
    cli_section_end(&s);
    servin_volumes_free(list, n);
    return code;
}
