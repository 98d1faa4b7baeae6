/* runtime/security_seccomp_cache.c — the container's seccomp filter as a ready BPF program.
 *
 * Turning a profile of ~350 rules into BPF takes libseccomp several milliseconds of CPU on every
 * container start, and the profile is almost always Docker's default. So the creator compiles it
 * once, before it clones the container process, and keeps the program in a cache file under the
 * runtime's state root (root-owned, 0700: whoever can write there owns the containers anyway). The
 * cache key is the profile's canonical JSON together with libseccomp's version and the kernel's
 * seccomp API level; the file stores that key in full and a hit must match it byte for byte, so a
 * collision of the file name's hash cannot hand one profile's program to another. The child then
 * installs the program with seccomp(2) directly, as libseccomp's seccomp_load would. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/security_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"
#include "servin/log.h"

#define CACHE_MAGIC "servin-seccomp-bpf 2\n"
#define MAX_INSNS 0xffff /* BPF_MAXINSNS is 4096; the length field of sock_fprog is 16 bits */

/* The program the creator prepared, inherited by the container process through clone. */
static struct {
    json_t *profile;
    struct sock_filter *insns;
    size_t n;
    unsigned int flags;
} prepared;

static uint64_t fnv1a64(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

/* Kernel flags of linux.seccomp.flags, the ones this kernel knows (set_flags in security_seccomp.c
 * warns about the others). */
static unsigned int kernel_flags(json_t *list)
{
    unsigned int api = seccomp_api_get(), flags = 0;
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v) {
        const char *name = json_string_value(v);
        if (!name)
            continue;
        if (strcmp(name, "SECCOMP_FILTER_FLAG_TSYNC") == 0 && api >= 2)
            flags |= SECCOMP_FILTER_FLAG_TSYNC;
        else if (strcmp(name, "SECCOMP_FILTER_FLAG_LOG") == 0 && api >= 3)
            flags |= SECCOMP_FILTER_FLAG_LOG;
        else if (strcmp(name, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0 && api >= 4)
            flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    }
    return flags;
}

static char *cache_key(json_t *seccomp)
{
    _cleanup_free_ char *text = json_dumps(seccomp, JSON_COMPACT | JSON_SORT_KEYS);
    const struct scmp_version *v = seccomp_version();
    return xasprintf("libseccomp %u.%u.%u api %u\n%s\n", v->major, v->minor, v->micro, seccomp_api_get(),
                     text ? text : "");
}

/* A cache file: CACHE_MAGIC, the key, then the program's length in instructions and its FNV-1a
 * hash (two uint64_t), then the program. The length and hash catch a file cut short or damaged,
 * which a length that happens to be a multiple of an instruction would not. */
struct cache_trailer {
    uint64_t n;
    uint64_t sum;
};

/* The program stored after the key in a cache file, if the file holds exactly this key. */
static int cache_read(const char *path, const char *key, struct sock_filter **insns, size_t *n)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0, klen = strlen(CACHE_MAGIC) + strlen(key);
    struct servin_error ignored = {0};
    if (servin_read_file(path, &data, &len, &ignored) < 0)
        return -ENOENT;
    struct cache_trailer t;
    if (len < klen + sizeof(t) || strncmp(data, CACHE_MAGIC, strlen(CACHE_MAGIC)) != 0 ||
        memcmp(data + strlen(CACHE_MAGIC), key, strlen(key)) != 0)
        return -ENOENT;
    memcpy(&t, data + klen, sizeof(t));
    size_t bytes = len - klen - sizeof(t);
    if (t.n == 0 || t.n > MAX_INSNS || bytes != t.n * sizeof(struct sock_filter) ||
        fnv1a64(data + klen + sizeof(t), bytes) != t.sum)
        return -ENOENT;
    *n = (size_t)t.n;
    *insns = xmalloc(bytes);
    memcpy(*insns, data + klen + sizeof(t), bytes);
    return 0;
}

/* Compile with libseccomp and export the BPF it would load. */
static int compile(json_t *seccomp, struct sock_filter **insns, size_t *n, struct servin_error *err)
{
    _cleanup_(servin_seccomp_releasep) scmp_filter_ctx ctx = NULL;
    int ret = servin_seccomp_build(seccomp, &ctx, err);
    if (ret < 0)
        return ret;
    _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0)
        return servin_error_errno(err, errno, "compile the seccomp filter: memfd_create");
    ret = seccomp_export_bpf(ctx, fd);
    if (ret < 0)
        return servin_error_errno(err, -ret, "compile the seccomp filter");
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
        size / (off_t)sizeof(struct sock_filter) > MAX_INSNS)
        return servin_error_set(err, EINVAL, "compile the seccomp filter: libseccomp exported %lld bytes",
                                (long long)size);
    *insns = xmalloc((size_t)size);
    if (pread(fd, *insns, (size_t)size, 0) != size) {
        int e = errno ? errno : EIO;
        free(*insns);
        *insns = NULL;
        return servin_error_errno(err, e, "compile the seccomp filter: read the exported program");
    }
    *n = (size_t)size / sizeof(struct sock_filter);
    return 0;
}

static void cache_write(const char *dir, const char *path, const char *key, const struct sock_filter *insns,
                        size_t n)
{
    struct servin_error ignored = {0};
    if (servin_mkdir_p(dir, 0700, &ignored) < 0)
        return;
    size_t klen = strlen(CACHE_MAGIC) + strlen(key), bytes = n * sizeof(*insns);
    struct cache_trailer t = {.n = n, .sum = fnv1a64((const char *)insns, bytes)};
    _cleanup_free_ char *data = xmalloc(klen + sizeof(t) + bytes);
    memcpy(data, CACHE_MAGIC, strlen(CACHE_MAGIC));
    memcpy(data + strlen(CACHE_MAGIC), key, strlen(key));
    memcpy(data + klen, &t, sizeof(t));
    memcpy(data + klen + sizeof(t), insns, bytes);
    /* A cache: a file lost in a crash is compiled again, so no fsync. */
    if (servin_write_file_volatile(path, data, klen + sizeof(t) + bytes, 0600, &ignored) < 0)
        log_debug("seccomp cache %s: %s", path, ignored.msg);
}

int servin_seccomp_prepare(json_t *seccomp, const char *cache_dir, struct servin_error *err)
{
    if (!seccomp || json_is_null(seccomp))
        return 0;
    _cleanup_free_ char *key = cache_key(seccomp);
    _cleanup_free_ char *path = NULL;
    struct sock_filter *insns = NULL;
    size_t n = 0;
    if (cache_dir) {
        path = xasprintf("%s/%016llx.bpf", cache_dir, (unsigned long long)fnv1a64(key, strlen(key)));
        struct stat st;
        /* Only a cache nobody else can write is trusted. */
        if (lstat(cache_dir, &st) == 0 &&
            (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)))
            path = (free(path), NULL);
    }
    if (!path || cache_read(path, key, &insns, &n) < 0) {
        int ret = compile(seccomp, &insns, &n, err);
        if (ret < 0)
            return ret;
        if (path)
            cache_write(cache_dir, path, key, insns, n);
    }
    free(prepared.insns);
    prepared.profile = seccomp;
    prepared.insns = insns;
    prepared.n = n;
    prepared.flags = kernel_flags(json_object_get(seccomp, "flags"));
    return 0;
}

bool servin_seccomp_is_prepared(json_t *seccomp)
{
    return seccomp && prepared.profile == seccomp && prepared.insns;
}

int servin_seccomp_load_prepared(struct servin_error *err)
{
    struct sock_fprog prog = {.len = (unsigned short)prepared.n, .filter = prepared.insns};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, prepared.flags, &prog) != 0)
        return servin_error_errno(err, errno, "load the seccomp filter");
    return 0;
}
