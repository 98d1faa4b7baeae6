/* runtime/seccomp_default.c — the default seccomp profile: what Docker's default allows, built as
 * an OCI linux.seccomp object for the capabilities a container has.
 *
 * The lists name syscalls of every architecture Servin may run on (e.g. the *32 and *64 variants
 * of 32-bit ABIs); names the running libseccomp does not know are skipped when the filter is built,
 * so one list serves all machines. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "servin/seccomp_default.h"

/* Syscalls every container may make: no privilege is needed to use them, or the kernel checks
 * capabilities itself (e.g. setuid without CAP_SETUID fails anyway). */
/* Laid out by hand: one name per line would make the list four hundred lines long. */
// clang-format off
static const char *const allowed_always[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
    "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
    "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
    "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
    "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
    "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
    "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
    "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
    "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
    "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
    "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr",
    "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
    "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
    "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify",
    "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause",
    "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
    "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
    "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
    "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid",
    "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
    "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt",
    "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
    "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
    "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime",
    "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
    /* Since Linux 4.8 ptrace can no longer be used to get around seccomp, so reading and tracing
     * one's own processes is harmless and allowed, as Docker does on such kernels. */
    "ptrace", "process_vm_readv", "process_vm_writev",
    /* Architecture-specific helpers of libc and language runtimes. */
    "arch_prctl", "modify_ldt", "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
    "cacheflush", "set_tls", "swapcontext", "riscv_flush_icache", "s390_pci_mmio_read",
    "s390_pci_mmio_write", "s390_runtime_instr",
};

/* Syscalls allowed only with a capability: each is what that capability exists to grant. */
static const struct {
    const char *cap;
    const char *const *names;
} allowed_with_cap[] = {
    {"CAP_SYS_ADMIN",
     (const char *const[]){"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                           "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
                           "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                           "setns", "syslog", "umount", "umount2", "unshare", NULL}},
    {"CAP_DAC_READ_SEARCH", (const char *const[]){"open_by_handle_at", NULL}},
    {"CAP_SYS_BOOT", (const char *const[]){"reboot", NULL}},
    {"CAP_SYS_CHROOT", (const char *const[]){"chroot", NULL}},
    {"CAP_SYS_MODULE", (const char *const[]){"delete_module", "init_module", "finit_module", NULL}},
    {"CAP_SYS_PACCT", (const char *const[]){"acct", NULL}},
    {"CAP_SYS_PTRACE", (const char *const[]){"kcmp", "pidfd_getfd", "process_madvise", NULL}},
    {"CAP_SYS_RAWIO", (const char *const[]){"iopl", "ioperm", NULL}},
    {"CAP_SYS_TIME", (const char *const[]){"settimeofday", "stime", "clock_settime", "clock_settime64", NULL}},
    {"CAP_SYS_TTY_CONFIG", (const char *const[]){"vhangup", NULL}},
    {"CAP_SYS_NICE",
     (const char *const[]){"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", NULL}},
    {"CAP_SYSLOG", (const char *const[]){"syslog", NULL}},
    {"CAP_BPF", (const char *const[]){"bpf", NULL}},
    {"CAP_PERFMON", (const char *const[]){"perf_event_open", NULL}},
};
// clang-format on

/* The namespace flags of clone(2): CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
#define CLONE_NAMESPACE_FLAGS 0x7E020000LL
#define AF_VSOCK_FAMILY 40
#define ENOSYS_VALUE 38

static bool has_cap(json_t *caps, const char *want)
{
    size_t i;
    json_t *v;
    json_array_foreach (caps, i, v) {
        const char *name = json_string_value(v);
        if (!name)
            continue;
        /* Accept "SYS_ADMIN" as well as "CAP_SYS_ADMIN", like the capability parser does. */
        if (strcasecmp(name, want) == 0 || strcasecmp(name, want + 4) == 0)
            return true;
    }
    return false;
}

static json_t *names_array(const char *const *names, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; n ? i < n : names[i] != NULL; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *architectures(void)
{
#if defined(__x86_64__)
    return json_pack("[sss]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
#elif defined(__aarch64__)
    return json_pack("[ss]", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
#elif defined(__i386__)
    return json_pack("[s]", "SCMP_ARCH_X86");
#elif defined(__arm__)
    return json_pack("[s]", "SCMP_ARCH_ARM");
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return json_pack("[s]", "SCMP_ARCH_PPC64LE");
#elif defined(__s390x__)
    return json_pack("[ss]", "SCMP_ARCH_S390X", "SCMP_ARCH_S390");
#elif defined(__riscv) && __riscv_xlen == 64
    return json_pack("[s]", "SCMP_ARCH_RISCV64");
#else
    /* Unknown here: the filter keeps only the native architecture, which libseccomp always adds. */
    return json_array();
#endif
}

/* personality(2) values that only change how the kernel reports itself: PER_LINUX, UNAME26,
 * PER_LINUX32, UNAME26|PER_LINUX32, and 0xffffffff, which only queries. */
static json_t *personality_rules(void)
{
    static const long long values[] = {0x0, 0x0020000, 0x0008, 0x0020008, 0xffffffffLL};
    json_t *rules = json_array();
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        json_array_append_new(rules, json_pack("{s:[s],s:s,s:[{s:i,s:I,s:s}]}", "names", "personality",
                                               "action", "SCMP_ACT_ALLOW", "args", "index", 0, "value",
                                               (json_int_t)values[i], "op", "SCMP_CMP_EQ"));
    return rules;
}

json_t *servin_seccomp_default_profile(json_t *capabilities)
{
    json_t *syscalls = json_array();
    size_t n_always = sizeof(allowed_always) / sizeof(allowed_always[0]);

    json_array_append_new(syscalls, json_pack("{s:o,s:s}", "names", names_array(allowed_always, n_always),
                                              "action", "SCMP_ACT_ALLOW"));
    json_t *personality = personality_rules();
    json_array_extend(syscalls, personality);
    json_decref(personality);

    /* socket for every family but AF_VSOCK, which reaches the host's hypervisor services. */
    json_array_append_new(syscalls, json_pack("{s:[s],s:s,s:[{s:i,s:i,s:s}]}", "names", "socket", "action",
                                              "SCMP_ACT_ALLOW", "args", "index", 0, "value", AF_VSOCK_FAMILY,
                                              "op", "SCMP_CMP_NE"));

    for (size_t i = 0; i < sizeof(allowed_with_cap) / sizeof(allowed_with_cap[0]); i++)
        if (has_cap(capabilities, allowed_with_cap[i].cap))
            json_array_append_new(syscalls,
                                  json_pack("{s:o,s:s}", "names", names_array(allowed_with_cap[i].names, 0),
                                            "action", "SCMP_ACT_ALLOW"));

    if (!has_cap(capabilities, "CAP_SYS_ADMIN")) {
        /* clone only without namespace flags; the flags are the first argument everywhere except
         * s390x, where the stack pointer comes first. */
#if defined(__s390x__)
        int flags_index = 1;
#else
        int flags_index = 0;
#endif
        json_array_append_new(syscalls, json_pack("{s:[s],s:s,s:[{s:i,s:I,s:i,s:s}]}", "names", "clone",
                                                  "action", "SCMP_ACT_ALLOW", "args", "index", flags_index,
                                                  "value", (json_int_t)CLONE_NAMESPACE_FLAGS, "valueTwo", 0,
                                                  "op", "SCMP_CMP_MASKED_EQ"));
        /* clone3 passes its flags in memory, which seccomp cannot inspect: answer ENOSYS so that
         * libc falls back to clone, whose flags are checked above. */
        json_array_append_new(syscalls, json_pack("{s:[s],s:s,s:i}", "names", "clone3", "action",
                                                  "SCMP_ACT_ERRNO", "errnoRet", ENOSYS_VALUE));
    }

    return json_pack("{s:s,s:i,s:o,s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", 1,
                     "architectures", architectures(), "syscalls", syscalls);
}
