/* container/spec_user.c — the container's user: Docker's "user[:group]" against the image's
 * /etc/passwd and /etc/group. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "container/spec_internal.h"
#include "runtime/rootfs_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/image.h"

void ctr_user_clear(struct ctr_user *u)
{
    free(u->groups);
    free(u->home);
    memset(u, 0, sizeof(*u));
}

static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(const char *dir)
{
    char v[4] = "";
    ssize_t n = lgetxattr(dir, "trusted.overlay.opaque", v, sizeof(v));
    return n == 1 && v[0] == 'y';
}

/* In one layer: 1 = found (*path set), 0 = not here (look below), -1 = hidden from below. A
 * symlink is not followed: in a layer dir it would resolve against the host's root. */
static int look_in_layer(const char *diff, const char *rel, char **path)
{
    _cleanup_free_ char *copy = xstrdup(rel);
    _cleanup_free_ char *cur = xstrdup(diff);
    bool stop_below = false;
    struct stat st;
    for (char *save = NULL, *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        char *next = xasprintf("%s/%s", cur, part);
        free(cur);
        cur = next;
        if (lstat(cur, &st) < 0)
            return stop_below ? -1 : 0;
        if (is_whiteout(&st))
            return -1;
        /* An opaque directory hides what lower layers have under it. */
        if (S_ISDIR(st.st_mode) && is_opaque(cur))
            stop_below = true;
    }
    if (S_ISREG(st.st_mode)) {
        *path = steal_pointer(&cur);
        return 1;
    }
    return -1;
}

/* A regular file of the mounted root, resolved as if merged/ were "/": the image's symlinks cannot
 * lead to the host's files. */
static char *read_in_root(const char *merged, const char *rel)
{
    struct servin_error err = {0};
    _cleanup_close_ int root = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return NULL;
    _cleanup_free_ char *abs = xasprintf("/%s", rel);
    _cleanup_close_ int at = rootfs_open_in_root(root, abs, ROOTFS_NO_CREATE, &err);
    if (at < 0)
        return NULL;
    char fd_path[ROOTFS_FD_PATH_MAX];
    _cleanup_close_ int fd = open(rootfs_fd_path(at, fd_path), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return NULL;
    _cleanup_free_ char *proc_path = xasprintf("/proc/self/fd/%d", fd);
    char *text = NULL;
    if (servin_read_file(proc_path, &text, NULL, &err) < 0)
        return NULL;
    return text;
}

char *ctr_rootfs_read(struct servin_store *store, const struct servin_container *c, const char *rel)
{
    _cleanup_free_ char *dir = servin_container_dir(store, c->id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    struct stat mst, dst;
    if (stat(merged, &mst) == 0 && stat(dir, &dst) == 0 && mst.st_dev != dst.st_dev)
        return read_in_root(merged, rel);
    struct servin_layer_desc *layers = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    if (servin_image_layers(store, c->image_id, &layers, &n, &err) < 0)
        return NULL;
    _cleanup_free_ char *found = NULL;
    for (size_t i = n; i-- > 0;) {
        _cleanup_free_ char *diff = servin_layer_diff_path(store, layers[i].chain_id);
        if (look_in_layer(diff, rel, &found) != 0)
            break;
    }
    servin_layer_descs_free(layers, n);
    char *text = NULL;
    if (found && servin_read_file(found, &text, NULL, &err) < 0)
        return NULL;
    return text;
}

static bool parse_id(const char *s, unsigned *out)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || s[0] == '-' || v > UINT_MAX - 1)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Split a colon-separated line in place into at most max fields; returns the count. */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    fields[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == ':') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    }
    return n;
}

struct passwd_entry {
    bool found;
    char *name;
    unsigned uid, gid;
    char *home;
};

/* The passwd entry whose name is `name`, or (name NULL) whose uid is `uid`. */
static void find_passwd(const char *text, const char *name, unsigned uid, struct passwd_entry *out)
{
    memset(out, 0, sizeof(*out));
    _cleanup_fclose_ FILE *f = text ? fmemopen((void *)text, strlen(text), "r") : NULL;
    char line[4096];
    while (f && fgets(line, sizeof(line), f)) {
        char *fld[7] = {0};
        if (line[0] == '#' || split_fields(line, fld, 7) < 4)
            continue;
        unsigned u, g;
        if (!parse_id(fld[2], &u) || !parse_id(fld[3], &g))
            continue;
        if (name ? strcmp(fld[0], name) == 0 : u == uid) {
            out->found = true;
            out->name = xstrdup(fld[0]);
            out->uid = u;
            out->gid = g;
            out->home = xstrdup(fld[5] && fld[5][0] ? fld[5] : "/");
            return;
        }
    }
}

/* Find a group by name (when name is set) and collect the groups user_name is a member of. */
static bool scan_groups(const char *text, const char *name, unsigned *gid, const char *user_name,
                        gid_t primary, struct ctr_user *u)
{
    bool found = false;
    _cleanup_fclose_ FILE *f = text ? fmemopen((void *)text, strlen(text), "r") : NULL;
    char line[16384];
    while (f && fgets(line, sizeof(line), f)) {
        char *fld[4] = {0};
        if (line[0] == '#' || split_fields(line, fld, 4) < 3)
            continue;
        unsigned g;
        if (!parse_id(fld[2], &g))
            continue;
        if (name && !found && strcmp(fld[0], name) == 0) {
            *gid = g;
            found = true;
        }
        if (!user_name || fld[3] == NULL || g == primary)
            continue;
        for (char *save = NULL, *m = strtok_r(fld[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
            if (strcmp(m, user_name) != 0)
                continue;
            bool dup = false;
            for (size_t i = 0; i < u->n_groups; i++)
                dup = dup || u->groups[i] == g;
            if (!dup) {
                u->groups = xreallocarray(u->groups, u->n_groups + 1, sizeof(gid_t));
                u->groups[u->n_groups++] = g;
            }
        }
    }
    return found;
}

int ctr_user_resolve(const char *spec, const char *passwd, const char *group_text, struct ctr_user *out,
                     struct servin_error *err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_free_ char *user = xstrdup(spec && *spec ? spec : "0");
    char *group = strchr(user, ':');
    if (group)
        *group++ = '\0';
    if (!*user)
        return servin_error_set(err, EINVAL, "invalid user \"%s\": the user part is empty", spec);

    struct passwd_entry pw;
    unsigned uid = 0;
    if (parse_id(user, &uid)) {
        /* A number needs no entry; when there is one, it supplies the group and home. */
        find_passwd(passwd, NULL, uid, &pw);
    } else {
        find_passwd(passwd, user, 0, &pw);
        if (!pw.found)
            return servin_error_set(err, EINVAL, "invalid user \"%s\": no such user in the image%s", user,
                                    passwd ? "" : " (it has no /etc/passwd)");
        uid = pw.uid;
    }
    unsigned gid = pw.found ? pw.gid : 0;
    bool named_group = group && *group && !parse_id(group, &gid);
    if (group && !*group) {
        free(pw.name);
        free(pw.home);
        return servin_error_set(err, EINVAL, "invalid user \"%s\": the group part is empty", spec);
    }
    struct ctr_user u = {.uid = uid};
    bool group_found =
        scan_groups(group_text, named_group ? group : NULL, &gid, pw.found ? pw.name : NULL, (gid_t)gid, &u);
    if (named_group && !group_found) {
        free(pw.name);
        free(pw.home);
        ctr_user_clear(&u);
        return servin_error_set(err, EINVAL, "invalid group \"%s\": no such group in the image%s", group,
                                group_text ? "" : " (it has no /etc/group)");
    }
    u.gid = gid;
    /* The primary group need not be listed again among the supplementary ones. */
    size_t kept = 0;
    for (size_t i = 0; i < u.n_groups; i++)
        if (u.groups[i] != (gid_t)gid)
            u.groups[kept++] = u.groups[i];
    u.n_groups = kept;
    u.home = pw.found ? steal_pointer(&pw.home) : xstrdup("/");
    free(pw.name);
    free(pw.home);
    *out = u;
    return 0;
}

int ctr_group_id(const char *spec, const char *group_text, gid_t *out, struct servin_error *err)
{
    unsigned gid = 0;
    if (!spec || !*spec)
        return servin_error_set(err, EINVAL, "invalid additional group: the name is empty");
    if (parse_id(spec, &gid)) {
        *out = (gid_t)gid;
        return 0;
    }
    struct ctr_user none = {0};
    bool found = scan_groups(group_text, spec, &gid, NULL, 0, &none);
    ctr_user_clear(&none);
    if (!found)
        return servin_error_set(err, EINVAL, "invalid additional group \"%s\": no such group in the image%s",
                                spec, group_text ? "" : " (it has no /etc/group)");
    *out = (gid_t)gid;
    return 0;
}
