/* container/config_defaults.c — what the configuration file decides for new containers: the log driver and
 * json-file rotation (logging.*), and how many containers may exist (runtime.max_containers). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "container/container_internal.h"
#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/container.h"

static json_t *object_in(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

void servin_container_apply_config_defaults(json_t *config)
{
    _cleanup_config_ struct servin_config *cfg = servin_config_current();
    json_t *log = object_in(object_in(config, "HostConfig"), "LogConfig");
    const char *type = json_string_value(json_object_get(log, "Type"));
    if (!type || !*type) {
        json_object_set_new(log, "Type", json_string(cfg->logging.driver));
        type = cfg->logging.driver;
    }
    if (strcmp(type, "json-file") != 0)
        return;
    /* As Docker's daemon log-opts: the daemon-wide rotation unless the container has its own. */
    json_t *opts = object_in(log, "Config");
    if (cfg->logging.max_size > 0 && !json_object_get(opts, "max-size")) {
        _cleanup_free_ char *size = xasprintf("%" PRId64, cfg->logging.max_size);
        json_object_set_new(opts, "max-size", json_string(size));
    }
    if (cfg->logging.max_files > 1 && !json_object_get(opts, "max-file")) {
        _cleanup_free_ char *n = xasprintf("%" PRId64, cfg->logging.max_files);
        json_object_set_new(opts, "max-file", json_string(n));
    }
}

int ctr_check_max_containers(struct servin_store *store, struct servin_error *err)
{
    _cleanup_config_ struct servin_config *cfg = servin_config_current();
    if (cfg->runtime.max_containers <= 0)
        return 0;
    _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
    int ret = servin_store_prepare(store, "SELECT count(*) FROM containers", &stmt, err);
    if (ret < 0)
        return ret;
    if (sqlite3_step(stmt) != SQLITE_ROW)
        return servin_store_sqlite_error(store, SQLITE_ERROR, err, "count the containers");
    int64_t n = sqlite3_column_int64(stmt, 0);
    if (n >= cfg->runtime.max_containers)
        return servin_error_set(err, EUSERS,
                                "there are already %" PRId64
                                " containers, the most runtime.max_containers allows: "
                                "remove some first",
                                n);
    return 0;
}
