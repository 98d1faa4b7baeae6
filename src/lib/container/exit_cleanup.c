/* container/exit_cleanup.c — release what one run of a container held once its monitor is done:
 * the runtime state, the network, the rootfs mount; and record how it ended. */
#include <jansson.h>

#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/events.h"
#include "servin/network.h"
#include "servin/runtime.h"
#include "servin/timefmt.h"

/* Keep the first failure of several independent steps in *err. */
static void keep_first(int r, struct servin_error *step, int *ret, struct servin_error *err)
{
    if (r < 0 && *ret == 0) {
        *ret = r;
        *err = *step;
    }
    servin_error_clear(step);
}

int servin_container_cleanup_exited(struct servin_store *store, struct servin_container *ct,
                                    struct servin_error *err)
{
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    _cleanup_free_ char *run_dir = servin_container_run_dir(store, ct->id);
    _cleanup_free_ char *exit_path = xasprintf("%s/exit", run_dir);
    _cleanup_close_ int lock_fd = -1;
    struct servin_error ignored = {0};
    int ret = servin_container_lock(store, ct->id, &lock_fd, err);
    if (ret < 0)
        return ret;
    /* Started again while we were on our way: that run owns the mount and the runtime state now. */
    if (servin_container_reconcile(store, ct, &ignored) == 0 && servin_container_is_active(ct) &&
        ct->monitor_pid > 0) {
        servin_error_clear(&ignored);
        return 1;
    }
    servin_error_clear(&ignored);
    servin_oci_delete(oci_root, ct->id, true, &ignored);
    servin_error_clear(&ignored);
    /* Each step runs even when an earlier one failed: what can be released, is. The first failure
     * is the one reported. */
    struct servin_error step = {0};
    keep_first(servin_network_container_stop(store, ct->id, &step), &step, &ret, err);
    keep_first(servin_container_unmount_rootfs(store, ct, &step), &step, &ret, err);
    /* The monitor may still be alive while this runs (it runs `container cleanup`), so reconcile
     * alone would keep the container running: record the exit from the monitor's file. */
    json_t *ex = json_load_file(exit_path, 0, NULL);
    if (ex) {
        ct->state = SERVIN_CONTAINER_EXITED;
        ct->exit_code = (int)json_integer_value(json_object_get(ex, "ExitCode"));
        ct->finished_at = (int64_t)json_integer_value(json_object_get(ex, "FinishedAt"));
        ct->oom_killed = json_is_true(json_object_get(ex, "OOMKilled"));
        json_decref(ex);
    } else if (servin_container_is_active(ct)) {
        ct->state = SERVIN_CONTAINER_EXITED;
        ct->exit_code = 255;
    }
    if (!ct->finished_at)
        ct->finished_at = servin_time_now_ns();
    ct->pid = 0;
    ct->monitor_pid = 0;
    keep_first(servin_container_save_state(store, ct, &step), &step, &ret, err);
    _cleanup_free_ char *exit_text = xasprintf("%d", ct->exit_code);
    servin_event_container(store, ct, "die", json_pack("{s:s}", "exitCode", exit_text));
    return ret;
}
