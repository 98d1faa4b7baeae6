/* runtime/reexec.c — run from a sealed memfd copy of ourselves before entering any container.
 *
 * CVE-2019-5736: a container process could open the runtime's binary through /proc/<pid>/exe while
 * the runtime was entering the container, and overwrite it on the host. A sealed memfd cannot be
 * written by anyone, so the binary on disk is never exposed. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/runtime.h"

#define SEALED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool running_sealed(void)
{
    _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & SEALED_SEALS) == SEALED_SEALS;
}

/* How much of the binary the kernel loads: up to the end of its last PT_LOAD segment. What follows
 * (debug info, symbol and section tables) is not needed to run, and every process started from a
 * sealed copy (each container's monitor) holds the whole copy in memory. The file size when the
 * headers are not those of a 64-bit ELF file. */
static off_t loaded_size(int fd, off_t file_size)
{
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0)
        return file_size;
    off_t end = (off_t)(eh.e_phoff + (Elf64_Off)eh.e_phnum * sizeof(Elf64_Phdr));
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph))
            return file_size;
        if (ph.p_type == PT_LOAD && (off_t)(ph.p_offset + ph.p_filesz) > end)
            end = (off_t)(ph.p_offset + ph.p_filesz);
    }
    return end > 0 && end < file_size ? end : file_size;
}

int servin_reexec_sealed(const char *program, char **argv, struct servin_error *err)
{
    if (running_sealed())
        return 0;
    const char *path = program ? program : "/proc/self/exe";
    _cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return servin_error_errno(err, errno, "open %s", path);
    struct stat st;
    if (fstat(src, &st) < 0)
        return servin_error_errno(err, errno, "stat %s", path);
    _cleanup_close_ int mfd = memfd_create("servin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        return servin_error_errno(err, errno, "create sealed copy of servin");
    off_t left = loaded_size(src, st.st_size);
#ifdef __SANITIZE_ADDRESS__
    /* The sanitizers' symbolizer parses the section tables of /proc/self/exe: keep the whole file. */
    left = st.st_size;
#endif
    while (left > 0) {
        ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
        if (n <= 0)
            return servin_error_errno(err, n < 0 ? errno : EIO, "copy servin into a sealed memfd");
        left -= n;
    }
    if (fcntl(mfd, F_ADD_SEALS, SEALED_SEALS) < 0)
        return servin_error_errno(err, errno, "seal the copy of servin");
    extern char **environ;
    fexecve(mfd, argv, environ);
    return servin_error_errno(err, errno, "re-execute servin from its sealed copy");
}
