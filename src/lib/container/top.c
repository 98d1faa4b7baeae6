/* container/top.c — the processes of a running container, as `top` and the API's /top show them. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/fs.h"
#include "servin/runtime.h"

static char *proc_read(pid_t pid, const char *file, size_t *len)
{
    _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
    char *text = NULL;
    struct servin_error err = {0};
    if (servin_read_file(path, &text, len, &err) < 0)
        return NULL;
    return text;
}

int servin_container_top(struct servin_store *store, const struct servin_container *c, json_t **out,
                         struct servin_error *err)
{
    if (!servin_container_is_active(c))
        return servin_error_set(err, EBUSY, "container %s is not running", c->name);
    _cleanup_free_ char *oci_root = servin_container_oci_root(store);
    pid_t *pids = NULL;
    size_t n = 0;
    if (servin_oci_pids(oci_root, c->id, &pids, &n, err) < 0)
        return servin_error_wrap(err, "list the processes of %s", c->name);
    json_t *procs = json_array();
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *status = proc_read(pids[i], "status", NULL);
        _cleanup_free_ char *stat = proc_read(pids[i], "stat", NULL);
        size_t clen = 0;
        _cleanup_free_ char *cmdline = proc_read(pids[i], "cmdline", &clen);
        if (!status || !stat)
            continue; /* it exited meanwhile */
        const char *u = strstr(status, "\nUid:");
        unsigned uid = u ? (unsigned)strtoul(u + 5, NULL, 10) : 0;
        struct passwd pw, *res = NULL;
        char pwbuf[1024];
        _cleanup_free_ char *user = getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res
                                        ? xstrdup(pw.pw_name)
                                        : xasprintf("%u", uid);
        unsigned long long ut = 0, st = 0;
        const char *rp = strrchr(stat, ')');
        if (rp)
            sscanf(rp + 1, " %*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ut, &st);
        unsigned long long secs = (ut + st) / (unsigned long long)hz;
        for (size_t k = 0; cmdline && k + 1 < clen; k++)
            if (cmdline[k] == '\0')
                cmdline[k] = ' ';
        const char *comm = NULL;
        _cleanup_free_ char *bracketed = NULL;
        if (!cmdline || !*cmdline) {
            const char *lp = strchr(stat, '(');
            bracketed = lp && rp ? xasprintf("[%.*s]", (int)(rp - lp - 1), lp + 1) : xstrdup("?");
            comm = bracketed;
        } else {
            comm = cmdline;
        }
        _cleanup_free_ char *pid_text = xasprintf("%d", (int)pids[i]);
        _cleanup_free_ char *time_text = xasprintf("%llu:%02llu", secs / 60, secs % 60);
        json_array_append_new(procs, json_pack("[s,s,s,s]", pid_text, user, time_text, comm));
    }
    free(pids);
    *out = json_pack("{s:[s,s,s,s],s:o}", "Titles", "PID", "USER", "TIME", "CMD", "Processes", procs);
    return 0;
}
