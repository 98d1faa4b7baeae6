/* runtime/security_user.c — process.user: uid, gid, additionalGids and umask. */
#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/security_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"

static int id_value(json_t *v, const char *what, uint32_t *out, struct servin_error *err)
{
    json_int_t n;

    if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 || n > UINT32_MAX - 1)
        return servin_error_set(err, EINVAL, "process.user.%s must be an id between 0 and 4294967294", what);
    *out = (uint32_t)n;
    return 0;
}

int servin_user_parse(json_t *user, struct servin_user *out, struct servin_error *err)
{
    uint32_t v = 0;
    int ret;

    memset(out, 0, sizeof(*out));
    if (!user || json_is_null(user))
        return 0;
    if (!json_is_object(user))
        return servin_error_set(err, EINVAL, "process.user must be an object");
    out->present = true;
    /* uid and gid are REQUIRED by the spec when user is there; 0 is what runc assumes too. */
    json_t *j = json_object_get(user, "uid");
    if (j && (ret = id_value(j, "uid", &v, err)) < 0)
        return ret;
    out->uid = j ? v : 0;
    j = json_object_get(user, "gid");
    if (j && (ret = id_value(j, "gid", &v, err)) < 0)
        return ret;
    out->gid = j ? v : 0;

    j = json_object_get(user, "umask");
    if (j && !json_is_null(j)) {
        json_int_t m = json_integer_value(j);
        if (!json_is_integer(j) || m < 0 || m > 0777)
            return servin_error_set(err, EINVAL, "process.user.umask must be a number between 0 and 0777");
        out->has_umask = true;
        out->umask = (mode_t)m;
    }

    j = json_object_get(user, "additionalGids");
    if (j && !json_is_null(j)) {
        size_t i;
        json_t *g;
        if (!json_is_array(j))
            return servin_error_set(err, EINVAL, "process.user.additionalGids must be an array of ids");
        out->groups = xcalloc(json_array_size(j) + 1, sizeof(gid_t));
        json_array_foreach (j, i, g) {
            if ((ret = id_value(g, "additionalGids[]", &v, err)) < 0) {
                servin_user_release(out);
                return ret;
            }
            out->groups[out->ngroups++] = v;
        }
    }
    return 0;
}

void servin_user_release(struct servin_user *u)
{
    free(u->groups);
    u->groups = NULL;
    u->ngroups = 0;
}

/* In a user namespace whose creator wrote "deny" to /proc/<pid>/setgroups (needed to map a gid
 * without privilege), setgroups() always fails; the groups then are whatever the namespace gave. */
static bool setgroups_denied(void)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (servin_read_file("/proc/self/setgroups", &text, &len, NULL) < 0)
        return false;
    return strncmp(text, "deny", 4) == 0;
}

int servin_user_apply_ids(const struct servin_user *u, struct servin_error *err)
{
    if (!u->present)
        return 0;

    /* Groups first, while we still may: setgroups needs CAP_SETGID, which the uid change may take.
     * An absent additionalGids clears the list, so the container never inherits the groups of
     * whoever started the runtime. */
    if (setgroups_denied()) {
        if (u->ngroups > 0)
            log_warn("setgroups is denied in this user namespace; process.user.additionalGids not applied");
    } else if (setgroups(u->ngroups, u->groups) < 0) {
        return servin_error_errno(err, errno, "set the supplementary groups of the container process");
    }
    /* gid before uid: after the uid change the process may no longer have CAP_SETGID. */
    if (setresgid(u->gid, u->gid, u->gid) < 0)
        return servin_error_errno(err, errno, "set the gid of the container process to %u", (unsigned)u->gid);
    if (setresuid(u->uid, u->uid, u->uid) < 0)
        return servin_error_errno(err, errno, "set the uid of the container process to %u", (unsigned)u->uid);
    return 0;
}
