/* cli/cmd_export.c — `diff` (what a container changed) and `export` (its filesystem as a tar). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "run_flags.h"
#include "servin/container.h"

static int one_container(struct cli_ctx *ctx, int argc, char **argv, const char *optstring,
                         const struct option *longopts, const char **output, struct servin_container *ct)
{
    int c;
    while ((c = cli_getopt(ctx, argc, argv, optstring, longopts)) != -1) {
        if (c == 'h')
            return 1;
        if (c == 'o')
            *output = optarg;
        else
            return -1;
    }
    if (argc - optind != 1) {
        cli_usage_error(ctx, "\"%s\" requires exactly 1 argument.", ctx->cmd->path);
        return -1;
    }
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return -1;
    struct servin_error err = {0};
    if (servin_container_get(store, argv[optind], ct, &err) < 0) {
        cli_fail(&err);
        return -1;
    }
    return 0;
}

int cmd_container_diff(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    struct servin_container ct = {0};
    int r = one_container(ctx, argc, argv, "h", longopts, NULL, &ct);
    if (r != 0)
        return r > 0 ? 0 : CLI_EXIT_FAILURE;
    struct servin_error err = {0};
    char **changes = NULL;
    int code = 0;
    if (servin_container_diff(cli_store(ctx), &ct, &changes, &err) < 0)
        code = cli_fail(&err);
    for (char **p = changes; p && *p; p++)
        puts(*p);
    strv_free(changes);
    servin_container_clear(&ct);
    return code;
}

/* Write the tree under root to out as a tar with paths relative to root, as `docker export` does. */
static int write_tree(const char *root, int out_fd, struct servin_error *err)
{
    struct archive *disk = archive_read_disk_new();
    struct archive *tar = archive_write_new();
    int ret = 0;
    archive_read_disk_set_standard_lookup(disk);
    archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_XATTR);
    archive_write_set_format_pax_restricted(tar);
    if (archive_write_open_fd(tar, out_fd) != ARCHIVE_OK || archive_read_disk_open(disk, root) != ARCHIVE_OK) {
        ret = servin_error_set(err, EIO, "export %s: %s", root, archive_error_string(disk));
        goto out;
    }
    size_t root_len = strlen(root);
    struct archive_entry *entry = archive_entry_new();
    char buf[65536];
    for (;;) {
        int r = archive_read_next_header2(disk, entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            ret = servin_error_set(err, EIO, "export: read %s: %s", root, archive_error_string(disk));
            break;
        }
        archive_read_disk_descend(disk);
        const char *path = archive_entry_pathname(entry);
        if (strlen(path) <= root_len)
            continue; /* the root itself */
        archive_entry_set_pathname(entry, path + root_len + 1);
        if (archive_write_header(tar, entry) != ARCHIVE_OK) {
            ret = servin_error_set(err, EIO, "export: write %s: %s", path, archive_error_string(tar));
            break;
        }
        if (archive_entry_filetype(entry) == AE_IFREG && archive_entry_size(entry) > 0) {
            ssize_t n;
            while ((n = archive_read_data(disk, buf, sizeof(buf))) > 0)
                if (archive_write_data(tar, buf, (size_t)n) < 0) {
                    n = -1;
                    break;
                }
            if (n < 0) {
                ret = servin_error_set(err, EIO, "export: copy %s: %s", path, archive_error_string(tar));
                break;
            }
        }
    }
    archive_entry_free(entry);
    if (ret == 0 && archive_write_close(tar) != ARCHIVE_OK)
        ret = servin_error_set(err, EIO, "export: finish the archive: %s", archive_error_string(tar));
out:
    archive_read_free(disk);
    archive_write_free(tar);
    return ret;
}

int cmd_container_export(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                              {"help", no_argument, 0, 'h'},
                                              {0}};
    const char *output = NULL;
    struct servin_container ct = {0};
    int r = one_container(ctx, argc, argv, "o:h", longopts, &output, &ct);
    if (r != 0)
        return r > 0 ? 0 : CLI_EXIT_FAILURE;
    if (!output && isatty(STDOUT_FILENO)) {
        servin_container_clear(&ct);
        return cli_failf("cowardly refusing to write a tar archive to a terminal: use -o FILE or redirect");
    }
    struct servin_store *store = cli_store(ctx);
    struct servin_error err = {0};
    _cleanup_free_ char *dir = servin_container_dir(store, ct.id);
    _cleanup_free_ char *merged = xasprintf("%s/merged", dir);
    _cleanup_free_ char *tmp = output ? xasprintf("%s.tmp-%d", output, (int)getpid()) : NULL;
    int code = 0, fd = STDOUT_FILENO;
    /* A stopped container's root is not mounted: mount it for the copy (mounting twice is fine). */
    bool was_mounted = servin_container_is_active(&ct);
    if (servin_container_mount_rootfs(store, &ct, &err) < 0) {
        code = cli_fail(&err);
        goto out;
    }
    if (tmp && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        code = cli_failf("export: create %s: %s", output, strerror(errno));
        goto unmount;
    }
    if (write_tree(merged, fd, &err) < 0)
        code = cli_fail(&err);
    else if (tmp && rename(tmp, output) < 0)
        code = cli_failf("export: write %s: %s", output, strerror(errno));
    if (tmp) {
        close(fd);
        unlink(tmp);
    }
unmount:
    if (!was_mounted)
        servin_container_unmount_rootfs(store, &ct, &err);
out:
    servin_container_clear(&ct);
    return code;
}
