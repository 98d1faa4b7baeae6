/* build/context.c — the build context (a directory, or a tar stream unpacked to a private one),
 * its .dockerignore, the Buildfile in it, and the sources COPY and ADD name, resolved and hashed
 * for the cache. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "build/build_internal.h"
#include "image/archive_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

int bf_context_open(struct servin_store *store, const struct servin_build_opts *o, struct bf_context *ctx,
                    struct servin_error *err)
{
    memset(ctx, 0, sizeof(*ctx));
    int ret = 0;
    if (o->context_dir) {
        char *real = realpath(o->context_dir, NULL);
        struct stat st;
        if (!real || stat(real, &st) < 0) {
            free(real);
            return servin_error_errno(err, errno, "unable to prepare the build context %s", o->context_dir);
        }
        if (!S_ISDIR(st.st_mode)) {
            free(real);
            return servin_error_set(err, ENOTDIR, "unable to prepare the build context %s: not a directory",
                                    o->context_dir);
        }
        ctx->dir = real;
    } else {
        _cleanup_free_ char *parent = servin_store_path(store, "tmp");
        ret = servin_mkdir_p(parent, 0700, err);
        if (ret < 0)
            return ret;
        ctx->tmp = xasprintf("%s/build-context-XXXXXX", parent);
        if (!mkdtemp(ctx->tmp)) {
            ret = servin_error_errno(err, errno, "create a directory for the build context in %s", parent);
            free(ctx->tmp);
            ctx->tmp = NULL;
            return ret;
        }
        ctx->dir = xstrdup(ctx->tmp);
        ret = archive_extract_fd(o->context_fd, ctx->dir, err);
        if (ret < 0) {
            bf_context_close(ctx);
            return servin_error_wrap(err, "read the build context");
        }
    }
    _cleanup_free_ char *ignore_path = xasprintf("%s/.dockerignore", ctx->dir);
    _cleanup_free_ char *text = NULL;
    struct servin_error ignored = {0};
    servin_read_file(ignore_path, &text, NULL, &ignored);
    ctx->ignore = bf_ignore_parse(text);
    return 0;
}

void bf_context_close(struct bf_context *ctx)
{
    if (ctx->tmp)
        servin_rm_rf(ctx->tmp, NULL);
    free(ctx->tmp);
    free(ctx->dir);
    bf_ignore_free(ctx->ignore);
    memset(ctx, 0, sizeof(*ctx));
}

int bf_context_buildfile(const struct bf_context *ctx, const char *file, char **text, size_t *len,
                         char **name, struct servin_error *err)
{
    if (file) {
        _cleanup_free_ char *path = file[0] == '/' ? xstrdup(file) : xasprintf("%s/%s", ctx->dir, file);
        int ret = servin_read_file(path, text, len, err);
        if (ret < 0)
            return servin_error_wrap(err, "read the Buildfile %s", file);
        const char *base = strrchr(file, '/');
        *name = xstrdup(base ? base + 1 : file);
        return 0;
    }
    static const char *const names[] = {"Buildfile", "Dockerfile"};
    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", ctx->dir, names[i]);
        struct servin_error e = {0};
        if (servin_read_file(path, text, len, &e) == 0) {
            *name = xstrdup(names[i]);
            return 0;
        }
        if (e.code != ENOENT) {
            *err = e;
            return servin_error_wrap(err, "read the Buildfile");
        }
    }
    return servin_error_set(err, ENOENT,
                            "no Buildfile: neither %s/Buildfile nor %s/Dockerfile exists (name one with -f)",
                            ctx->dir, ctx->dir);
}

char *bf_clean_rel(const char *path)
{
    _cleanup_free_ char *copy = xstrdup(path);
    size_t cap = strlen(path) + 2;
    char *out = xcalloc(cap, 1);
    size_t len = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (strcmp(t, ".") == 0)
            continue;
        if (strcmp(t, "..") == 0) {
            if (len == 0) {
                free(out);
                return NULL;
            }
            char *slash = strrchr(out, '/');
            len = slash ? (size_t)(slash - out) : 0;
            out[len] = '\0';
            continue;
        }
        if (len)
            out[len++] = '/';
        memcpy(out + len, t, strlen(t) + 1);
        len += strlen(t);
    }
    return out;
}

void bf_sources_free(struct bf_source *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].rel);
    free(v);
}

static int open_in_root(int root, const char *rel, int flags)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    int fd = (int)syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
    return fd < 0 ? -errno : fd;
}

struct lister {
    const struct bf_ignore *ignore;
    char **paths;
    size_t n;
};

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every path under the root (sorted, depth first), for glob sources. */
static void list_tree(struct lister *l, int dir_fd, const char *rel)
{
    struct dirent **names = NULL;
    _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", dir_fd);
    int n = scandir(proc, &names, NULL, by_name);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            _cleanup_free_ char *path = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
            bool skip = bf_ignore_match(l->ignore, path);
            if (!skip) {
                l->paths = xreallocarray(l->paths, l->n + 2, sizeof(char *));
                l->paths[l->n++] = xstrdup(path);
                l->paths[l->n] = NULL;
            }
            struct stat st;
            if ((!skip || bf_ignore_has_exceptions(l->ignore)) &&
                fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
                int sub = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0) {
                    list_tree(l, sub, path);
                    close(sub);
                }
            }
        }
        free(names[i]);
    }
    free(names);
}

static void hash_str(struct servin_sha256 *h, const char *s)
{
    servin_sha256_update(h, s, strlen(s) + 1);
}

/* Feed a source tree to the hash: each entry's path, type, mode and content or link target. */
static int hash_tree(struct servin_sha256 *h, const struct bf_ignore *ig, int dir_fd, const char *name,
                     const char *rel, struct servin_error *err)
{
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return servin_error_errno(err, errno, "read %s", rel);
    char meta[96];
    snprintf(meta, sizeof(meta), "%o %lld", (unsigned)st.st_mode,
             S_ISREG(st.st_mode) ? (long long)st.st_size : 0);
    hash_str(h, rel);
    hash_str(h, meta);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(dir_fd, name, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        hash_str(h, target);
    } else if (S_ISREG(st.st_mode)) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return servin_error_errno(err, errno, "read %s", rel);
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            servin_sha256_update(h, buf, (size_t)n);
        if (n < 0)
            return servin_error_errno(err, errno, "read %s", rel);
    } else if (S_ISDIR(st.st_mode)) {
        int sub = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return servin_error_errno(err, errno, "read %s", rel);
        struct dirent **names = NULL;
        _cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", sub);
        int n = scandir(proc, &names, NULL, by_name);
        int ret = n < 0 ? servin_error_errno(err, errno, "list %s", rel) : 0;
        for (int i = 0; i < n; i++) {
            const char *child = names[i]->d_name;
            if (ret == 0 && strcmp(child, ".") != 0 && strcmp(child, "..") != 0) {
                _cleanup_free_ char *path = rel[0] ? xasprintf("%s/%s", rel, child) : xstrdup(child);
                if (!bf_ignore_match(ig, path) || bf_ignore_has_exceptions(ig))
                    ret = hash_tree(h, ig, sub, child, path, err);
            }
            free(names[i]);
        }
        free(names);
        close(sub);
        return ret;
    }
    return 0;
}

static void add_source(struct bf_source **v, size_t *n, const char *rel, bool is_dir)
{
    *v = xreallocarray(*v, *n + 1, sizeof(**v));
    (*v)[(*n)++] = (struct bf_source){.rel = xstrdup(rel), .is_dir = is_dir};
}

int bf_sources_resolve(const char *root, const struct bf_ignore *ignore, char *const *patterns, size_t n,
                       const char *what, struct bf_source **out, size_t *n_out, struct servin_sha256 *hash,
                       struct servin_error *err)
{
    _cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return servin_error_errno(err, errno, "open %s", root);
    struct bf_source *v = NULL;
    size_t count = 0;
    struct lister l = {.ignore = ignore};
    bool listed = false;
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        _cleanup_free_ char *rel = bf_clean_rel(patterns[i]);
        if (!rel) {
            ret = servin_error_set(err, EINVAL, "forbidden path outside the %s: %s", what, patterns[i]);
            break;
        }
        size_t before = count;
        if (strpbrk(rel, "*?[")) {
            if (!listed) {
                _cleanup_close_ int top = open_in_root(root_fd, "", O_RDONLY | O_DIRECTORY);
                if (top >= 0)
                    list_tree(&l, top, "");
                listed = true;
            }
            for (size_t k = 0; k < l.n; k++) {
                if (!bf_glob_match(rel, l.paths[k]))
                    continue;
                struct stat st;
                _cleanup_close_ int fd = open_in_root(root_fd, l.paths[k], O_PATH);
                add_source(&v, &count, l.paths[k], fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
            }
        } else if (!rel[0] || !bf_ignore_match(ignore, rel)) {
            _cleanup_close_ int fd = open_in_root(root_fd, rel, O_PATH);
            struct stat st;
            if (fd >= 0 && fstat(fd, &st) == 0)
                add_source(&v, &count, rel, S_ISDIR(st.st_mode));
        }
        if (count == before)
            ret = servin_error_set(err, ENOENT, "%s: not found in the %s%s", patterns[i], what,
                                   ignore ? " (or excluded by .dockerignore)" : "");
    }
    strv_free(l.paths);
    for (size_t i = 0; i < count && ret == 0 && hash; i++) {
        /* Hash the source itself with its top-level symlinks followed, as the copy does. */
        _cleanup_free_ char *parent_rel = xstrdup(v[i].rel);
        char *slash = strrchr(parent_rel, '/');
        _cleanup_free_ char *name = xstrdup(slash ? slash + 1 : parent_rel);
        if (slash)
            *slash = '\0';
        else
            parent_rel[0] = '\0';
        if (!v[i].rel[0]) {
            ret = hash_tree(hash, ignore, root_fd, ".", "", err);
            continue;
        }
        _cleanup_close_ int parent = open_in_root(root_fd, parent_rel, O_RDONLY | O_DIRECTORY);
        if (parent < 0) {
            ret = servin_error_errno(err, -parent, "open %s", v[i].rel);
            break;
        }
        ret = hash_tree(hash, ignore, parent, name, v[i].rel, err);
    }
    if (ret < 0) {
        bf_sources_free(v, count);
        return ret;
    }
    *out = v;
    *n_out = count;
    return 0;
}
