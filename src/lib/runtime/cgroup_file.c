/* runtime/cgroup_file.c — reading and writing cgroup control files. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/cgroup_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

static int write_value(const struct servin_cgroup *cg, const char *dir, const char *file, const char *value,
                       bool rule, struct servin_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    /* On a plain tree a rule file keeps every line written, as the kernel's rule list would. */
    int flags = O_WRONLY | O_CLOEXEC | (rule && cg->plain_files ? O_APPEND : O_TRUNC);
    _cleanup_close_ int fd = open(path, flags);
    if (fd < 0 && errno == ENOENT && cg->plain_files)
        fd = open(path, flags | O_CREAT, 0644);
    if (fd < 0)
        return servin_error_errno(err, errno, "write %s to %s", value, path);

    _cleanup_free_ char *data = rule && cg->plain_files ? xasprintf("%s\n", value) : xstrdup(value);
    size_t len = strlen(data);
    /* cgroupfs parses each write(2) as a whole value, so it must not be split. */
    ssize_t n;
    do
        n = write(fd, data, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return servin_error_errno(err, errno, "write %s to %s", value, path);
    if ((size_t)n != len)
        return servin_error_set(err, EIO, "write %s to %s: short write (%zd of %zu bytes)", value, path, n,
                                len);
    return 0;
}

int cg_write(const struct servin_cgroup *cg, const char *dir, const char *file, const char *value,
             struct servin_error *err)
{
    return write_value(cg, dir, file, value, false, err);
}

int cg_write_rule(const struct servin_cgroup *cg, const char *dir, const char *file, const char *value,
                  struct servin_error *err)
{
    return write_value(cg, dir, file, value, true, err);
}

int cg_read(const char *dir, const char *file, char **out, struct servin_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    size_t len = 0;
    int ret = servin_read_file(path, out, &len, err);
    if (ret < 0)
        return ret;
    while (len > 0 && isspace((unsigned char)(*out)[len - 1]))
        (*out)[--len] = '\0';
    return 0;
}

static int parse_u64(const char *text, const char *what, uint64_t *out, struct servin_error *err)
{
    if (strcmp(text, "max") == 0) {
        *out = SERVIN_CGROUP_UNLIMITED;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || (*end && !isspace((unsigned char)*end)) || text[0] == '-')
        return servin_error_set(err, EINVAL, "read %s: expected a number, found \"%.40s\"", what, text);
    *out = v;
    return 0;
}

int cg_read_u64(const char *dir, const char *file, uint64_t *out, struct servin_error *err)
{
    _cleanup_free_ char *text = NULL, *path = xasprintf("%s/%s", dir, file);
    int ret = cg_read(dir, file, &text, err);
    if (ret < 0)
        return ret;
    return parse_u64(text, path, out, err);
}

int cg_read_key_u64(const char *dir, const char *file, const char *key, uint64_t *out,
                    struct servin_error *err)
{
    _cleanup_free_ char *text = NULL, *path = xasprintf("%s/%s", dir, file);
    int ret = cg_read(dir, file, &text, err);
    if (ret < 0)
        return ret;
    size_t klen = strlen(key);
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return parse_u64(line + klen + 1, path, out, err);
        line = next;
    }
    return servin_error_set(err, ENOENT, "read %s: no \"%s\" line", path, key);
}

bool cg_file_exists(const char *dir, const char *file)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    struct stat st;
    return stat(path, &st) == 0;
}
