/* runtime/reexec.c — run from a sealed memfd copy of ourselves before entering any container.
 *
 * CVE-2019-5736: a container process could open the runtime's binary through /proc/<pid>/exe while
 * the runtime was entering the container, and overwrite it on the host. A sealed memfd cannot be
 * written by anyone, so the binary on disk is never exposed. */
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
    off_t left = st.st_size;
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
