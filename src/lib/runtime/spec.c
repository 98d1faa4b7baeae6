/* runtime/spec.c — loading a bundle's config.json, the default spec, and signal names. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime/runtime_state.h"
#include "servin/cleanup.h"
#include "servin/runtime.h"

int servin_spec_load(const char *bundle, json_t **out, struct servin_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
    json_error_t jerr;
    json_t *spec = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!spec) {
        if (access(path, F_OK) < 0)
            return servin_error_errno(err, errno, "load bundle %s: read %s", bundle, path);
        return servin_error_set(err, EINVAL, "load bundle %s: %s line %d: %s", bundle, path, jerr.line, jerr.text);
    }
    json_t *process = json_object_get(spec, "process");
    json_t *root = json_object_get(spec, "root");
    const char *why = NULL;
    if (!json_is_string(json_object_get(spec, "ociVersion")))
        why = "ociVersion is missing";
    else if (!json_is_object(root) || !json_is_string(json_object_get(root, "path")))
        why = "root.path is missing";
    else if (process && !json_is_object(process))
        why = "process is not an object";
    else if (process && json_array_size(json_object_get(process, "args")) == 0)
        why = "process.args must name the program to run";
    else if (process && !json_is_string(json_object_get(process, "cwd")))
        why = "process.cwd is missing";
    else if (process && json_string_value(json_object_get(process, "cwd"))[0] != '/')
        why = "process.cwd must be an absolute path";
    if (why) {
        json_decref(spec);
        return servin_error_set(err, EINVAL, "load bundle %s: invalid %s: %s", bundle, path, why);
    }
    *out = spec;
    return 0;
}

static json_t *default_mounts(bool rootless)
{
    json_t *m = json_pack(
        "[{s:s,s:s,s:s},"
        "{s:s,s:s,s:s,s:[s,s,s,s]},"
        "{s:s,s:s,s:s,s:[s,s,s,s,s]},"
        "{s:s,s:s,s:s,s:[s,s,s]},"
        "{s:s,s:s,s:s,s:[s,s,s,s,s]},"
        "{s:s,s:s,s:s,s:[s,s,s,s]}]",
        "destination", "/proc", "type", "proc", "source", "proc",
        "destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid", "strictatime", "mode=755", "size=65536k",
        "destination", "/dev/pts", "type", "devpts", "source", "devpts", "options", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
        "destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue", "options", "nosuid", "noexec", "nodev",
        /* Without its own network namespace owner a rootless container cannot mount sysfs: bind the host's. */
        "destination", "/sys", "type", rootless ? "none" : "sysfs", "source", rootless ? "/sys" : "sysfs", "options",
        rootless ? "rbind" : "nosuid", "nosuid", "noexec", "nodev", "ro",
        "destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid", "noexec", "nodev", "mode=1777");
    if (!rootless) {
        json_array_append_new(m, json_pack("{s:s,s:s,s:s,s:[s,s,s,s,s]}", "destination", "/sys/fs/cgroup", "type", "cgroup",
                                           "source", "cgroup", "options", "nosuid", "noexec", "nodev", "relatime", "ro"));
    }
    return m;
}

json_t *servin_oci_default_spec(bool rootless)
{
    static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    json_t *capset = json_array();
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        json_array_append_new(capset, json_string(caps[i]));
    json_t *spec = json_pack(
        "{s:s,s:{s:b,s:{s:i,s:i},s:[s],s:[s,s],s:s,s:{s:o,s:o,s:o,s:o},s:[{s:s,s:i,s:i}],s:b},"
        "s:{s:s,s:b},s:s,s:o}",
        "ociVersion", SERVIN_OCI_VERSION,
        "process", "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "cwd", "/",
        "capabilities", "bounding", json_deep_copy(capset), "effective", json_deep_copy(capset), "permitted",
        json_deep_copy(capset), "inheritable", json_array(), "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024,
        "soft", 1024, "noNewPrivileges", 1,
        "root", "path", "rootfs", "readonly", 1, "hostname", "servin", "mounts", default_mounts(rootless));
    json_decref(capset);

    json_t *namespaces = json_pack("[{s:s},{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "network", "type", "ipc",
                                   "type", "uts", "type", "mount");
    json_array_append_new(namespaces, json_pack("{s:s}", "type", "cgroup"));
    json_t *linux_obj = json_pack(
        "{s:o,s:[s,s,s,s,s,s,s,s,s,s,s],s:[s,s,s,s,s]}", "namespaces", namespaces,
        "maskedPaths", "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
        "/sys/devices/virtual/powercap",
        "readonlyPaths", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
    if (rootless) {
        json_array_append_new(namespaces, json_pack("{s:s}", "type", "user"));
        json_object_set_new(linux_obj, "uidMappings",
                            json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getuid(), "size", 1));
        json_object_set_new(linux_obj, "gidMappings",
                            json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getgid(), "size", 1));
    } else {
        json_object_set_new(linux_obj, "resources",
                            json_pack("{s:[{s:b,s:s}]}", "devices", "allow", 0, "access", "rwm"));
    }
    json_object_set_new(spec, "linux", linux_obj);
    return spec;
}

int servin_signal_parse(const char *text)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
                 {"ABRT", SIGABRT}, {"IOT", SIGIOT},   {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},
                 {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
                 {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
                 {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU},
                 {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
                 {"POLL", SIGPOLL}, {"PWR", SIGPWR}, {"SYS", SIGSYS}};
    if (!text || !*text)
        return -1;
    char *end = NULL;
    long n = strtol(text, &end, 10);
    if (*end == '\0')
        return n > 0 && n < NSIG ? (int)n : -1;
    if (strncasecmp(text, "SIG", 3) == 0)
        text += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(text, names[i].name) == 0)
            return names[i].sig;
    if (strncasecmp(text, "RTMIN", 5) == 0 || strncasecmp(text, "RTMAX", 5) == 0) {
        long off = text[5] ? strtol(text + 5, &end, 10) : 0;
        if (*end != '\0')
            return -1;
        int sig = toupper((unsigned char)text[2]) == 'M' && toupper((unsigned char)text[3]) == 'I' ? SIGRTMIN + (int)off
                                                                                                  : SIGRTMAX + (int)off;
        return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
    }
    return -1;
}
