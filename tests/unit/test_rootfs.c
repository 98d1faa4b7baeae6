/* Tests of the container root filesystem, for real: each case forks a child into new mount and
 * pid namespaces, prepares a small busybox rootfs from a spec, and checks from inside what the
 * container sees; the parent then checks that the host saw nothing. Needs root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/rootfs_internal.h"
#include "runtime/runtime_internal.h"
#include "servin/cleanup.h"
#include "servin/fs.h"

#define TEST_PREFIX "/tmp/servin-rootfs-test-"

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

/* The child reports the first failed check on this pipe. */
static int report_fd = -1;
/* More namespaces for the next container (CLONE_NEWCGROUP). */
static int extra_unshare;

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            dprintf(report_fd, "%s:%d: ", __FILE__, __LINE__);                                               \
            dprintf(report_fd, __VA_ARGS__);                                                                 \
            dprintf(report_fd, " (errno: %s)", strerror(errno));                                             \
            return 1;                                                                                        \
        }                                                                                                    \
    } while (0)

struct bundle {
    char *base;     /* the bundle directory, TEST_PREFIX... */
    char *rootfs;   /* base/rootfs */
    char *hostdata; /* base/hostdata: a host directory bind-mounted into the container */
};

/* Temp dirs a failed test could not remove; the group teardown removes them. */
static char *leftovers[32];

static void remember(const char *dir)
{
    for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++)
        if (!leftovers[i]) {
            leftovers[i] = xstrdup(dir);
            return;
        }
}

static int remove_leftovers(void **state)
{
    struct servin_error err = {0};
    for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++)
        if (leftovers[i]) {
            servin_rm_rf(leftovers[i], &err);
            free(leftovers[i]);
            leftovers[i] = NULL;
        }
    return 0;
}

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    struct servin_error err = {0};
    assert_int_equal(servin_read_file(from, &data, &len, &err), 0);
    _cleanup_close_ int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
}

static struct bundle make_bundle(void)
{
    char tmpl[] = TEST_PREFIX "XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    struct bundle b = {.base = xstrdup(tmpl)};
    remember(b.base);
    b.rootfs = xasprintf("%s/rootfs", b.base);
    b.hostdata = xasprintf("%s/hostdata", b.base);
    struct servin_error err = {0};
    _cleanup_free_ char *bin = xasprintf("%s/bin", b.rootfs);
    _cleanup_free_ char *secret = xasprintf("%s/secret", b.rootfs);
    _cleanup_free_ char *etc = xasprintf("%s/etc", b.rootfs);
    assert_int_equal(servin_mkdir_p(bin, 0755, &err), 0);
    assert_int_equal(servin_mkdir_p(secret, 0755, &err), 0);
    assert_int_equal(servin_mkdir_p(etc, 0755, &err), 0);
    assert_int_equal(servin_mkdir_p(b.hostdata, 0755, &err), 0);
    _cleanup_free_ char *busybox = xasprintf("%s/busybox", bin);
    copy_file("/bin/busybox", busybox, 0755);
    _cleanup_free_ char *s = xasprintf("%s/key", secret);
    write_file(s, "top secret\n");
    _cleanup_free_ char *h = xasprintf("%s/hello", b.hostdata);
    write_file(h, "hello from the host\n");
    _cleanup_free_ char *f = xasprintf("%s/hostfile", b.base);
    write_file(f, "a single file\n");
    return b;
}

static void free_bundle(struct bundle *b)
{
    struct servin_error err = {0};
    servin_rm_rf(b->base, &err);
    free(b->base);
    free(b->rootfs);
    free(b->hostdata);
}

/* Is anything mounted under path in this (the host's) mount namespace? */
static bool host_has_mount_under(const char *path)
{
    _cleanup_free_ char *info = NULL;
    size_t len = 0;
    struct servin_error err = {0};
    assert_int_equal(servin_read_file("/proc/self/mountinfo", &info, &len, &err), 0);
    return strstr(info, path) != NULL;
}

#define NEED_ROOT()                                                                                          \
    do {                                                                                                     \
        if (geteuid() != 0 || access("/bin/busybox", X_OK) < 0) {                                            \
            print_message("skipped: needs root and /bin/busybox\n");                                         \
            skip();                                                                                          \
        }                                                                                                    \
    } while (0)

typedef int (*check_fn)(void *arg);

struct run {
    int status;     /* exit code of the container child, or 128+signal */
    char msg[2048]; /* what it reported */
};

/* The container side: new namespaces, then (in the new pid namespace's pid 1) prepare and check. */
static int container_main(json_t *spec, const char *bundle, bool no_pivot, bool userns, check_fn check,
                          void *arg)
{
    if (userns) {
        /* Map only ourselves (root to root): allowed without privilege in the parent namespace,
         * and enough for mknod to be refused, as in a rootless container. */
        CHECK(unshare(CLONE_NEWUSER) == 0, "unshare(CLONE_NEWUSER)");
        int fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0 && write(fd, "deny", 4) == 4, "deny setgroups");
        close(fd);
        fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0 && write(fd, "0 0 1", 5) == 5, "write uid_map");
        close(fd);
        fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0 && write(fd, "0 0 1", 5) == 5, "write gid_map");
        close(fd);
    }
    CHECK(unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | extra_unshare) ==
              0,
          "unshare");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork into the new pid namespace");
    if (pid == 0) {
        struct servin_error err = {0};
        if (servin_rootfs_prepare(spec, bundle, no_pivot, &err) < 0) {
            dprintf(report_fd, "prepare: %s", err.msg);
            _exit(100);
        }
        _exit(check ? check(arg) : 0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid, "wait for pid 1");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static struct run run_container(json_t *spec, const char *bundle, bool no_pivot, bool userns, check_fn check,
                                void *arg)
{
    struct run r = {0};
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        report_fd = p[1];
        _exit(container_main(spec, bundle, no_pivot, userns, check, arg));
    }
    close(p[1]);
    size_t used = 0;
    ssize_t n;
    while (used < sizeof(r.msg) - 1 && (n = read(p[0], r.msg + used, sizeof(r.msg) - 1 - used)) > 0)
        used += (size_t)n;
    r.msg[used] = '\0';
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

static void expect_success(struct run r)
{
    if (r.status != 0)
        fail_msg("container child exited %d: %s", r.status, r.msg);
}

static json_t *load_spec(const char *text)
{
    json_error_t jerr;
    json_t *spec = json_loads(text, 0, &jerr);
    if (!spec)
        fail_msg("bad test spec: %s at line %d: %s", jerr.text, jerr.line, text);
    return spec;
}

static bool fs_is(const char *path, unsigned long magic)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == magic;
}

static bool is_char_dev(const char *path, unsigned maj, unsigned min)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
           minor(st.st_rdev) == min;
}

static int read_all(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return (int)n;
}

#define FULL_SPEC_FMT                                                                                        \
    "{\"root\": {\"path\": \"rootfs\", \"readonly\": true},"                                                 \
    " \"mounts\": ["                                                                                         \
    "  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"                              \
    "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","                              \
    "   \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},"                         \
    "  {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\","                        \
    "   \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\"]},"          \
    "  {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\","                            \
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},"                  \
    "  {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\","                     \
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},"                                                  \
    "  {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\","                              \
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},"                                          \
    "  {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\","                  \
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]},"                            \
    "  {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"%s\", \"options\": [\"rbind\", "       \
    "\"ro\", "                                                                                               \
    "\"nosuid\"]},"                                                                                          \
    "  {\"destination\": \"/etc/hostfile\", \"type\": \"bind\", \"source\": \"hostfile\", \"options\": "     \
    "[\"bind\"]}"                                                                                            \
    " ],"                                                                                                    \
    " \"linux\": {"                                                                                          \
    "  \"devices\": ["                                                                                       \
    "   {\"path\": \"/dev/mynull\", \"type\": \"c\", \"major\": 1, \"minor\": 3, \"fileMode\": 384,"         \
    "    \"uid\": 1234, \"gid\": 5678},"                                                                     \
    "   {\"path\": \"/dev/sub/myfifo\", \"type\": \"p\", \"fileMode\": 416}"                                 \
    "  ],"                                                                                                   \
    "  \"maskedPaths\": [\"/proc/kcore\", \"/proc/version\", \"/secret\", \"/does/not/exist\"],"             \
    "  \"readonlyPaths\": [\"/proc/sys\"]"                                                                   \
    " }}"

static int check_full(void *arg)
{
    const struct bundle *b = arg;
    char buf[256];

    /* The root is the rootfs, and the host is out of sight. */
    CHECK(access("/bin/busybox", X_OK) == 0, "/bin/busybox is missing in the container");
    CHECK(access(b->base, F_OK) < 0 && errno == ENOENT, "the host's %s is visible", b->base);
    CHECK(getpid() == 1, "not pid 1");

    /* /proc is the container's own procfs. */
    CHECK(fs_is("/proc", PROC_SUPER_MAGIC), "/proc is not procfs");
    ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
    CHECK(n == 1 && buf[0] == '1', "/proc/self is not pid 1");

    /* /dev: tmpfs with the default devices, devpts and the symlinks. */
    CHECK(fs_is("/dev", TMPFS_MAGIC), "/dev is not a tmpfs");
    CHECK(is_char_dev("/dev/null", 1, 3), "/dev/null is not char 1:3");
    CHECK(is_char_dev("/dev/zero", 1, 5) && is_char_dev("/dev/full", 1, 7) &&
              is_char_dev("/dev/random", 1, 8) && is_char_dev("/dev/urandom", 1, 9) &&
              is_char_dev("/dev/tty", 5, 0),
          "a default device is missing or wrong");
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && (st.st_mode & 07777) == 0666, "/dev/null mode %o",
          st.st_mode & 07777);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0 && write(fd, "x", 1) == 1, "write to /dev/null");
    close(fd);
    CHECK(lstat("/dev/ptmx", &st) == 0 && S_ISLNK(st.st_mode), "/dev/ptmx is not a symlink");
    n = readlink("/dev/ptmx", buf, sizeof(buf) - 1);
    CHECK(n == 8 && memcmp(buf, "pts/ptmx", 8) == 0, "/dev/ptmx does not point to pts/ptmx");
    CHECK(fs_is("/dev/pts", DEVPTS_SUPER_MAGIC), "/dev/pts is not devpts");
    CHECK(is_char_dev("/dev/pts/ptmx", 5, 2), "/dev/pts/ptmx is not char 5:2");
    fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(fd >= 0, "open a pty through /dev/ptmx");
    close(fd);
    n = readlink("/dev/fd", buf, sizeof(buf) - 1);
    CHECK(n == 13 && memcmp(buf, "/proc/self/fd", 13) == 0, "/dev/fd is not /proc/self/fd");
    CHECK(lstat("/dev/stdin", &st) == 0 && S_ISLNK(st.st_mode), "no /dev/stdin symlink");
    CHECK(fs_is("/dev/shm", TMPFS_MAGIC), "/dev/shm is not a tmpfs");
    CHECK(fs_is("/dev/mqueue", MQUEUE_MAGIC), "/dev/mqueue is not mqueue");

    /* linux.devices, with their modes and owners. */
    CHECK(stat("/dev/mynull", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3), "/dev/mynull");
    CHECK((st.st_mode & 07777) == 0600 && st.st_uid == 1234 && st.st_gid == 5678,
          "/dev/mynull mode %o owner %u:%u", st.st_mode & 07777, st.st_uid, st.st_gid);
    CHECK(stat("/dev/sub/myfifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0640,
          "/dev/sub/myfifo");

    /* /sys read-only sysfs, /sys/fs/cgroup the host's hierarchies, read-only. */
    CHECK(fs_is("/sys", SYSFS_MAGIC), "/sys is not sysfs");
    CHECK(mkdir("/sys/x", 0755) < 0 && errno == EROFS, "/sys is writable");
    CHECK(fs_is("/sys/fs/cgroup", TMPFS_MAGIC) || fs_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC),
          "/sys/fs/cgroup is neither a tmpfs of hierarchies nor cgroup2");
    if (fs_is("/sys/fs/cgroup", TMPFS_MAGIC)) {
        CHECK(fs_is("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC), "/sys/fs/cgroup/memory is not cgroup v1");
        CHECK(access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) == 0, "no cgroup.procs in memory");
        CHECK(mkdir("/sys/fs/cgroup/memory/x", 0755) < 0 && errno == EROFS,
              "the memory hierarchy is writable");
        CHECK(mkdir("/sys/fs/cgroup/y", 0755) < 0 && errno == EROFS, "the cgroup tmpfs is writable");
        CHECK(read_all("/sys/fs/cgroup/pids/cgroup.procs", buf, sizeof(buf)) > 0 && strstr(buf, "1\n") == buf,
              "the pids hierarchy is not rooted at the container's cgroup: %s", buf);
    }

    /* The read-only bind of a host dir, and a file bound from a bundle-relative source. */
    CHECK(read_all("/data/hello", buf, sizeof(buf)) > 0 && strcmp(buf, "hello from the host\n") == 0,
          "/data/hello does not hold the host's content");
    fd = open("/data/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd < 0 && errno == EROFS, "the read-only bind /data accepted a new file");
    struct statfs sf;
    CHECK(statfs("/data", &sf) == 0 && (sf.f_flags & ST_RDONLY) && (sf.f_flags & ST_NOSUID),
          "/data lacks ro,nosuid (flags %lx)", (unsigned long)sf.f_flags);
    CHECK(read_all("/etc/hostfile", buf, sizeof(buf)) > 0 && strcmp(buf, "a single file\n") == 0,
          "/etc/hostfile is not the bound file");

    /* Masked paths read empty; read-only paths refuse writes. */
    CHECK(read_all("/proc/version", buf, sizeof(buf)) == 0, "/proc/version is not masked");
    CHECK(access("/secret/key", F_OK) < 0 && errno == ENOENT, "/secret/key still visible");
    CHECK(fs_is("/secret", TMPFS_MAGIC), "/secret is not masked with a tmpfs");
    fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
    CHECK(fd < 0 && errno == EROFS, "/proc/sys/kernel/hostname is writable");

    /* root.readonly, while the /dev tmpfs stays writable. */
    CHECK(mkdir("/newdir", 0755) < 0 && errno == EROFS, "the root is writable");
    fd = open("/dev/shm/scratch", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd >= 0, "cannot write to /dev/shm");
    close(fd);
    return 0;
}

static void full_container_view(void **state)
{
    NEED_ROOT();
    struct bundle b = make_bundle();
    _cleanup_free_ char *text = xasprintf(FULL_SPEC_FMT, b.hostdata);
    json_t *spec = load_spec(text);
    /* In a cgroup namespace the hierarchies are mounted anew, rooted at the namespace. */
    extra_unshare = CLONE_NEWCGROUP;
    struct run r = run_container(spec, b.base, false, false, check_full, &b);
    extra_unshare = 0;
    expect_success(r);

    /* The host's side is untouched: no new file in the ro bind source, nothing left mounted. */
    _cleanup_free_ char *newf = xasprintf("%s/new", b.hostdata);
    assert_int_equal(access(newf, F_OK), -1);
    assert_false(host_has_mount_under(b.base));
    /* The file bind target and the default devices were created inside the rootfs only. */
    _cleanup_free_ char *hostfile = xasprintf("%s/etc/hostfile", b.rootfs);
    assert_int_equal(access(hostfile, F_OK), 0);
    json_decref(spec);
    free_bundle(&b);
}

static int check_chroot(void *arg)
{
    const struct bundle *b = arg;
    CHECK(access("/bin/busybox", X_OK) == 0, "/bin/busybox is missing in the container");
    CHECK(access(b->base, F_OK) < 0, "the host's %s is visible", b->base);
    CHECK(is_char_dev("/dev/null", 1, 3), "/dev/null is not char 1:3");
    CHECK(fs_is("/proc", PROC_SUPER_MAGIC), "/proc is not procfs");
    /* Without a cgroup namespace the cgroups are binds of the container's own cgroup. */
    char buf[4096];
    if (fs_is("/sys/fs/cgroup", TMPFS_MAGIC)) {
        CHECK(read_all("/sys/fs/cgroup/pids/cgroup.procs", buf, sizeof(buf)) >= 0, "no pids hierarchy");
        CHECK(strncmp(buf, "1\n", 2) == 0 || strstr(buf, "\n1\n"), "pid 1 is not in its pids cgroup.procs");
        CHECK(access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0, "no unified hierarchy");
    }
    return 0;
}

static void no_pivot_uses_chroot(void **state)
{
    NEED_ROOT();
    struct bundle b = make_bundle();
    json_t *spec =
        load_spec("{\"root\": {\"path\": \"rootfs\"}, \"mounts\": ["
                  " {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
                  " {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
                  " {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\","
                  "  \"options\": [\"ro\"]}]}");
    expect_success(run_container(spec, b.base, true, false, check_chroot, &b));
    assert_false(host_has_mount_under(b.base));
    json_decref(spec);
    free_bundle(&b);
}

static int check_escape(void *arg)
{
    CHECK(fs_is("/evil/x", TMPFS_MAGIC), "/evil/x is not the tmpfs");
    CHECK(fs_is("/evil2/y", TMPFS_MAGIC), "/evil2/y is not the tmpfs");
    CHECK(read_all("/evil3/z", (char[64]){0}, 64) >= 0, "/evil3/z unreadable");
    return 0;
}

/* Symlinks in the image pointing at the host, absolute and by "..", must resolve inside the root. */
static void symlinked_destinations_stay_inside(void **state)
{
    NEED_ROOT();
    struct bundle b = make_bundle();
    char tmpl[] = TEST_PREFIX "hostdir-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    remember(tmpl);
    _cleanup_free_ char *evil = xasprintf("%s/evil", b.rootfs);
    _cleanup_free_ char *evil2 = xasprintf("%s/evil2", b.rootfs);
    _cleanup_free_ char *evil3 = xasprintf("%s/evil3", b.rootfs);
    _cleanup_free_ char *up = xasprintf("../../../../../../..%s", tmpl);
    assert_int_equal(symlink(tmpl, evil), 0);
    assert_int_equal(symlink(up, evil2), 0);
    assert_int_equal(symlink("/tmp", evil3), 0);
    _cleanup_free_ char *text =
        xasprintf("{\"root\": {\"path\": \"%s\"}, \"mounts\": ["
                  " {\"destination\": \"/evil/x\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
                  " {\"destination\": \"/evil2/y\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
                  " {\"destination\": \"/evil3/z\", \"type\": \"bind\", \"source\": \"hostfile\", "
                  "  \"options\": [\"bind\", \"ro\"]}]}",
                  b.rootfs);
    json_t *spec = load_spec(text);
    expect_success(run_container(spec, b.base, false, false, check_escape, NULL));

    /* The host directory the symlinks name is still empty, and nothing is mounted there. */
    DIR *d = opendir(tmpl);
    assert_non_null(d);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            entries++;
    closedir(d);
    assert_int_equal(entries, 0);
    assert_false(host_has_mount_under(tmpl));
    assert_false(host_has_mount_under(b.base));
    _cleanup_free_ char *hostz = xstrdup("/tmp/z");
    assert_int_equal(access(hostz, F_OK), -1);
    /* What was created went inside the rootfs, where the symlinks resolve from its root. */
    _cleanup_free_ char *inside = xasprintf("%s%s/x", b.rootfs, tmpl);
    _cleanup_free_ char *inside2 = xasprintf("%s%s/y", b.rootfs, tmpl);
    _cleanup_free_ char *inside3 = xasprintf("%s/tmp/z", b.rootfs);
    assert_int_equal(access(inside, F_OK), 0);
    assert_int_equal(access(inside2, F_OK), 0);
    assert_int_equal(access(inside3, F_OK), 0);
    json_decref(spec);
    rmdir(tmpl);
    free_bundle(&b);
}

static void bad_type_is_a_clear_error(void **state)
{
    NEED_ROOT();
    struct bundle b = make_bundle();
    json_t *spec =
        load_spec("{\"root\": {\"path\": \"rootfs\"}, \"mounts\": ["
                  " {\"destination\": \"/mnt/x\", \"type\": \"nosuchfs\", \"source\": \"none\"}]}");
    struct run r = run_container(spec, b.base, false, false, NULL, NULL);
    assert_int_equal(r.status, 100);
    if (!strstr(r.msg, "mount nosuchfs on /mnt/x: unknown filesystem type \"nosuchfs\""))
        fail_msg("unexpected error: %s", r.msg);
    json_decref(spec);

    /* An option Servin does not do is refused by name, not passed on as data. */
    spec = load_spec("{\"root\": {\"path\": \"rootfs\"}, \"mounts\": ["
                     " {\"destination\": \"/t\", \"type\": \"tmpfs\", \"options\": [\"tmpcopyup\"]}]}");
    r = run_container(spec, b.base, false, false, NULL, NULL);
    assert_int_equal(r.status, 100);
    if (!strstr(r.msg, "tmpcopyup") || !strstr(r.msg, "/t"))
        fail_msg("unexpected error: %s", r.msg);
    json_decref(spec);

    /* A bind source that does not exist names itself. */
    spec = load_spec("{\"root\": {\"path\": \"rootfs\"}, \"mounts\": ["
                     " {\"destination\": \"/m\", \"type\": \"bind\", \"source\": \"/nonexistent-src\","
                     "  \"options\": [\"rbind\"]}]}");
    r = run_container(spec, b.base, false, false, NULL, NULL);
    assert_int_equal(r.status, 100);
    if (!strstr(r.msg, "/nonexistent-src") || !strstr(r.msg, "No such file"))
        fail_msg("unexpected error: %s", r.msg);
    json_decref(spec);

    /* Nothing may be mounted over procfs files, even through a symlink, except the lxcfs ones. */
    spec = load_spec("{\"root\": {\"path\": \"rootfs\"}, \"mounts\": ["
                     " {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
                     " {\"destination\": \"/proc/cpuinfo\", \"type\": \"bind\", \"source\": \"hostfile\"},"
                     " {\"destination\": \"/p/sys/kernel\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}]}");
    _cleanup_free_ char *p = xasprintf("%s/p", b.rootfs);
    assert_int_equal(symlink("proc", p), 0);
    r = run_container(spec, b.base, false, false, NULL, NULL);
    assert_int_equal(r.status, 100);
    if (!strstr(r.msg, "mount on /p/sys/kernel: the destination is inside /proc"))
        fail_msg("unexpected error: %s", r.msg);
    json_decref(spec);
    assert_false(host_has_mount_under(b.base));
    free_bundle(&b);
}

static int check_userns_devices(void *arg)
{
    CHECK(is_char_dev("/dev/null", 1, 3), "/dev/null is not char 1:3");
    CHECK(is_char_dev("/dev/zero", 1, 5), "/dev/zero is not char 1:5");
    /* Not made here (mknod is refused) but the host's node, bind-mounted from another filesystem. */
    struct stat node, dev;
    CHECK(stat("/dev/null", &node) == 0 && stat("/dev", &dev) == 0 && node.st_dev != dev.st_dev,
          "/dev/null lives on the /dev tmpfs, so it was not bind-mounted");
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0 && write(fd, "x", 1) == 1, "write to /dev/null");
    close(fd);
    char buf[4] = {1, 1, 1, 1};
    fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && read(fd, buf, 4) == 4 && buf[0] == 0 && buf[3] == 0, "read from /dev/zero");
    close(fd);
    return 0;
}

/* In a user namespace mknod is refused: the host's nodes are bind-mounted instead. */
static void userns_binds_host_devices(void **state)
{
    NEED_ROOT();
    struct bundle b = make_bundle();
    json_t *spec = load_spec("{\"root\": {\"path\": \"rootfs\"}, \"mounts\": ["
                             " {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
                             "  \"options\": [\"nosuid\", \"mode=755\"]}]}");
    expect_success(run_container(spec, b.base, false, true, check_userns_devices, NULL));
    assert_false(host_has_mount_under(b.base));
    json_decref(spec);
    free_bundle(&b);
}

static int check_console(void *arg)
{
    /* As init.c does: a pty from the container's devpts, its slave bound onto /dev/console. */
    CHECK(lstat("/dev/console", &(struct stat){0}) == 0, "/dev/console was not prepared");
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(master >= 0, "open /dev/ptmx");
    int unlock = 0, n = -1;
    CHECK(ioctl(master, TIOCSPTLCK, &unlock) == 0 && ioctl(master, TIOCGPTN, &n) == 0, "unlock the pty");
    char path[64];
    snprintf(path, sizeof(path), "/dev/pts/%d", n);
    int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(slave >= 0, "open %s", path);
    struct servin_error err = {0};
    CHECK(servin_rootfs_bind_console(slave, &err) == 0, "bind the console: %s", err.msg);
    struct stat a, c;
    CHECK(fstat(slave, &a) == 0 && stat("/dev/console", &c) == 0 && S_ISCHR(c.st_mode) &&
              a.st_rdev == c.st_rdev,
          "/dev/console is not the pty slave");
    int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    CHECK(fd >= 0 && write(fd, "hi\n", 3) == 3, "write to /dev/console");
    char buf[16] = {0};
    CHECK(read(master, buf, sizeof(buf) - 1) > 0 && strncmp(buf, "hi", 2) == 0, "the master did not get it");
    return 0;
}

/* process.terminal: /dev/console is made during prepare, so the bind works on a read-only root. */
static void console_bind_on_readonly_root(void **state)
{
    NEED_ROOT();
    struct bundle b = make_bundle();
    json_t *spec = load_spec("{\"root\": {\"path\": \"rootfs\", \"readonly\": true},"
                             " \"process\": {\"terminal\": true}, \"mounts\": ["
                             " {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
                             " {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
                             " {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\","
                             "  \"options\": [\"newinstance\", \"ptmxmode=0666\", \"mode=0620\"]}]}");
    expect_success(run_container(spec, b.base, false, false, check_console, NULL));
    assert_false(host_has_mount_under(b.base));
    json_decref(spec);
    free_bundle(&b);
}

static void option_parsing(void **state)
{
    struct rootfs_mount_opts o;
    struct servin_error err = {0};
    json_t *opts = load_spec("[\"nosuid\", \"noexec\", \"rw\", \"ro\", \"mode=755\", \"dev\", \"nodev\", "
                             "\"exec\", \"size=65536k\", \"rprivate\", \"shared\", \"rro\", \"rnoatime\", "
                             "\"relatime\", \"rbind\"]");
    assert_int_equal(rootfs_mount_parse_options(opts, &o, &err), 0);
    assert_int_equal(o.flags, MS_NOSUID | MS_RDONLY | MS_NODEV | MS_RELATIME | MS_BIND | MS_REC);
    assert_string_equal(o.data, "mode=755,size=65536k");
    assert_int_equal(o.n_propagation, 2);
    assert_int_equal(o.propagation[0], MS_PRIVATE | MS_REC);
    assert_int_equal(o.propagation[1], MS_SHARED);
    assert_int_equal(o.attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME);
    assert_int_equal(o.attr_clr, MOUNT_ATTR__ATIME);
    rootfs_mount_opts_free(&o);
    json_decref(opts);

    opts = load_spec("[\"nosuid\", 3]");
    assert_true(rootfs_mount_parse_options(opts, &o, &err) < 0);
    assert_non_null(strstr(err.msg, "not a string"));
    json_decref(opts);
    opts = load_spec("[\"tmpcopyup\"]");
    assert_true(rootfs_mount_parse_options(opts, &o, &err) < 0);
    assert_non_null(strstr(err.msg, "\"tmpcopyup\" is not supported"));
    json_decref(opts);
}

static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Resolution alone, with openat2 and with the fallback walk; no namespaces needed. */
static void resolve_inside_root(void **state)
{
    struct bundle b = make_bundle();
    char tmpl[] = TEST_PREFIX "hostdir-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    remember(tmpl);
    _cleanup_free_ char *evil = xasprintf("%s/evil", b.rootfs);
    _cleanup_free_ char *loop1 = xasprintf("%s/loop1", b.rootfs);
    _cleanup_free_ char *loop2 = xasprintf("%s/loop2", b.rootfs);
    assert_int_equal(symlink(tmpl, evil), 0);
    assert_int_equal(symlink("loop2", loop1), 0);
    assert_int_equal(symlink("/loop1", loop2), 0);
    _cleanup_close_ int root = open(b.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(root >= 0);
    struct servin_error err = {0};

    for (int fallback = 0; fallback < 2; fallback++) {
        rootfs_resolve_use_openat2(!fallback);
        /* Missing components become dirs, ".." stops at the root, the last one may be a file. */
        int fd = rootfs_open_in_root(root, "/a/b/c", ROOTFS_CREATE_DIR, &err);
        assert_true(fd >= 0);
        _cleanup_free_ char *abc = xasprintf("%s/a/b/c", b.rootfs);
        assert_true(same_file(fd, abc));
        close(fd);
        fd = rootfs_open_in_root(root, "../../../a/./b/../b/c", ROOTFS_NO_CREATE, &err);
        assert_true(fd >= 0);
        assert_true(same_file(fd, abc));
        close(fd);
        fd = rootfs_open_in_root(root, "/a/f", ROOTFS_CREATE_FILE, &err);
        assert_true(fd >= 0);
        _cleanup_free_ char *af = xasprintf("%s/a/f", b.rootfs);
        struct stat st;
        assert_int_equal(stat(af, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        close(fd);
        assert_int_equal(rootfs_open_in_root(root, "/nothere", ROOTFS_NO_CREATE, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nothere"));
        /* A symlink loop ends in an error, not a hang. */
        assert_true(rootfs_open_in_root(root, "/loop1/x", ROOTFS_CREATE_DIR, &err) < 0);
    }

    /* The fallback cannot follow symlinks safely, so it refuses them and says why... */
    rootfs_resolve_use_openat2(false);
    assert_int_equal(rootfs_open_in_root(root, "/evil/x", ROOTFS_CREATE_DIR, &err), -ELOOP);
    assert_non_null(strstr(err.msg, "symlink"));
    /* ... while openat2 follows them as if the rootfs were "/". */
    rootfs_resolve_use_openat2(true);
    int fd = rootfs_open_in_root(root, "/evil/x", ROOTFS_CREATE_DIR, &err);
    assert_true(fd >= 0);
    _cleanup_free_ char *inside = xasprintf("%s%s/x", b.rootfs, tmpl);
    assert_true(same_file(fd, inside));
    close(fd);
    _cleanup_free_ char *outside = xasprintf("%s/x", tmpl);
    assert_int_equal(access(outside, F_OK), -1);
    assert_int_equal(rmdir(tmpl), 0); /* still empty */
    free_bundle(&b);
}

static void nothing_left_mounted(void **state)
{
    assert_false(host_has_mount_under(TEST_PREFIX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(option_parsing),
        cmocka_unit_test(resolve_inside_root),
        cmocka_unit_test(full_container_view),
        cmocka_unit_test(no_pivot_uses_chroot),
        cmocka_unit_test(symlinked_destinations_stay_inside),
        cmocka_unit_test(bad_type_is_a_clear_error),
        cmocka_unit_test(userns_binds_host_devices),
        cmocka_unit_test(console_bind_on_readonly_root),
        cmocka_unit_test(nothing_left_mounted),
    };
    return cmocka_run_group_tests(tests, NULL, remove_leftovers);
}
