/* image/inspect.c — an image as Docker's inspect and history show it, for the CLI and the daemon. */
#include <string.h>
#include <time.h>

#include "servin/cleanup.h"
#include "servin/image.h"

static json_t *familiar_array(char **names)
{
    json_t *a = json_array();
    for (char **p = names; p && *p; p++) {
        _cleanup_free_ char *fam = servin_image_familiar(*p);
        json_array_append_new(a, json_string(fam));
    }
    return a;
}

static json_t *str_or_empty(json_t *config, const char *key)
{
    const char *s = json_string_value(json_object_get(config, key));
    return json_string(s ? s : "");
}

int servin_image_inspect_json(struct servin_store *store, const char *id, json_t **out, struct servin_error *err)
{
    struct servin_image_summary s;
    int ret = servin_image_get(store, id, &s, err);
    if (ret < 0)
        return ret;
    json_t *config = NULL;
    struct servin_layer_desc *layers = NULL;
    size_t n = 0;
    ret = servin_image_config(store, id, &config, err);
    if (ret == 0)
        ret = servin_image_layers(store, id, &layers, &n, err);
    if (ret < 0) {
        json_decref(config);
        servin_image_summary_clear(&s);
        return ret;
    }

    json_t *diff_ids = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(diff_ids, json_string(layers[i].diff_id));
    /* As Docker's overlay driver shows it: the top layer as UpperDir, the rest top-first as LowerDir. */
    json_t *data = json_object();
    if (n > 0) {
        _cleanup_free_ char *upper = servin_layer_diff_path(store, layers[n - 1].chain_id);
        json_object_set_new(data, "UpperDir", json_string(upper));
    }
    if (n > 1) {
        size_t cap = 1;
        char *lower = xstrdup("");
        for (size_t i = n - 1; i-- > 0;) {
            _cleanup_free_ char *dir = servin_layer_diff_path(store, layers[i].chain_id);
            cap += strlen(dir) + 1;
            lower = xrealloc(lower, cap);
            if (*lower)
                strcat(lower, ":");
            strcat(lower, dir);
        }
        json_object_set_new(data, "LowerDir", json_string(lower));
        free(lower);
    }
    json_t *cfg = json_object_get(config, "config");
    bool tagged = s.tags && s.tags[0];
    _cleanup_free_ char *tag_time = NULL;
    if (tagged) {
        time_t tt = (time_t)s.added;
        struct tm tm;
        char buf[64];
        gmtime_r(&tt, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        tag_time = xstrdup(buf);
    }
    json_t *j = json_object();
    json_object_set_new(j, "Id", json_string(id));
    json_object_set_new(j, "RepoTags", familiar_array(s.tags));
    json_object_set_new(j, "RepoDigests", familiar_array(s.repo_digests));
    json_object_set_new(j, "Parent", json_string(""));
    json_object_set_new(j, "Comment", str_or_empty(config, "comment"));
    json_object_set_new(j, "Created", str_or_empty(config, "created"));
    json_object_set_new(j, "DockerVersion", str_or_empty(config, "docker_version"));
    json_object_set_new(j, "Author", str_or_empty(config, "author"));
    json_object_set_new(j, "Config", json_is_object(cfg) ? json_deep_copy(cfg) : json_object());
    json_object_set_new(j, "Architecture", str_or_empty(config, "architecture"));
    const char *variant = json_string_value(json_object_get(config, "variant"));
    if (variant && *variant)
        json_object_set_new(j, "Variant", json_string(variant));
    json_object_set_new(j, "Os", str_or_empty(config, "os"));
    json_object_set_new(j, "Size", json_integer((json_int_t)s.size));
    json_object_set_new(j, "GraphDriver", json_pack("{s:o,s:s}", "Data", data, "Name", "overlay"));
    json_object_set_new(j, "RootFS", json_pack("{s:s,s:o}", "Type", "layers", "Layers", diff_ids));
    json_object_set_new(j, "Metadata",
                        json_pack("{s:s}", "LastTagTime", tag_time ? tag_time : "0001-01-01T00:00:00Z"));
    json_decref(config);
    servin_layer_descs_free(layers, n);
    servin_image_summary_clear(&s);
    *out = j;
    return 0;
}

int servin_image_history(struct servin_store *store, const char *id, json_t **out, struct servin_error *err)
{
    json_t *config = NULL;
    struct servin_layer_desc *layers = NULL;
    size_t n_layers = 0;
    int ret = servin_image_config(store, id, &config, err);
    if (ret < 0)
        return ret;
    ret = servin_image_layers(store, id, &layers, &n_layers, err);
    if (ret < 0) {
        json_decref(config);
        return ret;
    }
    json_t *history = json_object_get(config, "history");
    json_t *out_list = json_array();
    if (!json_is_array(history) || json_array_size(history) == 0) {
        /* Without recorded history, one anonymous entry per layer. */
        for (size_t i = 0; i < n_layers; i++)
            json_array_append_new(out_list, json_pack("{s:I}", "Size", (json_int_t)layers[i].size));
    } else {
        size_t i, li = 0;
        json_t *entry;
        /* Entries that made a layer take that layer's size, in order; the others are metadata only. */
        json_array_foreach (history, i, entry) {
            json_t *copy = json_is_object(entry) ? json_deep_copy(entry) : json_object();
            uint64_t size = 0;
            if (!json_is_true(json_object_get(entry, "empty_layer")) && li < n_layers)
                size = layers[li++].size;
            json_object_set_new(copy, "Size", json_integer((json_int_t)size));
            json_array_append_new(out_list, copy);
        }
    }
    json_decref(config);
    servin_layer_descs_free(layers, n_layers);
    *out = out_list;
    return 0;
}
