/* cli/cmd_restore.c — `servin system restore`: bring containers back after a reboot or lost
 * monitors, as Docker's daemon does when it starts.
 *
 * Reading the list reconciles every record with its run dir: a container whose monitor and init
 * are gone (killed, or the run dir vanished with a reboot) becomes exited. Then containers with
 * restart policy "always", and "unless-stopped" ones the user did not stop, are started again
 * under new monitors; exited --rm containers are removed, as their monitor would have done. A
 * user's stop is remembered in the container dir (the run dir's marker does not survive a
 * reboot). Meant to run at boot (contrib/systemd/servin-restore.service). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "run_flags.h"
#include "servin/cleanup.h"

static bool stopped_by_user(struct servin_store *store, const struct servin_container *c)
{
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *p = xasprintf("%s/" CLI_STOPPED_BY_USER, dir);
    return access(p, F_OK) == 0;
}

static bool wants_start(struct servin_store *store, const struct servin_container *c)
{
    /* Never started (created), or still supervised: not ours to start. */
    if (c->state != SERVIN_CONTAINER_EXITED || c->started_at == 0)
        return false;
    json_t *policy = json_object_get(json_object_get(c->config, "HostConfig"), "RestartPolicy");
    const char *name = json_string_value(json_object_get(policy, "Name"));
    if (!name)
        return false;
    /* Docker: "always" comes back even after a stop by the user; "unless-stopped" does not. */
    return strcmp(name, "always") == 0 || (strcmp(name, "unless-stopped") == 0 && !stopped_by_user(store, c));
}

int cmd_system_restore(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        return CLI_EXIT_USAGE;
    }
    if (optind < argc)
        return cli_usage_error(ctx, "\"%s\" accepts no arguments.", ctx->cmd->path);
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    /* Two restores at once (boot and a user) must not start a container twice. */
    _cleanup_close_ int lock_fd = -1;
    if (servin_store_lock(store, "system-restore", SERVIN_LOCK_EXCLUSIVE, &lock_fd, &err) < 0)
        return cli_fail(&err);
    struct servin_container *list = NULL;
    size_t n = 0;
    if (servin_container_list(store, &list, &n, &err) < 0)
        return cli_fail(&err);
    int code = 0;
    /* What lost containers still hold goes before any of them starts again. */
    int cleaned = 0;
    if (servin_container_cleanup_orphans(store, &cleaned, &err) < 0) {
        code = cli_fail(&err);
        servin_error_clear(&err);
    }
    /* Oldest first, as they were first started. */
    for (size_t i = n; i-- > 0;) {
        struct servin_container *ct = &list[i];
        servin_error_clear(&err);
        bool auto_remove =
            json_is_true(json_object_get(json_object_get(ct->config, "HostConfig"), "AutoRemove"));
        if (auto_remove && ct->state == SERVIN_CONTAINER_EXITED) {
            if (servin_container_remove(store, ct, true, &err) < 0) {
                servin_error_wrap(&err, "remove container %s", ct->name);
                code = cli_fail(&err);
            }
            continue;
        }
        if (!wants_start(store, ct))
            continue;
        int exit_code = 0;
        struct servin_start_opts so = {0};
        if (servin_container_start(store, ct, &so, &exit_code, &err) < 0) {
            servin_error_wrap(&err, "restart container %s", ct->name);
            code = cli_fail(&err);
            continue;
        }
        printf("%s\n", ct->name);
    }
    servin_containers_free(list, n);
    return code;
}
