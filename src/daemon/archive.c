/* daemon/archive.c — /containers/{id}/archive (HEAD: stat, GET: a tar of a path, PUT: extract a tar
 * into a directory; what `docker cp` uses both ways) and /containers/{id}/export (the whole root
 * filesystem as a tar), on libservin's copy calls (copy.h) that `servin cp` uses too. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/copy.h"
#include "servin/timefmt.h"

/* Go's os.FileMode bits, which Docker's clients read from the stat header. */
static json_int_t go_file_mode(mode_t m)
{
    json_int_t g = m & 0777;
    if (S_ISDIR(m))
        g |= 1LL << 31;
    else if (S_ISLNK(m))
        g |= 1LL << 27;
    else if (S_ISBLK(m))
        g |= 1LL << 26;
    else if (S_ISCHR(m))
        g |= (1LL << 26) | (1LL << 21);
    else if (S_ISFIFO(m))
        g |= 1LL << 25;
    else if (S_ISSOCK(m))
        g |= 1LL << 24;
    if (m & S_ISUID)
        g |= 1LL << 23;
    if (m & S_ISGID)
        g |= 1LL << 22;
    if (m & S_ISVTX)
        g |= 1LL << 20;
    return g;
}

static char *base64(const unsigned char *in, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* X-Docker-Container-Path-Stat: base64 of {"name","size","mode","mtime","linkTarget"}. */
static char *stat_header(const struct servin_path_stat *st)
{
    char mtime[SERVIN_RFC3339_MAX];
    servin_time_format_rfc3339(st->mtime * 1000000000LL, mtime);
    json_t *j = json_pack("{s:s,s:I,s:I,s:s,s:s}", "name", st->name ? st->name : "", "size",
                          (json_int_t)st->size, "mode", go_file_mode(st->mode), "mtime", mtime, "linkTarget",
                          st->link_target ? st->link_target : "");
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *out = base64((const unsigned char *)text, strlen(text));
    free(text);
    return out;
}

/* A path under a bind or volume mount is that mount's (the container's root below it is not what
 * the container sees): the directory fd to resolve from and the path inside it. -1 when no mount
 * covers the path, or it is a tmpfs (not reachable from the host). */
static int mount_for(const struct servin_container *c, const char *path, char **inner)
{
    const char *best_src = NULL;
    size_t best_len = 0;
    size_t i;
    json_t *m;
    json_array_foreach (json_object_get(c->config, "MountPoints"), i, m) {
        const char *dst = json_string_value(json_object_get(m, "Destination"));
        const char *src = json_string_value(json_object_get(m, "Source"));
        const char *type = json_string_value(json_object_get(m, "Type"));
        if (!dst || !src || !*src || (type && strcmp(type, "tmpfs") == 0))
            continue;
        size_t len = strlen(dst);
        while (len > 1 && dst[len - 1] == '/')
            len--;
        const char *p = path;
        while (p[0] == '/' && p[1] == '/')
            p++;
        if (strncmp(p, dst, len) == 0 && (p[len] == '\0' || p[len] == '/') && len > best_len) {
            best_src = src;
            best_len = len;
        }
    }
    if (!best_src)
        return -1;
    const char *p = path;
    while (p[0] == '/' && p[1] == '/')
        p++;
    *inner = xasprintf("/%s", p[best_len] == '/' ? p + best_len + 1 : p + best_len);
    return open(best_src, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static char *base_of(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    return xstrndup(path + start, len - start);
}

/* Open the container named by the path and its root; a 404/500 reply on failure. */
static int open_root(struct dreq *r, struct servin_store **store, struct servin_container *c,
                     struct servin_container_root *root)
{
    struct servin_error err = {0};
    if (dreq_container(r, r->params[0], c, store) < 0)
        return -1;
    if (servin_container_root_open(*store, c, root, &err) < 0) {
        servin_container_clear(c);
        return dreply_servin_error(r, &err), -1;
    }
    return 0;
}

/* ---- GET/HEAD: the tar streams from a worker that holds the root open until it is done ---- */

struct tar_job {
    char *root_dir;
    struct servin_container c;
    struct servin_container_root root;
    char *path;
    char *top;    /* the top entry's name when the path was rewritten into a mount */
    int mount_fd; /* -1, or the mount the path is in (then path is inside it) */
    bool contents_only, dot_top;
};

static void tar_job_free(void *p)
{
    struct tar_job *j = p;
    struct servin_error err = {0};
    _cleanup_store_ struct servin_store *store = NULL;
    /* Release needs a store of this thread (the request's is gone with the request). */
    if (daemon_store_open(j->root_dir, &store, &err) == 0)
        servin_container_root_release(store, &j->c, &j->root);
    servin_container_clear(&j->c);
    if (j->mount_fd >= 0)
        close(j->mount_fd);
    free(j->root_dir);
    free(j->path);
    free(j->top);
    free(j);
}

static void tar_stream(void *arg, FILE *out)
{
    struct tar_job *j = arg;
    struct servin_error err = {0};
    /* "dir/." comes as Docker's daemon sends it: entries under a top "." that the client renames. */
    struct servin_copy_opts o = {
        .keep_owner = true, .top = j->dot_top ? "." : j->top, .contents_only = j->contents_only};
    int fd = dstream_fd(out);
    int base = j->mount_fd >= 0 ? j->mount_fd : j->root.fd;
    if (fd < 0 || servin_copy_to_tar(base, j->path, &o, fd, &err) < 0)
        dstream_abort(out);
}

static int archive_get(struct dreq *r)
{
    const char *path = dreq_query(r, "path");
    if (!path || !*path)
        return dreply_error(r, 400, "a path is required (path)");
    struct servin_store *store;
    struct servin_container c = {0};
    struct servin_container_root root = {0};
    if (open_root(r, &store, &c, &root) < 0)
        return 0;
    struct servin_error err = {0};
    struct servin_path_stat st = {0};
    char *inner = NULL;
    int mount_fd = mount_for(&c, path, &inner);
    const char *where = mount_fd >= 0 ? inner : path;
    if (servin_copy_stat(mount_fd >= 0 ? mount_fd : root.fd, where, false, &st, &err) < 0) {
        if (mount_fd >= 0)
            close(mount_fd);
        free(inner);
        servin_container_root_release(store, &c, &root);
        servin_container_clear(&c);
        if (err.code == ENOENT)
            return dreply_error(r, 404, "Could not find the file %s in container %s", path, r->params[0]);
        return dreply_servin_error(r, &err);
    }
    _cleanup_free_ char *base_name = base_of(path);
    if (mount_fd >= 0) {
        free(st.name);
        st.name = xstrdup(base_name);
    }
    _cleanup_free_ char *header = stat_header(&st);
    servin_path_stat_clear(&st);
    if (strcmp(r->method, "HEAD") == 0) {
        if (mount_fd >= 0)
            close(mount_fd);
        free(inner);
        servin_container_root_release(store, &c, &root);
        servin_container_clear(&c);
        dreply_empty(r, 200);
        dreply_add_header(r, "X-Docker-Container-Path-Stat", header);
        return 0;
    }
    struct tar_job *j = xcalloc(1, sizeof(*j));
    j->root_dir = xstrdup(r->d->root ? r->d->root : SERVIN_DEFAULT_ROOT);
    j->c = c; /* the job owns the container and its root now */
    j->root = root;
    size_t len = strlen(path);
    j->dot_top = len >= 2 && strcmp(path + len - 2, "/.") == 0;
    j->mount_fd = mount_fd;
    j->path = mount_fd >= 0 ? inner : xstrdup(path);
    if (mount_fd >= 0 && !j->dot_top)
        j->top = xstrdup(base_name);
    dreply_stream(r, 200, "application/x-tar", tar_stream, j, tar_job_free);
    dreply_add_header(r, "X-Docker-Container-Path-Stat", header);
    return 0;
}

static int archive_put(struct dreq *r)
{
    const char *path = dreq_query(r, "path");
    if (!path || !*path)
        return dreply_error(r, 400, "a path is required (path)");
    if (r->body_fd < 0)
        return dreply_error(r, 400, "a tar archive is required as the request body");
    struct servin_store *store;
    struct servin_container c = {0};
    struct servin_container_root root = {0};
    if (open_root(r, &store, &c, &root) < 0)
        return 0;
    struct servin_error err = {0};
    struct servin_path_stat st = {0};
    int ret;
    _cleanup_free_ char *inner = NULL;
    int mount_fd = mount_for(&c, path, &inner);
    int base = mount_fd >= 0 ? mount_fd : root.fd;
    const char *where = mount_fd >= 0 ? inner : path;
    if (servin_copy_stat(base, where, true, &st, &err) < 0) {
        ret = err.code == ENOENT
                  ? dreply_error(r, 404, "Could not find the file %s in container %s", path, r->params[0])
                  : dreply_servin_error(r, &err);
    } else if (!S_ISDIR(st.mode)) {
        ret = dreply_error(r, 400, "extraction point is not a directory: %s", path);
    } else {
        struct servin_copy_opts o = {.keep_owner = dreq_query_bool(r, "copyUIDGID", false)};
        if (servin_copy_from_tar(r->body_fd, base, where, &o, &err) < 0)
            ret = dreply_servin_error(r, &err);
        else
            ret = dreply_empty(r, 200);
    }
    servin_path_stat_clear(&st);
    if (mount_fd >= 0)
        close(mount_fd);
    servin_container_root_release(store, &c, &root);
    servin_container_clear(&c);
    return ret;
}

static int export_container(struct dreq *r)
{
    struct servin_store *store;
    struct servin_container c = {0};
    struct servin_container_root root = {0};
    if (open_root(r, &store, &c, &root) < 0)
        return 0;
    struct tar_job *j = xcalloc(1, sizeof(*j));
    j->root_dir = xstrdup(r->d->root ? r->d->root : SERVIN_DEFAULT_ROOT);
    j->c = c;
    j->root = root;
    j->path = xstrdup("/");
    j->mount_fd = -1;
    j->contents_only = true;
    return dreply_stream(r, 200, "application/x-tar", tar_stream, j, tar_job_free);
}

const struct droute daemon_archive_routes[] = {
    {"GET", "/containers/*/archive", archive_get, 0},
    {"PUT", "/containers/*/archive", archive_put, DROUTE_BODY_FILE},
    {"GET", "/containers/*/export", export_container, 0},
    {NULL, NULL, NULL, 0},
};
