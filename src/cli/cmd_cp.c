/* cli/cmd_cp.c — `cp`: copy files between a container and the host (or a tar stream on stdin or
 * stdout), with Docker's rules for where the copy lands. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/copy.h"

/* "name:path" names a container's path, unless it starts like a local path (a colon is allowed in
 * local file names that start with "/" or "."), as Docker splits it. */
static bool split_container(const char *arg, char **container, const char **path)
{
    if (arg[0] == '/' || arg[0] == '.')
        return false;
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg)
        return false;
    *container = xstrndup(arg, (size_t)(colon - arg));
    *path = colon + 1;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
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

static char *dir_of(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    while (len > 0 && path[len - 1] != '/')
        len--;
    while (len > 1 && path[len - 1] == '/')
        len--;
    return len ? xstrndup(path, len) : xstrdup("/");
}

/* Host paths are resolved from "/", so a relative one is made absolute first. */
static char *host_absolute(const char *path)
{
    if (path[0] == '/')
        return xstrdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return xstrdup(path);
    return xasprintf("%s/%s", cwd, path);
}

/* Decide where a copy of src (stat sst, named src_path) lands given dest: the directory to copy into
 * and the name of the top entry there (NULL: the source's own name; contents_only: no top). */
static int plan(int src_is_dir, const char *src_path, int dst_root, const char *dest, const char *dest_shown,
                struct servin_copy_opts *o, char **dest_dir, struct servin_error *err)
{
    struct servin_path_stat dst = {0};
    struct servin_error e = {0};
    int r = servin_copy_stat(dst_root, dest, true, &dst, &e);
    if (r == 0) {
        bool is_dir = S_ISDIR(dst.mode);
        servin_path_stat_clear(&dst);
        if (is_dir) {
            *dest_dir = xstrdup(dest);
            o->contents_only = src_is_dir && (ends_with(src_path, "/.") || strcmp(src_path, ".") == 0);
            return 0;
        }
        if (src_is_dir)
            return servin_error_set(err, ENOTDIR, "cannot copy a directory to a file: %s", dest_shown);
        *dest_dir = dir_of(dest);
        o->top = base_of(dest);
        return 0;
    }
    if (r != -ENOENT) {
        *err = e;
        return r;
    }
    if (!src_is_dir && ends_with(dest, "/"))
        return servin_error_set(err, ENOENT, "destination directory %s does not exist", dest_shown);
    _cleanup_free_ char *parent = dir_of(dest);
    r = servin_copy_stat(dst_root, parent, true, &dst, &e);
    bool parent_dir = r == 0 && S_ISDIR(dst.mode);
    servin_path_stat_clear(&dst);
    if (!parent_dir)
        return servin_error_set(err, ENOENT, "no such directory: %s", parent);
    *dest_dir = steal_pointer(&parent);
    o->top = base_of(dest);
    return 0;
}

int cmd_cp(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"archive", no_argument, 0, 'a'},
                                             {"follow-link", no_argument, 0, 'L'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    struct servin_copy_opts o = {0};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "aLqh", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'a':
            o.keep_owner = true;
            break;
        case 'L':
            o.follow_link = true;
            break;
        case 'q':
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 2)
        return cli_usage_error(ctx, "\"%s\" requires exactly 2 arguments.", ctx->cmd->path);
    const char *src_arg = argv[optind], *dst_arg = argv[optind + 1];
    _cleanup_free_ char *src_ctr = NULL, *dst_ctr = NULL;
    const char *src_path = src_arg, *dst_path = dst_arg;
    bool src_in = split_container(src_arg, &src_ctr, &src_path);
    bool dst_in = split_container(dst_arg, &dst_ctr, &dst_path);
    if (src_in && dst_in)
        return cli_failf("copying between containers is not supported");
    if (!src_in && !dst_in)
        return cli_failf("must specify at least one container source: CONTAINER:PATH");
    if (!*src_path || !*dst_path)
        return cli_failf("a path must not be empty");
    if (strcmp(src_path, "-") == 0 && strcmp(dst_path, "-") == 0)
        return cli_failf("only one side of a copy can be a stream (-)");

    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    struct servin_container ct = {0};
    if (servin_container_get(store, src_in ? src_ctr : dst_ctr, &ct, &err) < 0)
        return cli_fail(&err);
    struct servin_container_root root;
    if (servin_container_root_open(store, &ct, &root, &err) < 0) {
        servin_container_clear(&ct);
        return cli_fail(&err);
    }
    _cleanup_close_ int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int code = 0, ret = 0;
    _cleanup_free_ char *dest_dir = NULL;
    _cleanup_free_ char *top = NULL;
    const char *ctr_name = src_in ? src_ctr : dst_ctr;

    if (src_in) {
        /* Out of the container: files get the owner of whoever runs cp, unless -a. */
        o.uid = getuid();
        o.gid = getgid();
        struct servin_path_stat st = {0};
        ret = servin_copy_stat(root.fd, src_path, o.follow_link, &st, &err);
        if (ret == -ENOENT) {
            ret = servin_error_set(&err, ENOENT, "Could not find the file %s in container %s", src_path,
                                   ctr_name);
        } else if (ret == 0) {
            bool is_dir = S_ISDIR(st.mode);
            if (!is_dir && (ends_with(src_path, "/") || ends_with(src_path, "/.")))
                ret = servin_error_set(&err, ENOTDIR, "%s: not a directory", src_path);
            else if (strcmp(dst_path, "-") == 0) {
                o.contents_only = is_dir && ends_with(src_path, "/.");
                if (isatty(STDOUT_FILENO))
                    ret = servin_error_set(&err, EINVAL,
                                           "cowardly refusing to write a tar archive to a terminal");
                else
                    ret = servin_copy_to_tar(root.fd, src_path, &o, STDOUT_FILENO, &err);
            } else {
                _cleanup_free_ char *dest = host_absolute(dst_path);
                ret = plan(is_dir, src_path, host, dest, dst_path, &o, &dest_dir, &err);
                top = (char *)o.top;
                if (ret == 0)
                    ret = servin_copy_tree(root.fd, src_path, host, dest_dir, &o, &err);
            }
        }
        servin_path_stat_clear(&st);
    } else {
        /* Into the container: files belong to the container's root, unless -a. */
        if (strcmp(src_path, "-") == 0) {
            struct servin_path_stat st = {0};
            ret = servin_copy_stat(root.fd, dst_path, true, &st, &err);
            if (ret == 0 && !S_ISDIR(st.mode))
                ret = servin_error_set(&err, ENOTDIR, "destination \"%s:%s\" must be a directory", ctr_name,
                                       dst_path);
            else if (ret == -ENOENT)
                ret = servin_error_set(&err, ENOENT, "Could not find the file %s in container %s", dst_path,
                                       ctr_name);
            servin_path_stat_clear(&st);
            if (ret == 0)
                ret = servin_copy_from_tar(STDIN_FILENO, root.fd, dst_path, &o, &err);
        } else {
            _cleanup_free_ char *src = host_absolute(src_path);
            struct servin_path_stat st = {0};
            ret = servin_copy_stat(host, src, o.follow_link, &st, &err);
            if (ret == -ENOENT)
                ret = servin_error_set(&err, ENOENT, "could not find %s on the host", src_path);
            else if (ret == 0 && !S_ISDIR(st.mode) && (ends_with(src_path, "/") || ends_with(src_path, "/.")))
                ret = servin_error_set(&err, ENOTDIR, "%s: not a directory", src_path);
            if (ret == 0) {
                _cleanup_free_ char *shown = xasprintf("%s:%s", ctr_name, dst_path);
                ret = plan(S_ISDIR(st.mode), src_path, root.fd, dst_path, shown, &o, &dest_dir, &err);
                top = (char *)o.top;
            }
            servin_path_stat_clear(&st);
            if (ret == 0)
                ret = servin_copy_tree(host, src, root.fd, dest_dir, &o, &err);
        }
    }
    if (ret < 0)
        code = cli_fail(&err);
    servin_container_root_release(store, &ct, &root);
    servin_container_clear(&ct);
    return code;
}
