/* runtime/namespaces.c — namespace names and user-namespace id maps. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime_proc.h"
#include "servin/cleanup.h"


int oci_ns_flag(const char *type)
{
    static const struct {
        const char *name;
        int flag;
    } table[] = {{"pid", CLONE_NEWPID},   {"network", CLONE_NEWNET}, {"net", CLONE_NEWNET},
                 {"mount", CLONE_NEWNS},  {"ipc", CLONE_NEWIPC},     {"uts", CLONE_NEWUTS},
                 {"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};
    for (size_t i = 0; type && i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(type, table[i].name) == 0)
            return table[i].flag;
    return 0;
}

static int write_map(pid_t pid, const char *file, json_t *mappings, struct servin_error *err)
{
    char buf[4096];
    size_t used = 0;
    size_t i;
    json_t *m;
    json_array_foreach(mappings, i, m)
    {
        int n = snprintf(buf + used, sizeof(buf) - used, "%lld %lld %lld\n",
                         (long long)json_integer_value(json_object_get(m, "containerID")),
                         (long long)json_integer_value(json_object_get(m, "hostID")),
                         (long long)json_integer_value(json_object_get(m, "size")));
        if (n < 0 || (size_t)n >= sizeof(buf) - used)
            return servin_error_set(err, E2BIG, "write %s: too many id mappings", file);
        used += (size_t)n;
    }
    if (used == 0)
        return 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return servin_error_errno(err, errno, "open %s", path);
    /* The kernel takes the whole map in one write, or nothing. */
    if (write(fd, buf, used) != (ssize_t)used)
        return servin_error_errno(err, errno, "write id mappings to %s", path);
    return 0;
}

int oci_write_id_maps(pid_t pid, json_t *linux_obj, struct servin_error *err)
{
    int ret = write_map(pid, "uid_map", json_object_get(linux_obj, "uidMappings"), err);
    if (ret < 0)
        return ret;
    return write_map(pid, "gid_map", json_object_get(linux_obj, "gidMappings"), err);
}
