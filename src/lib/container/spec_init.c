/* container/spec_init.c — `run --init`: Debian's tini-static as the container's pid 1, the way Docker
 * runs tini as /sbin/docker-init. It forwards signals to the container's process and reaps the
 * zombies that a plain pid 1 (a shell, a server that never wait()s) would leave behind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/spec_internal.h"
#include "servin/cleanup.h"

/* Where the container sees it: Docker's path, so scripts that look for it find it. */
#define INIT_DEST "/sbin/docker-init"

const char *ctr_init_binary(void)
{
    /* A statically linked init runs in any image, also one without a libc. */
    static const char *const candidates[] = {"/usr/bin/tini-static", "/usr/bin/docker-init",
                                             "/usr/libexec/docker/docker-init"};
    const char *env = getenv("SERVIN_INIT_PATH");
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

int ctr_apply_init(json_t *host_config, json_t *process, json_t *mounts, struct servin_error *err)
{
    if (!json_is_true(json_object_get(host_config, "Init")))
        return 0;
    const char *init = ctr_init_binary();
    if (!init)
        return servin_error_set(
            err, ENOENT,
            "--init needs an init binary: install Debian's tini package (/usr/bin/tini-static) "
            "or set SERVIN_INIT_PATH");
    json_t *old = json_object_get(process, "args");
    json_t *args = json_pack("[s,s]", INIT_DEST, "--");
    json_array_extend(args, old);
    json_object_set_new(process, "args", args);
    json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s]}", "destination", INIT_DEST, "type",
                                            "bind", "source", init, "options", "bind", "ro", "nosuid"));
    return 0;
}
