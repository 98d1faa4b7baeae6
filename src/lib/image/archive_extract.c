/* image/archive_extract.c — unpack an image archive into a temp dir, never outside it. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive_internal.h"
#include "servin/cleanup.h"

/* A member name is usable when it is relative and has no ".." component; "./" prefixes go. */
static const char *clean_name(const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    if (name[0] == '/' || name[0] == '\0')
        return NULL;
    for (const char *p = name; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return NULL;
        p += len;
        while (*p == '/')
            p++;
    }
    return name;
}

static int copy_data(struct archive *in, struct archive *out, const char *name, struct servin_error *err)
{
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(in, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r != ARCHIVE_OK)
            return servin_error_set(err, EINVAL, "archive is truncated or corrupt: %s",
                                    archive_error_string(in));
        if (archive_write_data_block(out, buf, len, off) != ARCHIVE_OK)
            return servin_error_set(err, EIO, "extract %s: %s", name, archive_error_string(out));
    }
}

static int extract_entry(struct archive *in, struct archive *out, struct archive_entry *e, const char *dir,
                         struct servin_error *err)
{
    const char *raw = archive_entry_pathname(e);
    const char *name = raw ? clean_name(raw) : NULL;
    mode_t type = archive_entry_filetype(e);
    if (raw && (strcmp(raw, ".") == 0 || strcmp(raw, "./") == 0))
        return archive_read_data_skip(in) == ARCHIVE_OK
                   ? 0
                   : servin_error_set(err, EINVAL, "archive is truncated or corrupt: %s",
                                      archive_error_string(in));
    if (!name)
        return servin_error_set(err, EINVAL, "archive member \"%s\" would land outside the archive",
                                raw ? raw : "");
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
        /* Image archives hold files, directories and links; anything else is of no use to us. */
        if (archive_read_data_skip(in) != ARCHIVE_OK)
            return servin_error_set(err, EINVAL, "archive is truncated or corrupt: %s",
                                    archive_error_string(in));
        return 0;
    }
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
    _cleanup_free_ char *link_path = NULL;
    archive_entry_set_pathname(e, path);
    const char *hardlink = archive_entry_hardlink(e);
    if (hardlink) {
        const char *target = clean_name(hardlink);
        if (!target)
            return servin_error_set(err, EINVAL, "archive member \"%s\" links outside the archive", raw);
        link_path = xasprintf("%s/%s", dir, target);
        archive_entry_set_hardlink(e, link_path);
    }
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (archive_write_header(out, e) != ARCHIVE_OK)
        return servin_error_set(err, EIO, "extract %s: %s", raw, archive_error_string(out));
    int ret = 0;
    if (type == AE_IFREG && archive_entry_size(e) > 0)
        ret = copy_data(in, out, raw, err);
    if (ret >= 0 && archive_write_finish_entry(out) != ARCHIVE_OK)
        ret = servin_error_set(err, EIO, "extract %s: %s", raw, archive_error_string(out));
    return ret;
}

int archive_extract_fd(int fd, const char *dir, struct servin_error *err)
{
    struct archive *in = archive_read_new();
    struct archive *out = archive_write_disk_new();
    archive_read_support_filter_all(in);
    archive_read_support_format_tar(in);
    archive_read_support_format_gnutar(in);
    archive_read_support_format_empty(in);
    /* Member names were checked already; these also stop writes through symlinks made earlier. */
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    int ret = 0;
    size_t entries = 0;
    int64_t data_end = 0;
    if (archive_read_open_fd(in, fd, 64 * 1024) != ARCHIVE_OK)
        ret = servin_error_set(err, EINVAL, "archive is truncated or corrupt: %s", archive_error_string(in));
    while (ret >= 0) {
        struct archive_entry *e;
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF) {
            /* A stream cut at a block boundary looks like a clean end to libarchive; a real tar
             * ends with zero blocks after the last member, so their absence means truncation. */
            if (entries > 0 && archive_filter_bytes(in, 0) - data_end < 512)
                ret = servin_error_set(
                    err, EINVAL,
                    "archive is truncated or corrupt: it ends without the end-of-archive marker");
            break;
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            ret = servin_error_set(err, EINVAL, "archive is truncated or corrupt: %s",
                                   archive_error_string(in));
            break;
        }
        ret = extract_entry(in, out, e, dir, err);
        entries++;
        data_end = archive_filter_bytes(in, 0);
    }
    if (ret >= 0 && entries == 0)
        ret = servin_error_set(err, EINVAL, "archive is empty");
    archive_write_free(out);
    archive_read_free(in);
    return ret;
}

int archive_member_path(const char *dir, const char *name, char **out, struct servin_error *err)
{
    const char *clean = clean_name(name);
    if (!clean)
        return servin_error_set(err, EINVAL, "archive member \"%s\" is outside the archive", name);
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, clean);
    _cleanup_free_ char *real = realpath(path, NULL);
    _cleanup_free_ char *real_dir = realpath(dir, NULL);
    if (!real || !real_dir)
        return servin_error_set(err, ENOENT, "%s is missing from the archive", name);
    size_t dl = strlen(real_dir);
    struct stat st;
    if (strncmp(real, real_dir, dl) != 0 || real[dl] != '/')
        return servin_error_set(err, EINVAL, "archive member \"%s\" points outside the archive", name);
    if (stat(real, &st) < 0 || !S_ISREG(st.st_mode))
        return servin_error_set(err, EINVAL, "archive member \"%s\" is not a regular file", name);
    *out = steal_pointer(&real);
    return 0;
}
