/* runtime/cgroup.c — find the host's cgroup layout and resolve a container's cgroup directories. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cgroup_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"

const char *const cg_ctrl_names[CG_NCTRL] = {
    [CG_CPU] = "cpu",         [CG_CPUACCT] = "cpuacct",   [CG_CPUSET] = "cpuset",
    [CG_MEMORY] = "memory",   [CG_DEVICES] = "devices",   [CG_FREEZER] = "freezer",
    [CG_BLKIO] = "blkio",     [CG_PIDS] = "pids",         [CG_HUGETLB] = "hugetlb",
    [CG_NET_CLS] = "net_cls", [CG_NET_PRIO] = "net_prio", [CG_PERF_EVENT] = "perf_event",
    [CG_RDMA] = "rdma",       [CG_MISC] = "misc",         [CG_SYSTEMD] = "name=systemd",
};

int cg_ctrl_from_name(const char *name)
{
    for (int i = 0; i < CG_NCTRL; i++)
        if (strcmp(name, cg_ctrl_names[i]) == 0)
            return i;
    return -1;
}

void servin_cgroup_system_free(struct servin_cgroup_system *sys)
{
    if (!sys)
        return;
    free(sys->v2_mount);
    free(sys->v2_own);
    for (int i = 0; i < CG_NCTRL; i++) {
        free(sys->v1_mount[i]);
        free(sys->v1_own[i]);
    }
    free(sys);
}

static void system_freep(struct servin_cgroup_system **sys)
{
    servin_cgroup_system_free(*sys);
}

static void cgroup_freep(struct servin_cgroup **cg)
{
    servin_cgroup_free(*cg);
}

enum servin_cgroup_mode servin_cgroup_system_mode(const struct servin_cgroup_system *sys)
{
    return sys->mode;
}

bool servin_cgroup_system_hybrid(const struct servin_cgroup_system *sys)
{
    return sys->hybrid;
}

/* mountinfo escapes blanks and backslashes in paths as \ooo octal. */
static char *unescape_mount_path(const char *s)
{
    char *out = xmalloc(strlen(s) + 1), *o = out;
    while (*s) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
            s[3] <= '7') {
            *o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
            s += 4;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* The own cgroup as seen below a mount whose root is mount_root (not "/" inside some containers). */
static char *relative_to_mount(const char *own, const char *mount_root)
{
    size_t n = strlen(mount_root);
    if (!own)
        return xstrdup("/");
    if (strcmp(mount_root, "/") == 0)
        return xstrdup(own);
    if (strncmp(own, mount_root, n) == 0 && (own[n] == '/' || own[n] == '\0'))
        return xstrdup(own[n] ? own + n : "/");
    log_debug("own cgroup %s is outside the mounted root %s; using it as is", own, mount_root);
    return xstrdup(own);
}

static void parse_mount_line(char *line, struct servin_cgroup_system *sys, char **v1_root, char **v2_root)
{
    char *sep = strstr(line, " - ");
    if (!sep)
        return;
    *sep = '\0';
    char *fields[6] = {0}, *save = NULL, *tok = strtok_r(line, " ", &save);
    for (int i = 0; tok && i < 6; i++, tok = strtok_r(NULL, " ", &save))
        fields[i] = tok;
    char *fstype = strtok_r(sep + 3, " ", &save);
    char *source = strtok_r(NULL, " ", &save);
    char *super = strtok_r(NULL, " ", &save);
    if (!fields[4] || !fstype || !source || !super)
        return;

    if (strcmp(fstype, "cgroup2") == 0) {
        /* Prefer the canonical mount when the tree is mounted more than once. */
        if (sys->v2_mount && strcmp(fields[4], "/sys/fs/cgroup") != 0)
            return;
        free(sys->v2_mount);
        free(*v2_root);
        sys->v2_mount = unescape_mount_path(fields[4]);
        *v2_root = unescape_mount_path(fields[3]);
        return;
    }
    if (strcmp(fstype, "cgroup") != 0)
        return;
    char *opt_save = NULL;
    for (char *opt = strtok_r(super, ",", &opt_save); opt; opt = strtok_r(NULL, ",", &opt_save)) {
        int c = cg_ctrl_from_name(opt);
        if (c < 0 || sys->v1_mount[c])
            continue;
        sys->v1_mount[c] = unescape_mount_path(fields[4]);
        v1_root[c] = unescape_mount_path(fields[3]);
    }
}

/* Lines of /proc/self/cgroup: "hierarchy-id:controller,list:/path"; v2 has an empty list. */
static void parse_self_line(char *line, char **v1_own, char **v2_own)
{
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
        return;
    *c2 = '\0';
    const char *path = c2 + 1;
    char *list = c1 + 1;
    if (*list == '\0') {
        free(*v2_own);
        *v2_own = xstrdup(path);
        return;
    }
    char *save = NULL;
    for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int c = cg_ctrl_from_name(name);
        if (c >= 0 && !v1_own[c])
            v1_own[c] = xstrdup(path);
    }
}

int cg_system_parse(const char *mountinfo, const char *self_cgroup, struct servin_cgroup_system **out,
                    struct servin_error *err)
{
    _cleanup_(system_freep) struct servin_cgroup_system *sys = xcalloc(1, sizeof(*sys));
    char *v1_root[CG_NCTRL] = {0}, *v1_own[CG_NCTRL] = {0};
    _cleanup_free_ char *v2_root = NULL, *v2_own = NULL;
    _cleanup_free_ char *mi = xstrdup(mountinfo), *sc = xstrdup(self_cgroup);
    char *save = NULL;

    for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        parse_mount_line(line, sys, v1_root, &v2_root);
    for (char *line = strtok_r(sc, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        parse_self_line(line, v1_own, &v2_own);

    bool have_v1 = false;
    for (int c = 0; c < CG_NCTRL; c++) {
        if (sys->v1_mount[c]) {
            sys->v1_own[c] = relative_to_mount(v1_own[c], v1_root[c]);
            /* A named hierarchy alone (name=systemd on a v2 host) holds no resource controller. */
            if (c != CG_SYSTEMD)
                have_v1 = true;
        }
        free(v1_root[c]);
        free(v1_own[c]);
    }
    if (sys->v2_mount)
        sys->v2_own = relative_to_mount(v2_own, v2_root ? v2_root : "/");

    if (have_v1) {
        sys->mode = SERVIN_CGROUP_V1;
        sys->hybrid = sys->v2_mount != NULL;
    } else if (sys->v2_mount) {
        sys->mode = SERVIN_CGROUP_V2;
    } else {
        return servin_error_set(err, ENOENT, "detect cgroups: no cgroup or cgroup2 filesystem is mounted");
    }
    *out = steal_pointer(&sys);
    return 0;
}

int servin_cgroup_system_detect(struct servin_cgroup_system **out, struct servin_error *err)
{
    _cleanup_free_ char *mountinfo = NULL, *self = NULL;
    int ret = servin_read_file("/proc/self/mountinfo", &mountinfo, NULL, err);
    if (ret < 0)
        return servin_error_wrap(err, "detect cgroups");
    ret = servin_read_file("/proc/self/cgroup", &self, NULL, err);
    if (ret < 0)
        return servin_error_wrap(err, "detect cgroups");
    ret = cg_system_parse(mountinfo, self, out, err);
    if (ret == 0)
        log_debug("cgroups: %s%s", (*out)->mode == SERVIN_CGROUP_V2 ? "v2" : "v1",
                  (*out)->hybrid ? " (hybrid host; using v1 controllers)" : "");
    return ret;
}

int servin_cgroup_system_open(const char *root, enum servin_cgroup_mode mode, unsigned flags,
                              struct servin_cgroup_system **out, struct servin_error *err)
{
    _cleanup_(system_freep) struct servin_cgroup_system *sys = xcalloc(1, sizeof(*sys));
    sys->mode = mode;
    sys->plain_files = flags & SERVIN_CGROUP_PLAIN_FILES;
    if (mode == SERVIN_CGROUP_V2) {
        sys->v2_mount = xstrdup(root);
        sys->v2_own = xstrdup("/");
    } else if (mode == SERVIN_CGROUP_V1) {
        bool any = false;
        for (int c = 0; c < CG_NCTRL; c++) {
            const char *name = c == CG_SYSTEMD ? "systemd" : cg_ctrl_names[c];
            _cleanup_free_ char *dir = xasprintf("%s/%s", root, name);
            if (!cg_file_exists(dir, "."))
                continue;
            sys->v1_mount[c] = steal_pointer(&dir);
            sys->v1_own[c] = xstrdup("/");
            any = true;
        }
        if (!any)
            return servin_error_set(
                err, ENOENT, "open cgroups at %s: no controller directory (memory, cpu, ...) there", root);
    } else {
        return servin_error_set(err, EINVAL, "open cgroups at %s: unknown cgroup mode %d", root, (int)mode);
    }
    *out = steal_pointer(&sys);
    return 0;
}

/* Normalise cgroupsPath into "a/b/c"; refuses ".." so that a bundle cannot escape the hierarchy. */
static int clean_cgroups_path(const char *in, const char *id, char **rel, bool *absolute,
                              struct servin_error *err)
{
    if (!in || !*in) {
        if (!id || !*id || strchr(id, '/') || strcmp(id, "..") == 0 || strcmp(id, ".") == 0)
            return servin_error_set(err, EINVAL,
                                    "no cgroupsPath and no usable container id to name the cgroup");
        *rel = xasprintf("servin/%s", id);
        *absolute = false;
        return 0;
    }
    if (strchr(in, ':'))
        return servin_error_set(
            err, EINVAL,
            "cgroupsPath %s looks like a systemd slice:prefix:name path, which Servin does "
            "not support; give a filesystem path",
            in);
    _cleanup_free_ char *copy = xstrdup(in);
    char *out = xcalloc(1, strlen(in) + 1), *save = NULL;
    for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            free(out);
            return servin_error_set(err, EINVAL, "cgroupsPath %s must not contain \"..\"", in);
        }
        if (*out)
            strcat(out, "/");
        strcat(out, part);
    }
    if (!*out) {
        free(out);
        return servin_error_set(err, EINVAL, "cgroupsPath %s names the root cgroup; give a cgroup of its own",
                                in);
    }
    *rel = out;
    *absolute = in[0] == '/';
    return 0;
}

/* mount + base + rel, where base is "/" or "/a/b". */
static char *join_cgroup_dir(const char *mount, const char *base, const char *rel)
{
    if (strcmp(base, "/") == 0 || !*base)
        return xasprintf("%s/%s", mount, rel);
    return xasprintf("%s%s/%s", mount, base, rel);
}

static char *parent_cgroup(const char *own)
{
    char *p = xstrdup(own);
    char *slash = strrchr(p, '/');
    if (!slash || slash == p)
        strcpy(p, "/");
    else
        *slash = '\0';
    return p;
}

int servin_cgroup_open(const struct servin_cgroup_system *sys, const char *cgroups_path, const char *id,
                       struct servin_cgroup **out, struct servin_error *err)
{
    _cleanup_free_ char *rel = NULL;
    bool absolute = false;
    int ret = clean_cgroups_path(cgroups_path, id, &rel, &absolute, err);
    if (ret < 0)
        return ret;

    _cleanup_(cgroup_freep) struct servin_cgroup *cg = xcalloc(1, sizeof(*cg));
    cg->mode = sys->mode;
    cg->plain_files = sys->plain_files;
    if (sys->mode == SERVIN_CGROUP_V2) {
        _cleanup_free_ char *base = absolute ? xstrdup("/") : parent_cgroup(sys->v2_own);
        cg->v2_dir = join_cgroup_dir(sys->v2_mount, base, rel);
    } else {
        for (int c = 0; c < CG_NCTRL; c++)
            if (sys->v1_mount[c])
                cg->v1_dir[c] = join_cgroup_dir(sys->v1_mount[c], absolute ? "/" : sys->v1_own[c], rel);
    }
    *out = steal_pointer(&cg);
    return 0;
}

int servin_cgroup_create(const struct servin_cgroup_system *sys, const char *cgroups_path, const char *id,
                         struct servin_cgroup **out, struct servin_error *err)
{
    _cleanup_(cgroup_freep) struct servin_cgroup *cg = NULL;
    int ret = servin_cgroup_open(sys, cgroups_path, id, &cg, err);
    if (ret < 0)
        return servin_error_wrap(err, "create cgroup");
    ret = sys->mode == SERVIN_CGROUP_V2 ? cg_v2_create(sys, cg, err) : cg_v1_create(sys, cg, err);
    if (ret < 0)
        return servin_error_wrap(err, "create cgroup %s", cgroups_path && *cgroups_path ? cgroups_path : id);
    *out = steal_pointer(&cg);
    return 0;
}

void servin_cgroup_free(struct servin_cgroup *cg)
{
    if (!cg)
        return;
    free(cg->v2_dir);
    for (int c = 0; c < CG_NCTRL; c++)
        free(cg->v1_dir[c]);
    free(cg);
}

const char *servin_cgroup_dir(const struct servin_cgroup *cg, const char *controller)
{
    if (cg->mode == SERVIN_CGROUP_V2)
        return cg->v2_dir;
    int c = controller ? cg_ctrl_from_name(controller) : -1;
    if (c < 0 && controller && strcmp(controller, "systemd") == 0)
        c = CG_SYSTEMD;
    return c < 0 ? NULL : cg->v1_dir[c];
}

enum servin_cgroup_mode servin_cgroup_mode(const struct servin_cgroup *cg)
{
    return cg->mode;
}

json_t *servin_cgroup_to_json(const struct servin_cgroup *cg)
{
    json_t *paths = json_object();
    if (cg->mode == SERVIN_CGROUP_V2) {
        json_object_set_new(paths, "", json_string(cg->v2_dir));
    } else {
        for (int c = 0; c < CG_NCTRL; c++)
            if (cg->v1_dir[c])
                json_object_set_new(paths, cg_ctrl_names[c], json_string(cg->v1_dir[c]));
    }
    json_t *state =
        json_pack("{s:s, s:o}", "mode", cg->mode == SERVIN_CGROUP_V2 ? "v2" : "v1", "paths", paths);
    if (cg->plain_files)
        json_object_set_new(state, "plainFiles", json_true());
    return state;
}

int servin_cgroup_from_json(const json_t *state, struct servin_cgroup **out, struct servin_error *err)
{
    const char *mode = json_string_value(json_object_get(state, "mode"));
    json_t *paths = json_object_get(state, "paths");
    if (!mode || !json_is_object(paths) || (strcmp(mode, "v1") != 0 && strcmp(mode, "v2") != 0))
        return servin_error_set(err, EINVAL,
                                "read cgroup state: expected {\"mode\": \"v1\"|\"v2\", \"paths\": {...}}");

    _cleanup_(cgroup_freep) struct servin_cgroup *cg = xcalloc(1, sizeof(*cg));
    cg->mode = strcmp(mode, "v2") == 0 ? SERVIN_CGROUP_V2 : SERVIN_CGROUP_V1;
    cg->plain_files = json_is_true(json_object_get(state, "plainFiles"));
    const char *key;
    json_t *value;
    json_object_foreach (paths, key, value) {
        const char *dir = json_string_value(value);
        if (!dir || dir[0] != '/')
            return servin_error_set(err, EINVAL, "read cgroup state: path of %s is not an absolute path",
                                    key);
        if (cg->mode == SERVIN_CGROUP_V2) {
            free(cg->v2_dir);
            cg->v2_dir = xstrdup(dir);
            continue;
        }
        int c = cg_ctrl_from_name(key);
        if (c < 0)
            return servin_error_set(err, EINVAL, "read cgroup state: unknown controller %s", key);
        free(cg->v1_dir[c]);
        cg->v1_dir[c] = xstrdup(dir);
    }
    if (cg->mode == SERVIN_CGROUP_V2 && !cg->v2_dir)
        return servin_error_set(err, EINVAL, "read cgroup state: no v2 path");
    *out = steal_pointer(&cg);
    return 0;
}
