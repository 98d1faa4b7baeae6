/* runtime/state.c — per-container state files and the status derived from the live process. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime_cgroup.h"
#include "runtime/runtime_state.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/runtime.h"

int oci_state_dir(const char *state_root, const char *id, char **out, struct servin_error *err)
{
    if (!id || !*id)
        return servin_error_set(err, EINVAL, "container id must not be empty");
    for (const char *p = id; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                  *p == '-' || *p == '.';
        if (!ok || (p == id && *p == '.'))
            return servin_error_set(err, EINVAL, "invalid container id %s: use letters, digits, '_', '-' and '.'", id);
    }
    *out = xasprintf("%s/%s", state_root ? state_root : SERVIN_OCI_DEFAULT_ROOT, id);
    return 0;
}

unsigned long long oci_pid_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields restart after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    char state = 0;
    unsigned long long start = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 3)
            state = tok[0];
        if (field == 22) {
            start = strtoull(tok, NULL, 10);
            break;
        }
    }
    /* A zombie has finished running: for the container it is stopped. */
    return state == 'Z' || state == 'X' ? 0 : start;
}

bool oci_state_alive(const struct oci_state *st)
{
    return st->pid > 0 && oci_pid_start_time(st->pid) == st->pid_start && st->pid_start != 0;
}

const char *oci_state_status(const struct oci_state *st)
{
    if (!oci_state_alive(st))
        return "stopped";
    if (!st->started)
        return "created";
    return oci_cgroup_is_frozen(st->cgroup_path) ? "paused" : "running";
}

int oci_state_save(const char *state_root, const struct oci_state *st, struct servin_error *err)
{
    _cleanup_free_ char *dir = NULL;
    int ret = oci_state_dir(state_root, st->id, &dir, err);
    if (ret < 0)
        return ret;
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:i,s:I,s:s?,s:O?,s:O?,s:b}", "id", st->id, "bundle", st->bundle, "rootfs",
                          st->rootfs, "created", st->created, "pid", (int)st->pid, "pid_start",
                          (json_int_t)st->pid_start, "cgroup_path", st->cgroup_path, "annotations", st->annotations,
                          "spec", st->spec, "started", st->started);
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    _cleanup_free_ char *path = xasprintf("%s/state.json", dir);
    return servin_write_file_volatile(path, text, strlen(text), 0600, err);
}

int oci_state_load(const char *state_root, const char *id, struct oci_state *st, struct servin_error *err)
{
    _cleanup_free_ char *dir = NULL;
    int ret = oci_state_dir(state_root, id, &dir, err);
    if (ret < 0)
        return ret;
    _cleanup_free_ char *path = xasprintf("%s/state.json", dir);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j) {
        if (access(dir, F_OK) < 0)
            return servin_error_set(err, ENOENT, "container %s does not exist", id);
        return servin_error_set(err, EIO, "container %s: state file %s is unreadable: %s", id, path, jerr.text);
    }
    memset(st, 0, sizeof(*st));
    st->id = xstrdup(json_string_value(json_object_get(j, "id")));
    st->bundle = xstrdup(json_string_value(json_object_get(j, "bundle")));
    st->rootfs = xstrdup(json_string_value(json_object_get(j, "rootfs")));
    st->created = xstrdup(json_string_value(json_object_get(j, "created")));
    st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    st->pid_start = (unsigned long long)json_integer_value(json_object_get(j, "pid_start"));
    const char *cg = json_string_value(json_object_get(j, "cgroup_path"));
    st->cgroup_path = cg ? xstrdup(cg) : NULL;
    st->annotations = json_incref(json_object_get(j, "annotations"));
    st->spec = json_incref(json_object_get(j, "spec"));
    st->started = json_is_true(json_object_get(j, "started"));
    json_decref(j);
    return 0;
}

void oci_state_clear(struct oci_state *st)
{
    free(st->id);
    free(st->bundle);
    free(st->rootfs);
    free(st->created);
    free(st->cgroup_path);
    json_decref(st->annotations);
    json_decref(st->spec);
    memset(st, 0, sizeof(*st));
}
